// Package backends wires the store implementations of this repository into
// platform.Backends, by provider type: what cmd/slipway builds into the
// binary, and what tests that need a whole platform use. A build leaves a
// backend out by deleting its lines and import here. Each backend's Config
// is its own section of slipway.yaml (config.Section): Sections lists them
// for config.Load, and each constructor decodes its provider's section.
package backends

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/offlineduckdb"
	"github.com/slipway-ml/slipway/offline/offlinepg"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/online/onlinekv"
	"github.com/slipway-ml/slipway/online/onlineredis"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/registry/registrypg"
	"github.com/slipway-ml/slipway/registry/registrysqlite"
)

// Provider types besides the embedded defaults (config.SQLite,
// config.DuckDB, config.Embedded).
const (
	Postgres = "postgres"
	Redis    = "redis"
)

// MemoryLimitEnv gives DuckDB's memory limit when slipway.yaml gives none.
const MemoryLimitEnv = "SLIPWAY_DUCKDB_MEMORY_LIMIT"

// Sections returns the section each provider type of this repository reads
// from slipway.yaml, by role: what config.Load checks a file with.
func Sections() config.Types {
	return config.Types{
		config.RoleRegistry: {
			config.SQLite: func() config.Section { return new(registrysqlite.Config) },
			Postgres:      func() config.Section { return new(registrypg.Config) },
		},
		config.RoleOffline: {
			config.DuckDB: func() config.Section { return new(offlineduckdb.Config) },
			Postgres:      func() config.Section { return new(offlinepg.Config) },
		},
		config.RoleOnline: {
			config.Embedded: func() config.Section { return new(onlinekv.Config) },
			Redis:           func() config.Section { return new(onlineredis.Config) },
		},
	}
}

// inDataDir returns path, or name inside the data directory when it is "".
func inDataDir(sp *platform.StoreParams, path, name string) string {
	if path != "" {
		return path
	}
	return filepath.Join(sp.DataDir, name)
}

// redisLogger installs go-redis's logger once, before the first client.
var redisLogger sync.Once

// All returns every backend of this repository, by provider type.
func All() platform.Backends {
	return platform.Backends{
		Sections: Sections(),
		Registry: map[string]func(context.Context, *platform.StoreParams) (registry.Store, error){
			config.SQLite: func(ctx context.Context, sp *platform.StoreParams) (registry.Store, error) {
				var c registrysqlite.Config
				if err := sp.Provider.Decode(&c); err != nil {
					return nil, err
				}
				c.Path, c.Logger = inDataDir(sp, c.Path, platform.RegistryFile), sp.Logger
				return registrysqlite.New(ctx, c)
			},
			Postgres: func(ctx context.Context, sp *platform.StoreParams) (registry.Store, error) {
				var c registrypg.Config
				if err := sp.Provider.Decode(&c); err != nil {
					return nil, err
				}
				c.Logger = sp.Logger
				return registrypg.New(ctx, c)
			},
		},
		Offline: map[string]func(context.Context, *platform.StoreParams) (offline.Store, error){
			config.DuckDB: func(ctx context.Context, sp *platform.StoreParams) (offline.Store, error) {
				var c offlineduckdb.Config
				if err := sp.Provider.Decode(&c); err != nil {
					return nil, err
				}
				fromEnv := c.MemoryLimit == "" && os.Getenv(MemoryLimitEnv) != ""
				if fromEnv {
					c.MemoryLimit = os.Getenv(MemoryLimitEnv)
				}
				c.Path, c.Logger = inDataDir(sp, c.Path, platform.OfflineFile), sp.Logger
				st, err := offlineduckdb.New(ctx, c)
				if err != nil && fromEnv && strings.Contains(strings.ToLower(err.Error()), "memory") {
					// DuckDB's message names its setting, not where the value came from.
					return nil, fmt.Errorf("%w (the memory limit %q is environment variable %s: set it like 4GB or unset it)", err, c.MemoryLimit, MemoryLimitEnv)
				}
				return st, err
			},
			Postgres: func(ctx context.Context, sp *platform.StoreParams) (offline.Store, error) {
				var c offlinepg.Config
				if err := sp.Provider.Decode(&c); err != nil {
					return nil, err
				}
				c.Logger = sp.Logger
				return offlinepg.New(ctx, c)
			},
		},
		Online: map[string]func(context.Context, *platform.StoreParams) (online.Store, error){
			config.Embedded: func(ctx context.Context, sp *platform.StoreParams) (online.Store, error) {
				var c onlinekv.Config
				if err := sp.Provider.Decode(&c); err != nil {
					return nil, err
				}
				c.Path, c.Logger = inDataDir(sp, c.Path, platform.OnlineFile), sp.Logger
				return onlinekv.New(ctx, c)
			},
			Redis: func(ctx context.Context, sp *platform.StoreParams) (online.Store, error) {
				var c onlineredis.Config
				if err := sp.Provider.Decode(&c); err != nil {
					return nil, err
				}
				// go-redis logs dial retries on its own; they go to the debug level.
				redisLogger.Do(func() { redis.SetLogger(onlineredis.ClientLogger{Logger: sp.Logger}) })
				c.Logger = sp.Logger
				return onlineredis.New(ctx, c)
			},
		},
		DuckDBVersion: offlineduckdb.LibraryVersion,
	}
}
