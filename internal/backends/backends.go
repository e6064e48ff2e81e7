// Package backends wires the store implementations of this repository into
// platform.Backends, by provider type: what cmd/slipway builds into the
// binary, and what tests that need a whole platform use. A build leaves a
// backend out by deleting its line and import here.
package backends

import (
	"context"
	"os"
	"path/filepath"
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

// inDataDir returns the provider's path, or name inside the data directory.
func inDataDir(p *platform.StoreParams, name string) string {
	if p.Provider.Path != "" {
		return p.Provider.Path
	}
	return filepath.Join(p.DataDir, name)
}

// redisLogger installs go-redis's logger once, before the first client.
var redisLogger sync.Once

// All returns every backend of this repository, by provider type.
func All() platform.Backends {
	return platform.Backends{
		Registry: map[string]func(context.Context, *platform.StoreParams) (registry.Store, error){
			config.SQLite: func(ctx context.Context, sp *platform.StoreParams) (registry.Store, error) {
				return registrysqlite.New(ctx, registrysqlite.Config{Path: inDataDir(sp, platform.RegistryFile), Logger: sp.Logger})
			},
			config.Postgres: func(ctx context.Context, sp *platform.StoreParams) (registry.Store, error) {
				p := sp.Provider
				return registrypg.New(ctx, registrypg.Config{DSN: p.DSN, Schema: p.Schema, Logger: sp.Logger})
			},
		},
		Offline: map[string]func(context.Context, *platform.StoreParams) (offline.Store, error){
			config.DuckDB: func(ctx context.Context, sp *platform.StoreParams) (offline.Store, error) {
				limit := sp.Provider.MemoryLimit
				if limit == "" {
					limit = os.Getenv("SLIPWAY_DUCKDB_MEMORY_LIMIT")
				}
				return offlineduckdb.New(ctx, offlineduckdb.Config{Path: inDataDir(sp, platform.OfflineFile), MemoryLimit: limit, Threads: sp.Provider.Threads, Logger: sp.Logger})
			},
			config.Postgres: func(ctx context.Context, sp *platform.StoreParams) (offline.Store, error) {
				p := sp.Provider
				return offlinepg.New(ctx, offlinepg.Config{DSN: p.DSN, Schema: p.Schema, Logger: sp.Logger})
			},
		},
		Online: map[string]func(context.Context, *platform.StoreParams) (online.Store, error){
			config.Embedded: func(ctx context.Context, sp *platform.StoreParams) (online.Store, error) {
				return onlinekv.New(ctx, onlinekv.Config{Path: inDataDir(sp, platform.OnlineFile), Logger: sp.Logger})
			},
			config.Redis: func(ctx context.Context, sp *platform.StoreParams) (online.Store, error) {
				// go-redis logs dial retries on its own; they go to the debug level.
				redisLogger.Do(func() { redis.SetLogger(onlineredis.ClientLogger{Logger: sp.Logger}) })
				p := sp.Provider
				return onlineredis.New(ctx, onlineredis.Config{Addrs: p.Addrs, Cluster: p.Cluster, Username: p.Username, Password: p.Password, DB: p.DB, KeyPrefix: p.KeyPrefix, Logger: sp.Logger})
			},
		},
		DuckDBVersion: offlineduckdb.LibraryVersion,
	}
}
