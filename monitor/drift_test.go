package monitor_test

import (
	"encoding/csv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/monitor"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// trainingRows reads the rows version 1 was trained on (the training
// set's labelled rows before the holdout), typed by its encoding, as
// request-time overrides.
func (d *servedDemo) trainingRows() []map[string]value.Value {
	d.t.Helper()
	ctx := d.t.Context()
	path := filepath.Join(d.t.TempDir(), "ts.csv")
	ts := resource.ID{Kind: resource.KindTrainingSet, Name: "purchase_propensity", Variant: resource.DefaultVariant}
	d.run(d.p.Export(ctx, &platform.ExportParams{TrainingSet: ts, Path: path, Format: "csv"}))
	f, err := os.Open(path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		d.t.Fatal(err)
	}
	reg, err := d.p.Registry(ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	v, err := reg.GetModelVersion(ctx, "purchase_model", 1)
	if err != nil {
		d.t.Fatal(err)
	}
	enc, err := model.ParseEncoding(v.Encoding)
	if err != nil {
		d.t.Fatal(err)
	}
	header := recs[0]
	var out []map[string]value.Value
	for _, r := range recs[1:] {
		if r[len(r)-1] == "" || r[1] > v.LabelEnd.Format(time.RFC3339Nano) {
			continue // no label, or the holdout's
		}
		row := map[string]value.Value{}
		for _, f := range enc.Features() {
			s := r[slices.Index(header, f.Name)]
			row[f.Name] = parse(d.t, s, f.Type)
		}
		out = append(out, row)
	}
	return out
}

func parse(t *testing.T, s string, typ value.Type) value.Value {
	t.Helper()
	if s == "" {
		return value.NullValue()
	}
	var err error
	var v value.Value
	switch typ {
	case value.Float64:
		var x float64
		x, err = strconv.ParseFloat(s, 64)
		v = value.FromFloat64(x)
	case value.Int64:
		var x int64
		x, err = strconv.ParseInt(s, 10, 64)
		v = value.FromInt64(x)
	case value.Bool:
		var x bool
		x, err = strconv.ParseBool(s)
		v = value.FromBool(x)
	default:
		v = value.FromString(s)
	}
	if err != nil {
		t.Fatalf("%q as %s: %v", s, typ, err)
	}
	return v
}

// TestDriftInjectedIntoTrafficIsDetected: requests whose features are
// drawn from the training rows show no drift; in the next hour a shifted
// mean, a new category and a burst of nulls are each detected in that
// first full window.
func TestDriftInjectedIntoTrafficIsDetected(t *testing.T) {
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
	rows := d.trainingRows()
	rng := rand.New(rand.NewPCG(11, 12))
	ask := func(n int, change func(map[string]value.Value)) {
		t.Helper()
		entities := make([]string, n)
		overrides := make([]map[string]value.Value, n)
		for i := range n {
			entities[i] = d.entities[rng.IntN(len(d.entities))]
			o := map[string]value.Value{}
			for k, v := range rows[rng.IntN(len(rows))] {
				o[k] = v
			}
			if change != nil {
				change(o)
			}
			overrides[i] = o
		}
		if _, err := d.p.Predict(ctx, &serving.PredictRequest{Endpoint: "purchase", Entities: entities, Overrides: overrides}); err != nil {
			t.Fatal(err)
		}
	}
	h0 := d.clock().Truncate(time.Hour).Add(time.Hour)
	d.set(h0.Add(5 * time.Minute))
	ask(800, nil)
	d.set(h0.Add(time.Hour + 5*time.Minute))
	ask(800, func(o map[string]value.Value) {
		if v := o["avg_order_value"]; !v.IsNull() {
			o["avg_order_value"] = value.FromFloat64(v.Float64() * 2.5)
		}
		if rng.Float64() < 0.3 {
			o["subscriber_region"] = value.FromString("mars")
		}
		if rng.Float64() < 0.5 {
			o["clicks_30d"] = value.NullValue()
		}
	})
	if err := d.p.ShipLogs(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := monitor.ProfileWindows(ctx, reg, off, &monitor.ProfileParams{Endpoint: d.endpoint, Now: h0.Add(2*time.Hour + 2*time.Minute)}); err != nil {
		t.Fatal(err)
	}
	report := func(hour int) *monitor.DriftReport {
		t.Helper()
		r, err := monitor.Drift(ctx, reg, off, &monitor.DriftParams{Endpoint: d.endpoint, Model: "purchase_model", Version: 1,
			From: h0.Add(time.Duration(hour) * time.Hour), To: h0.Add(time.Duration(hour+1) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if r.Current != 800 || !r.Enough || r.Windows != 1 || len(r.Features) != 8 {
			t.Fatalf("hour %d: %d predictions in %d windows, %d features (enough %v)", hour, r.Current, r.Windows, len(r.Features), r.Enough)
		}
		return r
	}
	byName := func(r *monitor.DriftReport, name string) monitor.FeatureDrift {
		for _, f := range r.Features {
			if f.Name == name {
				return f
			}
		}
		t.Fatalf("no feature %s in the report", name)
		return monitor.FeatureDrift{}
	}

	base, err := d.p.ModelProfile(ctx, platform.ModelRef{Model: "purchase_model", Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	calm := report(0)
	for i, f := range calm.Features {
		if f.Drifted || f.NullJump || f.UnknownValues {
			t.Errorf("hour 1, drawn from the training rows: %s flagged: %+v", f.Name, f)
		}
		// Evidently's table, on the training data's values (nulls left
		// out): up to 1,000 a test with a p-value, above a distance; a
		// number with at most 5 distinct values is tested as a category.
		b := base.Features[i]
		values := b.Rows - b.Nulls
		want := map[bool]string{true: "ks", false: "wasserstein"}[values <= 1000]
		if f.Kind != "numeric" || b.Max != nil && *b.Max-*b.Min < 5 { // whole numbers: at most 5 values
			want = map[bool]string{true: "chisquare", false: "jensenshannon"}[values <= 1000]
			if f.Kind == "boolean" && values <= 1000 {
				want = "z"
			}
		}
		if f.Method != want {
			t.Errorf("hour 1: %s (%s, %d training values) tested with %q; Evidently's table gives %s", f.Name, f.Kind, values, f.Method, want)
		}
	}
	if calm.DatasetDrift || calm.Prediction == nil || calm.Prediction.Drifted {
		t.Errorf("hour 1: dataset drift %v, prediction %+v", calm.DatasetDrift, calm.Prediction)
	}

	shifted := report(1)
	if f := byName(shifted, "avg_order_value"); !f.Drifted || f.Method != calm.Features[3].Method {
		t.Errorf("hour 2: the shifted mean of avg_order_value: %+v", f)
	}
	if f := byName(shifted, "subscriber_region"); !f.Drifted || !f.UnknownValues || f.Unknown < 0.25 || f.Unknown > 0.35 {
		t.Errorf("hour 2: the new region mars in 30%% of requests: %+v", f)
	}
	if f := byName(shifted, "clicks_30d"); !f.NullJump || f.CurrentNullRate-f.ReferenceNullRate < 0.25 {
		t.Errorf("hour 2: half of clicks_30d nulled: %+v", f)
	}
	for _, name := range []string{"orders_count", "signup_channel", "shop_category"} {
		if f := byName(shifted, name); f.Drifted {
			t.Errorf("hour 2: %s, left as trained, flagged: %+v", name, f)
		}
	}
	if shifted.DriftShare != 2.0/8 || shifted.DatasetDrift {
		t.Errorf("hour 2: %v of the features drifted (dataset drift %v); want 2 of 8, under the 0.5 share", shifted.DriftShare, shifted.DatasetDrift)
	}

	// Too few predictions: reported, not judged.
	few, err := monitor.Drift(ctx, reg, off, &monitor.DriftParams{Endpoint: d.endpoint, Model: "purchase_model", Version: 1,
		From: h0.Add(time.Hour), To: h0.Add(2 * time.Hour), MinRows: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if few.Enough || byName(few, "avg_order_value").Drifted || byName(few, "clicks_30d").NullJump {
		t.Errorf("800 predictions against min_rows 1000: %+v", few)
	}
	if _, err := monitor.Drift(ctx, reg, off, &monitor.DriftParams{Endpoint: d.endpoint, Model: "purchase_model", Version: 1, Method: "magic"}); err == nil {
		t.Error("an unknown method was accepted")
	}

	// The monitor's drift check over each hour: the calm one passes; in the
	// shifted one the drifted features warn and the null burst fails.
	on, err := d.p.Online(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := &resource.Resource{ID: resource.ID{Kind: resource.KindMonitor, Name: "purchase_health", Variant: resource.DefaultVariant},
		Monitor: &resource.MonitorSpec{Endpoint: resource.ID{Kind: resource.KindEndpoint, Name: "purchase", Variant: resource.DefaultVariant},
			Drift: resource.MonitorDrift{Window: resource.Duration(time.Hour), MinRows: 100, Share: 0.5, Method: "auto"}}}
	states := func(now time.Time) map[string]monitor.Result {
		t.Helper()
		rs, err := monitor.DriftCheck(ctx, &monitor.Env{Registry: reg, Offline: off, Online: on, Now: now}, m)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]monitor.Result{}
		for _, r := range rs {
			out[r.Subject] = r
		}
		return out
	}
	for subject, r := range states(h0.Add(time.Hour + 2*time.Minute)) {
		if r.State != monitor.Pass && r.Message != "" && !strings.Contains(r.Message, "not tested") {
			t.Errorf("the calm hour: %s is %s: %s", subject, r.State, r.Message)
		}
	}
	got := states(h0.Add(2*time.Hour + 2*time.Minute))
	for subject, want := range map[string]monitor.State{"avg_order_value": monitor.Warn, "subscriber_region": monitor.Warn, "clicks_30d": monitor.Fail,
		"orders_count": monitor.Pass, "dataset": monitor.Pass} {
		if got[subject].State != want {
			t.Errorf("the shifted hour: %s is %s, want %s: %s", subject, got[subject].State, want, got[subject].Message)
		}
	}
	if r := got["clicks_30d"]; !strings.Contains(r.Message, "null rate rose") || !strings.Contains(r.Message, "800 predictions of purchase_model version 1") {
		t.Errorf("the null burst's message: %s", r.Message)
	}
}
