package experiment_test

// The A/A check of issue 12, section 5, end to end: many simulated
// experiments whose arms cannot differ, each split by the real assignment
// (resource.ExperimentSpec.Assign, the SHA-256 bucket of the experiment's
// name and the entity key) and analysed by experiment.Analyze, must raise
// sample-ratio alarms and call false winners at rates within the binomial
// bounds of their nominal levels. TestAASimulation (verdict_test.go) checks
// the statistics alone on a fair coin; this test also puts the hash under
// them, with unequal and three-way splits, and both metric kinds.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/slipway-ml/slipway/experiment"
	"github.com/slipway-ml/slipway/resource"
)

// aaCase is one family of A/A experiments.
type aaCase struct {
	name     string
	kind     experiment.Kind
	weights  []float64
	entities int
	// outcome draws, for one experiment, the distribution of its outcomes
	// and returns a draw of one entity's outcome. The arm is never an
	// argument: outcomes are independent of the assignment.
	outcome func(r *rand.Rand) func() float64
}

// aaResult is what one family of experiments gave.
type aaResult struct {
	experiments, flags, winners int
}

// aaMinSamples lets every experiment below be decided: its smallest arm
// expects 500 entities (10% of 5,000, or a third of 1,500+).
const aaMinSamples = 100

// aaEntities are the entity keys, shared by all experiments (as the same
// subscribers take part in many experiments); each experiment's name puts
// them in its own, independent buckets.
var aaEntities = func() []string {
	keys := make([]string, 10000)
	for i := range keys {
		keys[i] = fmt.Sprintf("subscriber-%05d", i)
	}
	return keys
}()

// bernoulli is a conversion outcome: 1 with a chance drawn per experiment
// between low and high.
func bernoulli(low, high float64) func(*rand.Rand) func() float64 {
	return func(r *rand.Rand) func() float64 {
		p := low + (high-low)*r.Float64()
		return func() float64 {
			if r.Float64() < p {
				return 1
			}
			return 0
		}
	}
}

// exponential is a skewed mean outcome (order values, say) with a mean
// drawn per experiment between 5 and 50.
func exponential(r *rand.Rand) func() float64 {
	mean := 5 + 45*r.Float64()
	return func() float64 { return mean * r.ExpFloat64() }
}

// normal is a symmetric mean outcome with a mean and spread drawn per
// experiment.
func normal(r *rand.Rand) func() float64 {
	mean, sd := -10+20*r.Float64(), 1+19*r.Float64()
	return func() float64 { return mean + sd*r.NormFloat64() }
}

// runAA runs n experiments of a family, split by assign's weights (the
// family's own for an A/A experiment) and analysed with the family's.
func runAA(t *testing.T, c aaCase, n int, seed uint64, assign []float64) aaResult {
	t.Helper()
	spec := resource.ExperimentSpec{}
	for i, w := range assign {
		spec.Arms = append(spec.Arms, resource.ExperimentArm{Name: fmt.Sprintf("arm%d", i), Weight: w})
	}
	type outcome struct {
		flagged, winner bool
		err             error
	}
	out := make([]outcome, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				// Each experiment has its own stream, so the results do not
				// depend on which worker ran it.
				rng := rand.New(rand.NewPCG(seed, uint64(i)))
				draw := c.outcome(rng)
				name := fmt.Sprintf("aa_%s_%04d", c.name, i)
				arms := make([]experiment.ArmStats, len(assign))
				sums := make([]float64, len(assign)) // Welford's running M2 per arm
				for a := range arms {
					arms[a].Name = spec.Arms[a].Name
				}
				for _, key := range aaEntities[:c.entities] {
					v := draw()
					arm := spec.Assign(name, key)
					a := &arms[arm]
					a.N++
					switch c.kind {
					case experiment.KindConversion:
						a.Successes += int64(v)
					case experiment.KindMean:
						d := v - a.Mean
						a.Mean += d / float64(a.N)
						sums[arm] += d * (v - a.Mean)
					}
				}
				for a := range arms {
					if arms[a].N > 1 {
						arms[a].Variance = sums[a] / float64(arms[a].N-1)
					}
				}
				r, err := experiment.Analyze(c.kind, arms, c.weights, aaMinSamples)
				if err == nil {
					for _, a := range r.Arms {
						if a.N < aaMinSamples {
							err = fmt.Errorf("arm %s has %d exposures, fewer than the %d that decide it: %s", a.Name, a.N, aaMinSamples, r.Verdict)
						}
					}
					for _, a := range r.Arms[1:] {
						if a.P == nil {
							err = fmt.Errorf("arm %s has no p-value: %s", a.Name, r.Verdict)
						}
					}
				}
				if err != nil {
					err = fmt.Errorf("experiment %s: %w", name, err)
				} else {
					out[i] = outcome{flagged: r.SRM.Flagged, winner: r.Winner != ""}
				}
				out[i].err = err
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	res := aaResult{experiments: n}
	for _, o := range out {
		if o.err != nil {
			t.Fatal(o.err)
		}
		if o.flagged {
			res.flags++
		}
		if o.winner {
			res.winners++
		}
	}
	return res
}

// binomialBounds returns the counts an exact two-sided binomial test of
// Binomial(n, p) at level tail accepts: low is the smallest k with
// P(X ≤ k) ≥ tail/2, high the largest with P(X ≥ k) ≥ tail/2.
func binomialBounds(n int, p, tail float64) (low, high int) {
	lg := func(x float64) float64 { v, _ := math.Lgamma(x); return v }
	pmf := make([]float64, n+1)
	for k := range pmf {
		pmf[k] = math.Exp(lg(float64(n+1)) - lg(float64(k+1)) - lg(float64(n-k+1)) +
			float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
	}
	for cdf := 0.0; low < n; low++ {
		if cdf += pmf[low]; cdf >= tail/2 {
			break
		}
	}
	high = n
	for sf := 0.0; high > 0; high-- {
		if sf += pmf[high]; sf >= tail/2 {
			break
		}
	}
	return low, high
}

// falseWinnerRate is the chance Analyze calls a winner in an A/A
// experiment with these weights (the control's first); the derivation is
// TestAAExperimentsWithTheRealAssignment's comment.
func falseWinnerRate(t *testing.T, weights []float64) float64 {
	noFlag := 1 - experiment.SRMThreshold
	switch len(weights) {
	case 2:
		return noFlag * experiment.Alpha / 2
	case 3:
		// P(Z1 > z, Z2 > z) for standard normals correlated by rho:
		// ∫_z^∞ φ(x)·P(Z2 > z | Z1 = x) dx, by Simpson's rule.
		w0, w1, w2 := weights[0], weights[1], weights[2]
		rho := (1 / w0) / math.Sqrt((1/w0+1/w1)*(1/w0+1/w2))
		z := -math.Sqrt2 * math.Erfcinv(2*(1-experiment.Alpha/4))
		upper := func(x float64) float64 { return math.Erfc(x/math.Sqrt2) / 2 }
		f := func(x float64) float64 {
			return math.Exp(-x*x/2) / math.Sqrt(2*math.Pi) * upper((z-rho*x)/math.Sqrt(1-rho*rho))
		}
		const steps, width = 20000, 12.0
		h := width / steps
		both := f(z) + f(z+width)
		for i := 1; i < steps; i++ {
			both += float64(2+2*(i%2)) * f(z+float64(i)*h)
		}
		both *= h / 3
		return noFlag * (experiment.Alpha/2 - both)
	}
	t.Fatalf("no false-winner rate for %d arms", len(weights))
	return 0
}

// aaTail is the level of the binomial bounds: a count outside them would
// happen by chance once in a million runs, so with the fixed seeds the
// test never flakes, yet a rate off by a factor of two fails it.
const aaTail = 1e-6

// TestAAExperimentsWithTheRealAssignment runs 9,000 A/A experiments in six
// families (conversion and mean metrics; splits 50/50, 90/10 and
// 34/33/33; each experiment its own name, so its own hash buckets, and its
// own conversion rate or distribution), and counts sample-ratio alarms and
// false winners against their nominal rates:
//
//   - Sample-ratio alarms: Report.SRM.Flagged is p < SRMThreshold in a
//     chi-square test of the split. Under a correct assignment the counts
//     are multinomial with the configured shares, so the p-value is
//     (asymptotically, with thousands of entities) uniform and the alarm
//     rate is SRMThreshold = 0.1%.
//   - False winners with one treatment: Analyze calls the treatment the
//     winner when the split is not flagged, its two-sided p-value is below
//     Alpha (Bonferroni with m = 1) and its metric is above the control's.
//     Under A/A the test statistic is (asymptotically) symmetric about 0,
//     so half of the p < Alpha results favour the treatment: Alpha/2. The
//     metric's test is conditional on the arms' counts and the alarm is a
//     function of the counts alone, so the two are independent: the
//     nominal rate is (1 − SRMThreshold)·Alpha/2 ≈ 2.4975%.
//   - False winners with two treatments: each treatment wins its own
//     comparison with probability Alpha/4 (p < Alpha/2, Bonferroni with
//     m = 2, and better than the control), and a winner is called when
//     either does: P(A ∪ B) = Alpha/2 − P(A ∩ B). Both comparisons share
//     the control, so their z statistics are correlated,
//     ρ = (1/w0)/√((1/w0 + 1/w1)(1/w0 + 1/w2)) ≈ 0.49 for 34/33/33, and
//     P(A ∩ B) = P(Z1 > z, Z2 > z) with z = Φ⁻¹(1 − Alpha/4) is computed
//     by numerical integration (0.1715%; a Monte Carlo of 2·10⁸ pairs gives
//     0.1717% ± 0.0003%): the nominal rate is
//     (1 − SRMThreshold)·(Alpha/2 − P(A ∩ B)) ≈ 2.326%, below the
//     Bonferroni bound Alpha/2.
//
// The symmetry the one-treatment rate rests on needs care: a skewed outcome
// (a low conversion rate, exponential values) in arms of unequal sizes makes
// the statistic skewed too, and then one direction is significant more
// often than the other (Welch's t with exponential values and a 10% arm of
// 500 entities called 1.84% false winners in 8,000 such experiments, where
// the Edgeworth expansion predicts about 1.75%, against the nominal 2.5%). So the
// 90/10 families draw conversion rates of 20–50% and normal values, and
// skewed values are kept to the near-balanced splits, where the skew
// cancels.
//
// Each count must lie within the bounds of an exact two-sided binomial test
// at level aaTail around its nominal rate, per family and pooled over the
// families that share a nominal rate.
// A deliberately broken split (52/48 assigned, 50/50 configured) shows the
// same check failing.
func TestAAExperimentsWithTheRealAssignment(t *testing.T) {
	const perFamily = 1500
	cases := []aaCase{
		{"conversion_50_50", experiment.KindConversion, []float64{50, 50}, 2000, bernoulli(0.05, 0.5)},
		{"conversion_90_10", experiment.KindConversion, []float64{90, 10}, 5000, bernoulli(0.2, 0.5)},
		{"conversion_34_33_33", experiment.KindConversion, []float64{34, 33, 33}, 3000, bernoulli(0.05, 0.3)},
		{"mean_50_50_exponential", experiment.KindMean, []float64{50, 50}, 2000, exponential},
		{"mean_90_10_normal", experiment.KindMean, []float64{90, 10}, 5000, normal},
		{"mean_34_33_33_exponential", experiment.KindMean, []float64{34, 33, 33}, 3000, exponential},
	}
	check := func(what string, got, n int, nominal float64) bool {
		low, high := binomialBounds(n, nominal, aaTail)
		t.Logf("%s: %d of %d (%.3f%%), nominal %.3f%%, bounds [%d, %d]", what, got, n, 100*float64(got)/float64(n), 100*nominal, low, high)
		return got >= low && got <= high
	}
	var all aaResult
	byArms := map[int]*aaResult{} // false winners pooled by the number of arms
	for i, c := range cases {
		res := runAA(t, c, perFamily, 2026+uint64(i), c.weights)
		all.experiments += res.experiments
		all.flags += res.flags
		pooled := byArms[len(c.weights)]
		if pooled == nil {
			pooled = &aaResult{}
			byArms[len(c.weights)] = pooled
		}
		pooled.experiments += res.experiments
		pooled.winners += res.winners
		if !check(c.name+": sample-ratio alarms", res.flags, res.experiments, experiment.SRMThreshold) {
			t.Errorf("%s: %d sample-ratio alarms in %d A/A experiments: outside the bounds of the nominal %g", c.name, res.flags, res.experiments, experiment.SRMThreshold)
		}
		nominal := falseWinnerRate(t, c.weights)
		if !check(c.name+": false winners", res.winners, res.experiments, nominal) {
			t.Errorf("%s: %d false winners in %d A/A experiments: outside the bounds of the nominal %.4g", c.name, res.winners, res.experiments, nominal)
		}
	}
	if !check("all families: sample-ratio alarms", all.flags, all.experiments, experiment.SRMThreshold) {
		t.Errorf("%d sample-ratio alarms in %d A/A experiments: outside the bounds of the nominal %g", all.flags, all.experiments, experiment.SRMThreshold)
	}
	for _, weights := range [][]float64{{50, 50}, {34, 33, 33}} {
		arms := len(weights)
		pooled := byArms[arms]
		nominal := falseWinnerRate(t, weights)
		if !check(fmt.Sprintf("%d-arm families: false winners", arms), pooled.winners, pooled.experiments, nominal) {
			t.Errorf("%d false winners in %d A/A experiments with %d arms: outside the bounds of the nominal %.4g", pooled.winners, pooled.experiments, arms, nominal)
		}
	}

	// The control: an assignment that sends 52% of the entities to the
	// control of a 50/50 experiment. With 10,000 entities the chi-square
	// statistic's noncentrality is 10,000·(0.02²/0.5)·2 = 16, so about three
	// experiments in four raise the alarm: the same check must reject the
	// count.
	broken := aaCase{"broken_52_48", experiment.KindConversion, []float64{50, 50}, 10000, bernoulli(0.05, 0.5)}
	res := runAA(t, broken, 200, 52, []float64{52, 48})
	if check("broken 52/48 split: sample-ratio alarms", res.flags, res.experiments, experiment.SRMThreshold) {
		t.Errorf("a 52/48 split configured as 50/50 raised %d alarms in %d experiments: within the bounds of a correct split, so the check cannot tell", res.flags, res.experiments)
	}
	if res.flags < res.experiments/2 {
		t.Errorf("a 52/48 split configured as 50/50 raised %d alarms in %d experiments; want about 3 in 4", res.flags, res.experiments)
	}
}
