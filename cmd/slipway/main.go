// Command slipway is the Slipway CLI and server. It only wires the command
// tree to the backends: each provider type is a constructor here, so a build
// can leave one out by deleting its line and import.
package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/redis/go-redis/v9"

	"github.com/slipway-ml/slipway/cli"
	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/offlineduckdb"
	"github.com/slipway-ml/slipway/offline/offlinepg"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/online/onlinekv"
	"github.com/slipway-ml/slipway/online/onlineredis"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/registry/registrypg"
	"github.com/slipway-ml/slipway/registry/registrysqlite"
)

// inDataDir returns the provider's path, or name inside the data directory.
func inDataDir(dir string, p config.Provider, name string) string {
	if p.Path != "" {
		return p.Path
	}
	return filepath.Join(dir, name)
}

var backends = cli.Backends{
	Registry: map[string]func(context.Context, string, config.Provider) (registry.Store, error){
		config.SQLite: func(ctx context.Context, dir string, p config.Provider) (registry.Store, error) {
			return registrysqlite.New(ctx, registrysqlite.Config{Path: inDataDir(dir, p, cli.RegistryFile)})
		},
		config.Postgres: func(ctx context.Context, dir string, p config.Provider) (registry.Store, error) {
			return registrypg.New(ctx, registrypg.Config{DSN: p.DSN, Schema: p.Schema})
		},
	},
	Offline: map[string]func(context.Context, string, config.Provider) (offline.Store, error){
		config.DuckDB: func(ctx context.Context, dir string, p config.Provider) (offline.Store, error) {
			limit := p.MemoryLimit
			if limit == "" {
				limit = os.Getenv("SLIPWAY_DUCKDB_MEMORY_LIMIT")
			}
			return offlineduckdb.New(ctx, offlineduckdb.Config{Path: inDataDir(dir, p, cli.OfflineFile), MemoryLimit: limit, Threads: p.Threads})
		},
		config.Postgres: func(ctx context.Context, dir string, p config.Provider) (offline.Store, error) {
			return offlinepg.New(ctx, offlinepg.Config{DSN: p.DSN, Schema: p.Schema})
		},
	},
	Online: map[string]func(context.Context, string, config.Provider) (online.Store, error){
		config.Embedded: func(ctx context.Context, dir string, p config.Provider) (online.Store, error) {
			return onlinekv.New(ctx, onlinekv.Config{Path: inDataDir(dir, p, cli.OnlineFile)})
		},
		config.Redis: func(ctx context.Context, dir string, p config.Provider) (online.Store, error) {
			return onlineredis.New(ctx, onlineredis.Config{Addrs: p.Addrs, Cluster: p.Cluster, Username: p.Username, Password: p.Password, DB: p.DB, KeyPrefix: p.KeyPrefix})
		},
	},
}

func main() {
	// go-redis logs dial retries on its own; keep them out of the user's terminal.
	redis.SetLogger(onlineredis.ClientLogger{Logger: slog.Default()})
	os.Exit(cli.Main(backends, os.Args[1:], os.Stdout, os.Stderr))
}
