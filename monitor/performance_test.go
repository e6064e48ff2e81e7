package monitor_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/feedback"
	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/monitor"
	"github.com/slipway-ml/slipway/resource"
)

// TestPerformanceFromFeedback: an endpoint's predictions scored against
// the feedback posted about them (by prediction id, or by entity within
// the window after the prediction) per day, with the metrics equal to
// scikit-learn's on the same pairs.
func TestPerformanceFromFeedback(t *testing.T) {
	python := testenv.Python(t, "sklearn")
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
	rng := rand.New(rand.NewPCG(5, 6))
	day0 := d.clock().Truncate(24 * time.Hour).Add(24 * time.Hour)
	pairs := map[int][]pair{}
	var events []feedback.Event
	outcome := func(p float64) (float64, json.RawMessage) {
		if rng.Float64() < math.Min(0.95, p*3) {
			return 1, json.RawMessage("true")
		}
		return 0, json.RawMessage("false")
	}

	// Day 1: feedback by prediction id for 120 of 150 predictions.
	d.set(day0.Add(9 * time.Hour))
	a := d.predict(d.entities[:150])
	for i, p := range a.Predictions[:120] {
		y, v := outcome(*p.Probability)
		at := day0.Add(10*time.Hour + time.Duration(i)*time.Second)
		events = append(events, feedback.Event{PredictionID: p.ID, Name: "purchased", Value: v, EventTime: &at})
		pairs[0] = append(pairs[0], pair{*p.Probability, y})
	}
	// Day 2: feedback by entity for 80 of 100 predictions, within the
	// window; one too late, and one of another name, which do not count.
	d.set(day0.Add(24*time.Hour + 9*time.Hour))
	b := d.predict(d.entities[150:250])
	for _, p := range b.Predictions[:80] {
		y, v := outcome(*p.Probability)
		at := day0.Add(24*time.Hour + 11*time.Hour)
		events = append(events, feedback.Event{Endpoint: "purchase", Entity: p.Entity, Name: "purchased", Value: v, EventTime: &at})
		pairs[1] = append(pairs[1], pair{*p.Probability, y})
	}
	late := day0.Add(24*time.Hour + 9*time.Hour + 8*24*time.Hour)
	other := day0.Add(24*time.Hour + 12*time.Hour)
	events = append(events,
		feedback.Event{Endpoint: "purchase", Entity: b.Predictions[90].Entity, Name: "purchased", Value: json.RawMessage("true"), EventTime: &late},
		feedback.Event{PredictionID: b.Predictions[95].ID, Name: "clicked", Value: json.RawMessage("true"), EventTime: &other})
	d.set(late.Add(time.Minute))
	if _, err := d.p.RecordFeedback(ctx, events); err != nil {
		t.Fatal(err)
	}
	if err := d.p.ShipLogs(ctx); err != nil {
		t.Fatal(err)
	}

	r, err := monitor.Measure(ctx, reg, off, &monitor.PerformanceParams{Endpoint: d.endpoint, Feedback: "purchased", From: day0, To: day0.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Days) != 2 || len(r.Versions) != 1 {
		t.Fatalf("report: %d days, %d versions; want 2 and 1: %+v", len(r.Days), len(r.Versions), r)
	}
	for i, want := range []struct{ predictions, feedback int64 }{{150, 120}, {100, 80}} {
		got := r.Days[i]
		if !got.Day.Equal(day0.Add(time.Duration(i)*24*time.Hour)) || got.Predictions != want.predictions || got.WithFeedback != want.feedback || got.Version != 1 || got.Task != "binary_classification" {
			t.Fatalf("day %d: %+v; want %d predictions, %d with feedback", i+1, got, want.predictions, want.feedback)
		}
		if got.Training["auc"] == 0 {
			t.Errorf("day %d: the training metrics are missing: %v", i+1, got.Training)
		}
		checkMetrics(t, python, fmt.Sprintf("day %d", i+1), got.Metrics, pairs[i])
	}
	all := r.Versions[0]
	if all.Predictions != 250 || all.WithFeedback != 200 || all.Share != 0.8 {
		t.Fatalf("version 1 over both days: %+v", all)
	}
	checkMetrics(t, python, "both days", all.Metrics, append(append([]pair{}, pairs[0]...), pairs[1]...))

	if _, err := monitor.Measure(ctx, reg, off, &monitor.PerformanceParams{Endpoint: d.endpoint, Feedback: "Bad Name"}); err == nil || !strings.Contains(err.Error(), "feedback name") {
		t.Fatalf("a bad feedback name: %v", err)
	}

	// The monitor's check: fails exactly when the AUC fell below the
	// training's by more than max_drop; warns with too few samples.
	check := func(minSamples int64, maxDrop float64) monitor.Result {
		t.Helper()
		m := &resource.Resource{Monitor: &resource.MonitorSpec{Endpoint: resource.ID{Kind: resource.KindEndpoint, Name: "purchase", Variant: resource.DefaultVariant},
			Performance: resource.MonitorPerformance{Feedback: "purchased", Window: resource.Duration(72 * time.Hour), MinSamples: minSamples, MaxDrop: maxDrop}}}
		rs, err := monitor.PerformanceCheck(ctx, &monitor.Env{Registry: reg, Offline: off, Now: day0.Add(48 * time.Hour)}, m)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || rs[0].Subject != "version 1" {
			t.Fatalf("performance check: %+v", rs)
		}
		return rs[0]
	}
	auc, trained := all.Metrics["auc"], all.Training["auc"]
	for _, drop := range []float64{0.01, 0.5} {
		r := check(100, drop)
		want := monitor.Pass
		if auc < trained-drop {
			want = monitor.Fail
		}
		if r.State != want || r.Value == nil || math.Abs(*r.Value-auc) > 1e-12 || !strings.Contains(r.Message, "200 with purchased feedback") {
			t.Errorf("max_drop %v (auc %v, %v at training): %+v, want %s", drop, auc, trained, r, want)
		}
	}
	if r := check(500, 0.05); r.State != monitor.Warn || !strings.Contains(r.Message, "min_samples") {
		t.Errorf("200 with feedback against min_samples 500: %+v", r)
	}
}

// pair is a prediction's probability and its outcome.
type pair struct{ p, y float64 }

// checkMetrics compares AUC, log loss and accuracy with scikit-learn's.
func checkMetrics(t *testing.T, python, what string, got map[string]float64, pairs []pair) {
	t.Helper()
	var ps, ys []string
	for _, x := range pairs {
		ps = append(ps, fmt.Sprint(x.p))
		ys = append(ys, fmt.Sprint(x.y))
	}
	script := fmt.Sprintf(`
from sklearn.metrics import roc_auc_score, log_loss, accuracy_score
p = [%s]
y = [%s]
print(repr(roc_auc_score(y, p)), repr(log_loss(y, p, labels=[0, 1])), repr(accuracy_score(y, [1 if x > 0.5 else 0 for x in p])))
`, strings.Join(ps, ","), strings.Join(ys, ","))
	out, err := exec.Command(python, "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", what, err, out)
	}
	var auc, ll, acc float64
	if _, err := fmt.Sscan(string(out), &auc, &ll, &acc); err != nil {
		t.Fatalf("%s: reading %q: %v", what, out, err)
	}
	for name, want := range map[string]float64{"auc": auc, "log_loss": ll, "accuracy": acc} {
		if math.Abs(got[name]-want) > 1e-9 {
			t.Errorf("%s: %s %v; scikit-learn gives %v", what, name, got[name], want)
		}
	}
}
