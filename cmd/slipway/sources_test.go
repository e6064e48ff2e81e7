package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sourcesDefs = `entities:
  - name: user
sources:
  - name: events
    file: ../data/events.csv
    timestamp_column: ts
transformations:
  - name: daily
    sql: |
      SELECT user_id, date_trunc('day', ts) AS day, sum(amount) AS amount
      FROM {{ events }}
      GROUP BY ALL
features:
  - name: amount
    entity: user
    source: daily
    entity_column: user_id
    value_column: amount
    timestamp_column: day
    type: float64
`

func writeProject(t *testing.T, dir, csv string) {
	t.Helper()
	for name, content := range map[string]string{"definitions/defs.yaml": sourcesDefs, "data/events.csv": csv} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSourcesFromTwoCheckouts applies one project from two copies of its
// directory against one data directory, as two teammates would: nothing
// conflicts, show says which file the source reads, and run works from any
// working directory after the first copy is gone. A bad value past DuckDB's
// type sample then fails plan with one line, said once.
func TestSourcesFromTwoCheckouts(t *testing.T) {
	data := filepath.Join(t.TempDir(), "shared-data-dir")
	a, b, elsewhere := t.TempDir(), t.TempDir(), t.TempDir()
	csv := "user_id,ts,amount\nu1,2026-01-01 10:00:00,2.5\nu2,2026-01-02 11:00:00,4\n"
	writeProject(t, a, csv)
	writeProject(t, b, csv)
	mustRun(t, a, "--data-dir", data, "apply", "definitions")
	r := mustRun(t, b, "--data-dir", data, "apply", "definitions")
	if !strings.Contains(r.stdout, "applied: 0 created, 4 unchanged") {
		t.Fatalf("apply from the second checkout:\n%s", r.stdout)
	}
	r = mustRun(t, elsewhere, "--data-dir", data, "show", "source", "events")
	for _, want := range []string{
		"file:        ../data/events.csv (relative to the YAML file that defines it)",
		"read from:   " + filepath.Join(b, "data", "events.csv") + fmt.Sprintf(" (%d bytes, modified ", len(csv)),
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show source events lacks %q:\n%s", want, r.stdout)
		}
	}
	if err := os.RemoveAll(a); err != nil {
		t.Fatal(err)
	}
	mustRun(t, elsewhere, "--data-dir", data, "run")

	var big strings.Builder
	big.WriteString("user_id,ts,amount\n")
	for i := 1; i <= 50000; i++ {
		amount := fmt.Sprint(i % 9)
		if i == 40001 {
			amount = "n/a"
		}
		fmt.Fprintf(&big, "u%d,2026-01-01 10:00:00,%s\n", i%100, amount)
	}
	if err := os.WriteFile(filepath.Join(b, "data", "events.csv"), []byte(big.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r = slipway(t, b, "--data-dir", data, "plan", "definitions")
	want := `definitions/defs.yaml:5: file: source events:default: ../data/events.csv line 40002 column "amount": "n/a" is not a BIGINT`
	if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Count(r.stdout+r.stderr, "n/a") != 1 {
		t.Fatalf("plan over a bad value past the sample: exit %d, want 1 and %q once\nstdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
	}
}

// TestPlanOfAnotherDirectoryIsUnchanged applies the quickstart's
// definitions (demo/definitions), then plans the same files given as the
// project directory, the directory above it and the definitions directory:
// a source's file is recorded as written in its YAML file, so nothing
// conflicts whichever DIR is given.
func TestPlanOfAnotherDirectoryIsUnchanged(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "quickstart", "--dir", "demo", "--scale", "0.1", "--seed", "3")
	data := filepath.Join(dir, "demo", ".slipway")
	for _, defs := range []string{"demo", ".", "demo/definitions"} {
		r := slipway(t, dir, "--data-dir", data, "plan", defs)
		if r.code != 0 || strings.Contains(r.stdout, "conflict") || strings.Contains(r.stdout, "create") || !strings.Contains(r.stdout, "unchanged source") {
			t.Errorf("plan %s: exit %d, want 0 and every resource unchanged\nstdout:\n%s\nstderr:\n%s", defs, r.code, r.stdout, r.stderr)
		}
	}
}
