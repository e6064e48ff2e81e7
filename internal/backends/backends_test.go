package backends

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/offline/offlineduckdb"
	"github.com/slipway-ml/slipway/offline/offlinepg"
	"github.com/slipway-ml/slipway/online/onlinekv"
	"github.com/slipway-ml/slipway/online/onlineredis"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry/registrypg"
	"github.com/slipway-ml/slipway/registry/registrysqlite"
)

func parse(t *testing.T, y string, vars map[string]string) (*config.Config, error) {
	t.Helper()
	return config.Parse("slipway.yaml", []byte(y), func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, Sections())
}

// Every type with a section has a constructor, and the other way round.
func TestSectionsMatchConstructors(t *testing.T) {
	b := All()
	for role, built := range map[string][]string{
		config.RoleRegistry: slices.Sorted(maps.Keys(b.Registry)),
		config.RoleOffline:  slices.Sorted(maps.Keys(b.Offline)),
		config.RoleOnline:   slices.Sorted(maps.Keys(b.Online)),
	} {
		if sections := slices.Sorted(maps.Keys(b.Sections[role])); !slices.Equal(sections, built) {
			t.Errorf("%s: sections for %v, constructors for %v", role, sections, built)
		}
	}
}

// Each backend's section decodes into its Config.
func TestSectionsDecode(t *testing.T) {
	vars := map[string]string{"PW": "s3cr:et", "REDIS_PW": "hunter2", "DB": "3"}
	for _, tc := range []struct {
		name     string
		yaml     string
		into     config.Section
		want     any
		redacted string
	}{
		{"sqlite", "registry:\n  type: sqlite\n  path: /r.db\n", new(registrysqlite.Config), &registrysqlite.Config{Path: "/r.db"}, "type=sqlite path=/r.db"},
		{"registrypg", "registry:\n  type: postgres\n  dsn: postgres://u:${PW}@h/db\n  schema: reg\n", new(registrypg.Config),
			&registrypg.Config{DSN: "postgres://u:s3cr:et@h/db", Schema: "reg"}, "type=postgres dsn=postgres://u:***@h/db schema=reg"},
		{"duckdb", "offline:\n  type: duckdb\n  path: /o.duckdb\n  memory_limit: 2GB\n  threads: 2\n", new(offlineduckdb.Config),
			&offlineduckdb.Config{Path: "/o.duckdb", MemoryLimit: "2GB", Threads: 2}, "type=duckdb memory_limit=2GB path=/o.duckdb threads=2"},
		{"offlinepg", "offline:\n  type: postgres\n  dsn: host=h password=${PW}\n", new(offlinepg.Config),
			&offlinepg.Config{DSN: "host=h password=s3cr:et"}, "type=postgres dsn=host=h password=***"},
		{"embedded", "online:\n  type: embedded\n  path: /on.bolt\n", new(onlinekv.Config), &onlinekv.Config{Path: "/on.bolt"}, "type=embedded path=/on.bolt"},
		{"redis", "online:\n  type: redis\n  addrs: [a:1]\n  username: app\n  password: ${REDIS_PW}\n  db: ${DB}\n  key_prefix: k\n", new(onlineredis.Config),
			&onlineredis.Config{Addrs: []string{"a:1"}, Username: "app", Password: "hunter2", DB: 3, KeyPrefix: "k"}, "type=redis addrs=a:1 db=3 key_prefix=k password=*** username=app"},
		{"redis cache", "online:\n  type: redis\n  addrs: [a:1]\n  cache_mb: 512\n  cache_ttl: 30s\n", new(onlineredis.Config),
			&onlineredis.Config{Addrs: []string{"a:1"}, CacheMB: 512, CacheTTL: 30 * time.Second}, "type=redis addrs=a:1 cache_mb=512 cache_ttl=30s"},
		{"redisCluster", "online:\n  type: redis\n  addrs: [a:1, b:2]\n  cluster: true\n", new(onlineredis.Config),
			&onlineredis.Config{Addrs: []string{"a:1", "b:2"}, Cluster: true}, "type=redis addrs=a:1,b:2 cluster=true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parse(t, tc.yaml, vars)
			if err != nil {
				t.Fatal(err)
			}
			p := map[string]config.Provider{"registry": cfg.Registry, "offline": cfg.Offline, "online": cfg.Online}[strings.SplitN(tc.yaml, ":", 2)[0]]
			if err := p.Decode(tc.into); err != nil {
				t.Fatal(err)
			}
			if got, want := strings.TrimPrefix(strings.ReplaceAll(sprint(tc.into), "\n", ""), "&"), strings.TrimPrefix(sprint(tc.want), "&"); got != want {
				t.Errorf("decoded %s, want %s", got, want)
			}
			if got := p.Redacted(); got != tc.redacted {
				t.Errorf("Redacted() = %s, want %s", got, tc.redacted)
			}
		})
	}
}

// Each backend's rules are checked when the file is read, with the file
// and line, before any store is opened.
func TestSectionErrors(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"SQLiteUnknown":       {"registry:\n  type: sqlite\n  dsn: x\n", `slipway.yaml:3: registry: "dsn" does not apply to type sqlite; it takes path`},
		"SQLiteBadPath":       {"registry:\n  type: sqlite\n  path: a?b\n", `slipway.yaml:2: registry: registry path "a?b" contains '?'`},
		"RegistryPGNoDSN":     {"registry:\n  type: postgres\n  schema: s\n", "slipway.yaml:2: registry: type postgres needs dsn:"},
		"RegistryPGSchema":    {"registry:\n  type: postgres\n  dsn: x\n  schema: pg_x\n", `slipway.yaml:2: registry: invalid registry schema "pg_x"`},
		"DuckDBMisplaced":     {"offline:\n  type: duckdb\n  addrs: [a]\n", `slipway.yaml:3: offline: "addrs" does not apply to type duckdb; it takes checkpoint_threshold, memory_limit, path, threads`},
		"DuckDBThreads":       {"offline:\n  type: duckdb\n  threads: -2\n", "slipway.yaml:2: offline: threads is -2"},
		"DuckDBThreadsType":   {"offline:\n  type: duckdb\n  threads: many\n", `slipway.yaml:3: offline: threads: "many" is not a whole number`},
		"OfflinePGNoDSN":      {"offline:\n  type: postgres\n", "slipway.yaml:2: offline: type postgres needs dsn:"},
		"OfflinePGUnknown":    {"offline:\n  type: postgres\n  dsn: x\n  memory_limit: 1GB\n", `slipway.yaml:4: offline: "memory_limit" does not apply to type postgres; it takes dsn, schema`},
		"EmbeddedUnknown":     {"online:\n  type: embedded\n  key_prefix: x\n", `slipway.yaml:3: online: "key_prefix" does not apply to type embedded; it takes path`},
		"RedisNoAddrs":        {"online:\n  type: redis\n  password: x\n", "slipway.yaml:2: online: type redis needs addrs:"},
		"RedisNoCluster":      {"online:\n  type: redis\n  addrs: [a:1, b:2]\n", "slipway.yaml:2: online: redis online store: 2 addresses given without cluster"},
		"RedisEnvWrongType":   {"online:\n  type: redis\n  addrs: [a:1]\n  cluster: ${CLUSTER}\n", "slipway.yaml:4: online: cluster: environment variable CLUSTER does not hold true or false"},
		"RedisUnknownLists":   {"online:\n  type: redis\n  addrs: [a:1]\n  dsn: x\n", `it takes addrs, cache_mb, cache_ttl, cluster, db, disable_cache, key_prefix, password, username`},
		"RedisPasswordHidden": {"online:\n  type: redis\n  addrs: [a:1]\n  db: ${PW}\n", "db: environment variable PW does not hold a whole number"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parse(t, tc.yaml, map[string]string{"CLUSTER": "yes please", "PW": "hunter2"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("err = %v shows a secret", err)
			}
		})
	}
}

// The embedded stores keep their files in the data directory unless the
// section gives a path; DuckDB's memory limit comes from the section, else
// from SLIPWAY_DUCKDB_MEMORY_LIMIT.
func TestEmbeddedStores(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	b := All()
	cfg, err := parse(t, "online:\n  type: embedded\n  path: "+filepath.Join(dir, "elsewhere", "o.bolt")+"\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	sp := &platform.StoreParams{DataDir: filepath.Join(dir, "data"), Provider: cfg.Registry}
	reg, err := b.Registry[config.SQLite](ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	reg.Close()
	if _, err := os.Stat(filepath.Join(dir, "data", platform.RegistryFile)); err != nil {
		t.Errorf("registry without path: %v", err)
	}
	sp.Provider = cfg.Online
	on, err := b.Online[config.Embedded](ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	on.Close()
	if _, err := os.Stat(filepath.Join(dir, "elsewhere", "o.bolt")); err != nil {
		t.Errorf("online store with a path: %v", err)
	}

	t.Setenv(MemoryLimitEnv, "not a size")
	sp.Provider = cfg.Offline
	if off, err := b.Offline[config.DuckDB](ctx, sp); err == nil {
		off.Close()
		t.Errorf("DuckDB opened with %s=%q", MemoryLimitEnv, "not a size")
	} else if !strings.Contains(err.Error(), "environment variable "+MemoryLimitEnv) {
		t.Errorf("the error of a bad %s does not name it: %v", MemoryLimitEnv, err)
	}
	sp.Provider = cfg.Offline.With("memory_limit", "1GB")
	off, err := b.Offline[config.DuckDB](ctx, sp)
	if err != nil {
		t.Fatalf("memory_limit in the section did not win over %s: %v", MemoryLimitEnv, err)
	}
	off.Close()
}

func sprint(v any) string { return fmt.Sprintf("%+v", v) }

// Every slipway.yaml example in docs/configuration.md is a valid file.
func TestDocumentedExamples(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(b), "```yaml\n")[1:]
	if len(blocks) < 2 {
		t.Fatalf("found %d yaml examples in docs/configuration.md, want the providers and the jobs ones", len(blocks))
	}
	for i, block := range blocks {
		y := strings.SplitN(block, "```", 2)[0]
		cfg, err := config.Parse("configuration.md example "+fmt.Sprint(i+1), []byte(y), func(string) (string, bool) { return "secret", true }, Sections())
		if err != nil {
			t.Errorf("%v\n%s", err, y)
			continue
		}
		if strings.Contains(y, "registry:") && cfg.Registry.Type != Postgres {
			t.Errorf("example %d: registry type %q", i+1, cfg.Registry.Type)
		}
	}
}
