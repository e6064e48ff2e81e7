package coordinator_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

func TestDeleteRemovesOfflineTableAndOnlineValues(t *testing.T) {
	c, ctx := setup(t)
	id := func(kind resource.Kind, name string) resource.ID {
		return resource.ID{Kind: kind, Name: name, Variant: resource.DefaultVariant}
	}
	amount, amountCopy, lastKind := id(resource.KindFeature, "amount"), id(resource.KindFeature, "amount_copy"), id(resource.KindFeature, "last_kind")
	clean := id(resource.KindTransformation, "clean")
	if _, err := c.Materialize(ctx, &coordinator.MaterializeParams{Features: []resource.ID{amount, amountCopy, lastKind}}); err != nil {
		t.Fatal(err)
	}
	read := func() [][]online.Entry {
		t.Helper()
		res, err := c.Online.Read(ctx, &online.ReadParams{Features: []string{"amount:default", "amount_copy:default"}, Entities: []string{"u1", "u2"}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Entries
	}
	if e := read(); !e[0][0].Found || !e[1][1].Found {
		t.Fatalf("materialized values missing: %+v", e)
	}

	// The transformation is used by the features: refused, naming them.
	_, err := c.Delete(ctx, &registry.DeleteParams{ID: clean, By: "ana"})
	var de *registry.DependentsError
	if !errors.As(err, &de) || len(de.Dependents) != 3 {
		t.Fatalf("Delete(clean) = %v; want a DependentsError naming the 3 features", err)
	}

	// A job working on the feature blocks the delete until it ends.
	jobs, err := c.EnqueueMaterialize(ctx, &coordinator.MaterializeParams{Features: []resource.ID{amount}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(ctx, &registry.DeleteParams{ID: amount}); !errors.Is(err, coordinator.ErrInUse) || !strings.Contains(err.Error(), "slipway jobs cancel") {
		t.Fatalf("Delete(amount) with a queued job = %v; want ErrInUse saying how to cancel", err)
	}
	for _, j := range jobs {
		if _, err := c.Registry.CancelJob(ctx, &registry.CancelJobParams{ID: j.ID, Now: time.Now()}); err != nil && !errors.Is(err, registry.ErrJobState) {
			t.Fatal(err)
		}
	}

	res, err := c.Delete(ctx, &registry.DeleteParams{ID: amount, By: "ana", Reason: "unused"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Again || res.OnlineFeature != "amount:default" || res.Resource.State.Deleted == nil || res.Resource.State.Deleted.By != "ana" {
		t.Fatalf("Delete(amount) = %+v", res)
	}
	e := read()
	if e[0][0].Found || e[1][0].Found {
		t.Fatalf("online values of the deleted feature remain: %+v", e)
	}
	if !e[0][1].Found || !e[1][1].Found {
		t.Fatalf("online values of another feature were deleted: %+v", e)
	}

	// Once its features are deleted, the transformation goes, with its table.
	for _, f := range []resource.ID{amountCopy, lastKind} {
		if _, err := c.Delete(ctx, &registry.DeleteParams{ID: f}); err != nil {
			t.Fatal(err)
		}
	}
	table := offline.TableName(clean)
	if _, err := c.Offline.Describe(ctx, &offline.DescribeParams{SQL: "SELECT * FROM " + table}); err != nil {
		t.Fatalf("the table of clean is missing before the delete: %v", err)
	}
	res, err = c.Delete(ctx, &registry.DeleteParams{ID: clean})
	if err != nil || res.Table != table {
		t.Fatalf("Delete(clean) = %+v, %v", res, err)
	}
	if _, err := c.Offline.Describe(ctx, &offline.DescribeParams{SQL: "SELECT * FROM " + table}); err == nil {
		t.Fatal("the table of the deleted transformation can still be read")
	}
	// Deleting again runs the clean-up again and says so.
	if res, err := c.Delete(ctx, &registry.DeleteParams{ID: clean}); err != nil || !res.Again {
		t.Fatalf("second Delete(clean) = %+v, %v; want Again", res, err)
	}
	// Materializing every feature skips the deleted ones.
	if _, err := c.Materialize(ctx, &coordinator.MaterializeParams{}); err != nil {
		t.Fatalf("materialize after deletes: %v", err)
	}
}
