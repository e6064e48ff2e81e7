package experiment

import (
	"errors"
	"fmt"
	"math"
)

// SRMThreshold is the p-value below which a sample-ratio-mismatch check is
// flagged: the observed split is then so unlikely under the configured
// weights that the assignment, not chance, is the likely cause. It is
// deliberately much stricter than the 0.05 used for the metric, because a
// flag stops an experiment.
const SRMThreshold = 0.001

// ArmStats is what the report knows of one arm.
type ArmStats struct {
	Name string
	// N counts the arm's predictions (exposures).
	N int64
	// Successes counts, for a conversion metric, the exposures with a
	// positive feedback.
	Successes int64
	// Mean and Variance are, for a mean metric, the sample mean and the
	// unbiased (n−1) sample variance of the metric per exposure.
	Mean, Variance float64
}

// Interval is a confidence interval.
type Interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Estimate is a point estimate and the variance of that estimate (not of the
// data): p(1−p)/n for a proportion, variance/n for a mean.
type Estimate struct {
	Value, Variance float64
}

func checkLevel(level float64) error {
	if !(level > 0 && level < 1) {
		return fmt.Errorf("confidence level %v: want a number strictly between 0 and 1, such as 0.95", level)
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// normalQuantile returns the z with P(Z ≤ z) = p for a standard normal Z.
func normalQuantile(p float64) float64 {
	return -math.Sqrt2 * math.Erfcinv(2*p)
}

// normalTwoSided returns P(|Z| ≥ |z|) for a standard normal Z.
func normalTwoSided(z float64) float64 {
	return math.Erfc(math.Abs(z) / math.Sqrt2)
}

// ProportionCI returns the Wilson score interval for a proportion of
// successes out of n at the confidence level (such as 0.95):
//
//	(p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)
//
// with z the (1+level)/2 quantile of the standard normal. Unlike the Wald
// interval it stays inside [0, 1] and keeps its coverage near 0 and 1.
func ProportionCI(successes, n int64, level float64) (Interval, error) {
	if n <= 0 {
		return Interval{}, fmt.Errorf("proportion interval: n = %d exposures: need at least one", n)
	}
	if successes < 0 || successes > n {
		return Interval{}, fmt.Errorf("proportion interval: %d successes out of %d: want between 0 and n", successes, n)
	}
	if err := checkLevel(level); err != nil {
		return Interval{}, fmt.Errorf("proportion interval: %w", err)
	}
	z := normalQuantile((1 + level) / 2)
	nf := float64(n)
	p := float64(successes) / nf
	z2 := z * z
	center := p + z2/(2*nf)
	half := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	den := 1 + z2/nf
	return Interval{Low: max(0, (center-half)/den), High: min(1, (center+half)/den)}, nil
}

// MeanCI returns the t interval for a mean from the sample mean, the
// unbiased sample variance and the sample size n ≥ 2:
//
//	mean ± t(n−1, (1+level)/2) · √(variance/n)
func MeanCI(mean, variance float64, n int64, level float64) (Interval, error) {
	if n < 2 {
		return Interval{}, fmt.Errorf("mean interval: n = %d: need at least 2 observations for a sample variance", n)
	}
	if !finite(mean) || !finite(variance) || variance < 0 {
		return Interval{}, fmt.Errorf("mean interval: mean %v, variance %v: want finite numbers and a variance ≥ 0", mean, variance)
	}
	if err := checkLevel(level); err != nil {
		return Interval{}, fmt.Errorf("mean interval: %w", err)
	}
	half := studentTQuantile((1+level)/2, float64(n-1)) * math.Sqrt(variance/float64(n))
	return Interval{Low: mean - half, High: mean + half}, nil
}

// TwoProportionZTest is the pooled two-sided z-test of the proportion x2/n2
// (treatment) against x1/n1 (control):
//
//	p̄ = (x1+x2)/(n1+n2),  z = (x2/n2 − x1/n1) / √(p̄(1−p̄)(1/n1 + 1/n2)),  p = P(|Z| ≥ |z|)
//
// A positive z means the treatment converts more. When p̄ is 0 or 1 (no
// success, or nothing but successes, in either arm) the two proportions are
// equal and the test returns z = 0, p = 1.
func TwoProportionZTest(x1, n1, x2, n2 int64) (z, p float64, err error) {
	if n1 <= 0 || n2 <= 0 {
		return 0, 0, fmt.Errorf("two-proportion z-test: n1 = %d, n2 = %d exposures: need at least one in each arm", n1, n2)
	}
	if x1 < 0 || x1 > n1 || x2 < 0 || x2 > n2 {
		return 0, 0, fmt.Errorf("two-proportion z-test: %d of %d and %d of %d: successes must be between 0 and n", x1, n1, x2, n2)
	}
	f1, f2 := float64(n1), float64(n2)
	pooled := float64(x1+x2) / (f1 + f2)
	se := math.Sqrt(pooled * (1 - pooled) * (1/f1 + 1/f2))
	if se == 0 {
		return 0, 1, nil
	}
	z = (float64(x2)/f2 - float64(x1)/f1) / se
	return z, normalTwoSided(z), nil
}

// WelchTTest is Welch's two-sided t-test of mean m2 (treatment) against m1
// (control), from each arm's mean, unbiased variance and size (each n ≥ 2):
//
//	t = (m2 − m1) / √(v1/n1 + v2/n2)
//	df = (v1/n1 + v2/n2)² / ((v1/n1)²/(n1−1) + (v2/n2)²/(n2−1))   (Welch–Satterthwaite)
//	p = P(|T_df| ≥ |t|)
//
// When both variances are 0 the test has no spread to measure against: it
// returns t = 0, p = 1 if the means are equal and t = ±Inf, p = 0 if they
// differ, with df = n1 + n2 − 2.
func WelchTTest(m1, v1 float64, n1 int64, m2, v2 float64, n2 int64) (t, df, p float64, err error) {
	if n1 < 2 || n2 < 2 {
		return 0, 0, 0, fmt.Errorf("Welch's t-test: n1 = %d, n2 = %d: need at least 2 observations in each arm", n1, n2)
	}
	if !finite(m1) || !finite(m2) || !finite(v1) || !finite(v2) || v1 < 0 || v2 < 0 {
		return 0, 0, 0, fmt.Errorf("Welch's t-test: means %v, %v and variances %v, %v: want finite numbers and variances ≥ 0", m1, m2, v1, v2)
	}
	f1, f2 := float64(n1), float64(n2)
	s1, s2 := v1/f1, v2/f2
	se2 := s1 + s2
	if se2 == 0 {
		df = f1 + f2 - 2
		switch {
		case m2 == m1:
			return 0, df, 1, nil
		case m2 > m1:
			return math.Inf(1), df, 0, nil
		default:
			return math.Inf(-1), df, 0, nil
		}
	}
	t = (m2 - m1) / math.Sqrt(se2)
	df = se2 * se2 / (s1*s1/(f1-1) + s2*s2/(f2-1))
	return t, df, studentTTwoSided(t, df), nil
}

// RelativeLift returns the relative lift of the treatment over the control,
// (T − C)/C, and its interval at the confidence level by the delta method
// for the ratio R = T/C of two independent estimates:
//
//	Var(R) ≈ Var(T)/C² + T²·Var(C)/C⁴
//	lift ± z·√Var(R),  z the (1+level)/2 standard normal quantile
//
// Each Estimate carries the variance of the estimate: p(1−p)/n for a
// conversion rate p over n exposures, variance/n for a mean. The lift is
// undefined when the control's value is 0, and for a mean below 0 its sign
// is the opposite of the difference's (as (T − C)/C is).
func RelativeLift(c, t Estimate, level float64) (lift float64, ci Interval, err error) {
	if !finite(c.Value) || !finite(t.Value) || !finite(c.Variance) || !finite(t.Variance) || c.Variance < 0 || t.Variance < 0 {
		return 0, Interval{}, fmt.Errorf("relative lift: control %v (variance %v), treatment %v (variance %v): want finite numbers and variances ≥ 0",
			c.Value, c.Variance, t.Value, t.Variance)
	}
	if c.Value == 0 {
		return 0, Interval{}, errors.New("relative lift: the control's value is 0, so a lift relative to it is undefined")
	}
	if err := checkLevel(level); err != nil {
		return 0, Interval{}, fmt.Errorf("relative lift: %w", err)
	}
	lift = t.Value/c.Value - 1
	c2 := c.Value * c.Value
	v := t.Variance/c2 + t.Value*t.Value*c.Variance/(c2*c2)
	half := normalQuantile((1+level)/2) * math.Sqrt(v)
	return lift, Interval{Low: lift - half, High: lift + half}, nil
}

// SampleRatioMismatch is Pearson's chi-square goodness-of-fit test of the
// observed exposures per arm against the split the arms' weights configure:
// with N the total count and E_i = N·w_i/Σw,
//
//	χ² = Σ (O_i − E_i)²/E_i,  p = P(χ²_{k−1} ≥ χ²)
//
// for k arms. A p below SRMThreshold means the split is broken (Report
// flags it). Weights need not sum to 1 or 100; each must be positive.
func SampleRatioMismatch(counts []int64, weights []float64) (chi2, p float64, err error) {
	if len(counts) < 2 {
		return 0, 0, fmt.Errorf("sample ratio check: %d arms: need at least 2", len(counts))
	}
	if len(weights) != len(counts) {
		return 0, 0, fmt.Errorf("sample ratio check: %d counts but %d weights: want one weight per arm", len(counts), len(weights))
	}
	var total int64
	var wsum float64
	for i, c := range counts {
		if c < 0 {
			return 0, 0, fmt.Errorf("sample ratio check: arm %d has a negative count %d", i, c)
		}
		w := weights[i]
		if !(w > 0) || math.IsInf(w, 0) {
			return 0, 0, fmt.Errorf("sample ratio check: arm %d has weight %v: want a positive number", i, w)
		}
		total += c
		wsum += w
	}
	if total == 0 {
		return 0, 0, errors.New("sample ratio check: no exposures in any arm yet")
	}
	for i, c := range counts {
		e := float64(total) * weights[i] / wsum
		d := float64(c) - e
		chi2 += d * d / e
	}
	return chi2, chiSquareSurvival(chi2, float64(len(counts)-1)), nil
}

// The distribution functions below are the classic ones (Numerical Recipes,
// §6.2 and §6.4): the regularized incomplete gamma and beta functions by
// series and Lentz's continued fraction, checked against scipy in the tests.

const (
	cfEpsilon = 1e-15
	cfTiny    = 1e-300
	// cfMaxIter bounds the continued fractions; they need O(√a) terms, so
	// this covers degrees of freedom far beyond any experiment's.
	cfMaxIter = 1_000_000
)

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// studentTTwoSided returns P(|T| ≥ |t|) for Student's t with df degrees of
// freedom: I_{df/(df+t²)}(df/2, 1/2).
func studentTTwoSided(t, df float64) float64 {
	if math.IsInf(t, 0) {
		return 0
	}
	if df > largeDF {
		// The continued fraction below is ill-conditioned for huge df (it
		// drifts in the ninth digit at df = 10⁸); there the t is a normal
		// but for a correction of order 1/df² (Abramowitz and Stegun
		// 26.7.8, as R's pt uses it).
		c := 1 / (4 * df)
		return normalTwoSided(t * (1 - c) / math.Sqrt(1+t*t*2*c))
	}
	t2 := t * t
	return regIncBeta(df/2, 0.5, df/(df+t2), t2/(df+t2))
}

// largeDF is where studentTTwoSided switches to the normal approximation.
const largeDF = 4e5

// studentTQuantile returns the t with P(T ≤ t) = p for p in (0.5, 1), by
// bisection on the tail probability, which is monotone in t.
func studentTQuantile(p, df float64) float64 {
	tail := 2 * (1 - p) // two-sided tail at the quantile
	lo, hi := 0.0, 1.0
	for studentTTwoSided(hi, df) > tail {
		lo, hi = hi, hi*2
	}
	for range 200 {
		mid := (lo + hi) / 2
		if mid == lo || mid == hi {
			break
		}
		if studentTTwoSided(mid, df) > tail {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// regIncBeta is the regularized incomplete beta function I_x(a, b), given x
// and y = 1 − x separately so that x close to 1 keeps its precision.
func regIncBeta(a, b, x, y float64) float64 {
	if x <= 0 {
		return 0
	}
	if y <= 0 {
		return 1
	}
	// log(x) as log1p(−y) when x is near 1: a can be huge (half the
	// degrees of freedom) and multiplies any rounding in it.
	logx, logy := math.Log(x), math.Log(y)
	if x > 0.5 {
		logx = math.Log1p(-y)
	} else {
		logy = math.Log1p(-x)
	}
	front := math.Exp(a*logx + b*logy - logBeta(a, b))
	if x < (a+1)/(a+b+2) {
		return front * betaContinuedFraction(a, b, x) / a
	}
	return 1 - front*betaContinuedFraction(b, a, y)/b
}

// logBeta is log B(a, b) = lgamma(a) + lgamma(b) − lgamma(a+b), written
// with Stirling's series when an argument is large so that the big, nearly
// equal lgamma terms do not cancel (as R's lbeta does).
func logBeta(a, b float64) float64 {
	p, q := min(a, b), max(a, b)
	switch {
	case p >= 10:
		corr := stirlingCorrection(p) + stirlingCorrection(q) - stirlingCorrection(p+q)
		return -0.5*math.Log(q) + 0.5*math.Log(2*math.Pi) + corr + (p-0.5)*math.Log(p/(p+q)) + q*math.Log1p(-p/(p+q))
	case q >= 10:
		corr := stirlingCorrection(q) - stirlingCorrection(p+q)
		return lgamma(p) + corr + p - p*math.Log(p+q) + (q-0.5)*math.Log1p(-p/(p+q))
	default:
		return lgamma(p) + lgamma(q) - lgamma(p+q)
	}
}

// stirlingCorrection is lgamma(x) − ((x−½)·log x − x + ½·log 2π) for x ≥ 10,
// by Stirling's series (the next term is below 1e-15 there).
func stirlingCorrection(x float64) float64 {
	x2 := 1 / (x * x)
	return (1.0/12 + x2*(-1.0/360+x2*(1.0/1260+x2*(-1.0/1680+x2*(1.0/1188+x2*(-691.0/360360+x2/156)))))) / x
}

func betaContinuedFraction(a, b, x float64) float64 {
	clamp := func(v float64) float64 {
		if math.Abs(v) < cfTiny {
			return cfTiny
		}
		return v
	}
	c := 1.0
	d := 1 / clamp(1-(a+b)*x/(a+1))
	h := d
	for m := 1.0; m <= cfMaxIter; m++ {
		aa := m * (b - m) * x / ((a + 2*m - 1) * (a + 2*m))
		d = 1 / clamp(1+aa*d)
		c = clamp(1 + aa/c)
		h *= d * c
		aa = -(a + m) * (a + b + m) * x / ((a + 2*m) * (a + 2*m + 1))
		d = 1 / clamp(1+aa*d)
		c = clamp(1 + aa/c)
		del := d * c
		h *= del
		if math.Abs(del-1) < cfEpsilon {
			break
		}
	}
	return h
}

// chiSquareSurvival returns P(χ²_k ≥ x) = Q(k/2, x/2).
func chiSquareSurvival(x, k float64) float64 {
	if x <= 0 {
		return 1
	}
	return regUpperGamma(k/2, x/2)
}

// regUpperGamma is the regularized upper incomplete gamma function Q(a, x).
func regUpperGamma(a, x float64) float64 {
	front := math.Exp(-x + a*math.Log(x) - lgamma(a))
	if x < a+1 {
		// Series for P(a, x); Q = 1 − P is not small here.
		ap, sum := a, 1/a
		del := sum
		for range cfMaxIter {
			ap++
			del *= x / ap
			sum += del
			if math.Abs(del) < math.Abs(sum)*cfEpsilon {
				break
			}
		}
		return max(0, 1-sum*front)
	}
	// Continued fraction for Q(a, x).
	b := x + 1 - a
	c := 1 / cfTiny
	d := 1 / b
	h := d
	for i := 1.0; i <= cfMaxIter; i++ {
		an := -i * (i - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < cfTiny {
			d = cfTiny
		}
		c = b + an/c
		if math.Abs(c) < cfTiny {
			c = cfTiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < cfEpsilon {
			break
		}
	}
	return front * h
}
