package main

import (
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/platform"
)

// TestFreshnessCommand: `slipway freshness` on the quickstart's project,
// whose demo data ends today: every feature is fresh; the batch
// prediction's feature (materialized by its run, scheduled @daily by the
// batch prediction) is overdue two days later, the 30-day features stale
// 40 days later by their newest value's age; the same answer through a
// running server.
func TestFreshnessCommand(t *testing.T) {
	dir := quickstart(t)
	start := time.Now()
	r := mustRun(t, dir, "freshness")
	for _, want := range []string{"FEATURE", "STATUS", "opens_30d:v1", "nightly_purchase_scores:default", "max_age is 30d", " fresh, 0 stale, 0 never materialized, at "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("freshness output lacks %q:\n%s", want, r.stdout)
		}
	}
	var rep platform.FreshnessReport
	decodeStrictJSON(t, mustRun(t, dir, "freshness", "--json"), &rep)
	byName := map[string]platform.FeatureFreshness{}
	for _, f := range rep.Features {
		byName[f.Feature] = f
	}
	o := byName["opens_30d:v1"]
	if o.Status != platform.FreshnessFresh || o.NewestEventTime.IsZero() || o.MaxAgeSeconds != 30*86400 ||
		o.NewestAgeSeconds > 2*86400 || !strings.HasPrefix(o.Reason, "newest value is ") || o.LastMaterializationJob == 0 {
		t.Errorf("opens_30d:v1: %+v; want fresh, materialized, newest value at most 2 days old", o)
	}
	s := byName["nightly_purchase_scores:default"]
	if s.Status != platform.FreshnessFresh || s.ScheduledBy != "nightly_purchase_scores:default" || s.Schedule != "@daily" ||
		s.LastMaterializationJob == 0 || s.LastMaterializedAt.Before(start.Add(-10*time.Minute)) || s.NewestEventTime.IsZero() {
		t.Errorf("nightly_purchase_scores: %+v; want fresh, materialized by the quickstart's run, scheduled @daily by the batch prediction", s)
	}
	if logs := mustRun(t, dir, "jobs", "show", itoa(s.LastMaterializationJob)); !strings.Contains(logs.stdout, "kind:      batch_predict") {
		t.Errorf("job %d is not the batch prediction's run:\n%s", s.LastMaterializationJob, logs.stdout)
	}

	// Two days later the daily run is overdue (due at the next midnight,
	// grace one day).
	later := time.Now().UTC().Add(50 * time.Hour).Format(time.RFC3339)
	var late platform.FreshnessReport
	decodeStrictJSON(t, mustRun(t, dir, "freshness", "nightly_purchase_scores", "--at", later, "--json"), &late)
	if len(late.Features) != 1 || late.Features[0].Status != platform.FreshnessStale || !late.Features[0].Overdue || late.Features[0].GraceSeconds != 86400 {
		t.Errorf("at %s: %+v; want nightly_purchase_scores alone, stale, overdue with a day's grace", later, late.Features)
	}
	r = mustRun(t, dir, "freshness", "nightly_purchase_scores", "--at", later)
	if !strings.Contains(r.stdout, "scheduled run due ") || !strings.Contains(r.stdout, "0 fresh, 1 stale, 0 never materialized") {
		t.Errorf("freshness at %s:\n%s", later, r.stdout)
	}

	// 40 days later the 30-day features are stale, by the right age.
	at40 := o.NewestEventTime.Add(40 * 24 * time.Hour)
	var old platform.FreshnessReport
	decodeStrictJSON(t, mustRun(t, dir, "freshness", "opens_30d:v1", "--at", at40.Format(time.RFC3339), "--json"), &old)
	if f := old.Features[0]; f.Status != platform.FreshnessStale || f.NewestAgeSeconds != 40*86400 || !strings.HasPrefix(f.Reason, "newest value is 40d old, max_age is 30d") {
		t.Errorf("opens_30d:v1 at %v: %+v; want stale, 40d old", at40, f)
	}

	// Bad input: a clear error, exit code not 0.
	for _, args := range [][]string{{"freshness", "no_such_feature"}, {"freshness", "--at", "yesterday"}, {"freshness", "Bad Name"}} {
		if r := slipway(t, dir, args...); r.code == 0 || r.stderr == "" {
			t.Errorf("slipway %s: exit %d, stderr %q; want an error", strings.Join(args, " "), r.code, r.stderr)
		}
	}

	// Through the server holding the directory: the same report.
	local := mustRun(t, dir, "freshness", "--at", later, "--json").stdout
	startServe(t, dir)
	if remote := mustRun(t, dir, "freshness", "--at", later, "--json").stdout; remote != local {
		t.Errorf("through the server:\n%s\nlocally:\n%s", remote, local)
	}
	if r := slipway(t, dir, "freshness", "no_such_feature"); r.code == 0 || !strings.Contains(r.stderr, "no_such_feature") {
		t.Errorf("unknown feature through the server: exit %d, %q", r.code, r.stderr)
	}
}
