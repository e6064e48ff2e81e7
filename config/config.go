// Package config reads slipway.yaml: which provider plays each role
// (registry, offline store, online store) and how to reach it. Secrets are
// written as ${ENV_VAR} references and expanded when the file is read; they
// are never stored, and Redacted shows a configuration without them.
//
// Without a file, every role uses the embedded default in the data directory.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// FileName is the configuration file looked for in the current directory.
const FileName = "slipway.yaml"

// Provider types.
const (
	SQLite   = "sqlite"
	DuckDB   = "duckdb"
	Embedded = "embedded" // the embedded key-value online store
	Postgres = "postgres"
	Redis    = "redis"
)

// Config says which provider plays each role.
type Config struct {
	Registry Provider `yaml:"registry"`
	Offline  Provider `yaml:"offline"`
	Online   Provider `yaml:"online"`
	Jobs     Jobs     `yaml:"jobs"`
	// File is where the configuration was read from ("" for the defaults).
	File string `yaml:"-"`
}

// Provider configures one backend. Which fields apply depends on Type
// (see the table in docs/configuration.md); others are rejected.
type Provider struct {
	Type string `yaml:"type"`
	// DSN is a PostgreSQL connection string.
	DSN string `yaml:"dsn,omitempty"`
	// Schema is the PostgreSQL schema Slipway's tables go in (default "slipway").
	Schema string `yaml:"schema,omitempty"`
	// Path overrides the file of an embedded store (default: in the data directory).
	Path string `yaml:"path,omitempty"`
	// MemoryLimit caps DuckDB's memory, such as "4GB".
	MemoryLimit string `yaml:"memory_limit,omitempty"`
	// Threads caps DuckDB's threads.
	Threads int `yaml:"threads,omitempty"`
	// Addrs are Redis addresses (host:port); several for a cluster.
	Addrs []string `yaml:"addrs,omitempty"`
	// Cluster selects Redis Cluster.
	Cluster  bool   `yaml:"cluster,omitempty"`
	Username string `yaml:"username,omitempty"`
	Password string `yaml:"password,omitempty"`
	DB       int    `yaml:"db,omitempty"`
	// KeyPrefix namespaces Slipway's Redis keys (default "slipway:").
	KeyPrefix string `yaml:"key_prefix,omitempty"`
}

// Jobs tunes how jobs run; zero fields take the coordinator's defaults.
type Jobs struct {
	// Concurrency is how many jobs a process runs at once (flags override it).
	Concurrency int `yaml:"concurrency,omitempty"`
	// MaxAttempts is how many attempts a job gets before it fails.
	MaxAttempts int `yaml:"max_attempts,omitempty"`
	// Lease is how long a job stays a silent worker's before another takes it.
	Lease time.Duration `yaml:"lease,omitempty"`
}

// Default is the zero-infrastructure configuration.
func Default() *Config {
	return &Config{Registry: Provider{Type: SQLite}, Offline: Provider{Type: DuckDB}, Online: Provider{Type: Embedded}}
}

// fieldsByType lists the fields each provider type accepts besides type.
var fieldsByType = map[string][]string{
	SQLite:   {"path"},
	DuckDB:   {"path", "memory_limit", "threads"},
	Embedded: {"path"},
	Postgres: {"dsn", "schema"},
	Redis:    {"addrs", "cluster", "username", "password", "db", "key_prefix"},
}

// typesByRole lists the provider types each role accepts.
var typesByRole = map[string][]string{
	"registry": {SQLite, Postgres},
	"offline":  {DuckDB, Postgres},
	"online":   {Embedded, Redis},
}

// Load reads path, or FileName in the current directory when path is "";
// a missing FileName (but not a missing explicit path) gives Default.
func Load(path string) (*Config, error) {
	explicit := path != ""
	if !explicit {
		path = FileName
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return Default(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	return Parse(path, b, os.LookupEnv)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Parse reads a configuration; lookup resolves ${ENV_VAR} references.
func Parse(name string, content []byte, lookup func(string) (string, bool)) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(content, &root); err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %v", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	cfg := Default()
	cfg.File = name
	if len(root.Content) == 0 {
		return cfg, nil
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: expected a mapping with registry:, offline: and online:", name, top.Line)
	}
	var errs []string
	for i := 0; i+1 < len(top.Content); i += 2 {
		key, val := top.Content[i], top.Content[i+1]
		var dst *Provider
		switch key.Value {
		case "jobs":
			if err := parseJobs(val, lookup, &cfg.Jobs); err != nil {
				errs = append(errs, fmt.Sprintf("%s:%d: jobs: %v", name, val.Line, err))
			}
			continue
		case "registry":
			dst = &cfg.Registry
		case "offline":
			dst = &cfg.Offline
		case "online":
			dst = &cfg.Online
		default:
			errs = append(errs, fmt.Sprintf("%s:%d: unknown key %q: use registry, offline, online or jobs", name, key.Line, key.Value))
			continue
		}
		if err := expandEnv(val, lookup); err != nil {
			errs = append(errs, fmt.Sprintf("%s:%d: %s: %v", name, val.Line, key.Value, err))
			continue
		}
		if msg := checkProvider(key.Value, val); msg != "" {
			errs = append(errs, fmt.Sprintf("%s:%d: %s: %s", name, val.Line, key.Value, msg))
			continue
		}
		// Expanded ${ENV} values are strings; numbers and booleans re-resolve from their text.
		for j := 0; j+1 < len(val.Content); j += 2 {
			if slices.Contains([]string{"db", "cluster", "threads"}, val.Content[j].Value) {
				val.Content[j+1].Tag = ""
			}
		}
		var p Provider
		if err := val.Decode(&p); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %s: %v", name, key.Value, strings.TrimPrefix(err.Error(), "yaml: ")))
			continue
		}
		*dst = p
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	return cfg, nil
}

// parseJobs reads the jobs: section.
func parseJobs(n *yaml.Node, lookup func(string) (string, bool), dst *Jobs) error {
	if n.Kind != yaml.MappingNode {
		return errors.New("expected a mapping with concurrency:, max_attempts: or lease:")
	}
	if err := expandEnv(n, lookup); err != nil {
		return err
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		var err error
		switch k {
		case "concurrency":
			dst.Concurrency, err = positive(v.Value)
		case "max_attempts":
			dst.MaxAttempts, err = positive(v.Value)
		case "lease":
			dst.Lease, err = time.ParseDuration(v.Value)
			if err == nil && dst.Lease < 2*time.Second {
				err = errors.New("must be at least 2s (two heartbeats)")
			}
		default:
			return fmt.Errorf("line %d: unknown setting %q: use concurrency, max_attempts or lease", n.Content[i].Line, k)
		}
		if err != nil {
			return fmt.Errorf("line %d: %s: %q: %v", v.Line, k, v.Value, err)
		}
	}
	return nil
}

func positive(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, errors.New("give a whole number of at least 1")
	}
	return n, nil
}

// checkProvider validates a role's mapping before decoding, so the message can
// name the role, the type and the allowed fields.
func checkProvider(role string, n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return "expected a mapping with type: and the provider's settings"
	}
	typ := ""
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "type" {
			typ = n.Content[i+1].Value
		}
	}
	allowedTypes := typesByRole[role]
	if !slices.Contains(allowedTypes, typ) {
		return fmt.Sprintf("type %q is not a %s provider: use one of %s", typ, role, strings.Join(allowedTypes, ", "))
	}
	allowed := fieldsByType[typ]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if k != "type" && !slices.Contains(allowed, k) {
			return fmt.Sprintf("line %d: %q does not apply to type %s; it takes %s", n.Content[i].Line, k, typ, strings.Join(allowed, ", "))
		}
	}
	if typ == Postgres && !hasKey(n, "dsn") {
		return "type postgres needs dsn: (for example postgres://user:${PGPASSWORD}@host:5432/db)"
	}
	if typ == Redis && !hasKey(n, "addrs") {
		return "type redis needs addrs: (for example [127.0.0.1:6379])"
	}
	return ""
}

func hasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

// expandEnv replaces ${VAR} in every scalar under n. An unset variable is an
// error naming it, so a missing secret never turns into an empty password.
func expandEnv(n *yaml.Node, lookup func(string) (string, bool)) error {
	if n.Kind == yaml.ScalarNode {
		var missing []string
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
			name := envRef.FindStringSubmatch(m)[1]
			v, ok := lookup(name)
			if !ok {
				missing = append(missing, name)
			}
			return v
		})
		if len(missing) > 0 {
			return fmt.Errorf("environment variable %s is not set; export it or remove the reference", strings.Join(missing, ", "))
		}
		return nil
	}
	for _, c := range n.Content {
		if err := expandEnv(c, lookup); err != nil {
			return err
		}
	}
	return nil
}

// Redacted describes a provider without secrets: passwords and the password
// part of DSNs are replaced by "***".
func (p Provider) Redacted() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("type", p.Type)
	add("dsn", redactDSN(p.DSN))
	add("schema", p.Schema)
	add("path", p.Path)
	add("addrs", strings.Join(p.Addrs, ","))
	if p.Cluster {
		add("cluster", "true")
	}
	add("username", p.Username)
	if p.Password != "" {
		add("password", "***")
	}
	add("key_prefix", p.KeyPrefix)
	add("memory_limit", p.MemoryLimit)
	sort.Strings(parts[1:])
	return strings.Join(parts, " ")
}

// redactDSN hides the password of a PostgreSQL connection string, in URL
// form (user info and the password query parameter) or keyword/value form.
// A DSN it cannot take apart is hidden whole.
func redactDSN(dsn string) string {
	if dsn == "" {
		return ""
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "***"
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxx")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxx")
			u.RawQuery = q.Encode()
		}
		return strings.ReplaceAll(u.String(), "xxx", "***")
	}
	fields, ok := splitKeywordDSN(dsn)
	if !ok {
		return "***"
	}
	for i, f := range fields {
		if strings.HasPrefix(f, "password=") {
			fields[i] = "password=***"
		}
	}
	return strings.Join(fields, " ")
}

// splitKeywordDSN splits "host=h password='a b' dbname=d" into key=value
// fields, honouring single quotes and backslash escapes as libpq does.
func splitKeywordDSN(dsn string) ([]string, bool) {
	var fields []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(dsn); i++ {
		c := dsn[i]
		switch {
		case c == '\\' && i+1 < len(dsn):
			cur.WriteByte(c)
			i++
			cur.WriteByte(dsn[i])
		case c == '\'':
			quoted = !quoted
			cur.WriteByte(c)
		case (c == ' ' || c == '\t') && !quoted:
			if cur.Len() > 0 {
				fields = append(fields, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(c)
		}
	}
	if quoted {
		return nil, false
	}
	if cur.Len() > 0 {
		fields = append(fields, cur.String())
	}
	for _, f := range fields {
		if !strings.Contains(f, "=") {
			return nil, false
		}
	}
	return fields, true
}
