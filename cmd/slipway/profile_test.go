package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/slipway-ml/slipway/platform"
)

// TestBaselineProfileIsWhatTrainingSaw: the profile recorded with the
// quickstart's model version equals what a person computes from the
// training set exported and scored with the same version, through the
// CLI: the rows before the holdout (the newest 20% of label rows) for the
// features, and the version's predictions on the holdout.
func TestBaselineProfileIsWhatTrainingSaw(t *testing.T) {
	dir := quickstart(t)
	mustRun(t, dir, "training-set", "export", "purchase_propensity", "--format", "csv", "--out", "ts.csv")
	mustRun(t, dir, "score", "purchase_model@1", "--in", "ts.csv", "--out", "scored.csv")
	var prof platform.ModelProfile
	if err := json.Unmarshal([]byte(mustRun(t, dir, "models", "profile", "purchase_model@1", "--json").stdout), &prof); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(filepath.Join(dir, "scored.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header, rows := recs[0], recs[1:]
	col := func(name string) int {
		i := slices.Index(header, name)
		if i < 0 {
			t.Fatalf("scored.csv has no column %s: %v", name, header)
		}
		return i
	}
	label, ts, pred := col("purchased_7d"), col("timestamp"), col("prediction")
	// Training reads the label rows with a label, in label-time order (ties
	// in the training set's order), and holds out the newest 20%.
	rows = slices.DeleteFunc(rows, func(r []string) bool { return r[label] == "" })
	slices.SortStableFunc(rows, func(a, b []string) int { return compareTimes(t, a[ts], b[ts]) })
	k := int(math.Ceil(float64(len(rows)) * 20 / 100))
	train, holdout := rows[:len(rows)-k], rows[len(rows)-k:]
	if prof.TrainingRows != int64(len(train)) || prof.HoldoutRows != int64(len(holdout)) {
		t.Fatalf("profile of %d training and %d holdout rows; the export has %d and %d", prof.TrainingRows, prof.HoldoutRows, len(train), len(holdout))
	}

	for _, c := range prof.Features {
		i := col(c.Name)
		var xs []float64
		counts := map[string]int64{}
		nulls := int64(0)
		for _, r := range train {
			if r[i] == "" {
				nulls++
				continue
			}
			counts[r[i]]++
			if x, err := strconv.ParseFloat(r[i], 64); err == nil {
				xs = append(xs, x)
			}
		}
		if c.Rows != int64(len(train)) || c.Nulls != nulls {
			t.Errorf("%s: %d rows, %d nulls; the export's training rows have %d and %d", c.Name, c.Rows, c.Nulls, len(train), nulls)
		}
		if c.Kind == "numeric" {
			checkNumbers(t, c, xs)
			continue
		}
		if c.Distinct != uint64(len(counts)) || len(c.Top) == 0 || c.Top[0].Count != counts[c.Top[0].Value] || c.Top[0].Count != slices.Max(mapValues(counts)) {
			t.Errorf("%s: %d distinct, top %v; the export has %v", c.Name, c.Distinct, c.Top, counts)
		}
	}
	var ps []float64
	for _, r := range holdout {
		x, err := strconv.ParseFloat(r[pred], 64)
		if err != nil {
			t.Fatalf("prediction %q: %v", r[pred], err)
		}
		ps = append(ps, x)
	}
	if prof.Predictions[0].Name != "prediction" {
		t.Fatalf("predictions profile: %+v", prof.Predictions)
	}
	checkNumbers(t, prof.Predictions[0], ps)
}

func compareTimes(t *testing.T, a, b string) int {
	// The export writes RFC 3339 times of one zone and precision: they
	// order as text.
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func mapValues(m map[string]int64) []int64 {
	out := make([]int64, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// checkNumbers compares a numeric column summary with the values.
func checkNumbers(t *testing.T, c platform.ColumnSummary, xs []float64) {
	t.Helper()
	if len(xs) == 0 {
		t.Fatalf("%s: no values in the export", c.Name)
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	if c.Mean == nil || math.Abs(*c.Mean-mean) > 1e-9*math.Abs(mean)+1e-12 || *c.Min != slices.Min(xs) || *c.Max != slices.Max(xs) {
		t.Errorf("%s: mean %v min %v max %v; the export's values: %v, %v, %v", c.Name, deref(c.Mean), deref(c.Min), deref(c.Max), mean, slices.Min(xs), slices.Max(xs))
	}
	sorted := slices.Sorted(slices.Values(xs))
	median := sorted[int(0.5*float64(len(sorted)-1))]
	if c.P50 == nil || math.Abs(*c.P50-median) > 0.005*math.Abs(median)+1e-12 {
		t.Errorf("%s: median %v; the export's is %v (within 0.5%%)", c.Name, deref(c.P50), median)
	}
}

func deref(x *float64) float64 {
	if x == nil {
		return math.NaN()
	}
	return *x
}
