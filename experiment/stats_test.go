package experiment

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/testenv"
)

// reference is what testdata/reference.py computes with scipy.
type reference struct {
	Version string `json:"scipy_version"`
	ZTest   []struct {
		X1, N1, X2, N2 int64
		Z, P           float64
		Z2             float64 `json:"z2_contingency"`
		PContingency   float64 `json:"p_contingency"`
	} `json:"ztest"`
	Welch []struct {
		M1, V1 float64
		N1     int64
		M2, V2 float64
		N2     int64
		T, DF  float64
		P      float64
	} `json:"welch"`
	Wilson []struct {
		K, N             int64
		Level, Low, High float64
	} `json:"wilson"`
	TInterval []struct {
		Mean, Variance   float64
		N                int64
		Level, Low, High float64
	} `json:"tinterval"`
	ChiSquare []struct {
		Counts  []int64
		Weights []float64
		Chi2, P float64
	} `json:"chisquare"`
	Lift []struct {
		C, CVar, T, TVar float64
		Level            float64
		Lift, Low, High  float64
	} `json:"lift"`
	Binomial []struct {
		N         int64
		P         float64
		Low, High int64
	} `json:"binomial"`
}

const scipyTolerance = 1e-6

// maxDiff tracks the largest absolute difference from scipy per statistic,
// logged at the end so the margin under the tolerance is visible.
type maxDiff map[string]float64

func (m maxDiff) check(t *testing.T, what, name string, got, want float64) {
	t.Helper()
	d := math.Abs(got - want)
	if math.IsNaN(d) {
		d = math.Inf(1)
	}
	if prev, ok := m[what]; !ok || d > prev {
		m[what] = d
	}
	if d > scipyTolerance {
		t.Errorf("%s %s = %.17g, scipy %.17g (diff %.3g)", what, name, got, want, d)
	}
}

func loadReference(t *testing.T) reference {
	t.Helper()
	python := testenv.Python(t, "scipy")
	dir := t.TempDir()
	if out, err := exec.Command(python, filepath.Join("testdata", "reference.py"), dir).CombinedOutput(); err != nil {
		t.Fatalf("testdata/reference.py: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	t.Logf("scipy %s", ref.Version)
	return ref
}

// TestStatisticsMatchScipy compares every statistic with scipy's on fixed
// data (small and large n, equal and unequal arms, proportions at 0, near 0
// and near 1, p-values from 1 down to 1e-40) to 1e-6.
func TestStatisticsMatchScipy(t *testing.T) {
	ref := loadReference(t)
	diffs := maxDiff{}
	counts := map[string]int{}

	for _, c := range ref.ZTest {
		name := fmt.Sprintf("%d/%d vs %d/%d", c.X1, c.N1, c.X2, c.N2)
		z, p, err := TwoProportionZTest(c.X1, c.N1, c.X2, c.N2)
		if err != nil {
			t.Errorf("z-test %s: %v", name, err)
			continue
		}
		diffs.check(t, "z-test z", name, z, c.Z)
		diffs.check(t, "z-test p", name, p, c.P)
		diffs.check(t, "z-test z² (chi2_contingency)", name, z*z, c.Z2)
		diffs.check(t, "z-test p (chi2_contingency)", name, p, c.PContingency)
		counts["z-test"]++
	}
	for _, c := range ref.Welch {
		name := fmt.Sprintf("%g±%g n=%d vs %g±%g n=%d", c.M1, c.V1, c.N1, c.M2, c.V2, c.N2)
		tt, df, p, err := WelchTTest(c.M1, c.V1, c.N1, c.M2, c.V2, c.N2)
		if err != nil {
			t.Errorf("Welch %s: %v", name, err)
			continue
		}
		diffs.check(t, "Welch t", name, tt, c.T)
		diffs.check(t, "Welch df", name, df, c.DF)
		diffs.check(t, "Welch p", name, p, c.P)
		counts["Welch"]++
	}
	for _, c := range ref.Wilson {
		name := fmt.Sprintf("%d/%d at %g", c.K, c.N, c.Level)
		ci, err := ProportionCI(c.K, c.N, c.Level)
		if err != nil {
			t.Errorf("Wilson %s: %v", name, err)
			continue
		}
		diffs.check(t, "Wilson low", name, ci.Low, c.Low)
		diffs.check(t, "Wilson high", name, ci.High, c.High)
		counts["Wilson"]++
	}
	for _, c := range ref.TInterval {
		name := fmt.Sprintf("%g var %g n=%d at %g", c.Mean, c.Variance, c.N, c.Level)
		ci, err := MeanCI(c.Mean, c.Variance, c.N, c.Level)
		if err != nil {
			t.Errorf("t interval %s: %v", name, err)
			continue
		}
		diffs.check(t, "t interval low", name, ci.Low, c.Low)
		diffs.check(t, "t interval high", name, ci.High, c.High)
		counts["t interval"]++
	}
	for _, c := range ref.ChiSquare {
		name := fmt.Sprintf("%v by %v", c.Counts, c.Weights)
		chi2, p, err := SampleRatioMismatch(c.Counts, c.Weights)
		if err != nil {
			t.Errorf("chi-square %s: %v", name, err)
			continue
		}
		diffs.check(t, "chi-square statistic", name, chi2, c.Chi2)
		diffs.check(t, "chi-square p", name, p, c.P)
		counts["chi-square"]++
	}
	for _, c := range ref.Lift {
		name := fmt.Sprintf("%g vs %g at %g", c.T, c.C, c.Level)
		lift, ci, err := RelativeLift(Estimate{c.C, c.CVar}, Estimate{c.T, c.TVar}, c.Level)
		if err != nil {
			t.Errorf("lift %s: %v", name, err)
			continue
		}
		diffs.check(t, "lift", name, lift, c.Lift)
		diffs.check(t, "lift low", name, ci.Low, c.Low)
		diffs.check(t, "lift high", name, ci.High, c.High)
		counts["lift"]++
	}
	for _, c := range ref.Binomial {
		low, high := binomialInterval(c.N, c.P, 0.999)
		if low != c.Low || high != c.High {
			t.Errorf("99.9%% interval of Binomial(%d, %g) = [%d, %d], scipy [%d, %d]", c.N, c.P, low, high, c.Low, c.High)
		}
		counts["binomial"]++
	}
	for what, n := range counts {
		if n < 3 {
			t.Errorf("only %d %s cases: want several", n, what)
		}
	}
	var lines []string
	for what, d := range diffs {
		lines = append(lines, fmt.Sprintf("%s %.3g", what, d))
	}
	slices.Sort(lines)
	t.Logf("max abs diff from scipy: %s", strings.Join(lines, ", "))
}

// TestStatisticsEdges covers what scipy does not define the same way and the
// invalid inputs every function rejects with an error, never a panic.
func TestStatisticsEdges(t *testing.T) {
	// No spread: the t interval collapses onto the mean.
	ci, err := MeanCI(7, 0, 12, 0.95)
	if err != nil || ci.Low != 7 || ci.High != 7 {
		t.Errorf("MeanCI with variance 0 = %v, %v; want [7, 7]", ci, err)
	}
	// Nothing but failures or nothing but successes: equal proportions.
	for _, x := range []int64{0, 100} {
		z, p, err := TwoProportionZTest(x, 100, x*2, 200)
		if err != nil || z != 0 || p != 1 {
			t.Errorf("TwoProportionZTest all %d%% = %v, %v, %v; want 0, 1, nil", x, z, p, err)
		}
	}
	// Both arms constant.
	if tt, _, p, err := WelchTTest(3, 0, 10, 3, 0, 10); err != nil || tt != 0 || p != 1 {
		t.Errorf("WelchTTest equal constants = %v, %v, %v; want 0, 1, nil", tt, p, err)
	}
	if tt, _, p, err := WelchTTest(3, 0, 10, 4, 0, 10); err != nil || !math.IsInf(tt, 1) || p != 0 {
		t.Errorf("WelchTTest different constants = %v, %v, %v; want +Inf, 0, nil", tt, p, err)
	}
	// Wilson stays inside [0, 1] at the extremes.
	for _, k := range []int64{0, 1, 9, 10} {
		ci, err := ProportionCI(k, 10, 0.95)
		if err != nil || ci.Low < 0 || ci.High > 1 || ci.Low > float64(k)/10 || ci.High < float64(k)/10 {
			t.Errorf("ProportionCI(%d, 10) = %v, %v", k, ci, err)
		}
	}

	nan := math.NaN()
	for name, err := range map[string]error{
		"ProportionCI n=0":           second(ProportionCI(0, 0, 0.95)),
		"ProportionCI k>n":           second(ProportionCI(11, 10, 0.95)),
		"ProportionCI k<0":           second(ProportionCI(-1, 10, 0.95)),
		"ProportionCI level 1":       second(ProportionCI(1, 10, 1)),
		"ProportionCI level 95":      second(ProportionCI(1, 10, 95)),
		"ProportionCI level NaN":     second(ProportionCI(1, 10, nan)),
		"MeanCI n=1":                 second(MeanCI(1, 1, 1, 0.95)),
		"MeanCI n=0":                 second(MeanCI(1, 1, 0, 0.95)),
		"MeanCI negative variance":   second(MeanCI(1, -1, 10, 0.95)),
		"MeanCI NaN mean":            second(MeanCI(nan, 1, 10, 0.95)),
		"MeanCI level 0":             second(MeanCI(1, 1, 10, 0)),
		"z-test n1=0":                third(TwoProportionZTest(0, 0, 1, 10)),
		"z-test x2>n2":               third(TwoProportionZTest(1, 10, 11, 10)),
		"Welch n=1":                  fourth(WelchTTest(1, 1, 1, 2, 1, 10)),
		"Welch Inf variance":         fourth(WelchTTest(1, math.Inf(1), 10, 2, 1, 10)),
		"lift control 0":             third(RelativeLift(Estimate{0, 0}, Estimate{0.1, 0.001}, 0.95)),
		"lift negative variance":     third(RelativeLift(Estimate{0.1, -1}, Estimate{0.1, 0.001}, 0.95)),
		"lift level 0":               third(RelativeLift(Estimate{0.1, 0}, Estimate{0.1, 0.001}, 0)),
		"SRM one arm":                third(SampleRatioMismatch([]int64{10}, []float64{1})),
		"SRM weights mismatch":       third(SampleRatioMismatch([]int64{10, 10}, []float64{1})),
		"SRM zero weight":            third(SampleRatioMismatch([]int64{10, 10}, []float64{1, 0})),
		"SRM NaN weight":             third(SampleRatioMismatch([]int64{10, 10}, []float64{1, nan})),
		"SRM negative count":         third(SampleRatioMismatch([]int64{10, -1}, []float64{1, 1})),
		"SRM no exposures":           third(SampleRatioMismatch([]int64{0, 0}, []float64{1, 1})),
		"SRM infinite weight":        third(SampleRatioMismatch([]int64{1, 1}, []float64{math.Inf(1), 1})),
		"Welch negative variance v2": fourth(WelchTTest(1, 1, 10, 2, -1, 10)),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func second[A any](_ A, err error) error                 { return err }
func third[A, B any](_ A, _ B, err error) error          { return err }
func fourth[A, B, C any](_ A, _ B, _ C, err error) error { return err }

// binomialInterval returns the two-sided central interval of Binomial(n, p)
// at the level: [the (1−level)/2 quantile, the (1+level)/2 quantile], each
// the smallest k whose CDF reaches the probability, as scipy's binom.ppf.
func binomialInterval(n int64, p, level float64) (low, high int64) {
	quantile := func(q float64) int64 {
		var cdf float64
		for k := int64(0); k <= n; k++ {
			cdf += math.Exp(lgamma(float64(n+1)) - lgamma(float64(k+1)) - lgamma(float64(n-k+1)) +
				float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
			if cdf >= q*(1-1e-12) {
				return k
			}
		}
		return n
	}
	return quantile((1 - level) / 2), quantile((1 + level) / 2)
}
