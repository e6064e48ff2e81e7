package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
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
	cfg, err := Parse("slipway.yaml", []byte(y), env(map[string]string{"PGPASS": "s3cr:et", "REDIS_PASSWORD": "hunter2"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Registry.DSN != "postgres://slipway:s3cr:et@db:5432/slipway" || cfg.Offline.Schema != "features" {
		t.Errorf("postgres providers: %+v %+v", cfg.Registry, cfg.Offline)
	}
	if !cfg.Online.Cluster || len(cfg.Online.Addrs) != 2 || cfg.Online.Password != "hunter2" {
		t.Errorf("redis provider: %+v", cfg.Online)
	}
	for _, p := range []Provider{cfg.Registry, cfg.Offline, cfg.Online} {
		r := p.Redacted()
		if strings.Contains(r, "s3cr") || strings.Contains(r, "et@") || strings.Contains(r, "hunter2") {
			t.Errorf("Redacted leaks a secret: %s", r)
		}
	}
	if got := cfg.Registry.Redacted(); !strings.Contains(got, "postgres://slipway:***@db:5432/slipway") {
		t.Errorf("Redacted() = %s", got)
	}
}

func TestDefaultsWhenNoFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	cfg, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Registry.Type != SQLite || cfg.Offline.Type != DuckDB || cfg.Online.Type != Embedded || cfg.File != "" {
		t.Errorf("defaults: %+v", cfg)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("an explicit missing file loaded without error")
	}
}

func TestPartialFileKeepsDefaultsForOtherRoles(t *testing.T) {
	cfg, err := Parse("s.yaml", []byte("online:\n  type: redis\n  addrs: [127.0.0.1:6379]\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Registry.Type != SQLite || cfg.Offline.Type != DuckDB || cfg.Online.Type != Redis {
		t.Errorf("%+v", cfg)
	}
}

// badConfigs are the bad files of TestBadConfigs, each with what its error
// must say; FuzzParse starts from them.
var badConfigs = map[string]struct{ yaml, want string }{
	"UnsetSecret":      {"registry:\n  type: postgres\n  dsn: postgres://u:${NOPE}@h/db\n", "s.yaml:2: registry: environment variable NOPE is not set"},
	"WrongTypeForRole": {"online:\n  type: postgres\n  dsn: x\n", `s.yaml:2: online: type "postgres" is not a online provider: use one of embedded, redis`},
	"FieldOfOtherType": {"offline:\n  type: duckdb\n  addrs: [a]\n", `offline: line 3: "addrs" does not apply to type duckdb`},
	"MissingDSN":       {"registry:\n  type: postgres\n", "type postgres needs dsn:"},
	"MissingAddrs":     {"online:\n  type: redis\n", "type redis needs addrs:"},
	"UnknownRole":      {"cache:\n  type: redis\n", `s.yaml:1: unknown key "cache"`},
	"BadYAML":          {"registry: [\n", "s.yaml: invalid YAML"},
	"BadFieldType":     {"online:\n  type: redis\n  addrs: [a]\n  db: zero\n", "online:"},
	"JobsUnknown":      {"jobs:\n  workers: 2\n", `s.yaml:2: jobs: line 2: unknown setting "workers"`},
	"JobsZero":         {"jobs:\n  concurrency: 0\n", `jobs: line 2: concurrency: "0": give a whole number of at least 1`},
	"JobsShortLease":   {"jobs:\n  lease: 1s\n", "lease: \"1s\": must be at least 2s"},
	"JobsBadLease":     {"jobs:\n  lease: soon\n", `lease: "soon"`},
}

func TestBadConfigs(t *testing.T) {
	for name, tc := range badConfigs {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.yaml), env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestJobsSettings(t *testing.T) {
	cfg, err := Parse("s.yaml", []byte("jobs:\n  concurrency: ${N}\n  max_attempts: 3\n  lease: 45s\n"), env(map[string]string{"N": "4"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Jobs{Concurrency: 4, MaxAttempts: 3, Lease: 45 * time.Second}); cfg.Jobs != want {
		t.Errorf("jobs = %+v, want %+v", cfg.Jobs, want)
	}
	if cfg.Registry.Type != SQLite {
		t.Errorf("a jobs-only file changed the registry to %q", cfg.Registry.Type)
	}
}

func TestRedactDSN(t *testing.T) {
	cases := map[string]string{
		"postgres://postgres:s3cr:et@db:5432/x":                       "postgres://postgres:***@db:5432/x",
		"postgres://postgres:p%40ss%40word@db/x":                      "postgres://postgres:***@db/x",
		"postgres://127.0.0.1:5432/test?password=p%40ss&sslmode=x":    "postgres://127.0.0.1:5432/test?password=***&sslmode=x",
		"postgres://u@h/db":                                           "postgres://u@h/db",
		"host=127.0.0.1 password='correct horse battery' dbname=test": "host=127.0.0.1 password=*** dbname=test",
		`host=h password=a\ b dbname=d`:                               "host=h password=*** dbname=d",
		"host=h password='unterminated":                               "***",
		"postgres://u:pw@[bad":                                        "***",
	}
	for in, want := range cases {
		if got := redactDSN(in); got != want {
			t.Errorf("redactDSN(%q) = %q, want %q", in, got, want)
		}
		for _, secret := range []string{"s3cr", "p%40ss", "horse", "pw@", `a\ b`} {
			if strings.Contains(in, secret) && strings.Contains(redactDSN(in), secret) {
				t.Errorf("redactDSN(%q) leaks %q", in, secret)
			}
		}
	}
}

func TestEnvInNumbersAndBooleans(t *testing.T) {
	y := "online:\n  type: redis\n  addrs: [a:1]\n  db: ${DB}\n  cluster: ${CL}\n  password: ${PW}\n"
	cfg, err := Parse("s.yaml", []byte(y), env(map[string]string{"DB": "2", "CL": "false", "PW": "123456"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Online.DB != 2 || cfg.Online.Cluster || cfg.Online.Password != "123456" {
		t.Errorf("%+v", cfg.Online)
	}
	_, err = Parse("s.yaml", []byte("\n\n\nonline:\n  type: redis\n  addrs: [a:1]\n  db: abc\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "line 7") {
		t.Errorf("bad db: %v; want the file's line 7", err)
	}
}
