// Package cli is the slipway command tree. It opens the stores of a data
// directory through the Backends that cmd/slipway wires in, and turns
// user-facing errors into messages and exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/registry"
)

// Backends construct the stores, by provider type (config.SQLite,
// config.Postgres, …). cmd/slipway wires the ones a build includes; a type
// configured in slipway.yaml but not wired is reported as such.
type Backends struct {
	Registry map[string]func(ctx context.Context, p *StoreParams) (registry.Store, error)
	Offline  map[string]func(ctx context.Context, p *StoreParams) (offline.Store, error)
	Online   map[string]func(ctx context.Context, p *StoreParams) (online.Store, error)
	// DuckDBVersion returns the version of the DuckDB library linked in,
	// for 'slipway version'; nil when the build leaves DuckDB out.
	DuckDBVersion func() string
}

// StoreParams are what a backend constructor is given.
type StoreParams struct {
	// DataDir is the data directory: an embedded store with no path: in
	// Provider keeps its file there.
	DataDir  string
	Provider config.Provider
	// Logger is the process's logger (--log-format, --log-level).
	Logger *slog.Logger
}

// DataDirEnv names the environment variable that sets the data directory.
const DataDirEnv = "SLIPWAY_DATA_DIR"

// ConfigEnv names the environment variable that sets the configuration file.
const ConfigEnv = "SLIPWAY_CONFIG"

// LogFormatEnv and LogLevelEnv name the environment variables that set
// --log-format and --log-level.
const (
	LogFormatEnv = "SLIPWAY_LOG_FORMAT"
	LogLevelEnv  = "SLIPWAY_LOG_LEVEL"
)

// The embedded stores' files in the data directory, for a provider that
// slipway.yaml gives no path: cmd/slipway opens them, plan checks they exist.
const (
	RegistryFile = "registry.db"
	OfflineFile  = "offline.duckdb"
	OnlineFile   = "online.bolt"
)

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
	backends   Backends
	dataDir    string
	configFile string
	cfg        *config.Config
	stdout     io.Writer
	stderr     io.Writer
	logFormat  string
	logLevel   string
	// log is the process's one logger, on stderr, as --log-format and
	// --log-level say; set before any command runs. Everything that takes a
	// *slog.Logger (stores, coordinator, server) is given this one.
	log *slog.Logger
}

func newRoot(b Backends, stdout, stderr io.Writer) *cobra.Command {
	a := &app{backends: b, stdout: stdout, stderr: stderr, log: slog.New(slog.NewTextHandler(stderr, nil))}
	var showVersion bool
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
  SLIPWAY_CONFIG               provider configuration file (same as --config)
  SLIPWAY_LOG_FORMAT           log format: text or json (same as --log-format)
  SLIPWAY_LOG_LEVEL            log level: debug, info, warn or error (same as --log-level)
  SLIPWAY_DUCKDB_MEMORY_LIMIT  DuckDB memory limit such as 1GB (default: 80% of RAM)

Start with:  slipway quickstart --dir demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return a.setLogger()
		},
		// Without a subcommand: --version, or the help.
		RunE: func(cmd *cobra.Command, args []string) error {
			if showVersion {
				return a.printVersion(false)
			}
			return cmd.Help()
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	def := os.Getenv(DataDirEnv)
	if def == "" {
		def = ".slipway"
	}
	root.PersistentFlags().StringVar(&a.dataDir, "data-dir", def, "data directory holding the embedded stores (env "+DataDirEnv+")")
	root.PersistentFlags().StringVar(&a.configFile, "config", os.Getenv(ConfigEnv), "provider configuration file (env "+ConfigEnv+"; default ./"+config.FileName+" if present, else the embedded stores)")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", envOr(LogFormatEnv, "text"), "log lines on stderr as "+strings.Join(logFormats, " or ")+" (env "+LogFormatEnv+")")
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", envOr(LogLevelEnv, "info"), "least severe log lines shown: "+strings.Join(logLevelNames, ", ")+" (env "+LogLevelEnv+")")
	root.Flags().BoolVar(&showVersion, "version", false, "print the version (same as 'slipway version')")
	root.AddCommand(
		a.versionCmd(),
		a.quickstartCmd(),
		a.planCmd(),
		a.applyCmd(),
		a.listCmd(),
		a.showCmd(),
		a.deprecateCmd(),
		a.deleteCmd(),
		a.runCmd(),
		a.trainingSetCmd(),
		a.materializeCmd(),
		a.jobsCmd(),
		a.workerCmd(),
		a.serveCmd(),
		a.doctorCmd(),
	)
	return root
}

// stores is what one command has open.
type stores struct {
	registry registry.Store
	offline  offline.Store
	online   online.Store
	// tmpDir, when set, holds empty embedded stores opened by
	// openReadOnly; Close removes it.
	tmpDir string
	// emptyOffline says openReadOnly opened an empty offline store in
	// tmpDir: it holds none of the registry's views and tables.
	emptyOffline bool
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
	if s.tmpDir != "" {
		errs = append(errs, os.RemoveAll(s.tmpDir))
	}
	return errors.Join(errs...)
}

// need says which stores a command opens, and whether it may start a new
// data directory (apply and quickstart may; list, show, run… on a missing
// directory are more likely a mistyped --data-dir). readOnly opens the
// registry and the offline store for a command that writes nothing (plan):
// see openReadOnly.
type need struct{ offline, online, create, readOnly bool }

func (a *app) config() (*config.Config, error) {
	if a.cfg == nil {
		cfg, err := config.Load(a.configFile)
		if err != nil {
			return nil, err
		}
		a.cfg = cfg
	}
	return a.cfg, nil
}

// constructor picks the constructor of a provider type.
func constructor[T any](role string, byType map[string]func(context.Context, *StoreParams) (T, error), p config.Provider) (func(context.Context, *StoreParams) (T, error), error) {
	f, ok := byType[p.Type]
	if !ok {
		return nil, fmt.Errorf("%s provider type %q is not part of this build", role, p.Type)
	}
	return f, nil
}

func (a *app) open(ctx context.Context, n need) (*stores, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	if n.readOnly {
		return a.openReadOnly(ctx, cfg)
	}
	if !n.create && cfg.Registry.Type == config.SQLite && cfg.Registry.Path == "" {
		if _, err := os.Stat(a.dataDir); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no data directory at %s: run `slipway apply DIR` or `slipway quickstart` first, or point --data-dir (env %s) at an existing one", a.dataDir, DataDirEnv)
		}
	}
	s := &stores{}
	newRegistry, err := constructor("registry", a.backends.Registry, cfg.Registry)
	if err != nil {
		return nil, err
	}
	// Each store goes into a local first: a constructor's nil *Store in an
	// interface field would not be nil, and Close would call through it.
	reg, err := newRegistry(ctx, a.storeParams(cfg.Registry))
	if err != nil {
		return nil, fmt.Errorf("opening the registry (%s): %w", cfg.Registry.Redacted(), err)
	}
	s.registry = reg
	a.recoverJobs(ctx, reg)
	if n.offline {
		newOffline, err := constructor("offline", a.backends.Offline, cfg.Offline)
		if err == nil {
			var st offline.Store
			if st, err = newOffline(ctx, a.storeParams(cfg.Offline)); err == nil {
				s.offline = st
			}
		}
		if err != nil {
			s.Close()
			hint := ""
			if cfg.Offline.Type == config.DuckDB {
				hint = " (is another slipway process using this data directory?)"
			}
			return nil, fmt.Errorf("opening the offline store (%s): %w%s", cfg.Offline.Redacted(), err, hint)
		}
		if err := claim(ctx, s.registry, s.offline); err != nil {
			s.Close()
			return nil, fmt.Errorf("%w; give this registry its own offline store (for PostgreSQL, its own schema:) or use the registry that owns it", err)
		}
	}
	if n.online {
		newOnline, err := constructor("online", a.backends.Online, cfg.Online)
		if err == nil {
			var st online.Store
			if st, err = newOnline(ctx, a.storeParams(cfg.Online)); err == nil {
				s.online = st
			}
		}
		if err != nil {
			s.Close()
			hint := ""
			if cfg.Online.Type == config.Embedded {
				hint = " (is `slipway serve` running on this data directory? stop it first)"
			}
			return nil, fmt.Errorf("opening the online store (%s): %w%s", cfg.Online.Redacted(), err, hint)
		}
	}
	return s, nil
}

// openReadOnly opens the registry and the offline store for plan, which
// writes nothing: it skips what open does that writes (recovering jobs,
// claiming the offline store), and it creates no embedded store. It decides
// per store: an embedded store whose file (its path:, or its default file in
// the data directory) does not exist is opened empty in a temporary directory
// removed by Close, whatever else the data directory holds. When the offline
// store is such an empty one, the registry's views and tables are not there
// to read, so the plan is told (stores.emptyOffline) to describe registered
// inputs from their definitions.
func (a *app) openReadOnly(ctx context.Context, cfg *config.Config) (*stores, error) {
	s := &stores{}
	regCfg, offCfg := cfg.Registry, cfg.Offline
	for _, c := range []struct {
		p    *config.Provider
		file string
	}{{&regCfg, RegistryFile}, {&offCfg, OfflineFile}} {
		if c.p.Type != config.SQLite && c.p.Type != config.DuckDB {
			continue
		}
		path := c.p.Path
		if path == "" {
			path = filepath.Join(a.dataDir, c.file)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if s.tmpDir == "" {
			d, err := os.MkdirTemp("", "slipway-plan-")
			if err != nil {
				return nil, fmt.Errorf("opening empty stores to plan against: %w", err)
			}
			s.tmpDir = d
		}
		c.p.Path = filepath.Join(s.tmpDir, filepath.Base(path))
		s.emptyOffline = s.emptyOffline || c.p == &offCfg
	}
	newRegistry, err := constructor("registry", a.backends.Registry, regCfg)
	if err != nil {
		s.Close()
		return nil, err
	}
	reg, err := newRegistry(ctx, a.storeParams(regCfg))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("opening the registry (%s): %w", regCfg.Redacted(), err)
	}
	s.registry = reg
	newOffline, err := constructor("offline", a.backends.Offline, offCfg)
	if err == nil {
		var st offline.Store
		if st, err = newOffline(ctx, a.storeParams(offCfg)); err == nil {
			s.offline = st
		}
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("opening the offline store (%s): %w", offCfg.Redacted(), err)
	}
	return s, nil
}

// claim binds the offline store to the registry, so two registries never
// share (and overwrite) one offline store's tables.
func claim(ctx context.Context, reg registry.Store, off offline.Store) error {
	id, err := reg.ID(ctx)
	if err != nil {
		return err
	}
	return off.Claim(ctx, &offline.ClaimParams{RegistryID: id})
}

func (a *app) coordinator(s *stores, progress io.Writer) *coordinator.Coordinator {
	c := &coordinator.Coordinator{Registry: s.registry, Offline: s.offline, Online: s.online, Progress: progress, Logger: a.log}
	if a.cfg != nil {
		c.MaxAttempts = a.cfg.Jobs.MaxAttempts
	}
	return c
}

// worker returns a worker for c, tuned by slipway.yaml's jobs: section.
func (a *app) worker(c *coordinator.Coordinator) *coordinator.Worker {
	w := &coordinator.Worker{Coordinator: c}
	if a.cfg != nil {
		w.Concurrency, w.Lease = a.cfg.Jobs.Concurrency, a.cfg.Jobs.Lease
	}
	return w
}

// storeParams are the constructor parameters of provider p.
func (a *app) storeParams(p config.Provider) *StoreParams {
	return &StoreParams{DataDir: a.dataDir, Provider: p, Logger: a.log}
}
