package serving_test

import (
	"testing"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// startExperiment registers an experiment on the endpoint purchase, as
// applying its definition would.
func (d *predictDemo) startExperiment(t *testing.T, name string, arms ...resource.ExperimentArm) *resource.Resource {
	t.Helper()
	exp := &resource.Resource{ID: resource.ID{Kind: resource.KindExperiment, Name: name, Variant: resource.DefaultVariant},
		Experiment: &resource.ExperimentSpec{Endpoint: resource.ID{Kind: resource.KindEndpoint, Name: "purchase", Variant: resource.DefaultVariant},
			Arms: arms, Metric: resource.ExperimentMetric{Feedback: "purchased", Kind: resource.MetricConversion, Window: resource.DefaultExperimentWindow},
			MinSamples: 100}}
	if _, err := d.reg.Apply(t.Context(), &registry.ApplyParams{Resources: []*resource.Resource{exp}}); err != nil {
		t.Fatal(err)
	}
	return exp
}

// TestPredictSplitsAnExperimentsTraffic: while an experiment runs, each
// entity is answered by the version of the arm its hash assigns it to
// (the same every time), each prediction names its experiment, arm and
// version and equals that version's scorer; the log receives each arm's
// answer with its version; an arm that cannot be served falls back to
// the endpoint's alias; once the experiment ends, the alias answers all.
func TestPredictSplitsAnExperimentsTraffic(t *testing.T) {
	t.Parallel()
	d := newPredictDemo(t)
	v2 := d.linearVersion(t, -1, 0.1)
	var logged []*serving.PredictResponse
	d.endpoints.Log = func(a *serving.Answered) { logged = append(logged, a.Response) }
	predict(t, d.endpoints, &serving.PredictRequest{Endpoint: "purchase", Entities: d.entities[:1]})
	exp := d.startExperiment(t, "purchase_test",
		resource.ExperimentArm{Name: "control", Model: "purchase_model", Alias: "production", Weight: 3},
		resource.ExperimentArm{Name: "treatment", Model: "purchase_model", Version: v2, Weight: 1})
	armVersion := map[string]int{"control": 1, "treatment": v2}

	// Within the refresh of the answer "no experiment", the endpoint
	// still serves without it.
	resp := predict(t, d.endpoints, &serving.PredictRequest{Endpoint: "purchase", Entities: d.entities[:5]})
	for _, p := range resp.Predictions {
		if p.Experiment != "" || p.Version != 1 {
			t.Fatalf("before the refresh: %+v; want version 1 outside any experiment", p)
		}
	}
	d.clock.Advance(refresh)
	logged = nil

	some := d.entities // 303 subscribers
	served := d.online(t, some)
	rows := make([][]value.Value, len(some))
	for i, r := range served.Rows {
		rows[i] = r.Values
	}
	want := map[int][]float64{1: must(d.scorer(t, 1).ScoreRows(rows, nil)), v2: must(d.scorer(t, v2).ScoreRows(rows, nil))}
	resp = predict(t, d.endpoints, &serving.PredictRequest{Endpoint: "purchase", Entities: some})
	count := map[string]int{}
	for i, p := range resp.Predictions {
		arm := exp.Experiment.Arms[exp.Experiment.Assign("purchase_test", p.Entity)].Name
		if p.Entity != some[i] || p.Experiment != "purchase_test" || p.Arm != arm || p.Version != armVersion[arm] {
			t.Fatalf("prediction %d: %s in experiment %q arm %q by version %d; want %s in purchase_test arm %s by version %d",
				i, p.Entity, p.Experiment, p.Arm, p.Version, some[i], arm, armVersion[arm])
		}
		if *p.Probability != want[p.Version][i] {
			t.Fatalf("%s: predicted %v by version %d; its scorer gives %v", p.Entity, *p.Probability, p.Version, want[p.Version][i])
		}
		count[arm]++
	}
	if count["control"] < 190 || count["treatment"] < 45 {
		t.Errorf("arms got %v of 303 entities; want about 227 and 76 (weights 3:1)", count)
	}
	if resp.Version != 0 || resp.Alias != "production" {
		t.Errorf("response version %d alias %s; want 0 (several versions answered) and production", resp.Version, resp.Alias)
	}
	if len(logged) != 2 {
		t.Fatalf("the log received %d answers; want one per arm", len(logged))
	}
	for _, part := range logged {
		for _, p := range part.Predictions {
			if part.Version != p.Version || p.Arm == "" {
				t.Fatalf("logged answer of version %d holds %+v", part.Version, p)
			}
		}
	}

	// Sticky: asked again, one by one, every entity keeps its arm.
	for i, key := range some[:40] {
		again := predict(t, d.endpoints, &serving.PredictRequest{Endpoint: "purchase", Entities: []string{key}})
		if p := again.Predictions[0]; p.Arm != resp.Predictions[i].Arm || p.Version != again.Version {
			t.Fatalf("%s asked alone: arm %s version %d (response version %d); first asked: arm %s", key, p.Arm, p.Version, again.Version, resp.Predictions[i].Arm)
		}
	}

	// An experiment whose treatment cannot load: its entities get the alias.
	if _, err := d.reg.Deprecate(t.Context(), &registry.DeprecateParams{ID: exp.ID, Reason: "stopped"}); err != nil {
		t.Fatal(err)
	}
	d.startExperiment(t, "broken_test",
		resource.ExperimentArm{Name: "control", Model: "purchase_model", Alias: "production", Weight: 1},
		resource.ExperimentArm{Name: "treatment", Model: "purchase_model", Version: 999, Weight: 1})
	d.clock.Advance(refresh)
	resp = predict(t, d.endpoints, &serving.PredictRequest{Endpoint: "purchase", Entities: some[:100]})
	arms := map[string]int{}
	for _, p := range resp.Predictions {
		if p.Version != 1 || (p.Arm != "control" && p.Arm != "") {
			t.Fatalf("with a broken treatment: %+v; want version 1, in control or outside the experiment", p)
		}
		arms[p.Arm]++
	}
	if arms["control"] == 0 || arms[""] == 0 {
		t.Errorf("with a broken treatment, arms %v; want control's entities in it and the treatment's outside", arms)
	}

	// Ended: nothing is in an experiment any more.
	if _, err := d.reg.Deprecate(t.Context(), &registry.DeprecateParams{ID: resource.ID{Kind: resource.KindExperiment, Name: "broken_test", Variant: resource.DefaultVariant}, Reason: "stopped"}); err != nil {
		t.Fatal(err)
	}
	d.clock.Advance(refresh + time.Millisecond)
	resp = predict(t, d.endpoints, &serving.PredictRequest{Endpoint: "purchase", Entities: some[:100]})
	for _, p := range resp.Predictions {
		if p.Experiment != "" || p.Version != 1 {
			t.Fatalf("after the experiments ended: %+v; want version 1 outside any experiment", p)
		}
	}
	if resp.Version != 1 {
		t.Errorf("after the experiments ended, response version %d; want 1", resp.Version)
	}
}
