package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/definition"
)

// bigProject is the test project over an orders file of n rows, in a
// temporary directory: its training set exports n rows.
func bigProject(t *testing.T, n int) *definition.Files {
	t.Helper()
	dir := t.TempDir()
	df, err := definition.ReadFiles(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	events, err := os.ReadFile("testdata/project/data/email_events.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "email_events.csv"), events, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "data", "orders.csv"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "subscriber_id,amount,ordered_at")
	start := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		fmt.Fprintf(w, "sub_%d,%d.25,%s\n", i%1000, i%500, start.Add(time.Duration(i)*time.Second).Format("2006-01-02 15:04:05"))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	df.Root = filepath.Join(dir, "definitions")
	return df
}

// TestExportOutputStreamsPastTheWriteTimeout fetches an export far larger
// than the socket buffers from a server whose write timeout is shorter than
// the transfer: the deadline moves with each chunk, so a client that keeps
// reading gets the whole file, and one that stops reading is cut off.
func TestExportOutputStreamsPastTheWriteTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("exports 600000 rows")
	}
	const rows = 600_000
	f := newEmptyFixture(t)
	body, err := json.Marshal(bigProject(t, rows))
	if err != nil {
		t.Fatal(err)
	}
	if status, b := do(t, f.handler, "POST", "/v1/apply", string(body)); status != http.StatusOK {
		t.Fatalf("apply: %d %s", status, b)
	}
	export := func(t *testing.T) string {
		status, b := do(t, f.handler, "POST", "/v1/training-sets/order_value/export", `{"format":"csv"}`)
		if status != http.StatusAccepted {
			t.Fatalf("export: %d %s", status, b)
		}
		jobs := waitJobs(t, f.handler, jobsOf(t, b))
		last := jobs[len(jobs)-1]
		if last.Status != "succeeded" || last.Rows != rows {
			t.Fatalf("export job %+v", last)
		}
		return "/v1/jobs/" + strconv.FormatInt(last.ID, 10) + "/output"
	}
	cfg := fixtureConfig(f)
	cfg.WriteTimeout = 300 * time.Millisecond
	addr, _, _ := startServe(t, cfg)

	t.Run("SteadyReader", func(t *testing.T) {
		resp, err := http.Get("http://" + addr + export(t))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		size, _ := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
		if resp.StatusCode != http.StatusOK || size < 16<<20 {
			t.Fatalf("%d, Content-Length %d: want 200 and a file far larger than the socket buffers", resp.StatusCode, size)
		}
		start := time.Now()
		var n int64
		buf := make([]byte, 1<<20)
		lines := 0
		for {
			k, err := io.ReadFull(resp.Body, buf)
			n += int64(k)
			lines += strings.Count(string(buf[:k]), "\n")
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				break
			}
			if err != nil {
				t.Fatalf("after %d of %d bytes: %v", n, size, err)
			}
			time.Sleep(60 * time.Millisecond)
		}
		if n != size || lines != rows+1 {
			t.Errorf("read %d of %d bytes, %d lines; want the whole file, %d rows and a header", n, size, lines, rows)
		}
		if d := time.Since(start); d < 3*cfg.WriteTimeout {
			t.Errorf("the transfer took %s: not long enough to test the write timeout of %s", d, cfg.WriteTimeout)
		}
	})
	t.Run("StalledReader", func(t *testing.T) {
		resp, err := http.Get("http://" + addr + export(t))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		time.Sleep(2 * time.Second) // far longer than the write timeout
		n, err := io.Copy(io.Discard, resp.Body)
		if err == nil {
			t.Errorf("a client that stopped reading for 2s got the whole file (%d bytes); want it cut off", n)
		}
	})
}
