package onlinetest

import (
	"fmt"
	"testing"

	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/value"
)

func deleteFeatures(t *testing.T, s online.Store, features ...string) {
	t.Helper()
	if err := s.DeleteFeatures(t.Context(), &online.DeleteFeaturesParams{Features: features}); err != nil {
		t.Fatalf("DeleteFeatures %v: %v", features, err)
	}
}

// testDeleteFeatures deletes two of three features written together: their
// values are gone for every entity, the third one's stay, and the deleted
// features can be written again.
func testDeleteFeatures(t *testing.T, s online.Store) {
	features := []string{"opens_30d:v1", "clicks_30d:v1", "aov:v1"}
	writeMany(t, s, features,
		rec("alice", t0, value.FromInt64(1), value.FromInt64(10), value.FromFloat64(1.5)),
		rec("bob", t0, value.FromInt64(2), value.FromInt64(20), value.FromFloat64(2.5)),
	)
	write(t, s, "opens_30d:v2", rec("alice", t0, value.FromInt64(100)))
	deleteFeatures(t, s, "opens_30d:v1", "clicks_30d:v1")
	got := read(t, s, append(features, "opens_30d:v2"), []string{"alice", "bob"})
	for i, e := range []string{"alice", "bob"} {
		checkMissing(t, e+" opens_30d:v1", got[i][0])
		checkMissing(t, e+" clicks_30d:v1", got[i][1])
	}
	checkEntry(t, "alice aov:v1", got[0][2], value.FromFloat64(1.5), t0)
	checkEntry(t, "bob aov:v1", got[1][2], value.FromFloat64(2.5), t0)
	checkEntry(t, "alice opens_30d:v2 (another variant)", got[0][3], value.FromInt64(100), t0)
	// Written again, even with an older timestamp: nothing of the old values remains.
	write(t, s, "opens_30d:v1", rec("alice", t0.Add(-1), value.FromInt64(7)))
	checkEntry(t, "alice opens_30d:v1 rewritten", readOne(t, s, "opens_30d:v1", "alice"), value.FromInt64(7), t0.Add(-1))
	checkMissing(t, "bob opens_30d:v1 not rewritten", readOne(t, s, "opens_30d:v1", "bob"))
}

// testDeleteFeaturesManyEntities deletes a feature of more entities than
// one batch of a scanning store holds.
func testDeleteFeaturesManyEntities(t *testing.T, s online.Store) {
	const n = 2500
	recs := make([]online.Record, n)
	entities := make([]string, n)
	for i := range recs {
		entities[i] = fmt.Sprintf("subscriber-%05d", i)
		recs[i] = rec(entities[i], t0, value.FromInt64(int64(i)), value.FromInt64(int64(-i)))
	}
	writeMany(t, s, []string{"gone:default", "kept:default"}, recs...)
	deleteFeatures(t, s, "gone:default")
	got := read(t, s, []string{"gone:default", "kept:default"}, entities)
	for i := range entities {
		checkMissing(t, entities[i]+" gone", got[i][0])
		checkEntry(t, entities[i]+" kept", got[i][1], value.FromInt64(int64(-i)), t0)
	}
}

func testDeleteFeaturesNeverWritten(t *testing.T, s online.Store) {
	deleteFeatures(t, s, "never:default")
	write(t, s, "once:default", rec("alice", t0, value.FromInt64(1)))
	deleteFeatures(t, s, "once:default")
	deleteFeatures(t, s, "once:default") // a deletion that runs again
	checkMissing(t, "alice once", readOne(t, s, "once:default", "alice"))
}

func testDeleteFeaturesInvalid(t *testing.T, s online.Store) {
	write(t, s, "f:default", rec("alice", t0, value.FromInt64(1)))
	for _, p := range []*online.DeleteFeaturesParams{{}, {Features: []string{"f:default", ""}}} {
		if err := s.DeleteFeatures(t.Context(), p); err == nil {
			t.Errorf("DeleteFeatures(%q) succeeded; want an error", p.Features)
		}
	}
	checkEntry(t, "after invalid deletes", readOne(t, s, "f:default", "alice"), value.FromInt64(1), t0)
}
