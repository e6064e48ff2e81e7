package drift

import (
	"fmt"
	"math"
)

// ExactKSLimit is the largest sample size (per side) for which KS computes
// the exact p-value, as scipy.stats.ks_2samp's method "auto" does; above it
// the p-value is asymptotic.
const ExactKSLimit = 10000

// KS is the two-sample Kolmogorov-Smirnov test: the statistic is the
// largest distance between the two (weighted) empirical CDFs, the p-value
// the chance of one at least as large when both samples come from one
// continuous distribution. The p-value is scipy.stats.ks_2samp's with its
// default method "auto", for samples of the effective sizes (the total
// weights, rounded): exact (lattice-path count) when neither size exceeds
// ExactKSLimit, in which case the statistic is the multiple of
// 1/lcm(n1, n2) nearest the distance, as in scipy; otherwise the
// distribution of the one-sample statistic for n = n1·n2/(n1+n2), rounded.
func KS(ref, cur Sample) (stat, p float64, err error) {
	a, wa, err := ref.sorted("reference")
	if err != nil {
		return 0, 0, err
	}
	b, wb, err := cur.sorted("current")
	if err != nil {
		return 0, 0, err
	}
	n1, n2 := math.RoundToEven(wa), math.RoundToEven(wb)
	if n1 < 1 || n2 < 1 {
		return 0, 0, fmt.Errorf("the samples weigh %g and %g: KS takes each rounded total weight as a sample size, so each must weigh more than 0.5", wa, wb)
	}
	var d float64
	stepCDFs(a, wa, b, wb, func(_, fa, fb float64) { d = math.Max(d, math.Abs(fa-fb)) })
	d = math.Min(d, 1)
	if n1 <= ExactKSLimit && n2 <= ExactKSLimit {
		m, n := int64(n1), int64(n2)
		g := gcd(m, n)
		lcm := (m / g) * n
		h := int64(math.RoundToEven(d * float64(lcm)))
		d = float64(h) / float64(lcm)
		if h == 0 {
			return d, 1, nil
		}
		if p, ok := ksExact(m, n, h*g); ok {
			return d, p, nil
		}
	}
	m, n := math.Max(n1, n2), math.Min(n1, n2)
	p = kolmogorovSF(math.RoundToEven(m*n/(m+n)), d)
	return d, clip01(p), nil
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func clip01(p float64) float64 { return math.Min(math.Max(p, 0), 1) }

// ksExact is P(D ≥ d) for samples of sizes m and n, where D·m·n ≥ bound
// (bound = d·m·n, an integer): the share of the lattice paths from (0, 0)
// to (m, n) that touch a point (i, j) with |i·n − j·m| ≥ bound. It walks
// the paths as a random walk (each step's chances are the remaining
// counts') and adds up the probability that first steps outside, so that
// small p-values keep their relative precision.
func ksExact(m, n, bound int64) (float64, bool) {
	outside := func(i, j int64) bool {
		x := i*n - j*m
		return x >= bound || -x >= bound
	}
	cur, next := make([]float64, n+1), make([]float64, n+1)
	cur[0] = 1
	var out float64
	for i := int64(0); i <= m; i++ {
		// The points of row i inside the band: i·n − bound < j·m < i·n + bound.
		lo := max(floorDiv(i*n-bound, m)+1, 0)
		hi := min(ceilDiv(i*n+bound, m)-1, n)
		var inside float64
		for j := lo; j <= hi; j++ {
			p := cur[j]
			if p == 0 {
				continue
			}
			cur[j] = 0
			inside += p
			left := float64(m + n - i - j)
			if left == 0 {
				continue
			}
			if i < m {
				q := p * float64(m-i) / left
				if outside(i+1, j) {
					out += q
				} else {
					next[j] += q
				}
			}
			if j < n {
				q := p * float64(n-j) / left
				if outside(i, j+1) {
					out += q
				} else {
					cur[j+1] += q
				}
			}
		}
		if inside == 0 {
			// Every path has left the band (the rest underflowed): the
			// p-value is all that stepped out.
			break
		}
		cur, next = next, cur
	}
	if math.IsNaN(out) || out < 0 || out > 1+1e-12 {
		return 0, false
	}
	return math.Min(out, 1), true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }

// kolmogorovSF is P(D_n ≥ x) for the two-sided one-sample
// Kolmogorov-Smirnov statistic of n values (scipy.stats.kstwo.sf), by the
// choice of Simard and L'Ecuyer (2011) that scipy makes: exact formulas at
// the extremes, the Durbin matrix (Marsaglia, Tsang and Wang 2003) for
// small n·x², the one-sided Smirnov sum doubled for large n·x², and the
// Pelz-Good expansion for large n. (scipy uses Pomeranz's recursion where
// n ≤ 140 and 0.754693 < n·x² ≤ 4; the Durbin matrix is exact there too.)
func kolmogorovSF(nf, x float64) float64 {
	n := int(nf)
	switch {
	case math.IsNaN(x):
		return math.NaN()
	case x >= 1:
		return 0
	case x <= 0:
		return 1
	}
	t := nf * x
	if t <= 1 {
		if t <= 0.5 {
			return 1
		}
		// Ruben and Gambino: P(D_n ≤ x) = n!/n^n · (2t − 1)^n.
		var cdf float64
		if n <= 140 {
			cdf = 1
			for i := 1; i <= n; i++ {
				cdf *= float64(i) / nf * (2*t - 1)
			}
		} else {
			lg, _ := math.Lgamma(nf + 1)
			cdf = math.Exp(lg - nf*math.Log(nf) + nf*math.Log(2*t-1))
		}
		return clip01(1 - cdf)
	}
	if t >= nf-1 {
		return clip01(2 * math.Pow(1-x, nf))
	}
	if x >= 0.5 {
		return clip01(2 * smirnovSF(n, x))
	}
	nx2 := t * x
	if n <= 140 {
		if nx2 <= 4 {
			return clip01(1 - durbinCDF(n, x))
		}
		return clip01(2 * smirnovSF(n, x))
	}
	if nx2 >= 370 {
		return 0
	}
	if nx2 >= 2.2 {
		return clip01(2 * smirnovSF(n, x))
	}
	var cdf float64
	if n <= 100000 && nf*math.Pow(x, 1.5) <= 1.4 {
		cdf = durbinCDF(n, x)
	} else {
		cdf = pelzGoodCDF(nf, x)
	}
	return clip01(1 - cdf)
}

// smirnovSF is P(D_n⁺ ≥ x), the one-sided statistic's exact tail, by the
// Smirnov–Birnbaum–Tingey sum
// Σ_{v=0}^{⌊n(1−x)⌋} C(n,v) x (x + v/n)^(v−1) (1 − x − v/n)^(n−v),
// each term in logarithms. The terms rise then fall: the sum stops once
// they are negligible.
func smirnovSF(n int, x float64) float64 {
	nf := float64(n)
	lgn, _ := math.Lgamma(nf + 1)
	top := int(math.Floor(nf * (1 - x)))
	var sum, prev float64
	for v := 0; v <= top; v++ {
		vf := float64(v)
		e := x + vf/nf
		lgv, _ := math.Lgamma(vf + 1)
		lgr, _ := math.Lgamma(nf - vf + 1)
		l := lgn - lgv - lgr + math.Log(x) + (vf-1)*math.Log(e)
		if n-v > 0 {
			if e >= 1 {
				continue
			}
			l += (nf - vf) * math.Log1p(-e)
		}
		term := math.Exp(l)
		sum += term
		if term < prev && term < sum*1e-18 {
			break
		}
		prev = term
	}
	return sum
}

// durbinCDF is P(D_n ≤ x) by Durbin's matrix: with n·x = k − h (k an
// integer, 0 ≤ h < 1), it is n!/n^n times the (k, k) entry of H^n for an
// (2k−1)-square matrix H (Marsaglia, Tsang and Wang 2003). Powers are
// rescaled by 2^±128 to stay in range.
func durbinCDF(n int, x float64) float64 {
	nx := float64(n) * x
	if x >= 1 {
		return 1
	}
	if nx <= 0.5 {
		return 0
	}
	k := int(math.Ceil(nx))
	h := float64(k) - nx
	m := 2*k - 1
	fact := make([]float64, m+1) // fact[i] = i!
	fact[0] = 1
	for i := 1; i <= m; i++ {
		fact[i] = fact[i-1] * float64(i)
	}
	H := make([]float64, m*m)
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			if i-j+1 >= 0 {
				H[i*m+j] = 1
			}
		}
	}
	for i := 0; i < m; i++ {
		H[i*m] -= math.Pow(h, float64(i+1))
		H[(m-1)*m+i] -= math.Pow(h, float64(m-i))
	}
	if 2*h-1 > 0 {
		H[(m-1)*m] += math.Pow(2*h-1, float64(m))
	}
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			if i-j+1 > 0 {
				H[i*m+j] /= fact[i-j+1]
			}
		}
	}
	mul := func(a, b []float64) []float64 {
		c := make([]float64, m*m)
		for i := 0; i < m; i++ {
			for l := 0; l < m; l++ {
				ail := a[i*m+l]
				if ail == 0 {
					continue
				}
				for j := 0; j < m; j++ {
					c[i*m+j] += ail * b[l*m+j]
				}
			}
		}
		return c
	}
	const big = 0x1p128
	pow := make([]float64, m*m) // identity
	for i := 0; i < m; i++ {
		pow[i*m+i] = 1
	}
	var powExp, hExp int
	for e := n; e > 0; e /= 2 {
		if e%2 == 1 {
			pow = mul(pow, H)
			powExp += hExp
		}
		H = mul(H, H)
		hExp *= 2
		if math.Abs(H[(k-1)*m+k-1]) > big {
			for i := range H {
				H[i] /= big
			}
			hExp += 128
		}
	}
	p := pow[(k-1)*m+k-1]
	nf := float64(n)
	for i := 1; i <= n; i++ {
		p = float64(i) * p / nf
		if math.Abs(p) < 1/big {
			p *= big
			powExp -= 128
		}
	}
	return clip01(math.Ldexp(p, powExp))
}

// pelzGoodCDF is Pelz and Good's (1976) approximation of P(D_n ≤ x): the
// Li-Chien/Korolyuk expansion K0 + K1/√n + K2/n + K3/n^1.5 in z = x√n,
// each term rewritten by Jacobi's theta identity to converge fast for
// small z.
func pelzGoodCDF(n, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	z := math.Sqrt(n) * x
	z2, z4, z6 := z*z, math.Pow(z, 4), math.Pow(z, 6)
	pi2, pi4, pi6 := math.Pi*math.Pi, math.Pow(math.Pi, 4), math.Pow(math.Pi, 6)
	qlog := -pi2 / 8 / z2
	if qlog < -708 {
		return 0
	}
	// Sums over odd m = 2k−1 of c_j(m)·q^(m²), q = exp(−π²/(8z²)).
	var k0, k1, k2, k3 float64
	maxk := int(math.Ceil(16 * z / math.Pi))
	for k := 1; k <= maxk; k++ {
		m := float64(2*k - 1)
		m2 := m * m
		w := math.Exp(qlog * m2)
		k0 += w
		k1 += w * (-z2 + pi2/4*m2)
		k2 += w * (6*z6 + 2*z4 + (2*z4-5*z2)*pi2/4*m2 + pi4*(1-2*z2)/16*m2*m2)
		k3 += w * (-30*z6 - 90*z6*z2 + pi2*(135*z4-96*z6)/4*m2 + pi4*(-60*z2+212*z4)/16*m2*m2 + pi6*(5-30*z2)/64*m2*m2*m2)
	}
	s := math.Sqrt(2 * math.Pi)
	k0 *= s / z
	k1 *= s / (6 * z4)
	k2 *= s / (72 * math.Pow(z, 7))
	k3 *= s / (6480 * math.Pow(z, 10))
	// Sums over all k ≥ 1 of k²·r^(k²), r = exp(−π²/(2z²)).
	var e2, e3 float64
	rlog := -pi2 / 2 / z2
	for k := 1; k <= maxk; k++ {
		kf := float64(k)
		w := kf * kf * math.Exp(rlog*kf*kf)
		e2 += w
		e3 += (3*z2 - pi2*kf*kf) * w
	}
	k2 += e2 * pi2 * s / (-36 * z2 * z)
	k3 += e3 * pi2 * s / (216 * z6)
	return k0 + k1/math.Sqrt(n) + k2/n + k3/(n*math.Sqrt(n))
}
