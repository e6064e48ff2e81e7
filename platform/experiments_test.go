package platform_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/internal/backends"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// TestExperimentBeforeAnyPrediction: an experiment whose endpoint logged
// nothing yet reports zero exposures and no winner; an arm whose alias
// points nowhere resolves to 0 and cannot win; an experiment deprecated by
// hand has ended and refuses to conclude or stop.
func TestExperimentBeforeAnyPrediction(t *testing.T) {
	ctx := t.Context()
	p, err := platform.Open(ctx, platform.Options{DataDir: filepath.Join(t.TempDir(), ".slipway"), Config: config.Default(), Backends: backends.All(), Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	reg, err := p.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.CreateModelVersion(ctx, &registry.CreateModelVersionParams{Model: "m", Artifact: registry.Artifact{Format: "linear", Bytes: []byte("{}")},
		TrainingSet: resource.ID{Kind: resource.KindTrainingSet, Name: "ts", Variant: resource.DefaultVariant}, Trainer: "registered"}); err != nil {
		t.Fatal(err)
	}
	ep := resource.ID{Kind: resource.KindEndpoint, Name: "purchase", Variant: "v2"}
	exp := resource.ID{Kind: resource.KindExperiment, Name: "spend_test", Variant: "b"}
	spec := &resource.ExperimentSpec{Endpoint: ep,
		Arms:   []resource.ExperimentArm{{Name: "control", Model: "m", Alias: "production", Weight: 1}, {Name: "staged", Model: "m", Alias: "staging", Weight: 3}},
		Metric: resource.ExperimentMetric{Feedback: "spent", Kind: resource.MetricMean, Window: resource.DefaultExperimentWindow}, MinSamples: 50}
	if _, err := reg.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{{ID: ep, Endpoint: &resource.EndpointSpec{Model: "m", Alias: "production"}},
		{ID: exp, Experiment: spec}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.SetModelAlias(ctx, &registry.SetModelAliasParams{Model: "m", Alias: "production", Version: 1}); err != nil {
		t.Fatal(err)
	}

	rep, err := p.ExperimentReport(ctx, exp.Ref())
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != platform.ExperimentRunning || rep.Report.Kind != "mean" || rep.Report.Winner != "" || rep.Report.MinSamples != 50 ||
		rep.Report.Arms[0].N != 0 || rep.Report.Arms[1].N != 0 || rep.Report.SRM.Flagged {
		t.Errorf("report before any prediction: %+v", rep.Report)
	}
	if rep.Arms[0].Resolved != 1 || rep.Arms[1].Resolved != 0 || rep.Arms[1].Weight != 3 || rep.Endpoint.Endpoint != ep || rep.Endpoint.Version != 1 {
		t.Errorf("arms %+v, endpoint %+v; want control at 1, staged at none", rep.Arms, rep.Endpoint)
	}
	if _, err := p.ExperimentReport(ctx, resource.Ref{Name: "spend_test", Variant: "default"}); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("another variant: %v; want not found", err)
	}
	_, err = p.ConcludeExperiment(ctx, &platform.ConcludeExperimentParams{Experiment: exp.Ref(), Winner: "staged"})
	if !errors.Is(err, platform.ErrInvalid) || !strings.Contains(err.Error(), "alias staging of model m, which points at no version") {
		t.Errorf("concluding with an arm of no version: %v", err)
	}

	if _, err := p.Deprecate(ctx, &registry.DeprecateParams{ID: exp, By: "eve", Reason: "superseded"}); err != nil {
		t.Fatal(err)
	}
	if rep, err := p.ExperimentReport(ctx, exp.Ref()); err != nil || rep.State != platform.ExperimentEnded || rep.Ended.By != "eve" {
		t.Errorf("report of a deprecated experiment: %+v, %v; want ended", rep, err)
	}
	if _, err := p.ConcludeExperiment(ctx, &platform.ConcludeExperimentParams{Experiment: exp.Ref(), Winner: "control"}); !errors.Is(err, platform.ErrEnded) ||
		!strings.Contains(err.Error(), "by eve (superseded)") {
		t.Errorf("concluding a deprecated experiment: %v; want ended", err)
	}
	if _, err := p.StopExperiment(ctx, &platform.StopExperimentParams{Experiment: exp.Ref()}); !errors.Is(err, platform.ErrEnded) {
		t.Errorf("stopping a deprecated experiment: %v; want ended", err)
	}

	// Undoing the deprecation starts it again, unless another experiment
	// runs on the endpoint meanwhile.
	next := resource.ID{Kind: resource.KindExperiment, Name: "spend_test2", Variant: resource.DefaultVariant}
	if _, err := reg.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{{ID: next, Experiment: spec}}}); err != nil {
		t.Fatal(err)
	}
	_, err = p.Deprecate(ctx, &registry.DeprecateParams{ID: exp, Undo: true})
	if !errors.Is(err, platform.ErrConflict) || !strings.Contains(err.Error(), "experiment spend_test2:default runs on endpoint purchase:v2") {
		t.Errorf("restarting an experiment while another runs: %v; want a conflict naming the other", err)
	}
	if _, err := p.StopExperiment(ctx, &platform.StopExperimentParams{Experiment: next.Ref()}); err != nil {
		t.Fatal(err)
	}
	if r, err := p.Deprecate(ctx, &registry.DeprecateParams{ID: exp, Undo: true}); err != nil || r.State.Deprecated != nil {
		t.Errorf("restarting it once the other stopped: %+v, %v", r, err)
	}
}
