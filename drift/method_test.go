package drift

import (
	"math"
	"strings"
	"testing"
)

// TestDefaultMethodFollowsEvidentlysTable: the method by reference size,
// kind and number of distinct values (on both sides), with the thresholds
// and the direction of each comparison.
func TestDefaultMethodFollowsEvidentlysTable(t *testing.T) {
	seq := func(n int, from float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = from + float64(i%7) // 7 distinct values
		}
		return out
	}
	few := func(n int) []float64 { // 3 distinct values
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(i % 3)
		}
		return out
	}
	cases := []struct {
		name     string
		ref, cur Data
		numeric  bool
		want     string
	}{
		{"numeric, 1,000 rows", Data{Sample: Sample{Values: seq(1000, 0)}}, Data{Sample: Sample{Values: seq(10, 0)}}, true, MethodKS},
		{"numeric, 1,001 rows", Data{Sample: Sample{Values: seq(1001, 0)}}, Data{Sample: Sample{Values: seq(10, 0)}}, true, MethodWasserstein},
		{"numeric, weights above 1,000", Data{Sample: Sample{Values: seq(10, 0), Weights: []float64{200, 200, 200, 200, 200, 1, 1, 1, 1, 1}}}, Data{Sample: Sample{Values: seq(10, 0)}}, true, MethodWasserstein},
		{"numeric, 3 values, small", Data{Sample: Sample{Values: few(100)}}, Data{Sample: Sample{Values: few(50)}}, true, MethodChiSquare},
		{"numeric, 2 values, small", Data{Sample: Sample{Values: []float64{0, 1, 1}}}, Data{Sample: Sample{Values: []float64{1, 0}}}, true, MethodZ},
		{"numeric, 3 values, large", Data{Sample: Sample{Values: few(2000)}}, Data{Sample: Sample{Values: few(50)}}, true, MethodJensenShannon},
		{"categorical, 3 values, small", Data{Counts: Counts{"a": 500, "b": 400}}, Data{Counts: Counts{"a": 5, "c": 1}}, false, MethodChiSquare},
		{"categorical, binary, small", Data{Counts: Counts{"t": 500, "f": 500}}, Data{Counts: Counts{"t": 5, "f": 1}}, false, MethodZ},
		{"categorical, binary, large", Data{Counts: Counts{"t": 501, "f": 500}}, Data{Counts: Counts{"t": 5}}, false, MethodJensenShannon},
		{"categorical, zero counts are not values", Data{Counts: Counts{"t": 500, "f": 500, "x": 0}}, Data{Counts: Counts{"t": 5, "f": 1}}, false, MethodZ},
	}
	for _, c := range cases {
		m, err := DefaultMethod(c.ref, c.cur, c.numeric, nil)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if m.Name != c.want || m.Threshold != DefaultThresholds[c.want] {
			t.Errorf("%s: %s at %g, want %s at %g", c.name, m.Name, m.Threshold, c.want, DefaultThresholds[c.want])
		}
		// Every pick runs on the data it was picked for.
		if _, err := m.Test(c.ref, c.cur); err != nil {
			t.Errorf("%s: %s: %v", c.name, m.Name, err)
		}
	}
	m, err := DefaultMethod(cases[0].ref, cases[0].cur, true, Thresholds{MethodKS: 0.01, MethodPSI: 0.2})
	if err != nil || m.Threshold != 0.01 {
		t.Errorf("overridden KS threshold: %v, %v; want 0.01", m, err)
	}
}

// TestThresholdsDecide: p-values drift below the threshold (KS at it too),
// distances at or above it, per Evidently.
func TestThresholdsDecide(t *testing.T) {
	ref := Data{Sample: Sample{Values: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}}
	cur := Data{Sample: Sample{Values: []float64{4, 5, 6, 7, 8, 9, 10, 11, 12, 13}}}
	_, p, err := KS(ref.Sample, cur.Sample)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Method{Name: MethodKS, Threshold: p}.Test(ref, cur)
	if err != nil || !r.Drifted || !r.PValue || r.Score != p {
		t.Errorf("KS at its own p-value %g: %+v, %v; want drift (p ≤ threshold)", p, r, err)
	}
	counts := Data{Counts: Counts{"a": 10, "b": 20, "c": 30}}
	_, cp, err := ChiSquare(counts.Counts, Counts{"a": 12, "b": 20, "c": 25})
	if err != nil {
		t.Fatal(err)
	}
	r, err = Method{Name: MethodChiSquare, Threshold: cp}.Test(counts, Data{Counts: Counts{"a": 12, "b": 20, "c": 25}})
	if err != nil || r.Drifted {
		t.Errorf("chi-square at its own p-value: %+v, %v; want no drift (p < threshold)", r, err)
	}
	w, err := NormedWasserstein(ref.Sample, cur.Sample)
	if err != nil {
		t.Fatal(err)
	}
	r, err = Method{Name: MethodWasserstein, Threshold: w}.Test(ref, cur)
	if err != nil || !r.Drifted || r.PValue || r.Statistic != w {
		t.Errorf("Wasserstein at its own distance: %+v, %v; want drift (≥ threshold)", r, err)
	}
	r, err = Method{Name: MethodWasserstein, Threshold: math.Nextafter(w, math.Inf(1))}.Test(ref, cur)
	if err != nil || r.Drifted {
		t.Errorf("Wasserstein just under the threshold: %+v, %v; want no drift", r, err)
	}
	// A shifted reference moves PSI; an identical one gives 0.
	same, err := PSI(ref.Sample, ref.Sample, DefaultPSIBins)
	if err != nil || same != 0 {
		t.Errorf("PSI of a sample with itself = %g, %v; want 0", same, err)
	}
	r, err = Method{Name: MethodPSI, Threshold: 0.1, Bins: 5}.Test(ref, Data{Sample: Sample{Values: []float64{8, 9, 10, 11, 12}}})
	if err != nil || !r.Drifted {
		t.Errorf("PSI of a shifted window: %+v, %v; want drift", r, err)
	}
}

func TestDatasetDrift(t *testing.T) {
	rs := []Result{{Drifted: true}, {Drifted: false}, {Drifted: true}, {Drifted: false}}
	if d, share, err := DatasetDrift(rs, 0); err != nil || !d || share != 0.5 {
		t.Errorf("2 of 4 at the default share: %v, %g, %v; want drift at 0.5", d, share, err)
	}
	if d, _, err := DatasetDrift(rs[1:], 0); err != nil || d {
		t.Errorf("1 of 3 at the default share: %v, %v; want no drift", d, err)
	}
	if d, _, err := DatasetDrift(rs, 0.75); err != nil || d {
		t.Errorf("2 of 4 at 0.75: %v, %v; want no drift", d, err)
	}
	if d, _, err := DatasetDrift(rs[:1], 1); err != nil || !d {
		t.Errorf("1 of 1 at 1: %v, %v; want drift", d, err)
	}
	for _, share := range []float64{-0.1, 1.5, math.NaN()} {
		if _, _, err := DatasetDrift(rs, share); err == nil {
			t.Errorf("share %g: no error", share)
		}
	}
	if _, _, err := DatasetDrift(nil, 0.5); err == nil {
		t.Error("no results: no error")
	}
}

// TestEdges: what the statistics give at the extremes, and the bad input
// every function rejects with an error naming it, never a panic or a NaN.
func TestEdges(t *testing.T) {
	// A constant reference: the standard deviation floor keeps the normed
	// distance finite.
	w, err := NormedWasserstein(Sample{Values: []float64{2, 2, 2}}, Sample{Values: []float64{2, 2.001}})
	if err != nil || math.Abs(w-0.5) > 1e-9 {
		t.Errorf("normed Wasserstein on a constant reference = %g, %v; want 0.0005/0.001 = 0.5", w, err)
	}
	// A category only in the current window: certain drift.
	stat, p, err := ChiSquare(Counts{"a": 10}, Counts{"a": 5, "b": 5})
	if err != nil || !math.IsInf(stat, 1) || p != 0 {
		t.Errorf("chi-square with a new category = %g, %g, %v; want +Inf, 0", stat, p, err)
	}
	// One value on both sides: nothing to compare.
	if _, p, err := ChiSquare(Counts{"a": 10}, Counts{"a": 3}); err != nil || p != 1 {
		t.Errorf("chi-square of one value = %g, %v; want 1", p, err)
	}
	if z, p, err := ZTest(Counts{"a": 10}, Counts{"a": 3}); err != nil || z != 0 || p != 1 {
		t.Errorf("z-test of one value = %g, %g, %v; want 0, 1", z, p, err)
	}
	if d, err := JensenShannon(Counts{"a": 1}, Counts{"b": 1}); err != nil || math.Abs(d-1) > 1e-12 {
		t.Errorf("Jensen-Shannon of disjoint values = %g, %v; want 1", d, err)
	}
	// Zero weights leave values out.
	s1, p1, err1 := KS(Sample{Values: []float64{1, 2, 3, 100}, Weights: []float64{1, 1, 1, 0}}, Sample{Values: []float64{1.5, 2.5}})
	s2, p2, err2 := KS(Sample{Values: []float64{1, 2, 3}}, Sample{Values: []float64{1.5, 2.5}})
	if err1 != nil || err2 != nil || s1 != s2 || p1 != p2 {
		t.Errorf("KS with a zero weight = %g, %g, %v; without the value %g, %g, %v", s1, p1, err1, s2, p2, err2)
	}

	nan, inf := math.NaN(), math.Inf(1)
	ok := Sample{Values: []float64{1, 2, 3}}
	okc := Counts{"a": 1, "b": 2}
	bad := map[string]Sample{
		"empty":            {},
		"NaN value":        {Values: []float64{1, nan}},
		"infinite value":   {Values: []float64{1, inf}},
		"negative weight":  {Values: []float64{1, 2}, Weights: []float64{1, -1}},
		"NaN weight":       {Values: []float64{1, 2}, Weights: []float64{1, nan}},
		"infinite weight":  {Values: []float64{1, 2}, Weights: []float64{1, inf}},
		"weights mismatch": {Values: []float64{1, 2}, Weights: []float64{1}},
		"all weights zero": {Values: []float64{1, 2}, Weights: []float64{0, 0}},
	}
	for name, s := range bad {
		for fn, err := range map[string]error{
			"KS ref":                third(KS(s, ok)),
			"KS cur":                third(KS(ok, s)),
			"Wasserstein ref":       second(Wasserstein(s, ok)),
			"Wasserstein cur":       second(Wasserstein(ok, s)),
			"NormedWasserstein ref": second(NormedWasserstein(s, ok)),
			"NormedWasserstein cur": second(NormedWasserstein(ok, s)),
			"PSI ref":               second(PSI(s, ok, 10)),
			"PSI cur":               second(PSI(ok, s, 10)),
		} {
			if err == nil {
				t.Errorf("%s with a sample %s: no error", fn, name)
			} else if !strings.Contains(err.Error(), "sample") {
				t.Errorf("%s with a sample %s: %q does not say which sample", fn, name, err)
			}
		}
	}
	badCounts := map[string]Counts{
		"empty":    {},
		"negative": {"a": 1, "b": -1},
		"NaN":      {"a": nan},
		"infinite": {"a": inf},
		"all zero": {"a": 0, "b": 0},
	}
	for name, c := range badCounts {
		for fn, err := range map[string]error{
			"ChiSquare ref":     third(ChiSquare(c, okc)),
			"ChiSquare cur":     third(ChiSquare(okc, c)),
			"JensenShannon ref": second(JensenShannon(c, okc)),
			"JensenShannon cur": second(JensenShannon(okc, c)),
			"ZTest ref":         third(ZTest(c, okc)),
			"ZTest cur":         third(ZTest(okc, c)),
		} {
			if err == nil {
				t.Errorf("%s with counts %s: no error", fn, name)
			}
		}
	}
	for name, err := range map[string]error{
		"NormedWasserstein one value":   second(NormedWasserstein(Sample{Values: []float64{1}}, ok)),
		"NormedWasserstein weight 1.5":  second(NormedWasserstein(Sample{Values: []float64{1, 2}, Weights: []float64{1, 0.5}}, ok)),
		"KS weight rounds to 0":         third(KS(Sample{Values: []float64{1}, Weights: []float64{0.2}}, ok)),
		"PSI 1 bin":                     second(PSI(ok, ok, 1)),
		"ZTest 3 values":                third(ZTest(Counts{"a": 1, "b": 1}, Counts{"c": 1})),
		"unknown method":                second(NewMethod("t-test", nil)),
		"p threshold 0":                 second(NewMethod(MethodKS, Thresholds{MethodKS: 0})),
		"p threshold 1":                 second(NewMethod(MethodChiSquare, Thresholds{MethodChiSquare: 1})),
		"distance threshold NaN":        second(NewMethod(MethodJensenShannon, Thresholds{MethodJensenShannon: nan})),
		"distance threshold negative":   second(NewMethod(MethodPSI, Thresholds{MethodPSI: -1})),
		"PSI 1 bin in Method":           second(Method{Name: MethodPSI, Threshold: 0.1, Bins: 1}.Test(Data{Sample: ok}, Data{Sample: ok})),
		"numeric method on counts":      second(Method{Name: MethodKS, Threshold: 0.05}.Test(Data{Counts: okc}, Data{Counts: okc})),
		"categorical method on nothing": second(Method{Name: MethodChiSquare, Threshold: 0.05}.Test(Data{}, Data{})),
		"Method with an empty name":     second(Method{}.Test(Data{Sample: ok}, Data{Sample: ok})),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func second[A any](_ A, err error) error        { return err }
func third[A, B any](_ A, _ B, err error) error { return err }
