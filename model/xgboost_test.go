package model

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/testenv"
)

// xgbTolerance is how far a prediction may be from XGBoost's own: 1e-6
// absolute, relative for values above 1 in magnitude (a regression value of
// 50 is a float32 in XGBoost, whose spacing there is 4e-6). Predictions sum
// float32 leaves in XGBoost's order, so in practice they are equal.
const xgbTolerance = 1e-6

func closeTo(got, want float64) bool {
	return math.Abs(got-want) <= xgbTolerance*math.Max(1, math.Abs(want))
}

type xgbCase struct {
	Name       string       `json:"name"`
	Model      string       `json:"model"`
	Objective  string       `json:"objective"`
	NumClass   int          `json:"num_class"`
	NumFeature int          `json:"num_feature"`
	Rows       [][]*float64 `json:"rows"`
	Predict    []float64    `json:"predict"`
	Margin     []float64    `json:"margin"`
}

// runXGBoostScript trains models with the real XGBoost into a temporary
// directory (testdata/xgboost_models.py) and returns that directory.
func runXGBoostScript(tb testing.TB, args ...string) string {
	tb.Helper()
	python := testenv.Python(tb, "numpy", "xgboost")
	dir := tb.TempDir()
	cmd := exec.Command(python, append([]string{filepath.Join("testdata", "xgboost_models.py"), dir}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("testdata/xgboost_models.py: %v\n%s", err, out)
	}
	return dir
}

func denseRows(rows [][]*float64) [][]float64 {
	out := make([][]float64, len(rows))
	for i, r := range rows {
		out[i] = make([]float64, len(r))
		for j, v := range r {
			if v == nil {
				out[i][j] = math.NaN()
			} else {
				out[i][j] = *v
			}
		}
	}
	return out
}

func loadFile(tb testing.TB, path string) *XGBoost {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	m, err := LoadXGBoost(f)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return m
}

// TestXGBoostMatchesPython compares every prediction and margin with
// XGBoost's Booster.predict on 1,000 rows with missing values, for each
// supported objective.
func TestXGBoostMatchesPython(t *testing.T) {
	dir := runXGBoostScript(t)
	data, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Version string    `json:"xgboost_version"`
		Cases   []xgbCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 5 {
		t.Fatalf("the script wrote %d cases, want 5", len(file.Cases))
	}
	t.Logf("XGBoost %s", file.Version)
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			m := loadFile(t, filepath.Join(dir, c.Model))
			if m.Objective() != c.Objective || m.NumClass() != c.NumClass || m.NumFeatures() != c.NumFeature {
				t.Fatalf("objective %q, classes %d, features %d; want %q, %d, %d",
					m.Objective(), m.NumClass(), m.NumFeatures(), c.Objective, c.NumClass, c.NumFeature)
			}
			if !strings.HasPrefix(file.Version, m.Version()) || m.Version() == "" {
				t.Errorf("Version() = %q, XGBoost is %s", m.Version(), file.Version)
			}
			rows := denseRows(c.Rows)
			k := m.NumOutputs()
			if len(c.Predict) != len(rows)*k || len(c.Margin) != len(rows)*k || len(rows) != 1000 {
				t.Fatalf("%d rows, %d predictions, %d margins for %d outputs", len(rows), len(c.Predict), len(c.Margin), k)
			}
			var out []float64
			var worst float64
			missing, mismatches := 0, 0
			for i, row := range rows {
				for _, v := range row {
					if math.IsNaN(v) {
						missing++
					}
				}
				for _, pass := range []struct {
					name    string
					predict func([]float64, []float64) ([]float64, error)
					want    []float64
				}{{"predict", m.Predict, c.Predict}, {"margin", m.PredictMargin, c.Margin}} {
					out, err = pass.predict(row, out)
					if err != nil {
						t.Fatal(err)
					}
					for j := range k {
						got, want := out[j], pass.want[i*k+j]
						worst = math.Max(worst, math.Abs(got-want))
						if !closeTo(got, want) {
							if mismatches++; mismatches <= 5 {
								t.Errorf("row %d output %d %s = %.9g, XGBoost %.9g", i, j, pass.name, got, want)
							}
						}
					}
				}
			}
			// PredictRows on all rows at once (blocks of four and a
			// remainder) gives the same values.
			flat := make([]float64, 0, len(rows)*m.NumFeatures())
			for _, row := range rows[:len(rows)-3] { // 997 rows: not a multiple of 4
				flat = append(flat, row...)
			}
			for _, pass := range []struct {
				name    string
				predict func([]float64, []float64) ([]float64, error)
				want    []float64
			}{{"PredictRows", m.PredictRows, c.Predict}, {"PredictRowsMargin", m.PredictRowsMargin, c.Margin}} {
				got, err := pass.predict(flat, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != (len(rows)-3)*k {
					t.Fatalf("%s returned %d values for %d rows of %d outputs", pass.name, len(got), len(rows)-3, k)
				}
				for i, g := range got {
					if !closeTo(g, pass.want[i]) {
						if mismatches++; mismatches <= 5 {
							t.Errorf("%s value %d (row %d) = %.9g, XGBoost %.9g", pass.name, i, i/k, g, pass.want[i])
						}
					}
				}
			}
			if missing == 0 {
				t.Fatal("no missing values in the rows: default directions untested")
			}
			if mismatches > 0 {
				t.Fatalf("%d values differ from XGBoost by more than %g", mismatches, xgbTolerance)
			}
			t.Logf("%d rows (%d missing values), %d trees: largest difference %g", len(rows), missing, m.NumTrees(), worst)
		})
	}
}

func TestXGBoostCommittedModels(t *testing.T) {
	// The fuzz target's seeds are valid models.
	for _, name := range []string{"small_binary.json", "small_multiclass.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		trimmed := trimModel(t, b)
		m, err := ParseXGBoost(trimmed)
		if err != nil {
			t.Fatalf("%s trimmed: %v", name, err)
		}
		if m.NumTrees() != m.NumOutputs() || len(trimmed) > 1000 {
			t.Errorf("%s trimmed to %d bytes has %d trees, want 1 per output (%d)", name, len(trimmed), m.NumTrees(), m.NumOutputs())
		}
	}

	m := loadFile(t, filepath.Join("testdata", "small_multiclass.json"))
	if m.NumClass() != 3 || m.NumOutputs() != 3 || m.NumTrees() != 6 {
		t.Fatalf("classes %d, outputs %d, trees %d; want 3, 3, 6", m.NumClass(), m.NumOutputs(), m.NumTrees())
	}
	out, err := m.Predict([]float64{0.2, math.NaN(), -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, p := range out {
		if p <= 0 || p >= 1 {
			t.Errorf("class probability %v outside (0, 1)", p)
		}
		sum += p
	}
	if math.Abs(sum-1) > 1e-6 {
		t.Errorf("class probabilities %v sum to %v", out, sum)
	}
	// A reused out slice with room is written in place.
	buf := make([]float64, 0, 8)
	again, err := m.Predict([]float64{0.2, math.NaN(), -1}, buf)
	if err != nil {
		t.Fatal(err)
	}
	if &again[0] != &buf[:1][0] {
		t.Error("Predict allocated although out had room")
	}
	for i := range out {
		if again[i] != out[i] {
			t.Errorf("second prediction %v differs from first %v", again, out)
		}
	}
}

func TestXGBoostBadInput(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "small_binary.json"))
	if err != nil {
		t.Fatal(err)
	}
	fixture := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// edit replaces the first n occurrences of old (all when n < 0).
	edit := func(old, new string, n int) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("small_binary.json has no %q", old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), n)
	}
	for _, c := range []struct {
		name string
		data []byte
		want []string
	}{
		{"Empty", nil, []string{"empty"}},
		{"Truncated", good[:len(good)/2], []string{"truncated"}},
		{"Corrupt", append([]byte("{\"learner\": {]"), good...), []string{"not valid JSON", "byte"}},
		{"Binary", []byte("binf\x00\x00\x00\x3f\x01\x00"), []string{"not valid JSON"}},
		{"NotAModel", []byte(`{"hello": "world"}`), []string{"not an XGBoost JSON model"}},
		{"Gblinear", fixture("gblinear.json"), []string{`booster "gblinear" is not supported`, "gbtree"}},
		{"Dart", fixture("dart.json"), []string{`booster "dart" is not supported`, "gbtree"}},
		{"UnknownObjective", fixture("rank_pairwise.json"), []string{`objective "rank:pairwise" is not supported`, "binary:logistic, reg:squarederror, reg:logistic, multi:softprob"}},
		{"Categorical", fixture("categorical.json"), []string{"categorical splits", "not supported"}},
		{"WrongType", edit(`"num_feature":"3"`, `"num_feature":3`, -1), []string{"num_feature"}},
		{"ChildOutOfRange", edit(`"left_children":[1,-1,-1]`, `"left_children":[1,99,-1]`, 1), []string{"tree 0", "child 99"}},
		{"Cycle", edit(`"left_children":[1,-1,-1]`, `"left_children":[1,0,-1]`, 1), []string{"tree 0", "reached twice"}},
		{"FeatureOutOfRange", edit(`"split_indices":[0,0,0]`, `"split_indices":[7,0,0]`, 1), []string{"tree 0", "splits on feature 7", "3 features"}},
		{"BaseScoreOutOfRange", edit(`"base_score":"5E-1"`, `"base_score":"1.5"`, 1), []string{"base_score", "(0, 1)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseXGBoost(c.data)
			if err == nil {
				t.Fatalf("loaded a model with %d trees, want an error", m.NumTrees())
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "reading XGBoost JSON model: ") {
				t.Errorf("error %q does not say what was being read", err)
			}
		})
	}

	t.Run("FeatureCountMismatch", func(t *testing.T) {
		m, err := ParseXGBoost(good)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 2, 4} {
			_, err := m.Predict(make([]float64, n), nil)
			if err == nil || !strings.Contains(err.Error(), "expects 3") {
				t.Errorf("%d features: error %v, want one saying the model expects 3", n, err)
			}
		}
		for _, n := range []int{1, 4, 8} {
			_, err := m.PredictRows(make([]float64, n), nil)
			if err == nil || !strings.Contains(err.Error(), "not whole rows of the model's 3 features") {
				t.Errorf("PredictRows on %d values: error %v, want one saying they are not whole rows", n, err)
			}
		}
	})
}

func TestXGBoostBaseScoreList(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "small_binary.json"))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := ParseXGBoost(good)
	if err != nil {
		t.Fatal(err)
	}
	// Newer XGBoost writes base_score as a bracketed list; 0.5 either way.
	list, err := ParseXGBoost(bytes.Replace(good, []byte(`"base_score":"5E-1"`), []byte(`"base_score":"[5E-1]"`), 1))
	if err != nil {
		t.Fatal(err)
	}
	shifted, err := ParseXGBoost(bytes.Replace(good, []byte(`"base_score":"5E-1"`), []byte(`"base_score":"[7.5E-1]"`), 1))
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{0.3, -0.2, math.NaN()}
	a, _ := plain.PredictMargin(x, nil)
	b, _ := list.PredictMargin(x, nil)
	c, _ := shifted.PredictMargin(x, nil)
	if a[0] != b[0] {
		t.Errorf("margin with base_score [5E-1] = %v, with 5E-1 = %v", b[0], a[0])
	}
	// logit(0.75) - logit(0.5) = log(3).
	if d := c[0] - a[0]; math.Abs(d-math.Log(3)) > 1e-6 {
		t.Errorf("base_score 0.75 moved the margin by %v, want log(3) = %v", d, math.Log(3))
	}
}

func TestXGBoostBaseScorePerClass(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "small_multiclass.json"))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := ParseXGBoost(good)
	if err != nil {
		t.Fatal(err)
	}
	// A list with one value per class, as XGBoost 3 may write: each class
	// starts from its own value (added to the margin for multi:softprob).
	perClass, err := ParseXGBoost(bytes.Replace(good, []byte(`"base_score":"5E-1"`), []byte(`"base_score":"[5E-1,1.5E0,-5E-1]"`), 1))
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{0.3, math.NaN(), 1}
	a, _ := plain.PredictMargin(x, nil)
	b, _ := perClass.PredictMargin(x, nil)
	for i, d := range []float64{0, 1, -1} {
		if got := b[i] - a[i]; math.Abs(got-d) > 1e-6 {
			t.Errorf("class %d margin moved by %v, want %v", i, got, d)
		}
	}
	if _, err := ParseXGBoost(bytes.Replace(good, []byte(`"base_score":"5E-1"`), []byte(`"base_score":"[5E-1,5E-1]"`), 1)); err == nil || !strings.Contains(err.Error(), "1 or 3 numbers") {
		t.Errorf("two base scores for three classes: error %v, want one asking for 1 or 3 numbers", err)
	}
}

// FuzzParseXGBoost checks that no input makes the loader or a prediction
// with a loaded model panic or loop.
func FuzzParseXGBoost(f *testing.F) {
	// The committed models without the fields the loader ignores: the fuzzer
	// spends its time minimizing each new input, which is slow for large ones.
	for _, name := range []string{"small_binary.json", "small_multiclass.json", "categorical.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(trimModel(f, b))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseXGBoost(data)
		if err != nil || m.NumFeatures() > 1<<16 {
			return // a mutated num_feature may be huge
		}
		x := make([]float64, m.NumFeatures())
		for i := range x {
			if i%3 == 1 {
				x[i] = math.NaN()
			} else {
				x[i] = float64(i) - 1
			}
		}
		out, err := m.Predict(x, nil)
		if err != nil || len(out) != m.NumOutputs() {
			t.Fatalf("Predict on a loaded model: %v, %d outputs for %d", err, len(out), m.NumOutputs())
		}
		rows := append(append(append(append(append([]float64(nil), x...), x...), x...), x...), x...)
		all, err := m.PredictRows(rows, nil)
		if err != nil || len(all) != 5*m.NumOutputs() {
			t.Fatalf("PredictRows on a loaded model: %v, %d outputs for 5 rows of %d", err, len(all), m.NumOutputs())
		}
		for i, v := range all {
			if w := out[i%len(out)]; v != w && !(v != v && w != w) {
				t.Fatalf("PredictRows value %d = %v, Predict %v", i, v, w)
			}
		}
	})
}

// trimModel drops from an XGBoost JSON model the fields the loader does not
// read and keeps only the first tree of each output group.
func trimModel(tb testing.TB, data []byte) []byte {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(bytes.ReplaceAll(data, []byte("NaN"), []byte("null"))))
	if err := dec.Decode(&m); err != nil {
		tb.Fatal(err)
	}
	learner := m["learner"].(map[string]any)
	delete(learner, "attributes")
	delete(learner, "feature_names")
	delete(learner, "feature_types")
	delete(m, "version")
	delete(learner["objective"].(map[string]any), "reg_loss_param")
	delete(learner["objective"].(map[string]any), "softmax_multiclass_param")
	delete(learner["learner_model_param"].(map[string]any), "boost_from_average")
	gb := learner["gradient_booster"].(map[string]any)
	model, ok := gb["model"].(map[string]any)
	if !ok {
		model = gb["gbtree"].(map[string]any)["model"].(map[string]any) // dart
	}
	trees := model["trees"].([]any)
	info := model["tree_info"].([]any)
	var keepTrees, keepInfo []any
	seen := map[float64]bool{}
	for i, tr := range trees {
		g := info[i].(float64)
		if seen[g] {
			continue
		}
		seen[g] = true
		tree := tr.(map[string]any)
		for _, k := range []string{"base_weights", "loss_changes", "parents", "sum_hessian", "categories", "categories_segments", "categories_sizes", "id", "tree_param"} {
			delete(tree, k)
		}
		keepTrees, keepInfo = append(keepTrees, tree), append(keepInfo, g)
	}
	model["trees"], model["tree_info"] = keepTrees, keepInfo
	delete(model, "gbtree_model_param")
	out, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// benchModel loads the benchmark model (200 trees, depth 6, 20 features,
// binary:logistic) and its 10,000 rows with missing values, written by
// testdata/xgboost_models.py --bench into $SLIPWAY_XGBOOST_BENCH_DIR
// (bench/model_xgboost.sh sets it to time XGBoost on the same files) or
// into a temporary directory.
func benchModel(b *testing.B) (*XGBoost, [][]float64) {
	b.Helper()
	dir := os.Getenv("SLIPWAY_XGBOOST_BENCH_DIR")
	if dir == "" {
		dir = runXGBoostScript(b, "--bench")
	}
	m := loadFile(b, filepath.Join(dir, "bench.json"))
	data, err := os.ReadFile(filepath.Join(dir, "bench_rows.json"))
	if err != nil {
		b.Fatal(err)
	}
	var rows [][]*float64
	if err := json.Unmarshal(data, &rows); err != nil {
		b.Fatal(err)
	}
	if m.NumTrees() != 200 || m.NumFeatures() != 20 {
		b.Fatalf("benchmark model has %d trees, %d features; want 200, 20", m.NumTrees(), m.NumFeatures())
	}
	return m, denseRows(rows)
}

// BenchmarkPredict scores rows one at a time on one goroutine.
func BenchmarkPredict(b *testing.B) {
	m, rows := benchModel(b)
	out := make([]float64, 0, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		var err error
		if out, err = m.Predict(rows[i%len(rows)], out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/row")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkPredictParallel scores rows on GOMAXPROCS goroutines, as a
// server's concurrent requests would.
func BenchmarkPredictParallel(b *testing.B) {
	m, rows := benchModel(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		out := make([]float64, 0, 1)
		i := 0
		for pb.Next() {
			var err error
			if out, err = m.Predict(rows[i%len(rows)], out); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkPredictRows scores the rows in one PredictRows call.
func BenchmarkPredictRows(b *testing.B) {
	m, rows := benchModel(b)
	flat := make([]float64, 0, len(rows)*m.NumFeatures())
	for _, r := range rows {
		flat = append(flat, r...)
	}
	out := make([]float64, 0, len(rows))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var err error
		if out, err = m.PredictRows(flat, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
}
