package registrytest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

func exerciseMonitors(t *testing.T, open func(t *testing.T) registry.Store) {
	t.Run("Monitors", func(t *testing.T) {
		t.Run("RoundTrip", func(t *testing.T) { testMonitorRunRoundTrip(t, open(t)) })
		t.Run("NewestFirstLimitAndBefore", func(t *testing.T) { testMonitorRunsPaged(t, open(t)) })
		t.Run("PerMonitorAndVariant", func(t *testing.T) { testMonitorRunsPerMonitor(t, open(t)) })
		t.Run("LatestPerSubject", func(t *testing.T) { testMonitorLatestPerSubject(t, open(t)) })
		t.Run("ConcurrentRuns", func(t *testing.T) { testMonitorConcurrentRuns(t, open(t)) })
		t.Run("NotAMonitorIsRejected", func(t *testing.T) { testMonitorRunNotAMonitor(t, open(t)) })
	})
}

func monitorID(name, variant string) resource.ID {
	return resource.ID{Kind: resource.KindMonitor, Name: name, Variant: variant}
}

func f64(f float64) *float64 { return &f }

// monitorRunAt is a fixed time with microseconds and nanoseconds, in a
// zone other than UTC: the store keeps microseconds, in UTC.
var monitorRunAt = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))

func recordRun(t *testing.T, s registry.Store, p *registry.RecordMonitorRunParams) *registry.MonitorRun {
	t.Helper()
	run, err := s.RecordMonitorRun(context.Background(), p)
	if err != nil {
		t.Fatalf("RecordMonitorRun(%s): %v", p.Monitor, err)
	}
	return run
}

// testMonitorRunRoundTrip: a run's results come back as recorded, in their
// order, with optional numbers kept nil or exact (negative, tiny, huge),
// times in UTC to the microsecond, and the run's ID, time and job on each.
func testMonitorRunRoundTrip(t *testing.T, s registry.Store) {
	ctx := context.Background()
	m := monitorID("purchase_health", "default")
	since := monitorRunAt.Add(-time.Hour)
	results := []registry.MonitorResult{
		{Check: "drift", Subject: "opens_30d", State: "fail", Method: "wasserstein", Value: f64(0.2345678901234567), Threshold: f64(0.1),
			Message: "opens_30d drifted: normed Wasserstein distance 0.23, threshold 0.1", Since: since},
		{Check: "drift", Subject: "dataset", State: "pass", Method: "share", Value: f64(-1e-300), Threshold: f64(1e300), Message: "ok", Since: monitorRunAt},
		{Check: "freshness", Subject: "check", State: "warn", Message: "the freshness check is not available in this build", Since: monitorRunAt},
		{Check: "skew", Subject: "Ünïcode subject ✓", State: "pass", Value: f64(0), Message: "", Since: monitorRunAt},
	}
	run := recordRun(t, s, &registry.RecordMonitorRunParams{Monitor: m, At: monitorRunAt, Job: 42, Results: results})
	wantAt := monitorRunAt.UTC().Truncate(time.Microsecond)
	if run.ID <= 0 || !run.At.Equal(wantAt) || run.At.Location() != time.UTC || run.Job != 42 || run.Monitor != m {
		t.Fatalf("recorded run %+v; want a positive ID, at %v UTC, job 42", run, wantAt)
	}
	runs, err := s.ListMonitorRuns(ctx, &registry.ListMonitorRunsParams{Monitor: m})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("ListMonitorRuns = %d runs; want 1", len(runs))
	}
	got := runs[0]
	if got.ID != run.ID || !got.At.Equal(wantAt) || got.At.Location() != time.UTC || got.Job != 42 || got.Monitor != m {
		t.Errorf("listed run %+v; want %+v", got, run)
	}
	if len(got.Results) != len(results) {
		t.Fatalf("listed %d results; want %d", len(got.Results), len(results))
	}
	for i, w := range results {
		w.Run, w.At = run.ID, wantAt
		w.Since = w.Since.UTC().Truncate(time.Microsecond)
		g := got.Results[i]
		if g.Since.Location() != time.UTC || g.At.Location() != time.UTC {
			t.Errorf("result %d: times not in UTC: %v, %v", i, g.At, g.Since)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("result %d:\n got %+v\nwant %+v", i, show(g), show(w))
		}
		if !reflect.DeepEqual(run.Results[i], w) {
			t.Errorf("RecordMonitorRun's result %d:\n got %+v\nwant %+v", i, show(run.Results[i]), show(w))
		}
	}
	if runs, err := s.ListMonitorRuns(ctx, &registry.ListMonitorRunsParams{Monitor: monitorID("unknown", "default")}); err != nil || len(runs) != 0 {
		t.Errorf("runs of an unknown monitor: %v, %v; want none", runs, err)
	}
	empty := recordRun(t, s, &registry.RecordMonitorRunParams{Monitor: m, At: monitorRunAt.Add(time.Hour)})
	runs, err = s.ListMonitorRuns(ctx, &registry.ListMonitorRunsParams{Monitor: m, Limit: 1})
	if err != nil || len(runs) != 1 || runs[0].ID != empty.ID || runs[0].Results == nil || len(runs[0].Results) != 0 || runs[0].Job != 0 {
		t.Errorf("a run without results or job lists as %+v, %v; want run %d with an empty, non-nil list", runs, err, empty.ID)
	}
}

// show formats a result with its numbers, not their addresses.
func show(r registry.MonitorResult) string {
	num := func(f *float64) string {
		if f == nil {
			return "nil"
		}
		return fmt.Sprint(*f)
	}
	return fmt.Sprintf("{run %d at %v %s/%s %s %s value %s threshold %s %q since %v}", r.Run, r.At, r.Check, r.Subject, r.State, r.Method,
		num(r.Value), num(r.Threshold), r.Message, r.Since)
}

// testMonitorRunsPaged: runs are listed newest first, Limit caps them (20
// by default) and Before pages on.
func testMonitorRunsPaged(t *testing.T, s registry.Store) {
	ctx := context.Background()
	m := monitorID("paged", "default")
	var ids []int64
	for i := range 25 {
		run := recordRun(t, s, &registry.RecordMonitorRunParams{Monitor: m, At: monitorRunAt.Add(time.Duration(i) * time.Hour), Job: int64(i + 1),
			Results: []registry.MonitorResult{{Check: "drift", Subject: "dataset", State: "pass", Value: f64(float64(i)), Since: monitorRunAt}}})
		if len(ids) > 0 && run.ID <= ids[len(ids)-1] {
			t.Fatalf("run %d has ID %d, not above the previous run's %d", i, run.ID, ids[len(ids)-1])
		}
		ids = append(ids, run.ID)
	}
	check := func(what string, p registry.ListMonitorRunsParams, want []int64) {
		t.Helper()
		p.Monitor = m
		runs, err := s.ListMonitorRuns(ctx, &p)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, r := range runs {
			got = append(got, r.ID)
			i := slicesIndex(ids, r.ID)
			if len(r.Results) != 1 || *r.Results[0].Value != float64(i) || r.Job != int64(i+1) {
				t.Errorf("%s: run %d has results %+v, job %d; want its own (value %d, job %d)", what, r.ID, r.Results, r.Job, i, i+1)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: runs %v; want %v", what, got, want)
		}
	}
	rev := func(xs []int64) []int64 {
		out := make([]int64, len(xs))
		for i, x := range xs {
			out[len(xs)-1-i] = x
		}
		return out
	}
	check("default limit", registry.ListMonitorRunsParams{}, rev(ids[5:]))
	check("limit 3", registry.ListMonitorRunsParams{Limit: 3}, rev(ids[22:]))
	check("before the 4th", registry.ListMonitorRunsParams{Before: ids[3], Limit: 10}, rev(ids[:3]))
	check("before the first", registry.ListMonitorRunsParams{Before: ids[0]}, nil)
}

func slicesIndex(xs []int64, x int64) int {
	for i, y := range xs {
		if y == x {
			return i
		}
	}
	return -1
}

// testMonitorRunsPerMonitor: runs and latest results belong to one monitor
// name and variant.
func testMonitorRunsPerMonitor(t *testing.T, s registry.Store) {
	ctx := context.Background()
	a, b, a2 := monitorID("a", "default"), monitorID("b", "default"), monitorID("a", "v2")
	for i, m := range []resource.ID{a, b, a2, a} {
		recordRun(t, s, &registry.RecordMonitorRunParams{Monitor: m, At: monitorRunAt.Add(time.Duration(i) * time.Minute),
			Results: []registry.MonitorResult{{Check: "skew", Subject: m.Variant + "/" + m.Name, State: "pass", Since: monitorRunAt}}})
	}
	for m, n := range map[resource.ID]int{a: 2, b: 1, a2: 1} {
		runs, err := s.ListMonitorRuns(ctx, &registry.ListMonitorRunsParams{Monitor: m})
		if err != nil || len(runs) != n {
			t.Fatalf("%s: %d runs, %v; want %d", m, len(runs), err, n)
		}
		for _, r := range runs {
			if r.Monitor != m || len(r.Results) != 1 || r.Results[0].Subject != m.Variant+"/"+m.Name {
				t.Errorf("%s lists run %+v", m, r)
			}
		}
		latest, err := s.LatestMonitorResults(ctx, m)
		if err != nil || len(latest) != 1 || latest[0].Subject != m.Variant+"/"+m.Name || latest[0].Run != runs[0].ID {
			t.Errorf("%s: latest %v, %v; want its own newest result", m, latest, err)
		}
	}
}

// testMonitorLatestPerSubject: the latest result of each check and subject
// is from the newest run that reported it, even when later runs did not
// (a check that could not run); ordered by check and subject.
func testMonitorLatestPerSubject(t *testing.T, s registry.Store) {
	ctx := context.Background()
	m := monitorID("latest", "default")
	if latest, err := s.LatestMonitorResults(ctx, m); err != nil || len(latest) != 0 {
		t.Fatalf("latest of a monitor without runs: %v, %v; want none", latest, err)
	}
	t0 := monitorRunAt.UTC().Truncate(time.Microsecond)
	r1 := recordRun(t, s, &registry.RecordMonitorRunParams{Monitor: m, At: t0, Results: []registry.MonitorResult{
		{Check: "drift", Subject: "opens", State: "pass", Since: t0},
		{Check: "drift", Subject: "amount", State: "fail", Value: f64(0.3), Since: t0},
		{Check: "skew", Subject: "opens", State: "pass", Since: t0},
	}})
	r2 := recordRun(t, s, &registry.RecordMonitorRunParams{Monitor: m, At: t0.Add(time.Hour), Results: []registry.MonitorResult{
		{Check: "drift", Subject: "amount", State: "fail", Value: f64(0.4), Since: t0},
		{Check: "skew", Subject: "check", State: "warn", Message: "store unreachable", Since: t0.Add(time.Hour)},
	}})
	latest, err := s.LatestMonitorResults(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		check, subject string
		run            int64
		at, since      time.Time
	}
	var got []row
	for _, r := range latest {
		got = append(got, row{r.Check, r.Subject, r.Run, r.At, r.Since})
	}
	want := []row{
		{"drift", "amount", r2.ID, t0.Add(time.Hour), t0},
		{"drift", "opens", r1.ID, t0, t0},
		{"skew", "check", r2.ID, t0.Add(time.Hour), t0.Add(time.Hour)},
		{"skew", "opens", r1.ID, t0, t0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("latest:\n got %v\nwant %v", got, want)
	}
	if *latest[0].Value != 0.4 {
		t.Errorf("drift/amount's latest value %v; want the newest run's 0.4", *latest[0].Value)
	}
}

// testMonitorConcurrentRuns: runs recorded at once get distinct IDs and
// keep their own results.
func testMonitorConcurrentRuns(t *testing.T, s registry.Store) {
	ctx := context.Background()
	m := monitorID("busy", "default")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			res := make([]registry.MonitorResult, 5)
			for j := range res {
				res[j] = registry.MonitorResult{Check: "drift", Subject: fmt.Sprintf("f%d", j), State: "pass", Value: f64(float64(i)), Since: monitorRunAt}
			}
			_, errs[i] = s.RecordMonitorRun(ctx, &registry.RecordMonitorRunParams{Monitor: m, At: monitorRunAt, Job: int64(i), Results: res})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	runs, err := s.ListMonitorRuns(ctx, &registry.ListMonitorRunsParams{Monitor: m, Limit: 100})
	if err != nil || len(runs) != n {
		t.Fatalf("%d runs, %v; want %d", len(runs), err, n)
	}
	seen := map[int64]bool{}
	for _, r := range runs {
		if seen[r.ID] {
			t.Errorf("run ID %d given twice", r.ID)
		}
		seen[r.ID] = true
		if len(r.Results) != 5 {
			t.Errorf("run %d has %d results; want 5", r.ID, len(r.Results))
		}
		for _, x := range r.Results {
			if *x.Value != float64(r.Job) {
				t.Errorf("run %d (job %d) holds a result of job %v", r.ID, r.Job, *x.Value)
			}
		}
	}
}

// testMonitorRunNotAMonitor: a run is recorded for a monitor only.
func testMonitorRunNotAMonitor(t *testing.T, s registry.Store) {
	for _, id := range []resource.ID{
		{Kind: resource.KindEndpoint, Name: "purchase", Variant: "default"},
		{Kind: resource.KindMonitor, Name: "Bad Name", Variant: "default"},
	} {
		if _, err := s.RecordMonitorRun(context.Background(), &registry.RecordMonitorRunParams{Monitor: id, At: monitorRunAt}); err == nil {
			t.Errorf("RecordMonitorRun(%s) succeeded; want an error", id)
		}
	}
}
