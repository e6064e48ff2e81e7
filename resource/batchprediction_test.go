package resource

import (
	"slices"
	"testing"
)

// TestBatchPredictionKind: batch predictions come after models, are named
// on the command line like the other kinds, depend on their entities only,
// and register a source of their own name and variant.
func TestBatchPredictionKind(t *testing.T) {
	if slices.Index(Kinds, KindBatchPrediction) < slices.Index(Kinds, KindModel) {
		t.Errorf("Kinds = %v; want batch_prediction after model", Kinds)
	}
	for _, s := range []string{"batch_prediction", "batch-predictions", "Batch_Predictions"} {
		if k, err := ParseKind(s); err != nil || k != KindBatchPrediction {
			t.Errorf("ParseKind(%q) = %v, %v", s, k, err)
		}
	}
	entities := ID{KindTransformation, "active_subscribers", DefaultVariant}
	r := &Resource{ID: ID{KindBatchPrediction, "nightly", "v2"},
		BatchPrediction: &BatchPredictionSpec{Model: "purchase_model", Alias: DefaultModelAlias, Entities: entities, EntityColumn: "subscriber_id"}}
	if err := r.ID.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if d := r.Dependencies(); len(d) != 1 || d[0] != entities {
		t.Errorf("Dependencies = %v; want [%s]", d, entities)
	}
	if s := BatchPredictionSource(r.ID); s != (ID{KindSource, "nightly", "v2"}) {
		t.Errorf("BatchPredictionSource = %s", s)
	}
}
