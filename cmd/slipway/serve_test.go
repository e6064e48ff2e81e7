package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// slowRequest opens a connection to addr and sends an online-features
// request with all but the last byte of its body: a request in flight
// until finish sends that byte and reads the answer.
func slowRequest(t *testing.T, addr string) (finish func() (*http.Response, []byte, error)) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	body := `{"features":["subscriber_region"],"entities":["no_such_subscriber"]}`
	_, err = fmt.Fprintf(conn, "POST /v1/online-features HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-Request-Id: slow-1\r\nContent-Length: %d\r\n\r\n%s",
		addr, len(body), body[:len(body)-1])
	if err != nil {
		t.Fatal(err)
	}
	return func() (*http.Response, []byte, error) {
		if _, err := io.WriteString(conn, body[len(body)-1:]); err != nil {
			return nil, nil, err
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return nil, nil, err
		}
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
}

// waitRefused waits until addr refuses connections: the server has begun
// shutting down.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("serve still accepts connections 10s after it was told to stop")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer written by a child process's output copier.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestServeOperations(t *testing.T) {
	dir := quickstart(t)

	t.Run("TimeoutFlagsAboveZero", func(t *testing.T) {
		r := slipway(t, dir, "serve", "--addr", freeAddr(t), "--read-timeout", "0s")
		if r.code != 1 || !strings.Contains(r.stderr, "--read-timeout 0s: give a duration above zero") {
			t.Errorf("serve --read-timeout 0s: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("GCPercent", func(t *testing.T) {
		r := slipway(t, dir, "serve", "--addr", freeAddr(t), "--gc-percent", "0")
		if r.code != 1 || !strings.Contains(r.stderr, "--gc-percent 0: give a percentage above zero") {
			t.Errorf("serve --gc-percent 0: exit %d, stderr %q", r.code, r.stderr)
		}
		// The Go collector's gauge shows what the runtime uses.
		gogc := func(base string) string {
			t.Helper()
			resp, err := http.Get(base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			for line := range strings.Lines(string(b)) {
				if v, ok := strings.CutPrefix(line, "go_gc_gogc_percent "); ok {
					return strings.TrimSpace(v)
				}
			}
			t.Fatalf("/metrics has no go_gc_gogc_percent")
			return ""
		}
		for _, c := range []struct {
			args []string
			want string
		}{{nil, "400"}, {[]string{"--gc-percent", "150"}, "150"}} {
			base, stop := startServe(t, dir, c.args...)
			if got := gogc(base); got != c.want {
				t.Errorf("serve %v: GOGC %s, want %s", c.args, got, c.want)
			}
			stop()
		}
	})

	t.Run("ProfilerOnlyWhenAsked", func(t *testing.T) {
		get := func(url string) (int, string) {
			t.Helper()
			resp, err := http.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		profiler := freeAddr(t)
		base, stop := startServe(t, dir, "--pprof", profiler)
		if code, body := get("http://" + profiler + "/debug/pprof/cmdline"); code != http.StatusOK || !strings.Contains(body, "serve") {
			t.Errorf("GET /debug/pprof/cmdline on --pprof's address: %d %q", code, body)
		}
		if code, _ := get(base + "/debug/pprof/cmdline"); code != http.StatusNotFound {
			t.Errorf("GET /debug/pprof/cmdline on the API's address: %d, want 404", code)
		}
		stop()
		waitRefused(t, profiler)
	})

	t.Run("InterruptFinishesRequestInFlight", func(t *testing.T) {
		base, stop := startServe(t, dir)
		addr := strings.TrimPrefix(base, "http://")
		finish := slowRequest(t, addr)
		time.Sleep(200 * time.Millisecond) // the server is reading the body
		stopped := make(chan struct{})
		go func() {
			stop() // SIGINT, then waits for serve to exit cleanly
			close(stopped)
		}()
		waitRefused(t, addr)
		time.Sleep(500 * time.Millisecond)
		select {
		case <-stopped:
			t.Fatal("serve exited with a request in flight")
		default:
		}
		resp, body, err := finish()
		if err != nil {
			t.Fatalf("the request in flight at SIGINT was not answered: %v", err)
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"statuses":["not_found"]`) || resp.Header.Get("X-Request-Id") != "slow-1" {
			t.Errorf("request in flight: %d (X-Request-Id %q) %s", resp.StatusCode, resp.Header.Get("X-Request-Id"), body)
		}
		select {
		case <-stopped:
		case <-time.After(25 * time.Second):
			t.Fatal("serve did not exit after its last request")
		}
	})

	t.Run("ServingPort", func(t *testing.T) {
		taken := freeAddr(t)
		ln, err := net.Listen("tcp", taken)
		if err != nil {
			t.Fatal(err)
		}
		r := slipway(t, dir, "serve", "--addr", freeAddr(t), "--serving-addr", taken)
		ln.Close()
		if r.code != 1 || !strings.Contains(r.stderr, "--serving-addr "+taken) {
			t.Errorf("serve --serving-addr on a taken address: exit %d, stderr %q", r.code, r.stderr)
		}

		port := freeAddr(t)
		base, stop := startServe(t, dir, "--serving-addr", port)
		post := func(url string) (int, string) {
			t.Helper()
			req, _ := http.NewRequest("POST", url, strings.NewReader(`{"features":["subscriber_region"],"entities":["sub_1","nobody"]}`))
			req.Header.Set("X-Request-Id", "same-1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		apiCode, apiBody := post(base + "/v1/online-features")
		code, body := post("http://" + port + "/v1/online-features")
		if code != http.StatusOK || code != apiCode || body != apiBody {
			t.Errorf("online features: serving port %d %s, API %d %s; want the same 200", code, body, apiCode, apiBody)
		}
		resp, err := http.Get("http://" + port + "/v1/resources")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "served on the API address") {
			t.Errorf("GET /v1/resources on the serving port: %d %s", resp.StatusCode, b)
		}
		// SIGINT drains the serving port too.
		finish := slowRequest(t, port)
		time.Sleep(200 * time.Millisecond)
		stopped := make(chan struct{})
		go func() {
			stop()
			close(stopped)
		}()
		waitRefused(t, port)
		resp, body2, err := finish()
		if err != nil {
			t.Fatalf("the request in flight on the serving port at SIGINT was not answered: %v", err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Request-Id") != "slow-1" {
			t.Errorf("request in flight on the serving port: %d (X-Request-Id %q) %s", resp.StatusCode, resp.Header.Get("X-Request-Id"), body2)
		}
		select {
		case <-stopped:
		case <-time.After(25 * time.Second):
			t.Fatal("serve did not exit after its last request")
		}
	})

	t.Run("ShutdownTimeoutLogsAndReadiness", func(t *testing.T) {
		addr := freeAddr(t)
		cmd := exec.Command(binary, "serve", "--addr", addr, "--shutdown-timeout", "1s", "--log-format", "json", "--log-level", "debug")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "SLIPWAY_DATA_DIR=")
		var stdout, stderr syncBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var waitErr error
		exited := make(chan struct{})
		go func() {
			waitErr = cmd.Wait()
			close(exited)
		}()
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
		})
		for !strings.Contains(stdout.String(), "serving on") {
			select {
			case <-exited:
				t.Fatalf("serve exited: %v\n%s", waitErr, stderr.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
		base := "http://" + addr

		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != `{"status":"ready","stores":{"online":"ok","registry":"ok"}}` {
			t.Errorf("GET /readyz: %d %s", resp.StatusCode, b)
		}

		req, _ := http.NewRequest("PUT", base+"/v1/jobs", nil)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("X-Request-Id")
		var e struct {
			Error struct {
				Code      string `json:"code"`
				RequestID string `json:"request_id"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" || e.Error.Code != "method_not_allowed" || id == "" || e.Error.RequestID != id {
			t.Errorf("PUT /v1/jobs: %d, Allow %q, X-Request-Id %q: %s", resp.StatusCode, resp.Header.Get("Allow"), id, b)
		}
		// Each request has one log line on stderr, as --log-format and
		// --log-level say (probes at debug), carrying its id.
		logged := func(level, method, path string, status float64, id string) bool {
			for _, l := range strings.Split(stderr.String(), "\n") {
				var m map[string]any
				if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["level"] == level && m["method"] == method &&
					m["path"] == path && m["status"] == status && m["duration"] != nil && m["bytes"] != nil && (id == "" || m["request_id"] == id) {
					return true
				}
			}
			return false
		}
		for deadline := time.Now().Add(5 * time.Second); !logged("INFO", "PUT", "/v1/jobs", 405, id) || !logged("DEBUG", "GET", "/readyz", 200, ""); {
			if time.Now().After(deadline) {
				t.Fatalf("no JSON request log lines for PUT /v1/jobs (request_id %s) and GET /readyz (debug) on stderr:\n%s", id, stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}

		slowRequest(t, addr) // never finished
		time.Sleep(200 * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		select {
		case <-exited:
			if ee, ok := waitErr.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Errorf("serve cut off by --shutdown-timeout: %v, want exit code 1", waitErr)
			}
			if d := time.Since(start); d < time.Second || d > 10*time.Second {
				t.Errorf("serve exited %s after SIGTERM, want about the 1s --shutdown-timeout", d)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not exit 20s after SIGTERM with --shutdown-timeout 1s")
		}
		want := "error: shutdown timed out: 1 request(s) still in flight after 1s were cut off (--shutdown-timeout 1s)"
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	})
}
