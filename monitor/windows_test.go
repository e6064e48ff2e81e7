package monitor_test

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/demo"
	"github.com/slipway-ml/slipway/internal/backends"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/monitor"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/profile"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// servedDemo is the demo project with purchase_model trained, on a
// platform whose clock the test moves.
type servedDemo struct {
	t        *testing.T
	p        *platform.Platform
	now      atomic.Int64
	entities []string
	endpoint resource.Ref
}

func (d *servedDemo) clock() time.Time { return time.Unix(0, d.now.Load()).UTC() }
func (d *servedDemo) set(t time.Time)  { d.now.Store(t.UnixNano()) }

func newServedDemo(t *testing.T) *servedDemo {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	if _, err := demo.Generate(ctx, filepath.Join(dir, "data"), demo.Options{Scale: 0.05, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.WriteProject(dir); err != nil {
		t.Fatal(err)
	}
	d := &servedDemo{t: t, endpoint: resource.Ref{Name: "purchase", Variant: resource.DefaultVariant}}
	d.set(time.Now().UTC())
	cfg := config.Default()
	cfg.PredictionLog.ShipInterval = time.Hour // shipped by the test
	p, err := platform.Open(ctx, platform.Options{DataDir: filepath.Join(dir, ".slipway"), Config: cfg, Backends: backends.All(), Create: true, Now: d.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	d.p = p
	defs, err := definition.ReadFiles(filepath.Join(dir, "definitions"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(ctx, defs); err != nil {
		t.Fatal(err)
	}
	d.run(p.Materialize(ctx, &platform.MaterializeParams{}))
	d.run(p.Train(ctx, &platform.TrainParams{Model: resource.ID{Kind: resource.KindModel, Name: "purchase_model", Variant: resource.DefaultVariant}, By: "test"}))
	f, err := os.Open(filepath.Join(dir, "data", "subscribers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		d.entities = append(d.entities, strings.Split(sc.Text(), ",")[0])
	}
	if len(d.entities) < 300 {
		t.Fatalf("the demo has %d subscribers; the test needs 300", len(d.entities))
	}
	return d
}

func (d *servedDemo) run(jobs []*registry.Job, err error) {
	d.t.Helper()
	if err != nil {
		d.t.Fatal(err)
	}
	ended, err := platform.Wait(d.t.Context(), d.p, jobs)
	if err != nil {
		d.t.Fatal(err)
	}
	for _, j := range ended {
		if j.Status != registry.JobSucceeded {
			d.t.Fatalf("job %d (%s) %s: %s", j.ID, j.Kind, j.Status, j.Error)
		}
	}
}

// predict asks the endpoint for entities at the clock's time and returns
// the answers.
func (d *servedDemo) predict(entities []string) *serving.PredictResponse {
	d.t.Helper()
	resp, err := d.p.Predict(d.t.Context(), &serving.PredictRequest{Endpoint: "purchase", Entities: entities})
	if err != nil {
		d.t.Fatal(err)
	}
	return resp
}

// served is the profile of what the online store answers for entities,
// for the version's features: what the endpoint was asked about, read
// another way than the prediction log.
func (d *servedDemo) served(entities []string, version int) *profile.Profile {
	d.t.Helper()
	ctx := d.t.Context()
	reg, err := d.p.Registry(ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	on, err := d.p.Online(ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	v, err := reg.GetModelVersion(ctx, "purchase_model", version)
	if err != nil {
		d.t.Fatal(err)
	}
	enc, err := model.ParseEncoding(v.Encoding)
	if err != nil {
		d.t.Fatal(err)
	}
	ts, err := reg.Get(ctx, v.TrainingSet)
	if err != nil {
		d.t.Fatal(err)
	}
	cols := ts.TrainingSet.FeatureColumns()
	var names, refs []string
	var types []value.Type
	for _, f := range enc.Features() {
		names, types = append(names, f.Name), append(types, f.Type)
		refs = append(refs, ts.TrainingSet.Features[slices.Index(cols, f.Name)].Ref().String())
	}
	resp, err := (&serving.Service{Registry: reg, Online: on, Now: d.clock}).OnlineFeatures(ctx, &serving.Request{Features: refs, Entities: entities})
	if err != nil {
		d.t.Fatal(err)
	}
	p, err := profile.New(names, types)
	if err != nil {
		d.t.Fatal(err)
	}
	for _, r := range resp.Rows {
		if err := p.Add(r.Values); err != nil {
			d.t.Fatal(err)
		}
	}
	return p
}

// TestServingWindowsProfileWhatWasServed: each hour's profile holds what
// the endpoint was asked about (the online store's answers for the
// entities predicted in it) and what it answered; a run profiles only
// ended windows, once, and again the newest ones to take in late
// predictions.
func TestServingWindowsProfileWhatWasServed(t *testing.T) {
	d := newServedDemo(t)
	ctx := t.Context()
	reg, err := d.p.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	off, err := d.p.Offline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h0 := d.clock().Truncate(time.Hour).Add(time.Hour)
	first, second, late := d.entities[:150], d.entities[150:250], d.entities[250:300]

	d.set(h0.Add(10 * time.Minute))
	a1 := d.predict(first[:100])
	d.set(h0.Add(50 * time.Minute))
	a2 := d.predict(first[100:])
	d.set(h0.Add(time.Hour + 5*time.Minute))
	a3 := d.predict(second)
	if err := d.p.ShipLogs(ctx); err != nil {
		t.Fatal(err)
	}

	// Within a minute of its end, the second hour is not profiled yet.
	res, err := monitor.ProfileWindows(ctx, reg, off, &monitor.ProfileParams{Endpoint: d.endpoint, Now: h0.Add(2*time.Hour + 30*time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Windows != 1 || res.Rows != 150 || !res.Through.Equal(h0.Add(time.Hour)) {
		t.Fatalf("first run: %+v; want 1 window of 150 predictions through %s", res, h0.Add(time.Hour))
	}
	res, err = monitor.ProfileWindows(ctx, reg, off, &monitor.ProfileParams{Endpoint: d.endpoint, Now: h0.Add(2*time.Hour + 2*time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	// The lookback profiles the first hour again, and the second for the
	// first time.
	if res.Windows != 2 || res.Rows != 250 || res.Profiles != 2 {
		t.Fatalf("second run: %+v; want the 2 windows, 250 predictions", res)
	}

	hour := func(i int) *monitor.Serving {
		t.Helper()
		s, err := monitor.ServingProfile(ctx, reg, off, &monitor.ServingParams{Endpoint: d.endpoint, Model: "purchase_model", Version: 1,
			From: h0.Add(time.Duration(i) * time.Hour), To: h0.Add(time.Duration(i+1) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	d.set(h0.Add(10 * time.Minute)) // the online store's values then (materialized before h0)
	sameProfile(t, "hour 1 features", hour(0).Features, d.served(first, 1))
	sameProfile(t, "hour 2 features", hour(1).Features, d.served(second, 1))
	checkPredictions(t, "hour 1", hour(0).Predictions, a1, a2)
	checkPredictions(t, "hour 2", hour(1).Predictions, a3)

	// Both hours merged are the profile of both.
	both, err := monitor.ServingProfile(ctx, reg, off, &monitor.ServingParams{Endpoint: d.endpoint, Model: "purchase_model", Version: 1, From: h0, To: h0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if both.Windows != 2 {
		t.Fatalf("two hours merged: %d windows", both.Windows)
	}
	sameProfile(t, "both hours", both.Features, d.served(append(append([]string{}, first...), second...), 1))

	// A prediction of the second hour shipped late is taken in by the next
	// run (the second hour is within the lookback).
	d.set(h0.Add(time.Hour + 40*time.Minute))
	a4 := d.predict(late)
	if err := d.p.ShipLogs(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err = monitor.ProfileWindows(ctx, reg, off, &monitor.ProfileParams{Endpoint: d.endpoint, Now: h0.Add(2*time.Hour + 10*time.Minute)}); err != nil {
		t.Fatal(err)
	}
	d.set(h0.Add(10 * time.Minute))
	sameProfile(t, "hour 2 with the late predictions", hour(1).Features, d.served(append(append([]string{}, second...), late...), 1))
	checkPredictions(t, "hour 2 with the late predictions", hour(1).Predictions, a3, a4)

	// Bad input is refused.
	if _, err := monitor.ProfileWindows(ctx, reg, off, &monitor.ProfileParams{Endpoint: d.endpoint, Window: 90 * time.Second}); err == nil || !strings.Contains(err.Error(), "whole number of minutes") {
		t.Fatalf("a window of 90s: %v", err)
	}
	// An endpoint that never answered has nothing to profile.
	if res, err := monitor.ProfileWindows(ctx, reg, off, &monitor.ProfileParams{Endpoint: resource.Ref{Name: "nobody", Variant: "default"}}); err != nil || res.Windows != 0 {
		t.Fatalf("an endpoint without a log: %+v, %v", res, err)
	}
}

// sameProfile compares the counts, moments and item counts of two
// profiles of the same columns.
func sameProfile(t *testing.T, what string, got, want *profile.Profile) {
	t.Helper()
	if got.Rows != want.Rows {
		t.Fatalf("%s: %d rows; want %d", what, got.Rows, want.Rows)
	}
	for _, w := range want.Columns {
		g := got.Column(w.Name)
		if g == nil {
			t.Fatalf("%s: no column %s", what, w.Name)
		}
		if g.Nulls != w.Nulls || g.Count() != w.Count() {
			t.Fatalf("%s: %s has %d nulls, %d values; want %d, %d", what, w.Name, g.Nulls, g.Count(), w.Nulls, w.Count())
		}
		if w.Kind == profile.Numeric {
			if w.Count() > 0 && (math.Abs(g.Mean()-w.Mean()) > 1e-9*math.Abs(w.Mean())+1e-12 || g.Min() != w.Min() || g.Max() != w.Max()) {
				t.Fatalf("%s: %s mean %v min %v max %v; want %v %v %v", what, w.Name, g.Mean(), g.Min(), g.Max(), w.Mean(), w.Min(), w.Max())
			}
			continue
		}
		if fmt.Sprint(g.Counts()) != fmt.Sprint(w.Counts()) {
			t.Fatalf("%s: %s counts %v; want %v", what, w.Name, g.Counts(), w.Counts())
		}
	}
}

// checkPredictions compares a window's prediction profile with the
// answers given in it.
func checkPredictions(t *testing.T, what string, got *profile.Profile, answers ...*serving.PredictResponse) {
	t.Helper()
	var n, ones int
	var sum float64
	for _, a := range answers {
		for _, p := range a.Predictions {
			n++
			sum += *p.Probability
			ones += *p.Class
		}
	}
	pred, class := got.Column(profile.PredictionColumn), got.Column(profile.ClassColumn)
	if got.Rows != int64(n) || math.Abs(pred.Mean()-sum/float64(n)) > 1e-12 || class.Mean()*float64(n) != float64(ones) && math.Abs(class.Mean()*float64(n)-float64(ones)) > 1e-6 {
		t.Fatalf("%s predictions: %d rows, mean %v, classes %v; the answers: %d, %v, %d", what, got.Rows, pred.Mean(), class.Mean()*float64(n), n, sum/float64(n), ones)
	}
}
