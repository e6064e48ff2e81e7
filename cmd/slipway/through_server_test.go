package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loadLoop posts online-feature requests to base until stop is called, and
// reports how many it sent and every one that failed.
func loadLoop(t *testing.T, base, body string) (stop func() (sent int64, failures []string)) {
	t.Helper()
	var sent atomic.Int64
	var mu sync.Mutex
	var failures []string
	done := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				resp, err := client.Post(base+"/v1/online-features", "application/json", strings.NewReader(body))
				sent.Add(1)
				if err == nil {
					var b bytes.Buffer
					b.ReadFrom(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s: %s", resp.Status, b.String())
					}
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
				}
			}
		})
	}
	return func() (int64, []string) {
		close(done)
		wg.Wait()
		return sent.Load(), failures
	}
}

// newFeatureVariant adds opens_30d:through_server to the quickstart's
// definitions: a registration that apply must create.
func newFeatureVariant(t *testing.T, dir string) {
	t.Helper()
	def := `features:
  - name: opens_30d
    variant: through_server
    description: The same opens, registered while the server runs.
    owner: growth-team
    entity: subscriber
    source: subscriber_engagement_30d
    entity_column: subscriber_id
    value_column: opens_30d
    timestamp_column: as_of
    type: int64
`
	must(t, os.WriteFile(filepath.Join(dir, "definitions", "through_server.yaml"), []byte(def), 0o644))
}

// TestCommandsGoThroughARunningServer runs the CLI's commands while `serve`
// holds the embedded stores: each goes through the server (its address is
// in the data directory), works, and serving keeps answering every request
// of a load loop running alongside. Once the server stops, the same
// commands open the stores themselves and print the same.
func TestCommandsGoThroughARunningServer(t *testing.T) {
	dir := quickstart(t)
	subscriber := firstSubscriber(t, dir)

	// What the commands print working on the stores directly.
	readOnly := [][]string{
		{"list"},
		{"list", "feature", "--json"},
		{"show", "feature", "opens_30d:v1"},
		{"show", "training-set", "purchase_propensity", "--json"},
		{"lineage", "source", "email_events"},
		{"plan", "definitions"},
		{"jobs", "list", "--json"},
	}
	direct := map[string]result{}
	for _, args := range readOnly {
		direct[strings.Join(args, " ")] = mustRun(t, dir, args...)
	}
	missing := slipway(t, dir, "show", "feature", "no_such_feature")

	base, stop := startServe(t, dir)
	var info struct {
		URL string `json:"url"`
		PID int    `json:"pid"`
	}
	b, err := os.ReadFile(filepath.Join(dir, ".slipway", "server.json"))
	must(t, err)
	must(t, json.Unmarshal(b, &info))
	if info.URL != base || info.PID <= 0 {
		t.Fatalf("server.json = %s, want url %s and the server's pid", b, base)
	}

	body := fmt.Sprintf(`{"features":["opens_30d:v1","clicks_30d"],"entities":[%q]}`, subscriber)
	stopLoad := loadLoop(t, base, body)

	// Read-only commands print what they printed without the server.
	for _, args := range readOnly {
		key := strings.Join(args, " ")
		got := mustRun(t, dir, args...)
		if got.stdout != direct[key].stdout {
			t.Errorf("slipway %s through the server printed\n%s\nwithout it:\n%s", key, got.stdout, direct[key].stdout)
		}
	}
	if got := slipway(t, dir, "show", "feature", "no_such_feature"); got.code != missing.code || got.stderr != missing.stderr {
		t.Errorf("show of a missing feature through the server: exit %d %q; without it: exit %d %q", got.code, got.stderr, missing.code, missing.stderr)
	}

	newFeatureVariant(t, dir)
	if r := mustRun(t, dir, "apply", "definitions"); !strings.Contains(r.stdout, "applied: 1 created") {
		t.Errorf("apply through the server:\n%s", r.stdout)
	}
	if r := mustRun(t, dir, "run", "--rebuild"); !strings.Contains(r.stdout, "succeeded") || strings.Contains(r.stdout, "failed") {
		t.Errorf("run through the server:\n%s%s", r.stdout, r.stderr)
	}
	r := mustRun(t, dir, "materialize", "opens_30d:through_server")
	if !strings.Contains(r.stdout, "materialized ") || !strings.Contains(r.stderr, "materialized opens_30d:through_server") {
		t.Errorf("materialize through the server:\n%s%s", r.stdout, r.stderr)
	}
	served := servedValues(t, base, []string{"opens_30d:v1", "opens_30d:through_server"}, []string{subscriber})
	if v := served[subscriber]; len(v) != 2 || v[1] == nil || fmt.Sprint(v[0]) != fmt.Sprint(v[1]) {
		t.Errorf("the feature materialized through the server serves %v, want the value of opens_30d:v1", v)
	}

	out := filepath.Join(t.TempDir(), "ts.csv")
	r = mustRun(t, dir, "training-set", "export", "purchase_propensity", "--out", out)
	csv, err := os.ReadFile(out)
	must(t, err)
	rows := strings.Count(string(csv), "\n") - 1
	if rows < 100 || !strings.Contains(r.stderr, fmt.Sprintf("wrote %d rows to %s", rows, out)) {
		t.Errorf("export --out through the server: %d rows in the file; stderr:\n%s", rows, r.stderr)
	}
	stdoutExport := mustRun(t, dir, "training-set", "export", "purchase_propensity", "--format", "csv")
	if stdoutExport.stdout != string(csv) {
		t.Errorf("export to stdout through the server differs from export --out (%d and %d bytes)", len(stdoutExport.stdout), len(csv))
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*partial")); len(m) > 0 {
		t.Errorf("export left temporary files: %v", m)
	}

	list := mustRun(t, dir, "jobs", "list", "--limit", "1000")
	if !strings.Contains(list.stdout, "materialize") || !strings.Contains(list.stdout, "export") {
		t.Errorf("jobs list through the server:\n%s", list.stdout)
	}
	exportJob := jobID(t, list.stdout, "purchase_propensity:default")
	mustRun(t, dir, "jobs", "show", exportJob)
	if logs := mustRun(t, dir, "jobs", "logs", exportJob); !strings.Contains(logs.stdout, "exported") {
		t.Errorf("jobs logs %s through the server:\n%s", exportJob, logs.stdout)
	}
	if r := slipway(t, dir, "jobs", "retry", exportJob); r.code != 1 || !strings.Contains(r.stderr, "succeeded") {
		t.Errorf("retrying a succeeded job through the server: exit %d\n%s", r.code, r.stderr)
	}
	if r := mustRun(t, dir, "doctor"); strings.Count(r.stdout, "  ok  ") != 3 {
		t.Errorf("doctor through the server:\n%s", r.stdout)
	}

	// A laptop elsewhere reaches the same server with --server.
	elsewhere := t.TempDir()
	if r := mustRun(t, elsewhere, "--server", base, "list", "feature"); !strings.Contains(r.stdout, "opens_30d:through_server") {
		t.Errorf("list --server from another directory:\n%s", r.stdout)
	}
	if r := slipwayWithEnv(t, elsewhere, []string{"SLIPWAY_SERVER=" + base}, "show", "feature", "opens_30d:through_server"); r.code != 0 {
		t.Errorf("show with SLIPWAY_SERVER: exit %d\n%s", r.code, r.stderr)
	}

	sent, failures := stopLoad()
	if len(failures) > 0 {
		t.Errorf("%d of %d online-feature requests failed while the commands ran; first: %s", len(failures), sent, failures[0])
	}
	if sent < 50 {
		t.Errorf("the load loop sent only %d requests", sent)
	}
	t.Logf("%d online-feature requests answered while the commands ran through the server", sent)

	stop()
	if _, err := os.Stat(filepath.Join(dir, ".slipway", "server.json")); !os.IsNotExist(err) {
		t.Errorf("server.json is still there after the server stopped: %v", err)
	}
	if r := mustRun(t, dir, "list", "feature"); !strings.Contains(r.stdout, "opens_30d:through_server") {
		t.Errorf("list after the server stopped:\n%s", r.stdout)
	}
}

// TestStaleServerFileIsIgnored: a server.json left by a server that was
// killed names a process that is gone, and commands open the stores.
func TestStaleServerFileIsIgnored(t *testing.T) {
	dir := quickstart(t)
	gone := exec.Command("true")
	must(t, gone.Run())
	stale := fmt.Sprintf(`{"url":"http://127.0.0.1:1","pid":%d}`, gone.Process.Pid)
	must(t, os.WriteFile(filepath.Join(dir, ".slipway", "server.json"), []byte(stale), 0o644))
	if r := mustRun(t, dir, "list", "feature"); !strings.Contains(r.stdout, "opens_30d:v1") {
		t.Errorf("list with a stale server.json:\n%s", r.stdout)
	}
	// A live process that is not answering is not taken for a server, nor ignored.
	live := fmt.Sprintf(`{"url":"http://127.0.0.1:1","pid":%d}`, os.Getpid())
	must(t, os.WriteFile(filepath.Join(dir, ".slipway", "server.json"), []byte(live), 0o644))
	if r := slipway(t, dir, "list"); r.code != 1 || !strings.Contains(r.stderr, "does not answer") || !strings.Contains(r.stderr, "server.json") {
		t.Errorf("list with a server.json naming a live process that does not answer: exit %d\n%s", r.code, r.stderr)
	}
	if r := slipway(t, t.TempDir(), "--server", "http://127.0.0.1:1", "list"); r.code != 1 || !strings.Contains(r.stderr, "http://127.0.0.1:1") {
		t.Errorf("--server naming nothing: exit %d\n%s", r.code, r.stderr)
	}
}
