package platform_test

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/demo"
	"github.com/slipway-ml/slipway/internal/backends"
	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/serving"
)

// hourlyFeature is a feature of the demo's engagement source refreshed
// @hourly, without max age: its freshness is its schedule's.
const hourlyFeature = `features:
  - name: opens_hourly
    entity: subscriber
    source: subscriber_engagement_30d
    entity_column: subscriber_id
    value_column: opens_30d
    timestamp_column: as_of
    type: int64
    schedule: "@hourly"
`

// TestFreshness materializes the demo (all features but shop_plan) at a
// fixed clock on the embedded stores and on PostgreSQL + Redis, and reads
// its freshness: fresh, with the newest event time the online store
// serves; stale past max_age by the right age; stale when a scheduled run
// is overdue, fresh again once a run succeeds; shop_plan never
// materialized.
func TestFreshness(t *testing.T) {
	t.Run("Embedded", func(t *testing.T) { testFreshness(t, config.Default()) })
	t.Run("PostgresRedis", func(t *testing.T) {
		dsn, schema := testenv.PostgresSchema(t)
		addr := testenv.Redis(t)
		prefix := "slipwaytest:" + strings.ToLower(rand.Text()[:12]) + ":"
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rc := redis.NewClient(&redis.Options{Addr: addr})
			defer rc.Close()
			iter := rc.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				rc.Del(ctx, iter.Val())
			}
			if err := iter.Err(); err != nil {
				t.Errorf("deleting keys %s*: %v", prefix, err)
			}
		})
		cfg := config.Default()
		cfg.Registry = config.Provider{Type: backends.Postgres, Role: config.RoleRegistry}.With("dsn", dsn).With("schema", schema)
		cfg.Online = config.Provider{Type: backends.Redis, Role: config.RoleOnline}.With("addrs", []string{addr}).With("key_prefix", prefix)
		testFreshness(t, cfg)
	})
}

func testFreshness(t *testing.T, cfg *config.Config) {
	ctx := t.Context()
	dir := t.TempDir()
	// The demo's 90 days end today; the clock stands on the next day (the
	// registry dates definitions by the wall clock, and the scheduler
	// counts firings from then), when the 30-day window's closing rows,
	// dated later, are not online yet.
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -demo.DefaultDays+1)
	t0 := start.AddDate(0, 0, demo.DefaultDays).Add(12*time.Hour + 17*time.Minute)
	if _, err := demo.Generate(ctx, filepath.Join(dir, "data"), demo.Options{Scale: 0.05, Seed: 3, Start: start}); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.WriteProject(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "definitions", "freshness.yaml"), []byte(hourlyFeature), 0o644); err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	p, err := platform.Open(ctx, platform.Options{DataDir: filepath.Join(dir, ".slipway"), Config: cfg, Backends: backends.All(), Create: true, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	defs, err := definition.ReadFiles(filepath.Join(dir, "definitions"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(ctx, defs); err != nil {
		t.Fatal(err)
	}
	opens := resource.ID{Kind: resource.KindFeature, Name: "opens_30d", Variant: "v1"}
	hourly := feature("opens_hourly")
	shopPlan := feature("shop_plan")

	rep := freshness(t, p, &platform.FreshnessParams{})
	if rep.NeverMaterialized != len(rep.Features) || rep.Fresh+rep.Stale != 0 || len(rep.Features) != 10 {
		t.Fatalf("before any materialization: %d features, %d fresh, %d stale, %d never; want 10, all never materialized", len(rep.Features), rep.Fresh, rep.Stale, rep.NeverMaterialized)
	}

	// Materialize every feature but shop_plan.
	all, err := p.List(ctx, &registry.ListParams{Kind: resource.KindFeature})
	if err != nil {
		t.Fatal(err)
	}
	var ids []resource.ID
	for _, f := range all {
		if f.ID != shopPlan {
			ids = append(ids, f.ID)
		}
	}
	jobs := wait(t, p, must(p.Materialize(ctx, &platform.MaterializeParams{Features: ids})))
	var matJobs []int64
	for _, j := range jobs {
		if j.Status != registry.JobSucceeded {
			t.Fatalf("job %d (%s) %s: %s", j.ID, j.Kind, j.Status, j.Error)
		}
		if j.Kind == "materialize" {
			matJobs = append(matJobs, j.ID)
		}
	}

	rep = freshness(t, p, &platform.FreshnessParams{})
	if !rep.At.Equal(t0) {
		t.Errorf("report at %v; want the platform's clock %v", rep.At, t0)
	}
	if rep.Fresh != 9 || rep.Stale != 0 || rep.NeverMaterialized != 1 {
		t.Fatalf("after materializing: %d fresh, %d stale, %d never; want 9, 0, 1:\n%s", rep.Fresh, rep.Stale, rep.NeverMaterialized, reasons(rep))
	}
	byName := map[string]platform.FeatureFreshness{}
	for _, f := range rep.Features {
		byName[f.Feature] = f
	}
	sp := byName[shopPlan.Ref().String()]
	if sp.Status != platform.FreshnessNeverMaterialized || !strings.Contains(sp.Reason, "never materialized") || !sp.LastMaterializedAt.IsZero() || sp.LastMaterializationJob != 0 {
		t.Errorf("shop_plan: %+v; want never materialized, with no materialization", sp)
	}
	o := byName[opens.Ref().String()]
	if o.Status != platform.FreshnessFresh || !o.LastMaterializedAt.Equal(t0) || o.MaterializationAgeSeconds != 0 ||
		!containsJob(matJobs, o.LastMaterializationJob) || o.MaxAgeSeconds != 30*86400 {
		t.Errorf("opens_30d:v1: %+v; want fresh, materialized at %v by one of jobs %v, max age 30d", o, t0, matJobs)
	}
	region := byName[feature("subscriber_region").Ref().String()]
	if region.Status != platform.FreshnessFresh || !region.NewestEventTime.IsZero() || !strings.Contains(region.Reason, "static") {
		t.Errorf("subscriber_region (static): %+v; want fresh, no event time", region)
	}

	// The newest event time is the newest timestamp the online store
	// serves: read every subscriber's values through online features.
	subscribers := demoSubscribers(t, filepath.Join(dir, "data", demo.SubscribersFile))
	svc := &serving.Service{Registry: must(p.Registry(ctx)), Online: must(p.Online(ctx)), Now: now}
	for _, f := range []resource.ID{opens, feature("orders_count"), feature("is_unsubscribed"), hourly} {
		var newest time.Time
		var holder string
		for i := 0; i < len(subscribers); i += 500 {
			resp, err := svc.OnlineFeatures(ctx, &serving.Request{Features: []string{f.Ref().String()}, Entities: subscribers[i:min(i+500, len(subscribers))]})
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range resp.Rows {
				if row.Statuses[0] != serving.NotFound && row.Timestamps[0].After(newest) {
					newest, holder = row.Timestamps[0], row.Entity
				}
			}
		}
		got := byName[f.Ref().String()]
		t.Logf("%s: newest event time %v; served %v (subscriber %s) among %d subscribers", f.Ref(), got.NewestEventTime, newest, holder, len(subscribers))
		if newest.IsZero() || !got.NewestEventTime.Equal(newest) || newest.After(t0) {
			t.Errorf("%s: newest event time %v; online features serve %v (subscriber %s) at most, at %v", f.Ref(), got.NewestEventTime, newest, holder, t0)
		}
		if want := t0.Sub(newest).Seconds(); got.NewestAgeSeconds != want {
			t.Errorf("%s: newest age %vs; want %vs", f.Ref(), got.NewestAgeSeconds, want)
		}
	}

	// Past max_age: opens_30d:v1 is stale, by its newest value's age.
	late := o.NewestEventTime.Add(33*24*time.Hour + 5*time.Hour)
	rep = freshness(t, p, &platform.FreshnessParams{Features: []resource.ID{opens}, Now: late})
	if len(rep.Features) != 1 || rep.Stale != 1 {
		t.Fatalf("at %v: %+v; want opens_30d:v1 alone, stale", late, rep)
	}
	o = rep.Features[0]
	if o.Status != platform.FreshnessStale || o.NewestAgeSeconds != (33*24+5)*3600 ||
		!strings.Contains(o.Reason, "newest value is 33d5h old, max_age is 30d") {
		t.Errorf("at %v: opens_30d:v1 %+v; want stale, 33d5h old", late, o)
	}
	justInside := o.NewestEventTime.Add(30 * 24 * time.Hour)
	if f := freshness(t, p, &platform.FreshnessParams{Features: []resource.ID{opens}, Now: justInside}).Features[0]; f.Status != platform.FreshnessFresh {
		t.Errorf("at exactly max_age: %s (%s); want fresh", f.Status, f.Reason)
	}

	// The hourly schedule: the run due at the next hour may end until the
	// hour after (grace one interval); later it is overdue.
	h := byName[hourly.Ref().String()]
	due := t0.Truncate(time.Hour).Add(time.Hour)
	if h.Status != platform.FreshnessFresh || h.Schedule != "@hourly" || !h.NextDue.Equal(due) || h.GraceSeconds != 3600 || h.Overdue {
		t.Fatalf("opens_hourly: %+v; want fresh, next due %v, grace 1h", h, due)
	}
	if f := freshness(t, p, &platform.FreshnessParams{Features: []resource.ID{hourly}, Now: due.Add(time.Hour)}).Features[0]; f.Status != platform.FreshnessFresh || f.Overdue {
		t.Errorf("at the end of the grace: %s (%s); want fresh", f.Status, f.Reason)
	}
	overdueAt := due.Add(time.Hour + 7*time.Minute)
	f := freshness(t, p, &platform.FreshnessParams{Features: []resource.ID{hourly}, Now: overdueAt}).Features[0]
	if f.Status != platform.FreshnessStale || !f.Overdue || f.OverdueSeconds != 7*60 || !strings.Contains(f.Reason, "1h7m late, grace 1h") {
		t.Errorf("7m past the grace: %+v; want stale, overdue by 7m", f)
	}
	// A shorter grace makes it overdue sooner.
	if f := freshness(t, p, &platform.FreshnessParams{Features: []resource.ID{hourly}, Now: due.Add(11 * time.Minute), Grace: 10 * time.Minute}).Features[0]; !f.Overdue || f.OverdueSeconds != 60 {
		t.Errorf("grace 10m, 11m after the firing: %+v; want overdue by 1m", f)
	}
	// The scheduler queues the missed run: while it waits the feature
	// stays stale, naming the job; once it succeeds the feature is fresh,
	// due the next hour.
	clock.Store(overdueAt.UnixNano())
	c := &coordinator.Coordinator{Registry: must(p.Registry(ctx)), Offline: must(p.Offline(ctx)), Online: must(p.Online(ctx)), Now: now}
	queued, err := (&coordinator.Scheduler{Coordinator: c}).Tick(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var last *registry.Job
	for _, j := range queued {
		if slices.Contains(coordinator.JobFeatures(j), hourly) {
			last = j
		}
	}
	if last == nil {
		t.Fatalf("the scheduler queued %d jobs at %v, none materializing %s", len(queued), overdueAt, hourly.Ref())
	}
	f = freshness(t, p, &platform.FreshnessParams{Features: []resource.ID{hourly}}).Features[0]
	if f.Status != platform.FreshnessStale || f.LastScheduledJob != last.ID || f.LastScheduledStatus != "queued" ||
		!strings.Contains(f.Reason, fmt.Sprintf("its last scheduled job %d is queued", last.ID)) {
		t.Errorf("with the scheduled run %d queued: %+v; want stale, naming it", last.ID, f)
	}
	// The run's jobs only (the demo's daily batch prediction was due too,
	// with no model to score with).
	var run []int64
	for _, j := range queued {
		if j.Kind == "transformation" || j.Kind == "materialize" {
			run = append(run, j.ID)
		}
	}
	ended, err := (&coordinator.Worker{Coordinator: c}).Work(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range ended {
		if j.Status != registry.JobSucceeded {
			t.Fatalf("scheduled job %d %s: %s", j.ID, j.Status, j.Error)
		}
	}
	f = freshness(t, p, &platform.FreshnessParams{Features: []resource.ID{hourly}}).Features[0]
	if f.Status != platform.FreshnessFresh || f.Overdue || !f.LastMaterializedAt.Equal(overdueAt) || f.LastMaterializationJob != last.ID ||
		f.LastScheduledStatus != "succeeded" || !f.NextDue.Equal(overdueAt.Truncate(time.Hour).Add(time.Hour)) {
		t.Errorf("after the scheduled run at %v (job %d): %+v; want fresh, materialized then, next due the next hour", overdueAt, last.ID, f)
	}

	// A chunked materialization is recorded by its commit job, once every
	// chunk is written.
	chunkedAt := overdueAt.Add(3 * time.Minute)
	clock.Store(chunkedAt.UnixNano())
	jobs = wait(t, p, must(p.Materialize(ctx, &platform.MaterializeParams{Features: []resource.ID{opens}, Chunks: 3, Full: true})))
	var commit int64
	for _, j := range jobs {
		if coordinator.JobPart(j) == "commit" {
			commit = j.ID
		}
	}
	f = freshness(t, p, &platform.FreshnessParams{Features: []resource.ID{opens}}).Features[0]
	if commit == 0 || f.LastMaterializationJob != commit || !f.LastMaterializedAt.Equal(chunkedAt) || !f.NewestEventTime.Equal(o.NewestEventTime) {
		t.Errorf("after a chunked run (commit job %d) at %v: %+v; want it recorded, the newest event time still %v", commit, chunkedAt, f, o.NewestEventTime)
	}

	// Bad input.
	if _, err := p.Freshness(ctx, &platform.FreshnessParams{Features: []resource.ID{{Kind: resource.KindFeature, Name: "no_such", Variant: "default"}}}); err == nil || !strings.Contains(err.Error(), "no_such") {
		t.Errorf("unknown feature: %v; want an error naming it", err)
	}
	if _, err := p.Freshness(ctx, &platform.FreshnessParams{Grace: -time.Minute}); err == nil || !strings.Contains(err.Error(), "grace") {
		t.Errorf("negative grace: %v; want an error naming grace", err)
	}
}

func feature(name string) resource.ID {
	return resource.ID{Kind: resource.KindFeature, Name: name, Variant: resource.DefaultVariant}
}

func freshness(t *testing.T, p *platform.Platform, fp *platform.FreshnessParams) *platform.FreshnessReport {
	t.Helper()
	rep, err := p.Freshness(t.Context(), fp)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func reasons(rep *platform.FreshnessReport) string {
	var b strings.Builder
	for _, f := range rep.Features {
		fmt.Fprintf(&b, "  %s: %s: %s\n", f.Feature, f.Status, f.Reason)
	}
	return b.String()
}

func containsJob(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// demoSubscribers reads the subscriber keys of the demo's subscribers file.
func demoSubscribers(t *testing.T, path string) []string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, name := range rows[0] {
		if name == "subscriber_id" {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("%s has no subscriber_id column: %v", path, rows[0])
	}
	var out []string
	for _, r := range rows[1:] {
		out = append(out, r[col])
	}
	return out
}
