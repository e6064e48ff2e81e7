package drift_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/slipway-ml/slipway/drift"
	"github.com/slipway-ml/slipway/profile"
	"github.com/slipway-ml/slipway/value"
)

// column profiles n normal values.
func column(t *testing.T, r *rand.Rand, n int, mean, sd float64) (*profile.Column, []float64) {
	t.Helper()
	c, err := profile.NewColumn("x", value.Float64)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]float64, n)
	for i := range raw {
		raw[i] = mean + sd*r.NormFloat64()
		c.AddNumber(raw[i])
	}
	return c, raw
}

func sample(c *profile.Column) drift.Sample {
	v, w := c.Sample()
	return drift.Sample{Values: v, Weights: w}
}

// TestProfilesFeedTheTests: the statistics on what profile.Column.Sample
// gives, against the same statistics on the raw values. Up to
// profile.ExactLimit values the profile keeps them, so KS is the same to
// the bit; beyond it the sketch's bins (relative accuracy 0.5%) stand in,
// and the normed Wasserstein distance stays within 0.01 of the raw one,
// so the 0.1 threshold still separates a shift of half a standard
// deviation from none.
func TestProfilesFeedTheTests(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	ref, refRaw := column(t, r, 800, 50, 10)
	cur, curRaw := column(t, r, 600, 52, 10)
	s1, p1, err1 := drift.KS(sample(ref), sample(cur))
	s2, p2, err2 := drift.KS(drift.Sample{Values: refRaw}, drift.Sample{Values: curRaw})
	if err1 != nil || err2 != nil || s1 != s2 || p1 != p2 {
		t.Errorf("KS on exact profiles = %g, %g, %v; on the values %g, %g, %v", s1, p1, err1, s2, p2, err2)
	}

	for _, shift := range []float64{0, 5} { // 0 and half a standard deviation
		ref, refRaw := column(t, r, 20000, 50, 10)
		cur, curRaw := column(t, r, 5000, 50+shift, 10)
		if ref.Exact() || cur.Exact() {
			t.Fatal("profiles of 20,000 and 5,000 values still hold the values")
		}
		sk, err := drift.NormedWasserstein(sample(ref), sample(cur))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := drift.NormedWasserstein(drift.Sample{Values: refRaw}, drift.Sample{Values: curRaw})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("shift %g: normed Wasserstein %.4f from the sketches, %.4f from the values", shift, sk, raw)
		if math.Abs(sk-raw) > 0.01 {
			t.Errorf("shift %g: normed Wasserstein %.4f from the sketches, %.4f from the values: more than 0.01 apart", shift, sk, raw)
		}
		m, err := drift.DefaultMethod(drift.Data{Sample: sample(ref)}, drift.Data{Sample: sample(cur)}, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := m.Test(drift.Data{Sample: sample(ref)}, drift.Data{Sample: sample(cur)})
		if err != nil || m.Name != drift.MethodWasserstein || res.Drifted != (shift > 0) {
			t.Errorf("shift %g: %s gave %+v, %v; want drift exactly when shifted", shift, m.Name, res, err)
		}
		psi, err := drift.PSI(sample(ref), sample(cur), drift.DefaultPSIBins)
		if err != nil || (psi >= 0.1) != (shift > 0) {
			t.Errorf("shift %g: PSI from the sketches %g, %v; want ≥ 0.1 exactly when shifted", shift, psi, err)
		}
	}
}
