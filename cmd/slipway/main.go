// Command slipway is the Slipway CLI and server. It only wires the command
// tree to the backends; swapping a backend means changing an import here.
package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/slipway-ml/slipway/cli"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/offlineduckdb"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/online/onlinekv"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/registry/registrysqlite"
)

// embedded are the zero-infrastructure defaults: everything in one data directory.
var embedded = cli.Backends{
	Registry: func(ctx context.Context, dir string) (registry.Store, error) {
		return registrysqlite.New(ctx, registrysqlite.Config{Path: filepath.Join(dir, "registry.db")})
	},
	Offline: func(ctx context.Context, dir string) (offline.Store, error) {
		// Until providers are configured in slipway.yaml, DuckDB's memory
		// limit (e.g. "1GB") can be set from the environment.
		return offlineduckdb.New(ctx, offlineduckdb.Config{Path: filepath.Join(dir, "offline.duckdb"), MemoryLimit: os.Getenv("SLIPWAY_DUCKDB_MEMORY_LIMIT")})
	},
	Online: func(ctx context.Context, dir string) (online.Store, error) {
		return onlinekv.New(ctx, onlinekv.Config{Path: filepath.Join(dir, "online.bolt")})
	},
}

func main() {
	os.Exit(cli.Main(embedded, os.Args[1:], os.Stdout, os.Stderr))
}
