package coordinator_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/offlineduckdb"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/online/onlinekv"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/registry/registrysqlite"
	"github.com/slipway-ml/slipway/resource"
)

const events = `user_id,ts,kind,amount
u1,2026-01-01T10:00:00,open,1.5
u1,2026-01-03T10:00:00,click,4
u2,2026-01-02T11:00:00,click,2
u2,2026-01-02T11:00:00,open,7
u3,2026-01-05T00:00:00,open,
`

const defs = `entities:
  - name: user
sources:
  - name: events
    file: events.csv
    timestamp_column: ts
transformations:
  - name: clean
    sql: SELECT user_id, ts, amount, kind FROM {{ events }} WHERE user_id IS NOT NULL
  - name: broken
    sql: SELECT user_id, ts, CAST(kind AS INTEGER) AS k FROM {{ events }}
  - name: after_broken
    sql: SELECT * FROM {{ broken }}
features:
  - name: amount
    entity: user
    source: clean
    entity_column: user_id
    value_column: amount
    timestamp_column: ts
    type: float64
  - name: amount_copy
    description: Same column as amount, so the two share one value column of the offline query.
    entity: user
    source: clean
    entity_column: user_id
    value_column: amount
    timestamp_column: ts
    type: float64
  - name: last_kind
    entity: user
    source: clean
    entity_column: user_id
    value_column: kind
    timestamp_column: ts
    type: string
`

// must fails the test at once on a setup step's error, which would
// otherwise leave the test checking something other than what it names.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newCoordinator opens embedded stores in dir, closed when the test ends.
func newCoordinator(t *testing.T, dir string) *coordinator.Coordinator {
	t.Helper()
	ctx := context.Background()
	reg, err := registrysqlite.New(ctx, registrysqlite.Config{Path: filepath.Join(dir, "reg.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	off, err := offlineduckdb.New(ctx, offlineduckdb.Config{Path: filepath.Join(dir, "off.duckdb")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { off.Close() })
	return &coordinator.Coordinator{Registry: reg, Offline: off, Online: openKV(t, filepath.Join(dir, "on.bolt"))}
}

// openKV opens an embedded online store, closed when the test ends.
func openKV(t *testing.T, path string) online.Store {
	t.Helper()
	on, err := onlinekv.New(context.Background(), onlinekv.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { on.Close() })
	return on
}

// applyDir applies the definitions in dir.
func applyDir(t *testing.T, c *coordinator.Coordinator, dir string) {
	t.Helper()
	ctx := context.Background()
	ds, err := definition.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := definition.MakePlan(ctx, ds, definition.Stores{Registry: c.Registry, Offline: c.Offline})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
}

func setup(t *testing.T) (*coordinator.Coordinator, context.Context) {
	t.Helper()
	dir := t.TempDir()
	c := newCoordinator(t, dir)
	must(t, os.WriteFile(filepath.Join(dir, "events.csv"), []byte(events), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "defs.yaml"), []byte(defs), 0o644))
	applyDir(t, c, dir)
	return c, context.Background()
}

func status(t *testing.T, c *coordinator.Coordinator, kind resource.Kind, name string) resource.State {
	t.Helper()
	r, err := c.Registry.Get(context.Background(), resource.ID{Kind: kind, Name: name, Variant: "default"})
	if err != nil {
		t.Fatal(err)
	}
	return r.State
}

func TestRunMarksFailuresAndDependents(t *testing.T) {
	c, ctx := setup(t)
	if st := status(t, c, resource.KindSource, "events"); st.Status != resource.StatusReady || len(st.Schema) != 4 {
		t.Fatalf("source after apply: %+v", st)
	}
	res, err := c.Run(ctx, &coordinator.RunParams{})
	if err == nil {
		t.Fatal("run with a broken transformation succeeded")
	}
	if res.Built != 1 || res.Failed != 2 {
		t.Errorf("run result %+v, want 1 built, 2 failed", res)
	}
	if st := status(t, c, resource.KindTransformation, "clean"); st.Status != resource.StatusReady {
		t.Errorf("clean: %+v", st)
	}
	broken := status(t, c, resource.KindTransformation, "broken")
	if broken.Status != resource.StatusFailed || !strings.Contains(broken.Error, "open") {
		t.Errorf("broken: status %s, error %q; want failed with the engine's conversion message", broken.Status, broken.Error)
	}
	// The job of after_broken waited for broken's and ended with it.
	byName := map[string]*registry.Job{}
	for _, j := range res.Jobs {
		byName[j.Resource.Name] = j
	}
	after := byName["after_broken"]
	if after == nil || after.Status != registry.JobFailed || after.BlockedBy != byName["broken"].ID || !strings.Contains(after.Error, "upstream job") {
		t.Errorf("after_broken's job: %+v; want failed, ended by broken's job", after)
	}
	// A second run skips what is ready and fails the same way again.
	res, _ = c.Run(ctx, &coordinator.RunParams{})
	if res.Built != 0 || res.Failed != 2 || len(res.Jobs) != 2 {
		t.Errorf("second run %+v", res)
	}
}

func TestMaterializeWritesLatestValues(t *testing.T) {
	c, ctx := setup(t)
	ids := []resource.ID{{Kind: resource.KindFeature, Name: "amount", Variant: "default"}, {Kind: resource.KindFeature, Name: "last_kind", Variant: "default"}, {Kind: resource.KindFeature, Name: "amount_copy", Variant: "default"}}
	// Materialize builds the transformation it needs on its own.
	res, err := c.Materialize(ctx, &coordinator.MaterializeParams{Features: ids, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Features != 3 || res.Values != 9 {
		t.Errorf("materialize result %+v, want 3 features × 3 users", res)
	}
	if st := status(t, c, resource.KindFeature, "amount"); st.Status != resource.StatusReady {
		t.Errorf("feature status %+v", st)
	}
	got, err := c.Online.Read(ctx, &online.ReadParams{Features: []string{"amount:default", "last_kind:default", "amount_copy:default"}, Entities: []string{"u1", "u2", "u3", "u4"}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"4", "click", "4"}, {"7", "open", "7"}, {"", "open", ""}, {"", "", ""}} // u2: tie at equal timestamps → greatest value
	for i, row := range want {
		for j, w := range row {
			e := got.Entries[i][j]
			if e.Value.String() != w {
				t.Errorf("entity %d feature %d = %v (found %v), want %q", i, j, e.Value, e.Found, w)
			}
		}
	}
	if got.Entries[2][0].Found != true || !got.Entries[2][0].Value.IsNull() {
		t.Errorf("u3's latest amount is a null value and should be stored as found null: %+v", got.Entries[2][0])
	}
	if got.Entries[3][0].Found {
		t.Error("u4 has no rows and should not be found")
	}
	// Rerunning is idempotent: the same values, found the same way.
	if _, err := c.Materialize(ctx, &coordinator.MaterializeParams{Features: ids}); err != nil {
		t.Fatal(err)
	}
	again, err := c.Online.Read(ctx, &online.ReadParams{Features: []string{"amount:default", "last_kind:default", "amount_copy:default"}, Entities: []string{"u1", "u2", "u3", "u4"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range got.Entries {
		for j, e := range again.Entries[i] {
			if was := got.Entries[i][j]; e.Found != was.Found || e.Value.String() != was.Value.String() || e.Value.IsNull() != was.Value.IsNull() {
				t.Errorf("entity %d feature %d after materializing again: %v (found %v), was %v (found %v)", i, j, e.Value, e.Found, was.Value, was.Found)
			}
		}
	}
}

func TestExportUnknownTrainingSet(t *testing.T) {
	c, ctx := setup(t)
	_, err := c.Export(ctx, &coordinator.ExportParams{TrainingSet: resource.ID{Kind: resource.KindTrainingSet, Name: "nope", Variant: "default"}, Format: "csv", Path: filepath.Join(t.TempDir(), "x.csv")})
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("export of an unknown training set: %v", err)
	}
}

func TestMaterializeRepeatedFeatureOnce(t *testing.T) {
	c, ctx := setup(t)
	id := resource.ID{Kind: resource.KindFeature, Name: "amount", Variant: "default"}
	// Materializing the same feature twice in one call is one materialization.
	res, err := c.Materialize(ctx, &coordinator.MaterializeParams{Features: []resource.ID{id, id}})
	if err != nil || res.Features != 1 {
		t.Fatalf("materialize with a repeated feature = %+v, %v; want one feature", res, err)
	}
}

// TestExportOfAnUnsupportedFormatDoesNotFailTheTrainingSet exports a
// ready training set in a format the store does not write: the error says
// so, no file is written, and the training set stays ready and exportable.
func TestExportOfAnUnsupportedFormatDoesNotFailTheTrainingSet(t *testing.T) {
	c, ctx, out := setupTrainingSet(t)
	file := filepath.Join(out, "x.xlsx")
	_, err := c.Export(ctx, &coordinator.ExportParams{TrainingSet: spending, Format: "xlsx", Path: file})
	if !errors.Is(err, offline.ErrUnsupported) {
		t.Errorf("export as xlsx: %v, want ErrUnsupported", err)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("export as xlsx left %s: %v", file, err)
	}
	r, err := c.Registry.Get(ctx, spending)
	if err != nil || r.State.Status != resource.StatusReady {
		t.Fatalf("training set after an unsupported export: %+v, %v; want ready", r, err)
	}
	if n, err := c.Export(ctx, &coordinator.ExportParams{TrainingSet: spending, Format: "csv", Path: filepath.Join(out, "again.csv")}); err != nil || n == 0 {
		t.Errorf("csv export after the unsupported one: %d rows, %v", n, err)
	}
}

// TestApplyRecreatesSourceViews re-applies a registered project against a new,
// empty offline store (as a teammate sharing the registry would) and builds it.
func TestApplyRecreatesSourceViews(t *testing.T) {
	c, ctx := setup(t)
	dir := t.TempDir()
	off2, err := offlineduckdb.New(ctx, offlineduckdb.Config{Path: filepath.Join(dir, "other.duckdb")})
	if err != nil {
		t.Fatal(err)
	}
	defer off2.Close()
	c2 := &coordinator.Coordinator{Registry: c.Registry, Offline: off2}
	// The teammate's checkout is elsewhere: the source file is found there.
	must(t, os.WriteFile(filepath.Join(dir, "events.csv"), []byte(events), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "defs.yaml"), []byte(defs), 0o644))
	ds, err := definition.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := definition.MakePlan(ctx, ds, definition.Stores{Registry: c.Registry, Offline: off2})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c2.Apply(ctx, plan)
	if err != nil || len(res.Created) != 0 {
		t.Fatalf("re-apply: %+v %v", res, err)
	}
	if _, err := c2.Run(ctx, &coordinator.RunParams{IDs: []resource.ID{{Kind: resource.KindTransformation, Name: "clean", Variant: "default"}}, Rebuild: true}); err != nil {
		t.Fatalf("building on the new offline store: %v", err)
	}
}
