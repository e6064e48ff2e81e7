package feedback

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/experiment"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// expWorld is a generated prediction log and feedback for one experiment,
// and what ExperimentStats must say of it, computed in Go from the same rows.
type expWorld struct {
	exp         *resource.Resource
	predictions [][]value.Value
	feedback    [][]value.Value
	want        []experiment.ArmStats
}

// fbEvent is a generated feedback event.
type fbEvent struct {
	id, predictionID, endpoint, entity, name string
	value                                    float64
	eventTime, receivedAt                    time.Time
}

const expWindow = 7 * 24 * time.Hour

// newExpWorld generates, from a seed, an experiment with arms control,
// treatment and idle (which never answers), entities with one to three
// predictions each, predictions outside the experiment, and events: by
// prediction id and by endpoint and entity, inside and outside the window,
// of other names and endpoints, about unknown predictions, and retried
// (one id twice, the first received counting).
func newExpWorld(seed uint64, kind, name string) *expWorld {
	rng := rand.New(rand.NewPCG(seed, 1))
	endpoint := resource.Ref{Name: "purchase", Variant: resource.DefaultVariant}
	w := &expWorld{exp: &resource.Resource{ID: resource.ID{Kind: resource.KindExperiment, Name: "purchase_test", Variant: resource.DefaultVariant},
		Experiment: &resource.ExperimentSpec{Endpoint: resource.ID{Kind: resource.KindEndpoint, Name: endpoint.Name, Variant: endpoint.Variant},
			Arms: []resource.ExperimentArm{{Name: "control", Model: "m", Alias: "production", Weight: 1}, {Name: "treatment", Model: "m", Version: 2, Weight: 1},
				{Name: "idle", Model: "m", Version: 3, Weight: 1}},
			Metric: resource.ExperimentMetric{Feedback: name, Kind: kind, Window: resource.Duration(expWindow)}, MinSamples: 10}}}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	type exposure struct {
		arm   string
		first time.Time
		preds []string
	}
	exposed := map[string]*exposure{}
	var entities []string
	var events []fbEvent
	n := 0
	addPrediction := func(entity, exp, arm string, at time.Time) string {
		n++
		id := fmt.Sprintf("pred-%05d", n)
		rec := model.Record{ID: id, Time: at, Endpoint: endpoint.String(), Model: "m", Version: 1, Experiment: exp, Arm: arm, Entity: entity,
			Output: []byte("{}"), Features: []byte("{}"), Statuses: []byte("{}"), Encoded: []byte("[]")}
		w.predictions = append(w.predictions, rec.AppendRow(nil, "batch-1"))
		return id
	}
	randValue := func() float64 {
		if kind == resource.MetricConversion {
			return float64(rng.IntN(2)) // false or true
		}
		if rng.IntN(4) == 0 {
			return 0
		}
		return math.Round(rng.Float64()*10000) / 100
	}
	for i := range 400 {
		entity := fmt.Sprintf("s%03d", i)
		arm := []string{"control", "treatment"}[rng.IntN(2)]
		x := &exposure{arm: arm}
		for range 1 + rng.IntN(3) {
			at := t0.Add(time.Duration(rng.IntN(20*24*60)) * time.Minute)
			x.preds = append(x.preds, addPrediction(entity, "purchase_test", arm, at))
			if x.first.IsZero() || at.Before(x.first) {
				x.first = at
			}
		}
		// The same entity answered outside the experiment (before it, or by
		// another one): never an exposure.
		if rng.IntN(5) == 0 {
			addPrediction(entity, "", "", t0.Add(-time.Hour))
			addPrediction(entity, "older_test", "control", t0.Add(-2*time.Hour))
		}
		exposed[entity] = x
		entities = append(entities, entity)
		for range rng.IntN(4) {
			// From two days before the first exposure to ten days after: the
			// window is seven.
			at := x.first.Add(time.Duration(rng.IntN(12*24*60)-2*24*60) * time.Minute)
			e := fbEvent{id: fmt.Sprintf("ev-%d", len(events)), name: name, value: randValue(), eventTime: at, receivedAt: at.Add(time.Minute)}
			switch rng.IntN(3) {
			case 0:
				e.endpoint, e.entity = endpoint.String(), entity
			default:
				e.predictionID = x.preds[rng.IntN(len(x.preds))]
			}
			events = append(events, e)
		}
	}
	// An entity exposed at the window's very end gets feedback exactly at
	// the window's end (counted) and a microsecond later (not).
	edge := exposed[entities[0]]
	events = append(events,
		fbEvent{id: "edge-in", predictionID: edge.preds[0], name: name, value: 5, eventTime: edge.first.Add(expWindow), receivedAt: t0},
		fbEvent{id: "edge-out", endpoint: endpoint.String(), entity: entities[0], name: name, value: 7, eventTime: edge.first.Add(expWindow + time.Microsecond), receivedAt: t0})
	// Retries: the first received of an id counts, whatever comes later.
	for i := range 20 {
		e := events[i*7]
		e.value, e.receivedAt = e.value+3, e.receivedAt.Add(time.Hour)
		events = append(events, e)
	}
	// Events that count nowhere: another name, another endpoint, an
	// unknown prediction, an entity never exposed, a prediction outside
	// the experiment.
	x := exposed[entities[1]]
	events = append(events,
		fbEvent{id: "other-name", predictionID: x.preds[0], name: "clicked", value: 1, eventTime: x.first, receivedAt: t0},
		fbEvent{id: "other-endpoint", endpoint: "search:default", entity: entities[1], name: name, value: 1, eventTime: x.first, receivedAt: t0},
		fbEvent{id: "unknown-prediction", predictionID: "nope", name: name, value: 1, eventTime: x.first, receivedAt: t0},
		fbEvent{id: "unexposed", endpoint: endpoint.String(), entity: "nobody", name: name, value: 1, eventTime: t0, receivedAt: t0},
		fbEvent{id: "outside", predictionID: addPrediction(entities[1], "", "", x.first), name: name, value: 1, eventTime: x.first, receivedAt: t0})

	for _, e := range events {
		str := func(s string) value.Value {
			if s == "" {
				return value.NullValue()
			}
			return value.FromString(s)
		}
		w.feedback = append(w.feedback, []value.Value{value.FromString(e.id), str(e.predictionID), str(e.endpoint), str(e.entity), value.NullValue(),
			value.FromString(e.name), value.FromFloat64(e.value), value.FromBool(kind == resource.MetricConversion), value.FromTime(e.eventTime),
			value.FromTime(e.receivedAt), value.FromString("batch-1")})
	}

	// What ExperimentStats must say, from the same rows.
	ofPrediction := map[string]string{} // prediction id → entity, in the experiment
	for entity, x := range exposed {
		for _, p := range x.preds {
			ofPrediction[p] = entity
		}
	}
	first := map[string]fbEvent{}
	for _, e := range events {
		if f, ok := first[e.id]; !ok || e.receivedAt.Before(f.receivedAt) {
			first[e.id] = e
		}
	}
	sums, hit := map[string]float64{}, map[string]bool{}
	for _, e := range first {
		entity := ""
		switch {
		case e.name != name:
		case e.predictionID != "":
			entity = ofPrediction[e.predictionID]
		case e.endpoint == endpoint.String():
			entity = e.entity
		}
		x := exposed[entity]
		if x == nil || e.eventTime.Before(x.first) || e.eventTime.After(x.first.Add(expWindow)) {
			continue
		}
		sums[entity] += e.value
		if e.value > 0 {
			hit[entity] = true
		}
	}
	w.want = []experiment.ArmStats{{Name: "control"}, {Name: "treatment"}, {Name: "idle"}}
	for i := range w.want {
		a := &w.want[i]
		var vals []float64
		for entity, x := range exposed {
			if x.arm != a.Name {
				continue
			}
			a.N++
			if hit[entity] {
				a.Successes++
			}
			vals = append(vals, sums[entity])
		}
		if len(vals) > 0 {
			for _, v := range vals {
				a.Mean += v
			}
			a.Mean /= float64(len(vals))
		}
		if len(vals) > 1 {
			for _, v := range vals {
				a.Variance += (v - a.Mean) * (v - a.Mean)
			}
			a.Variance /= float64(len(vals) - 1)
		}
	}
	return w
}

type rowSlice struct {
	rows [][]value.Value
	i    int
}

func (r *rowSlice) Next() bool            { r.i++; return r.i <= len(r.rows) }
func (r *rowSlice) Values() []value.Value { return r.rows[r.i-1] }
func (r *rowSlice) Err() error            { return nil }

// ship writes the world's predictions (when preds) and feedback (when fb)
// as the prediction log and feedback shippers do, and registers their
// sources.
func (w *expWorld) ship(t *testing.T, c *coordinator.Coordinator, preds, fb bool) {
	t.Helper()
	ctx := context.Background()
	endpoint := w.exp.Experiment.Endpoint.Ref()
	if preds {
		table := offline.PredictionLogTable(endpoint)
		if _, err := c.Offline.WriteRows(ctx, &offline.WriteRowsParams{Table: table, Columns: resource.PredictionColumns, Rows: &rowSlice{rows: w.predictions}}); err != nil {
			t.Fatal(err)
		}
		src := &resource.Resource{ID: resource.EndpointPredictions(endpoint), Source: &resource.SourceSpec{Table: table, TimestampColumn: resource.PredictedAtColumn}}
		if _, err := c.RegisterOutputs(ctx, []*resource.Resource{src}); err != nil {
			t.Fatal(err)
		}
	}
	if fb {
		if _, err := c.Offline.WriteRows(ctx, &offline.WriteRowsParams{Table: Table, Columns: Columns, Rows: &rowSlice{rows: w.feedback}}); err != nil {
			t.Fatal(err)
		}
		d, err := Records{Offline: c.Offline}.Destination(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Prepare(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.RegisterOutputs(ctx, d.Sources); err != nil {
			t.Fatal(err)
		}
	}
}

func checkArms(t *testing.T, what string, got, want []experiment.ArmStats) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d arms %+v; want %+v", what, len(got), got, want)
	}
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.N != w.N || g.Successes != w.Successes || !close(g.Mean, w.Mean) || !close(g.Variance, w.Variance) {
			t.Errorf("%s: arm %d: %+v; want %+v", what, i, g, w)
		}
	}
}

// TestExperimentStats: the arms' exposures, conversions and means computed
// in the engine equal those computed in Go from the same rows, on DuckDB
// and PostgreSQL; before anything was shipped every arm is zero.
func TestExperimentStats(t *testing.T) {
	for _, pg := range []bool{false, true} {
		engine := "DuckDB"
		if pg {
			engine = "PostgreSQL"
		}
		for _, kind := range []string{resource.MetricConversion, resource.MetricMean} {
			t.Run(engine+"/"+kind, func(t *testing.T) {
				c := openStores(t, pg)
				ctx := context.Background()
				metric := map[string]string{resource.MetricConversion: "purchased", resource.MetricMean: "spent"}[kind]
				w := newExpWorld(7, kind, metric)
				if w.want[0].N == 0 || w.want[1].N == 0 || w.want[2].N != 0 || w.want[0].Successes == 0 || w.want[0].Successes == w.want[0].N {
					t.Fatalf("the generated world is degenerate: %+v", w.want)
				}

				zero := []experiment.ArmStats{{Name: "control"}, {Name: "treatment"}, {Name: "idle"}}
				got, err := ExperimentStats(ctx, c.Registry, c.Offline, w.exp, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				checkArms(t, "nothing shipped", got, zero)

				// Predictions without feedback: exposures, nothing else.
				w.ship(t, c, true, false)
				got, err = ExperimentStats(ctx, c.Registry, c.Offline, w.exp, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				noFeedback := []experiment.ArmStats{{Name: "control", N: w.want[0].N}, {Name: "treatment", N: w.want[1].N}, {Name: "idle"}}
				checkArms(t, "no feedback shipped", got, noFeedback)

				w.ship(t, c, false, true)
				got, err = ExperimentStats(ctx, c.Registry, c.Offline, w.exp, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				checkArms(t, "shipped", got, w.want)

				// The statistics take them as they are.
				if _, err := experiment.Analyze(experiment.Kind(kind), got, []float64{1, 1, 1}, 10); err != nil {
					t.Errorf("Analyze: %v", err)
				}
			})
		}
	}
}

// TestExperimentStatsFeedbackOnly: feedback shipped before any prediction
// of the endpoint gives zeros, not an error.
func TestExperimentStatsFeedbackOnly(t *testing.T) {
	c := openStores(t, false)
	w := newExpWorld(3, resource.MetricConversion, "purchased")
	w.ship(t, c, false, true)
	got, err := ExperimentStats(context.Background(), c.Registry, c.Offline, w.exp, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	checkArms(t, "feedback only", got, []experiment.ArmStats{{Name: "control"}, {Name: "treatment"}, {Name: "idle"}})
}
