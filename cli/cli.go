// Package cli is the slipway command tree. It opens the stores of a data
// directory through the Backends that cmd/slipway wires in, and turns
// user-facing errors into messages and exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/registry"
)

// Backends open the stores of a data directory. cmd/slipway wires the
// embedded defaults; a build can swap or leave out any of them.
type Backends struct {
	Registry func(ctx context.Context, dataDir string) (registry.Store, error)
	Offline  func(ctx context.Context, dataDir string) (offline.Store, error)
	Online   func(ctx context.Context, dataDir string) (online.Store, error)
}

// DataDirEnv names the environment variable that sets the data directory.
const DataDirEnv = "SLIPWAY_DATA_DIR"

// Main runs the command line and returns the process exit code.
func Main(b Backends, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(b, stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

type app struct {
	backends Backends
	dataDir  string
	stdout   io.Writer
	stderr   io.Writer
}

func newRoot(b Backends, stdout, stderr io.Writer) *cobra.Command {
	a := &app{backends: b, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "slipway",
		Short: "Slipway: a virtual feature store — write features once, serve them twice",
		Long: `Slipway turns SQL and small YAML definitions into point-in-time correct
training sets and live online features.

With no configuration everything lives in a local data directory (.slipway/):
SQLite for metadata, DuckDB for offline data and compute, an embedded
key-value store for online serving.

Environment:
  SLIPWAY_DATA_DIR             data directory (same as --data-dir)
  SLIPWAY_DUCKDB_MEMORY_LIMIT  DuckDB memory limit such as 1GB (default: 80% of RAM)

Start with:  slipway quickstart --dir demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	def := os.Getenv(DataDirEnv)
	if def == "" {
		def = ".slipway"
	}
	root.PersistentFlags().StringVar(&a.dataDir, "data-dir", def, "data directory holding the registry, offline and online stores (env "+DataDirEnv+")")
	root.AddCommand(
		a.quickstartCmd(),
		a.planCmd(),
		a.applyCmd(),
		a.listCmd(),
		a.showCmd(),
		a.runCmd(),
		a.trainingSetCmd(),
		a.materializeCmd(),
		a.serveCmd(),
	)
	return root
}

// stores is what one command has open.
type stores struct {
	registry registry.Store
	offline  offline.Store
	online   online.Store
}

func (s *stores) Close() error {
	var errs []error
	if s.online != nil {
		errs = append(errs, s.online.Close())
	}
	if s.offline != nil {
		errs = append(errs, s.offline.Close())
	}
	if s.registry != nil {
		errs = append(errs, s.registry.Close())
	}
	return errors.Join(errs...)
}

// need says which stores a command opens.
type need struct{ offline, online bool }

func (a *app) open(ctx context.Context, n need) (*stores, error) {
	s := &stores{}
	var err error
	if s.registry, err = a.backends.Registry(ctx, a.dataDir); err != nil {
		return nil, fmt.Errorf("opening the registry in %s: %w", a.dataDir, err)
	}
	if n.offline {
		if s.offline, err = a.backends.Offline(ctx, a.dataDir); err != nil {
			s.Close()
			return nil, fmt.Errorf("opening the offline store in %s: %w (is another slipway process using this data directory?)", a.dataDir, err)
		}
	}
	if n.online {
		if s.online, err = a.backends.Online(ctx, a.dataDir); err != nil {
			s.Close()
			return nil, fmt.Errorf("opening the online store in %s: %w (is `slipway serve` running on this data directory? stop it first)", a.dataDir, err)
		}
	}
	return s, nil
}

func (a *app) coordinator(s *stores, progress io.Writer) *coordinator.Coordinator {
	return &coordinator.Coordinator{Registry: s.registry, Offline: s.offline, Online: s.online, Progress: progress, Logger: slog.New(slog.NewTextHandler(a.stderr, nil))}
}
