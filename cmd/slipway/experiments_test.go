package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/feedback"
	"github.com/slipway-ml/slipway/internal/backends"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
	"github.com/slipway-ml/slipway/value"
)

type expRows struct {
	rows [][]value.Value
	i    int
}

func (r *expRows) Next() bool            { r.i++; return r.i <= len(r.rows) }
func (r *expRows) Values() []value.Value { return r.rows[r.i-1] }
func (r *expRows) Err() error            { return nil }

// experimentDataDir makes a data directory in a new directory holding
// model m (versions 1 and 2, production at 1), endpoint purchase over
// m@production, experiment purchase_test (control m@production, treatment
// m@2, 50/50, conversion on purchased, min_samples 100), and the prediction
// log and feedback of 400 entities: every fifth of the control bought, two
// in five of the treatment, so the treatment wins.
func experimentDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	p, err := platform.Open(ctx, platform.Options{DataDir: filepath.Join(dir, ".slipway"), Config: config.Default(), Backends: backends.All(), Create: true})
	must(t, err)
	defer p.Close()
	reg, err := p.Registry(ctx)
	must(t, err)
	off, err := p.Offline(ctx)
	must(t, err)
	for range 2 {
		_, err := reg.CreateModelVersion(ctx, &registry.CreateModelVersionParams{Model: "m", Artifact: registry.Artifact{Format: "linear", Bytes: []byte("{}")},
			TrainingSet: resource.ID{Kind: resource.KindTrainingSet, Name: "ts", Variant: resource.DefaultVariant}, Trainer: "registered"})
		must(t, err)
	}
	_, err = reg.SetModelAlias(ctx, &registry.SetModelAliasParams{Model: "m", Alias: "production", Version: 1, By: "setup"})
	must(t, err)
	ep := resource.ID{Kind: resource.KindEndpoint, Name: "purchase", Variant: resource.DefaultVariant}
	spec := &resource.ExperimentSpec{Endpoint: ep,
		Arms:   []resource.ExperimentArm{{Name: "control", Model: "m", Alias: "production", Weight: 50}, {Name: "treatment", Model: "m", Version: 2, Weight: 50}},
		Metric: resource.ExperimentMetric{Feedback: "purchased", Kind: resource.MetricConversion, Window: resource.DefaultExperimentWindow}, MinSamples: 100}
	_, err = reg.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{{ID: ep, Endpoint: &resource.EndpointSpec{Model: "m", Alias: "production"}},
		{ID: resource.ID{Kind: resource.KindExperiment, Name: "purchase_test", Variant: resource.DefaultVariant}, Experiment: spec}}})
	must(t, err)
	var preds, events [][]value.Value
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range 400 {
		entity := fmt.Sprintf("s%03d", i)
		arm := spec.Assign("purchase_test", entity)
		rec := model.Record{ID: fmt.Sprintf("p%03d", i), Time: t0.Add(time.Duration(i) * time.Minute), Endpoint: "purchase:default", Model: "m", Version: arm + 1,
			Experiment: "purchase_test", Arm: spec.Arms[arm].Name, Entity: entity, Output: []byte("{}"), Features: []byte("{}"), Statuses: []byte("{}"), Encoded: []byte("[]")}
		preds = append(preds, rec.AppendRow(nil, "b1"))
		if i%5 < arm+1 {
			at := value.FromTime(rec.Time.Add(time.Hour))
			events = append(events, []value.Value{value.FromString("e" + rec.ID), value.FromString(rec.ID), value.NullValue(), value.NullValue(), value.NullValue(),
				value.FromString("purchased"), value.FromFloat64(1), value.FromBool(true), at, at, value.FromString("b1")})
		}
	}
	c := &coordinator.Coordinator{Registry: reg, Offline: off}
	table := offline.PredictionLogTable(ep.Ref())
	_, err = off.WriteRows(ctx, &offline.WriteRowsParams{Table: table, Columns: resource.PredictionColumns, Rows: &expRows{rows: preds}})
	must(t, err)
	_, err = c.RegisterOutputs(ctx, []*resource.Resource{{ID: resource.EndpointPredictions(ep.Ref()), Source: &resource.SourceSpec{Table: table, TimestampColumn: resource.PredictedAtColumn}}})
	must(t, err)
	_, err = off.WriteRows(ctx, &offline.WriteRowsParams{Table: feedback.Table, Columns: feedback.Columns, Rows: &expRows{rows: events}})
	must(t, err)
	d, err := feedback.Records{Offline: off}.Destination(ctx, "")
	must(t, err)
	must(t, d.Prepare(ctx))
	_, err = c.RegisterOutputs(ctx, d.Sources)
	must(t, err)
	return dir
}

// TestExperimentCommands: report (table and --json), conclude and stop,
// on the data directory and through a server, with their refusals.
func TestExperimentCommands(t *testing.T) {
	dir := experimentDataDir(t)
	r := mustRun(t, dir, "experiments", "report", "purchase_test")
	for _, want := range []string{
		"experiment purchase_test:default: running\n",
		"endpoint purchase:default: model m, alias production -> version 1\n",
		"metric: conversion of feedback \"purchased\" within 7d of an entity's first exposure; min_samples 100 per arm\nexposures count once their 7d window has ended\n",
		"ARM        MODEL",
		"control    m@production (version 1)  50",
		"(control)",
		"treatment  m@2",
		"sample ratio: chi2 ",
		"verdict: ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report: no %q in\n%s", want, r.stdout)
		}
	}
	var rep server.ExperimentReportBody
	must(t, json.Unmarshal([]byte(mustRun(t, dir, "experiments", "report", "purchase_test", "--json").stdout), &rep))
	if rep.State != "running" || rep.Report == nil || rep.Report.Winner != "treatment" || len(rep.Report.Arms) != 2 ||
		rep.Report.Arms[0].N+rep.Report.Arms[1].N != 400 || rep.Report.Arms[1].P == nil {
		t.Fatalf("report --json: %+v", rep)
	}
	if !strings.Contains(r.stdout, "verdict: "+rep.Report.Verdict+"\n") {
		t.Errorf("the table's verdict is not the report's %q:\n%s", rep.Report.Verdict, r.stdout)
	}

	if r := slipway(t, dir, "experiments", "report", "nope"); r.code != 1 || !strings.Contains(r.stderr, "experiment nope:default: not found") {
		t.Errorf("report of an unknown experiment: exit %d, %s", r.code, r.stderr)
	}
	if r := slipway(t, dir, "experiments", "conclude", "purchase_test"); r.code != 1 || !strings.Contains(r.stderr, "--winner ARM") {
		t.Errorf("conclude without --winner: exit %d, %s", r.code, r.stderr)
	}
	if r := slipway(t, dir, "experiments", "conclude", "purchase_test", "--winner", "nope"); r.code != 1 || !strings.Contains(r.stderr, "its arms are control, treatment") {
		t.Errorf("conclude with an unknown arm: exit %d, %s", r.code, r.stderr)
	}

	// Through a server.
	base, _ := startServe(t, dir)
	r = mustRun(t, t.TempDir(), "--server", base, "experiments", "conclude", "purchase_test", "--winner", "treatment", "--by", "ana")
	if want := "experiment purchase_test:default concluded: winner treatment (model m version 2)\nproduction of m -> version 2 (was version 1)\n"; !strings.HasSuffix(r.stdout, want) ||
		!strings.HasPrefix(r.stdout, "verdict: "+rep.Report.Verdict) || r.stderr != "" {
		t.Errorf("conclude: stdout\n%s\nstderr\n%s\nwant the verdict, then\n%s", r.stdout, r.stderr, want)
	}
	if r := slipway(t, t.TempDir(), "--server", base, "experiments", "stop", "purchase_test"); r.code != 1 || !strings.Contains(r.stderr, "ended at") ||
		!strings.Contains(r.stderr, "by ana (concluded: winner treatment") {
		t.Errorf("stop after conclude: exit %d, %s", r.code, r.stderr)
	}
	if r := mustRun(t, t.TempDir(), "--server", base, "experiments", "report", "purchase_test"); !strings.Contains(r.stdout, "experiment purchase_test:default: concluded at ") ||
		!strings.Contains(r.stdout, "alias production -> version 2") {
		t.Errorf("report after conclude:\n%s", r.stdout)
	}
}

// TestExperimentCommandsAgainstTheVerdict: concluding with an arm the
// verdict does not call warns and goes ahead; stop records its reason.
func TestExperimentCommandsAgainstTheVerdict(t *testing.T) {
	dir := experimentDataDir(t)
	r := mustRun(t, dir, "experiments", "conclude", "purchase_test", "--winner", "control")
	if !strings.Contains(r.stderr, "warning: the report calls treatment the winner, not control; concluding with control as you asked") ||
		!strings.HasSuffix(r.stdout, "concluded: winner control (model m version 1)\nproduction of m stays at version 1\n") {
		t.Errorf("conclude against the verdict: stdout\n%s\nstderr\n%s", r.stdout, r.stderr)
	}

	dir = experimentDataDir(t)
	if r := mustRun(t, dir, "experiments", "stop", "purchase_test", "--reason", "checkout breaks"); r.stdout != "experiment purchase_test:default stopped: checkout breaks\n" {
		t.Errorf("stop: %q", r.stdout)
	}
	if r := slipway(t, dir, "experiments", "stop", "purchase_test"); r.code != 1 || !strings.Contains(r.stderr, "experiment has ended") {
		t.Errorf("stop again: exit %d, %s", r.code, r.stderr)
	}
	if r := mustRun(t, dir, "experiments", "--help"); !strings.Contains(r.stdout, "report") || !strings.Contains(r.stdout, "conclude") || !strings.Contains(r.stdout, "stop") {
		t.Errorf("experiments --help:\n%s", r.stdout)
	}
}
