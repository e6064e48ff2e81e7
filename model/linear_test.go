package model

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/slipway-ml/slipway/internal/testenv"
)

// Tolerances of the comparison with scikit-learn (docs/design/models.md).
const (
	// coefTolDefault: TrainLogistic against LogisticRegression() with its
	// defaults, |Δ| ≤ tol·max(1, |sklearn|) for the intercept and each
	// coefficient. lbfgs stops at tol=1e-4 on its gradient; on the test data
	// its defaults land up to 1.1e-4 (scaled so; 2.8e-4 absolute, on the
	// intercept) from the exact optimum that Newton's method reaches.
	coefTolDefault = 5e-4
	// coefTolExact: against newton-cg run to tol=1e-10, i.e. the same
	// optimum: what the trainer itself is accurate to (6e-12 seen).
	coefTolExact = 1e-8
	// olsTol: TrainLinear against LinearRegression and Ridge (both solve the
	// least-squares problem exactly).
	olsTol = 1e-9
	// aucTol: holdout AUC of the Go model against sklearn's model's.
	aucTol = 1e-3
	// metricTol: metrics of the same prediction vectors.
	metricTol = 1e-9
)

type linearSplit struct {
	X      [][]*float64 `json:"x"`
	Y      []float64    `json:"y"`
	Target []float64    `json:"target"`
}

type linearCases struct {
	Version  string      `json:"sklearn_version"`
	Columns  []string    `json:"columns"`
	Train    linearSplit `json:"train"`
	Holdout  linearSplit `json:"holdout"`
	Means    []float64   `json:"means"`
	Logistic struct {
		Intercept      float64   `json:"intercept"`
		Coef           []float64 `json:"coef"`
		NIter          int       `json:"n_iter"`
		TightIntercept float64   `json:"tight_intercept"`
		TightCoef      []float64 `json:"tight_coef"`
		HoldoutProba   []float64 `json:"holdout_proba"`
		HoldoutAUC     float64   `json:"holdout_auc"`
	} `json:"logistic"`
	OLS struct {
		Intercept      float64   `json:"intercept"`
		Coef           []float64 `json:"coef"`
		HoldoutPredict []float64 `json:"holdout_predict"`
	} `json:"ols"`
	Ridge struct {
		Alpha     float64   `json:"alpha"`
		Intercept float64   `json:"intercept"`
		Coef      []float64 `json:"coef"`
	} `json:"ridge"`
	Metrics []struct {
		Name     string    `json:"name"`
		Kind     string    `json:"kind"`
		Y        []float64 `json:"y"`
		Pred     []float64 `json:"pred"`
		AUC      float64   `json:"auc"`
		LogLoss  float64   `json:"log_loss"`
		Accuracy float64   `json:"accuracy"`
		RMSE     float64   `json:"rmse"`
		MAE      float64   `json:"mae"`
	} `json:"metrics"`
}

var sklearnOnce struct {
	sync.Once
	cases *linearCases
	err   error
}

// sklearnCases runs testdata/linear_sklearn.py with Debian's scikit-learn,
// once for all the tests that read it.
func sklearnCases(t *testing.T) *linearCases {
	t.Helper()
	python := testenv.Python(t, "numpy", "sklearn")
	sklearnOnce.Do(func() {
		sklearnOnce.cases, sklearnOnce.err = runSklearn(python)
	})
	if sklearnOnce.err != nil {
		t.Fatal(sklearnOnce.err)
	}
	c := sklearnOnce.cases
	if len(c.Train.Y) < 1000 || len(c.Columns) != 10 || len(c.Holdout.Y) == 0 {
		t.Fatalf("the script wrote %d training rows, %d columns, %d holdout rows", len(c.Train.Y), len(c.Columns), len(c.Holdout.Y))
	}
	t.Logf("scikit-learn %s", c.Version)
	return c
}

func runSklearn(python string) (*linearCases, error) {
	dir, err := os.MkdirTemp("", "slipway-linear-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(python, filepath.Join("testdata", "linear_sklearn.py"), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("testdata/linear_sklearn.py: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "linear_cases.json"))
	if err != nil {
		return nil, err
	}
	var c linearCases
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func flatRows(rows [][]*float64) []float64 {
	var out []float64
	for _, r := range denseRows(rows) {
		out = append(out, r...)
	}
	return out
}

// within reports |got − want| ≤ tol·max(1, |want|).
func within(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// compareModel checks a model's intercept and coefficients against
// scikit-learn's and returns the largest scaled difference.
func compareModel(t *testing.T, what string, m *Linear, intercept float64, coef []float64, tol float64) float64 {
	t.Helper()
	worst := math.Abs(m.Intercept()-intercept) / math.Max(1, math.Abs(intercept))
	if !within(m.Intercept(), intercept, tol) {
		t.Errorf("%s: intercept %v, sklearn %v (tolerance %g)", what, m.Intercept(), intercept, tol)
	}
	got := m.Coefficients()
	if len(got) != len(coef) {
		t.Fatalf("%s: %d coefficients, sklearn %d", what, len(got), len(coef))
	}
	for j := range coef {
		worst = max(worst, math.Abs(got[j]-coef[j])/math.Max(1, math.Abs(coef[j])))
		if !within(got[j], coef[j], tol) {
			t.Errorf("%s: coefficient %d (%s) %v, sklearn %v (tolerance %g)", what, j, m.Columns()[j], got[j], coef[j], tol)
		}
	}
	return worst
}

func TestTrainLogisticMatchesSklearn(t *testing.T) {
	c := sklearnCases(t)
	d := &TrainData{Columns: c.Columns, X: flatRows(c.Train.X), Y: c.Train.Y}
	m, err := TrainLogistic(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	for j, mean := range m.Means() {
		if !within(mean, c.Means[j], 1e-12) {
			t.Errorf("mean of column %d: %v, numpy.nanmean %v", j, mean, c.Means[j])
		}
	}
	exact := compareModel(t, "against newton-cg tol=1e-10", m, c.Logistic.TightIntercept, c.Logistic.TightCoef, coefTolExact)
	def := compareModel(t, "against LogisticRegression()", m, c.Logistic.Intercept, c.Logistic.Coef, coefTolDefault)
	t.Logf("largest difference: %.2g from the exact optimum, %.2g from sklearn's defaults (lbfgs, %d iterations); Newton: %d iterations",
		exact, def, c.Logistic.NIter, m.Trainer().Iterations)

	// Holdout: probabilities close to sklearn's, AUC within aucTol.
	rows := denseRows(c.Holdout.X)
	probs := make([]float64, len(rows))
	out := make([]float64, 1)
	var worst float64
	for i, r := range rows {
		p, err := m.Predict(r, out)
		if err != nil {
			t.Fatal(err)
		}
		probs[i] = p[0]
		worst = max(worst, math.Abs(p[0]-c.Logistic.HoldoutProba[i]))
	}
	if worst > coefTolDefault {
		t.Errorf("holdout probabilities differ from predict_proba by up to %v", worst)
	}
	auc, err := AUC(c.Holdout.Y, probs)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(auc-c.Logistic.HoldoutAUC) > aucTol {
		t.Errorf("holdout AUC %v, sklearn's model %v (tolerance %g)", auc, c.Logistic.HoldoutAUC, aucTol)
	}
	t.Logf("holdout: AUC %.6f (sklearn %.6f), probabilities within %.2g", auc, c.Logistic.HoldoutAUC, worst)
}

func TestTrainLinearMatchesSklearn(t *testing.T) {
	c := sklearnCases(t)
	d := &TrainData{Columns: c.Columns, X: flatRows(c.Train.X), Y: c.Train.Target}
	m, err := TrainLinear(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := compareModel(t, "against LinearRegression()", m, c.OLS.Intercept, c.OLS.Coef, olsTol)
	rows := denseRows(c.Holdout.X)
	preds := make([]float64, len(rows))
	for i, r := range rows {
		p, err := m.Predict(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		preds[i] = p[0]
		if !within(p[0], c.OLS.HoldoutPredict[i], olsTol) {
			t.Errorf("holdout row %d: %v, sklearn %v", i, p[0], c.OLS.HoldoutPredict[i])
		}
	}
	ridge, err := TrainLinear(context.Background(), d, &LinearParams{Alpha: c.Ridge.Alpha})
	if err != nil {
		t.Fatal(err)
	}
	wr := compareModel(t, "against Ridge(alpha)", ridge, c.Ridge.Intercept, c.Ridge.Coef, olsTol)
	t.Logf("largest difference: %.2g (OLS), %.2g (ridge)", w, wr)
}

func TestMetricsMatchSklearn(t *testing.T) {
	c := sklearnCases(t)
	if len(c.Metrics) < 6 {
		t.Fatalf("%d metric cases", len(c.Metrics))
	}
	for _, mc := range c.Metrics {
		t.Run(mc.Kind+"/"+mc.Name, func(t *testing.T) {
			type metric struct {
				name string
				fn   func(a, b []float64) (float64, error)
				want float64
			}
			var ms []metric
			if mc.Kind == "binary" {
				ms = []metric{{"AUC", AUC, mc.AUC}, {"LogLoss", LogLoss, mc.LogLoss}, {"Accuracy", Accuracy, mc.Accuracy}}
			} else {
				ms = []metric{{"RMSE", RMSE, mc.RMSE}, {"MAE", MAE, mc.MAE}}
			}
			for _, m := range ms {
				got, err := m.fn(mc.Y, mc.Pred)
				if err != nil {
					t.Fatalf("%s: %v", m.name, err)
				}
				if math.Abs(got-m.want) > metricTol {
					t.Errorf("%s = %.17g, sklearn %.17g", m.name, got, m.want)
				}
			}
		})
	}
}

// logisticData is a small seeded data set with a logistic ground truth.
func logisticData(n int, shift float64) *TrainData {
	d := &TrainData{Columns: []string{"a", "b", "c"}}
	state := uint64(12345)
	rnd := func() float64 { // xorshift, in [0, 1)
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		return float64(state>>11) / (1 << 53)
	}
	for i := 0; i < n; i++ {
		a, b, c := rnd()*2-1, rnd()*4, rnd()
		eta := 1.5*a - 0.5*b + 2*c
		y := 0.0
		if rnd() < logistic(eta) {
			y = 1
		}
		if i%7 == 0 {
			b = math.NaN()
		}
		d.X = append(d.X, a, b, c+shift)
		d.Y = append(d.Y, y)
	}
	return d
}

// TestTrainLogisticShiftInvariant: a timestamp-like column (seconds since
// the epoch, ~1.7e9) trains to the same coefficients as the same column
// near 0, since the penalty does not involve the intercept; only the
// intercept moves. Solvers on raw columns stall on such data.
func TestTrainLogisticShiftInvariant(t *testing.T) {
	ctx := context.Background()
	m0, err := TrainLogistic(ctx, logisticData(2000, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	m1, err := TrainLogistic(ctx, logisticData(2000, 1.7e9), nil)
	if err != nil {
		t.Fatal(err)
	}
	c0, c1 := m0.Coefficients(), m1.Coefficients()
	for j := range c0 {
		if !within(c1[j], c0[j], 1e-6) {
			t.Errorf("coefficient %d: %v shifted, %v not", j, c1[j], c0[j])
		}
	}
	if want := m0.Intercept() - c0[2]*1.7e9; !within(m1.Intercept(), want, 1e-6) {
		t.Errorf("intercept %v shifted, want %v", m1.Intercept(), want)
	}
	// Deterministic: the same input gives the same bits.
	m2, err := TrainLogistic(ctx, logisticData(2000, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	b0, _ := json.Marshal(m0)
	b2, _ := json.Marshal(m2)
	if !bytes.Equal(b0, b2) {
		t.Error("two trainings on the same data differ")
	}
}

func TestTrainErrors(t *testing.T) {
	ctx := context.Background()
	one := logisticData(100, 0)
	for i := range one.Y {
		one.Y[i] = 1
	}
	if _, err := TrainLogistic(ctx, one, nil); err == nil || !strings.Contains(err.Error(), "both classes") {
		t.Errorf("single class: %v", err)
	}
	bad := logisticData(100, 0)
	bad.Y[3] = 2
	if _, err := TrainLogistic(ctx, bad, nil); err == nil || !strings.Contains(err.Error(), "row 3") {
		t.Errorf("label 2: %v", err)
	}
	short := logisticData(100, 0)
	short.X = short.X[:len(short.X)-1]
	if _, err := TrainLinear(ctx, short, nil); err == nil || !strings.Contains(err.Error(), "rows × 3 columns") {
		t.Errorf("short matrix: %v", err)
	}
	if _, err := TrainLinear(ctx, &TrainData{Columns: []string{"a"}}, nil); err == nil || !strings.Contains(err.Error(), "no rows") {
		t.Errorf("no rows: %v", err)
	}
	inf := logisticData(100, 0)
	inf.X[4] = math.Inf(1)
	if _, err := TrainLogistic(ctx, inf, nil); err == nil || !strings.Contains(err.Error(), "infinite") {
		t.Errorf("infinite value: %v", err)
	}
	if _, err := TrainLogistic(ctx, logisticData(100, 0), &LogisticParams{C: -1}); err == nil {
		t.Error("C -1: no error")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := TrainLogistic(cancelled, logisticData(100, 0), nil); err == nil {
		t.Error("cancelled context: no error")
	}
}

// TestTrainLinearCollinear: duplicated and constant columns (one-hot
// columns that always sum to 1 do this) still train, to the minimum-norm
// solution, with the predictions of the full-rank fit.
func TestTrainLinearCollinear(t *testing.T) {
	ctx := context.Background()
	base := logisticData(500, 0)
	y := make([]float64, len(base.Y))
	for i := range y {
		a, c := base.X[3*i], base.X[3*i+2]
		y[i] = 2 + 3*a - c + 0.01*float64(i%5)
	}
	full := &TrainData{Columns: []string{"a", "c"}, Y: y}
	dup := &TrainData{Columns: []string{"a", "a2", "c", "const"}, Y: y}
	for i := range y {
		a, c := base.X[3*i], base.X[3*i+2]
		full.X = append(full.X, a, c)
		dup.X = append(dup.X, a, a, c, 7)
	}
	mf, err := TrainLinear(ctx, full, nil)
	if err != nil {
		t.Fatal(err)
	}
	md, err := TrainLinear(ctx, dup, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, cd := mf.Coefficients(), md.Coefficients()
	if !within(cd[0], cf[0]/2, 1e-9) || !within(cd[1], cf[0]/2, 1e-9) || !within(cd[2], cf[1], 1e-9) || cd[3] != 0 {
		t.Errorf("collinear coefficients %v, want a's %v split in halves, c's %v, 0 for the constant", cd, cf[0], cf[1])
	}
	for i := 0; i < len(y); i++ {
		pf, _ := mf.Predict(full.X[2*i:2*i+2], nil)
		pd, _ := md.Predict(dup.X[4*i:4*i+4], nil)
		if !within(pd[0], pf[0], 1e-9) {
			t.Fatalf("row %d: %v with duplicated columns, %v without", i, pd[0], pf[0])
		}
	}
}

func TestLinearRoundTripAndPredict(t *testing.T) {
	m, err := NewLinear(TaskBinaryClassification, -1, []float64{2, 0.5}, []float64{3, 10}, []string{"x", "y"},
		&LinearTrainer{Name: "logistic_regression", C: 1, Rows: 10, Iterations: 4})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseLinear(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	if !bytes.Equal(data, again) {
		t.Errorf("round trip changed the file:\n%s\n%s", data, again)
	}
	out := make([]float64, 1)
	// NaN in column y takes its mean 10: margin -1 + 2·1 + 0.5·10 = 6.
	p, err := back.Predict([]float64{1, math.NaN()}, out)
	if err != nil || p[0] != logistic(6) || &p[0] != &out[0] {
		t.Errorf("Predict = %v, %v; want %v in out", p, err, logistic(6))
	}
	if mg, _ := back.PredictMargin([]float64{1, math.NaN()}, nil); mg[0] != 6 {
		t.Errorf("margin %v, want 6", mg[0])
	}
	if _, err := back.Predict([]float64{1}, out); err == nil || !strings.Contains(err.Error(), "has 1 values but the linear model expects 2") {
		t.Errorf("width mismatch: %v", err)
	}
	if _, err := back.Predict([]float64{1, math.Inf(-1)}, out); err == nil || !strings.Contains(err.Error(), `(column "y") is infinite`) {
		t.Errorf("infinite input: %v", err)
	}
	x := []float64{1, math.NaN()}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = back.Predict(x, out) }); allocs != 0 {
		t.Errorf("Predict allocates %v times", allocs)
	}
	if sig := logistic(-800); sig != 0 || logistic(800) != 1 || logistic(0) != 0.5 {
		t.Errorf("logistic at the extremes: %v %v %v", sig, logistic(800), logistic(0))
	}
}

const goodLinear = `{"format":"slipway-linear","version":1,"task":"regression","missing":"mean","intercept":1.5,
"columns":[{"name":"a","coefficient":2,"mean":0.5},{"name":"b","coefficient":-1,"mean":3}]}`

func TestParseLinearErrors(t *testing.T) {
	if m, err := ParseLinear([]byte(goodLinear)); err != nil || m.NumFeatures() != 2 || m.Task() != TaskRegression {
		t.Fatalf("good file: %v", err)
	}
	cases := []struct{ name, data, want string }{
		{"empty", "  ", "empty"},
		{"truncated", goodLinear[:60], "truncated"},
		{"not JSON", "xgboost binary\x00", "not valid JSON at byte 1"},
		{"wrong type", strings.Replace(goodLinear, `"intercept":1.5`, `"intercept":"1.5"`, 1), "field intercept"},
		{"other format", strings.Replace(goodLinear, "slipway-linear", "xgboost", 1), `format is "xgboost"`},
		{"newer version", strings.Replace(goodLinear, `"version":1`, `"version":2`, 1), "version 2 is not supported"},
		{"unknown task", strings.Replace(goodLinear, `"regression"`, `"multiclass"`, 1), `task "multiclass" is not supported`},
		{"missing rule", strings.Replace(goodLinear, `"missing":"mean"`, `"missing":"zero"`, 1), `missing is "zero"`},
		{"no intercept", strings.Replace(goodLinear, `"intercept":1.5,`, ``, 1), `no "intercept"`},
		{"no columns", `{"format":"slipway-linear","version":1,"task":"regression","missing":"mean","intercept":1}`, `no "columns"`},
		{"no coefficient", strings.Replace(goodLinear, `"coefficient":-1,`, ``, 1), `column 1 ("b") needs both`},
		{"duplicate name", strings.Replace(goodLinear, `"name":"b"`, `"name":"a"`, 1), `both named "a"`},
		{"unknown field", strings.Replace(goodLinear, `"intercept"`, `"bias":1,"intercept"`, 1), `unknown field "bias"`},
		{"trailing data", goodLinear + "{}", "data after"},
		{"huge number", strings.Replace(goodLinear, `"coefficient":2`, `"coefficient":1e999`, 1), "coefficient"},
	}
	for _, c := range cases {
		_, err := ParseLinear([]byte(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "reading slipway-linear model: ") {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestMetricsErrors(t *testing.T) {
	if _, err := AUC([]float64{1, 1}, []float64{0.2, 0.3}); err == nil || !strings.Contains(err.Error(), "both classes") {
		t.Errorf("AUC of one class: %v", err)
	}
	if _, err := LogLoss([]float64{0, 0}, []float64{0.2, 0.3}); err == nil || !strings.Contains(err.Error(), "both classes") {
		t.Errorf("log loss of one class: %v", err)
	}
	if _, err := AUC([]float64{0, 1}, []float64{0.2}); err == nil || !strings.Contains(err.Error(), "2 labels but 1 predictions") {
		t.Errorf("length mismatch: %v", err)
	}
	if _, err := Accuracy([]float64{0, 2}, []float64{0.2, 0.3}); err == nil || !strings.Contains(err.Error(), "label 1 is 2") {
		t.Errorf("label 2: %v", err)
	}
	if _, err := LogLoss([]float64{0, 1}, []float64{0.2, 1.3}); err == nil || !strings.Contains(err.Error(), "not a probability") {
		t.Errorf("probability 1.3: %v", err)
	}
	if _, err := AUC([]float64{0, 1}, []float64{0.2, math.NaN()}); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN score: %v", err)
	}
	if _, err := RMSE(nil, nil); err == nil || !strings.Contains(err.Error(), "no rows") {
		t.Errorf("RMSE of nothing: %v", err)
	}
	// AUC with ties: positives 0.5, 0.8; negatives 0.5, 0.2 → (1 + 0.5 + 1 + 1)/4.
	if got, _ := AUC([]float64{1, 1, 0, 0}, []float64{0.5, 0.8, 0.5, 0.2}); got != 0.875 {
		t.Errorf("AUC with a tie = %v, want 0.875", got)
	}
}

// FuzzParseLinear checks that no input makes the parser or a prediction
// with a parsed model panic, and that a parsed model writes a file that
// parses back to the same model.
func FuzzParseLinear(f *testing.F) {
	f.Add([]byte(goodLinear))
	f.Add([]byte(`{"format":"slipway-linear","version":1,"task":"binary_classification","missing":"mean","intercept":-0.2,"columns":[],"trainer":{"name":"logistic_regression","c":1,"rows":3}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseLinear(data)
		if err != nil {
			return
		}
		x := make([]float64, m.NumFeatures())
		for i := range x {
			if i%2 == 1 {
				x[i] = math.NaN()
			} else {
				x[i] = float64(i) - 1
			}
		}
		out, err := m.Predict(x, nil)
		if err != nil || len(out) != 1 {
			t.Fatalf("Predict on a parsed model: %v, %v", out, err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseLinear(b)
		if err != nil {
			t.Fatalf("a written model does not parse: %v\n%s", err, b)
		}
		out2, _ := back.Predict(x, nil)
		if out[0] != out2[0] && !(out[0] != out[0] && out2[0] != out2[0]) {
			t.Fatalf("round trip changed a prediction: %v, %v", out[0], out2[0])
		}
	})
}
