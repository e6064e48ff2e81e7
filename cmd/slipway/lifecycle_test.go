package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/offlineduckdb"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/online/onlinekv"
	"github.com/slipway-ml/slipway/resource"
)

const lifecycleEvents = `user_id,ts,amount
u1,2026-01-01T10:00:00,1.5
u1,2026-01-02T10:00:00,4
u2,2026-01-02T11:00:00,2
`

const lifecycleDefs = `entities:
  - name: user
sources:
  - name: events
    file: events.csv
    timestamp_column: ts
transformations:
  - name: daily
    sql: |
      SELECT user_id, date_trunc('day', ts) AS day, count(*) AS n, sum(amount) AS total
      FROM {{ events }}
      GROUP BY ALL
features:
  - name: n_daily
    entity: user
    source: daily
    entity_column: user_id
    value_column: n
    timestamp_column: day
    type: int64
  - name: total_daily
    entity: user
    source: daily
    entity_column: user_id
    value_column: total
    timestamp_column: day
    type: float64
labels:
  - name: amount
    entity: user
    source: events
    entity_column: user_id
    value_column: amount
    timestamp_column: ts
    type: float64
training_sets:
  - name: spend
    label: amount
    features: [n_daily, total_daily]
`

// onlineFound reports, per feature, whether any of the entities has an
// online value, reading the data directory's embedded store.
func onlineFound(t *testing.T, dataDir string, features ...string) map[string]bool {
	t.Helper()
	on, err := onlinekv.New(context.Background(), onlinekv.Config{Path: filepath.Join(dataDir, "online.bolt")})
	if err != nil {
		t.Fatal(err)
	}
	defer on.Close()
	res, err := on.Read(context.Background(), &online.ReadParams{Features: features, Entities: []string{"u1", "u2"}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, row := range res.Entries {
		for j, e := range row {
			out[features[j]] = out[features[j]] || e.Found
		}
	}
	return out
}

// offlineReadable reports whether a resource's offline table or view can be read.
func offlineReadable(t *testing.T, dataDir string, id resource.ID) bool {
	t.Helper()
	off, err := offlineduckdb.New(context.Background(), offlineduckdb.Config{Path: filepath.Join(dataDir, "offline.duckdb")})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	_, err = off.Describe(context.Background(), &offline.DescribeParams{SQL: "SELECT * FROM " + offline.TableName(id)})
	return err == nil
}

// lifecycleProject applies and materializes the lifecycle definitions in
// a new directory and returns it and its data directory.
func lifecycleProject(t *testing.T) (dir, data string) {
	t.Helper()
	dir = t.TempDir()
	for name, text := range map[string]string{"defs/events.csv": lifecycleEvents, "defs/defs.yaml": lifecycleDefs} {
		must(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	mustRun(t, dir, "apply", "defs")
	mustRun(t, dir, "materialize")
	return dir, filepath.Join(dir, ".slipway")
}

func TestDeprecateAndDelete(t *testing.T) {
	dir, data := lifecycleProject(t)
	daily := resource.ID{Kind: resource.KindTransformation, Name: "daily", Variant: "default"}
	if got := onlineFound(t, data, "n_daily:default", "total_daily:default"); !got["n_daily:default"] || !got["total_daily:default"] {
		t.Fatalf("online values after materialize: %v", got)
	}
	if !offlineReadable(t, data, daily) {
		t.Fatal("the table of daily cannot be read after materialize")
	}

	// Deprecate: still usable, hidden from list, marked in show, warned at plan.
	r := mustRun(t, dir, "deprecate", "feature", "n_daily", "--by", "ana", "--reason", "use total_daily")
	if !strings.Contains(r.stdout, "feature n_daily:default is deprecated at") || !strings.Contains(r.stdout, "by ana (use total_daily)") {
		t.Errorf("deprecate output:\n%s", r.stdout)
	}
	if r := mustRun(t, dir, "list", "features"); strings.Contains(r.stdout, "n_daily") || !strings.Contains(r.stdout, "total_daily") {
		t.Errorf("list features shows the deprecated feature, or not the other one:\n%s", r.stdout)
	}
	if r := mustRun(t, dir, "list", "features", "--all"); !strings.Contains(r.stdout, "n_daily:default") || !strings.Contains(r.stdout, "ready (deprecated)") {
		t.Errorf("list --all:\n%s", r.stdout)
	}
	if r := mustRun(t, dir, "show", "feature", "n_daily"); !strings.Contains(r.stdout, "deprecated:") || !strings.Contains(r.stdout, "by ana (use total_daily)") {
		t.Errorf("show of a deprecated feature:\n%s", r.stdout)
	}
	if r := mustRun(t, dir, "plan", "defs"); !strings.Contains(r.stdout, "warning: ") || !strings.Contains(r.stdout, "training_set spend:default refers to feature n_daily:default, deprecated at") {
		t.Errorf("plan does not warn about the deprecated reference:\n%s", r.stdout)
	}
	mustRun(t, dir, "training-set", "export", "spend", "--out", filepath.Join(dir, "spend.csv"), "--format", "csv")

	// Delete: refused while something depends on it, naming the dependents.
	r = slipway(t, dir, "delete", "transformation", "daily")
	if r.code == 0 || !strings.Contains(r.stderr, "feature n_daily:default") || !strings.Contains(r.stderr, "feature total_daily:default") {
		t.Fatalf("delete of a used transformation: exit %d\n%s", r.code, r.stderr)
	}
	mustRun(t, dir, "delete", "training-set", "spend", "--by", "ana")
	r = mustRun(t, dir, "delete", "feature", "n_daily", "--by", "ana", "--reason", "unused")
	if !strings.Contains(r.stdout, "deleted feature n_daily:default at") || !strings.Contains(r.stdout, "deleted the online values of n_daily:default") {
		t.Errorf("delete output:\n%s", r.stdout)
	}
	if got := onlineFound(t, data, "n_daily:default", "total_daily:default"); got["n_daily:default"] || !got["total_daily:default"] {
		t.Fatalf("online values after deleting n_daily: %v; want only total_daily's", got)
	}
	mustRun(t, dir, "delete", "feature", "total_daily")
	r = mustRun(t, dir, "delete", "transformation", "daily")
	if !strings.Contains(r.stdout, "dropped offline table "+offline.TableName(daily)) {
		t.Errorf("delete transformation output:\n%s", r.stdout)
	}
	if offlineReadable(t, data, daily) {
		t.Fatal("the table of the deleted transformation can still be read")
	}
	if got := onlineFound(t, data, "total_daily:default"); got["total_daily:default"] {
		t.Fatal("online values of total_daily remain after its delete")
	}

	// Recorded: listed with --all, shown, never re-applied.
	if r := mustRun(t, dir, "list"); strings.Contains(r.stdout, "daily") || strings.Contains(r.stdout, "spend") {
		t.Errorf("list shows deleted resources:\n%s", r.stdout)
	}
	if r := mustRun(t, dir, "list", "--all"); !strings.Contains(r.stdout, "transformation  daily:default") || !strings.Contains(r.stdout, "deleted") {
		t.Errorf("list --all:\n%s", r.stdout)
	}
	if r := mustRun(t, dir, "show", "feature", "n_daily"); !strings.Contains(r.stdout, "deleted:") || !strings.Contains(r.stdout, "by ana (unused)") {
		t.Errorf("show of a deleted feature:\n%s", r.stdout)
	}
	r = slipway(t, dir, "apply", "defs")
	if r.code == 0 || !strings.Contains(r.stderr, "transformation daily:default was deleted at") || !strings.Contains(r.stderr, "new variant") {
		t.Errorf("re-applying deleted definitions: exit %d\n%s", r.code, r.stderr)
	}
	// Deleting again finishes (or repeats) the clean-up.
	if r := mustRun(t, dir, "delete", "transformation", "daily"); !strings.Contains(r.stdout, "already deleted") {
		t.Errorf("second delete:\n%s", r.stdout)
	}
}

// httpDo sends a request to a running serve and returns status and body.
func httpDo(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response of %s %s: %v", method, url, err)
	}
	return resp.StatusCode, string(b)
}

// TestDeleteOverHTTP deletes through a running `slipway serve` (without
// --workers, so the offline store is opened for the one deletion that
// needs it) and checks the data is gone once serve has stopped.
func TestDeleteOverHTTP(t *testing.T) {
	dir, data := lifecycleProject(t)

	server, stop := startServe(t, dir)
	base := server + "/v1/resources/"

	if status, body := httpDo(t, "POST", base+"feature/n_daily/deprecate"); status != http.StatusOK || !strings.Contains(body, `"deprecated"`) {
		t.Fatalf("deprecate over HTTP: %d %s", status, body)
	}
	if status, body := httpDo(t, "DELETE", base+"transformation/daily"); status != http.StatusConflict || !strings.Contains(body, "feature n_daily:default") {
		t.Fatalf("delete of a used transformation over HTTP: %d %s", status, body)
	}
	for _, path := range []string{"training_set/spend", "feature/n_daily?by=ana", "feature/total_daily"} {
		if status, body := httpDo(t, "DELETE", base+path); status != http.StatusOK {
			t.Fatalf("DELETE %s: %d %s", path, status, body)
		}
	}
	status, body := httpDo(t, "DELETE", base+"transformation/daily")
	if status != http.StatusOK || !strings.Contains(body, `"table":"`+offline.TableName(resource.ID{Kind: resource.KindTransformation, Name: "daily", Variant: "default"})+`"`) {
		t.Fatalf("DELETE transformation over HTTP: %d %s", status, body)
	}
	if status, body := httpDo(t, "GET", base+"features?all=true"); status != http.StatusOK || !strings.Contains(body, `"deleted":{`) {
		t.Errorf("list ?all=true over HTTP: %d %s", status, body)
	}
	stop()
	if offlineReadable(t, data, resource.ID{Kind: resource.KindTransformation, Name: "daily", Variant: "default"}) {
		t.Error("the table of the transformation deleted over HTTP can still be read")
	}
	if got := onlineFound(t, data, "n_daily:default", "total_daily:default"); got["n_daily:default"] || got["total_daily:default"] {
		t.Errorf("online values remain after deleting the features over HTTP: %v", got)
	}
}
