package model

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/value"
)

func TestNewScorerRefusesAnotherVector(t *testing.T) {
	enc := buildEncoding(t, []Feature{{Name: "a", Type: value.Float64}, {Name: "b", Type: value.String}}, EncodingConfig{},
		[][]value.Value{{value.FromFloat64(1), value.FromString("x")}})
	xgb := loadFile(t, "testdata/small_binary.json") // 3 features
	_, err := NewScorer(enc, xgb)
	for _, w := range []string{"the model reads 3 features but the training set's encoding gives 2 columns (a, b)", "slipway training-set export NAME --encoded"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("width mismatch: %v, want it to say %q", err, w)
		}
	}
	// A linear model names its columns: the same width in another order is refused too.
	lin, err := NewLinear(TaskRegression, 0, []float64{1, 2}, []float64{0, 0}, []string{"b", "a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewScorer(enc, lin); err == nil || !strings.Contains(err.Error(), `the model's column 1 is "b" but the training set's encoding has "a" there`) {
		t.Errorf("column order mismatch: %v", err)
	}
	if _, err := NewScorer(nil, lin); err == nil {
		t.Error("nil encoding accepted")
	}
	// Long column lists are cut.
	var features []Feature
	for _, n := range strings.Fields("a b c d e f g h i j") {
		features = append(features, Feature{Name: n, Type: value.Int64})
	}
	wide := buildEncoding(t, features, EncodingConfig{}, nil)
	if _, err := NewScorer(wide, xgb); err == nil || !strings.Contains(err.Error(), "(a, b, c, d, e, f, g, h, … (10 in all))") {
		t.Errorf("wide encoding: %v", err)
	}
}

func TestScorerOutputsAndErrors(t *testing.T) {
	enc := buildEncoding(t, []Feature{{Name: "a", Type: value.Float64}, {Name: "b", Type: value.Int64}, {Name: "c", Type: value.Bool}}, EncodingConfig{}, nil)
	multi, err := NewScorer(enc, loadFile(t, "testdata/small_multiclass.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := multi.OutputNames(); !slices.Equal(got, []string{"prob_0", "prob_1", "prob_2"}) || multi.NumOutputs() != 3 || multi.Task() != TaskMulticlass {
		t.Errorf("multiclass outputs %q, task %s", got, multi.Task())
	}
	rows := [][]value.Value{
		{value.FromFloat64(0.2), value.NullValue(), value.FromBool(true)},
		{value.FromFloat64(-2), value.FromInt64(1), value.FromBool(false)},
	}
	got, err := multi.ScoreRows(rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 {
		t.Fatalf("%d values for 2 rows of 3 classes", len(got))
	}
	// Equal to the model's Predict on the encoded rows.
	for i, x := range [][]float64{{0.2, math.NaN(), 1}, {-2, 1, 0}} {
		want, _ := multi.Predictor().Predict(x, nil)
		if !slices.Equal(got[i*3:(i+1)*3], want) {
			t.Errorf("row %d: %v, Predict gives %v", i, got[i*3:(i+1)*3], want)
		}
	}
	enc2, _ := multi.ScoreEncoded([]float64{0.2, math.NaN(), 1, -2, 1, 0}, make([]float64, 0, 6))
	if !slices.Equal(enc2, got) {
		t.Errorf("ScoreEncoded %v, ScoreRows %v", enc2, got)
	}

	bin, err := NewScorer(enc, loadFile(t, "testdata/small_binary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bin.OutputNames(), []string{"prediction"}) || bin.Encoding() != enc {
		t.Errorf("binary outputs %q", bin.OutputNames())
	}
	_, err = bin.ScoreRows([][]value.Value{rows[0], {value.FromFloat64(1), value.FromFloat64(1), value.NullValue()}}, nil)
	if !errors.Is(err, ErrInvalidRow) || !strings.Contains(err.Error(), `rows[1]: `) || !strings.Contains(err.Error(), `feature "b" is int64`) {
		t.Errorf("bad row: %v", err)
	}
	if _, err := bin.ScoreRows([][]value.Value{{value.NullValue()}}, nil); err == nil || !strings.Contains(err.Error(), "rows[0]: row does not match the model's features: 1 values for 3 features (a, b, c)") {
		t.Errorf("short row: %v", err)
	}
	if _, err := bin.ScoreEncoded([]float64{1, 2}, nil); err == nil || !strings.Contains(err.Error(), "2 values are not whole rows of the encoding's 3 columns") {
		t.Errorf("ragged encoded rows: %v", err)
	}
	if out, err := bin.ScoreRows(nil, nil); err != nil || len(out) != 0 {
		t.Errorf("no rows: %v, %v", out, err)
	}
}
