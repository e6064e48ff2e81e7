package server

// Running the API: Serve (timeouts, graceful shutdown) and the readiness
// probe. Defaults are documented in docs/http-api.md.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/serving"
)

// Defaults of the Config fields Serve reads; docs/http-api.md explains them.
const (
	// DefaultReadHeaderTimeout bounds reading a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds reading a whole request, body included
	// (10 MiB at about 175 KB/s).
	DefaultReadTimeout = time.Minute
	// DefaultWriteTimeout bounds a request from the end of its headers to
	// the end of its response. A handler that streams for longer extends
	// its own deadline with http.ResponseController.
	DefaultWriteTimeout = 2 * time.Minute
	// DefaultIdleTimeout bounds how long a keep-alive connection waits for
	// its next request.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultShutdownTimeout bounds how long Serve waits for in-flight
	// requests once it is told to stop.
	DefaultShutdownTimeout = 30 * time.Second
)

// readyTimeout bounds the store checks of GET /readyz.
const readyTimeout = 2 * time.Second

// or returns d, or def when d is zero.
func or(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// ErrShutdownTimeout is returned by Serve when requests were still in
// flight at the end of the shutdown timeout and were cut off.
var ErrShutdownTimeout = errors.New("shutdown timed out")

// Serve answers the API (New(cfg)) on ln until ctx is done, then stops
// accepting connections, lets the requests in flight finish (up to
// cfg.ShutdownTimeout) and returns nil. Requests still running then are cut
// off and Serve returns an ErrShutdownTimeout error saying how many. A
// failure of the listener returns its error at once.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	h := newHandler(cfg)
	log := h.s.Logger
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: or(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       or(cfg.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      or(cfg.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       or(cfg.IdleTimeout, DefaultIdleTimeout),
		// net/http's own complaints (TLS handshakes, bad requests before
		// routing) go to the same log.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 2)
	go func() { errc <- fmt.Errorf("serving on %s: %w", ln.Addr(), srv.Serve(ln)) }()
	var port *servingPort
	if cfg.ServingListener != nil {
		port = newServingPort(h.s, cfg, cfg.ServingListener)
		go func() {
			err := port.run()
			if err == nil {
				err = errors.New("the listener stopped")
			}
			errc <- fmt.Errorf("serving port %s: %w", cfg.ServingListener.Addr(), err)
		}()
	}
	inFlight := func() int64 {
		n := h.inFlight.Load()
		if port != nil {
			n += port.h.inFlight.Load()
		}
		return n
	}
	select {
	case err := <-errc:
		if port != nil {
			port.ln.Listener.Close()
			port.cut()
		}
		srv.Close()
		return err
	case <-ctx.Done():
	}
	wait := or(cfg.ShutdownTimeout, DefaultShutdownTimeout)
	log.Info("shutting down: no new connections; waiting for requests in flight",
		"in_flight", inFlight(), "timeout", wait)
	sctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	// Both listeners drain at once, within the same timeout.
	portErr := make(chan error, 1)
	if port != nil {
		go func() { portErr <- port.shutdown(sctx) }()
	} else {
		portErr <- nil
	}
	err := srv.Shutdown(sctx)
	<-errc // http.ErrServerClosed, now that Shutdown has closed the listener
	if perr := <-portErr; err == nil {
		err = perr
	}
	if port != nil {
		<-errc // the serving port's Serve, now that its listener is closed
	}
	if err == nil {
		return nil
	}
	n := inFlight()
	if port != nil {
		// A connection still open on the serving port after the drain is a
		// request fasthttp is still reading or answering.
		n = max(n, h.inFlight.Load()+int64(port.ln.open()))
		port.cut()
	}
	closeErr := srv.Close()
	log.Error("shutdown timed out; cutting off requests in flight", "in_flight", n, "timeout", wait)
	return errors.Join(fmt.Errorf("%w: %d request(s) still in flight after %s were cut off", ErrShutdownTimeout, n, wait), closeErr)
}

// readyBody is the answer of GET /readyz.
type readyBody struct {
	// Status is "ready" or "not_ready".
	Status string `json:"status"`
	// Stores says "ok" or "unavailable" for each store serving needs.
	Stores map[string]string `json:"stores"`
	// Models are the endpoints' models not served at the version their
	// alias points at (serving.Endpoints.Ready), each with its error.
	Models []serving.ModelProblem `json:"models,omitempty"`
	// RequestID, when not ready, finds the stores' errors in the server log.
	RequestID string `json:"request_id,omitempty"`
}

// modelsReady says whether the endpoints' model problems leave the server
// ready. A model that keeps its previous version serving (Serving set) is
// served, so the server is ready and says which version it kept. An alias
// that points at no version yet is not this server's fault: no replica
// could serve it, and withholding traffic would only stop the rest. Not
// ready is a version this server cannot load with nothing to fall back on,
// which a replica that loaded an earlier version still serves.
func modelsReady(problems []serving.ModelProblem) bool {
	for _, p := range problems {
		if p.Serving == 0 && p.Version != 0 {
			return false
		}
	}
	return true
}

// readyz answers whether the stores serving needs answer (checkStores),
// with the endpoints' model problems (see modelsReady).
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	body := s.checkStores(r)
	if s.Endpoints != nil {
		body.Models = s.Endpoints.Ready()
		if !modelsReady(body.Models) {
			body.Status = "not_ready"
			body.RequestID = RequestID(r.Context())
		}
	}
	status := http.StatusOK
	if body.Status != "ready" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, body)
}

// checkStores checks that the stores serving needs answer: the registry and
// the online store, at once, each within readyTimeout. The errors
// (addresses, driver messages) go to the log, not to the client.
func (s *server) checkStores(r *http.Request) readyBody {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	checks := map[string]func() error{
		"registry": func() error {
			reg, err := s.Platform.Registry(ctx)
			if err == nil {
				_, err = reg.ID(ctx)
			}
			return err
		},
		"online": func() error {
			if s.Serving == nil || s.Serving.Online == nil {
				return errors.New("no online store configured")
			}
			// A read of a key nobody writes: the store answers "not found".
			_, err := s.Serving.Online.Read(ctx, &online.ReadParams{Features: []string{"slipway_readyz:probe"}, Entities: []string{"probe"}})
			return err
		},
	}
	body := readyBody{Status: "ready", Stores: map[string]string{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, check := range checks {
		wg.Go(func() {
			err := check()
			mu.Lock()
			defer mu.Unlock()
			body.Stores[name] = "ok"
			if err != nil {
				body.Stores[name] = "unavailable"
				body.Status = "not_ready"
				body.RequestID = RequestID(r.Context())
				s.Logger.LogAttrs(r.Context(), slog.LevelError, "store not ready", slog.String("store", name),
					slog.String("request_id", body.RequestID), slog.Any("err", err))
			}
		})
	}
	wg.Wait()
	return body
}
