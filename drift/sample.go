package drift

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Sample is a numeric feature's distribution: values with weights. Weights
// nil means every value weighs 1; a quantile sketch's bins become values
// (each bin's representative value) weighted by their counts. The values
// need not be sorted.
type Sample struct {
	Values, Weights []float64
}

// Counts are a categorical or boolean feature's counts per value. Counts
// may be fractional (a sampled or decayed window) but not negative.
type Counts map[string]float64

// point is one value with its weight.
type point struct{ v, w float64 }

// sorted checks the sample and returns its points in ascending order of
// value, and the total weight. what names the sample in errors.
func (s Sample) sorted(what string) ([]point, float64, error) {
	if len(s.Values) == 0 {
		return nil, 0, fmt.Errorf("%s sample is empty: give at least one value", what)
	}
	if s.Weights != nil && len(s.Weights) != len(s.Values) {
		return nil, 0, fmt.Errorf("%s sample has %d values but %d weights: give one weight per value, or none", what, len(s.Values), len(s.Weights))
	}
	pts := make([]point, len(s.Values))
	var total float64
	for i, v := range s.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, 0, fmt.Errorf("%s sample: value %d is %g: leave out values that are not finite numbers", what, i, v)
		}
		w := 1.0
		if s.Weights != nil {
			w = s.Weights[i]
			if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
				return nil, 0, fmt.Errorf("%s sample: weight %d is %g: weights must be finite and not negative", what, i, w)
			}
		}
		pts[i] = point{v, w}
		total += w
	}
	if !(total > 0) || math.IsInf(total, 0) {
		return nil, 0, fmt.Errorf("%s sample weighs %g in all: give it a positive, finite total weight", what, total)
	}
	sort.SliceStable(pts, func(a, b int) bool { return pts[a].v < pts[b].v })
	return pts, total, nil
}

// stepCDFs walks the union of two sorted samples' distinct values in
// ascending order, calling f with each value and both (weighted) empirical
// CDFs just after it: the share of each sample's weight at or below it.
func stepCDFs(a []point, wa float64, b []point, wb float64, f func(x, fa, fb float64)) {
	var i, j int
	var ca, cb float64
	for i < len(a) || j < len(b) {
		var x float64
		switch {
		case j == len(b) || (i < len(a) && a[i].v <= b[j].v):
			x = a[i].v
		default:
			x = b[j].v
		}
		for i < len(a) && a[i].v == x {
			ca += a[i].w
			i++
		}
		for j < len(b) && b[j].v == x {
			cb += b[j].w
			j++
		}
		f(x, ca/wa, cb/wb)
	}
}

// check validates counts and returns their total.
func (c Counts) check(what string) (float64, error) {
	if len(c) == 0 {
		return 0, fmt.Errorf("%s counts are empty: give at least one value's count", what)
	}
	var total float64
	for k, n := range c {
		if math.IsNaN(n) || math.IsInf(n, 0) || n < 0 {
			return 0, fmt.Errorf("%s counts: value %q counted %g times: counts must be finite and not negative", what, k, n)
		}
		total += n
	}
	if !(total > 0) || math.IsInf(total, 0) {
		return 0, fmt.Errorf("%s counts add up to %g: give at least one positive count", what, total)
	}
	return total, nil
}

// keys are the values counted (above zero) on either side, sorted.
func keys(a, b Counts) []string {
	seen := map[string]bool{}
	for _, c := range []Counts{a, b} {
		for k, n := range c {
			if n > 0 {
				seen[k] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
