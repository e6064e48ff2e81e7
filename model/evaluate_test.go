package model

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/value"
)

// TestEvaluateMatchesSklearn compares every metric of every task with
// scikit-learn's on the same labels and outputs, to 1e-9: including ties,
// probabilities of exactly 0 and 1, multiclass rows that do not sum to 1 and
// a class absent from the labels.
func TestEvaluateMatchesSklearn(t *testing.T) {
	python := testenv.Python(t, "numpy", "sklearn")
	dir := t.TempDir()
	if out, err := exec.Command(python, filepath.Join("testdata", "evaluate_sklearn.py"), dir).CombinedOutput(); err != nil {
		t.Fatalf("testdata/evaluate_sklearn.py: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "evaluate_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Version string `json:"sklearn_version"`
		Cases   []struct {
			Name    string             `json:"name"`
			Task    string             `json:"task"`
			Labels  []float64          `json:"labels"`
			Outputs []float64          `json:"outputs"`
			Metrics map[string]float64 `json:"metrics"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	t.Logf("scikit-learn %s", file.Version)
	tasks := map[string]bool{}
	for _, c := range file.Cases {
		tasks[c.Task] = true
		t.Run(c.Name, func(t *testing.T) {
			got, err := Evaluate(c.Task, c.Labels, c.Outputs)
			if err != nil {
				t.Fatal(err)
			}
			want := TaskMetrics(c.Task)
			keys := make([]string, 0, len(got))
			for k := range got {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			slices.Sort(want)
			if !slices.Equal(keys, want) {
				t.Fatalf("metrics %v, want exactly %v", keys, want)
			}
			for name, w := range c.Metrics {
				if math.Abs(got[name]-w) > 1e-9 {
					t.Errorf("%s = %.17g, scikit-learn %.17g (diff %.3g)", name, got[name], w, got[name]-w)
				}
			}
		})
	}
	if len(tasks) != 3 {
		t.Fatalf("cases cover tasks %v, want all three", tasks)
	}
}

func TestEvaluateErrors(t *testing.T) {
	for _, c := range []struct {
		name, task      string
		labels, outputs []float64
		want            []string
	}{
		{"binary label 2", TaskBinaryClassification, []float64{0, 1, 2}, []float64{.1, .2, .3}, []string{"row 2", "label 2", "0 or 1"}},
		{"binary single class", TaskBinaryClassification, []float64{1, 1, 1}, []float64{.1, .2, .3}, []string{"all 3 holdout labels are 1", "AUC", "both classes"}},
		{"binary two outputs per row", TaskBinaryClassification, []float64{0, 1}, []float64{.1, .9, .2, .8}, []string{"4 outputs for 2 labels"}},
		{"binary NaN output", TaskBinaryClassification, []float64{0, 1}, []float64{math.NaN(), .8}, []string{"prediction 0 is NaN"}},
		{"no rows", TaskRegression, nil, nil, []string{"no rows"}},
		{"regression NaN label", TaskRegression, []float64{1, math.NaN()}, []float64{1, 2}, []string{"row 1", "finite"}},
		{"multiclass label out of range", TaskMulticlass, []float64{0, 3}, []float64{.5, .3, .2, .1, .1, .8}, []string{"row 1", "label 3", "3 classes", "0 to 2"}},
		{"multiclass non-integer label", TaskMulticlass, []float64{0, 1.5}, []float64{.5, .5, .1, .9}, []string{"row 1", "label 1.5", "integers"}},
		{"multiclass ragged", TaskMulticlass, []float64{0, 1}, []float64{.5, .3, .2}, []string{"3 outputs for 2 labels"}},
		{"multiclass one output", TaskMulticlass, []float64{0, 1}, []float64{.5, .3}, []string{"at least 2 per row"}},
		{"multiclass not a probability", TaskMulticlass, []float64{0, 1}, []float64{.5, .5, 1.5, -.5}, []string{"row 1", "class 0", "1.5"}},
		{"unknown task", "ranking", []float64{0}, []float64{0}, []string{`unknown task "ranking"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Evaluate(c.task, c.labels, c.outputs)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestBetter(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		metric             string
		candidate, current float64
		want               bool
	}{
		{MetricAUC, 0.8, 0.7, true},
		{MetricAUC, 0.7, 0.7, false}, // strictly
		{MetricAUC, 0.6, 0.7, false},
		{MetricAccuracy, 0.9, 0.8, true},
		{MetricLogLoss, 0.3, 0.4, true},
		{MetricLogLoss, 0.4, 0.4, false},
		{MetricLogLoss, 0.5, 0.4, false},
		{MetricRMSE, 1, 2, true},
		{MetricMAE, 2, 1, false},
		{MetricAUC, nan, 0.5, false},
		{MetricAUC, 0.5, nan, true},
		{MetricRMSE, nan, nan, false},
	} {
		if got := Better(c.metric, c.candidate, c.current); got != c.want {
			t.Errorf("Better(%s, %v, %v) = %v, want %v", c.metric, c.candidate, c.current, got, c.want)
		}
	}
}

func TestLabelValue(t *testing.T) {
	for _, c := range []struct {
		v    value.Value
		want float64
		err  string
	}{
		{value.FromBool(true), 1, ""},
		{value.FromBool(false), 0, ""},
		{value.FromInt64(2), 2, ""},
		{value.FromFloat64(3.5), 3.5, ""},
		{value.NullValue(), 0, "the label is null"},
		{value.FromString("yes"), 0, `the label "yes" is string: a model's label must be bool, int64 or float64`},
	} {
		got, err := LabelValue(c.v)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("LabelValue(%v): %v, want an error saying %q", c.v, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("LabelValue(%v) = %v, %v; want %v", c.v, got, err, c.want)
		}
	}
}
