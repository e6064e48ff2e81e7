package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// Test sections, shaped like the backends' (internal/backends tests the
// real ones): the package must work with whatever sections a build has.
type fileSection struct {
	Path        string
	MemoryLimit string
	Threads     int
}

func (s *fileSection) Settings() map[string]any {
	return map[string]any{"path": &s.Path, "memory_limit": &s.MemoryLimit, "threads": &s.Threads}
}

func (s *fileSection) Check() error {
	if s.Threads < 0 {
		return errors.New("threads must not be negative")
	}
	return nil
}

func (s *fileSection) Redact() {}

type dbSection struct{ DSN, Schema string }

func (s *dbSection) Settings() map[string]any {
	return map[string]any{"dsn": &s.DSN, "schema": &s.Schema}
}

func (s *dbSection) Check() error {
	if s.DSN == "" {
		return errors.New("type postgres needs dsn:")
	}
	return nil
}

func (s *dbSection) Redact() {
	if at := strings.LastIndex(s.DSN, "@"); at >= 0 {
		s.DSN = "***" + s.DSN[at:]
	}
}

type kvSection struct {
	Addrs              []string
	Cluster            bool
	Username, Password string
	DB                 int
}

func (s *kvSection) Settings() map[string]any {
	return map[string]any{"addrs": &s.Addrs, "cluster": &s.Cluster, "username": &s.Username, "password": &s.Password, "db": &s.DB}
}

func (s *kvSection) Check() error {
	if len(s.Addrs) == 0 {
		return errors.New("type redis needs addrs:")
	}
	return nil
}

func (s *kvSection) Redact() {
	if s.Password != "" {
		s.Password = "***"
	}
}

var testTypes = Types{
	RoleRegistry: {SQLite: func() Section { return new(fileSection) }, "postgres": func() Section { return new(dbSection) }},
	RoleOffline:  {DuckDB: func() Section { return new(fileSection) }, "postgres": func() Section { return new(dbSection) }},
	RoleOnline:   {Embedded: func() Section { return new(fileSection) }, "redis": func() Section { return new(kvSection) }},
}

func parse(t *testing.T, y string, vars map[string]string) *Config {
	t.Helper()
	cfg, err := Parse("s.yaml", []byte(y), env(vars), testTypes)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestParseProductionConfig(t *testing.T) {
	y := `registry:
  type: postgres
  dsn: postgres://slipway:${PGPASS}@db:5432/slipway
offline:
  type: postgres
  dsn: postgres://slipway:${PGPASS}@db:5432/warehouse
  schema: features
online:
  type: redis
  addrs: [10.0.0.1:6379, 10.0.0.2:6379]
  cluster: true
  password: ${REDIS_PASSWORD}
`
	cfg := parse(t, y, map[string]string{"PGPASS": "s3cr:et", "REDIS_PASSWORD": "hunter2"})
	if cfg.Registry.Type != "postgres" || cfg.Registry.Role != RoleRegistry || cfg.Registry.File != "s.yaml" || cfg.Registry.Line != 2 || cfg.Online.Line != 9 {
		t.Errorf("registry provider: %+v", cfg.Registry)
	}
	var reg, off dbSection
	var on kvSection
	for _, d := range []struct {
		p Provider
		s Section
	}{{cfg.Registry, &reg}, {cfg.Offline, &off}, {cfg.Online, &on}} {
		if err := d.p.Decode(d.s); err != nil {
			t.Fatal(err)
		}
	}
	if reg.DSN != "postgres://slipway:s3cr:et@db:5432/slipway" || off.Schema != "features" {
		t.Errorf("postgres sections: %+v %+v", reg, off)
	}
	if !on.Cluster || len(on.Addrs) != 2 || on.Password != "hunter2" {
		t.Errorf("redis section: %+v", on)
	}
	for _, p := range []Provider{cfg.Registry, cfg.Offline, cfg.Online} {
		r := p.Redacted()
		if strings.Contains(r, "s3cr") || strings.Contains(r, "hunter2") {
			t.Errorf("Redacted leaks a secret: %s", r)
		}
	}
	if got, want := cfg.Offline.Redacted(), "type=postgres dsn=***@db:5432/warehouse schema=features"; got != want {
		t.Errorf("Redacted() = %s, want %s", got, want)
	}
	if got, want := cfg.Online.Redacted(), "type=redis addrs=10.0.0.1:6379,10.0.0.2:6379 cluster=true password=***"; got != want {
		t.Errorf("Redacted() = %s, want %s", got, want)
	}
}

func TestDefaultsWhenNoFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	cfg, err := Load("", testTypes)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Registry.Type != SQLite || cfg.Offline.Type != DuckDB || cfg.Online.Type != Embedded || cfg.File != "" {
		t.Errorf("defaults: %+v", cfg)
	}
	if got := cfg.Offline.Redacted(); got != "type=duckdb" {
		t.Errorf("default offline: %s", got)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml"), testTypes); err == nil {
		t.Error("an explicit missing file loaded without error")
	}
}

func TestPartialFileKeepsDefaultsForOtherRoles(t *testing.T) {
	cfg := parse(t, "online:\n  type: redis\n  addrs: [127.0.0.1:6379]\n", nil)
	if cfg.Registry.Type != SQLite || cfg.Offline.Type != DuckDB || cfg.Online.Type != "redis" {
		t.Errorf("%+v", cfg)
	}
}

// badConfigs are the bad files of TestBadConfigs, each with what its error
// must say; FuzzParse starts from them.
var badConfigs = map[string]struct{ yaml, want string }{
	"UnsetSecret":        {"registry:\n  type: postgres\n  dsn: postgres://u:${NOPE}@h/db\n", "s.yaml:2: registry: environment variable NOPE is not set"},
	"WrongTypeForRole":   {"online:\n  type: postgres\n  dsn: x\n", `s.yaml:2: online: type "postgres" is not an online provider: use one of embedded, redis`},
	"NoType":             {"online:\n  addrs: [a]\n", `s.yaml:2: online: type: is missing: name the provider, one of embedded, redis`},
	"NotAMapping":        {"registry: sqlite\n", "s.yaml:1: registry: expected a mapping with type:"},
	"FieldOfOtherType":   {"offline:\n  type: duckdb\n  addrs: [a]\n", `s.yaml:3: offline: "addrs" does not apply to type duckdb; it takes memory_limit, path, threads`},
	"UnknownField":       {"online:\n  type: redis\n  addrs: [a]\n\n  pasword: x\n", `s.yaml:5: online: "pasword" does not apply to type redis; it takes addrs, cluster, db, password, username`},
	"FieldTwice":         {"registry:\n  type: sqlite\n  path: a\n  path: b\n", "s.yaml:4: registry: path is given twice"},
	"MissingDSN":         {"registry:\n  type: postgres\n", "s.yaml:2: registry: type postgres needs dsn:"},
	"MissingAddrs":       {"online:\n  type: redis\n", "s.yaml:2: online: type redis needs addrs:"},
	"SectionCheck":       {"offline:\n  type: duckdb\n  threads: -1\n", "s.yaml:2: offline: threads must not be negative"},
	"UnknownRole":        {"cache:\n  type: redis\n", `s.yaml:1: unknown key "cache": use registry, offline, online, jobs, prediction_log, cors or metrics`},
	"BadYAML":            {"registry: [\n", "s.yaml: invalid YAML"},
	"BadFieldType":       {"online:\n  type: redis\n  addrs: [a]\n  db: zero\n", `s.yaml:4: online: db: "zero" is not a whole number`},
	"BadBool":            {"online:\n  type: redis\n  addrs: [a]\n  cluster: maybe\n", `s.yaml:4: online: cluster: "maybe" is not true or false`},
	"ScalarForList":      {"online:\n  type: redis\n  addrs: a:1\n", `s.yaml:3: online: addrs: "a:1" is not a list of text values`},
	"ListForScalar":      {"registry:\n  type: sqlite\n  path: [a, b]\n", "s.yaml:3: registry: path: give text"},
	"TwoProblems":        {"offline:\n  type: duckdb\n  threads: x\n  dsn: y\n", "s.yaml:3: offline: threads: \"x\" is not a whole number\ns.yaml:4: offline: \"dsn\" does not apply"},
	"EnvOfWrongType":     {"online:\n  type: redis\n  addrs: [a]\n  db: ${DB}\n", "s.yaml:4: online: db: environment variable DB does not hold a whole number"},
	"JobsUnknown":        {"jobs:\n  workers: 2\n", `s.yaml:2: jobs: line 2: unknown setting "workers"`},
	"JobsZero":           {"jobs:\n  concurrency: 0\n", `jobs: line 2: concurrency: "0": give a whole number of at least 1`},
	"JobsEnvOfWrongType": {"jobs:\n  max_attempts: ${N}\n", `s.yaml:2: jobs: line 2: max_attempts: environment variable N: give a whole number of at least 1`},
	"JobsShortLease":     {"jobs:\n  lease: 1s\n", "lease: \"1s\": must be at least 2s"},
	"JobsBadLease":       {"jobs:\n  lease: soon\n", `lease: "soon": give a duration such as 30s`},
}

// badEnv is the environment of the bad files: values of the wrong type,
// which errors must not show.
var badEnv = map[string]string{"DB": "s3cret", "N": "s3cret"}

func TestBadConfigs(t *testing.T) {
	for name, tc := range badConfigs {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.yaml), env(badEnv), testTypes)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("err = %v shows the environment variable's value", err)
			}
		})
	}
}

func TestJobsSettings(t *testing.T) {
	cfg := parse(t, "jobs:\n  concurrency: ${N}\n  max_attempts: 3\n  lease: 45s\n", map[string]string{"N": "4"})
	if want := (Jobs{Concurrency: 4, MaxAttempts: 3, Lease: 45 * time.Second}); cfg.Jobs != want {
		t.Errorf("jobs = %+v, want %+v", cfg.Jobs, want)
	}
	if cfg.Registry.Type != SQLite {
		t.Errorf("a jobs-only file changed the registry to %q", cfg.Registry.Type)
	}
}

func TestEnvInNumbersAndBooleans(t *testing.T) {
	y := "online:\n  type: redis\n  addrs: [a:1, '${HOST}:2']\n  db: ${DB}\n  cluster: ${CL}\n  password: ${PW}\n  username: ${USER}\n"
	cfg := parse(t, y, map[string]string{"DB": "2", "CL": "false", "PW": "123456", "USER": "null", "HOST": "h"})
	var s kvSection
	if err := cfg.Online.Decode(&s); err != nil {
		t.Fatal(err)
	}
	if s.DB != 2 || s.Cluster || s.Password != "123456" || s.Username != "null" || len(s.Addrs) != 2 || s.Addrs[1] != "h:2" {
		t.Errorf("%+v", s)
	}
	_, err := Parse("s.yaml", []byte("\n\n\nonline:\n  type: redis\n  addrs: [a:1]\n  db: abc\n"), env(nil), testTypes)
	if err == nil || !strings.Contains(err.Error(), "s.yaml:7:") {
		t.Errorf("bad db: %v; want the file's line 7", err)
	}
}

func TestSettingAndWith(t *testing.T) {
	cfg := parse(t, "registry:\n  type: sqlite\n  path: a.db\n", nil)
	p := cfg.Registry.With("path", "b.db").With("threads", 3)
	if cfg.Registry.Setting("path") != "a.db" || p.Setting("path") != "b.db" || p.Setting("missing") != "" {
		t.Errorf("Setting: %q, %q", cfg.Registry.Setting("path"), p.Setting("path"))
	}
	var s fileSection
	if err := p.Decode(&s); err != nil || s.Path != "b.db" || s.Threads != 3 {
		t.Errorf("With: %+v, %v", s, err)
	}
	if got := p.Redacted(); got != "type=sqlite path=b.db threads=3" {
		t.Errorf("Redacted() = %s", got)
	}
	built := Provider{Type: "redis", Role: RoleOnline}.With("addrs", []string{"x:1"}).With("password", "hunter2")
	var kv kvSection
	if err := built.Decode(&kv); err != nil || len(kv.Addrs) != 1 || kv.Password != "hunter2" {
		t.Errorf("built provider: %+v, %v", kv, err)
	}
	if got := built.Redacted(); got != "type=redis" {
		t.Errorf("a provider not made by Parse shows its settings: %s", got)
	}
}
