package experiment

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func conversion(name string, n, successes int64) ArmStats {
	return ArmStats{Name: name, N: n, Successes: successes}
}

func analyze(t *testing.T, kind Kind, arms []ArmStats, weights []float64, minSamples int64) *Report {
	t.Helper()
	r, err := Analyze(kind, arms, weights, minSamples)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	// Every report must encode as JSON (no NaN or Inf anywhere).
	if _, err := json.Marshal(r); err != nil {
		t.Fatalf("report does not encode: %v\n%+v", err, r)
	}
	t.Logf("verdict: %s", r.Verdict)
	return r
}

func wantVerdict(t *testing.T, r *Report, winner string, phrases ...string) {
	t.Helper()
	if r.Winner != winner {
		t.Errorf("winner %q, want %q; verdict: %s", r.Winner, winner, r.Verdict)
	}
	for _, p := range phrases {
		if !strings.Contains(r.Verdict, p) {
			t.Errorf("verdict does not say %q: %s", p, r.Verdict)
		}
	}
}

func TestAnalyzeVerdicts(t *testing.T) {
	t.Run("BelowMinSamples", func(t *testing.T) {
		// A difference that would be significant, but the treatment has too
		// few exposures.
		r := analyze(t, KindConversion, []ArmStats{conversion("control", 1000, 100), conversion("treatment", 960, 192)}, []float64{50, 50}, 1000)
		wantVerdict(t, r, "", "not enough data: arm treatment has 960 of the 1000 exposures needed")
		if r.SRM.Flagged {
			t.Errorf("SRM flagged for 1000/960: %+v", r.SRM)
		}
		if strings.Contains(r.Verdict, "arm control has") {
			t.Errorf("verdict names control, which has enough: %s", r.Verdict)
		}
		if p := r.Arms[1].P; p == nil || *p >= 0.05 {
			t.Errorf("p = %v: the numbers are still reported, and this one is significant", p)
		}
	})
	t.Run("NoExposuresYet", func(t *testing.T) {
		r := analyze(t, KindConversion, []ArmStats{conversion("control", 0, 0), conversion("treatment", 0, 0)}, []float64{50, 50}, 0)
		wantVerdict(t, r, "", "arm control has 0 of the 1 exposures needed", "arm treatment has 0 of the 1")
		if r.SRM.Flagged || r.SRM.P != 1 || r.Arms[1].P != nil || r.Arms[1].Lift != nil {
			t.Errorf("empty experiment report = %+v", r)
		}
	})
	t.Run("SampleRatioMismatch", func(t *testing.T) {
		// The treatment converts far better, but the 50/50 split came out
		// 5400/4600: the assignment is broken, so nothing can be called.
		r := analyze(t, KindConversion, []ArmStats{conversion("control", 5400, 540), conversion("treatment", 4600, 600)}, []float64{50, 50}, 1000)
		wantVerdict(t, r, "", "sample ratio mismatch", "control 5400, treatment 4600", "expect 5000, 5000", "split is broken")
		if !r.SRM.Flagged || r.SRM.P >= SRMThreshold {
			t.Errorf("SRM = %+v, want flagged", r.SRM)
		}
		if p := r.Arms[1].P; p == nil || *p >= 0.001 {
			t.Errorf("p = %v: the treatment should look significant, so only the SRM flag stops the call", p)
		}
	})
	t.Run("UnequalWeightsAreNotAMismatch", func(t *testing.T) {
		r := analyze(t, KindConversion, []ArmStats{conversion("control", 9000, 900), conversion("treatment", 1000, 100)}, []float64{90, 10}, 1000)
		if r.SRM.Flagged || r.SRM.Chi2 != 0 {
			t.Errorf("SRM = %+v for a 90/10 split that came out 9000/1000", r.SRM)
		}
		wantVerdict(t, r, "", "no significant difference")
	})
	t.Run("SignificantWinner", func(t *testing.T) {
		r := analyze(t, KindConversion, []ArmStats{conversion("control", 10000, 1000), conversion("treatment", 10000, 1150)}, []float64{50, 50}, 1000)
		wantVerdict(t, r, "treatment", "treatment wins", "treatment converts at 11.50%, control at 10.00%: lift +15.0%")
		a := r.Arms[1]
		if a.P == nil || *a.P >= 0.05 || a.Lift == nil || math.Abs(*a.Lift-0.15) > 1e-12 || a.LiftCI.Low <= 0 || a.LiftCI.High <= 0.15 {
			t.Errorf("treatment = %+v", a)
		}
		if r.Arms[0].P != nil || r.Arms[0].Lift != nil {
			t.Errorf("control has a p-value or lift: %+v", r.Arms[0])
		}
		ci, _ := ProportionCI(1150, 10000, 0.95)
		if a.CI != ci || a.Metric != 0.115 {
			t.Errorf("treatment metric %v CI %v, want 0.115 and %v", a.Metric, a.CI, ci)
		}
		if r.Alpha != 0.05 {
			t.Errorf("alpha %v with one treatment, want 0.05", r.Alpha)
		}
	})
	t.Run("NotSignificant", func(t *testing.T) {
		r := analyze(t, KindConversion, []ArmStats{conversion("control", 10000, 1000), conversion("treatment", 10000, 1020)}, []float64{50, 50}, 1000)
		wantVerdict(t, r, "", "no significant difference: treatment converts at 10.20%, control at 10.00%: lift +2.0%", "not below 0.05")
	})
	t.Run("TreatmentSignificantlyWorse", func(t *testing.T) {
		r := analyze(t, KindConversion, []ArmStats{conversion("control", 10000, 1000), conversion("treatment", 10000, 850)}, []float64{50, 50}, 1000)
		wantVerdict(t, r, "", "no winner: treatment is significantly worse than the control: treatment converts at 8.50%", "keep the control")
		if p := r.Arms[1].P; p == nil || *p >= 0.05 {
			t.Errorf("p = %v, want significant", p)
		}
	})
	t.Run("ControlAtZero", func(t *testing.T) {
		// No lift relative to 0, but the test still runs.
		r := analyze(t, KindConversion, []ArmStats{conversion("control", 2000, 0), conversion("treatment", 2000, 30)}, nil, 1000)
		if r.Arms[1].Lift != nil || r.Arms[1].P == nil {
			t.Errorf("treatment = %+v: want a p-value and no lift", r.Arms[1])
		}
		wantVerdict(t, r, "treatment", "treatment wins")
	})
	t.Run("Mean", func(t *testing.T) {
		arms := []ArmStats{
			{Name: "control", N: 3000, Mean: 20, Variance: 100},
			{Name: "treatment", N: 3000, Mean: 21, Variance: 110},
		}
		r := analyze(t, KindMean, arms, []float64{1, 1}, 1000)
		wantVerdict(t, r, "treatment", "treatment wins", "treatment averages 21, control 20: lift +5.0%")
		_, _, p, _ := WelchTTest(20, 100, 3000, 21, 110, 3000)
		ci, _ := MeanCI(21, 110, 3000, 0.95)
		if *r.Arms[1].P != p || r.Arms[1].CI != ci || r.Arms[1].Metric != 21 {
			t.Errorf("treatment = %+v, want p %v and CI %v", r.Arms[1], p, ci)
		}
		// Constant metrics in both arms: equal, not an error.
		r = analyze(t, KindMean, []ArmStats{{Name: "a", N: 2000, Mean: 0}, {Name: "b", N: 2000, Mean: 0}}, nil, 1000)
		wantVerdict(t, r, "", "no significant difference")
	})
	t.Run("BonferroniWithThreeArms", func(t *testing.T) {
		control, a := conversion("control", 10000, 1000), conversion("a", 10000, 1090)
		_, p, _ := TwoProportionZTest(control.Successes, control.N, a.Successes, a.N)
		if !(p > 0.025 && p < 0.05) {
			t.Fatalf("p = %v: the case must sit between 0.05/2 and 0.05 to be borderline", p)
		}
		// Alone, a wins at 0.05.
		r := analyze(t, KindConversion, []ArmStats{control, a}, nil, 1000)
		wantVerdict(t, r, "a", "a wins")
		// With a second treatment, each is compared at 0.025 and a is no
		// longer significant.
		r = analyze(t, KindConversion, []ArmStats{control, a, conversion("b", 10000, 1010)}, nil, 1000)
		wantVerdict(t, r, "", "no significant difference", "not below 0.025", "Bonferroni-corrected for 2 treatment arms")
		if r.Alpha != 0.025 || *r.Arms[1].P != p {
			t.Errorf("alpha %v, p %v: want 0.025 and the same p %v", r.Alpha, *r.Arms[1].P, p)
		}
	})
	t.Run("BestOfTwoWinners", func(t *testing.T) {
		r := analyze(t, KindConversion, []ArmStats{conversion("control", 10000, 1000), conversion("a", 10000, 1200),
			conversion("b", 10000, 1300), conversion("c", 10000, 800)}, nil, 1000)
		wantVerdict(t, r, "b", "b wins, the best of the 2 arms significantly better", "c is significantly worse than the control")
		if strings.Contains(r.Verdict, "keep the control") {
			t.Errorf("verdict keeps the control although b wins: %s", r.Verdict)
		}
	})
}

func TestAnalyzeRejectsInvalidInput(t *testing.T) {
	ok := []ArmStats{conversion("control", 10, 1), conversion("treatment", 10, 2)}
	for name, c := range map[string]struct {
		kind       Kind
		arms       []ArmStats
		weights    []float64
		minSamples int64
		want       string
	}{
		"UnknownKind":       {"ratio", ok, nil, 0, `metric kind "ratio"`},
		"OneArm":            {KindConversion, ok[:1], nil, 0, "1 arms"},
		"WeightCount":       {KindConversion, ok, []float64{1}, 0, "2 arms but 1 weights"},
		"ZeroWeight":        {KindConversion, ok, []float64{1, 0}, 0, `arm "treatment": weight 0`},
		"NegativeMin":       {KindConversion, ok, nil, -1, "min_samples -1"},
		"DuplicateName":     {KindConversion, []ArmStats{ok[0], ok[0]}, nil, 0, `arm "control" appears twice`},
		"NoName":            {KindConversion, []ArmStats{ok[0], {N: 1}}, nil, 0, "arm 1 has no name"},
		"NegativeN":         {KindConversion, []ArmStats{ok[0], {Name: "t", N: -1}}, nil, 0, `arm "t": -1 exposures`},
		"SuccessesAboveN":   {KindConversion, []ArmStats{ok[0], {Name: "t", N: 5, Successes: 6}}, nil, 0, `arm "t": 6 successes out of 5`},
		"NegativeVariance":  {KindMean, []ArmStats{{Name: "c", N: 5, Variance: 1}, {Name: "t", N: 5, Variance: -1}}, nil, 0, `arm "t": mean 0, variance -1`},
		"NaNMean":           {KindMean, []ArmStats{{Name: "c", N: 5, Mean: math.NaN()}, {Name: "t", N: 5}}, nil, 0, `arm "c": mean NaN`},
		"InfiniteWeight":    {KindConversion, ok, []float64{math.Inf(1), 1}, 0, "weight +Inf"},
		"NaNWeight":         {KindConversion, ok, []float64{math.NaN(), 1}, 0, "weight NaN"},
		"NoArms":            {KindMean, nil, nil, 0, "0 arms"},
		"NegativeSuccesses": {KindConversion, []ArmStats{ok[0], {Name: "t", N: 5, Successes: -1}}, nil, 0, "-1 successes"},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := Analyze(c.kind, c.arms, c.weights, c.minSamples)
			if err == nil {
				t.Fatalf("no error; report %+v", r)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

// TestAASimulation runs many A/A experiments (issue 12, section 5): both arms
// convert at the same true 10%, 4,000 exposures split 50/50 by a fair coin.
// Any winner is false, so the share of p < 0.05 must match the nominal 5%,
// the winners called (only when the treatment looks better) half of it, and
// sample-ratio flags the nominal 0.1%: each count within the 99.9% two-sided
// interval of its binomial.
func TestAASimulation(t *testing.T) {
	const (
		experiments = 2000
		exposures   = 4000
		rate        = 0.1
	)
	rng := rand.New(rand.NewPCG(12, 2026))
	var significant, winners, flags int64
	for range experiments {
		arms := []ArmStats{{Name: "a1"}, {Name: "a2"}}
		for range exposures {
			a := &arms[rng.IntN(2)]
			a.N++
			if rng.Float64() < rate {
				a.Successes++
			}
		}
		r, err := Analyze(KindConversion, arms, []float64{50, 50}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if *r.Arms[1].P < Alpha {
			significant++
		}
		if r.Winner != "" {
			winners++
		}
		if r.SRM.Flagged {
			flags++
		}
	}
	for _, c := range []struct {
		what    string
		got     int64
		nominal float64
	}{
		{"p < 0.05", significant, Alpha},
		{"false winners", winners, Alpha / 2},
		{"sample-ratio flags", flags, SRMThreshold},
	} {
		low, high := binomialInterval(experiments, c.nominal, 0.999)
		t.Logf("%s: %d of %d (%.2f%%), nominal %.2f%%, 99.9%% bounds [%d, %d]",
			c.what, c.got, experiments, 100*float64(c.got)/experiments, 100*c.nominal, low, high)
		if c.got < low || c.got > high {
			t.Errorf("%s: %d of %d A/A experiments, outside [%d, %d], the 99.9%% interval of Binomial(%d, %g)",
				c.what, c.got, experiments, low, high, experiments, c.nominal)
		}
	}
}

// TestABSimulationFindsARealLift is the other side of the A/A check: with a
// true lift of 10% → 13% the same experiments call the treatment the winner
// most of the time (the power at this size is about 84%), and never the
// control.
func TestABSimulationFindsARealLift(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 12))
	const experiments = 300
	var wins int
	for range experiments {
		arms := []ArmStats{{Name: "control"}, {Name: "treatment"}}
		for range 4000 {
			i := rng.IntN(2)
			arms[i].N++
			if rng.Float64() < []float64{0.10, 0.13}[i] {
				arms[i].Successes++
			}
		}
		r, err := Analyze(KindConversion, arms, nil, 1000)
		if err != nil {
			t.Fatal(err)
		}
		switch r.Winner {
		case "treatment":
			wins++
		case "control":
			t.Fatalf("control called the winner: %s", r.Verdict)
		}
	}
	t.Logf("treatment won %d of %d", wins, experiments)
	if wins < experiments*3/4 {
		t.Errorf("treatment won %d of %d experiments with a real 30%% lift, want at least 75%%", wins, experiments)
	}
}

func ExampleAnalyze() {
	report, err := Analyze(KindConversion, []ArmStats{
		{Name: "control", N: 10000, Successes: 1000},
		{Name: "treatment", N: 10000, Successes: 1150},
	}, []float64{50, 50}, 1000)
	if err != nil {
		panic(err)
	}
	fmt.Println(report.Winner)
	fmt.Println(report.Verdict)
	// Output:
	// treatment
	// treatment wins: treatment converts at 11.50%, control at 10.00%: lift +15.0% (95% CI +5.8% to +24.2%), p = 0.000616 < 0.05.
}
