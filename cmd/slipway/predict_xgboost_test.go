package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/demo"
	"github.com/slipway-ml/slipway/internal/testenv"
)

// TestPredictEqualsXGBoost is issue 11's end-to-end test of live
// predictions against the real library: XGBoost (Debian's python3-xgboost)
// trained in Python on `training-set export --encoded`, registered with
// the export's schema, promoted and served by an endpoint: what `slipway
// serve` answers on POST /v1/endpoints/{name}/predict for 1,000 subscribers
// equals Booster.predict on their feature rows as of now, as the
// online-features API serves them, encoded in Python from the version's
// encoding (testdata/xgboost_served_rows.py), to 1e-6. On the embedded
// stores and on PostgreSQL + Redis, with demo data ending today (so the
// 30-day features are served for recent subscribers).
func TestPredictEqualsXGBoost(t *testing.T) {
	python := testenv.Python(t, "xgboost", "pandas")
	t.Run("Embedded", func(t *testing.T) {
		dir := t.TempDir()
		mustRun(t, dir, "quickstart", "--dir", "demo", "--scale", "0.2", "--seed", "7")
		checkPredictEqualsXGBoost(t, python, filepath.Join(dir, "demo"), "definitions")
	})
	t.Run("PostgresRedis", func(t *testing.T) {
		env := newPostgresRedis(t, "predictxgb")
		start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -demo.DefaultDays)
		dir := demoOnPostgresWith(t, env, demo.Options{Scale: 0.2, Seed: 7, Start: start, Days: demo.DefaultDays})
		checkPredictEqualsXGBoost(t, python, dir, "defs")
	})
}

// checkPredictEqualsXGBoost runs the test in dir, a demo project applied
// from its directory defs with its transformations built.
func checkPredictEqualsXGBoost(t *testing.T, python, dir, defs string) {
	const (
		name     = "xgb_purchase"
		ts       = "purchase_propensity"
		entities = 1000
		batch    = 250
	)
	ops := slipwayModels{dir: dir}
	mustRun(t, dir, "materialize")
	work := t.TempDir()
	enc := filepath.Join(work, ts+".csv")
	schemaFile := coordinatorSchemaPath(enc)
	ops.exportEncoded(t, ts, enc)
	modelFile := filepath.Join(work, "model.json")
	runPython(t, python, "train_xgboost.py", enc, schemaFile, "binary:logistic", modelFile, filepath.Join(work, "train_predictions.json"), "1")
	v := ops.register(t, name, modelFile, ts, schemaFile)
	mustRun(t, dir, "models", "promote", name, fmt.Sprint(v))
	must(t, os.WriteFile(filepath.Join(dir, defs, "xgb_endpoint.yaml"), []byte("endpoints:\n  - name: "+name+"\n    model: "+name+"\n"), 0o644))
	mustRun(t, dir, "apply", defs)

	// The encoding the version was registered with, and the online
	// features it reads: the demo's subscriber features, in its order.
	var schema struct {
		Entity   string          `json:"entity"`
		Encoding json.RawMessage `json:"encoding"`
	}
	readJSON(t, schemaFile, &schema)
	var encoding struct {
		Features []struct {
			Name string `json:"name"`
		} `json:"features"`
	}
	must(t, json.Unmarshal(schema.Encoding, &encoding))
	features, columns := demoFeatures()
	var names []string
	for _, f := range encoding.Features {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, columns) {
		t.Fatalf("the encoding's features are %v, the demo's subscriber features %v: the test reads the wrong online features", names, columns)
	}

	// 1,000 subscribers of the training set, in the export's order, and
	// one the stores have never seen (every feature missing).
	scores := readScores(t, enc)
	var subs []string
	for _, row := range scores.rows {
		if s := row[scores.col(schema.Entity)]; !slices.Contains(subs, s) {
			subs = append(subs, s)
		}
	}
	if len(subs) < entities {
		t.Fatalf("the training set has %d subscribers; the test predicts for %d", len(subs), entities)
	}
	subs = append(subs[:entities], "sub_does_not_exist")

	base, _ := startServe(t, dir)
	var rows [][]any
	var got []predictionOf
	for start := 0; start < len(subs); start += batch {
		keys := subs[start:min(start+batch, len(subs))]
		body, _ := json.Marshal(map[string]any{"entities": keys})
		code, b := post(t, base+"/v1/endpoints/"+name+"/predict", string(body))
		var a predictAnswer
		if code != 200 || json.Unmarshal(b, &a) != nil {
			t.Fatalf("predict: %d %s", code, b)
		}
		if a.Model != name || a.Version != v || !slices.Equal(a.Features, columns) || len(a.Predictions) != len(keys) {
			t.Fatalf("predict for %d entities: model %s version %d, features %v, %d predictions; want %s version %d, %v",
				len(keys), a.Model, a.Version, a.Features, len(a.Predictions), name, v, columns)
		}
		// The rows as of now, read right after the predictions.
		served := servedValues(t, base, features, keys)
		for i, p := range a.Predictions {
			row, ok := served[keys[i]]
			if p.Entity != keys[i] || !ok || p.Probability == nil || p.Class == nil {
				t.Fatalf("prediction %d of the batch: %+v for entity %s (online features served: %v)", i, p, keys[i], ok)
			}
			rows = append(rows, row)
			got = append(got, predictionOf{entity: p.Entity, probability: *p.Probability, class: *p.Class,
				unserved: slices.Concat(p.Missing, p.OutsideMaxAge)})
		}
	}

	in, out := filepath.Join(work, "served_rows.json"), filepath.Join(work, "booster_predictions.json")
	input, err := json.Marshal(map[string]any{"encoding": schema.Encoding, "rows": rows})
	must(t, err)
	must(t, os.WriteFile(in, input, 0o644))
	runPython(t, python, "xgboost_served_rows.py", modelFile, in, out)
	var want struct {
		Prediction []float64 `json:"prediction"`
	}
	readJSON(t, out, &want)
	if len(want.Prediction) != len(got) {
		t.Fatalf("Booster.predict gave %d predictions for %d rows", len(want.Prediction), len(got))
	}

	bad, withMissing := 0, 0
	var worst float64
	distinct := map[float64]bool{}
	for i, g := range got {
		w := want.Prediction[i]
		d := math.Abs(g.probability - w)
		worst = math.Max(worst, d)
		distinct[g.probability] = true
		if d > 1e-6 || math.IsNaN(d) {
			if bad++; bad <= 5 {
				t.Errorf("%s (served %v): predict %.9g, Booster.predict %.9g", g.entity, rows[i], g.probability, w)
			}
		}
		if g.probability > 0.5 && g.class != 1 || g.probability <= 0.5 && g.class != 0 {
			t.Errorf("%s: probability %v with class %d", g.entity, g.probability, g.class)
		}
		// The features the answer names missing or outside max age are
		// the ones the online-features API does not serve.
		var unserved []string
		for j, value := range rows[i] {
			if value == nil {
				unserved = append(unserved, columns[j])
			}
		}
		slices.Sort(unserved)
		slices.Sort(g.unserved)
		if !slices.Equal(unserved, g.unserved) {
			t.Errorf("%s: predict says %v are missing or outside max age; online features serves no value for %v", g.entity, g.unserved, unserved)
		}
		if len(unserved) > 0 {
			withMissing++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d predictions differ from Booster.predict by more than 1e-6", bad, len(got))
	}
	// Guards against a comparison that passes trivially: a constant model,
	// or no entity with every feature served.
	if len(distinct) < 50 || withMissing == len(got) {
		t.Errorf("%d distinct predictions, %d of %d entities with a feature missing: the test compares too little", len(distinct), withMissing, len(got))
	}
	t.Logf("%s version %d on %d entities (%d with features missing or outside max age): %d distinct predictions compared with Booster.predict; largest difference %.3g",
		name, v, len(got), withMissing, len(distinct), worst)
}

// predictionOf is one entity's prediction as the endpoint answered it.
type predictionOf struct {
	entity      string
	probability float64
	class       int
	unserved    []string // missing or outside max age
}
