package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

const planEvents = "user_id,ts,kind,amount\nu1,2026-01-01T10:00:00,open,1.5\nu2,2026-01-02T11:00:00,click,2\nu1,2026-01-03T10:00:00,click,3\n"

const planDefs = `entities:
  - name: user
sources:
  - name: events
    file: events.csv
    timestamp_column: ts
transformations:
  - name: daily
    sql: |
      SELECT user_id,
        date_trunc('day', ts) AS day,
        count(*) AS n,
        sum(amount) AS amount
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
  - name: amount_daily
    entity: user
    source: daily
    entity_column: user_id
    value_column: amount
    timestamp_column: day
    type: float64
labels:
  - name: kind_label
    entity: user
    source: events
    entity_column: user_id
    value_column: kind
    timestamp_column: ts
    type: string
  - name: amount_label
    entity: user
    source: events
    entity_column: user_id
    value_column: amount
    timestamp_column: ts
    type: float64
training_sets:
  - name: ts1
    label: kind_label
    features: [n_daily]
`

// writePlanProject writes the project above (with replacements) into dir/proj.
func writePlanProject(t *testing.T, dir string, replace ...string) {
	t.Helper()
	defs := strings.NewReplacer(replace...).Replace(planDefs)
	if err := os.MkdirAll(filepath.Join(dir, "proj"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"events.csv": planEvents, "defs.yaml": defs} {
		if err := os.WriteFile(filepath.Join(dir, "proj", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkGolden compares got with testdata/file, or rewrites the file under -update.
func checkGolden(t *testing.T, file, got string) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// A conflict shows changed SQL as a unified diff and a changed training set
// as the features added and removed and the label changed.
func TestGoldenPlanConflicts(t *testing.T) {
	dir := t.TempDir()
	writePlanProject(t, dir)
	mustRun(t, dir, "apply", "proj")
	writePlanProject(t, dir,
		"        count(*) AS n,\n", "        count(*) AS n,\n        count(DISTINCT kind) AS kinds,\n",
		"    label: kind_label\n    features: [n_daily]", "    label: amount_label\n    features: [amount_daily, n_daily]",
	)
	r := slipway(t, dir, "plan", "proj")
	if r.code != 1 {
		t.Errorf("plan with conflicts: exit %d, want 1", r.code)
	}
	checkGolden(t, "plan_conflicts.golden", r.stdout+"--- stderr\n"+r.stderr)
}

// A value column Slipway cannot serve (an INTERVAL, a list) is an error at
// plan that names the file, the column and its type, not an int64 feature
// that fails later.
func TestPlanRejectsNonScalarValueColumns(t *testing.T) {
	dir := t.TempDir()
	writePlanProject(t, dir,
		"        sum(amount) AS amount\n", "        sum(amount) AS amount,\n        max(ts) - min(ts) AS active_for,\n        [count(*), 1] AS counts\n",
		"    value_column: n\n", "    value_column: active_for\n",
		"    value_column: amount\n    timestamp_column: day\n    type: float64", "    value_column: counts\n    timestamp_column: day\n    type: int64",
	)
	r := slipway(t, dir, "plan", "proj")
	if r.code != 1 {
		t.Fatalf("plan with an INTERVAL and a list value column: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`proj/defs.yaml:23: value_column: column "active_for" of daily:default has type INTERVAL (unsupported), which does not fit int64`,
		`proj/defs.yaml:30: value_column: column "counts" of daily:default has type BIGINT[] (unsupported), which does not fit int64`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("plan error lacks %q:\n%s", want, r.stderr)
		}
	}
}

// snapshot records every file under dir: size, modification time and content hash.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		files[path] = info.ModTime().String() + " " + hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Plan writes nothing: against a data directory that does not exist it plans
// against an empty registry and creates nothing; against an existing one it
// changes no file, whatever the plan finds.
func TestPlanWritesNothing(t *testing.T) {
	dir := t.TempDir()
	writePlanProject(t, dir)
	r := mustRun(t, dir, "plan", "proj")
	if strings.Count(r.stdout, "create ") != 8 {
		t.Errorf("plan against no data directory: want 8 creates:\n%s", r.stdout)
	}
	for _, d := range []string{".slipway", "elsewhere"} {
		args := []string{"plan", "proj"}
		if d != ".slipway" {
			args = append(args, "--data-dir", d)
		}
		mustRun(t, dir, args...)
		if _, err := os.Stat(filepath.Join(dir, d)); !os.IsNotExist(err) {
			t.Errorf("plan created the data directory %s (stat: %v)", d, err)
		}
	}
	// An empty data directory stays empty.
	empty := filepath.Join(dir, "empty")
	must(t, os.Mkdir(empty, 0o755))
	mustRun(t, dir, "plan", "proj", "--data-dir", "empty")
	if entries, err := os.ReadDir(empty); err != nil || len(entries) != 0 {
		t.Errorf("plan wrote into an empty data directory: %v, %v", entries, err)
	}
	// A data directory that holds other files but no stores gets no stores.
	other := filepath.Join(dir, "other")
	must(t, os.Mkdir(other, 0o755))
	must(t, os.WriteFile(filepath.Join(other, "keep"), nil, 0o644))
	mustRun(t, dir, "plan", "proj", "--data-dir", "other")
	if entries, err := os.ReadDir(other); err != nil || len(entries) != 1 {
		t.Errorf("plan wrote into a data directory without stores: %v, %v", entries, err)
	}

	mustRun(t, dir, "apply", "proj")
	mustRun(t, dir, "run")
	before := snapshot(t, filepath.Join(dir, ".slipway"))
	if len(before) == 0 {
		t.Fatal("apply left no files in .slipway")
	}
	mustRun(t, dir, "plan", "proj")                                                     // all unchanged
	writePlanProject(t, dir, "    features: [n_daily]", "    features: [amount_daily]") // a conflict
	if r := slipway(t, dir, "plan", "proj"); r.code != 1 {
		t.Errorf("plan with a conflict: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	writePlanProject(t, dir, "  - name: ts1\n", "  - name: ts2\n") // a new resource
	if r := mustRun(t, dir, "plan", "proj"); !strings.Contains(r.stdout, "create    training_set   ts2:default") {
		t.Errorf("plan of a new training set:\n%s", r.stdout)
	}
	after := snapshot(t, filepath.Join(dir, ".slipway"))
	for f, s := range before {
		if after[f] != s {
			t.Errorf("plan changed %s: %s → %s", f, s, after[f])
		}
	}
	for f := range after {
		if _, ok := before[f]; !ok {
			t.Errorf("plan created %s", f)
		}
	}

	// With the registry but without its offline store, plan describes a new
	// transformation over a registered source and a built transformation
	// from their definitions (there are no views or tables to read), and
	// still creates no offline store.
	if err := os.Remove(filepath.Join(dir, ".slipway", "offline.duckdb")); err != nil {
		t.Fatal(err)
	}
	must(t, os.MkdirAll(filepath.Join(dir, "more"), 0o755))
	more := "transformations:\n  - name: recent\n    sql: SELECT e.user_id, e.kind, d.n FROM {{ events }} e JOIN {{ daily }} d USING (user_id)\n"
	must(t, os.WriteFile(filepath.Join(dir, "more", "defs.yaml"), []byte(more), 0o644))
	before = snapshot(t, filepath.Join(dir, ".slipway"))
	if r := mustRun(t, dir, "plan", "more"); !strings.Contains(r.stdout, "create    transformation recent:default") {
		t.Errorf("plan of a transformation over registered resources without the offline store:\n%s", r.stdout)
	}
	after = snapshot(t, filepath.Join(dir, ".slipway"))
	for f := range after {
		if _, ok := before[f]; !ok {
			t.Errorf("plan without the offline store created %s", f)
		}
	}
}
