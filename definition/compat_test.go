package definition_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/resource"
)

// oldShape rewrites a stored definition the way registries stored it
// before a feature's source was "source" and labels had their own spec: the
// spec of a feature or label under "feature", its source as "dataset".
func oldShape(t *testing.T, def string) (string, bool) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(def), &m); err != nil {
		t.Fatal(err)
	}
	spec, ok := m["feature"].(map[string]any)
	if l, isLabel := m["label"].(map[string]any); isLabel {
		spec, ok = l, true
		delete(m, "label")
		m["feature"] = l
	}
	if !ok {
		return def, false
	}
	spec["dataset"] = spec["source"]
	delete(spec, "source")
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

// TestOldRegistryRowsAreUnchanged applies definitions, rewrites their
// registry rows in the old JSON shape, and applies the same definitions
// again: nothing may be a conflict.
func TestOldRegistryRowsAreUnchanged(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	write(t, e.dir, "defs.yaml", baseYAML)
	plan, err := e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}

	// The registry's own file, written behind its back as an older Slipway left it.
	db, err := sql.Open("sqlite", filepath.Join(filepath.Dir(e.dir), "reg.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT kind, name, variant, definition FROM resources`)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ kind, name, variant, def string }
	var rewrite []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.kind, &r.name, &r.variant, &r.def); err != nil {
			t.Fatal(err)
		}
		if old, ok := oldShape(t, r.def); ok {
			r.def = old
			rewrite = append(rewrite, r)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(rewrite) != 2 {
		t.Fatalf("rewrote %d rows, want the feature and the label", len(rewrite))
	}
	for _, r := range rewrite {
		if !strings.Contains(r.def, `"dataset"`) || strings.Contains(r.def, `"label":{`) {
			t.Fatalf("%s %s: %s is not the old shape", r.kind, r.name, r.def)
		}
		if _, err := db.ExecContext(ctx, `UPDATE resources SET definition = ? WHERE kind = ? AND name = ? AND variant = ?`, r.def, r.kind, r.name, r.variant); err != nil {
			t.Fatal(err)
		}
	}

	label, err := e.s.Registry.Get(ctx, resource.ID{Kind: resource.KindLabel, Name: "kind_label", Variant: resource.DefaultVariant})
	if err != nil {
		t.Fatal(err)
	}
	wantLabel := &resource.LabelSpec{Entity: "user", Source: resource.ID{Kind: resource.KindSource, Name: "events", Variant: resource.DefaultVariant},
		EntityColumn: "user_id", ValueColumn: "kind", TimestampColumn: "ts", Type: "string"}
	if label.Feature != nil || !reflect.DeepEqual(label.Label, wantLabel) {
		t.Errorf("old-shape label read as feature %+v, label %+v; want label %+v", label.Feature, label.Label, wantLabel)
	}

	again, err := e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range again.Items {
		if it.Action != definition.Unchanged {
			t.Errorf("re-plan over old rows: %s %s, diffs %v; want unchanged", it.Resource.ID, it.Action, it.Diffs)
		}
	}
	before := e.registered(t)
	if _, err := e.c.Apply(ctx, again); err != nil {
		t.Fatalf("re-apply over old rows: %v", err)
	}
	if n := e.registered(t); n != before {
		t.Errorf("re-apply over old rows registered %d resources; want none", n-before)
	}
}

// TestEntityDescriptionChangeDiffsTheDescription: an entity's definition
// without a description once diffed as if it were an ID (an unnamed field,
// and kind, name and variant "changed").
func TestEntityDescriptionChangeDiffsTheDescription(t *testing.T) {
	e := newEnv(t)
	write(t, e.dir, "defs.yaml", baseYAML)
	plan, err := e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Apply(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	write(t, e.dir, "defs.yaml", strings.Replace(baseYAML, "  - name: user\n", "  - name: user\n    description: People on a mailing list.\n", 1))
	plan, err = e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	conflicts := plan.Conflicts()
	if len(conflicts) != 1 || conflicts[0].Resource.ID != (resource.ID{Kind: resource.KindEntity, Name: "user", Variant: resource.DefaultVariant}) {
		t.Fatalf("conflicts = %v, want entity user only", conflicts)
	}
	want := []resource.FieldDiff{{Field: "description", Registered: "", Proposed: "People on a mailing list."}}
	if got := conflicts[0].Diffs; !reflect.DeepEqual(got, want) {
		t.Errorf("diffs = %+v, want %+v", got, want)
	}
}
