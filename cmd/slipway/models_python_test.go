package main

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/demo"
	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/resource"
)

// The tests of models against the real libraries (issue 10, "Tests"),
// through the CLI on the demo project: XGBoost trained in Python on
// `slipway training-set export --encoded`, registered and scored by
// Slipway, equals Booster.predict; the built-in logistic regression equals
// scikit-learn's LogisticRegression; recorded holdout metrics equal
// scikit-learn's; a command trainer's worse version is not promoted, and
// rollback restores the better one. docs/design/models.md ("Tests against
// the real libraries") has the tolerances and what was seen.

// TestModelsAgainstPythonLibraries runs the checks on the demo project with
// the embedded stores (directly and through a server) and with PostgreSQL
// and Redis.
func TestModelsAgainstPythonLibraries(t *testing.T) {
	python := testenv.Python(t, "xgboost", "sklearn", "pandas")
	t.Run("Embedded", func(t *testing.T) {
		dir := t.TempDir()
		mustRun(t, dir, "quickstart", "--dir", "demo", "--scale", "0.1", "--seed", "7")
		checkModelsAgainstPython(t, python, filepath.Join(dir, "demo"), "definitions")
	})
	t.Run("ThroughServer", func(t *testing.T) {
		// Every command goes through the server holding the data directory:
		// exports and scores stream, the model file is uploaded.
		dir := t.TempDir()
		mustRun(t, dir, "quickstart", "--dir", "demo", "--scale", "0.1", "--seed", "7")
		startServe(t, filepath.Join(dir, "demo"))
		if _, err := os.Stat(filepath.Join(dir, "demo", ".slipway", "server.json")); err != nil {
			t.Fatalf("the server left no server.json, so commands would not go through it: %v", err)
		}
		checkModelsAgainstPython(t, python, filepath.Join(dir, "demo"), "definitions")
	})
	t.Run("PostgresRedis", func(t *testing.T) {
		env := newPostgresRedis(t, "models")
		dir := demoOnPostgres(t, env, 0.1)
		checkModelsAgainstPython(t, python, dir, "defs")
	})
}

// checkModelsAgainstPython runs the checks in dir, a demo project applied
// from its directory defs with its transformations built.
func checkModelsAgainstPython(t *testing.T, python, dir, defs string) {
	ops := slipwayModels{dir: dir}
	if ops.versions(t, "purchase_model")[1] == nil {
		ops.train(t, "purchase_model")
	}
	t.Run("XGBoost", func(t *testing.T) {
		for _, c := range []struct{ ts, objective, name string }{
			{"purchase_propensity", "binary:logistic", "xgb_purchase"},
			{"spend_prediction", "reg:squarederror", "xgb_spend"},
		} {
			t.Run(c.objective, func(t *testing.T) { checkXGBoost(t, ops, python, c.ts, c.objective, c.name) })
		}
	})
	t.Run("LogisticVsScikitLearn", func(t *testing.T) { checkLogistic(t, ops, python) })
	t.Run("CommandTrainerPromotion", func(t *testing.T) { checkPromotion(t, ops, python, filepath.Join(dir, defs)) })
}

// xgbPredictions are what testdata/train_xgboost.py writes.
type xgbPredictions struct {
	Entity     []string  `json:"entity"`
	Timestamp  []string  `json:"timestamp"`
	Prediction []float64 `json:"prediction"`
}

// checkXGBoost trains XGBoost in Python on the encoded export of training
// set ts, registers the model as name, scores the encoded export and the
// plain CSV export with it, and compares the first 1,000 rows' predictions
// with Booster.predict.
func checkXGBoost(t *testing.T, ops slipwayModels, python, ts, objective, name string) {
	work := t.TempDir()
	enc, raw := filepath.Join(work, ts+".csv"), filepath.Join(work, ts+"_raw.csv")
	schema := coordinatorSchemaPath(enc)
	ops.exportEncoded(t, ts, enc)
	ops.exportCSV(t, ts, raw)
	modelFile, predFile := filepath.Join(work, "model.json"), filepath.Join(work, "predictions.json")
	runPython(t, python, "train_xgboost.py", enc, schema, objective, modelFile, predFile, "1000")
	var want xgbPredictions
	readJSON(t, predFile, &want)
	if len(want.Prediction) != 1000 {
		t.Fatalf("the demo training set gave %d rows for Booster.predict; the test compares 1,000", len(want.Prediction))
	}

	v := ops.register(t, name, modelFile, ts, schema)
	ref := name + "@" + strconv.Itoa(v)
	for _, in := range []string{enc, raw} {
		out := filepath.Join(work, "scores_"+filepath.Base(in))
		ops.score(t, ref, in, out)
		got := readScores(t, out)
		if len(got.rows) < len(want.Prediction) {
			t.Fatalf("slipway score %s --in %s: %d rows, want at least %d", ref, filepath.Base(in), len(got.rows), len(want.Prediction))
		}
		bad := 0
		var worst float64
		for i, w := range want.Prediction {
			row := got.rows[i]
			if e := row[got.col("subscriber")]; e != want.Entity[i] {
				t.Fatalf("%s row %d: entity %q, but Booster.predict's row %d is %q: the files are not in the same order", filepath.Base(in), i+1, e, i+1, want.Entity[i])
			}
			if at, wat := parseAnyTime(t, row[got.col("timestamp")]), parseAnyTime(t, want.Timestamp[i]); !at.Equal(wat) {
				t.Fatalf("%s row %d: label time %s, Booster.predict's %s", filepath.Base(in), i+1, at, wat)
			}
			p, err := strconv.ParseFloat(row[got.col("prediction")], 64)
			if err != nil {
				t.Fatalf("%s row %d: prediction %q: %v", filepath.Base(in), i+1, row[got.col("prediction")], err)
			}
			// 1e-6, relative above 1: a float32 regression value near 50
			// has a spacing of 4e-6 (docs/design/models.md).
			d := math.Abs(p-w) / math.Max(1, math.Abs(w))
			worst = math.Max(worst, d)
			if d > 1e-6 {
				if bad++; bad <= 5 {
					t.Errorf("%s row %d (%s): slipway score %.9g, Booster.predict %.9g", filepath.Base(in), i+1, want.Entity[i], p, w)
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d predictions differ from Booster.predict by more than 1e-6", filepath.Base(in), bad, len(want.Prediction))
		}
		t.Logf("%s %s: %d predictions equal Booster.predict; largest difference %.3g", ref, filepath.Base(in), len(want.Prediction), worst)
	}
}

// sklearnFit is what testdata/sklearn_logistic.py fit writes.
type sklearnFit struct {
	Columns      []string           `json:"columns"`
	Coefficients map[string]float64 `json:"coefficients"`
	Intercept    float64            `json:"intercept"`
	TrainRows    int64              `json:"train_rows"`
	HoldoutRows  int                `json:"holdout_rows"`
	Iterations   int                `json:"n_iter"`
	HoldoutProba []float64          `json:"holdout_proba"`
	HoldoutAUC   float64            `json:"holdout_auc"`
}

// checkLogistic compares version 1 of the demo's purchase_model, trained
// by the built-in logistic regression, with scikit-learn's
// LogisticRegression fitted on the same rows, encoded and split by the
// script independently of Slipway's code; and its recorded holdout
// metrics with scikit-learn's on Slipway's holdout predictions.
func checkLogistic(t *testing.T, ops slipwayModels, python string) {
	work := t.TempDir()
	v := ops.version(t, "purchase_model", 1)
	if v.Format != model.FormatLinear {
		t.Fatalf("purchase_model@1 is a %s model, want %s (the demo trains it with the built-in logistic_regression)", v.Format, model.FormatLinear)
	}
	enc, err := model.ParseEncoding(v.Encoding)
	if err != nil {
		t.Fatalf("purchase_model@1's encoding: %v", err)
	}
	intercept, coef := probeLogistic(t, ops, "purchase_model@1", enc.Columns(), work)
	raw := filepath.Join(work, "purchase_propensity.csv")
	ops.exportCSV(t, "purchase_propensity", raw)
	input, _ := json.Marshal(map[string]any{
		"encoding": json.RawMessage(v.Encoding), "entity": "subscriber", "label": "purchased_7d",
		"holdout_percent": resource.DefaultHoldoutPercent,
	})
	inputFile, fitFile, holdout := filepath.Join(work, "input.json"), filepath.Join(work, "fit.json"), filepath.Join(work, "holdout.csv")
	must(t, os.WriteFile(inputFile, input, 0o644))
	runPython(t, python, "sklearn_logistic.py", "fit", raw, inputFile, fitFile, holdout)
	var sk sklearnFit
	readJSON(t, fitFile, &sk)

	// The same rows: the split and the encoding's columns.
	if sk.TrainRows != v.TrainingRows {
		t.Errorf("scikit-learn trained on %d rows, slipway on %d: the split differs", sk.TrainRows, v.TrainingRows)
	}
	names := enc.Columns()
	if !slices.Equal(names, sk.Columns) {
		t.Fatalf("columns:\nslipway      %v\nscikit-learn %v", names, sk.Columns)
	}

	// Coefficients: both are the optimum of the same strictly convex
	// objective, which newton-cg at tol 1e-8 reaches to about 1e-10
	// (docs/design/models.md, "Tests against the real libraries").
	const coefTol = 1e-8
	worst := math.Abs(intercept-sk.Intercept) / math.Max(1, math.Abs(sk.Intercept))
	if worst > coefTol {
		t.Errorf("intercept: slipway %.12g, scikit-learn %.12g", intercept, sk.Intercept)
	}
	for i, name := range names {
		d := math.Abs(coef[i]-sk.Coefficients[name]) / math.Max(1, math.Abs(sk.Coefficients[name]))
		worst = math.Max(worst, d)
		if d > coefTol {
			t.Errorf("coefficient of %s: slipway %.12g, scikit-learn %.12g", name, coef[i], sk.Coefficients[name])
		}
	}
	t.Logf("purchase_model@1 vs LogisticRegression(newton-cg, tol 1e-8, %d iterations) on %d rows, %d columns: largest coefficient difference %.3g (relative above 1)",
		sk.Iterations, sk.TrainRows, len(sk.Columns), worst)

	// Slipway's holdout predictions, by slipway score on the holdout rows
	// the script wrote as the plain export has them.
	scored := filepath.Join(work, "holdout_scores.csv")
	ops.score(t, "purchase_model@1", holdout, scored)
	got := readScores(t, scored)
	if len(got.rows) != sk.HoldoutRows || len(got.rows) != len(sk.HoldoutProba) {
		t.Fatalf("scored %d holdout rows, the script held out %d", len(got.rows), sk.HoldoutRows)
	}
	var worstP float64
	labels := make([]bool, len(got.rows))
	probs := make([]float64, len(got.rows))
	for i, row := range got.rows {
		p, err := strconv.ParseFloat(row[got.col("prediction")], 64)
		if err != nil {
			t.Fatal(err)
		}
		probs[i] = p
		worstP = math.Max(worstP, math.Abs(p-sk.HoldoutProba[i]))
		labels[i] = row[got.col("purchased_7d")] == "1" || row[got.col("purchased_7d")] == "true"
	}
	if worstP > 1e-8 {
		t.Errorf("holdout probabilities: slipway and scikit-learn's predict_proba differ by up to %.3g", worstP)
	}
	// Probabilities that agree to 1e-9 may still order a nearly tied pair (a
	// buyer and a non-buyer) the other way round: each such pair moves the
	// AUC by at most 1/(buyers·others), and nothing else moves it.
	flipped, buyers := 0, 0
	for i := range labels {
		if !labels[i] {
			continue
		}
		buyers++
		for j := range labels {
			if !labels[j] && cmp.Compare(probs[i], probs[j]) != cmp.Compare(sk.HoldoutProba[i], sk.HoldoutProba[j]) {
				flipped++
			}
		}
	}
	if buyers == 0 || buyers == len(labels) {
		t.Fatalf("the holdout of %d rows has %d buyers: no AUC", len(labels), buyers)
	}
	aucTol := 1e-9 + float64(flipped)/float64(buyers*(len(labels)-buyers))
	if d := math.Abs(v.Metrics["auc"] - sk.HoldoutAUC); d > aucTol {
		t.Errorf("holdout AUC: slipway recorded %.12g, scikit-learn's model has %.12g (difference %.3g; %d pairs ordered the other way allow %.3g)", v.Metrics["auc"], sk.HoldoutAUC, d, flipped, aucTol)
	}
	t.Logf("holdout of %d rows: probabilities differ by up to %.3g; AUC slipway %.12g, scikit-learn's model %.12g (%d buyer/other pairs ordered the other way)", sk.HoldoutRows, worstP, v.Metrics["auc"], sk.HoldoutAUC, flipped)

	// The recorded metrics are scikit-learn's on the same predictions.
	metricsFile := filepath.Join(work, "metrics.json")
	runPython(t, python, "sklearn_logistic.py", "metrics", scored, "purchased_7d", metricsFile)
	var m map[string]float64
	readJSON(t, metricsFile, &m)
	for _, k := range []string{"auc", "log_loss", "accuracy"} {
		rec, ok := v.Metrics[k]
		if !ok {
			t.Errorf("purchase_model@1 recorded no %s: %v", k, v.Metrics)
			continue
		}
		if d := math.Abs(rec - m[k]); d > 1e-9 {
			t.Errorf("%s: slipway recorded %.15g, scikit-learn computes %.15g on slipway's holdout predictions (difference %.3g)", k, rec, m[k], d)
		}
	}
	t.Logf("recorded metrics %v; scikit-learn on the same predictions %v", v.Metrics, m)
}

// trainJSON is what `slipway train --json` prints.
type trainJSON struct {
	Result *struct {
		Version  int                `json:"version"`
		Metrics  map[string]float64 `json:"metrics"`
		Alias    string             `json:"alias"`
		Promoted bool               `json:"promoted"`
		Reason   string             `json:"reason"`
	} `json:"result"`
}

// checkPromotion trains a model with a command trainer (XGBoost in Python,
// testdata/train_xgboost.py) promoted when better: the first version
// becomes production; a worse one (trained on shuffled labels) is recorded
// but not promoted; promoting it by hand and rolling back restores the
// first. Each version's recorded holdout metrics equal scikit-learn's on
// XGBoost's own predictions for the holdout file the job gave the trainer.
func checkPromotion(t *testing.T, ops slipwayModels, python, defs string) {
	trainer, err := filepath.Abs(filepath.Join("testdata", "train_xgboost.py"))
	must(t, err)
	dir := filepath.Join(defs, "xgb_command")
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "model.yaml"), []byte(fmt.Sprintf(`models:
  - name: xgb_command
    training_set: purchase_propensity
    task: binary_classification
    trainer: {command: [%q, %q]}
    validation: {holdout: 20%%, metric: auc}
    promote: {alias: production, when: better}
`, python, trainer)), 0o644))
	mustRun(t, ops.dir, "apply", defs)

	train := func(mode string) trainJSON {
		t.Helper()
		must(t, os.WriteFile(filepath.Join(dir, "train_mode.txt"), []byte(mode), 0o644))
		r := mustRun(t, ops.dir, "train", "xgb_command", "--json")
		var out trainJSON
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Result == nil {
			t.Fatalf("train --json: %v\n%s", err, r.stdout)
		}
		var sk map[string]float64
		readJSON(t, filepath.Join(dir, "holdout_metrics.json"), &sk)
		for _, k := range []string{"auc", "log_loss", "accuracy"} {
			if d := math.Abs(out.Result.Metrics[k] - sk[k]); d > 1e-9 || math.IsNaN(d) {
				t.Errorf("%s labels, version %d: %s recorded %.15g, scikit-learn on Booster.predict of the holdout %.15g", mode, out.Result.Version, k, out.Result.Metrics[k], sk[k])
			}
		}
		return out
	}
	good := train("good").Result
	if good.Version != 1 || !good.Promoted {
		t.Fatalf("the first version: %+v, want version 1 promoted to production", good)
	}
	bad := train("shuffled").Result
	if bad.Version != 2 || bad.Promoted || !strings.Contains(bad.Reason, "not better") {
		t.Errorf("trained on shuffled labels: %+v, want version 2 not promoted (its auc is not better)", bad)
	}
	if bad.Metrics["auc"] >= good.Metrics["auc"] {
		t.Fatalf("shuffled labels gave auc %v, the real ones %v: the test needs a worse model", bad.Metrics["auc"], good.Metrics["auc"])
	}
	t.Logf("command trainer: version 1 auc %.6f (promoted), version 2 on shuffled labels auc %.6f: %s", good.Metrics["auc"], bad.Metrics["auc"], bad.Reason)
	production := func() (int, []string) {
		t.Helper()
		var d struct {
			Aliases []struct {
				Alias   string `json:"alias"`
				Version int    `json:"version"`
				History []struct {
					From int `json:"from"`
					To   int `json:"to"`
				} `json:"history"`
			} `json:"aliases"`
		}
		r := mustRun(t, ops.dir, "models", "show", "xgb_command", "--json")
		must(t, json.Unmarshal([]byte(r.stdout), &d))
		for _, a := range d.Aliases {
			if a.Alias == "production" {
				var moves []string
				for _, m := range a.History {
					moves = append(moves, fmt.Sprintf("%d->%d", m.From, m.To))
				}
				return a.Version, moves
			}
		}
		t.Fatalf("xgb_command has no production alias:\n%s", r.stdout)
		return 0, nil
	}
	if v, _ := production(); v != 1 {
		t.Errorf("after the worse version: production is version %d, want 1", v)
	}
	mustRun(t, ops.dir, "models", "promote", "xgb_command", "2")
	if v, _ := production(); v != 2 {
		t.Errorf("after promote 2: production is version %d", v)
	}
	mustRun(t, ops.dir, "models", "rollback", "xgb_command")
	v, moves := production()
	if want := []string{"0->1", "1->2", "2->1"}; v != 1 || !slices.Equal(moves, want) {
		t.Errorf("after rollback: production is version %d with moves %v, want 1 with %v", v, moves, want)
	}
}

// probeLogistic reads a logistic model's intercept and coefficients
// through `slipway score`, as served: it scores an encoded file of the
// zero vector (probability sigmoid(intercept)) and of each unit vector
// (sigmoid(intercept + coefficient)), and takes their logits. No value is
// missing, so the model's mean imputation plays no part.
func probeLogistic(t *testing.T, ops slipwayModels, ref string, columns []string, work string) (intercept float64, coef []float64) {
	t.Helper()
	var b strings.Builder
	b.WriteString(strings.Join(columns, ",") + "\n")
	for i := -1; i < len(columns); i++ {
		row := make([]string, len(columns))
		for j := range row {
			row[j] = "0"
		}
		if i >= 0 {
			row[i] = "1"
		}
		b.WriteString(strings.Join(row, ",") + "\n")
	}
	in, out := filepath.Join(work, "probe.csv"), filepath.Join(work, "probe_scores.csv")
	must(t, os.WriteFile(in, []byte(b.String()), 0o644))
	ops.score(t, ref, in, out)
	got := readScores(t, out)
	if len(got.rows) != len(columns)+1 {
		t.Fatalf("scored %d probe rows, want %d", len(got.rows), len(columns)+1)
	}
	logit := make([]float64, len(got.rows))
	for i, row := range got.rows {
		p, err := strconv.ParseFloat(row[got.col("prediction")], 64)
		if err != nil || p <= 0 || p >= 1 {
			t.Fatalf("probe row %d: prediction %q (%v)", i+1, row[got.col("prediction")], err)
		}
		logit[i] = math.Log(p) - math.Log1p(-p)
	}
	coef = make([]float64, len(columns))
	for j := range coef {
		coef[j] = logit[j+1] - logit[0]
	}
	return logit[0], coef
}

func coordinatorSchemaPath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".schema.json"
}

func runPython(t *testing.T, python, script string, args ...string) {
	t.Helper()
	out, err := exec.Command(python, append([]string{filepath.Join("testdata", script)}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("testdata/%s %s: %v\n%s", script, strings.Join(args, " "), err, out)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// scoreFile is a CSV file slipway score wrote.
type scoreFile struct {
	header []string
	rows   [][]string
}

func readScores(t *testing.T, path string) *scoreFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil || len(all) == 0 {
		t.Fatalf("%s: %v (%d lines)", path, err, len(all))
	}
	return &scoreFile{header: all[0], rows: all[1:]}
}

func (s *scoreFile) col(name string) int {
	i := slices.Index(s.header, name)
	if i < 0 {
		panic(fmt.Sprintf("the scores file has no column %q: %v", name, s.header))
	}
	return i
}

// parseAnyTime reads a label time as an export writes it: RFC 3339 (the
// embedded stores, encoded files) or PostgreSQL's text form.
func parseAnyTime(t *testing.T, s string) time.Time {
	t.Helper()
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if at, err := time.Parse(layout, s); err == nil {
			return at
		}
	}
	t.Fatalf("label time %q: not a time this test reads", s)
	return time.Time{}
}

// demoOnPostgres writes the demo project for PostgreSQL and Redis in a new
// directory, as TestDemoServesWhatTrainingSetsSeeOnPostgresAndRedis does
// (generated data loaded into tables, transformations in PostgreSQL's
// dialect), applies it, builds it, and returns the directory.
func demoOnPostgres(t *testing.T, env *postgresRedis, scale float64) string {
	t.Helper()
	return demoOnPostgresWith(t, env, demo.Options{Scale: scale, Seed: 7})
}

// demoOnPostgresWith is demoOnPostgres with the generator's options.
func demoOnPostgresWith(t *testing.T, env *postgresRedis, opts demo.Options) string {
	t.Helper()
	dir := loadDemoOnPostgres(t, env, opts, nil)
	mustRun(t, dir, "apply", "defs")
	mustRun(t, dir, "run")
	return dir
}

// slipwayModels runs the model commands of the CLI in a project directory.
type slipwayModels struct{ dir string }

// versionJSON is the part of a version that `slipway models show --json`
// prints (the HTTP API's version body) that the checks read.
type versionJSON struct {
	Version      int                `json:"version"`
	Format       string             `json:"format"`
	TrainingRows int64              `json:"training_rows"`
	Metrics      map[string]float64 `json:"metrics"`
	Encoding     json.RawMessage    `json:"encoding"`
}

func (m slipwayModels) exportEncoded(t *testing.T, ts, out string) {
	t.Helper()
	mustRun(t, m.dir, "training-set", "export", ts, "--encoded", "--out", out)
}

func (m slipwayModels) exportCSV(t *testing.T, ts, out string) {
	t.Helper()
	mustRun(t, m.dir, "training-set", "export", ts, "--format", "csv", "--out", out)
}

func (m slipwayModels) train(t *testing.T, name string) {
	t.Helper()
	mustRun(t, m.dir, "train", name)
}

// versions returns a model's versions by number (none when it has none).
func (m slipwayModels) versions(t *testing.T, name string) map[int]*versionJSON {
	t.Helper()
	var d struct {
		Versions []*versionJSON `json:"versions"`
	}
	r := mustRun(t, m.dir, "models", "show", name, "--json")
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("models show %s --json: %v\n%s", name, err, r.stdout)
	}
	out := make(map[int]*versionJSON)
	for _, v := range d.Versions {
		out[v.Version] = v
	}
	return out
}

func (m slipwayModels) version(t *testing.T, name string, version int) *versionJSON {
	t.Helper()
	v := m.versions(t, name)[version]
	if v == nil {
		t.Fatalf("slipway models show %s has no version %d", name, version)
	}
	return v
}

func (m slipwayModels) register(t *testing.T, name, file, ts, schema string) int {
	t.Helper()
	r := mustRun(t, m.dir, "models", "register", name, "--file", file, "--format", "xgboost-json", "--training-set", ts, "--schema", schema, "--json")
	var v versionJSON
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Version < 1 {
		t.Fatalf("models register --json: %v\n%s", err, r.stdout)
	}
	return v.Version
}

func (m slipwayModels) score(t *testing.T, ref, in, out string) {
	t.Helper()
	mustRun(t, m.dir, "score", ref, "--in", in, "--out", out)
}
