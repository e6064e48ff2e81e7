// Package config reads slipway.yaml: which provider plays each role
// (registry, offline store, online store) and how to reach it. Secrets are
// written as ${ENV_VAR} references and expanded when the file is read; they
// are never stored, and Redacted shows a provider without them.
//
// The package knows no backend: each backend's Config is its own section of
// the file (a Section), and the build lists its provider types in Types
// (internal/backends has this repository's). Load decodes and checks every
// section with them, so a bad setting is an error, with its file and line,
// before any store is opened.
//
// Without a file, every role uses the embedded default in the data directory.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"gopkg.in/yaml.v3"
)

// FileName is the configuration file looked for in the current directory.
const FileName = "slipway.yaml"

// The provider types of the zero-infrastructure default (Default).
const (
	SQLite   = "sqlite"
	DuckDB   = "duckdb"
	Embedded = "embedded" // the embedded key-value online store
)

// The roles, as slipway.yaml names them.
const (
	RoleRegistry = "registry"
	RoleOffline  = "offline"
	RoleOnline   = "online"
)

// Config says which provider plays each role.
type Config struct {
	Registry Provider
	Offline  Provider
	Online   Provider
	Jobs     Jobs
	// PredictionLog is the prediction_log: section.
	PredictionLog PredictionLog
	// CORS is the cors: section (cors.go).
	CORS CORS
	// Metrics is the metrics: section (metrics.go).
	Metrics Metrics
	// File is where the configuration was read from ("" for the defaults).
	File string
}

// Provider is one role's provider: its type and its section of the file,
// which the type's backend decodes (Decode) into its own Config.
type Provider struct {
	// Type is the provider type, such as sqlite or postgres.
	Type string
	// Role is the section's key: registry, offline or online.
	Role string
	// Node is the section's mapping as written, type: included, with
	// ${ENV} references expanded; nil when the file leaves the role out.
	// It holds secrets: never print it (Redacted does not).
	Node *yaml.Node
	// File and Line say where the section is, for errors ("" and 0 for a
	// default provider).
	File string
	Line int

	// env names the variables each expanded scalar of Node came from.
	env map[*yaml.Node][]string
	// section makes an empty section of the type, for Redacted; nil when
	// the provider was not made by Load or Parse.
	section func() Section
}

// A Section is a backend's section of slipway.yaml: the backend's Config,
// which Provider.Decode fills from the file.
type Section interface {
	// Settings maps each key the section takes (besides type) to a pointer
	// to the field it sets: *string, *int, *bool, *[]string and the like.
	Settings() map[string]any
	// Check reports a setting that is missing or wrong, as a user-facing
	// message ("type postgres needs dsn: ..."). Settings the wiring fills
	// in later (an embedded store's file in the data directory) may be
	// empty.
	Check() error
	// Redact replaces the secrets among the settings by "***" (or hides
	// their secret part, such as a DSN's password), for Redacted.
	Redact()
}

// Types are the provider types a build has, by role (RoleRegistry,
// RoleOffline, RoleOnline): each makes an empty Section of its type.
type Types map[string]map[string]func() Section

// Jobs tunes how jobs run; zero fields take the coordinator's defaults.
type Jobs struct {
	// Concurrency is how many jobs a process runs at once (flags override it).
	Concurrency int
	// MaxAttempts is how many attempts a job gets before it fails.
	MaxAttempts int
	// Lease is how long a job stays a silent worker's before another takes it.
	Lease time.Duration
}

// PredictionLog configures the prediction log of processes that answer
// predictions (slipway serve). Zero fields take the defaults.
type PredictionLog struct {
	// Disabled turns the log off (enabled: false). Default: on.
	Disabled bool
	// Dir is the log's local directory; "" means DATA_DIR/prediction-log (the
	// caller resolves it). A relative path is relative to the slipway.yaml
	// file's directory: Parse joins it to that directory.
	Dir string
	// MaxBytes caps the log's size on local disk (max_size:, default 1 GiB
	// when 0): written like 512MiB, 1GiB, 200MB or a plain number of bytes;
	// at least 1 MiB.
	MaxBytes int64
	// ShipInterval is how often entries are shipped to the offline store
	// (ship_interval:, a Go duration such as 1s or 500ms; default 1s when 0;
	// between 10ms and 1h).
	ShipInterval time.Duration
}

// The bounds of the prediction_log: settings.
const (
	minPredictionLogBytes = 1 << 20
	minShipInterval       = 10 * time.Millisecond
	maxShipInterval       = time.Hour
)

// Default is the zero-infrastructure configuration.
func Default() *Config {
	return &Config{
		Registry: Provider{Type: SQLite, Role: RoleRegistry},
		Offline:  Provider{Type: DuckDB, Role: RoleOffline},
		Online:   Provider{Type: Embedded, Role: RoleOnline},
	}
}

// Load reads path, or FileName in the current directory when path is "";
// a missing FileName (but not a missing explicit path) gives Default.
// Every section is decoded and checked with types.
func Load(path string, types Types) (*Config, error) {
	explicit := path != ""
	if !explicit {
		path = FileName
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		cfg := Default()
		cfg.attach(types)
		return cfg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	return Parse(path, b, os.LookupEnv, types)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Parse reads a configuration; lookup resolves ${ENV_VAR} references, and
// types decode and check each provider's section.
func Parse(name string, content []byte, lookup func(string) (string, bool), types Types) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(content, &root); err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %v", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	cfg := Default()
	cfg.File = name
	if len(root.Content) == 0 {
		cfg.attach(types)
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
		case "prediction_log":
			if err := parsePredictionLog(name, val, lookup, &cfg.PredictionLog); err != nil {
				errs = append(errs, err.Error())
			}
			continue
		case "cors":
			if err := parseCORS(name, val, lookup, &cfg.CORS); err != nil {
				errs = append(errs, err.Error())
			}
			continue
		case "metrics":
			if err := parseMetrics(name, val, lookup, &cfg.Metrics); err != nil {
				errs = append(errs, err.Error())
			}
			continue
		case RoleRegistry:
			dst = &cfg.Registry
		case RoleOffline:
			dst = &cfg.Offline
		case RoleOnline:
			dst = &cfg.Online
		default:
			errs = append(errs, fmt.Sprintf("%s:%d: unknown key %q: use registry, offline, online, jobs, prediction_log, cors or metrics", name, key.Line, key.Value))
			continue
		}
		p := Provider{Role: key.Value, Node: val, File: name, Line: val.Line, env: map[*yaml.Node][]string{}}
		if err := expandEnv(val, lookup, p.env); err != nil {
			errs = append(errs, fmt.Sprintf("%s:%d: %s: %v", name, val.Line, key.Value, err))
			continue
		}
		if err := p.check(types[key.Value]); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		*dst = p
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	cfg.attach(types)
	return cfg, nil
}

// attach gives each provider its type's section, for Redacted.
func (c *Config) attach(types Types) {
	for _, p := range []*Provider{&c.Registry, &c.Offline, &c.Online} {
		p.section = types[p.Role][p.Type]
	}
}

// check reads the type of a role's section and decodes and checks the
// section with it, so a mistake is an error when the file is read.
func (p *Provider) check(types map[string]func() Section) error {
	n := p.Node
	if n.Kind != yaml.MappingNode {
		return p.errorf(p.Line, "expected a mapping with type: and the provider's settings")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "type" {
			p.Type = n.Content[i+1].Value
		}
	}
	newSection, ok := types[p.Type]
	if !ok {
		names := make([]string, 0, len(types))
		for t := range types {
			names = append(names, t)
		}
		sort.Strings(names)
		if p.Type == "" {
			return p.errorf(p.Line, "type: is missing: name the provider, one of %s", strings.Join(names, ", "))
		}
		article := "a"
		if p.Role != "" && strings.IndexByte("aeiou", p.Role[0]) >= 0 {
			article = "an"
		}
		return p.errorf(p.Line, "type %q is not %s %s provider: use one of %s", p.Type, article, p.Role, strings.Join(names, ", "))
	}
	s := newSection()
	if err := p.Decode(s); err != nil {
		return err
	}
	if err := s.Check(); err != nil {
		return p.errorf(p.Line, "%v", err)
	}
	return nil
}

// errorf formats a problem of the section at line of its file.
func (p Provider) errorf(line int, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if p.Role != "" {
		msg = p.Role + ": " + msg
	}
	if p.File != "" {
		msg = fmt.Sprintf("%s:%d: %s", p.File, line, msg)
	}
	return errors.New(msg)
}

// Decode sets the fields of s from the section's settings. A key s does
// not take, a key given twice or a value of the wrong kind is an error with
// the file and line; one for a value from ${ENV} names the variable. Decode
// does not call s.Check (Load has).
func (p Provider) Decode(s Section) error {
	if p.Node == nil || p.Node.Kind != yaml.MappingNode {
		return nil
	}
	fields := s.Settings()
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	takes := "it takes " + strings.Join(keys, ", ")
	if len(keys) == 0 {
		takes = "it takes no settings besides type"
	}
	var errs []string
	seen := map[string]bool{}
	for i := 0; i+1 < len(p.Node.Content); i += 2 {
		k, v := p.Node.Content[i], p.Node.Content[i+1]
		if k.Value == "type" {
			continue
		}
		dst, ok := fields[k.Value]
		switch {
		case !ok:
			errs = append(errs, p.errorf(k.Line, "%q does not apply to type %s; %s", k.Value, p.Type, takes).Error())
		case seen[k.Value]:
			errs = append(errs, p.errorf(k.Line, "%s is given twice", k.Value).Error())
		default:
			seen[k.Value] = true
			if err := p.decodeValue(v, dst); err != nil {
				errs = append(errs, p.errorf(v.Line, "%s: %v", k.Value, err).Error())
			}
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// decodeValue decodes v into dst, a pointer. A value expanded from ${ENV}
// is a string as written; for a field that is not text it is read again
// from its text, so ${DB} can give a number and ${CLUSTER} a boolean.
func (p Provider) decodeValue(v *yaml.Node, dst any) error {
	t := reflect.TypeOf(dst)
	if t == nil || t.Kind() != reflect.Pointer {
		return fmt.Errorf("the backend gave no field to decode into (%T)", dst)
	}
	t = t.Elem()
	vars := p.env[v]
	if v.Kind == yaml.ScalarNode && vars != nil && t.Kind() != reflect.String {
		c := *v
		c.Tag = ""
		v = &c
	}
	for _, item := range v.Content {
		vars = append(vars, p.env[item]...)
	}
	if err := v.Decode(dst); err != nil {
		want := describe(t)
		if len(vars) > 0 {
			// The value itself is not shown: it may be a secret.
			return fmt.Errorf("environment variable %s does not hold %s", strings.Join(vars, ", "), want)
		}
		if v.Kind == yaml.ScalarNode {
			return fmt.Errorf("%q is not %s", v.Value, want)
		}
		return fmt.Errorf("give %s", want)
	}
	return nil
}

// describe names what a value of type t is written as.
func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "text"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(describe(t.Elem()), "a "), "an ") + " values, such as [a, b]"
	}
	return "a " + t.String()
}

// Setting returns the text of a scalar setting of the section, such as
// "path" ("" when it is not given).
func (p Provider) Setting(key string) string {
	if p.Node == nil {
		return ""
	}
	for i := 0; i+1 < len(p.Node.Content); i += 2 {
		if p.Node.Content[i].Value == key && p.Node.Content[i+1].Kind == yaml.ScalarNode {
			return p.Node.Content[i+1].Value
		}
	}
	return ""
}

// With returns a copy of p whose section sets key to value (a string,
// number, boolean or list of them), as if the file said so; p is unchanged.
// Tests and the wiring use it to build or adjust providers.
func (p Provider) With(key string, value any) Provider {
	var v yaml.Node
	if err := v.Encode(value); err != nil {
		panic(fmt.Sprintf("config: setting %s to %v: %v", key, value, err))
	}
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if p.Node != nil && p.Node.Kind == yaml.MappingNode {
		c := *p.Node
		n = &c
	}
	n.Content = slices.Clone(n.Content)
	replaced := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			n.Content[i+1] = &v
			replaced = true
		}
	}
	if !replaced {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, &v)
	}
	p.Node = n
	return p
}

// Redacted describes a provider without secrets: its type and its settings
// as key=value, with what the backend's Section.Redact hides replaced by
// "***". A provider whose type has no Section (one not made by Load or
// Parse) shows its type only.
func (p Provider) Redacted() string {
	parts := []string{"type=" + p.Type}
	if p.section == nil || p.Node == nil {
		return parts[0]
	}
	s := p.section()
	if err := p.Decode(s); err != nil {
		return parts[0]
	}
	s.Redact()
	for k, ptr := range s.Settings() {
		v := reflect.ValueOf(ptr)
		if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().IsZero() {
			continue
		}
		e := v.Elem()
		text := fmt.Sprint(e.Interface())
		if e.Kind() == reflect.Slice {
			items := make([]string, e.Len())
			for i := range items {
				items[i] = fmt.Sprint(e.Index(i).Interface())
			}
			text = strings.Join(items, ",")
		}
		parts = append(parts, k+"="+text)
	}
	sort.Strings(parts[1:])
	return strings.Join(parts, " ")
}

// parseJobs reads the jobs: section.
func parseJobs(n *yaml.Node, lookup func(string) (string, bool), dst *Jobs) error {
	if n.Kind != yaml.MappingNode {
		return errors.New("expected a mapping with concurrency:, max_attempts: or lease:")
	}
	env := map[*yaml.Node][]string{}
	if err := expandEnv(n, lookup, env); err != nil {
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
			if err != nil {
				err = errors.New("give a duration such as 30s or 2m")
			} else if dst.Lease < 2*time.Second {
				err = errors.New("must be at least 2s (two heartbeats)")
			}
		default:
			return fmt.Errorf("line %d: unknown setting %q: use concurrency, max_attempts or lease", n.Content[i].Line, k)
		}
		if err != nil {
			if vars := env[v]; vars != nil {
				return fmt.Errorf("line %d: %s: environment variable %s: %v", v.Line, k, strings.Join(vars, ", "), err)
			}
			return fmt.Errorf("line %d: %s: %q: %v", v.Line, k, v.Value, err)
		}
	}
	return nil
}

// parsePredictionLog reads the prediction_log: section of file. Each
// problem is reported at the line of its key or value; a relative dir is
// joined to the file's directory.
func parsePredictionLog(file string, n *yaml.Node, lookup func(string) (string, bool), dst *PredictionLog) error {
	return eachSetting(file, "prediction_log", n, lookup, []string{"enabled", "dir", "max_size", "ship_interval"},
		"enabled:, dir:, max_size: or ship_interval:", "enabled, dir, max_size or ship_interval",
		func(k string, v *yaml.Node, env map[*yaml.Node][]string, errorf func(line int, format string, args ...any)) {
			var err error
			switch {
			case v.Kind != yaml.ScalarNode:
				err = errors.New(predictionLogWant[k])
			case k == "enabled":
				switch strings.ToLower(v.Value) {
				case "true":
					dst.Disabled = false
				case "false":
					dst.Disabled = true
				default:
					err = errors.New(predictionLogWant[k])
				}
			case k == "dir":
				dst.Dir = v.Value
				if dst.Dir == "" || v.Tag == "!!null" && env[v] == nil {
					err = errors.New(predictionLogWant[k])
				} else if !filepath.IsAbs(dst.Dir) {
					dst.Dir = filepath.Join(filepath.Dir(file), dst.Dir)
				}
			case k == "max_size":
				dst.MaxBytes, err = parseSize(v.Value)
			case k == "ship_interval":
				dst.ShipInterval, err = time.ParseDuration(v.Value)
				switch {
				case err != nil:
					err = errors.New(predictionLogWant[k])
				case dst.ShipInterval < minShipInterval || dst.ShipInterval > maxShipInterval:
					err = fmt.Errorf("must be between %v and %v", minShipInterval, maxShipInterval)
				}
			}
			switch {
			case err == nil:
			case env[v] != nil:
				// The value itself is not shown: it may be a secret.
				errorf(v.Line, "%s: environment variable %s: %v", k, strings.Join(env[v], ", "), err)
			case v.Kind == yaml.ScalarNode:
				errorf(v.Line, "%s: %q: %v", k, v.Value, err)
			default:
				errorf(v.Line, "%s: %v", k, err)
			}
		})
}

// eachSetting walks the settings of one section of file, a mapping named
// section: it refuses a section that is not a mapping (mappingWant lists
// its keys), an unknown setting (keysWant lists them) and one given twice,
// expands the ${ENV} references of each value, and hands each setting to
// set with the variables its nodes were expanded from. Every problem,
// reported through errorf at the line of its key or value, is one line of
// the returned error.
func eachSetting(file, section string, n *yaml.Node, lookup func(string) (string, bool), keys []string, mappingWant, keysWant string,
	set func(k string, v *yaml.Node, env map[*yaml.Node][]string, errorf func(line int, format string, args ...any))) error {
	var errs []string
	errorf := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("%s:%d: %s: %s", file, line, section, fmt.Sprintf(format, args...)))
	}
	if n.Kind != yaml.MappingNode {
		errorf(n.Line, "expected a mapping with %s", mappingWant)
		return errors.New(errs[0])
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, v := n.Content[i], n.Content[i+1]
		k := key.Value
		switch {
		case !slices.Contains(keys, k):
			errorf(key.Line, "unknown setting %q: use %s", k, keysWant)
			continue
		case seen[k]:
			errorf(key.Line, "%s is given twice", k)
			continue
		}
		seen[k] = true
		env := map[*yaml.Node][]string{}
		if err := expandEnv(v, lookup, env); err != nil {
			errorf(v.Line, "%s: %v", k, err)
			continue
		}
		set(k, v, env, errorf)
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// predictionLogWant says what to write for each prediction_log: setting.
var predictionLogWant = map[string]string{
	"enabled":       "give true or false",
	"dir":           "give a directory, or leave dir: out for the data directory's prediction-log",
	"max_size":      "give a size such as 512MiB, 1GiB, 200MB or a number of bytes",
	"ship_interval": "give a duration such as 1s or 500ms",
}

// parseSize reads a size on disk such as 512MiB, 1GiB, 200MB or 1048576.
func parseSize(s string) (int64, error) {
	n, err := humanize.ParseBytes(strings.TrimSpace(s))
	switch {
	case err != nil || strings.TrimSpace(s) == "":
		return 0, errors.New(predictionLogWant["max_size"])
	case n > math.MaxInt64:
		return 0, errors.New("is too large: give at most 8EiB")
	case n < minPredictionLogBytes:
		return 0, errors.New("must be at least 1MiB")
	}
	return int64(n), nil
}

func positive(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, errors.New("give a whole number of at least 1")
	}
	return n, nil
}

// expandEnv replaces ${VAR} in every scalar under n, recording in env which
// variables each changed scalar came from. An unset variable is an error
// naming it, so a missing secret never turns into an empty password.
func expandEnv(n *yaml.Node, lookup func(string) (string, bool), env map[*yaml.Node][]string) error {
	if n.Kind == yaml.ScalarNode {
		var missing, used []string
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
			name := envRef.FindStringSubmatch(m)[1]
			v, ok := lookup(name)
			if !ok {
				missing = append(missing, name)
			}
			used = append(used, name)
			return v
		})
		if len(missing) > 0 {
			return fmt.Errorf("environment variable %s is not set; export it or remove the reference", strings.Join(missing, ", "))
		}
		if len(used) > 0 {
			env[n] = used
		}
		return nil
	}
	for _, c := range n.Content {
		if err := expandEnv(c, lookup, env); err != nil {
			return err
		}
	}
	return nil
}
