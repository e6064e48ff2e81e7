package definition_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

const experimentYAML = `experiments:
  - name: big_test
    description: Does version 1 beat production?
    owner: growth
    endpoint: big
    arms:
      - {name: control, model: big_model@production, weight: 90}
      - {name: treatment, model: big_model@1, weight: 10}
    metric: {feedback: purchased, kind: mean, window: 12h}
    min_samples: 500
`

var bigTest = resource.ID{Kind: resource.KindExperiment, Name: "big_test", Variant: resource.DefaultVariant}

// experimentEnv is endpointEnv (big_model served by the endpoint big) with
// experiments.yaml holding experiments and big_model's first version
// registered, so that an arm may name big_model@1.
func experimentEnv(t *testing.T, experiments string) *env {
	t.Helper()
	e := endpointEnv(t, modelYAML, endpointYAML)
	addVersions(t, e, "big_model", 1)
	write(t, e.dir, "experiments.yaml", experiments)
	return e
}

// addVersions registers n versions of a model from a file.
func addVersions(t *testing.T, e *env, model string, n int) {
	t.Helper()
	for range n {
		if _, err := e.s.Registry.CreateModelVersion(context.Background(), &registry.CreateModelVersionParams{Model: model,
			Artifact: registry.Artifact{Format: "slipway-linear", Bytes: []byte("{}")}}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestExperimentDefinition: an experiment is read as written, planned
// after its endpoint, registered depending on the endpoint, and unchanged
// when applied again; another split is a conflict.
func TestExperimentDefinition(t *testing.T) {
	e := experimentEnv(t, experimentYAML)
	ctx := context.Background()
	plan, err := e.apply(t)
	if err != nil {
		t.Fatal(err)
	}
	want := &resource.ExperimentSpec{
		Endpoint: bigEndpoint,
		Arms: []resource.ExperimentArm{
			{Name: "control", Model: "big_model", Alias: "production", Weight: 90},
			{Name: "treatment", Model: "big_model", Version: 1, Weight: 10},
		},
		Metric:     resource.ExperimentMetric{Feedback: "purchased", Kind: resource.MetricMean, Window: resource.Duration(12 * 3600 * 1e9)},
		MinSamples: 500,
	}
	it := planItem(t, plan, bigTest)
	if it.Action != definition.Create || !reflect.DeepEqual(it.Resource.Experiment, want) {
		t.Fatalf("plan: %s %+v, want create %+v", it.Action, it.Resource.Experiment, want)
	}
	if last := plan.Items[len(plan.Items)-1]; last != it {
		t.Errorf("the experiment is planned before %s; experiments come after their endpoints", last.Resource.ID)
	}
	reg, err := e.s.Registry.Get(ctx, bigTest)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reg.Experiment, want) || reg.Description != "Does version 1 beat production?" || reg.Owner != "growth" {
		t.Errorf("registered %+v %+v, want %+v", reg, reg.Experiment, want)
	}
	if reg.State.Status != resource.StatusReady {
		t.Errorf("status %s, want ready (an experiment has nothing to build)", reg.State.Status)
	}
	if deps, err := e.s.Registry.Dependents(ctx, bigEndpoint); err != nil || !reflect.DeepEqual(deps, []resource.ID{bigTest}) {
		t.Errorf("Dependents(endpoint big) = %v, %v; want the experiment", deps, err)
	}

	plan, err = e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	if it := planItem(t, plan, bigTest); it.Action != definition.Unchanged {
		t.Errorf("again: %s %v, want unchanged", it.Action, it.Diffs)
	}
	write(t, e.dir, "experiments.yaml", strings.Replace(experimentYAML, "weight: 10", "weight: 20", 1))
	plan, err = e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	if it := planItem(t, plan, bigTest); it.Action != definition.Conflict || len(it.Diffs) != 1 || it.Diffs[0].Field != "experiment.arms" {
		t.Errorf("another weight: %s %+v, want a conflict on experiment.arms", it.Action, it.Diffs)
	}
}

// TestExperimentDefaults: an experiment that leaves out what has a default
// is stored with the defaults filled in, and the same experiment with the
// defaults written out is the same definition (unchanged once applied).
func TestExperimentDefaults(t *testing.T) {
	short := `experiments:
  - name: big_test
    endpoint: big
    arms:
      - {name: control, model: big_model}
      - {name: treatment, model: big_model@1}
    metric: {feedback: purchased}
`
	explicit := `experiments:
  - name: big_test
    variant: default
    endpoint: big:default
    arms:
      - {name: control, model: big_model@production, weight: 1}
      - {name: treatment, model: big_model@1, weight: 1.0}
    metric: {feedback: purchased, kind: conversion, window: 7d}
    min_samples: 1000
`
	want := &resource.ExperimentSpec{
		Endpoint: bigEndpoint,
		Arms: []resource.ExperimentArm{
			{Name: "control", Model: "big_model", Alias: resource.DefaultModelAlias, Weight: 1},
			{Name: "treatment", Model: "big_model", Version: 1, Weight: 1},
		},
		Metric:     resource.ExperimentMetric{Feedback: "purchased", Kind: resource.MetricConversion, Window: resource.DefaultExperimentWindow},
		MinSamples: resource.DefaultExperimentMinSamples,
	}
	e := experimentEnv(t, short)
	plan, err := e.apply(t)
	if err != nil {
		t.Fatal(err)
	}
	if got := planItem(t, plan, bigTest).Resource; !reflect.DeepEqual(got.Experiment, want) {
		t.Fatalf("defaults: %+v, want %+v", got.Experiment, want)
	}
	if want.Metric.Window.String() != "7d" {
		t.Errorf("the default window is %s, want 7d", want.Metric.Window)
	}
	write(t, e.dir, "experiments.yaml", explicit)
	plan, err = e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	it := planItem(t, plan, bigTest)
	if it.Action != definition.Unchanged {
		t.Errorf("defaults written out: %s %v, want unchanged", it.Action, it.Diffs)
	}
	defs, err := definition.LoadDir(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if d.Resource.ID == bigTest && !reflect.DeepEqual(d.Resource.Experiment, want) {
			t.Errorf("explicit definition loads as %+v, want %+v", d.Resource.Experiment, want)
		}
	}
}

// TestExperimentBadInput: each problem the loader or the plan finds, with
// its file, line and field, and nothing registered.
func TestExperimentBadInput(t *testing.T) {
	for _, tc := range badExperiments {
		t.Run(tc.name, func(t *testing.T) {
			e := experimentEnv(t, "experiments:\n"+tc.yaml)
			_, err := e.apply(t)
			if err == nil || !strings.Contains(e.rel(err), tc.want) {
				t.Fatalf("err = %v\nwant %q", err, tc.want)
			}
			if n := e.registered(t); n != 0 {
				t.Errorf("%d resources registered after a failed plan", n)
			}
		})
	}
}

// okExperiment is a valid experiments: item, lines 2 to 7 of its file;
// badExperiments edit it.
const okExperiment = `  - name: x
    endpoint: big
    arms:
      - {name: a, model: big_model}
      - {name: b, model: big_model@1}
    metric: {feedback: purchased}
`

func editExperiment(old, new string) string {
	if !strings.Contains(okExperiment, old) {
		panic("okExperiment has no " + old)
	}
	return strings.Replace(okExperiment, old, new, 1)
}

// badExperiments are experiments: items with the problem each must report
// (FuzzLoadDir starts from them too).
var badExperiments = []struct{ name, yaml, want string }{
	{"NoEndpoint", editExperiment("    endpoint: big\n", ""), "experiments.yaml:2: endpoint: missing; a experiment needs it"},
	{"BadEndpoint", editExperiment("endpoint: big", "endpoint: big:V2"), `experiments.yaml:3: endpoint: invalid variant "V2"`},
	{"NoArms", editExperiment("    arms:\n      - {name: a, model: big_model}\n      - {name: b, model: big_model@1}\n", ""), "experiments.yaml:2: arms: missing; an experiment needs at least two arms, the control first"},
	{"OneArm", editExperiment("      - {name: b, model: big_model@1}\n", ""), "experiments.yaml:5: arms: has one arm; an experiment compares at least two arms"},
	{"NoArm", editExperiment("    arms:\n      - {name: a, model: big_model}\n      - {name: b, model: big_model@1}\n", "    arms: []\n"), "experiments.yaml:4: arms: has no arm; an experiment compares at least two arms"},
	{"ArmsNotAList", editExperiment("    arms:\n      - {name: a, model: big_model}\n      - {name: b, model: big_model@1}\n", "    arms: big_model@1\n"), "experiments.yaml:4: arms: expected a list of arms"},
	{"ArmNotAMapping", editExperiment("{name: b, model: big_model@1}", "big_model@1"), "experiments.yaml:6: arms: expected an arm, a mapping like {name: treatment, model: MODEL@7, weight: 50}"},
	{"ArmWithoutName", editExperiment("{name: b, model: big_model@1}", "{model: big_model@1}"), "experiments.yaml:6: arms.name: missing; every arm needs a name"},
	{"BadArmName", editExperiment("name: b,", "name: Treatment,"), `experiments.yaml:6: arms.name: invalid name "Treatment"`},
	{"ArmTwice", editExperiment("name: b,", "name: a,"), `experiments.yaml:6: arms.name: arm "a" is given twice (also at line 5); give each arm its own name`},
	{"ArmWithoutModel", editExperiment("{name: b, model: big_model@1}", "{name: b}"), "experiments.yaml:6: arms.model: missing; every arm needs a version of the endpoint's model"},
	{"ArmModelWithVariant", editExperiment("big_model@1", "big_model:v2@1"), `experiments.yaml:6: arms.model: invalid name "big_model:v2"`},
	{"NothingAfterAt", editExperiment("big_model@1", "big_model@"), `experiments.yaml:6: arms.model: "big_model@" names no alias or version after @: write big_model@production`},
	{"VersionZero", editExperiment("big_model@1", "big_model@0"), `experiments.yaml:6: arms.model: "big_model@0": version 0 does not exist: versions are numbered 1, 2, 3`},
	{"VersionTooLarge", editExperiment("big_model@1", "big_model@99999999999999999999"), `experiments.yaml:6: arms.model: "big_model@99999999999999999999": version 99999999999999999999 does not exist`},
	{"BadArmAlias", editExperiment("big_model@1", "big_model@Prod"), `experiments.yaml:6: arms.model: "big_model@Prod": invalid name "Prod"`},
	{"TwoAts", editExperiment("big_model@1", "big_model@1@2"), `experiments.yaml:6: arms.model: "big_model@1@2": invalid name "1@2"`},
	{"UnknownArmField", editExperiment("{name: b, model: big_model@1}", "{name: b, model: big_model@1, share: 5}"), "experiments.yaml:6: arms.share: unknown field of arms; allowed: name, model, weight"},
	{"ArmFieldTwice", editExperiment("{name: b, model: big_model@1}", "{name: b, model: big_model@1, name: c}"), "experiments.yaml:6: arms.name: field given twice"},
	{"WeightNotANumber", editExperiment("{name: a, model: big_model}\n      - {name: b, model: big_model@1}", "{name: a, model: big_model, weight: 50}\n      - {name: b, model: big_model@1, weight: 50%}"), `experiments.yaml:6: arms.weight: "50%" is not a number`},
	{"WeightZero", editExperiment("{name: a, model: big_model}\n      - {name: b, model: big_model@1}", "{name: a, model: big_model, weight: 1}\n      - {name: b, model: big_model@1, weight: 0}"), "experiments.yaml:6: arms.weight: 0 is not a positive finite number"},
	{"WeightNegative", editExperiment("{name: a, model: big_model}\n      - {name: b, model: big_model@1}", "{name: a, model: big_model, weight: -1}\n      - {name: b, model: big_model@1, weight: 1}"), "experiments.yaml:5: arms.weight: -1 is not a positive finite number"},
	{"WeightInfinite", editExperiment("{name: a, model: big_model}\n      - {name: b, model: big_model@1}", "{name: a, model: big_model, weight: 1e400}\n      - {name: b, model: big_model@1, weight: 1}"), "experiments.yaml:5: arms.weight: 1e400 is not a positive finite number"},
	{"WeightNaN", editExperiment("{name: a, model: big_model}\n      - {name: b, model: big_model@1}", "{name: a, model: big_model, weight: NaN}\n      - {name: b, model: big_model@1, weight: 1}"), "experiments.yaml:5: arms.weight: NaN is not a positive finite number"},
	{"SomeWeights", editExperiment("{name: a, model: big_model}", "{name: a, model: big_model, weight: 50}"), "experiments.yaml:6: arms.weight: missing, while other arms have one: give every arm a weight, or none for equal shares"},
	{"NoMetric", editExperiment("    metric: {feedback: purchased}\n", ""), "experiments.yaml:2: metric: missing; an experiment needs it: metric: {feedback: purchased, kind: conversion, window: 7d}"},
	{"EmptyMetric", editExperiment("metric: {feedback: purchased}", "metric:"), "experiments.yaml:7: metric: is empty"},
	{"MetricNotAMapping", editExperiment("metric: {feedback: purchased}", "metric: purchased"), "experiments.yaml:7: metric: expected a mapping, like metric: {feedback: purchased"},
	{"NoFeedback", editExperiment("metric: {feedback: purchased}", "metric: {kind: mean}"), "experiments.yaml:7: metric.feedback: missing; name the feedback the arms are compared on"},
	{"BadFeedback", editExperiment("feedback: purchased", "feedback: Purchased"), `experiments.yaml:7: metric.feedback: invalid feedback name "Purchased"`},
	{"BadMetricKind", editExperiment("feedback: purchased", "feedback: purchased, kind: median"), `experiments.yaml:7: metric.kind: unknown "median": use conversion`},
	{"BadWindow", editExperiment("feedback: purchased", "feedback: purchased, window: a week"), `experiments.yaml:7: metric.window: invalid duration "a week"`},
	{"NegativeWindow", editExperiment("feedback: purchased", "feedback: purchased, window: -7d"), `experiments.yaml:7: metric.window: invalid duration "-7d"`},
	{"ZeroWindow", editExperiment("feedback: purchased", "feedback: purchased, window: 0d"), "experiments.yaml:7: metric.window: must be positive"},
	{"UnknownMetricField", editExperiment("feedback: purchased", "feedback: purchased, goal: up"), "experiments.yaml:7: metric.goal: unknown field of metric; allowed: feedback, kind, window"},
	{"MinSamplesZero", okExperiment + "    min_samples: 0\n", `experiments.yaml:8: min_samples: "0" is not a positive whole number`},
	{"MinSamplesNotWhole", okExperiment + "    min_samples: 1e3\n", `experiments.yaml:8: min_samples: "1e3" is not a positive whole number`},
	{"UnknownField", okExperiment + "    traffic: 10%\n", "experiments.yaml:8: traffic: unknown field for a experiment; allowed: name, variant, description, owner, tags, endpoint, arms, metric, min_samples"},
	// Found by plan.
	{"UnknownEndpoint", editExperiment("endpoint: big", "endpoint: small"), "experiments.yaml:3: endpoint: unknown endpoint small:default: define it under endpoints:, or fix the reference"},
	{"EndpointVariantUnknown", editExperiment("endpoint: big", "endpoint: big:v2"), "experiments.yaml:3: endpoint: unknown endpoint big:v2"},
	{"NotTheEndpointsModel", editExperiment("{name: b, model: big_model@1}", "{name: b, model: amount_model@1}"), `experiments.yaml:6: arms.model: arm "b": model amount_model is not the model endpoint big:default serves (big_model): an experiment compares versions of the model the endpoint serves, so that concluding it can move the endpoint's alias; write big_model@ALIAS or big_model@VERSION`},
	{"VersionNotRegistered", editExperiment("big_model@1", "big_model@2"), `experiments.yaml:6: arms.model: arm "b": model big_model has no version 2 (its versions are 1 to 1); an arm's fixed version must be registered before the experiment is applied: see the versions with slipway models show big_model, or name an alias (big_model@production)`},
}

// TestExperimentFixedVersionOfAModelWithoutVersions: a model defined but
// never trained has no version an arm could fix.
func TestExperimentFixedVersionOfAModelWithoutVersions(t *testing.T) {
	e := endpointEnv(t, modelYAML, endpointYAML)
	write(t, e.dir, "experiments.yaml", "experiments:\n"+okExperiment)
	_, err := e.plan(t)
	if want := `experiments.yaml:6: arms.model: arm "b": model big_model has no version 1 (it has no versions yet)`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v\nwant %q", err, want)
	}
	// Aliases are not checked: the alias may be set after the experiment is applied.
	write(t, e.dir, "experiments.yaml", "experiments:\n"+editExperiment("big_model@1", "big_model@staging"))
	if _, err := e.plan(t); err != nil {
		t.Fatalf("two aliases of a model without versions: %v", err)
	}
}

// TestExperimentEndpointLifecycle: an experiment on a deprecated endpoint
// is warned about at its endpoint field; on a deleted one it is refused.
func TestExperimentEndpointLifecycle(t *testing.T) {
	ctx := context.Background()
	e := endpointEnv(t, modelYAML, endpointYAML)
	addVersions(t, e, "big_model", 1)
	if _, err := e.apply(t); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Registry.Deprecate(ctx, &registry.DeprecateParams{ID: bigEndpoint, By: "ana", Reason: "use big:v2"}); err != nil {
		t.Fatal(err)
	}
	write(t, e.dir, "experiments.yaml", "experiments:\n"+okExperiment)
	plan, err := e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Warnings) != 1 || !strings.HasPrefix(e.rel(plan.Warnings[0]), "experiments.yaml:3: endpoint: experiment x:default refers to endpoint big:default, deprecated at ") {
		t.Errorf("warnings %v; want one at experiments.yaml:3: endpoint", plan.Warnings)
	}
	if _, err := e.s.Registry.Delete(ctx, &registry.DeleteParams{ID: bigEndpoint}); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(e.dir, "endpoints.yaml"))
	_, err = e.plan(t)
	if want := "experiments.yaml:3: endpoint: endpoint big:default was deleted at "; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v\nwant %q", err, want)
	}
}

// TestExperimentEndpointRegisteredOnly: the endpoint may be registered by
// another directory's apply; its model is read from the registry.
func TestExperimentEndpointRegisteredOnly(t *testing.T) {
	e := experimentEnv(t, "")
	if _, err := e.apply(t); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(e.dir, "endpoints.yaml"))
	write(t, e.dir, "experiments.yaml", "experiments:\n"+okExperiment)
	if _, err := e.apply(t); err != nil {
		t.Fatalf("an experiment on a registered endpoint: %v", err)
	}
	write(t, e.dir, "experiments.yaml", "experiments:\n"+strings.ReplaceAll(editExperiment("name: x", "name: y"), "big_model", "amount_model"))
	if _, err := e.plan(t); err == nil || !strings.Contains(err.Error(), "is not the model endpoint big:default serves (big_model)") {
		t.Fatalf("another model than the registered endpoint's: %v", err)
	}
}

// experimentNamed is okExperiment named name.
func experimentNamed(name string) string { return editExperiment("name: x", "name: "+name) }

// TestOneExperimentPerEndpoint: a new experiment is refused while another
// splits its endpoint (in these files, or registered and running), and
// accepted once the other ended; an ended experiment applies unchanged
// whatever runs now.
func TestOneExperimentPerEndpoint(t *testing.T) {
	ctx := context.Background()
	id := func(name string) resource.ID {
		return resource.ID{Kind: resource.KindExperiment, Name: name, Variant: resource.DefaultVariant}
	}

	t.Run("TwoInTheFiles", func(t *testing.T) {
		e := experimentEnv(t, "experiments:\n"+experimentNamed("first")+experimentNamed("second"))
		_, err := e.plan(t)
		for _, want := range []string{
			"experiments.yaml:3: endpoint: experiment second:default (at experiments.yaml:8) splits endpoint big:default too, and at most one experiment runs per endpoint: apply one of them now, and the other once the first is concluded or stopped (slipway experiments conclude NAME --winner ARM, or slipway experiments stop NAME)",
			"experiments.yaml:9: endpoint: experiment first:default (at experiments.yaml:2) splits endpoint big:default too",
		} {
			if err == nil || !strings.Contains(e.rel(err), want) {
				t.Errorf("err = %v\nwant %q", err, want)
			}
		}
	})
	t.Run("VariantsInTheFiles", func(t *testing.T) {
		e := experimentEnv(t, "experiments:\n"+okExperiment+editExperiment("  - name: x\n", "  - name: x\n    variant: v2\n"))
		if _, err := e.plan(t); err == nil || !strings.Contains(e.rel(err), "experiment x:v2 (at experiments.yaml:8) splits endpoint big:default too") {
			t.Errorf("two variants of one experiment: %v", err)
		}
	})
	t.Run("OtherEndpoints", func(t *testing.T) {
		e := experimentEnv(t, "experiments:\n"+experimentNamed("first")+strings.Replace(experimentNamed("second"), "endpoint: big", "endpoint: big:v2", 1))
		write(t, e.dir, "endpoints.yaml", endpointYAML+"  - name: big\n    variant: v2\n    model: big_model\n")
		if _, err := e.apply(t); err != nil {
			t.Fatalf("one experiment on each of two endpoints: %v", err)
		}
	})

	t.Run("RegisteredRunningThenEnded", func(t *testing.T) {
		e := experimentEnv(t, "experiments:\n"+experimentNamed("first"))
		if _, err := e.apply(t); err != nil {
			t.Fatal(err)
		}
		// first stays in the files, unchanged: only second is refused.
		write(t, e.dir, "experiments.yaml", "experiments:\n"+experimentNamed("first")+experimentNamed("second"))
		_, err := e.plan(t)
		var errs definition.Errors
		if err == nil || !errors.As(err, &errs) || len(errs) != 1 ||
			!strings.HasPrefix(e.rel(errs[0]), "experiments.yaml:9: endpoint: experiment first:default already runs on endpoint big:default (applied ") ||
			!strings.HasSuffix(errs[0].Error(), "and at most one experiment runs per endpoint: conclude or stop it first (slipway experiments conclude first:default --winner ARM, or slipway experiments stop first:default)") {
			t.Fatalf("second while first runs (in the files too): %v", err)
		}
		// Registered, and no longer in the files: the same.
		write(t, e.dir, "experiments.yaml", "experiments:\n"+experimentNamed("second"))
		if _, err := e.plan(t); err == nil || !strings.Contains(err.Error(), "experiments.yaml:3: endpoint: experiment first:default already runs on endpoint big:default") {
			t.Fatalf("second while first runs (registered only): %v", err)
		}
		// Ended (conclude and stop deprecate it): second may start, with
		// first still in the files, and first re-applies unchanged.
		if _, err := e.s.Registry.Deprecate(ctx, &registry.DeprecateParams{ID: id("first"), By: "ana", Reason: "stopped"}); err != nil {
			t.Fatal(err)
		}
		write(t, e.dir, "experiments.yaml", "experiments:\n"+experimentNamed("first")+experimentNamed("second"))
		plan, err := e.apply(t)
		if err != nil {
			t.Fatalf("second after first ended: %v", err)
		}
		if a, b := planItem(t, plan, id("first")).Action, planItem(t, plan, id("second")).Action; a != definition.Unchanged || b != definition.Create {
			t.Errorf("first %s, second %s; want unchanged and create", a, b)
		}
		first, err := e.s.Registry.Get(ctx, id("first"))
		if err != nil || first.State.Deprecated == nil || first.State.Deprecated.Reason != "stopped" {
			t.Fatalf("first after the apply: %+v, %v; want it still ended", first, err)
		}
		// While second runs, the ended first still applies unchanged.
		plan, err = e.apply(t)
		if err != nil {
			t.Fatalf("re-applying an ended experiment while another runs: %v", err)
		}
		if a := planItem(t, plan, id("first")).Action; a != definition.Unchanged {
			t.Errorf("first %s, want unchanged", a)
		}
		// A third is refused because of second, not of the ended first.
		write(t, e.dir, "experiments.yaml", "experiments:\n"+experimentNamed("first")+experimentNamed("second")+experimentNamed("third"))
		_, err = e.plan(t)
		if err == nil || !errors.As(err, &errs) || len(errs) != 1 || !strings.Contains(e.rel(errs[0]), "experiments.yaml:15: endpoint: experiment second:default already runs") {
			t.Fatalf("third while second runs: %v", err)
		}
	})

	t.Run("DeletedDoesNotRun", func(t *testing.T) {
		e := experimentEnv(t, "experiments:\n"+experimentNamed("first"))
		if _, err := e.apply(t); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Registry.Delete(ctx, &registry.DeleteParams{ID: id("first")}); err != nil {
			t.Fatal(err)
		}
		write(t, e.dir, "experiments.yaml", "experiments:\n"+experimentNamed("second"))
		if _, err := e.apply(t); err != nil {
			t.Fatalf("an experiment after the other was deleted: %v", err)
		}
	})
}

// TestDocsExperimentExamplePlans plans the Experiments example of
// docs/definitions.md, as it is, next to the demo project, with the
// endpoint of the Endpoints example and seven versions of its model.
func TestDocsExperimentExamplePlans(t *testing.T) {
	e := newEnv(t)
	root := demoBeside(t, e)
	write(t, root, "definitions/endpoints.yaml", docsYAML(t, "Endpoints"))
	write(t, root, "definitions/experiments.yaml", docsYAML(t, "Experiments"))
	addVersions(t, e, "purchase_model", 7)
	defs, err := definition.LoadDir(filepath.Join(root, "definitions"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := definition.MakePlan(context.Background(), defs, e.s)
	if err != nil {
		t.Fatalf("the docs' experiment example does not plan:\n%v", err)
	}
	var got []string
	for _, it := range plan.Items {
		if x := it.Resource.Experiment; x != nil {
			got = append(got, it.Resource.Name+" on "+x.Endpoint.Name)
			for _, a := range x.Arms {
				got = append(got, a.Name+" "+a.Model+"@"+a.Alias+itoa(a.Version))
			}
		}
	}
	if want := []string{"purchase_v2_test on purchase", "control purchase_model@production", "treatment purchase_model@7"}; !reflect.DeepEqual(got, want) {
		t.Errorf("experiments planned: %v, want %v", got, want)
	}
}

// rel is err's text with the project directory left out of its file names.
func (e *env) rel(err error) string {
	return strings.ReplaceAll(err.Error(), e.dir+string(filepath.Separator), "")
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// TestSchemaDocumentsExperiments checks docs/definitions.schema.json's
// experiments key against what the loader accepts: an experiment's fields,
// the keys of its arms and metric, the metric kinds and the required fields.
func TestSchemaDocumentsExperiments(t *testing.T) {
	b, err := os.ReadFile("../docs/definitions.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	type object struct {
		Properties map[string]*object `json:"properties"`
		Required   []string           `json:"required"`
		Enum       []string           `json:"enum"`
		Items      *object            `json:"items"`
		Ref        string             `json:"$ref"`
	}
	var schema struct {
		Properties map[string]*object `json:"properties"`
		Defs       map[string]*object `json:"$defs"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	if top := schema.Properties["experiments"]; top == nil || top.Items == nil || top.Items.Ref != "#/$defs/experiment" {
		t.Fatal("the schema has no experiments key holding $defs/experiment items")
	}
	x := schema.Defs["experiment"]
	deref := func(o *object) *object {
		if o != nil && o.Ref != "" {
			return schema.Defs[strings.TrimPrefix(o.Ref, "#/$defs/")]
		}
		return o
	}
	if x == nil || x.Properties["arms"] == nil || x.Properties["arms"].Items == nil || deref(x.Properties["metric"]) == nil || deref(x.Properties["metric"]).Properties["kind"] == nil {
		t.Fatal("the schema's $defs/experiment lacks arms items or metric.kind")
	}
	keys := func(o *object) []string { return slices.Sorted(maps.Keys(o.Properties)) }
	sorted := func(s ...string) []string { return slices.Sorted(slices.Values(s)) }
	msg := loadError(t, "experiments:\n  - name: x\n    surprise: 1\n")
	arms := x.Properties["arms"].Items
	metric := deref(x.Properties["metric"])
	for _, c := range []struct {
		what      string
		got, want []string
	}{
		{"experiment fields", keys(x), listAfter(t, msg, "allowed: ")},
		{"arm keys", keys(arms), listAfter(t, loadError(t, "experiments:\n  - name: x\n    arms: [{surprise: 1}]\n"), "allowed: ")},
		{"metric keys", keys(metric), listAfter(t, loadError(t, "experiments:\n  - name: x\n    metric: {surprise: 1}\n"), "allowed: ")},
		{"metric kinds", sorted(metric.Properties["kind"].Enum...), sorted(resource.MetricConversion, resource.MetricMean)},
		{"experiment required", sorted(x.Required...), sorted("name", "endpoint", "arms", "metric")},
		{"arm required", sorted(arms.Required...), sorted("name", "model")},
		{"metric required", sorted(metric.Required...), sorted("feedback")},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("schema %s = %v; the loader accepts %v", c.what, c.got, c.want)
		}
	}
	// The loader reports each required field missing from an item with only a name.
	for _, f := range keys(x) {
		if missing := strings.Contains(msg, ": "+f+": missing"); missing != slices.Contains(x.Required, f) && f != "name" {
			t.Errorf("field %s: the loader says missing %v, the schema requires it %v", f, missing, !missing)
		}
	}
}
