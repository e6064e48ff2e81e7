package definition_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// applyDir plans and applies the definitions of e.dir.
func (e *env) apply(t *testing.T) (*definition.Plan, error) {
	t.Helper()
	plan, err := e.plan(t)
	if err != nil {
		return nil, err
	}
	_, err = e.c.Apply(context.Background(), plan)
	return plan, err
}

const sourceYAML = `sources:
  - name: events
    file: events.csv
    timestamp_column: ts
`

// A transformation named like a registered source used to be accepted, and
// then every reference to the name failed ("is both a source and a
// transformation") with no way out. Plan now refuses it, naming the file,
// the line and the registered source.
func TestPlanRefusesANameRegisteredAsTheOtherKind(t *testing.T) {
	e := newEnv(t)
	write(t, e.dir, "a.yaml", sourceYAML)
	if _, err := e.apply(t); err != nil {
		t.Fatal(err)
	}
	// A second project, applied later, defines a transformation "events".
	write(t, e.dir, "a.yaml", `sources:
  - name: raw
    file: events.csv
transformations:
  - name: other
    sql: SELECT * FROM {{ raw }}
  - name: events
    sql: SELECT * FROM {{ raw }}
`)
	before := e.registered(t)
	_, err := e.apply(t)
	if err == nil {
		t.Fatal("apply of a transformation named like a registered source succeeded")
	}
	for _, want := range []string{"a.yaml:7", "name", `"events" is already registered as source events:default`, "rename this transformation"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if n := e.registered(t); n != before {
		t.Fatalf("a refused plan registered %d resources", n-before)
	}
	// Another variant of the name is refused too: {{ events }} and {{ events:v2 }} would mean different kinds.
	write(t, e.dir, "a.yaml", `sources:
  - name: raw
    file: events.csv
transformations:
  - name: events
    variant: v2
    sql: SELECT * FROM {{ raw }}
`)
	if _, err := e.plan(t); err == nil || !strings.Contains(err.Error(), "already registered as source events:default") {
		t.Fatalf("plan of transformation events:v2 = %v; want it refused", err)
	}
}

func TestPlanRefusesOneNameForASourceAndATransformationInTheFiles(t *testing.T) {
	e := newEnv(t)
	write(t, e.dir, "a.yaml", sourceYAML+`transformations:
  - name: events
    sql: SELECT 1 AS x FROM {{ events:v0 }}
`)
	write(t, e.dir, "b.yaml", `sources:
  - name: events
    variant: v0
    file: events.csv
`)
	_, err := e.plan(t)
	if err == nil || !strings.Contains(err.Error(), "a.yaml:6: name: transformation events:default: the name \"events\" is also used by source events:default (at ") {
		t.Fatalf("plan = %v; want the transformation's line naming the source", err)
	}
}

// A registry left stuck by an older version (a source and a transformation
// of one name:variant) is repaired by deleting one of them.
func TestStuckNameIsRepairedByDelete(t *testing.T) {
	e := newEnv(t)
	write(t, e.dir, "a.yaml", sourceYAML)
	if _, err := e.apply(t); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src := resource.ID{Kind: resource.KindSource, Name: "events", Variant: resource.DefaultVariant}
	stuck := &resource.Resource{ID: resource.ID{Kind: resource.KindTransformation, Name: "events", Variant: resource.DefaultVariant},
		Transformation: &resource.TransformationSpec{SQL: "SELECT 1", Inputs: []resource.ID{src}}}
	if _, err := e.s.Registry.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{stuck}}); err != nil {
		t.Fatal(err)
	}
	user := sourceYAML + `transformations:
  - name: daily
    sql: SELECT * FROM {{ events }}
`
	write(t, e.dir, "a.yaml", user)
	_, err := e.plan(t)
	if err == nil || !strings.Contains(err.Error(), "slipway delete transformation events:default") {
		t.Fatalf("plan over a stuck name = %v; want it to say which delete repairs it", err)
	}
	if _, err := e.s.Registry.Delete(ctx, &registry.DeleteParams{ID: stuck.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.apply(t); err != nil {
		t.Fatalf("apply after deleting the stuck transformation: %v", err)
	}
}

func TestPlanRefusesDeletedVariantsAndReferencesToThem(t *testing.T) {
	e := newEnv(t)
	write(t, e.dir, "defs.yaml", baseYAML)
	if _, err := e.apply(t); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, id := range []resource.ID{
		{Kind: resource.KindTrainingSet, Name: "ts1", Variant: "default"},
		{Kind: resource.KindFeature, Name: "n_daily", Variant: "default"},
	} {
		if _, err := e.s.Registry.Delete(ctx, &registry.DeleteParams{ID: id, By: "ana"}); err != nil {
			t.Fatal(err)
		}
	}
	// The same files again: the deleted variants do not come back.
	_, err := e.plan(t)
	var errs definition.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("plan = %v; want definition errors", err)
	}
	for _, want := range []string{"feature n_daily:default was deleted at", "by ana", "give this definition a new variant", "training_set ts1:default was deleted"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	// A new training set over the deleted feature names it as deleted.
	write(t, e.dir, "defs.yaml", strings.Replace(strings.Replace(baseYAML, "  - name: ts1\n", "  - name: ts2\n", 1),
		"  - name: n_daily\n", "  - name: n_daily\n    variant: v2\n", 1)+"  - name: ts3\n    label: kind_label\n    features: [n_daily]\n")
	_, err = e.plan(t)
	if err == nil || !strings.Contains(err.Error(), "features: feature n_daily:default was deleted at") || !strings.Contains(err.Error(), "refer to another variant") {
		t.Fatalf("plan referring to a deleted feature = %v", err)
	}
}

func TestPlanWarnsAboutDeprecatedReferences(t *testing.T) {
	e := newEnv(t)
	write(t, e.dir, "defs.yaml", baseYAML)
	if _, err := e.apply(t); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	daily := resource.ID{Kind: resource.KindTransformation, Name: "daily", Variant: "default"}
	if _, err := e.s.Registry.Deprecate(ctx, &registry.DeprecateParams{ID: daily, By: "ana", Reason: "use daily:v2"}); err != nil {
		t.Fatal(err)
	}
	plan, err := e.plan(t)
	if err != nil {
		t.Fatalf("a deprecated reference is a warning, not an error: %v", err)
	}
	if len(plan.Warnings) != 1 {
		t.Fatalf("warnings = %v; want one", plan.Warnings)
	}
	w := plan.Warnings[0].Error()
	for _, want := range []string{"defs.yaml:17: source: feature n_daily:default refers to transformation daily:default, deprecated at", "by ana (use daily:v2)"} {
		if !strings.Contains(w, want) {
			t.Errorf("warning %q does not contain %q", w, want)
		}
	}
}
