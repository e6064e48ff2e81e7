package monitor_test

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/feedback"
	"github.com/slipway-ml/slipway/internal/backends"
	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/monitor"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/profile"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// TestMonitoringOnPostgres runs the serving profiles, the drift report and
// performance from feedback with the registry and the offline store in
// PostgreSQL, over a prediction log generated in the database: prediction
// i of 600 is at h0 + 12s·i, with f1 = i % 100 (shifted by 50 in the
// second hour), f2 = i % 7 and f3 null for every tenth.
func TestMonitoringOnPostgres(t *testing.T) {
	dsn, regSchema := testenv.PostgresSchema(t)
	_, offSchema := testenv.PostgresSchema(t)
	yaml := fmt.Sprintf("registry: {type: postgres, dsn: %q, schema: %s}\noffline: {type: postgres, dsn: %q, schema: %s}\n", dsn, regSchema, dsn, offSchema)
	cfg, err := config.Parse("slipway.yaml", []byte(yaml), func(string) (string, bool) { return "", false }, backends.All().Sections)
	if err != nil {
		t.Fatal(err)
	}
	cfg.PredictionLog.ShipInterval = time.Hour
	h0 := time.Now().UTC().Truncate(time.Hour).Add(-6 * time.Hour)
	var now atomic.Int64
	now.Store(h0.Add(3 * time.Hour).UnixNano())
	p, err := platform.Open(t.Context(), platform.Options{DataDir: filepath.Join(t.TempDir(), ".slipway"), Config: cfg, Backends: backends.All(), Create: true,
		Now: func() time.Time { return time.Unix(0, now.Load()).UTC() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ctx := t.Context()
	reg, err := p.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	off, err := p.Offline(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Version 1 of m: three features, a baseline of the first hour's
	// distribution.
	names := []string{"f1", "f2", "f3"}
	types := []value.Type{value.Float64, value.Float64, value.Float64}
	feats := []model.Feature{{Name: "f1", Type: value.Float64}, {Name: "f2", Type: value.Float64}, {Name: "f3", Type: value.Float64}}
	eb, err := model.NewEncodingBuilder(feats, model.EncodingConfig{})
	if err != nil {
		t.Fatal(err)
	}
	base, err := profile.New(names, types)
	if err != nil {
		t.Fatal(err)
	}
	row := func(i int, shift float64) []value.Value {
		f3 := value.FromFloat64(float64(i % 13))
		if i%10 == 0 {
			f3 = value.NullValue()
		}
		return []value.Value{value.FromFloat64(float64(i%100) + shift), value.FromFloat64(float64(i % 7)), f3}
	}
	for i := range 5000 {
		if err := eb.Add(row(i, 0)); err != nil {
			t.Fatal(err)
		}
		if err := base.Add(row(i, 0)); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := eb.Encoding()
	if err != nil {
		t.Fatal(err)
	}
	encJSON, _ := json.Marshal(enc)
	preds := profile.NewPredictions(true)
	for i := range 1000 {
		preds.Add([]value.Value{value.FromFloat64(float64(i%100) / 100), value.FromInt64(int64(i % 2))})
	}
	baseline, _ := json.Marshal(&profile.Summary{Features: base, Predictions: preds})
	if _, err := reg.CreateModelVersion(ctx, &registry.CreateModelVersionParams{Model: "m", Artifact: registry.Artifact{Format: model.FormatLinear, Bytes: linearModel(t, feats)},
		Encoding: encJSON, Profile: baseline, TrainingRows: 5000, Metrics: map[string]float64{"auc": 0.7}, Trainer: "registered"}); err != nil {
		t.Fatal(err)
	}
	ep := resource.ID{Kind: resource.KindEndpoint, Name: "purchase", Variant: resource.DefaultVariant}
	if _, err := reg.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{{ID: ep, Endpoint: &resource.EndpointSpec{Model: "m", Alias: "production"}}}}); err != nil {
		t.Fatal(err)
	}
	table := offline.PredictionLogTable(ep.Ref())
	f3 := "CASE WHEN i % 10 = 0 THEN 'null' ELSE CAST(i % 13 AS TEXT) END"
	f1 := "CAST(i % 100 + CASE WHEN i >= 300 THEN 50 ELSE 0 END AS TEXT)"
	q := `SELECT 'p' || CAST(i AS TEXT) AS prediction_id,
  CAST($1 AS TIMESTAMP) + i * INTERVAL '12 seconds' AS predicted_at,
  'purchase:default' AS endpoint, CAST(NULL AS TEXT) AS batch_prediction, 'm' AS model, CAST(1 AS BIGINT) AS model_version,
  CAST(NULL AS TEXT) AS experiment, CAST(NULL AS TEXT) AS arm, 'sub_' || CAST(i AS TEXT) AS entity,
  CAST(i % 100 AS DOUBLE PRECISION) / 100 AS prediction, CAST(i % 2 AS BIGINT) AS class, '{}' AS output,
  '{"f1":' || ` + f1 + ` || ',"f2":' || CAST(i % 7 AS TEXT) || ',"f3":' || ` + f3 + ` || '}' AS features,
  '{}' AS statuses, '[]' AS encoded, 'gen' AS write_batch
FROM generate_series(0, 599) AS s(i)`
	q = strings.Replace(q, "$1", "'"+h0.Format("2006-01-02 15:04:05")+"'", 1)
	if _, err := off.CreateTable(ctx, &offline.CreateTableParams{Table: table, SQL: q}); err != nil {
		t.Fatal(err)
	}
	c := &coordinator.Coordinator{Registry: reg, Offline: off}
	if _, err := c.RegisterOutputs(ctx, []*resource.Resource{{ID: resource.EndpointPredictions(ep.Ref()), Source: &resource.SourceSpec{Table: table, TimestampColumn: resource.PredictedAtColumn}}}); err != nil {
		t.Fatal(err)
	}

	res, err := monitor.ProfileWindows(ctx, reg, off, &monitor.ProfileParams{Endpoint: ep.Ref(), Now: h0.Add(2*time.Hour + 2*time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Windows != 2 || res.Rows != 600 {
		t.Fatalf("profiling: %+v; want 2 windows of 600 predictions", res)
	}
	for hour, shift := range []float64{0, 50} {
		s, err := monitor.ServingProfile(ctx, reg, off, &monitor.ServingParams{Endpoint: ep.Ref(), Model: "m", Version: 1, From: h0.Add(time.Duration(hour) * time.Hour), To: h0.Add(time.Duration(hour+1) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := profile.New(names, types)
		for i := hour * 300; i < (hour+1)*300; i++ {
			r := row(i, 0)
			if i >= 300 {
				r = row(i, shift)
			}
			want.Add(r)
		}
		sameProfile(t, fmt.Sprintf("hour %d", hour+1), s.Features, want)
	}
	rep, err := monitor.Drift(ctx, reg, off, &monitor.DriftParams{Endpoint: ep.Ref(), Model: "m", Version: 1, From: h0.Add(time.Hour), To: h0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Features[0].Drifted || rep.Features[1].Drifted || rep.Features[2].Drifted {
		t.Fatalf("the second hour (f1 shifted by 50): %+v", rep.Features)
	}

	// Feedback by prediction id on 200 predictions of the first hour.
	var events []feedback.Event
	at := h0.Add(2 * time.Hour)
	var ys, ps []float64
	for i := range 200 {
		y := (i%100)/50 == 1 != (i%9 == 0) // mostly follows the score, a ninth flipped
		events = append(events, feedback.Event{PredictionID: fmt.Sprintf("p%d", i), Name: "purchased", Value: json.RawMessage(fmt.Sprint(y)), EventTime: &at})
		ps = append(ps, float64(i%100)/100)
		ys = append(ys, map[bool]float64{true: 1, false: 0}[y])
	}
	if _, err := p.RecordFeedback(ctx, events); err != nil {
		t.Fatal(err)
	}
	if err := p.ShipLogs(ctx); err != nil {
		t.Fatal(err)
	}
	perf, err := monitor.Measure(ctx, reg, off, &monitor.PerformanceParams{Endpoint: ep.Ref(), Feedback: "purchased", From: h0, To: h0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	auc, err := model.AUC(ys, ps)
	if err != nil {
		t.Fatal(err)
	}
	if len(perf.Versions) != 1 || perf.Versions[0].Predictions != 600 || perf.Versions[0].WithFeedback != 200 || math.Abs(perf.Versions[0].Metrics["auc"]-auc) > 1e-12 {
		t.Fatalf("performance: %+v; want 600 predictions, 200 with feedback, auc %v", perf.Versions, auc)
	}
}

// linearModel is a linear model over the features (its coefficients do
// not matter here: the test reads the log, not the model).
func linearModel(t *testing.T, feats []model.Feature) []byte {
	t.Helper()
	cols := make([]string, len(feats))
	for i, f := range feats {
		cols[i] = f.Name
	}
	lin, err := model.NewLinear(model.TaskBinaryClassification, 0, make([]float64, len(feats)), make([]float64, len(feats)), cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := lin.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
