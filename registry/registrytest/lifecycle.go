package registrytest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// exerciseLifecycle runs the deprecate and delete behaviours.
func exerciseLifecycle(t *testing.T, open func(t *testing.T) registry.Store) {
	t.Run("Deprecate", func(t *testing.T) {
		t.Run("MarkedAndUsable", func(t *testing.T) { testDeprecateMarkedAndUsable(t, open(t)) })
		t.Run("HiddenFromListOnRequest", func(t *testing.T) { testDeprecateHiddenFromList(t, open(t)) })
		t.Run("KeepsFirstMarkAndUndo", func(t *testing.T) { testDeprecateKeepsFirstMarkAndUndo(t, open(t)) })
		t.Run("UnknownIsNotFound", func(t *testing.T) { testDeprecateUnknown(t, open(t)) })
	})
	t.Run("Delete", func(t *testing.T) {
		t.Run("RefusedWithDependents", func(t *testing.T) { testDeleteRefusedWithDependents(t, open(t)) })
		t.Run("RecordedAndNotListed", func(t *testing.T) { testDeleteRecordedAndNotListed(t, open(t)) })
		t.Run("LeavesFromTheLeaves", func(t *testing.T) { testDeleteFromTheLeaves(t, open(t)) })
		t.Run("IsIdempotent", func(t *testing.T) { testDeleteIsIdempotent(t, open(t)) })
		t.Run("NeverReapplied", func(t *testing.T) { testDeleteNeverReapplied(t, open(t)) })
		t.Run("NoNewDependents", func(t *testing.T) { testDeleteNoNewDependents(t, open(t)) })
		t.Run("DeprecateAfterDelete", func(t *testing.T) { testDeprecateAfterDelete(t, open(t)) })
		t.Run("UnknownIsNotFound", func(t *testing.T) { testDeleteUnknown(t, open(t)) })
	})
	t.Run("List/ByName", func(t *testing.T) { testListByName(t, open(t)) })
}

func deprecate(t *testing.T, s registry.Store, p *registry.DeprecateParams) *resource.Resource {
	t.Helper()
	r, err := s.Deprecate(context.Background(), p)
	if err != nil {
		t.Fatalf("Deprecate(%s): %v", p.ID, err)
	}
	if r == nil || r.ID != p.ID {
		t.Fatalf("Deprecate(%s) returned %v", p.ID, r)
	}
	return r
}

func del(t *testing.T, s registry.Store, p *registry.DeleteParams) *resource.Resource {
	t.Helper()
	r, err := s.Delete(context.Background(), p)
	if err != nil {
		t.Fatalf("Delete(%s): %v", p.ID, err)
	}
	if r == nil || r.ID != p.ID {
		t.Fatalf("Delete(%s) returned %v", p.ID, r)
	}
	return r
}

func list(t *testing.T, s registry.Store, p *registry.ListParams) []resource.ID {
	t.Helper()
	rs, err := s.List(context.Background(), p)
	if err != nil {
		t.Fatalf("List(%+v): %v", p, err)
	}
	return ids(rs)
}

func requireMark(t *testing.T, what string, m *resource.Mark, by, reason string, before, after time.Time) {
	t.Helper()
	if m == nil {
		t.Fatalf("%s: no mark, want one by %q", what, by)
	}
	if m.By != by || m.Reason != reason || !stamp(m.At, before, after) {
		t.Fatalf("%s: mark %+v; want by %q, reason %q, at between %v and %v", what, m, by, reason, before, after)
	}
}

func testDeprecateMarkedAndUsable(t *testing.T, s registry.Store) {
	rs := graph()
	apply(t, s, rs...)
	opens := rs[2].ID
	before := time.Now()
	r := deprecate(t, s, &registry.DeprecateParams{ID: opens, By: "ana", Reason: "use opens_v2"})
	requireMark(t, "Deprecate result", r.State.Deprecated, "ana", "use opens_v2", before, time.Now())
	got := get(t, s, opens)
	requireMark(t, "Get after Deprecate", got.State.Deprecated, "ana", "use opens_v2", before, time.Now())
	requireSameDefinition(t, got, rs[2])
	// Still usable: status changes, dependents, and new dependents.
	if err := s.SetStatus(context.Background(), &registry.SetStatusParams{ID: opens, Status: resource.StatusReady}); err != nil {
		t.Fatalf("SetStatus of a deprecated resource: %v", err)
	}
	requireDependents(t, s, opens, rs[3].ID)
	f := feature("opens_7d", "customer", opens, "opens")
	apply(t, s, f)
	requireDependents(t, s, opens, rs[3].ID, f.ID)
	// Re-applying the deprecated definition is unchanged and keeps the mark.
	res := apply(t, s, rs[2])
	requireIDs(t, "unchanged", res.Unchanged, []resource.ID{opens})
	requireMark(t, "after re-apply", get(t, s, opens).State.Deprecated, "ana", "use opens_v2", before, time.Now())
	if other := get(t, s, rs[1].ID); other.State.Deprecated != nil {
		t.Fatalf("%s is deprecated too: %+v", other.ID, other.State.Deprecated)
	}
}

func testDeprecateHiddenFromList(t *testing.T, s registry.Store) {
	rs := graph()
	apply(t, s, rs...)
	deprecate(t, s, &registry.DeprecateParams{ID: rs[2].ID})
	all := ids(rs)
	requireIDs(t, "List{}", list(t, s, &registry.ListParams{}), all)
	want := append(append([]resource.ID{}, all[:2]...), all[3:]...)
	requireIDs(t, "List{NotDeprecated}", list(t, s, &registry.ListParams{NotDeprecated: true}), want)
	requireIDs(t, "List{transformation, NotDeprecated}", list(t, s, &registry.ListParams{Kind: resource.KindTransformation, NotDeprecated: true}), nil)
}

func testDeprecateKeepsFirstMarkAndUndo(t *testing.T, s registry.Store) {
	rs := graph()
	apply(t, s, rs...)
	id := rs[3].ID
	before := time.Now()
	deprecate(t, s, &registry.DeprecateParams{ID: id, By: "ana"})
	after := time.Now()
	r := deprecate(t, s, &registry.DeprecateParams{ID: id, By: "ben", Reason: "again"})
	requireMark(t, "second Deprecate", r.State.Deprecated, "ana", "", before, after)
	r = deprecate(t, s, &registry.DeprecateParams{ID: id, Undo: true})
	if r.State.Deprecated != nil {
		t.Fatalf("after Undo: still deprecated %+v", r.State.Deprecated)
	}
	if got := get(t, s, id); got.State.Deprecated != nil {
		t.Fatalf("Get after Undo: still deprecated %+v", got.State.Deprecated)
	}
	// Undoing what is not deprecated is no change.
	deprecate(t, s, &registry.DeprecateParams{ID: id, Undo: true})
}

func testDeprecateUnknown(t *testing.T, s registry.Store) {
	id := resource.ID{Kind: resource.KindFeature, Name: "nope", Variant: resource.DefaultVariant}
	if _, err := s.Deprecate(context.Background(), &registry.DeprecateParams{ID: id}); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Deprecate(unknown) = %v; want ErrNotFound", err)
	}
}

func testDeleteRefusedWithDependents(t *testing.T, s registry.Store) {
	rs, id := lineage()
	apply(t, s, rs...)
	_, err := s.Delete(context.Background(), &registry.DeleteParams{ID: id["opens"], By: "ana"})
	var de *registry.DependentsError
	if !errors.As(err, &de) || !errors.Is(err, registry.ErrHasDependents) {
		t.Fatalf("Delete(opens) = %v; want a *DependentsError", err)
	}
	requireIDs(t, "DependentsError.Dependents", de.Dependents, []resource.ID{id["opens_daily"], id["last_open"]})
	for _, d := range []string{"transformation opens_daily:default", "feature last_open:default"} {
		if !strings.Contains(err.Error(), d) {
			t.Errorf("error %q does not name %s", err, d)
		}
	}
	// Nothing was recorded.
	if r := get(t, s, id["opens"]); r.State.Deleted != nil {
		t.Fatalf("refused delete left a mark: %+v", r.State.Deleted)
	}
	// A deprecated dependent still blocks.
	deprecate(t, s, &registry.DeprecateParams{ID: id["baseline"]})
	if _, err := s.Delete(context.Background(), &registry.DeleteParams{ID: id["purchased"]}); !errors.Is(err, registry.ErrHasDependents) {
		t.Fatalf("Delete(purchased) with a deprecated dependent = %v; want ErrHasDependents", err)
	}
}

func testDeleteRecordedAndNotListed(t *testing.T, s registry.Store) {
	rs, id := lineage()
	apply(t, s, rs...)
	before := time.Now()
	r := del(t, s, &registry.DeleteParams{ID: id["baseline"], By: "ana", Reason: "replaced"})
	after := time.Now()
	requireMark(t, "Delete result", r.State.Deleted, "ana", "replaced", before, after)

	// Get answers a *DeletedError holding the tombstone; it is ErrNotFound too.
	_, err := s.Get(context.Background(), id["baseline"])
	var de *registry.DeletedError
	if !errors.As(err, &de) || !errors.Is(err, registry.ErrDeleted) || !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Get(deleted) = %v; want a *DeletedError that is ErrDeleted and ErrNotFound", err)
	}
	requireMark(t, "tombstone", de.Resource.State.Deleted, "ana", "replaced", before, after)
	requireSameDefinition(t, de.Resource, rs[8])

	all := []resource.ID{id["customer"], id["email_events"], id["opens"], id["opens_daily"], id["last_open"], id["opens_30d"], id["purchased"], id["baseline"], id["campaign_model"]}
	requireIDs(t, "List{Deleted}", list(t, s, &registry.ListParams{Deleted: true}), all)
	requireIDs(t, "List{}", list(t, s, &registry.ListParams{}), append(all[:7:7], id["campaign_model"]))
	requireIDs(t, "List{training_set}", list(t, s, &registry.ListParams{Kind: resource.KindTrainingSet}), []resource.ID{id["campaign_model"]})
	// Dependents leave deleted resources out.
	requireDependents(t, s, id["opens_30d"], id["campaign_model"])
	requireDependents(t, s, id["baseline"])
}

func testDeleteFromTheLeaves(t *testing.T, s registry.Store) {
	rs, id := lineage()
	apply(t, s, rs...)
	// Delete everything, dependents first: each delete is allowed once
	// the resources that used it are deleted.
	for i := len(rs) - 1; i >= 0; i-- {
		del(t, s, &registry.DeleteParams{ID: rs[i].ID})
	}
	requireIDs(t, "List{}", list(t, s, &registry.ListParams{}), nil)
	if got := list(t, s, &registry.ListParams{Deleted: true}); len(got) != len(rs) {
		t.Fatalf("List{Deleted} = %v; want all %d tombstones", got, len(rs))
	}
	requireNotFound(t, s, id["customer"])
}

func testDeleteIsIdempotent(t *testing.T, s registry.Store) {
	rs := graph()
	apply(t, s, rs...)
	tsID := rs[5].ID
	before := time.Now()
	del(t, s, &registry.DeleteParams{ID: tsID, By: "ana"})
	after := time.Now()
	r := del(t, s, &registry.DeleteParams{ID: tsID, By: "ben"})
	requireMark(t, "second Delete", r.State.Deleted, "ana", "", before, after)
}

func testDeleteNeverReapplied(t *testing.T, s registry.Store) {
	rs := graph()
	apply(t, s, rs...)
	f := rs[3]
	del(t, s, &registry.DeleteParams{ID: rs[5].ID, By: "ana"})
	del(t, s, &registry.DeleteParams{ID: f.ID, By: "ana"})
	changed := feature(f.Name, "customer", rs[2].ID, "other_column")
	for _, r := range []*resource.Resource{f, changed} {
		_, err := s.Apply(context.Background(), &registry.ApplyParams{Resources: []*resource.Resource{entity("shop"), r}})
		if !errors.Is(err, registry.ErrDeleted) || !strings.Contains(err.Error(), "new variant") {
			t.Fatalf("re-applying deleted %s = %v; want ErrDeleted saying to use a new variant", r.ID, err)
		}
	}
	requireNotFound(t, s, entity("shop").ID) // all or nothing
	// A new variant is fine.
	apply(t, s, withVariant(changed, "v2"))
}

func testDeleteNoNewDependents(t *testing.T, s registry.Store) {
	rs := graph()
	apply(t, s, rs...)
	del(t, s, &registry.DeleteParams{ID: rs[5].ID})
	del(t, s, &registry.DeleteParams{ID: rs[3].ID})
	opens := rs[2].ID
	del(t, s, &registry.DeleteParams{ID: opens})
	f := feature("opens_7d", "customer", opens, "opens")
	_, err := s.Apply(context.Background(), &registry.ApplyParams{Resources: []*resource.Resource{f}})
	if !errors.Is(err, registry.ErrDeleted) || !strings.Contains(err.Error(), "transformation opens:default") {
		t.Fatalf("Apply of a feature over a deleted transformation = %v; want ErrDeleted naming it", err)
	}
	requireNotFound(t, s, f.ID)
}

func testDeprecateAfterDelete(t *testing.T, s registry.Store) {
	rs := graph()
	apply(t, s, rs...)
	del(t, s, &registry.DeleteParams{ID: rs[5].ID})
	_, err := s.Deprecate(context.Background(), &registry.DeprecateParams{ID: rs[5].ID})
	if !errors.Is(err, registry.ErrDeleted) {
		t.Fatalf("Deprecate(deleted) = %v; want ErrDeleted", err)
	}
}

func testDeleteUnknown(t *testing.T, s registry.Store) {
	id := resource.ID{Kind: resource.KindSource, Name: "nope", Variant: resource.DefaultVariant}
	if _, err := s.Delete(context.Background(), &registry.DeleteParams{ID: id}); !errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrDeleted) {
		t.Fatalf("Delete(unknown) = %v; want ErrNotFound", err)
	}
}

func testListByName(t *testing.T, s registry.Store) {
	rs := graph()
	apply(t, s, rs...)
	v2 := withVariant(transformation("opens", "SELECT 2 FROM {{ email_events }}", rs[1].ID), "v2")
	other := transformation("clicks", "SELECT 3 FROM {{ email_events }}", rs[1].ID)
	apply(t, s, v2, other)
	requireIDs(t, "List{Name: opens}", list(t, s, &registry.ListParams{Name: "opens"}), []resource.ID{rs[2].ID, v2.ID})
	requireIDs(t, "List{source, Name: opens}", list(t, s, &registry.ListParams{Kind: resource.KindSource, Name: "opens"}), nil)
}
