package registrytest

import (
	"context"
	"errors"
	"testing"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

func model(name string, ts resource.ID) *resource.Resource {
	return &resource.Resource{
		ID:    resource.ID{Kind: resource.KindModel, Name: name, Variant: resource.DefaultVariant},
		Owner: "ana@example.com",
		Model: &resource.ModelSpec{
			TrainingSet: ts,
			Task:        "binary_classification",
			Trainer:     resource.ModelTrainer{Command: []string{"python3", "train.py"}},
			Validation:  resource.ModelValidation{HoldoutPercent: 20, Metric: "auc"},
			Promote:     resource.ModelPromote{Alias: resource.DefaultModelAlias, When: resource.PromoteBetter},
		},
	}
}

// testApplyModelDir checks that Apply records a model's State.Dir when it
// registers the model and replaces it when the model is applied again,
// unchanged, from another directory (the last apply wins, as for a file
// source's file); a resource applied without one keeps the recorded one,
// and a failed apply changes none. The model is a dependent of its
// training set.
func testApplyModelDir(t *testing.T, s registry.Store) {
	ctx := context.Background()
	rs := graph()
	m := model("purchase_model", rs[5].ID)
	m.State.Dir = "/home/ana/project/models"
	apply(t, s, append(rs, m)...)
	want := func(what, dir string) {
		t.Helper()
		if got := get(t, s, m.ID).State.Dir; got != dir {
			t.Fatalf("%s: Get gives dir %q, want %q", what, got, dir)
		}
		listed, err := s.List(ctx, &registry.ListParams{Kind: resource.KindModel})
		if err != nil || len(listed) != 1 || listed[0].State.Dir != dir {
			t.Fatalf("%s: List = %+v, %v; want the model with dir %q", what, listed, err, dir)
		}
	}
	want("registered", "/home/ana/project/models")
	requireSameDefinition(t, get(t, s, m.ID), m)
	deps, err := s.Dependents(ctx, rs[5].ID)
	if err != nil {
		t.Fatal(err)
	}
	requireIDs(t, "Dependents(training set)", deps, []resource.ID{m.ID})

	other := model("purchase_model", rs[5].ID)
	other.State.Dir = "/home/ben/checkout/models"
	if res := apply(t, s, other); len(res.Unchanged) != 1 {
		t.Fatalf("re-apply from another directory: %+v, want unchanged", res)
	}
	want("re-applied from another directory", "/home/ben/checkout/models")

	apply(t, s, model("purchase_model", rs[5].ID))
	want("re-applied without a directory", "/home/ben/checkout/models")

	// All or nothing: a conflict in the batch leaves the directory as it was.
	moved := model("purchase_model", rs[5].ID)
	moved.State.Dir = "/tmp/elsewhere"
	changed := model("other_model", rs[5].ID)
	apply(t, s, changed)
	changed.Model.Promote.When = resource.PromoteNever
	_, err = s.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{moved, changed}})
	if !errors.Is(err, registry.ErrConflict) {
		t.Fatalf("Apply of a changed model = %v, want ErrConflict", err)
	}
	if got := get(t, s, m.ID).State.Dir; got != "/home/ben/checkout/models" {
		t.Fatalf("a failed apply changed the dir to %q", got)
	}
}
