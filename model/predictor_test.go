package model

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadAndDetectFormat(t *testing.T) {
	lin, err := NewLinear(TaskRegression, 1, []float64{2, -1}, []float64{0.5, 3}, []string{"a", "b"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	linData, _ := json.Marshal(lin)
	for _, c := range []struct {
		name, format, task string
		data               []byte
		features, outputs  int
	}{
		{"xgboost binary", FormatXGBoostJSON, TaskBinaryClassification, readTestdata(t, "small_binary.json"), 3, 1},
		{"xgboost multiclass", FormatXGBoostJSON, TaskMulticlass, readTestdata(t, "small_multiclass.json"), 3, 3},
		{"linear", FormatLinear, TaskRegression, linData, 2, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := DetectFormat(c.data)
			if err != nil || f != c.format {
				t.Fatalf("DetectFormat = %q, %v; want %q", f, err, c.format)
			}
			p, err := Load(f, c.data)
			if err != nil {
				t.Fatal(err)
			}
			if p.Task() != c.task || p.NumFeatures() != c.features || p.NumOutputs() != c.outputs {
				t.Errorf("task %s, %d features, %d outputs; want %s, %d, %d", p.Task(), p.NumFeatures(), p.NumOutputs(), c.task, c.features, c.outputs)
			}
		})
	}

	// Loading as the wrong format fails with that format's own error.
	if _, err := Load(FormatLinear, readTestdata(t, "small_binary.json")); err == nil || !strings.Contains(err.Error(), "slipway-linear") {
		t.Errorf("XGBoost file loaded as linear: %v", err)
	}
	if _, err := Load("onnx", linData); err == nil || !strings.Contains(err.Error(), `unknown model format "onnx": use one of xgboost-json, slipway-linear`) {
		t.Errorf("unknown format: %v", err)
	}

	for _, c := range []struct {
		name string
		data []byte
		want []string
	}{
		{"ubjson", readTestdata(t, "small_binary.ubj"), []string{"not valid JSON", `save_model("model.json")`, "slipway-linear"}},
		{"legacy binary", readTestdata(t, "small_binary.bin"), []string{"not a JSON object", "binary or UBJSON", `save_model("model.json")`}},
		{"empty", []byte("  \n"), []string{"empty"}},
		{"truncated", readTestdata(t, "small_binary.json")[:100], []string{"truncated"}},
		{"other JSON", []byte(`{"weights": [1, 2], "bias": 0}`), []string{"neither an XGBoost model", "bias, weights", "xgboost-json"}},
		{"other format name", []byte(`{"format": "onnx"}`), []string{`"format" is "onnx"`}},
		{"array", []byte(`[1, 2]`), []string{"not a JSON object"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := DetectFormat(c.data)
			if err == nil {
				t.Fatalf("DetectFormat = %q, want an error", f)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestXGBoostTask: the objective decides the task.
func TestXGBoostTask(t *testing.T) {
	for obj, task := range map[string]string{
		"binary:logistic":  TaskBinaryClassification,
		"reg:squarederror": TaskRegression,
		"reg:logistic":     TaskRegression,
		"multi:softprob":   TaskMulticlass,
	} {
		if got := (&XGBoost{objective: obj}).Task(); got != task {
			t.Errorf("objective %s: task %s, want %s", obj, got, task)
		}
	}
}

func TestLinearPredictRows(t *testing.T) {
	for _, task := range []string{TaskRegression, TaskBinaryClassification} {
		m, err := NewLinear(task, -0.5, []float64{2, 0.25, -1}, []float64{3, 10, 0}, []string{"x", "y", "z"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		x := []float64{1, 2, 3, math.NaN(), 0, 1, -4, math.NaN(), math.NaN(), 0.5, 0.5, 0.5}
		out := make([]float64, 0, 4)
		got, err := m.PredictRows(x, out)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 || &got[0] != &out[:1][0] {
			t.Fatalf("%d predictions (in out: %v), want 4 in out", len(got), len(got) > 0 && &got[0] == &out[:1][0])
		}
		for r := range 4 {
			one, _ := m.Predict(x[r*3:(r+1)*3], nil)
			if got[r] != one[0] {
				t.Errorf("%s row %d: PredictRows %v, Predict %v", task, r, got[r], one[0])
			}
		}
		if _, err := m.PredictRows(x[:5], nil); err == nil || !strings.Contains(err.Error(), "5 values are not whole rows of the linear model's 3 features") {
			t.Errorf("ragged rows: %v", err)
		}
		if _, err := m.PredictRows([]float64{1, 2, 3, 1, math.Inf(1), 3}, nil); err == nil || !strings.Contains(err.Error(), `row 1: feature vector value 1 (column "y") is infinite`) {
			t.Errorf("infinite value: %v", err)
		}
	}
}
