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
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve online features and the registry over HTTP",
		Long: `Serve starts the HTTP API (reference: docs/openapi.yaml):

  POST /v1/online-features           features for a batch of entity keys
  GET  /v1/resources/{kind}          registered resources of a kind
  GET  /v1/resources/{kind}/{ref}    one resource with status and dependents
  GET  /healthz                      liveness

It runs in the foreground until interrupted. The embedded online store is held
by one process at a time: stop serve before running 'slipway materialize' on
the same data directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.open(cmd.Context(), need{online: true})
			if err != nil {
				return err
			}
			defer s.Close()
			logger := slog.New(slog.NewTextHandler(a.stderr, nil))
			h := server.New(server.Config{Registry: s.registry, Serving: &serving.Service{Registry: s.registry, Online: s.online}, Logger: logger})
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listening on %s: %w (use --addr to pick another address)", addr, err)
			}
			fmt.Fprintf(a.stdout, "serving on http://%s (Ctrl-C to stop)\n", ln.Addr())
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-cmd.Context().Done():
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
	return cmd
}
