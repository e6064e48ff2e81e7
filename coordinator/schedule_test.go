package coordinator_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// scheduled registers a variant of r with a schedule and returns it as registered.
func scheduled(t *testing.T, c *coordinator.Coordinator, kind resource.Kind, name, variant, expr string) *resource.Resource {
	t.Helper()
	r, err := c.Registry.Get(t.Context(), resource.ID{Kind: kind, Name: name, Variant: resource.DefaultVariant})
	if err != nil {
		t.Fatal(err)
	}
	r.Variant = variant
	r.State = resource.State{Status: resource.StatusPending}
	if r.Transformation != nil {
		r.Transformation.Schedule = expr
	} else {
		r.Feature.Schedule = expr
	}
	if _, err := c.Registry.Apply(t.Context(), &registry.ApplyParams{Resources: []*resource.Resource{r}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Registry.Get(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// drain works every queued job to its end.
func drain(t *testing.T, c *coordinator.Coordinator) {
	t.Helper()
	queued, err := c.Registry.ListJobs(t.Context(), &registry.ListJobsParams{Statuses: []registry.JobStatus{registry.JobQueued}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fastWorker(c).Work(t.Context(), coordinator.JobIDs(queued)); err != nil {
		t.Fatalf("working the queued jobs: %v", err)
	}
}

// tick runs one scheduler tick at the given time and returns the keys of the jobs it queued.
func tick(t *testing.T, s *coordinator.Scheduler, clock *fakeClock, at time.Time) []string {
	t.Helper()
	clock.t = at
	jobs, err := s.Tick(t.Context())
	if err != nil {
		t.Fatalf("Tick at %s: %v", at.Format(time.RFC3339), err)
	}
	var keys []string
	for _, j := range jobs {
		if j.Key != "" {
			keys = append(keys, j.Key)
		}
	}
	return keys
}

func TestScheduleFiresAtItsTimes(t *testing.T) {
	c, _ := setup(t)
	clock := &fakeClock{}
	c.Now = clock.Now
	r := scheduled(t, c, resource.KindTransformation, "clean", "hourly", "0 * * * *")
	s := &coordinator.Scheduler{Coordinator: c}
	h1 := r.State.CreatedAt.UTC().Truncate(time.Hour).Add(time.Hour)
	key := func(at time.Time) string {
		return "schedule:transformation/clean:hourly@" + at.Format(time.RFC3339)
	}
	if got := tick(t, s, clock, h1.Add(-time.Second)); len(got) != 0 {
		t.Errorf("before the first firing: queued %v", got)
	}
	if got := tick(t, s, clock, h1); len(got) != 1 || got[0] != key(h1) {
		t.Errorf("at the first firing: queued %v; want [%s]", got, key(h1))
	}
	if got := tick(t, s, clock, h1.Add(30*time.Minute)); len(got) != 0 {
		t.Errorf("between firings: queued %v", got)
	}
	// While the last run has not ended, firings queue nothing: runs never pile up.
	if got := tick(t, s, clock, h1.Add(time.Hour+time.Second)); len(got) != 0 {
		t.Errorf("at the second firing, with the first run still queued: queued %v", got)
	}
	drain(t, c)
	if got := tick(t, s, clock, h1.Add(time.Hour+2*time.Second)); len(got) != 1 || got[0] != key(h1.Add(time.Hour)) {
		t.Errorf("once the first run ended: queued %v; want [%s]", got, key(h1.Add(time.Hour)))
	}
	// The queued run rebuilds the transformation.
	jobs, err := c.Registry.ListJobs(t.Context(), &registry.ListJobsParams{Statuses: []registry.JobStatus{registry.JobQueued}})
	if err != nil || len(jobs) != 1 || jobs[0].Kind != coordinator.JobTransformation || jobs[0].Resource != r.ID {
		t.Fatalf("queued jobs: %+v, %v; want one build of %s", jobs, err, r.ID)
	}
	ended, err := fastWorker(c).Work(t.Context(), coordinator.JobIDs(jobs))
	if err != nil || ended[0].Status != registry.JobSucceeded {
		t.Fatalf("scheduled run: %+v, %v", ended[0], err)
	}
}

func TestScheduleCatchesUpMissedRunsOnce(t *testing.T) {
	c, _ := setup(t)
	clock := &fakeClock{}
	c.Now = clock.Now
	r := scheduled(t, c, resource.KindTransformation, "clean", "hourly", "0 * * * *")
	s := &coordinator.Scheduler{Coordinator: c}
	h1 := r.State.CreatedAt.UTC().Truncate(time.Hour).Add(time.Hour)
	tick(t, s, clock, h1)
	drain(t, c)
	// Down for five and a half hours: five firings missed, one run.
	back := h1.Add(5*time.Hour + 30*time.Minute)
	got := tick(t, s, clock, back)
	want := "schedule:transformation/clean:hourly@" + h1.Add(5*time.Hour).Format(time.RFC3339)
	if len(got) != 1 || got[0] != want {
		t.Errorf("after missing five firings: queued %v; want one run [%s]", got, want)
	}
	if got := tick(t, s, clock, back.Add(time.Minute)); len(got) != 0 {
		t.Errorf("the tick after the catch-up queued %v", got)
	}
}

func TestTwoSchedulersQueueEachFiringOnce(t *testing.T) {
	c, _ := setup(t)
	clock := &fakeClock{}
	c.Now = clock.Now
	r := scheduled(t, c, resource.KindTransformation, "clean", "every", "@every 15m")
	a, b := &coordinator.Scheduler{Coordinator: c}, &coordinator.Scheduler{Coordinator: c}
	at := r.State.CreatedAt.Add(16 * time.Minute)
	clock.t = at
	var total int
	for _, s := range []*coordinator.Scheduler{a, b, a} {
		jobs, err := s.Tick(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		total += len(jobs)
	}
	if total != 1 {
		t.Errorf("three ticks of two schedulers at one firing queued %d jobs; want 1", total)
	}
}

func TestScheduledFeatureRebuildsThenMaterializes(t *testing.T) {
	c, ctx := setup(t)
	clock := &fakeClock{}
	c.Now = clock.Now
	f := scheduled(t, c, resource.KindFeature, "amount", "daily", "@daily")
	s := &coordinator.Scheduler{Coordinator: c}
	clock.t = f.State.CreatedAt.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	jobs, err := s.Tick(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].Kind != coordinator.JobTransformation || jobs[1].Kind != coordinator.JobMaterialize ||
		!strings.HasPrefix(jobs[1].Key, "schedule:feature/amount:daily@") {
		t.Fatalf("a feature's firing queued %+v; want its transformation built, then the feature materialized", jobs)
	}
	ended, err := fastWorker(c).Work(ctx, coordinator.JobIDs(jobs))
	if err != nil {
		t.Fatalf("scheduled refresh: %v", err)
	}
	if ended[1].Status != registry.JobSucceeded || ended[1].Rows != 3 {
		t.Errorf("materialize job: %+v; want 3 values written", ended[1])
	}
	got, err := c.Registry.Get(ctx, f.ID)
	if err != nil || got.State.Status != resource.StatusReady || got.State.Watermark.IsZero() {
		t.Errorf("scheduled feature after its run: %+v, %v; want ready with a watermark", got.State, err)
	}
}

func TestFeaturesOfOneSourceShareARebuild(t *testing.T) {
	c, ctx := setup(t)
	clock := &fakeClock{}
	c.Now = clock.Now
	a := scheduled(t, c, resource.KindFeature, "amount", "daily", "@daily")
	scheduled(t, c, resource.KindFeature, "last_kind", "daily", "@daily")
	s := &coordinator.Scheduler{Coordinator: c}
	clock.t = a.State.CreatedAt.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	jobs, err := s.Tick(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	keyed := 0
	for _, j := range jobs {
		kinds = append(kinds, j.Kind)
		if j.Key != "" {
			keyed++
		}
	}
	if got := strings.Join(kinds, ", "); got != "transformation, materialize, materialize" || keyed != 2 {
		t.Fatalf("two features of clean due at one firing queued %s (%d keyed); want one rebuild, then each feature", got, keyed)
	}
	ended, err := fastWorker(c).Work(ctx, coordinator.JobIDs(jobs))
	if err != nil {
		t.Fatalf("scheduled refresh: %v", err)
	}
	for _, j := range ended {
		if j.Status != registry.JobSucceeded {
			t.Errorf("job %d %s: %s %s", j.ID, j.Kind, j.Status, j.Error)
		}
	}
	if got := tick(t, s, clock, clock.t.Add(time.Hour)); len(got) != 0 {
		t.Errorf("an hour later: queued %v", got)
	}
}
