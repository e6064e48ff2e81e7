package registrytest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// ExerciseShared runs the behaviours of several stores open on one registry
// at once, as separate processes sharing a file or a database are: only the
// database keeps them apart, not anything one store holds in memory.
//
// newRegistry prepares a fresh, empty, isolated registry (registering its
// removal with t.Cleanup) and returns open, which opens another store on it
// each time it is called, with connections of its own, and registers the
// store's Close with t.Cleanup. open may be called concurrently, and the
// first call may be the one that creates the registry.
func ExerciseShared(t *testing.T, newRegistry func(t *testing.T) (open func(t *testing.T) (registry.Store, error))) {
	t.Helper()
	stores := func(t *testing.T, n int) []registry.Store {
		t.Helper()
		open := newRegistry(t)
		out := make([]registry.Store, n)
		for i := range out {
			s, err := open(t)
			if err != nil {
				t.Fatalf("opening store %d: %v", i, err)
			}
			out[i] = s
		}
		return out
	}
	t.Run("Shared/ConcurrentOpen", func(t *testing.T) { testSharedConcurrentOpen(t, newRegistry(t)) })
	t.Run("Shared/ConcurrentApply", func(t *testing.T) { testSharedConcurrentApply(t, stores(t, 2)) })
	t.Run("Shared/ConcurrentWatermarks", func(t *testing.T) { testSharedConcurrentWatermarks(t, stores(t, 2)) })
	t.Run("Shared/ConcurrentClaimsNeverShare", func(t *testing.T) { testSharedConcurrentClaims(t, stores(t, 2)) })
	exerciseSharedModels(t, stores) // models.go
}

// testSharedConcurrentOpen opens several stores on a new registry at once,
// like replicas deploying together: each must open (creating the schema
// exactly once, not failing on a table another one just created), and all
// are the same registry.
func testSharedConcurrentOpen(t *testing.T, open func(t *testing.T) (registry.Store, error)) {
	const n = 6
	stores := make([]registry.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = open(t) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("opening store %d of %d at once: %v", i, n, err)
		}
	}
	want, err := stores[0].ID(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		if id, err := s.ID(t.Context()); err != nil || id != want {
			t.Errorf("store %d: ID() = %q, %v; want %q, the registry's one id", i, id, err, want)
		}
	}
	cust := entity("customer")
	apply(t, stores[n-1], cust)
	if got := get(t, stores[0], cust.ID); got.Description != cust.Description {
		t.Errorf("store 0 reads %q for what store %d applied, want %q", got.Description, n-1, cust.Description)
	}
}

func described(name, description string) *resource.Resource {
	r := entity(name)
	r.Description = description
	return r
}

// testSharedConcurrentApply applies from goroutines on two stores. Batches
// overlap in identical resources (each created exactly once) and in one
// contested ID with a different definition per goroutine (exactly one wins;
// the losers write nothing, not even the rest of their batch).
func testSharedConcurrentApply(t *testing.T, stores []registry.Store) {
	ctx := t.Context()
	const goroutines, rounds = 4, 10
	var (
		mu        sync.Mutex
		createdBy = map[resource.ID]int{}
		winners   []string
		wg        sync.WaitGroup
	)
	for si, s := range stores {
		for g := range goroutines {
			wg.Go(func() {
				for i := range rounds {
					shared := described(fmt.Sprintf("shared_%d", i), "same everywhere")
					own := described(fmt.Sprintf("e_%d_%d_%d", si, g, i), "")
					res, err := s.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{shared, own}})
					if err != nil {
						t.Errorf("store %d: %v", si, err)
						return
					}
					mu.Lock()
					for _, id := range res.Created {
						createdBy[id]++
					}
					mu.Unlock()
					if err := s.SetStatus(ctx, &registry.SetStatusParams{ID: shared.ID, Status: resource.StatusReady}); err != nil {
						t.Errorf("store %d: %v", si, err)
						return
					}
				}
				me := fmt.Sprintf("%d_%d", si, g)
				contested := described("shop", "claimed by "+me)
				_, err := s.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{described("loser_"+me, ""), contested}})
				switch {
				case err == nil:
					mu.Lock()
					winners = append(winners, me)
					mu.Unlock()
				case errors.Is(err, registry.ErrConflict):
					var ce *registry.ConflictError
					if !errors.As(err, &ce) || ce.ID != contested.ID || len(ce.Diffs) != 1 || ce.Diffs[0].Field != "description" {
						t.Errorf("store %d: conflict %v does not name the description of %s", si, err, contested.ID)
					}
				default:
					t.Errorf("store %d contest: %v", si, err)
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for id, n := range createdBy {
		if n != 1 {
			t.Errorf("%s reported created %d times", id, n)
		}
	}
	if want := len(stores)*goroutines*rounds + rounds; len(createdBy) != want {
		t.Errorf("%d resources reported created, want %d", len(createdBy), want)
	}
	if len(winners) != 1 {
		t.Fatalf("contested ID won by %v, want exactly one", winners)
	}
	for _, s := range stores {
		all, err := s.List(ctx, &registry.ListParams{Kind: resource.KindEntity})
		if err != nil {
			t.Fatal(err)
		}
		// Own and shared entities, the shop and the winner's companion.
		if want := len(stores)*goroutines*rounds + rounds + 2; len(all) != want {
			t.Errorf("List: %d entities, want %d", len(all), want)
		}
		if got := get(t, s, entity("shop").ID); got.Description != "claimed by "+winners[0] {
			t.Errorf("shop description %q, winner was %s", got.Description, winners[0])
		}
		for si := range stores {
			for g := range goroutines {
				me := fmt.Sprintf("%d_%d", si, g)
				if me == winners[0] {
					get(t, s, entity("loser_"+me).ID)
				} else {
					requireNotFound(t, s, entity("loser_"+me).ID)
				}
			}
		}
		for i := range rounds {
			got := get(t, s, entity(fmt.Sprintf("shared_%d", i)).ID)
			if got.State.Status != resource.StatusReady || got.State.UpdatedAt.Before(got.State.CreatedAt) {
				t.Errorf("%s state %+v", got.ID, got.State)
			}
		}
	}
}

// testSharedConcurrentWatermarks races watermarks from two stores: nothing
// in one store's memory serialises them, so the database and the compare
// in the update must, and the latest watermark is what remains.
func testSharedConcurrentWatermarks(t *testing.T, stores []registry.Store) {
	ctx := t.Context()
	cust := entity("customer")
	apply(t, stores[0], cust)
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const perStore = 20
	var wg sync.WaitGroup
	for si, s := range stores {
		wg.Go(func() {
			for i := range perStore {
				// Store 0 counts up, store 1 down, so they cross half-way.
				n := i
				if si == 1 {
					n = perStore - 1 - i
				}
				wm := base.Add(time.Duration(2*n+si) * time.Second)
				if err := s.SetStatus(ctx, &registry.SetStatusParams{ID: cust.ID, Status: resource.StatusReady, Watermark: wm}); err != nil {
					t.Errorf("store %d: %v", si, err)
					return
				}
			}
		})
	}
	wg.Wait()
	want := base.Add(time.Duration(2*(perStore-1)+1) * time.Second)
	for si, s := range stores {
		if got := get(t, s, cust.ID); !got.State.Watermark.Equal(want) {
			t.Errorf("store %d: watermark %v; want %v", si, got.State.Watermark, want)
		}
	}
}

// testSharedConcurrentClaims claims from workers on two stores: no job is
// given to two of them, and every job is given out.
func testSharedConcurrentClaims(t *testing.T, stores []registry.Store) {
	const n, workersPerStore = 40, 4
	var batch []registry.NewJob
	for i := range n {
		batch = append(batch, newJob(fmt.Sprintf("j%d", i)))
	}
	enqueue(t, stores[0], batch...)
	claimed := claimConcurrently(t, stores, workersPerStore)
	if len(claimed) != n {
		t.Errorf("%d jobs claimed; want %d", len(claimed), n)
	}
	for id, worker := range claimed {
		if j := getJob(t, stores[1], id); j.Status != registry.JobRunning || j.Worker != worker || j.Attempts != 1 {
			t.Errorf("job %d is %s by %q in attempt %d; want running by %s in attempt 1", id, j.Status, j.Worker, j.Attempts, worker)
		}
	}
}
