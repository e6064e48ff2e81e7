// Package cli is the slipway command tree. It opens the stores of a data
// directory through the Backends that cmd/slipway wires in, and turns
// user-facing errors into messages and exit codes.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/platform"
)

// DataDirEnv names the environment variable that sets the data directory.
const DataDirEnv = "SLIPWAY_DATA_DIR"

// ConfigEnv names the environment variable that sets the configuration file.
const ConfigEnv = "SLIPWAY_CONFIG"

// ServerEnv names the environment variable that sets --server.
const ServerEnv = "SLIPWAY_SERVER"

// LogFormatEnv and LogLevelEnv name the environment variables that set
// --log-format and --log-level.
const (
	LogFormatEnv = "SLIPWAY_LOG_FORMAT"
	LogLevelEnv  = "SLIPWAY_LOG_LEVEL"
)

// Main runs the command line and returns the process exit code.
func Main(b platform.Backends, args []string, stdout, stderr io.Writer) int {
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
	backends platform.Backends
	// server is the URL of the slipway server to go through (--server);
	// empty: the data directory's own server if one runs (see connect).
	server     string
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

func newRoot(b platform.Backends, stdout, stderr io.Writer) *cobra.Command {
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
  SLIPWAY_SERVER               URL of a slipway server to work through (same as --server)
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
	root.PersistentFlags().StringVar(&a.server, "server", os.Getenv(ServerEnv), "URL of a running 'slipway serve' to work through, such as http://slipway.internal:8080 (env "+ServerEnv+"; default: the server holding --data-dir, if one runs)")
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
		a.freshnessCmd(),
		a.trainCmd(),
		a.skewCmd(),
		a.modelsCmd(),
		a.scoreCmd(),
		a.predictCmd(),
		a.feedbackCmd(),
		a.experimentsCmd(),
		a.monitorCmd(),
		a.loopCmd(),
		a.jobsCmd(),
		a.lineageCmd(),
		a.workerCmd(),
		a.serveCmd(),
		a.doctorCmd(),
	)
	return root
}

func (a *app) config() (*config.Config, error) {
	if a.cfg == nil {
		cfg, err := config.Load(a.configFile, a.backends.Sections)
		if err != nil {
			return nil, err
		}
		a.cfg = cfg
	}
	return a.cfg, nil
}
