package server

// The serving port (slipway serve --serving-addr): a second listener that
// answers only the serving routes, on fasthttp. The common request of
// POST /v1/online-features and POST /v1/endpoints/{name}/predict is
// answered natively (no net/http, no adaptor); everything else that reaches
// the port (CORS, query strings, bodies the fast decoder declines, every
// error, /healthz and /readyz, other paths) goes through fasthttpadaptor to
// a net/http handler built by this package's own middleware over a mux of
// only those routes, so the answers are the API's own. Why a separate
// listener and not the whole API on fasthttp:
// docs/design/serving-fast-path.md, "The serving port".

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/slipway-ml/slipway/serving"
)

// The routes the serving port answers natively (the patterns the API's mux
// has, so that metrics count both ports' requests under one route).
const (
	onlineFeaturesRoute = "POST /v1/online-features"
	predictRoute        = "POST /v1/endpoints/{name}/predict"
)

// servingReadBufferSize bounds a request's headers on the serving port
// (fasthttp's buffer; net/http's bound is 1 MiB).
const servingReadBufferSize = 64 << 10

var (
	uriOnlineFeatures = []byte("/v1/online-features")
	uriEndpoints      = []byte("/v1/endpoints/")
	uriPredict        = []byte("/predict")
	hdrRequestID      = []byte(RequestIDHeader)
	hdrOrigin         = []byte("Origin")
	hdrSecFetchSite   = []byte("Sec-Fetch-Site")
	ctJSON            = []byte("application/json")
)

// nativeHook, set by tests only, is called for every request answered
// natively, with its route.
var nativeHook atomic.Pointer[func(route string)]

// servingPort is the serving port's fasthttp handler and server.
type servingPort struct {
	// h is the middleware over the serving mux: the answers of everything
	// not answered natively, and the in-flight count of both paths.
	h *handler
	// slow runs h through fasthttpadaptor.
	slow fasthttp.RequestHandler
	// ctx is every request's context: it ends only when the graceful drain
	// is over (cutOff), unlike fasthttp's RequestCtx, which is done as soon
	// as Shutdown begins.
	ctx    context.Context
	cutOff context.CancelFunc
	srv    *fasthttp.Server
	ln     *trackingListener
}

// newServingHandler is the net/http handler of the serving port: the
// API's middleware and handlers over a mux of only the serving routes and
// the probes. Other paths get the API's 404 saying where they are served.
func newServingHandler(s *server) *handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc(onlineFeaturesRoute, s.onlineFeatures)
	mux.HandleFunc(predictRoute, s.predict)
	mux.HandleFunc("/", s.unrouted(mux, func(r *http.Request) error {
		return fmt.Errorf("%w: no endpoint %s %s on the serving port, which answers only POST /v1/online-features, POST /v1/endpoints/{name}/predict, GET /healthz and GET /readyz; the rest of the API is served on the API address (slipway serve --addr)",
			errNoRoute, r.Method, r.URL.Path)
	}))
	return &handler{s: s, mux: mux}
}

// newServingPort makes the serving port of the API's server s.
func newServingPort(s *server, cfg Config, ln net.Listener) *servingPort {
	p := &servingPort{h: newServingHandler(s), ln: &trackingListener{Listener: ln, conns: map[net.Conn]struct{}{}}}
	p.ctx, p.cutOff = context.WithCancel(context.Background())
	// The adaptor's request context is fasthttp's RequestCtx: replaced by
	// p.ctx, so that Shutdown does not fail the requests it waits for.
	p.slow = fasthttpadaptor.NewFastHTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.h.ServeHTTP(w, r.WithContext(p.ctx))
	}))
	p.srv = &fasthttp.Server{
		Handler:      p.serve,
		ErrorHandler: p.fastError,
		// fasthttp reads the whole body before the handler: the routes'
		// bound, with the API's 413 (fastError).
		MaxRequestBodySize:    MaxBodyBytes,
		ReadBufferSize:        servingReadBufferSize,
		ReadTimeout:           or(cfg.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:          or(cfg.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:           or(cfg.IdleTimeout, DefaultIdleTimeout),
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		Logger:                fasthttpLogger{s.Logger},
	}
	return p
}

// fasthttpLogger sends fasthttp's own complaints to the API's log.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn("serving port: " + fmt.Sprintf(format, args...))
}

// serve answers a request natively when it is the common case, else
// through the adaptor.
func (p *servingPort) serve(ctx *fasthttp.RequestCtx) {
	if ctx.IsPost() && ctx.Request.Header.PeekBytes(hdrOrigin) == nil && ctx.Request.Header.PeekBytes(hdrSecFetchSite) == nil {
		// The raw request URI: no query string, no escapes, no segment the
		// middleware would refuse.
		uri := ctx.Request.Header.RequestURI()
		if bytes.Equal(uri, uriOnlineFeatures) {
			if p.native(ctx, func() bool { return p.onlineFeatures(ctx) }) {
				return
			}
		} else if name, ok := predictName(uri); ok {
			if p.native(ctx, func() bool { return p.predict(ctx, name) }) {
				return
			}
		}
	}
	p.slow(ctx)
}

// native runs a native answer. A panic in it (fasthttp would let it end
// the process) is logged and the request left to the adaptor, whose
// middleware answers a panic as the API does.
func (p *servingPort) native(ctx *fasthttp.RequestCtx, answer func() bool) (answered bool) {
	defer func() {
		if v := recover(); v != nil {
			p.h.s.Logger.LogAttrs(context.Background(), slog.LevelError, "serving port: panic in a native answer; serving it again through the API's handler",
				slog.String("path", string(ctx.Path())), slog.Any("panic", v))
			ctx.Response.Reset()
			answered = false
		}
	}()
	return answer()
}

// predictName is the {name} of /v1/endpoints/{name}/predict when uri is
// that route and the name needs no unescaping.
func predictName(uri []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(uri, uriEndpoints)
	if !ok {
		return "", false
	}
	name, ok := bytes.CutSuffix(rest, uriPredict)
	if !ok || len(name) == 0 || string(name) == "." || string(name) == ".." {
		return "", false
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return "", false
		}
	}
	return string(name), true
}

// begin starts a native request: its id (the client's when sane) and the
// context serving gets, which carries it.
func (p *servingPort) begin(ctx *fasthttp.RequestCtx) (*requestState, context.Context) {
	st := &requestState{id: requestID(string(ctx.Request.Header.PeekBytes(hdrRequestID)))}
	return st, context.WithValue(p.ctx, requestKey{}, st)
}

// onlineFeatures answers ctx natively, or reports false having written
// nothing: a body the fast decoder declines, and every error, are the
// adaptor's (an online features read has no side effects, so serving it
// again there answers the same).
func (p *servingPort) onlineFeatures(ctx *fasthttp.RequestCtx) bool {
	s := p.h.s
	if s.Serving == nil {
		return false
	}
	start := time.Now()
	features, entities, ok := decodeOnlineFeaturesFast(ctx.PostBody())
	if !ok {
		return false
	}
	p.h.inFlight.Add(1)
	defer p.h.inFlight.Add(-1)
	st, rctx := p.begin(ctx)
	resp, err := s.Serving.OnlineFeatures(rctx, &serving.Request{Features: features, Entities: entities})
	if err != nil {
		return false
	}
	buf := getBuf()
	*buf = appendOnlineFeatures((*buf)[:0], resp)
	resp.Release()
	n := len(*buf)
	p.answer(ctx, st, *buf)
	putBuf(buf)
	p.done(rctx, st, onlineFeaturesRoute, uriOnlineFeatures, http.StatusOK, n, start)
	return true
}

// predict answers ctx natively, or reports false having written nothing
// (see onlineFeatures; a failed prediction logs nothing). Once a
// prediction is made it is answered here, whatever the encoding says.
func (p *servingPort) predict(ctx *fasthttp.RequestCtx, name string) bool {
	s := p.h.s
	if s.Endpoints == nil {
		return false
	}
	start := time.Now()
	entities, ok := decodePredictFast(ctx.PostBody())
	if !ok {
		return false
	}
	p.h.inFlight.Add(1)
	defer p.h.inFlight.Add(-1)
	st, rctx := p.begin(ctx)
	resp, err := s.Endpoints.Predict(rctx, &serving.PredictRequest{Endpoint: name, Entities: entities})
	if err != nil {
		return false
	}
	s.answeredState(st, resp)
	buf := getBuf()
	defer putBuf(buf)
	status := http.StatusOK
	out, ok := appendPredict((*buf)[:0], resp)
	if ok {
		*buf = out
		p.answer(ctx, st, out)
	} else {
		// What the API does: writeJSON (a non-finite float is its 500).
		w := &fastWriter{ctx: ctx, header: http.Header{}}
		writeJSON(w, http.StatusOK, resp)
		w.finish(st.id)
		status, out = w.status, ctx.Response.Body()
	}
	p.done(rctx, st, predictRoute, ctx.Request.Header.RequestURI(), status, len(out), start)
	return true
}

// answer writes a 200 JSON body with the request id, as writeJSONBytes
// and the middleware do.
func (p *servingPort) answer(ctx *fasthttp.RequestCtx, st *requestState, body []byte) {
	ctx.Response.Header.SetContentTypeBytes(ctJSON)
	ctx.Response.Header.SetBytesKV(hdrRequestID, []byte(st.id))
	ctx.Response.SetBody(body) // copies
}

// done counts a native request in the metrics and logs it, as the
// middleware does (observe, logRequest), and tells the test hook.
func (p *servingPort) done(ctx context.Context, st *requestState, route string, path []byte, status, n int, start time.Time) {
	if hook := nativeHook.Load(); hook != nil {
		(*hook)(route)
	}
	s := p.h.s
	d := time.Since(start)
	if s.Metrics != nil {
		s.Metrics.ObserveRequest(route, status, d)
		if st.predicted {
			s.Metrics.ObservePredict(st.endpoint, st.version, d)
		}
	}
	level := slog.LevelDebug
	if status >= 400 {
		level = slog.LevelInfo
	}
	if !s.Logger.Enabled(ctx, level) {
		return
	}
	s.Logger.LogAttrs(ctx, level, "request",
		slog.String("method", http.MethodPost), slog.String("path", string(path)), slog.Int("status", status),
		slog.Duration("duration", d), slog.Int64("bytes", int64(n)), slog.String("request_id", st.id))
}

// fastError answers fasthttp's own errors (a body over MaxBodyBytes, a read
// timeout, headers over the buffer, malformed HTTP) with the API's error
// body; fasthttp then closes the connection.
func (p *servingPort) fastError(ctx *fasthttp.RequestCtx, err error) {
	s := p.h.s
	id := requestID(string(ctx.Request.Header.PeekBytes(hdrRequestID)))
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	var e error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		e = tooLarge()
	case errors.As(err, &ne) && ne.Timeout():
		e = fmt.Errorf("%w: reading the request timed out; send it within the server's read timeout", serving.ErrInvalid)
	case errors.As(err, &small):
		e = fmt.Errorf("%w: the request's headers are larger than %d bytes, the serving port's limit", errHeadersTooLarge, servingReadBufferSize)
	default:
		e = fmt.Errorf("%w: malformed HTTP request: %v", serving.ErrInvalid, err)
	}
	u, perr := url.ParseRequestURI(string(ctx.Request.Header.RequestURI()))
	if perr != nil {
		u = &url.URL{Path: string(ctx.Path())}
	}
	r := (&http.Request{Method: string(ctx.Method()), URL: u, Header: http.Header{}}).
		WithContext(context.WithValue(context.Background(), requestKey{}, &requestState{id: id}))
	w := &fastWriter{ctx: ctx, header: http.Header{}}
	s.fail(w, r, e)
	w.finish(id)
	s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", w.status),
		slog.Int64("bytes", int64(len(ctx.Response.Body()))), slog.String("request_id", id), slog.String("port", "serving"))
}

// errHeadersTooLarge is a request whose headers do not fit (431).
var errHeadersTooLarge = errors.New("request headers too large")

// fastWriter is an http.ResponseWriter onto a fasthttp response, for the
// few answers written natively by net/http-shaped code (writeJSON, fail).
type fastWriter struct {
	ctx    *fasthttp.RequestCtx
	header http.Header
	status int
}

func (w *fastWriter) Header() http.Header { return w.header }

func (w *fastWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *fastWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.ctx.Response.AppendBody(b)
	return len(b), nil
}

// finish copies the status and headers (and the request id) to the response.
func (w *fastWriter) finish(id string) {
	w.WriteHeader(http.StatusOK)
	w.ctx.Response.SetStatusCode(w.status)
	for k, vs := range w.header {
		if k == "Content-Length" {
			continue // fasthttp sets it from the body
		}
		for _, v := range vs {
			w.ctx.Response.Header.Add(k, v)
		}
	}
	w.ctx.Response.Header.Set(RequestIDHeader, id)
}

// trackingListener remembers its open connections, so that the ones still
// busy at the end of the shutdown timeout can be cut off.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

// open is the number of connections not closed yet.
func (l *trackingListener) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// closeAll closes every connection still open.
func (l *trackingListener) closeAll() {
	l.mu.Lock()
	conns := make([]net.Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// run serves ln until shutdown; its error is a failure of the listener.
func (p *servingPort) run() error {
	err := p.srv.Serve(p.ln)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// shutdown stops accepting connections and waits, until ctx ends, for the
// requests in flight. On a timeout it returns ctx's error; cut cuts them
// off.
func (p *servingPort) shutdown(ctx context.Context) error {
	err := p.srv.ShutdownWithContext(ctx)
	p.ln.Listener.Close() // in case Serve had not started when Shutdown ran
	return err
}

// cut ends the requests still in flight: their context, their connections.
func (p *servingPort) cut() {
	p.cutOff()
	p.ln.closeAll()
}
