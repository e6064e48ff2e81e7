package server_test

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/client"
	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/experiment"
	"github.com/slipway-ml/slipway/feedback"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

var (
	expEndpoint = resource.ID{Kind: resource.KindEndpoint, Name: "purchase", Variant: resource.DefaultVariant}
	expID       = resource.ID{Kind: resource.KindExperiment, Name: "purchase_test", Variant: resource.DefaultVariant}
)

// rowList streams rows held in memory (offline.RowSource).
type rowList struct {
	rows [][]value.Value
	i    int
}

func (r *rowList) Next() bool            { r.i++; return r.i <= len(r.rows) }
func (r *rowList) Values() []value.Value { return r.rows[r.i-1] }
func (r *rowList) Err() error            { return nil }

// experimentFixture registers, on a new platform, model m with versions 1
// to 3 (production at 1), endpoint purchase over m@production, and the
// experiment purchase_test (control m@production, treatment m@2, 50/50,
// conversion on "purchased" within 7 days, min_samples 100); then ships a
// prediction log of 300 entities, each answered by the arm the experiment
// assigns it, and feedback: a purchase of every fifth entity in the
// control and two in five in the treatment. It returns the handler and the
// statistics the report must show, computed here.
func experimentFixture(t *testing.T) (fixture, []experiment.ArmStats) {
	t.Helper()
	ctx := t.Context()
	p, reg, on := newBackends(t)
	f := newHandler(t, p, reg, on)
	for range 3 {
		if _, err := reg.CreateModelVersion(ctx, &registry.CreateModelVersionParams{Model: "m", Artifact: registry.Artifact{Format: "linear", Bytes: []byte("{}")},
			TrainingSet: resource.ID{Kind: resource.KindTrainingSet, Name: "ts", Variant: resource.DefaultVariant}, Trainer: "registered"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.SetModelAlias(ctx, &registry.SetModelAliasParams{Model: "m", Alias: "production", Version: 1, By: "setup"}); err != nil {
		t.Fatal(err)
	}
	spec := &resource.ExperimentSpec{Endpoint: expEndpoint,
		Arms:   []resource.ExperimentArm{{Name: "control", Model: "m", Alias: "production", Weight: 50}, {Name: "treatment", Model: "m", Version: 2, Weight: 50}},
		Metric: resource.ExperimentMetric{Feedback: "purchased", Kind: resource.MetricConversion, Window: resource.DefaultExperimentWindow}, MinSamples: 100}
	apply(t, reg, &resource.Resource{ID: expEndpoint, Endpoint: &resource.EndpointSpec{Model: "m", Alias: "production"}},
		&resource.Resource{ID: expID, Experiment: spec})

	want := []experiment.ArmStats{{Name: "control"}, {Name: "treatment"}}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var preds, events [][]value.Value
	for i := range 300 {
		entity := fmt.Sprintf("s%03d", i)
		arm := spec.Assign(expID.Name, entity)
		at := t0.Add(time.Duration(i) * time.Minute)
		rec := model.Record{ID: fmt.Sprintf("p%03d", i), Time: at, Endpoint: expEndpoint.Ref().String(), Model: "m", Version: arm + 1,
			Experiment: expID.Name, Arm: spec.Arms[arm].Name, Entity: entity, Output: []byte("{}"), Features: []byte("{}"), Statuses: []byte("{}"), Encoded: []byte("[]")}
		preds = append(preds, rec.AppendRow(nil, "b1"))
		bought := i%5 < arm+1 // control 1 in 5, treatment 2 in 5
		want[arm].N++
		if bought {
			want[arm].Successes++
		}
		events = append(events, []value.Value{value.FromString(fmt.Sprintf("e%03d", i)), value.FromString(rec.ID), value.NullValue(), value.NullValue(), value.NullValue(),
			value.FromString("purchased"), value.FromFloat64(map[bool]float64{true: 1}[bought]), value.FromBool(true), value.FromTime(at.Add(time.Hour)),
			value.FromTime(at.Add(time.Hour)), value.FromString("b1")})
	}
	off, err := p.Offline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := &coordinator.Coordinator{Registry: reg, Offline: off}
	table := offline.PredictionLogTable(expEndpoint.Ref())
	if _, err := off.WriteRows(ctx, &offline.WriteRowsParams{Table: table, Columns: resource.PredictionColumns, Rows: &rowList{rows: preds}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterOutputs(ctx, []*resource.Resource{{ID: resource.EndpointPredictions(expEndpoint.Ref()), Source: &resource.SourceSpec{Table: table, TimestampColumn: resource.PredictedAtColumn}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := off.WriteRows(ctx, &offline.WriteRowsParams{Table: feedback.Table, Columns: feedback.Columns, Rows: &rowList{rows: events}}); err != nil {
		t.Fatal(err)
	}
	d, err := feedback.Records{Offline: off}.Destination(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterOutputs(ctx, d.Sources); err != nil {
		t.Fatal(err)
	}
	return f, want
}

// experimentAPIs are the platform itself and the HTTP client on a server
// over it: every case runs through both.
func experimentAPIs(t *testing.T, f fixture) map[string]platform.API {
	srv := httptest.NewServer(f.handler)
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]platform.API{"platform": f.platform, "http": c}
}

// history is the alias production's moves, as from→to by.
func history(t *testing.T, reg registry.Store) []string {
	t.Helper()
	h, err := reg.ModelAliasHistory(t.Context(), "m", "production")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range h {
		out = append(out, fmt.Sprintf("%d→%d %s", m.From, m.To, m.By))
	}
	return out
}

// TestExperimentReportAndConclude: the report shows the arms' versions and
// the statistics of the logged predictions and feedback (Analyze's report,
// winner included); concluding with the treatment moves the endpoint's
// alias to its version, recorded as by the experiment, and ends the
// experiment; a second conclusion or a stop is refused and changes nothing.
func TestExperimentReportAndConclude(t *testing.T) {
	for _, via := range []string{"platform", "http"} {
		t.Run(via, func(t *testing.T) {
			f, stats := experimentFixture(t)
			api := experimentAPIs(t, f)[via]
			ctx := t.Context()
			want, err := experiment.Analyze(experiment.KindConversion, stats, []float64{50, 50}, 100)
			if err != nil {
				t.Fatal(err)
			}
			if want.Winner != "treatment" {
				t.Fatalf("the fixture's data should make the treatment win: %s", want.Verdict)
			}
			rep, err := api.ExperimentReport(ctx, expID.Ref())
			if err != nil {
				t.Fatal(err)
			}
			if rep.State != platform.ExperimentRunning || rep.Ended != nil || rep.Experiment.ID != expID || rep.Experiment.Experiment.MinSamples != 100 {
				t.Errorf("report: state %s, ended %v, experiment %+v", rep.State, rep.Ended, rep.Experiment)
			}
			if len(rep.Arms) != 2 || rep.Arms[0].Resolved != 1 || rep.Arms[0].Alias != "production" || rep.Arms[1].Resolved != 2 || rep.Endpoint.Version != 1 {
				t.Errorf("report arms %+v, endpoint %+v; want control at 1 (production), treatment at 2", rep.Arms, rep.Endpoint)
			}
			if !reflect.DeepEqual(rep.Report, want) {
				t.Errorf("report %+v\nwant %+v", rep.Report, want)
			}
			if _, err := api.ExperimentReport(ctx, resource.Ref{Name: "nope", Variant: resource.DefaultVariant}); !errors.Is(err, registry.ErrNotFound) {
				t.Errorf("report of an unknown experiment: %v; want not found", err)
			}

			_, err = api.ConcludeExperiment(ctx, &platform.ConcludeExperimentParams{Experiment: expID.Ref(), Winner: "nope"})
			if !errors.Is(err, platform.ErrInvalid) || !strings.Contains(err.Error(), `no arm "nope": its arms are control, treatment`) {
				t.Errorf("an unknown winner: %v; want invalid, listing the arms", err)
			}
			if _, err := api.ConcludeExperiment(ctx, &platform.ConcludeExperimentParams{Experiment: expID.Ref()}); !errors.Is(err, platform.ErrInvalid) {
				t.Errorf("no winner: %v; want invalid", err)
			}
			if h := history(t, f.registry); len(h) != 1 {
				t.Fatalf("refused conclusions moved the alias: %v", h)
			}

			res, err := api.ConcludeExperiment(ctx, &platform.ConcludeExperimentParams{Experiment: expID.Ref(), Winner: "treatment", By: "ana"})
			if err != nil {
				t.Fatal(err)
			}
			reason := "concluded: winner treatment (model m version 2)"
			if !res.Moved || res.From != 1 || res.Alias.Version != 2 || res.Winner.Resolved != 2 || res.Experiment.State.Deprecated == nil ||
				res.Experiment.State.Deprecated.Reason != reason || res.Experiment.State.Deprecated.By != "ana" {
				t.Errorf("conclude: %+v (alias %+v, experiment state %+v)", res, res.Alias, res.Experiment.State)
			}
			if h, wantH := history(t, f.registry), []string{"0→1 setup", "1→2 ana (experiment purchase_test:default)"}; !reflect.DeepEqual(h, wantH) {
				t.Errorf("alias moves %v; want %v", h, wantH)
			}
			rep, err = api.ExperimentReport(ctx, expID.Ref())
			if err != nil {
				t.Fatal(err)
			}
			if rep.State != platform.ExperimentConcluded || rep.Ended == nil || rep.Ended.Reason != reason || rep.Endpoint.Version != 2 || rep.Arms[0].Resolved != 2 {
				t.Errorf("report after conclusion: state %s, ended %+v, endpoint %+v, arms %+v", rep.State, rep.Ended, rep.Endpoint, rep.Arms)
			}

			if _, err := api.ConcludeExperiment(ctx, &platform.ConcludeExperimentParams{Experiment: expID.Ref(), Winner: "control"}); !errors.Is(err, platform.ErrEnded) ||
				!strings.Contains(err.Error(), reason) {
				t.Errorf("concluding again: %v; want ended, saying how", err)
			}
			if _, err := api.StopExperiment(ctx, &platform.StopExperimentParams{Experiment: expID.Ref()}); !errors.Is(err, platform.ErrEnded) {
				t.Errorf("stopping a concluded experiment: %v; want ended", err)
			}
			if h := history(t, f.registry); len(h) != 2 {
				t.Errorf("refused calls moved the alias: %v", h)
			}
		})
	}
}

// TestExperimentConcludeControlAndRerun: the control's win keeps the alias
// where it is (no move recorded); a conclusion rerun after the alias was
// moved (a failure between the move and the end) only ends the experiment.
func TestExperimentConcludeControlAndRerun(t *testing.T) {
	for _, via := range []string{"platform", "http"} {
		t.Run(via+"/Control", func(t *testing.T) {
			f, _ := experimentFixture(t)
			res, err := experimentAPIs(t, f)[via].ConcludeExperiment(t.Context(), &platform.ConcludeExperimentParams{Experiment: expID.Ref(), Winner: "control", By: "bo"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Moved || res.Alias.Version != 1 || res.Experiment.State.Deprecated.Reason != "concluded: winner control (model m version 1)" {
				t.Errorf("conclude with the control: %+v, alias %+v, %+v", res, res.Alias, res.Experiment.State.Deprecated)
			}
			if h := history(t, f.registry); len(h) != 1 {
				t.Errorf("the control's win moved the alias: %v", h)
			}
		})
		t.Run(via+"/Rerun", func(t *testing.T) {
			f, _ := experimentFixture(t)
			// The first attempt moved the alias, then failed to end the experiment.
			if _, err := f.registry.SetModelAlias(t.Context(), &registry.SetModelAliasParams{Model: "m", Alias: "production", Version: 2, By: "cy (experiment purchase_test:default)"}); err != nil {
				t.Fatal(err)
			}
			res, err := experimentAPIs(t, f)[via].ConcludeExperiment(t.Context(), &platform.ConcludeExperimentParams{Experiment: expID.Ref(), Winner: "treatment", By: "cy"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Moved || res.Alias.Version != 2 || res.Experiment.State.Deprecated == nil {
				t.Errorf("rerun: %+v, alias %+v", res, res.Alias)
			}
			if h := history(t, f.registry); len(h) != 2 {
				t.Errorf("the rerun moved the alias again: %v", h)
			}
		})
	}
}

// TestExperimentStop: stop ends an experiment with its reason and moves
// nothing; ended, it refuses to stop or conclude.
func TestExperimentStop(t *testing.T) {
	for _, via := range []string{"platform", "http"} {
		t.Run(via, func(t *testing.T) {
			f, _ := experimentFixture(t)
			api, ctx := experimentAPIs(t, f)[via], t.Context()
			r, err := api.StopExperiment(ctx, &platform.StopExperimentParams{Experiment: expID.Ref(), Reason: "the treatment breaks checkout", By: "dee"})
			if err != nil {
				t.Fatal(err)
			}
			if m := r.State.Deprecated; m == nil || m.Reason != "stopped: the treatment breaks checkout" || m.By != "dee" {
				t.Errorf("stop: %+v", r.State.Deprecated)
			}
			rep, err := api.ExperimentReport(ctx, expID.Ref())
			if err != nil || rep.State != platform.ExperimentStopped {
				t.Errorf("report after stop: %+v, %v", rep, err)
			}
			if _, err := api.StopExperiment(ctx, &platform.StopExperimentParams{Experiment: expID.Ref()}); !errors.Is(err, platform.ErrEnded) {
				t.Errorf("stopping again: %v; want ended", err)
			}
			if _, err := api.ConcludeExperiment(ctx, &platform.ConcludeExperimentParams{Experiment: expID.Ref(), Winner: "treatment"}); !errors.Is(err, platform.ErrEnded) {
				t.Errorf("concluding a stopped experiment: %v; want ended", err)
			}
			if h := history(t, f.registry); len(h) != 1 {
				t.Errorf("stop moved the alias: %v", h)
			}
		})
	}
}

// TestExperimentRoutesStatus: the routes' error statuses.
func TestExperimentRoutesStatus(t *testing.T) {
	f, _ := experimentFixture(t)
	for _, c := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/v1/experiments/nope/report", "", 404, "not_found"},
		{"GET", "/v1/experiments/Bad!/report", "", 400, "invalid_request"},
		{"GET", "/v1/experiments/purchase_test/report?x=1", "", 400, "invalid_request"},
		{"POST", "/v1/experiments/purchase_test/conclude", "", 400, "invalid_request"},
		{"POST", "/v1/experiments/purchase_test/conclude", `{"winner": "nope"}`, 400, "invalid_request"},
		{"POST", "/v1/experiments/purchase_test/conclude", `{"winner": "control", "extra": 1}`, 400, "invalid_request"},
		{"POST", "/v1/experiments/nope/stop", "", 404, "not_found"},
		{"GET", "/v1/experiments/purchase_test:default/report", "", 200, ""},
		{"POST", "/v1/experiments/purchase_test/stop", "", 200, ""},
		{"POST", "/v1/experiments/purchase_test/stop", `{"reason": "again"}`, 409, "conflict"},
		{"POST", "/v1/experiments/purchase_test/conclude", `{"winner": "control"}`, 409, "conflict"},
	} {
		status, b := do(t, f.handler, c.method, c.path, c.body)
		if status != c.status || (c.code != "" && !strings.Contains(string(b), `"code":"`+c.code+`"`)) {
			t.Errorf("%s %s %s: %d %s; want %d %s", c.method, c.path, c.body, status, b, c.status, c.code)
		}
	}
}
