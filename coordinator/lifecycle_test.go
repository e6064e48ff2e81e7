package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	// A queued job runs only if a worker takes it (after a kill, recovery
	// queues a command's jobs again, and no worker may ever run them): the
	// error says how to end it, not to wait.
	_, err = c.Delete(ctx, &registry.DeleteParams{ID: amount})
	cancel := fmt.Sprintf("slipway jobs cancel %d", jobs[len(jobs)-1].ID)
	if !errors.Is(err, coordinator.ErrInUse) || !strings.Contains(err.Error(), cancel) || !strings.Contains(err.Error(), "slipway worker") || strings.Contains(err.Error(), "wait") {
		t.Fatalf("Delete(amount) with a queued job = %v; want ErrInUse saying %q or to run `slipway worker`, not to wait", err, cancel)
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

// TestDeleteSeesEveryLiveJob: a job on the resource is found however many
// other jobs are live, not only among the newest thousand.
func TestDeleteSeesEveryLiveJob(t *testing.T) {
	c, ctx := setup(t)
	amount := resource.ID{Kind: resource.KindFeature, Name: "amount", Variant: resource.DefaultVariant}
	jobs, err := c.EnqueueMaterialize(ctx, &coordinator.MaterializeParams{Features: []resource.ID{amount}})
	if err != nil {
		t.Fatal(err)
	}
	others := make([]registry.NewJob, 2500)
	for i := range others {
		others[i] = registry.NewJob{Kind: coordinator.JobExport, Resource: spending, Args: []byte(`{}`), MaxAttempts: 1}
	}
	if _, err := c.Registry.EnqueueJobs(ctx, &registry.EnqueueJobsParams{Jobs: others, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Delete(ctx, &registry.DeleteParams{ID: amount})
	if want := fmt.Sprintf("job %d ", jobs[len(jobs)-1].ID); !errors.Is(err, coordinator.ErrInUse) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Delete(amount) behind 2500 newer live jobs = %v; want ErrInUse naming %s", err, want)
	}
}

// hookedRegistry runs beforeDelete when Delete is about to record a
// tombstone.
type hookedRegistry struct {
	registry.Store
	beforeDelete func()
}

func (r *hookedRegistry) Delete(ctx context.Context, p *registry.DeleteParams) (*resource.Resource, error) {
	r.beforeDelete()
	return r.Store.Delete(ctx, p)
}

// gatedOnline holds the first Write until release is closed.
type gatedOnline struct {
	online.Store
	started, release chan struct{}
	once             sync.Once
}

func (g *gatedOnline) Write(ctx context.Context, p *online.WriteParams) error {
	g.once.Do(func() { close(g.started); <-g.release })
	return g.Store.Write(ctx, p)
}

// TestDeleteRacingAMaterialization: a materialization queued and started
// after Delete found the feature idle writes its values after Delete
// removed them; the job then sees the feature deleted and removes what it
// wrote, so no online value of a deleted feature is left.
func TestDeleteRacingAMaterialization(t *testing.T) {
	c, ctx := setup(t)
	amount := resource.ID{Kind: resource.KindFeature, Name: "amount", Variant: resource.DefaultVariant}
	if _, err := c.Run(ctx, &coordinator.RunParams{IDs: []resource.ID{transformationID("clean")}}); err != nil {
		t.Fatal(err)
	}
	gated := &gatedOnline{Store: c.Online, started: make(chan struct{}), release: make(chan struct{})}
	writer := &coordinator.Coordinator{Registry: c.Registry, Offline: c.Offline, Online: gated}
	worked := make(chan error, 1)
	deleter := &coordinator.Coordinator{Registry: &hookedRegistry{Store: c.Registry, beforeDelete: func() {
		// Between Delete's check for jobs and its tombstone, a
		// materialization starts writing.
		jobs, err := writer.EnqueueMaterialize(ctx, &coordinator.MaterializeParams{Features: []resource.ID{amount}})
		if err != nil {
			t.Error(err)
			close(gated.started)
			return
		}
		go func() {
			_, err := fastWorker(writer).Work(ctx, coordinator.JobIDs(jobs))
			worked <- err
		}()
		<-gated.started
	}}, Offline: c.Offline, Online: c.Online}
	if _, err := deleter.Delete(ctx, &registry.DeleteParams{ID: amount}); err != nil {
		t.Fatal(err)
	}
	close(gated.release)
	if err := <-worked; err != nil {
		t.Fatal(err)
	}
	res, err := c.Online.Read(ctx, &online.ReadParams{Features: []string{"amount:default"}, Entities: []string{"u1", "u2"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range res.Entries {
		if e[0].Found {
			t.Errorf("entity %d has a value of the deleted feature, written after the delete: %+v", i, e[0])
		}
	}
}
