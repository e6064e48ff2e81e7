package definition_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/resource"
)

// loopYAML is a model whose retraining and promotion close the feedback
// loop, and the endpoint that serves it.
const loopYAML = modelYAML + `    retrain:
      schedule: "@daily"
      feedback: purchased
      new_feedback: 500
    promote:
      when: experiment
      experiment:
        endpoint: big
        traffic: 20%
        metric: {feedback: purchased}
endpoints:
  - name: big
    model: big_model
`

// TestModelLoopPolicy: retrain: and promote.when: experiment are read with
// their defaults filled in, and the definition that writes the defaults
// out is the same.
func TestModelLoopPolicy(t *testing.T) {
	e := modelEnv(t, loopYAML)
	plan, err := e.apply(t)
	if err != nil {
		t.Fatal(err)
	}
	m := planItem(t, plan, bigModel).Resource.Model
	if m.Schedule != "@daily" || !reflect.DeepEqual(m.Retrain, &resource.ModelRetrain{Feedback: "purchased", NewFeedback: 500}) {
		t.Errorf("schedule %q, retrain %+v; want @daily and 500 purchased", m.Schedule, m.Retrain)
	}
	want := &resource.PromoteExperimentSpec{Endpoint: resource.ID{Kind: resource.KindEndpoint, Name: "big", Variant: resource.DefaultVariant},
		Traffic: 20, Metric: resource.ExperimentMetric{Feedback: "purchased", Kind: resource.MetricConversion, Window: resource.DefaultExperimentWindow},
		MinSamples: resource.DefaultExperimentMinSamples}
	if m.Promote.When != resource.PromoteExperiment || !reflect.DeepEqual(m.Promote.Experiment, want) {
		t.Errorf("promote %+v %+v; want when experiment and %+v", m.Promote, m.Promote.Experiment, want)
	}
	explicit := strings.Replace(loopYAML, "metric: {feedback: purchased}", "metric: {feedback: purchased, kind: conversion, window: 7d}\n        min_samples: 1000", 1)
	explicit = strings.Replace(explicit, "    retrain:\n      schedule: \"@daily\"\n", "    schedule: \"@daily\"\n    retrain:\n", 1)
	write(t, e.dir, "models.yaml", explicit)
	plan, err = e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	if it := planItem(t, plan, bigModel); it.Action != definition.Unchanged {
		t.Errorf("with the defaults written out: %s %v; want unchanged", it.Action, it.Diffs)
	}
}

func TestModelLoopPolicyBadInput(t *testing.T) {
	endpoint := "endpoints:\n  - name: big\n    model: big_model\n"
	cases := []struct{ name, yaml, want string }{
		{"ExperimentWithoutWhen", "    promote:\n      experiment: {endpoint: big, metric: {feedback: purchased}}\n" + endpoint,
			"models.yaml:11: promote.experiment: is only read with promote.when: experiment"},
		{"WhenWithoutExperiment", "    promote: {when: experiment}\n" + endpoint,
			"promote: when: experiment needs the experiment to start"},
		{"NoFeedbackName", "    promote:\n      when: experiment\n      experiment: {endpoint: big, metric: {kind: mean}}\n" + endpoint,
			"promote.experiment.metric.feedback: missing"},
		{"BadTraffic", "    promote:\n      when: experiment\n      experiment: {endpoint: big, traffic: 100, metric: {feedback: purchased}}\n" + endpoint,
			"models.yaml:12: promote.experiment.traffic: \"100\" is not a share above 0% and below 100%"},
		{"UnknownKey", "    promote:\n      when: experiment\n      experiment: {endpoint: big, share: 3, metric: {feedback: purchased}}\n" + endpoint,
			"promote.experiment.share: unknown field of promote.experiment"},
		{"UnknownEndpoint", "    promote:\n      when: experiment\n      experiment: {endpoint: nope, metric: {feedback: purchased}}\n",
			"promote.experiment.endpoint: unknown endpoint nope:default"},
		{"EndpointOfAnotherAlias", "    promote:\n      when: experiment\n      experiment: {endpoint: big, metric: {feedback: purchased}}\nendpoints:\n  - name: big\n    model: big_model\n    alias: staging\n",
			"endpoint big:default serves big_model@staging, but the experiment tests new versions of big_model against alias production"},
		{"RetrainWithoutCount", "    retrain: {feedback: purchased}\n", "models.yaml:10: retrain.new_feedback: missing"},
		{"RetrainBadCount", "    retrain: {feedback: purchased, new_feedback: -3}\n", "retrain.new_feedback: \"-3\" is not a positive whole number"},
		{"RetrainBadName", "    retrain: {feedback: Purchased, new_feedback: 3}\n", "retrain.feedback: invalid feedback name \"Purchased\""},
		{"TwoSchedules", "    schedule: \"@daily\"\n    retrain: {schedule: \"@hourly\"}\n", "retrain.schedule: the model has a schedule field too"},
		{"RetrainBadSchedule", "    retrain: {schedule: \"every day\"}\n", "retrain.schedule:"},
		{"RetrainEmpty", "    retrain: {}\n", "retrain: is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := modelEnv(t, modelYAML+tc.yaml)
			_, err := e.apply(t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant %q", err, tc.want)
			}
			if n := e.registered(t); n != 0 {
				t.Errorf("%d resources registered after a failed plan", n)
			}
		})
	}
}

// TestExperimentAutoConclude: auto_conclude: true stores the review
// schedule (hourly unless given); review needs auto_conclude.
func TestExperimentAutoConclude(t *testing.T) {
	for name, tc := range map[string]struct {
		extra  string
		review string
	}{"Default": {"    auto_conclude: true\n", resource.DefaultExperimentReview}, "Daily": {"    auto_conclude: true\n    review: \"@daily\"\n", "@daily"}} {
		t.Run(name, func(t *testing.T) {
			e := experimentEnv(t, "experiments:\n"+okExperiment+tc.extra)
			plan, err := e.apply(t)
			if err != nil {
				t.Fatal(err)
			}
			x := planItem(t, plan, resource.ID{Kind: resource.KindExperiment, Name: "x", Variant: resource.DefaultVariant}).Resource.Experiment
			if !x.AutoConclude || x.Review != tc.review {
				t.Errorf("auto_conclude %v, review %q; want true and %q", x.AutoConclude, x.Review, tc.review)
			}
		})
	}
	for name, tc := range map[string]struct{ extra, want string }{
		"ReviewAlone":   {"    review: \"@daily\"\n", "experiments.yaml:8: review: is only read with auto_conclude: true"},
		"NotABool":      {"    auto_conclude: yes please\n", "experiments.yaml:8: auto_conclude: \"yes please\" is not true or false"},
		"ReviewNotCron": {"    auto_conclude: true\n    review: often\n", "experiments.yaml:9: review:"},
	} {
		t.Run(name, func(t *testing.T) {
			e := experimentEnv(t, "experiments:\n"+okExperiment+tc.extra)
			_, err := e.apply(t)
			if err == nil || !strings.Contains(e.rel(err), tc.want) {
				t.Fatalf("err = %v\nwant %q", err, tc.want)
			}
		})
	}
}
