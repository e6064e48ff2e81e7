package definition_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/demo"
	"github.com/slipway-ml/slipway/resource"
)

// bigEventsCSV is events.csv with 50,000 rows, more than DuckDB samples to
// infer column types (20,480); row 40,001 (line 40,002) has the given amount
// and ts.
func bigEventsCSV(amount, ts string) string {
	var b strings.Builder
	b.WriteString("user_id,ts,kind,amount\n")
	for i := 1; i <= 50000; i++ {
		if i == 40001 {
			fmt.Fprintf(&b, "u%d,%s,open,%s\n", i%50, ts, amount)
			continue
		}
		fmt.Fprintf(&b, "u%d,2026-01-01T10:00:00,open,%d\n", i%50, i%7)
	}
	return b.String()
}

// amountYAML adds a feature over the events' amount column to baseYAML.
const amountYAML = `features:
  - name: amount
    entity: user
    source: events
    entity_column: user_id
    value_column: amount
    timestamp_column: ts
    type: float64
`

// TestSourceFileProblemsAtPlan checks that a file source that would fail (or
// silently round) when read fails plan instead, in one paragraph naming the
// definition, the file, the line and the column and saying what to do.
func TestSourceFileProblemsAtPlan(t *testing.T) {
	cases := []struct {
		name string
		csv  string
		want []string
	}{
		{"BadValueBeyondSample", bigEventsCSV("n/a", "2026-01-01T10:00:00"),
			[]string{`defs.yaml:6: file: source events:default: events.csv line 40002 column "amount": "n/a" is not a BIGINT`, "columns: {amount: string}"}},
		{"FractionBeyondSample", bigEventsCSV("1.5", "2026-01-01T10:00:00"),
			[]string{`defs.yaml:6: file: source events:default: events.csv line 40002 column "amount": 1.5 is not a whole number`, "columns: {amount: float64}"}},
		{"BadTimestampBeyondSample", bigEventsCSV("1", "soon"),
			[]string{`defs.yaml:6: file: source events:default: events.csv line 40002 column "ts": "soon" is not a TIMESTAMP`}},
		{"Empty", "", []string{"defs.yaml:6: file: source events:default: events.csv: is empty"}},
		{"HeaderOnly", "user_id,ts,kind,amount\n", []string{"defs.yaml:6: file: source events:default: events.csv: has one line (a header) and no rows"}},
		{"TimestampDoesNotParse", "user_id,ts,kind,amount\nu1,01/31/2026 10:00,open,1\nu2,02/01/2026 11:00,open,2\n",
			[]string{`defs.yaml:7: timestamp_column: source events:default: column "ts" of events.csv does not parse as timestamps`, "2026-01-31 14:05:00"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			write(t, e.dir, "defs.yaml", baseYAML)
			write(t, e.dir, "amount.yaml", amountYAML)
			write(t, e.dir, "events.csv", tc.csv)
			_, err := e.plan(t)
			if err == nil {
				t.Fatal("plan passed")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("plan error does not say %q:\n%s", w, msg)
				}
			}
			// One paragraph, said once: nothing that reads the source repeats it.
			if n := strings.Count(msg, "\n"); n != 0 {
				t.Errorf("plan error has %d more lines, want one problem on one line:\n%s", n, msg)
			}
			if e.registered(t) != 0 {
				t.Error("a failed plan registered something")
			}
		})
	}
}

// TestSourceColumnsDeclareTypes checks that columns: fixes what the sample
// got wrong, and that a declared column the file lacks is an error at its line.
func TestSourceColumnsDeclareTypes(t *testing.T) {
	e := newEnv(t)
	withColumns := strings.Replace(baseYAML, "    file: events.csv\n", "    file: events.csv\n    columns: {amount: float64}\n", 1)
	write(t, e.dir, "defs.yaml", withColumns)
	write(t, e.dir, "amount.yaml", amountYAML)
	write(t, e.dir, "events.csv", bigEventsCSV("1.5", "2026-01-01T10:00:00"))
	plan, err := e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Apply(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	src, err := e.s.Registry.Get(context.Background(), resource.ID{Kind: resource.KindSource, Name: "events", Variant: "default"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range src.State.Schema {
		if c.Name == "amount" && c.EngineType != "DOUBLE" {
			t.Errorf("declared float64 column amount is %s in the view", c.EngineType)
		}
	}
	write(t, e.dir, "defs.yaml", strings.Replace(withColumns, "{amount: float64}", "{price: float64}", 1))
	_, err = e.plan(t)
	if err == nil || !strings.Contains(err.Error(), `defs.yaml:7: columns: source events:default: events.csv column "price": declared in columns:, but the file has no such column`) {
		t.Fatalf("plan with an unknown declared column: %v", err)
	}
	write(t, e.dir, "defs.yaml", strings.Replace(withColumns, "{amount: float64}", "{amount: decimal}", 1))
	_, err = e.plan(t)
	if err == nil || !strings.Contains(err.Error(), `defs.yaml:7: columns: column "amount": unknown type "decimal"`) {
		t.Fatalf("plan with an unknown declared type: %v", err)
	}
	write(t, e.dir, "defs.yaml", strings.Replace(withColumns, "file: events.csv", "table: main.events", 1))
	_, err = e.plan(t)
	if err == nil || !strings.Contains(err.Error(), `defs.yaml:7: columns: declares column types for a CSV file; a Parquet file or a table has its own`) {
		t.Fatalf("plan of a table source with columns: %v", err)
	}
}

// TestSameDefinitionsFromTwoCheckouts applies one project from two copies of
// its directory against one registry and offline store: nothing conflicts,
// the source's file is recorded as written (relative to its YAML file), and the view
// reads the file of the copy applied last, from any working directory.
func TestSameDefinitionsFromTwoCheckouts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	checkout := func(name string) string {
		dir := filepath.Join(t.TempDir(), name)
		write(t, dir, "definitions/defs.yaml", strings.Replace(baseYAML, "file: events.csv", "file: ../data/events.csv", 1))
		write(t, dir, "data/events.csv", eventsCSV)
		return filepath.Join(dir, "definitions")
	}
	apply := func(dir string) *definition.Plan {
		t.Helper()
		defs, err := definition.LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := definition.MakePlan(ctx, defs, e.s)
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Conflicts()) > 0 {
			t.Fatalf("applying %s: %v", dir, plan.ConflictError())
		}
		if _, err := e.c.Apply(ctx, plan); err != nil {
			t.Fatal(err)
		}
		return plan
	}
	a, b := checkout("alice"), checkout("bob")
	apply(a)
	plan := apply(b)
	for _, it := range plan.Items {
		if it.Action != definition.Unchanged {
			t.Errorf("%s from the second checkout: %s, want unchanged %v", it.Resource.ID, it.Action, it.Diffs)
		}
	}
	src, err := e.s.Registry.Get(ctx, resource.ID{Kind: resource.KindSource, Name: "events", Variant: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if src.Source.File != "../data/events.csv" {
		t.Errorf("recorded file %q, want ../data/events.csv (as written, relative to its YAML file)", src.Source.File)
	}
	// The first checkout is gone; the view reads the second's file, and a
	// run from an unrelated working directory finds it.
	if err := os.RemoveAll(filepath.Dir(a)); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	c := &coordinator.Coordinator{Registry: e.c.Registry, Offline: e.c.Offline}
	if _, err := c.Run(ctx, &coordinator.RunParams{}); err != nil {
		t.Fatalf("run after the first checkout was removed: %v", err)
	}
}

// TestLabelMaxAgeIsRejected: a training set keeps every label row, so a
// label's max_age would be silently ignored.
func TestLabelMaxAgeIsRejected(t *testing.T) {
	e := newEnv(t)
	write(t, e.dir, "defs.yaml", strings.Replace(baseYAML, "    type: string\n", "    type: string\n    max_age: 30d\n", 1))
	_, err := e.plan(t)
	if err == nil || !strings.Contains(err.Error(), "defs.yaml:30: max_age: a training set keeps every row of its label") {
		t.Fatalf("plan of a label with max_age: %v", err)
	}
}

// TestYAMLErrorLines checks that a YAML syntax error points at the line
// where the problem is (the parser itself reports the start of the block,
// or the line before).
func TestYAMLErrorLines(t *testing.T) {
	cases := []struct {
		name, yaml string
		line       int
		hint       string
	}{
		{"Tab", "entities:\n  - name: a\n    description: x\n\towner: y\n", 4, "tab"},
		{"UnclosedQuote", "entities:\n  - name: a\n    description: \"x\n    owner: y\n  - name: b\n", 3, "quote opened on this line is never closed"},
		{"IndentLess", "entities:\n  - name: a\n    description: x\n   owner: y\n", 4, ""},
		{"IndentMore", "entities:\n  - name: a\n    description: x\n      owner: y\n", 4, ""},
		{"UnclosedList", "entities:\n  - name: a\n    tags: [x, y\n    owner: z\n", 3, ""},
		{"AfterAMultiLineList", "entities:\n  - name: a\n    tags: [x,\n      y]\n    owner: z\n\tdescription: w\n", 6, ""},
		{"SecondDocument", "entities:\n  - name: a\n---\nentities:\n  - name: b\n   owner: z\n", 6, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "d.yaml", tc.yaml)
			_, err := definition.LoadDir(dir)
			want := fmt.Sprintf("d.yaml:%d: invalid YAML", tc.line)
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tc.hint) {
				t.Fatalf("got %v, want %q and %q", err, want, tc.hint)
			}
		})
	}
}

// TestREADMEExamplePlans copies the README's example definitions as they are
// next to demo data, and plans them.
func TestREADMEExamplePlans(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "## Definitions by example")
	if !ok {
		t.Fatal(`README.md has no "## Definitions by example" section`)
	}
	_, block, ok := strings.Cut(after, "```yaml\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("the README's definitions section has no ```yaml block")
	}
	e := newEnv(t)
	root := filepath.Dir(e.dir)
	write(t, root, "definitions/example.yaml", block)
	if _, err := demo.Generate(context.Background(), filepath.Join(root, "data"), demo.Options{Scale: 0.1}); err != nil {
		t.Fatal(err)
	}
	defs, err := definition.LoadDir(filepath.Join(root, "definitions"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := definition.MakePlan(context.Background(), defs, e.s)
	if err != nil {
		t.Fatalf("the README's example does not plan:\n%v", err)
	}
	if len(plan.Items) < 6 {
		t.Fatalf("the README's example planned %d resources", len(plan.Items))
	}
}

// TestAbsoluteRegisteredFileIsUnchanged: a source registered with an
// absolute path (as Slipway recorded every path before paths were relative
// to the definitions) re-plans unchanged when the definition now gives the
// same file relative to itself.
func TestAbsoluteRegisteredFileIsUnchanged(t *testing.T) {
	e := newEnv(t)
	abs := filepath.Join(e.dir, "events.csv")
	write(t, e.dir, "defs.yaml", strings.Replace(baseYAML, "file: events.csv", "file: "+abs, 1))
	plan, err := e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Apply(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	write(t, e.dir, "defs.yaml", baseYAML)
	plan, err = e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range plan.Items {
		if it.Action != definition.Unchanged {
			t.Errorf("%s: %s %v, want unchanged", it.Resource.ID, it.Action, it.Diffs)
		}
	}
}

// TestSourceFileDoesNotDependOnDIR applies definitions from one directory
// and plans the same files from its parent, its grandparent and from the
// subdirectory that holds them: a source's file is recorded as written,
// relative to its YAML file, so every plan is unchanged. A definition that
// names another file is still a conflict.
func TestSourceFileDoesNotDependOnDIR(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "project")
	write(t, root, "definitions/team/defs.yaml", strings.Replace(baseYAML, "file: events.csv", "file: ../../data/events.csv", 1))
	write(t, root, "data/events.csv", eventsCSV)
	write(t, root, "data/other/events.csv", eventsCSV)
	plan := func(dir string) *definition.Plan {
		t.Helper()
		defs, err := definition.LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		p, err := definition.MakePlan(ctx, defs, e.s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := e.c.Apply(ctx, plan(filepath.Join(root, "definitions"))); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{root, filepath.Dir(root), filepath.Join(root, "definitions", "team")} {
		for _, it := range plan(dir).Items {
			if it.Action != definition.Unchanged {
				t.Errorf("plan %s: %s is %s %v, want unchanged", dir, it.Resource.ID, it.Action, it.Diffs)
			}
		}
	}
	// Planning from elsewhere resolves the file against the YAML file too.
	t.Chdir(t.TempDir())
	for _, it := range plan(filepath.Join(root, "definitions")).Items {
		if it.Action != definition.Unchanged {
			t.Errorf("plan from another working directory: %s is %s %v, want unchanged", it.Resource.ID, it.Action, it.Diffs)
		}
	}

	write(t, root, "definitions/team/defs.yaml", strings.Replace(baseYAML, "file: events.csv", "file: ../../data/other/events.csv", 1))
	p := plan(root)
	var conflicts []string
	for _, it := range p.Conflicts() {
		for _, d := range it.Diffs {
			conflicts = append(conflicts, fmt.Sprintf("%s %s: %s → %s", it.Resource.ID, d.Field, d.Registered, d.Proposed))
		}
	}
	want := "source events:default source.file: ../../data/events.csv → ../../data/other/events.csv"
	if len(conflicts) != 1 || conflicts[0] != want {
		t.Errorf("plan naming another file: conflicts %q, want [%q]", conflicts, want)
	}
}

// TestMovedSourceDefinitionIsUnchanged: a source's definition moved to a
// YAML file in another directory, its file: rewritten to name the same file
// from there, re-plans unchanged on the machine that applied it (the
// registry recorded where the last apply found the file).
func TestMovedSourceDefinitionIsUnchanged(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	write(t, e.dir, "defs.yaml", baseYAML)
	if _, err := e.c.Apply(ctx, mustPlan(t, e)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(e.dir, "defs.yaml")); err != nil {
		t.Fatal(err)
	}
	write(t, e.dir, "team/defs.yaml", strings.Replace(baseYAML, "file: events.csv", "file: ../events.csv", 1))
	for _, it := range mustPlan(t, e).Items {
		if it.Action != definition.Unchanged {
			t.Errorf("%s: %s %v, want unchanged", it.Resource.ID, it.Action, it.Diffs)
		}
	}
	// The apply's view reads the file the moved definition names.
	if _, err := e.c.Apply(ctx, mustPlan(t, e)); err != nil {
		t.Fatal(err)
	}
	src, err := e.s.Registry.Get(ctx, resource.ID{Kind: resource.KindSource, Name: "events", Variant: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if sf := src.State.SourceFile; sf == nil || sf.Path != filepath.Join(e.dir, "events.csv") {
		t.Errorf("read from %+v, want %s", sf, filepath.Join(e.dir, "events.csv"))
	}
}

// TestMissingSourceFileNamesWhatWasWritten: a missing file is reported at
// the file: line of its YAML file, as written there, with the path it was
// looked for at (relative to that YAML file, not to the DIR given to plan).
func TestMissingSourceFileNamesWhatWasWritten(t *testing.T) {
	e := newEnv(t)
	write(t, e.dir, "team/defs.yaml", strings.Replace(baseYAML, "file: events.csv", "file: ../data/./events.csv", 1))
	_, err := e.plan(t)
	want := filepath.Join("team", "defs.yaml") + ":6: file: source events:default: ../data/./events.csv: no such file (looked for " +
		filepath.Join(e.dir, "data", "events.csv") + ": a relative file is relative to the YAML file that names it)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v\nwant %q", err, want)
	}
}

func mustPlan(t *testing.T, e *env) *definition.Plan {
	t.Helper()
	p, err := e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
