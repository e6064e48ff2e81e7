package server

// What every request goes through before its route: a request id, a bound
// on the body, a recovered panic, and one log line when it ends.

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway/metrics"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/serving"
)

// MaxBodyBytes bounds request bodies (10 MiB): a larger body is refused
// with 413. It holds the largest online-features request (serving.MaxBatch
// values: 100,000 entity keys of up to about 100 bytes each).
const MaxBodyBytes = 10 << 20

// RequestIDHeader carries a request's id in both directions.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an id a client sends.
const maxRequestIDLen = 128

type requestKey struct{}

// requestState is what the middleware keeps about a request in its
// context: its id, and what a predict route answered, for the metrics.
type requestState struct {
	id string
	// predicted is set by a predict route that answered: the endpoint
	// (name:variant) and the version (0 for several arms) that did.
	predicted bool
	endpoint  string
	version   int
}

// RequestID returns the id of the request ctx belongs to ("" outside one).
func RequestID(ctx context.Context) string {
	if st, _ := ctx.Value(requestKey{}).(*requestState); st != nil {
		return st.id
	}
	return ""
}

// answered notes, for the metrics, that a predict route answered resp, and
// counts its predictions by version.
func (s *server) answered(r *http.Request, resp *serving.PredictResponse) {
	st, _ := r.Context().Value(requestKey{}).(*requestState)
	s.answeredState(st, resp)
}

// answeredState is answered with the request's state (nil: none).
func (s *server) answeredState(st *requestState, resp *serving.PredictResponse) {
	if s.Metrics == nil {
		return
	}
	if st != nil {
		st.predicted, st.endpoint, st.version = true, resp.Endpoint, resp.Version
	}
	if resp.Version != 0 {
		s.Metrics.AddPredictions(resp.Endpoint, resp.Version, len(resp.Predictions))
		return
	}
	// Experiment arms of several versions answered: count each's.
	counts := map[int]int{}
	for _, p := range resp.Predictions {
		counts[p.Version]++
	}
	for v, n := range counts {
		s.Metrics.AddPredictions(resp.Endpoint, v, n)
	}
}

// requestID keeps a client's id when it is sane (1 to 128 letters, digits
// and -_.:+=/), so that a proxy's id follows the request into our logs,
// and makes one otherwise: such an id cannot forge log lines or headers.
func requestID(given string) string {
	if len(given) > 0 && len(given) <= maxRequestIDLen {
		ok := true
		for i := 0; i < len(given) && ok; i++ {
			c := given[i]
			ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
				c == '-' || c == '_' || c == '.' || c == ':' || c == '+' || c == '=' || c == '/'
		}
		if ok {
			return given
		}
	}
	// 64 random bits (math/rand/v2 is randomly seeded and needs no syscall)
	// tell apart the requests of any log a person reads.
	b := make([]byte, 0, 16)
	u := rand.Uint64()
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, "0123456789abcdef"[u>>uint(shift)&0xf])
	}
	return string(b)
}

// recorder notes what a handler answered, for the request log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (Flush, deadlines).
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// handler is the API's http.Handler: the middleware around the routes.
type handler struct {
	s   *server
	mux *http.ServeMux
	// inFlight counts requests being handled, for Serve's shutdown report.
	inFlight atomic.Int64
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	start := time.Now()
	id := requestID(r.Header.Get(RequestIDHeader))
	w.Header().Set(RequestIDHeader, id)
	st := &requestState{id: id}
	r = r.WithContext(context.WithValue(r.Context(), requestKey{}, st))
	rec := &recorder{ResponseWriter: w}
	_, route := h.mux.Handler(r)
	defer h.logRequest(rec, r, route, start)
	if h.s.Metrics != nil {
		// Deferred before the recovery below, so it sees the 500 of a panic.
		defer h.observe(rec, st, route, start)
	}
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		err := fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		if rec.status != 0 {
			// Too late for an error body; the log has it.
			h.s.Logger.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("method", r.Method),
				slog.String("path", r.URL.Path), slog.String("request_id", id), slog.Any("err", err))
			return
		}
		h.s.fail(rec, r, err)
	}()
	// Pages of other origins: preflights, refusals, CORS headers (cors.go).
	if h.crossOrigin(rec, r) {
		return
	}
	// A declared length over the bound is refused before reading; a chunked
	// body is cut off by MaxBytesReader as the handler reads it. Model
	// uploads have a bound of their own.
	limit := int64(MaxBodyBytes)
	if route == registerModelRoute {
		limit = MaxModelUploadBytes
	}
	if r.ContentLength > limit {
		if limit == MaxModelUploadBytes {
			h.s.fail(rec, r, fmt.Errorf("%w: the body is larger than %d bytes (288 MiB): a model file is at most %d bytes (256 MiB), the registry's limit",
				errTooLarge, MaxModelUploadBytes, registry.MaxArtifactBytes))
		} else {
			h.s.fail(rec, r, tooLarge())
		}
		return
	}
	// ServeMux would answer a path with an empty, "." or ".." segment with
	// a redirect without a JSON body; no endpoint has such a path.
	if clean := path.Clean(r.URL.Path); clean != r.URL.Path && clean+"/" != r.URL.Path {
		h.s.fail(rec, r, fmt.Errorf("%w: %s has an empty, \".\" or \"..\" segment; did you mean %s?", errNoRoute, r.URL.Path, clean))
		return
	}
	r.Body = http.MaxBytesReader(rec, r.Body, limit)
	h.mux.ServeHTTP(rec, r)
}

// observe counts the request in the metrics under the route pattern that
// matched it (the catch-all "/" is metrics.Unmatched), and a predict
// route's answer under its endpoint and version.
func (h *handler) observe(rec *recorder, st *requestState, route string, start time.Time) {
	d := time.Since(start)
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	if route == "/" {
		route = metrics.Unmatched
	}
	h.s.Metrics.ObserveRequest(route, status, d)
	if st.predicted {
		h.s.Metrics.ObservePredict(st.endpoint, st.version, d)
	}
}

// logRequest writes the request's one log line. Probes (/healthz, /readyz
// and the /v2/health ones) and scrapes (/metrics) log at debug, so that a
// load balancer or Prometheus polling them does not fill the log.
func (h *handler) logRequest(rec *recorder, r *http.Request, route string, start time.Time) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelInfo
	switch {
	case r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" || strings.HasPrefix(r.URL.Path, "/v2/health/"):
		level = slog.LevelDebug
	case servingRoutes[route] && status < 400:
		// A line per answer costs the serving routes 5% of their CPU at
		// saturation; the metrics count them, and their errors are logged.
		level = slog.LevelDebug
	}
	ctx := r.Context()
	if !h.s.Logger.Enabled(ctx, level) {
		return
	}
	h.s.Logger.LogAttrs(ctx, level, "request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status),
		slog.Duration("duration", time.Since(start)), slog.Int64("bytes", rec.bytes), slog.String("request_id", RequestID(ctx)))
}

// servingRoutes are the routes applications call for every answer they
// need: their successful requests are logged at debug level.
var servingRoutes = map[string]bool{
	"POST /v1/online-features":                        true,
	"POST /v1/endpoints/{name}/predict":               true,
	"POST /v2/models/{name}/infer":                    true,
	"POST /v2/models/{name}/versions/{version}/infer": true,
	"POST /v1/feedback":                               true,
}

// allowed lists the methods that path takes, asking the routes themselves,
// so that a wrong method gets 405 with an Allow header that cannot drift
// from them. Empty when no route has the path.
func allowed(mux *http.ServeMux, r *http.Request) []string {
	var methods []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			methods = append(methods, m)
		}
	}
	return methods
}

// bodyLimit names MaxBodyBytes in messages.
var bodyLimit = strconv.Itoa(MaxBodyBytes) + " bytes (10 MiB)"
