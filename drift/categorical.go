package drift

import (
	"fmt"
	"math"
)

// ChiSquare is Evidently's chi-square drift test: Pearson's statistic of
// the current counts against the reference's proportions scaled to the
// current total (scipy.stats.chisquare(f_obs, f_exp)), with k − 1 degrees
// of freedom over the k values counted on either side. A value the current
// window has and the reference never had is expected 0 times: the
// statistic is +Inf and the p-value 0 (certain drift). A value only the
// reference has counts as observed 0 times.
func ChiSquare(ref, cur Counts) (stat, p float64, err error) {
	rt, err := ref.check("reference")
	if err != nil {
		return 0, 0, err
	}
	ct, err := cur.check("current")
	if err != nil {
		return 0, 0, err
	}
	ks := keys(ref, cur)
	if len(ks) < 2 {
		return 0, 1, nil // one value on both sides: nothing can differ
	}
	for _, k := range ks {
		exp := ref[k] * ct / rt
		d := cur[k] - exp
		stat += d * d / exp
	}
	if math.IsNaN(stat) {
		stat = math.Inf(1)
	}
	return stat, chiSquareSF(stat, float64(len(ks)-1)), nil
}

// JensenShannon is the Jensen-Shannon distance (base 2, so between 0 and
// 1) between the reference's and the current window's value frequencies,
// as scipy.spatial.distance.jensenshannon(p, q, 2) on the vectors
// Evidently builds: one entry per value counted on either side, zeros left
// as they are.
func JensenShannon(ref, cur Counts) (float64, error) {
	rt, err := ref.check("reference")
	if err != nil {
		return 0, err
	}
	ct, err := cur.check("current")
	if err != nil {
		return 0, err
	}
	var js float64
	for _, k := range keys(ref, cur) {
		p, q := ref[k]/rt, cur[k]/ct
		m := (p + q) / 2
		if p > 0 {
			js += p * math.Log(p/m)
		}
		if q > 0 {
			js += q * math.Log(q/m)
		}
	}
	js /= math.Ln2
	return math.Sqrt(math.Max(js, 0) / 2), nil
}

// ZTest is Evidently's z-test for a binary feature: the pooled
// two-proportion z statistic, (current share − reference share of the
// first value in sort order) / its standard error, and its two-sided
// p-value (2·Φ(−|z|)). The counts may name at most two values between them; when both
// sides hold the same single value, z is 0 and p 1.
func ZTest(ref, cur Counts) (z, p float64, err error) {
	n1, err := ref.check("reference")
	if err != nil {
		return 0, 0, err
	}
	n2, err := cur.check("current")
	if err != nil {
		return 0, 0, err
	}
	ks := keys(ref, cur)
	if len(ks) > 2 {
		return 0, 0, fmt.Errorf("z-test of %d values (%q, …): it compares binary features; use chi-square or Jensen-Shannon for more values", len(ks), ks[:3])
	}
	if len(ks) < 2 {
		return 0, 1, nil
	}
	p1, p2 := ref[ks[0]]/n1, cur[ks[0]]/n2
	pooled := (ref[ks[0]] + cur[ks[0]]) / (n1 + n2)
	z = (p2 - p1) / math.Sqrt(pooled*(1-pooled)*(1/n1+1/n2))
	return z, math.Erfc(math.Abs(z) / math.Sqrt2), nil
}

// chiSquareSF is P(X ≥ x) for X chi-square with k degrees of freedom: the
// regularized upper incomplete gamma Q(k/2, x/2).
func chiSquareSF(x, k float64) float64 {
	switch {
	case math.IsInf(x, 1):
		return 0
	case x <= 0:
		return 1
	}
	return upperGamma(k/2, x/2)
}

// upperGamma is the regularized upper incomplete gamma function Q(a, x),
// by its power series below x = a + 1 and Legendre's continued fraction
// (modified Lentz) above.
func upperGamma(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	front := math.Exp(a*math.Log(x) - x - lg)
	if x < a+1 {
		sum, term := 1/a, 1/a
		for n := 1; n < 10000; n++ {
			term *= x / (a + float64(n))
			sum += term
			if term < sum*1e-17 {
				break
			}
		}
		return clip01(1 - front*sum)
	}
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	f := d
	for n := 1; n < 10000; n++ {
		an := -float64(n) * (float64(n) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		delta := d * c
		f *= delta
		if math.Abs(delta-1) < 1e-16 {
			break
		}
	}
	return clip01(front * f)
}
