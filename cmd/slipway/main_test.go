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
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The end-to-end tests drive the built binary the way a user does.

var binary string

// raceBuild builds binary with -race (set in race_test.go under -race).
var raceBuild bool

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "slipway-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "slipway")
	args := []string{"build", "-o", binary}
	if raceBuild {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building slipway: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// slipway runs the binary in dir with the data directory its default.
func slipway(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return execSlipway(t, dir, []string{"SLIPWAY_DATA_DIR="}, args...)
}

// execSlipway runs the binary in dir with env added to the environment and
// returns its output and exit code; a binary that could not be run at all
// fails the test (it is never taken for an exit code).
func execSlipway(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running slipway %v: %v", args, err)
	}
	if strings.Contains(r.stderr, "WARNING: DATA RACE") {
		t.Errorf("slipway %s: the race detector found a race:\n%s", strings.Join(args, " "), r.stderr)
	}
	return r
}

// must fails the test at once on a setup step's error, which would
// otherwise leave the test checking something other than what it names.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustRun(t *testing.T, dir string, args ...string) result {
	t.Helper()
	r := slipway(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("slipway %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// quickstart runs the quickstart once per test binary into a shared directory.
func quickstart(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	r := mustRun(t, dir, "quickstart", "--scale", "0.2", "--seed", "7")
	for _, want := range []string{"[7/7]", "done in", "export purchase_propensity:default: exported"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("quickstart output lacks %q:\n%s", want, r.stdout)
		}
	}
	return dir
}

func TestQuickstartThenEverything(t *testing.T) {
	dir := quickstart(t)
	for _, f := range []string{"data/email_events.csv", "definitions", "training_set.parquet", ".slipway/registry.db", ".slipway/offline.duckdb", ".slipway/online.bolt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("quickstart did not create %s: %v", f, err)
		}
	}

	t.Run("QuickstartAgainChangesNothing", func(t *testing.T) {
		r := mustRun(t, dir, "quickstart", "--scale", "0.2", "--seed", "7")
		if !strings.Contains(r.stdout, "applied: 0 created") {
			t.Errorf("second quickstart registered something:\n%s", r.stdout)
		}
	})

	t.Run("PlanIsUnchanged", func(t *testing.T) {
		r := mustRun(t, dir, "plan", "definitions")
		if strings.Contains(r.stdout, "create") || !strings.Contains(r.stdout, "unchanged") {
			t.Errorf("plan after apply:\n%s", r.stdout)
		}
	})

	t.Run("ListAndShow", func(t *testing.T) {
		r := mustRun(t, dir, "list", "features")
		if !strings.Contains(r.stdout, "opens_30d:v1") || !strings.Contains(r.stdout, "ready") {
			t.Errorf("list features:\n%s", r.stdout)
		}
		r = mustRun(t, dir, "show", "transformation", "subscriber_daily_engagement")
		for _, want := range []string{"status:", "ready", "schema:", "depends on:", "source email_events:default", "used by:"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("show lacks %q:\n%s", want, r.stdout)
			}
		}
		r = mustRun(t, dir, "show", "source", "email_events", "--json")
		var v map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v["status"] != "ready" {
			t.Errorf("show --json: %v\n%s", err, r.stdout)
		}
		r = slipway(t, dir, "show", "feature", "nope")
		if r.code == 0 || !strings.Contains(r.stderr, "not found") {
			t.Errorf("show of an unknown feature: exit %d, stderr %s", r.code, r.stderr)
		}
	})

	t.Run("ExportFormats", func(t *testing.T) {
		r := mustRun(t, dir, "training-set", "export", "purchase_propensity", "--format", "csv")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) < 100 || !strings.HasPrefix(lines[0], "subscriber,timestamp,") || !strings.HasSuffix(lines[0], ",purchased_7d") {
			t.Fatalf("csv export: %d lines, header %q", len(lines), lines[0])
		}
		rj := mustRun(t, dir, "training-set", "export", "purchase_propensity", "--format", "jsonl")
		jl := strings.Split(strings.TrimSpace(rj.stdout), "\n")
		if len(jl) != len(lines)-1 {
			t.Errorf("jsonl has %d rows, csv %d", len(jl), len(lines)-1)
		}
		var row map[string]any
		if err := json.Unmarshal([]byte(jl[0]), &row); err != nil {
			t.Fatalf("jsonl row: %v", err)
		}
		if _, ok := row["purchased_7d"].(bool); !ok {
			t.Errorf("jsonl label is not a bool: %v", row)
		}
		out := filepath.Join(t.TempDir(), "ts.parquet")
		mustRun(t, dir, "training-set", "export", "purchase_propensity", "--out", out)
		b, err := os.ReadFile(out)
		if err != nil || !bytes.HasPrefix(b, []byte("PAR1")) {
			t.Errorf("parquet export: %v, %d bytes", err, len(b))
		}
		inferred := filepath.Join(t.TempDir(), "ts.csv")
		mustRun(t, dir, "training-set", "export", "purchase_propensity", "-o", inferred)
		if b, _ := os.ReadFile(inferred); !bytes.HasPrefix(b, []byte("subscriber,timestamp,")) {
			t.Errorf("-o ts.csv without --format did not write CSV: %.40q", b)
		}
		r = slipway(t, dir, "training-set", "export", "purchase_propensity", "--format", "csv", "-o", filepath.Join(t.TempDir(), "x.parquet"))
		if r.code == 0 || !strings.Contains(r.stderr, "does not match") {
			t.Errorf("--format csv -o x.parquet: exit %d %s", r.code, r.stderr)
		}
		r = slipway(t, dir, "training-set", "export", "purchase_propensity", "-o", t.TempDir())
		if r.code == 0 || !strings.Contains(r.stderr, "is a directory") {
			t.Errorf("-o DIR: exit %d %s", r.code, r.stderr)
		}
		r = slipway(t, dir, "training-set", "export", "purchase_propensity", "--format", "xlsx")
		if r.code == 0 || !strings.Contains(r.stderr, "unknown --format") {
			t.Errorf("bad format: exit %d %s", r.code, r.stderr)
		}
	})

	t.Run("ConflictIsRefused", func(t *testing.T) {
		defs := filepath.Join(dir, "definitions")
		var file string
		var orig []byte
		filepath.WalkDir(defs, func(p string, d os.DirEntry, err error) error {
			b, _ := os.ReadFile(p)
			if file == "" && bytes.Contains(b, []byte("max_age: 30d")) {
				file, orig = p, b
			}
			return nil
		})
		if file == "" {
			t.Fatal("no definition with max_age: 30d in the demo project")
		}
		defer os.WriteFile(file, orig, 0o644)
		must(t, os.WriteFile(file, bytes.Replace(orig, []byte("max_age: 30d"), []byte("max_age: 14d"), 1), 0o644))
		before := mustRun(t, dir, "list", "--json").stdout
		r := slipway(t, dir, "plan", "definitions")
		if r.code != 1 || !strings.Contains(r.stdout, "conflict") || !strings.Contains(r.stdout, "max_age: 30d → 14d") {
			t.Errorf("plan with a changed variant: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		r = slipway(t, dir, "apply", "definitions")
		if r.code != 1 || !strings.Contains(r.stderr, "new variant") {
			t.Errorf("apply with a changed variant: exit %d\n%s", r.code, r.stderr)
		}
		if after := mustRun(t, dir, "list", "--json").stdout; after != before {
			t.Error("refused apply changed the registry")
		}
	})

	t.Run("BadDefinitionsNameFileAndLine", func(t *testing.T) {
		bad := t.TempDir()
		must(t, os.WriteFile(filepath.Join(bad, "x.yaml"), []byte("features:\n  - name: f\n    entity: subscriber\n    source: nowhere\n    entity_column: a\n    value_column: b\n    type: int64\n"), 0o644))
		r := slipway(t, dir, "apply", bad)
		if r.code != 1 || !strings.Contains(r.stderr, "x.yaml:4: source: unknown source or transformation nowhere:default") {
			t.Errorf("apply of bad definitions: exit %d\n%s", r.code, r.stderr)
		}
	})

	t.Run("ServeOnlineFeatures", func(t *testing.T) {
		mustRun(t, dir, "materialize")
		base, _ := startServe(t, dir)
		entity := firstSubscriber(t, dir)

		code, body := post(t, base+"/v1/online-features", fmt.Sprintf(`{"features":["opens_30d:v1","avg_order_value","subscriber_region"],"entities":[%q,"no_such_subscriber"]}`, entity))
		if code != 200 {
			t.Fatalf("online-features: %d %s", code, body)
		}
		var resp struct {
			Entity   string   `json:"entity"`
			Features []string `json:"features"`
			Results  []struct {
				Entity   string   `json:"entity"`
				Values   []any    `json:"values"`
				Statuses []string `json:"statuses"`
			} `json:"results"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Entity != "subscriber" || len(resp.Results) != 2 || resp.Features[1] != "avg_order_value:default" {
			t.Fatalf("response: %s", body)
		}
		if got := resp.Results[0].Statuses[2]; got != "found" || resp.Results[0].Values[2] == nil {
			t.Errorf("static region of %s: status %s value %v", entity, got, resp.Results[0].Values[2])
		}
		for j, st := range resp.Results[1].Statuses {
			if st != "not_found" || resp.Results[1].Values[j] != nil {
				t.Errorf("unknown subscriber feature %d: %s %v", j, st, resp.Results[1].Values[j])
			}
		}

		// serve holds the embedded stores: materialize goes through it.
		r := slipway(t, dir, "materialize")
		if r.code != 0 || !strings.Contains(r.stdout, "materialized ") {
			t.Errorf("materialize while serve holds the online store: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}

		code, body = post(t, base+"/v1/online-features", `{"features":["nope"],"entities":["x"]}`)
		if code != 404 || !strings.Contains(string(body), `"unknown_feature"`) {
			t.Errorf("unknown feature: %d %s", code, body)
		}
		code, body = post(t, base+"/v1/online-features", `{"features":["opens_30d:v1"],"entities":`)
		if code != 400 || !strings.Contains(string(body), "malformed JSON") {
			t.Errorf("malformed body: %d %s", code, body)
		}
	})
}

// TestOfflineStoreBelongsToOneRegistry points a second registry at the first
// one's offline store: sharing it would let their same-named tables overwrite
// each other, so every command that opens it is refused.
func TestOfflineStoreBelongsToOneRegistry(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "quickstart", "--dir", "a", "--scale", "0.1")
	must(t, os.WriteFile(filepath.Join(dir, "shared.yaml"), []byte("offline:\n  type: duckdb\n  path: "+filepath.Join(dir, "a", ".slipway", "offline.duckdb")+"\n"), 0o644))
	r := slipway(t, dir, "--config", "shared.yaml", "--data-dir", "b", "apply", "a/definitions")
	if r.code != 1 || !strings.Contains(r.stderr, "offline store belongs to another registry") {
		t.Errorf("second registry on the first one's offline store: exit %d\n%s", r.code, r.stderr)
	}
	r = mustRun(t, dir, "--config", "shared.yaml", "--data-dir", "a/.slipway", "run")
	if !strings.Contains(r.stdout, "is ready") {
		t.Errorf("the owning registry can still use its store: %s", r.stdout)
	}
}

func TestMistypedDataDirIsNotCreated(t *testing.T) {
	dir := t.TempDir()
	r := slipway(t, dir, "--data-dir", "nothere", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "no data directory at nothere") {
		t.Errorf("list on a missing data directory: exit %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "nothere")); err == nil {
		t.Error("list created the data directory")
	}
}

func TestDoctorAndConfig(t *testing.T) {
	dir := t.TempDir()
	r := mustRun(t, dir, "doctor")
	for _, want := range []string{"ok    registry type=sqlite", "SQLite", "ok    offline  type=duckdb", "DuckDB v", "ok    online   type=embedded"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, r.stdout)
		}
	}
	must(t, os.WriteFile(filepath.Join(dir, "slipway.yaml"), []byte("registry:\n  type: postgres\n  dsn: postgres://u:${SLIPWAY_TEST_UNSET_SECRET}@h/db\n"), 0o644))
	r = slipway(t, dir, "doctor")
	if r.code != 1 || !strings.Contains(r.stderr, "slipway.yaml:2: registry: environment variable SLIPWAY_TEST_UNSET_SECRET is not set") {
		t.Errorf("doctor with an unset secret: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	must(t, os.WriteFile(filepath.Join(dir, "other.yaml"), []byte("online:\n  type: embedded\n  path: "+filepath.Join(dir, "x.bolt")+"\n"), 0o644))
	r = mustRun(t, dir, "--config", "other.yaml", "doctor")
	if !strings.Contains(r.stdout, "configuration: other.yaml") || !strings.Contains(r.stdout, "x.bolt") {
		t.Errorf("doctor --config:\n%s", r.stdout)
	}
}

func firstSubscriber(t *testing.T, dir string) string {
	t.Helper()
	r := mustRun(t, dir, "training-set", "export", "purchase_propensity", "--format", "jsonl")
	var row map[string]any
	json.Unmarshal([]byte(strings.SplitN(r.stdout, "\n", 2)[0]), &row)
	s, _ := row["subscriber"].(string)
	if s == "" {
		t.Fatalf("no subscriber in the first exported row: %v", row)
	}
	return s
}

func post(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	var resp *http.Response
	var err error
	for i := 0; i < 50; i++ {
		resp, err = http.Post(url, "application/json", strings.NewReader(body))
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response of POST %s: %v", url, err)
	}
	return resp.StatusCode, b
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `slipway serve` in dir (with args added) and returns its
// base URL and a function that stops it (interrupt, as a person would),
// which runs when the test ends if the test has not called it.
func startServe(t *testing.T, dir string, args ...string) (base string, stop func()) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary, append([]string{"serve", "--addr", addr}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SLIPWAY_DATA_DIR=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Signal(os.Interrupt)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve did not stop cleanly on interrupt: %v", err)
				}
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Error("serve did not stop on interrupt")
			}
		})
	}
	t.Cleanup(stop)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if !strings.Contains(line, "serving on http://"+addr) {
		t.Fatalf("serve printed %q (%v)", line, err)
	}
	go io.Copy(io.Discard, stdout)
	return "http://" + addr, stop
}
