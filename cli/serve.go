package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/server"
	"github.com/slipway-ml/slipway/serving"
)

func (a *app) serveCmd() *cobra.Command {
	var addr string
	var workers int
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve online features and the registry over HTTP",
		Long: `Serve starts the HTTP API (reference: docs/openapi.yaml):

  POST /v1/online-features           features for a batch of entity keys
  GET  /v1/resources/{kind}          registered resources of a kind
  GET  /v1/resources/{kind}/{ref}    one resource with status and dependents
  POST /v1/resources/{kind}/{ref}/deprecate   deprecate (body: by, reason, undo)
  DELETE /v1/resources/{kind}/{ref}  delete it and its data (?by=&reason=)
  GET  /healthz                      liveness

With --workers N it also runs queued and scheduled jobs, N at a time, like
'slipway worker' (and then opens the offline store too).

It runs in the foreground until interrupted. The embedded stores are held by
one process at a time: stop serve before running 'slipway materialize' on
the same data directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if workers < 0 {
				return fmt.Errorf("--workers %d: give 0 (no jobs) or more", workers)
			}
			s, err := a.open(cmd.Context(), need{online: true, offline: workers > 0})
			if err != nil {
				return err
			}
			defer s.Close()
			logger := slog.New(slog.NewTextHandler(a.stderr, nil))
			h := server.New(server.Config{Registry: s.registry, Serving: &serving.Service{Registry: s.registry, Online: s.online}, Logger: logger,
				Lifecycle: serveLifecycle{a: a, s: s}})
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listening on %s: %w (use --addr to pick another address)", addr, err)
			}
			fmt.Fprintf(a.stdout, "serving on http://%s (Ctrl-C to stop)\n", ln.Addr())
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			jobsCtx, stopJobs := context.WithCancel(cmd.Context())
			defer stopJobs()
			jobsDone := make(chan error, 1)
			if workers > 0 {
				fmt.Fprintf(a.stdout, "running %d job(s) at a time\n", workers)
				go func() { jobsDone <- a.runWorkers(jobsCtx, s, workers, 0) }()
			} else {
				jobsDone <- nil
			}
			select {
			case err := <-errc:
				stopJobs()
				return errors.Join(err, <-jobsDone)
			case <-cmd.Context().Done():
			}
			if err := <-jobsDone; err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			fmt.Fprintln(a.stdout, "stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().IntVar(&workers, "workers", 0, "also run queued and scheduled jobs, this many at a time")
	return cmd
}
