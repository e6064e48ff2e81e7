package server_test

// Operations: request ids, request logs, body limit, hidden internal
// errors, readiness, and Serve's timeouts and graceful shutdown.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/server"
	"github.com/slipway-ml/slipway/serving"
)

// logBuffer collects JSON log lines; safe for the server's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the log lines decoded.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(b.buf.Bytes()), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("log line %s: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// withLog returns cfg's handler logging at debug into a buffer.
func withLog(cfg server.Config) (http.Handler, *logBuffer) {
	var b logBuffer
	cfg.Logger = slog.New(slog.NewJSONHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return server.New(cfg), &b
}

func fixtureConfig(f fixture) server.Config {
	return server.Config{Platform: f.platform, Serving: f.service}
}

func TestRequestID(t *testing.T) {
	f := newFixture(t)
	send := func(given string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/v1/jobs/99", nil)
		if given != "" {
			req.Header.Set("X-Request-Id", given)
		}
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, req)
		return rec
	}
	generated := regexp.MustCompile(`^[0-9a-f]{16}$`)
	check := func(t *testing.T, rec *httptest.ResponseRecorder, want string) {
		t.Helper()
		id := rec.Header().Get("X-Request-Id")
		if want == "" && !generated.MatchString(id) {
			t.Errorf("X-Request-Id %q, want a new 16-hex-digit id", id)
		}
		if want != "" && id != want {
			t.Errorf("X-Request-Id %q, want %q", id, want)
		}
		var e struct {
			Error struct {
				RequestID string `json:"request_id"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.RequestID != id {
			t.Errorf("error body %s: request_id is not the header's %q", rec.Body, id)
		}
	}
	for _, sane := range []string{"a", "req-1", "4bf92f3577b34da6a3ce929d0e0e4736", "host.example:8080/abc+def=", strings.Repeat("x", 128)} {
		t.Run("Kept/"+sane[:min(len(sane), 20)], func(t *testing.T) { check(t, send(sane), sane) })
	}
	for name, insane := range map[string]string{
		"Absent":   "",
		"TooLong":  strings.Repeat("x", 129),
		"Space":    "req 1",
		"Newline":  "req\n1",
		"Quote":    `req"1`,
		"NonASCII": "réq",
	} {
		t.Run("Replaced/"+name, func(t *testing.T) { check(t, send(insane), "") })
	}
	t.Run("EachRequestItsOwn", func(t *testing.T) {
		a, b := send("").Header().Get("X-Request-Id"), send("").Header().Get("X-Request-Id")
		if a == b {
			t.Errorf("two requests got the same id %q", a)
		}
	})
	t.Run("OnSuccessToo", func(t *testing.T) {
		if id := send("ok-1").Header().Get("X-Request-Id"); id != "ok-1" {
			t.Errorf("X-Request-Id %q", id)
		}
		req := httptest.NewRequest("GET", "/healthz", nil)
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !generated.MatchString(rec.Header().Get("X-Request-Id")) {
			t.Errorf("GET /healthz: %d, X-Request-Id %q", rec.Code, rec.Header().Get("X-Request-Id"))
		}
	})
}

// TestUncleanPathIsAJSON404 asks for paths with an empty, "." or ".."
// segment: a JSON 404 that names the clean path, not ServeMux's bodiless
// redirect.
func TestUncleanPathIsAJSON404(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ method, path, clean string }{
		{"POST", "/v1/resources/training_sets//deprecate", "/v1/resources/training_sets/deprecate"},
		{"GET", "/v1/jobs/./1", "/v1/jobs/1"},
		{"GET", "/v1/resources/features/../jobs", "/v1/resources/jobs"},
	} {
		status, body := do(t, f.handler, c.method, c.path, "")
		wantError(t, status, body, http.StatusNotFound, "not_found", c.path, "did you mean "+c.clean)
	}
	// A trailing slash is not unclean: it is an unknown path.
	status, body := do(t, f.handler, "GET", "/v1/jobs/", "")
	wantError(t, status, body, http.StatusNotFound, "not_found", "no endpoint GET /v1/jobs/")
}

func TestRequestLog(t *testing.T) {
	f := newFixture(t)
	h, logs := withLog(fixtureConfig(f))
	status, body := do(t, h, "POST", "/v1/online-features", `{"features":["opens_30d:v1"],"entities":["sub_1036"]}`)
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	do(t, h, "GET", "/v1/resources/feature/opens_30d:v9", "")
	do(t, h, "GET", "/healthz", "")
	do(t, h, "POST", "/v1/online-features", `{"features":["opens_30d:v9"],"entities":["sub_1036"]}`)
	lines := logs.lines(t)
	if len(lines) != 4 {
		t.Fatalf("%d log lines, want one per request:\n%s", len(lines), logs.buf.String())
	}
	for i, want := range []struct {
		level, path string
		status      float64
		bytes       int
	}{
		// Answers of the serving routes are at debug level, their errors at info.
		{"DEBUG", "/v1/online-features", 200, len(body)},
		{"INFO", "/v1/resources/feature/opens_30d:v9", 404, -1},
		{"DEBUG", "/healthz", 200, len(`{"status":"ok"}` + "\n")},
		{"INFO", "/v1/online-features", 404, -1},
	} {
		l := lines[i]
		if l["msg"] != "request" || l["level"] != want.level || l["path"] != want.path || l["status"] != want.status || l["request_id"] != testRequestID {
			t.Errorf("log line %d: %v, want msg request, level %s, path %s, status %v, request_id %s", i, l, want.level, want.path, want.status, testRequestID)
		}
		if l["method"] == nil || l["duration"] == nil {
			t.Errorf("log line %d lacks method or duration: %v", i, l)
		}
		if b, ok := l["bytes"].(float64); !ok || b <= 0 || (want.bytes >= 0 && int(b) != want.bytes) {
			t.Errorf("log line %d: bytes %v, want %d", i, l["bytes"], want.bytes)
		}
	}
}

func TestBodyTooLarge(t *testing.T) {
	f := newLifecycleFixture(t)
	over := `{"features":["` + strings.Repeat("a", server.MaxBodyBytes) + `"],"entities":["sub_1"]}`
	t.Run("ContentLength", func(t *testing.T) {
		status, body := do(t, f.handler, "POST", "/v1/online-features", over)
		wantError(t, status, body, http.StatusRequestEntityTooLarge, "too_large", "larger than 10485760 bytes (10 MiB)")
	})
	t.Run("Chunked", func(t *testing.T) {
		// No Content-Length: the limit cuts the body off while it is decoded.
		req := httptest.NewRequest("POST", "/v1/online-features", io.MultiReader(strings.NewReader(over)))
		req.ContentLength = -1
		req.Header.Set("X-Request-Id", testRequestID)
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, req)
		wantError(t, rec.Code, rec.Body.Bytes(), http.StatusRequestEntityTooLarge, "too_large", "larger than 10485760 bytes")
	})
	t.Run("Deprecate", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/v1/resources/feature/opens_30d:v1/deprecate", strings.NewReader(`{"reason":"`+strings.Repeat("a", server.MaxBodyBytes)+`"}`))
		req.ContentLength = -1
		req.Header.Set("X-Request-Id", testRequestID)
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, req)
		wantError(t, rec.Code, rec.Body.Bytes(), http.StatusRequestEntityTooLarge, "too_large", "larger than 10485760 bytes")
	})
	t.Run("LargestBatchFits", func(t *testing.T) {
		// serving.MaxBatch keys of 90 bytes: over the old 8 MiB bound, under 10 MiB.
		var b strings.Builder
		b.WriteString(`{"features":["opens_30d:v1"],"entities":[`)
		for i := range serving.MaxBatch {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"sub_%086d"`, i)
		}
		b.WriteString(`]}`)
		if b.Len() <= 8<<20 || b.Len() > server.MaxBodyBytes {
			t.Fatalf("request of %d bytes does not test the bound", b.Len())
		}
		status, body := do(t, f.handler, "POST", "/v1/online-features", b.String())
		if status != http.StatusOK {
			t.Fatalf("largest batch (%d bytes): %d %.300s", b.Len(), status, body)
		}
	})
}

// secretDir is where a platform's registry cannot be created: the error
// names it, and a 500 must not.
const secretDir = "/proc/slipway-secret-dir"

// failingPlatform is a platform whose registry cannot be opened: every
// operation fails with an internal error naming secretDir.
func failingPlatform(t *testing.T) *platform.Platform {
	cfg := config.Default()
	cfg.Registry = cfg.Registry.With("path", secretDir+"/registry.db")
	return newPlatform(t, cfg)
}

func TestInternalErrorsHidden(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name     string
		platform *platform.Platform
		method   string
		leaked   []string
		logged   string
	}{
		{"Error", failingPlatform(t), "DELETE", []string{secretDir, "mkdir"}, secretDir},
		// A handler without a platform panics on its nil pointer.
		{"Panic", nil, "POST", []string{"panic", "nil pointer", "runtime error"}, "nil pointer dereference"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fixtureConfig(f)
			cfg.Platform = tc.platform
			h, logs := withLog(cfg)
			path := "/v1/resources/feature/opens_30d:v1"
			if tc.method == "POST" {
				path += "/deprecate"
			}
			status, body := do(t, h, tc.method, path, "")
			wantError(t, status, body, http.StatusInternalServerError, "internal", "internal error", "request id "+testRequestID)
			for _, l := range tc.leaked {
				if strings.Contains(string(body), l) {
					t.Errorf("500 body leaks the internal error (%q): %s", l, body)
				}
			}
			var logged bool
			for _, l := range logs.lines(t) {
				if l["level"] == "ERROR" && l["request_id"] == testRequestID && strings.Contains(fmt.Sprint(l["err"]), tc.logged) {
					logged = true
				}
			}
			if !logged {
				t.Errorf("no ERROR log line with request_id %s and the error:\n%s", testRequestID, logs.buf.String())
			}
		})
	}
	t.Run("StoreClosed", func(t *testing.T) {
		p, reg, on := newBackends(t)
		g := newHandler(t, p, reg, on)
		if err := reg.Close(); err != nil {
			t.Fatal(err)
		}
		status, body := do(t, g.handler, "GET", "/v1/resources/features", "")
		wantError(t, status, body, http.StatusInternalServerError, "internal", "request id "+testRequestID)
		if strings.Contains(string(body), "sql") || strings.Contains(string(body), "closed") {
			t.Errorf("500 body leaks the internal error: %s", body)
		}
	})
}

type readyBody struct {
	Status    string            `json:"status"`
	Stores    map[string]string `json:"stores"`
	RequestID string            `json:"request_id"`
}

func TestReadyz(t *testing.T) {
	get := func(t *testing.T, h http.Handler) (int, readyBody) {
		t.Helper()
		status, body := do(t, h, "GET", "/readyz", "")
		var r readyBody
		decodeStrict(t, body, &r)
		return status, r
	}
	t.Run("Ready", func(t *testing.T) {
		f := newFixture(t)
		status, r := get(t, f.handler)
		if status != http.StatusOK || r.Status != "ready" || r.Stores["registry"] != "ok" || r.Stores["online"] != "ok" || r.RequestID != "" {
			t.Errorf("GET /readyz = %d %+v, want 200 ready, both stores ok", status, r)
		}
	})
	for _, broken := range []string{"registry", "online"} {
		t.Run(broken+"Down", func(t *testing.T) {
			p, reg, on := newBackends(t)
			h, logs := withLog(server.Config{Platform: p, Serving: &serving.Service{Registry: reg, Online: on}})
			var err error
			if broken == "registry" {
				err = reg.Close()
			} else {
				err = on.Close()
			}
			if err != nil {
				t.Fatal(err)
			}
			status, r := get(t, h)
			other := map[string]string{"registry": "online", "online": "registry"}[broken]
			if status != http.StatusServiceUnavailable || r.Status != "not_ready" || r.Stores[broken] != "unavailable" || r.Stores[other] != "ok" || r.RequestID != testRequestID {
				t.Errorf("GET /readyz = %d %+v, want 503 not_ready, %s unavailable, %s ok, request_id %s", status, r, broken, other, testRequestID)
			}
			var logged bool
			for _, l := range logs.lines(t) {
				logged = logged || (l["msg"] == "store not ready" && l["store"] == broken && l["request_id"] == testRequestID && l["err"] != nil)
			}
			if !logged {
				t.Errorf("the %s store's error is not logged with the request id:\n%s", broken, logs.buf.String())
			}
		})
	}
}

// TestGoldenOps pins the shapes of the operations answers and errors.
func TestGoldenOps(t *testing.T) {
	f := newFixture(t)
	cfg := fixtureConfig(f)
	cfg.Platform = failingPlatform(t)
	failing := server.New(cfg)
	for _, tc := range []struct {
		file, method, path, body string
		h                        http.Handler
	}{
		{"readyz.golden", "GET", "/readyz", "", f.handler},
		{"error_method_not_allowed.golden", "GET", "/v1/online-features", "", f.handler},
		{"error_internal.golden", "DELETE", "/v1/resources/feature/opens_30d:v1", "", failing},
	} {
		t.Run(tc.file, func(t *testing.T) {
			status, body := do(t, tc.h, tc.method, tc.path, tc.body)
			checkGolden(t, tc.file, tc.method, tc.path, tc.body, status, body)
		})
	}
}

// startServe runs server.Serve on a free port until the returned cancel;
// done yields what Serve returned.
func startServe(t *testing.T, cfg server.Config) (addr string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		errc <- server.Serve(ctx, ln, cfg)
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return 10s after it was told to stop")
		}
	})
	return ln.Addr().String(), cancel, errc
}

// partialRequest opens a connection and sends an online-features request
// with all but the last byte of its body.
func partialRequest(t *testing.T, addr string) (conn net.Conn, rest string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	body := `{"features":["opens_30d:v1"],"entities":["sub_1036"]}`
	fmt.Fprintf(conn, "POST /v1/online-features HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:len(body)-1])
	return conn, body[len(body)-1:]
}

// waitClosed reports whether the server closes conn within d.
func waitClosed(conn net.Conn, d time.Duration) bool {
	conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

func TestServeGracefulShutdown(t *testing.T) {
	f := newFixture(t)
	cfg := fixtureConfig(f)
	var logs logBuffer
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	addr, stop, done := startServe(t, cfg)
	drainsInFlight(t, addr, stop, done)
	if !strings.Contains(logs.buf.String(), `"msg":"shutting down`) || !strings.Contains(logs.buf.String(), `"in_flight":1`) {
		t.Errorf("shutdown not logged with the requests in flight:\n%s", logs.buf.String())
	}
}

// drainsInFlight checks a graceful shutdown of the listener at addr: a
// request half sent when stop is called is answered once its rest
// arrives, addr refuses new connections meanwhile, and Serve (done)
// returns nil only after that request.
func drainsInFlight(t *testing.T, addr string, stop func(), done <-chan error) {
	t.Helper()
	conn, rest := partialRequest(t, addr)
	time.Sleep(100 * time.Millisecond) // the server is reading the body
	stop()
	// New connections are refused once shutdown began...
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections 5s after the server was told to stop", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	// ...while the request in flight finishes and is answered.
	if _, err := io.WriteString(conn, rest); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request in flight was not answered: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"values":[12]`) {
		t.Errorf("request in flight: %d %s", resp.StatusCode, b)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v, want nil after a clean shutdown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the last request ended")
	}
}

func TestServeShutdownTimeout(t *testing.T) {
	f := newFixture(t)
	cfg := fixtureConfig(f)
	cfg.ShutdownTimeout = 300 * time.Millisecond
	addr, stop, done := startServe(t, cfg)
	cutsOffInFlight(t, addr, stop, done)
}

// cutsOffInFlight checks a shutdown timeout of 300ms on the listener at
// addr: a request half sent when stop is called is cut off, and Serve
// (done) returns ErrShutdownTimeout naming it, after the timeout.
func cutsOffInFlight(t *testing.T, addr string, stop func(), done <-chan error) {
	t.Helper()
	conn, _ := partialRequest(t, addr) // never finished
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	stop()
	select {
	case err := <-done:
		if !errors.Is(err, server.ErrShutdownTimeout) || !strings.Contains(err.Error(), "1 request(s) still in flight after 300ms were cut off") {
			t.Errorf("Serve: %v, want ErrShutdownTimeout naming 1 request and 300ms", err)
		}
		if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
			t.Errorf("Serve returned after %s, want the 300ms shutdown timeout", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its shutdown timeout")
	}
	if !waitClosed(conn, 2*time.Second) {
		t.Error("the request still in flight was not cut off")
	}
}

// lockRegistry holds the write lock of the fixture's SQLite registry for
// d, so that a write through the API waits for it (the registry's busy
// timeout is far longer).
func lockRegistry(t *testing.T, f fixture, d time.Duration) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(f.platform.DataDir(), platform.RegistryFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(d)
		conn.ExecContext(context.Background(), "COMMIT")
		conn.Close()
	}()
}

func TestServeTimeouts(t *testing.T) {
	f := newFixture(t)
	cfg := fixtureConfig(f)
	cfg.ReadHeaderTimeout = 200 * time.Millisecond
	cfg.ReadTimeout = 400 * time.Millisecond
	cfg.IdleTimeout = 300 * time.Millisecond
	cfg.WriteTimeout = 500 * time.Millisecond
	addr, _, _ := startServe(t, cfg)
	dial := func(t *testing.T) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	t.Run("ReadHeader", func(t *testing.T) {
		c := dial(t)
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n") // headers never end
		if !waitClosed(c, 3*time.Second) {
			t.Error("a connection whose headers never end is not closed after ReadHeaderTimeout")
		}
	})
	t.Run("Read", func(t *testing.T) {
		c, _ := partialRequest(t, addr) // body never ends
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("a request whose body never ends is not answered after ReadTimeout: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "timed out") {
			t.Errorf("body never ends: %d %s, want 400 saying the body timed out", resp.StatusCode, b)
		}
	})
	t.Run("Write", func(t *testing.T) {
		// A response not written within WriteTimeout never arrives: the
		// deprecation waits a second for the registry's write lock.
		lockRegistry(t, f, time.Second)
		req, _ := http.NewRequest("POST", "http://"+addr+"/v1/resources/feature/opens_30d:v1/deprecate", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Errorf("a response written after WriteTimeout arrived: %d %s", resp.StatusCode, b)
		}
	})
	t.Run("Idle", func(t *testing.T) {
		// net/http falls back to ReadTimeout for an unset IdleTimeout: a
		// server of its own with a long ReadTimeout tells them apart.
		cfg := fixtureConfig(f)
		cfg.ReadTimeout = time.Minute
		cfg.IdleTimeout = 300 * time.Millisecond
		addr, _, _ := startServe(t, cfg)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		if resp.Close {
			t.Fatal("the server closed a keep-alive connection at once; cannot test IdleTimeout")
		}
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := br.ReadByte(); err == nil {
			t.Error("unexpected data on an idle connection")
		} else if ne := (net.Error)(nil); errors.As(err, &ne) && ne.Timeout() {
			t.Error("an idle keep-alive connection is still open 3s after IdleTimeout")
		}
	})
}
