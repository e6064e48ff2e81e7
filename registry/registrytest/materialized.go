package registrytest

import (
	"context"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// testSetStatusMaterialized checks that a feature's last successful
// materialization is recorded at microsecond precision in UTC, read by Get
// and List, kept by a SetStatus that gives none (a failed run's), replaced
// by a later one and kept against an earlier one (two runs ending out of
// order), with the job and the time always from the same run.
func testSetStatusMaterialized(t *testing.T, s registry.Store) {
	ctx := context.Background()
	rs := graph()
	apply(t, s, rs...)
	opens30 := rs[3].ID
	if m := get(t, s, opens30).State.Materialized; m != nil {
		t.Fatalf("materialized %+v before any was recorded; want nil", m)
	}
	set := func(p registry.SetStatusParams) {
		t.Helper()
		p.ID = opens30
		if err := s.SetStatus(ctx, &p); err != nil {
			t.Fatalf("SetStatus(%+v): %v", p, err)
		}
	}
	want := func(what string, w resource.Materialization) {
		t.Helper()
		got := get(t, s, opens30).State.Materialized
		if got == nil || got.Job != w.Job || !got.At.Equal(w.At) || got.At.Location() != time.UTC {
			t.Fatalf("%s: Get materialized %+v; want %+v in UTC", what, got, w)
		}
		listed, err := s.List(ctx, &registry.ListParams{Kind: resource.KindFeature})
		if err != nil || len(listed) != 1 {
			t.Fatalf("%s: List = %v, %v; want %s", what, ids(listed), err, opens30)
		}
		if got := listed[0].State.Materialized; got == nil || got.Job != w.Job || !got.At.Equal(w.At) {
			t.Fatalf("%s: List materialized %+v; want %+v", what, got, w)
		}
	}
	first := resource.Materialization{At: time.Date(2026, 3, 1, 4, 5, 6, 123456000, time.FixedZone("UTC+5:30", 5*3600+1800)), Job: 7}
	set(registry.SetStatusParams{Status: resource.StatusReady, Materialized: &first})
	want("after the first", first)
	set(registry.SetStatusParams{Status: resource.StatusFailed, Error: "boom"})
	want("after a failed run", first)
	if st := get(t, s, opens30).State; st.Status != resource.StatusFailed || st.Error != "boom" {
		t.Errorf("status %s, error %q after a failed run; want failed, boom", st.Status, st.Error)
	}
	apply(t, s, graph()...)
	want("after an unchanged re-apply", first)

	second := resource.Materialization{At: first.At.Add(time.Hour + time.Microsecond), Job: 12}
	set(registry.SetStatusParams{Status: resource.StatusReady, Materialized: &second})
	want("after a later one", second)
	earlier := resource.Materialization{At: second.At.Add(-time.Microsecond), Job: 11}
	set(registry.SetStatusParams{Status: resource.StatusReady, Materialized: &earlier})
	want("after one that ended a microsecond earlier", second)
	if other := get(t, s, rs[2].ID).State.Materialized; other != nil {
		t.Errorf("%s: materialized %+v; want nil (only %s was recorded)", rs[2].ID, other, opens30)
	}
}
