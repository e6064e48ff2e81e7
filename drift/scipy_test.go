package drift

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

// jsonSample is a Sample as reference.py writes it.
type jsonSample struct {
	Values  []float64 `json:"values"`
	Weights []float64 `json:"weights"`
}

func (s jsonSample) sample() Sample { return Sample{Values: s.Values, Weights: s.Weights} }

// reference is what testdata/reference.py computes with scipy.
type reference struct {
	Scipy string `json:"scipy_version"`
	Numpy string `json:"numpy_version"`
	KS    []struct {
		Name     string
		Ref, Cur jsonSample
		Stat, P  float64
	} `json:"ks"`
	KSTwo []struct {
		N     int
		X, SF float64
	} `json:"kstwo"`
	Wasserstein []struct {
		Name             string
		Ref, Cur         jsonSample
		Distance, Normed float64
	} `json:"wasserstein"`
	PSI []struct {
		Name     string
		Ref, Cur jsonSample
		Bins     int
		PSI      float64
	} `json:"psi"`
	ChiSquare []struct {
		Name     string
		Ref, Cur Counts
		Stat     *float64 // nil: +Inf
		P        float64
	} `json:"chisquare"`
	JensenShannon []struct {
		Name     string
		Ref, Cur Counts
		Distance float64
	} `json:"jensenshannon"`
	ZTest []struct {
		Name       string
		Ref, Cur   Counts
		Z, P       float64
		PEvidently float64 `json:"p_evidently"`
	} `json:"ztest"`
}

// scipyTolerance is the largest relative difference from scipy allowed.
const scipyTolerance = 1e-6

// maxDiff tracks the largest relative difference from scipy per
// statistic, logged at the end so the margin under the tolerance shows.
type maxDiff map[string]float64

func (m maxDiff) check(t *testing.T, what, name string, got, want float64) {
	t.Helper()
	var d float64
	switch {
	case got == want: // equal, infinities included
	case math.IsNaN(got) || math.IsNaN(want) || math.IsInf(got, 0) || math.IsInf(want, 0):
		d = math.Inf(1)
	default:
		d = math.Abs(got-want) / math.Max(math.Abs(want), math.SmallestNonzeroFloat64)
	}
	if prev, ok := m[what]; !ok || d > prev {
		m[what] = d
	}
	if d > scipyTolerance {
		t.Errorf("%s %s = %.17g, scipy %.17g (relative diff %.3g)", what, name, got, want, d)
	}
}

func loadReference(t *testing.T) reference {
	t.Helper()
	python := testenv.Python(t, "scipy", "numpy")
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
	t.Logf("scipy %s, numpy %s", ref.Scipy, ref.Numpy)
	return ref
}

// TestStatisticsMatchScipy compares every statistic with scipy's on fixed
// data to 1e-6 relative: KS on small samples (exact p-values, equal and
// unequal sizes, ties, disjoint and identical samples), on large ones
// (asymptotic, with effective sizes from 60 to 150,000, so every branch of
// the one-sample distribution), on integer weights (against scipy on the
// values repeated) and fractional ones (against the weighted CDFs with
// scipy's p-value functions); the one-sample distribution itself on a
// grid; Wasserstein with and without weights; PSI; and chi-square,
// Jensen-Shannon and the z-test on counts, with values on one side only.
func TestStatisticsMatchScipy(t *testing.T) {
	ref := loadReference(t)
	diffs := maxDiff{}
	counts := map[string]int{}

	for _, c := range ref.KS {
		stat, p, err := KS(c.Ref.sample(), c.Cur.sample())
		if err != nil {
			t.Errorf("KS %s: %v", c.Name, err)
			continue
		}
		diffs.check(t, "KS statistic", c.Name, stat, c.Stat)
		diffs.check(t, "KS p", c.Name, p, c.P)
		counts["KS"]++
	}
	for _, c := range ref.KSTwo {
		name := fmt.Sprintf("n=%d x=%g", c.N, c.X)
		diffs.check(t, "kstwo.sf", name, kolmogorovSF(float64(c.N), c.X), c.SF)
		counts["kstwo.sf"]++
	}
	for _, c := range ref.Wasserstein {
		d, err := Wasserstein(c.Ref.sample(), c.Cur.sample())
		if err != nil {
			t.Errorf("Wasserstein %s: %v", c.Name, err)
			continue
		}
		diffs.check(t, "Wasserstein", c.Name, d, c.Distance)
		n, err := NormedWasserstein(c.Ref.sample(), c.Cur.sample())
		if err != nil {
			t.Errorf("NormedWasserstein %s: %v", c.Name, err)
			continue
		}
		diffs.check(t, "normed Wasserstein", c.Name, n, c.Normed)
		counts["Wasserstein"]++
	}
	for _, c := range ref.PSI {
		psi, err := PSI(c.Ref.sample(), c.Cur.sample(), c.Bins)
		if err != nil {
			t.Errorf("PSI %s: %v", c.Name, err)
			continue
		}
		diffs.check(t, "PSI", c.Name, psi, c.PSI)
		counts["PSI"]++
	}
	for _, c := range ref.ChiSquare {
		stat, p, err := ChiSquare(c.Ref, c.Cur)
		if err != nil {
			t.Errorf("chi-square %s: %v", c.Name, err)
			continue
		}
		want := math.Inf(1)
		if c.Stat != nil {
			want = *c.Stat
		}
		diffs.check(t, "chi-square statistic", c.Name, stat, want)
		diffs.check(t, "chi-square p", c.Name, p, c.P)
		counts["chi-square"]++
	}
	for _, c := range ref.JensenShannon {
		d, err := JensenShannon(c.Ref, c.Cur)
		if err != nil {
			t.Errorf("Jensen-Shannon %s: %v", c.Name, err)
			continue
		}
		diffs.check(t, "Jensen-Shannon", c.Name, d, c.Distance)
		counts["Jensen-Shannon"]++
	}
	for _, c := range ref.ZTest {
		z, p, err := ZTest(c.Ref, c.Cur)
		if err != nil {
			t.Errorf("z-test %s: %v", c.Name, err)
			continue
		}
		diffs.check(t, "z-test z", c.Name, z, c.Z)
		diffs.check(t, "z-test p", c.Name, p, c.P)
		// Evidently's own 2·(1 − Φ(|z|)) loses the digits of small
		// p-values (it is 0 below about 1e-16): the same to 1e-12 absolute.
		if math.Abs(p-c.PEvidently) > 1e-12 {
			t.Errorf("z-test p %s = %g, Evidently's formula %g", c.Name, p, c.PEvidently)
		}
		counts["z-test"]++
	}
	for what, n := range counts {
		if n < 3 {
			t.Errorf("only %d %s cases: want several", n, what)
		}
	}
	if len(counts) != 7 {
		t.Errorf("cases of %d statistics: want 7 (%v)", len(counts), counts)
	}
	var lines []string
	for what, d := range diffs {
		lines = append(lines, fmt.Sprintf("%s %.3g", what, d))
	}
	slices.Sort(lines)
	t.Logf("cases: %v", counts)
	t.Logf("max relative diff from scipy: %s", strings.Join(lines, ", "))
}
