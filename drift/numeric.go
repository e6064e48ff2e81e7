package drift

import (
	"fmt"
	"math"
)

// MinStd is the floor NormedWasserstein puts under the reference's standard
// deviation, as Evidently does, so that a constant reference still gives a
// finite (large) distance when the current values move.
const MinStd = 0.001

// Wasserstein is the first Wasserstein (earth mover's) distance between the
// two weighted samples, ∫|F_ref − F_cur|, as
// scipy.stats.wasserstein_distance(u, v, u_weights, v_weights).
func Wasserstein(ref, cur Sample) (float64, error) {
	a, wa, err := ref.sorted("reference")
	if err != nil {
		return 0, err
	}
	b, wb, err := cur.sorted("current")
	if err != nil {
		return 0, err
	}
	return wasserstein(a, wa, b, wb), nil
}

func wasserstein(a []point, wa float64, b []point, wb float64) float64 {
	var sum, last, gap float64
	first := true
	stepCDFs(a, wa, b, wb, func(x, fa, fb float64) {
		if !first {
			sum += gap * (x - last)
		}
		first = false
		last, gap = x, math.Abs(fa-fb)
	})
	return sum
}

// NormedWasserstein is Wasserstein divided by the reference's standard
// deviation (the population one, weighted; at least MinStd), as Evidently's
// "wasserstein" method: a shift of the whole distribution by a tenth of a
// standard deviation gives 0.1. The reference must weigh at least 2.
func NormedWasserstein(ref, cur Sample) (float64, error) {
	a, wa, err := ref.sorted("reference")
	if err != nil {
		return 0, err
	}
	b, wb, err := cur.sorted("current")
	if err != nil {
		return 0, err
	}
	if wa < 2 {
		return 0, fmt.Errorf("reference sample weighs %g: a standard deviation needs at least 2 values", wa)
	}
	var mean float64
	for _, p := range a {
		mean += p.w * p.v
	}
	mean /= wa
	var ss float64
	for _, p := range a {
		ss += p.w * (p.v - mean) * (p.v - mean)
	}
	std := math.Max(math.Sqrt(ss/wa), MinStd)
	return wasserstein(a, wa, b, wb) / std, nil
}

// DefaultPSIBins is the number of bins PSI uses unless told otherwise
// (deciles of the reference).
const DefaultPSIBins = 10

// PSI is the population stability index Σ (r_i − c_i)·ln(r_i / c_i) over
// bins whose edges are the reference's quantiles at 1/bins, 2/bins, …
// (each the smallest value whose weighted CDF reaches the level, so that
// they can be read off a sketch; equal edges merge). Bin i holds the
// values in (edge_{i−1}, edge_i]; r_i and c_i are the shares of each
// sample's weight in it. An empty bin's share becomes, as in Evidently,
// 0.0001, or a millionth of the side's smallest non-zero share when that is
// at most 0.0001, so that the logarithm stays finite.
func PSI(ref, cur Sample, bins int) (float64, error) {
	if bins < 2 {
		return 0, fmt.Errorf("PSI with %d bins: use at least 2 (%d is the default)", bins, DefaultPSIBins)
	}
	a, wa, err := ref.sorted("reference")
	if err != nil {
		return 0, err
	}
	b, wb, err := cur.sorted("current")
	if err != nil {
		return 0, err
	}
	var edges []float64
	var cum float64
	i := 0
	for q := 1; q < bins; q++ {
		level := float64(q) / float64(bins) * wa
		for i < len(a)-1 && (cum+a[i].w < level*(1-1e-12) || a[i].w == 0) {
			cum += a[i].w
			i++
		}
		if len(edges) == 0 || a[i].v > edges[len(edges)-1] {
			edges = append(edges, a[i].v)
		}
	}
	shares := func(pts []point, total float64) []float64 {
		out := make([]float64, len(edges)+1)
		k := 0
		for _, p := range pts {
			for k < len(edges) && p.v > edges[k] {
				k++
			}
			out[k] += p.w / total
		}
		fillZeros(out)
		return out
	}
	r, c := shares(a, wa), shares(b, wb)
	var psi float64
	for k := range r {
		psi += (r[k] - c[k]) * math.Log(r[k]/c[k])
	}
	return psi, nil
}

// fillZeros replaces empty shares as Evidently's binning does.
func fillZeros(s []float64) {
	least := math.Inf(1)
	for _, x := range s {
		if x > 0 {
			least = math.Min(least, x)
		}
	}
	fill := 0.0001
	if least <= 0.0001 {
		fill = least / 1e6
	}
	for k, x := range s {
		if x == 0 {
			s[k] = fill
		}
	}
}
