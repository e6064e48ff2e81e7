package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/metrics"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/server"
	"github.com/slipway-ml/slipway/serving"
)

// DefaultGCPercent is serve's --gc-percent: Go's GOGC for a serving process.
const DefaultGCPercent = 400

func (a *app) serveCmd() *cobra.Command {
	var addr, servingAddr, pprofAddr string
	var workers, gcPercent int
	var cfg server.Config
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve online features and the registry over HTTP",
		Long: `Serve starts the HTTP API (reference: docs/openapi.yaml):

  POST /v1/online-features           features for a batch of entity keys
  POST /v1/endpoints/{name}/predict  an endpoint's predictions for a batch of entity keys
  POST /v1/plan, /v1/apply           plan and apply definitions
  POST /v1/run, /v1/materialize      build transformations, materialize features
  POST /v1/training-sets/{ref}/export   export a training set (then GET /v1/jobs/{id}/output)
  GET  /v1/resources/{kind}[/{ref}[/lineage]]   registered resources, one, its lineage
  POST /v1/resources/{kind}/{ref}/deprecate   deprecate (body: by, reason, undo)
  DELETE /v1/resources/{kind}/{ref}  delete it and its data (?by=&reason=)
  GET  /v1/jobs ...                  the job queue (list, show, logs, cancel, retry)
  GET  /v1/doctor                    check the providers
  GET  /healthz                      liveness
  GET  /readyz                       readiness: the registry and online store answer,
                                     and the endpoints' models it cannot serve
  GET  /metrics                      Prometheus metrics (docs/metrics.md): requests,
                                     errors and latency per route, endpoint and model
                                     version; online store latency; prediction log
                                     backlog and drops; materialization rows and lag;
                                     jobs by status

While it runs, the other slipway commands on the same data directory go
through it (it writes its address and pid to ` + ServerFile + ` there, and
removes the file when it stops): apply, run, materialize, export and the
rest work while it serves, and print what they print without it. Other
machines reach it with --server URL (env ` + ServerEnv + `). The API has no
authentication yet: --addr defaults to loopback; expose it only on a trusted
network. Definitions sent to plan and apply are read where the server runs:
a source's file must be at the same path there.

Every prediction an endpoint answers is written to the prediction log (in
the data directory's prediction-log/, or slipway.yaml's prediction_log:
dir) within 50 ms, without the answer waiting for the disk, and shipped
into the offline store every second as the endpoint's table, registered
as the source ENDPOINT_predictions (see docs/configuration.md). While the
offline store is unreachable, entries wait on disk.

Every request is logged (method, path, status, duration, bytes, request id)
on stderr as --log-format and --log-level say (the successful answers of
online features, predict and feedback at debug level); its request id (the client's
X-Request-Id, or a new one) is in the X-Request-Id response header and in
every error body. Request bodies are at most 10 MiB.

Web pages of the origins listed in slipway.yaml's cors: allowed_origins may
call the predict, online-features and feedback routes from the browser; no
other route answers a page of another origin (see docs/http-api.md).

Metrics are on unless slipway.yaml says metrics: enabled: false (then
GET /metrics answers 404 and nothing is counted).

Go's garbage collector runs when the heap has grown by --gc-percent (default
400; Go's own default is 100) since the last collection, unless the GOGC
environment variable is set and the flag is not. Serving allocates for every
request, and at 100 the collections made the slowest 1% of answers at one
client 3 to 5 times slower (docs/benchmarks.md, "Serving fast path"); the
price is a heap up to 5 times what is live instead of 2 times.

With --serving-addr HOST:PORT it also listens there, on a faster HTTP
server (fasthttp), for the serving routes only: POST /v1/online-features,
POST /v1/endpoints/{name}/predict, GET /healthz and GET /readyz. Their
answers are the same as on --addr, byte for byte (errors, CORS, request ids,
metrics and logs included); every other path answers 404 there. Point the
applications that ask for features and predictions at it when the HTTP
work matters: on a Redis online store it answered 1.2 to 1.35 times the
requests per second of --addr (docs/http-api.md, "Serving port"). Headers
there are at most 64 KiB, and --read-timeout bounds a whole request. On
SIGINT or SIGTERM it drains with the API, within --shutdown-timeout.

With --pprof ADDR it also serves Go's profiler (net/http/pprof:
/debug/pprof/profile?seconds=N and the rest) on that address, to find where
the CPU goes under load (go tool pprof URL). Keep it on loopback.

It runs in the foreground until interrupted. On SIGINT or SIGTERM it stops
accepting connections, finishes the requests in flight (cutting off those
still running after --shutdown-timeout, then exiting 1) and stops the
workers.

Work asked through the server (run, materialize, export, retry) runs in
the server process; with --workers N it also runs queued and scheduled
jobs, N at a time, like 'slipway worker'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if workers < 0 {
				return fmt.Errorf("--workers %d: give 0 (no jobs) or more", workers)
			}
			if gcPercent <= 0 {
				return fmt.Errorf("--gc-percent %d: give a percentage above zero, like 400", gcPercent)
			}
			if cmd.Flags().Changed("gc-percent") || os.Getenv("GOGC") == "" {
				debug.SetGCPercent(gcPercent)
			}
			for name, d := range map[string]time.Duration{"read-header-timeout": cfg.ReadHeaderTimeout, "read-timeout": cfg.ReadTimeout,
				"write-timeout": cfg.WriteTimeout, "idle-timeout": cfg.IdleTimeout, "shutdown-timeout": cfg.ShutdownTimeout} {
				if d <= 0 {
					return fmt.Errorf("--%s %s: give a duration above zero, like 30s", name, d)
				}
			}
			conf, err := a.config()
			if err != nil {
				return err
			}
			// Metrics (GET /metrics) unless slipway.yaml turns them off:
			// the online store is wrapped to count its reads and writes.
			var m *metrics.Metrics
			if !conf.Metrics.Disabled {
				m = metrics.New(metrics.Config{Logger: a.log})
			}
			p, err := a.openLocal(cmd.Context(), how{wrapOnline: func(s online.Store) online.Store { return m.Online(s, conf.Online.Type) }})
			if err != nil {
				return err
			}
			defer p.Close()
			reg, err := p.Registry(cmd.Context())
			if err != nil {
				return err
			}
			if err := m.Registry(reg); err != nil {
				return err
			}
			if err := m.Monitors(monitorMetrics(reg)); err != nil {
				return err
			}
			on, err := p.Online(cmd.Context())
			if err != nil {
				return err
			}
			if workers > 0 {
				if _, err := p.Offline(cmd.Context()); err != nil {
					return err
				}
			}
			cfg.Platform, cfg.Serving = p, &serving.Service{Registry: reg, Online: on}
			cfg.Logger = a.log
			cfg.CORS = p.Config().CORS
			// Every endpoint's model is loaded before the first request; a
			// version that does not load is logged (by the endpoints) and
			// reported by /readyz.
			cfg.Endpoints = &serving.Endpoints{Features: cfg.Serving, Logger: a.log}
			// Every answered prediction is logged, and shipped into the
			// offline store while the server runs (and once more as it stops).
			plog, err := p.PredictionLog(cmd.Context())
			if err != nil {
				return err
			}
			if plog != nil {
				cfg.Endpoints.Log = plog.Logger.Log
				if err := m.PredictionLog(plog); err != nil {
					return err
				}
			}
			cfg.Metrics = m
			if err := cfg.Endpoints.Warm(cmd.Context()); err != nil {
				a.log.Warn("loading the endpoints' models", "error", err)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listening on %s: %w (use --addr to pick another address)", addr, err)
			}
			removeServerFile, err := writeServerFile(a.dataDir, ln.Addr())
			if err != nil {
				ln.Close()
				return err
			}
			defer removeServerFile()
			// The profiler listens before "serving on" is printed, so that
			// whoever waits for that line can reach both.
			if pprofAddr != "" {
				stopProfiler, err := serveProfiler(pprofAddr)
				if err != nil {
					ln.Close()
					return err
				}
				defer stopProfiler()
			}
			if servingAddr != "" {
				sln, err := net.Listen("tcp", servingAddr)
				if err != nil {
					ln.Close()
					return fmt.Errorf("--serving-addr %s: %w", servingAddr, err)
				}
				cfg.ServingListener = sln
			}
			fmt.Fprintf(a.stdout, "serving on http://%s (Ctrl-C to stop)\n", ln.Addr())
			if cfg.ServingListener != nil {
				fmt.Fprintf(a.stdout, "serving port on http://%s (online features, predict, /healthz, /readyz)\n", cfg.ServingListener.Addr())
			}
			// The server and the workers stop together when the command's
			// context ends (SIGINT, SIGTERM), or when the server fails.
			ctx, stop := context.WithCancel(cmd.Context())
			defer stop()
			go followAliases(ctx, cfg.Endpoints, a.log)
			if pprofAddr != "" {
				fmt.Fprintf(a.stdout, "profiler on http://%s/debug/pprof/\n", pprofAddr)
			}
			jobsDone := make(chan error, 1)
			if workers > 0 {
				fmt.Fprintf(a.stdout, "running %d job(s) at a time\n", workers)
				go func() {
					jobsDone <- p.RunWorkers(ctx, &platform.WorkersParams{Concurrency: workers, Progress: a.stderr})
				}()
			} else {
				jobsDone <- nil
			}
			err = server.Serve(ctx, ln, cfg)
			stop()
			if err = errors.Join(err, <-jobsDone); err != nil {
				if errors.Is(err, server.ErrShutdownTimeout) {
					return fmt.Errorf("%w (--shutdown-timeout %s)", err, cfg.ShutdownTimeout)
				}
				return err
			}
			fmt.Fprintln(a.stdout, "stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&servingAddr, "serving-addr", "", "also answer the serving routes (online features, predict, /healthz, /readyz) on this address, like 127.0.0.1:8081, on a faster HTTP server; empty: off")
	cmd.Flags().StringVar(&pprofAddr, "pprof", "", "also serve Go's profiler (/debug/pprof/) on this address, like 127.0.0.1:6060")
	cmd.Flags().IntVar(&workers, "workers", 0, "also run queued and scheduled jobs, this many at a time")
	cmd.Flags().IntVar(&gcPercent, "gc-percent", DefaultGCPercent, "heap growth (%) between garbage collections; GOGC, when set, wins over the default")
	cmd.Flags().DurationVar(&cfg.ReadHeaderTimeout, "read-header-timeout", server.DefaultReadHeaderTimeout, "longest time to read a request's headers")
	cmd.Flags().DurationVar(&cfg.ReadTimeout, "read-timeout", server.DefaultReadTimeout, "longest time to read a whole request, body included")
	cmd.Flags().DurationVar(&cfg.WriteTimeout, "write-timeout", server.DefaultWriteTimeout, "longest time from the end of a request's headers to the end of its response")
	cmd.Flags().DurationVar(&cfg.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "longest time a keep-alive connection waits for its next request")
	cmd.Flags().DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", server.DefaultShutdownTimeout, "on SIGINT or SIGTERM, longest wait for the requests in flight before cutting them off")
	return cmd
}

// serveProfiler serves net/http/pprof's handlers on addr until the
// returned function is called.
func serveProfiler(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}

// followAliases loads the endpoints' models again every refresh until ctx
// ends, so the server follows alias moves (and /readyz reports a version it
// cannot load) even while no prediction is asked for.
func followAliases(ctx context.Context, e *serving.Endpoints, log *slog.Logger) {
	t := time.NewTicker(serving.DefaultRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := e.Warm(ctx); err != nil && ctx.Err() == nil {
				log.Debug("loading the endpoints' models", "error", err)
			}
		}
	}
}
