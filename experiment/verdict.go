package experiment

import (
	"fmt"
	"math"
	"strings"
)

// Kind is how an experiment's metric is computed from the arms' feedback.
type Kind string

const (
	// KindConversion is the share of exposures with a positive feedback,
	// compared with the two-proportion z-test.
	KindConversion Kind = "conversion"
	// KindMean is the mean of a numeric feedback per exposure, compared with
	// Welch's t-test.
	KindMean Kind = "mean"
)

// Alpha is the significance level of an experiment as a whole: the chance
// it may call a winner when no arm differs from the control. With several
// treatment arms it is split between them (Bonferroni).
const Alpha = 0.05

// ConfidenceLevel is the level of every interval in a Report.
const ConfidenceLevel = 0.95

// ArmReport is one arm's line of a Report.
type ArmReport struct {
	Name string `json:"name"`
	// N counts the arm's exposures.
	N int64 `json:"n"`
	// Metric is the conversion rate (successes/N) or the mean.
	Metric float64 `json:"metric"`
	// CI is the metric's 95% interval: Wilson's for a conversion rate, the t
	// interval for a mean. It is zero while the arm has too few exposures
	// for one (none for a conversion rate, fewer than 2 for a mean).
	CI Interval `json:"ci"`
	// Lift is the relative lift over the control, (metric − control)/control,
	// and LiftCI its 95% delta-method interval (see RelativeLift). Both are
	// nil for the control, while either arm is too small for a metric, and
	// when the control's metric is 0.
	Lift   *float64  `json:"lift,omitempty"`
	LiftCI *Interval `json:"lift_ci,omitempty"`
	// P is the two-sided p-value against the control (two-proportion z-test
	// or Welch's t-test); nil for the control and while either arm is too
	// small for the test.
	P *float64 `json:"p,omitempty"`
}

// SRMCheck is the sample-ratio-mismatch check of a Report (see
// SampleRatioMismatch). With no exposures yet it is χ² = 0, p = 1.
type SRMCheck struct {
	Chi2    float64 `json:"chi2"`
	P       float64 `json:"p"`
	Flagged bool    `json:"flagged"`
}

// Report is what an experiment's statistics say: a line per arm, the
// sample-ratio check, and a plain-language verdict.
type Report struct {
	Kind Kind        `json:"kind"`
	Arms []ArmReport `json:"arms"`
	SRM  SRMCheck    `json:"srm"`
	// MinSamples is the number of exposures every arm needs before a winner
	// may be called.
	MinSamples int64 `json:"min_samples"`
	// Alpha is the level each treatment's p-value is compared with: Alpha
	// divided by the number of treatment arms.
	Alpha   float64 `json:"alpha"`
	Verdict string  `json:"verdict"`
	// Winner names the arm called the winner; "" unless one is called.
	Winner string `json:"winner,omitempty"`
}

// Analyze compares every arm with the first, the control, and writes a
// verdict in plain language. weights are the arms' configured traffic
// weights, in the same order (nil means equal weights); minSamples is the
// number of exposures each arm needs before a winner may be called.
//
// The verdict calls a winner only when all of these hold:
//   - the sample-ratio check is not flagged (p ≥ SRMThreshold): a broken
//     split makes every other number suspect, so a flag is reported first;
//   - every arm has at least minSamples exposures (and at least 1 for a
//     conversion, 2 for a mean);
//   - the arm's p-value against the control is below Alpha/m, where m is the
//     number of treatment arms: the Bonferroni correction, which keeps the
//     chance of any false winner at or below Alpha when m treatments are
//     each compared with the control;
//   - the arm's metric is higher than the control's. A treatment
//     significantly worse than the control is reported as such, and the
//     control is kept.
//
// When several treatments qualify, the one with the highest metric wins.
// Otherwise the verdict says there is no significant difference, with each
// treatment's metric, lift and p-value. Intervals are per arm at
// ConfidenceLevel, not corrected for the number of arms.
func Analyze(kind Kind, arms []ArmStats, weights []float64, minSamples int64) (*Report, error) {
	floor, err := validate(kind, arms, weights, minSamples)
	if err != nil {
		return nil, err
	}
	if weights == nil {
		weights = make([]float64, len(arms))
		for i := range weights {
			weights[i] = 1
		}
	}
	treatments := len(arms) - 1
	r := &Report{Kind: kind, MinSamples: minSamples, Alpha: Alpha / float64(treatments), SRM: SRMCheck{P: 1}}

	r.Arms = make([]ArmReport, len(arms))
	estimates := make([]Estimate, len(arms))
	for i, a := range arms {
		ar := ArmReport{Name: a.Name, N: a.N}
		if a.N >= floor {
			switch kind {
			case KindConversion:
				ar.Metric = float64(a.Successes) / float64(a.N)
				ar.CI, err = ProportionCI(a.Successes, a.N, ConfidenceLevel)
				estimates[i] = Estimate{Value: ar.Metric, Variance: ar.Metric * (1 - ar.Metric) / float64(a.N)}
			case KindMean:
				ar.Metric = a.Mean
				ar.CI, err = MeanCI(a.Mean, a.Variance, a.N, ConfidenceLevel)
				estimates[i] = Estimate{Value: a.Mean, Variance: a.Variance / float64(a.N)}
			}
			if err != nil {
				return nil, fmt.Errorf("arm %q: %w", a.Name, err)
			}
		}
		r.Arms[i] = ar
	}
	control := arms[0]
	for i := 1; i < len(arms); i++ {
		a := arms[i]
		if control.N < floor || a.N < floor {
			continue
		}
		var p float64
		switch kind {
		case KindConversion:
			_, p, err = TwoProportionZTest(control.Successes, control.N, a.Successes, a.N)
		case KindMean:
			_, _, p, err = WelchTTest(control.Mean, control.Variance, control.N, a.Mean, a.Variance, a.N)
		}
		if err != nil {
			return nil, fmt.Errorf("arm %q against control %q: %w", a.Name, control.Name, err)
		}
		r.Arms[i].P = &p
		if estimates[0].Value != 0 {
			lift, ci, err := RelativeLift(estimates[0], estimates[i], ConfidenceLevel)
			if err != nil {
				return nil, fmt.Errorf("arm %q against control %q: %w", a.Name, control.Name, err)
			}
			r.Arms[i].Lift, r.Arms[i].LiftCI = &lift, &ci
		}
	}

	counts := make([]int64, len(arms))
	var total int64
	for i, a := range arms {
		counts[i] = a.N
		total += a.N
	}
	if total > 0 {
		chi2, p, err := SampleRatioMismatch(counts, weights)
		if err != nil {
			return nil, err
		}
		r.SRM = SRMCheck{Chi2: chi2, P: p, Flagged: p < SRMThreshold}
	}

	r.Verdict, r.Winner = r.verdict(weights, max(minSamples, floor))
	return r, nil
}

// validate checks Analyze's input and returns the fewest exposures an arm
// needs for its metric to be defined.
func validate(kind Kind, arms []ArmStats, weights []float64, minSamples int64) (floor int64, err error) {
	switch kind {
	case KindConversion:
		floor = 1
	case KindMean:
		floor = 2
	default:
		return 0, fmt.Errorf("metric kind %q: want %q or %q", kind, KindConversion, KindMean)
	}
	if len(arms) < 2 {
		return 0, fmt.Errorf("%d arms: an experiment needs a control and at least one treatment", len(arms))
	}
	if weights != nil && len(weights) != len(arms) {
		return 0, fmt.Errorf("%d arms but %d weights: want one weight per arm", len(arms), len(weights))
	}
	if minSamples < 0 {
		return 0, fmt.Errorf("min_samples %d: want 0 or more", minSamples)
	}
	seen := map[string]bool{}
	for i, a := range arms {
		if a.Name == "" {
			return 0, fmt.Errorf("arm %d has no name", i)
		}
		if seen[a.Name] {
			return 0, fmt.Errorf("arm %q appears twice: arm names must be unique", a.Name)
		}
		seen[a.Name] = true
		if a.N < 0 {
			return 0, fmt.Errorf("arm %q: %d exposures: want 0 or more", a.Name, a.N)
		}
		if weights != nil && (!(weights[i] > 0) || math.IsInf(weights[i], 0)) {
			return 0, fmt.Errorf("arm %q: weight %v: want a positive number", a.Name, weights[i])
		}
		switch kind {
		case KindConversion:
			if a.Successes < 0 || a.Successes > a.N {
				return 0, fmt.Errorf("arm %q: %d successes out of %d exposures: want between 0 and the exposures", a.Name, a.Successes, a.N)
			}
		case KindMean:
			if a.N >= floor && (!finite(a.Mean) || !finite(a.Variance) || a.Variance < 0) {
				return 0, fmt.Errorf("arm %q: mean %v, variance %v: want finite numbers and a variance ≥ 0", a.Name, a.Mean, a.Variance)
			}
		}
	}
	return floor, nil
}

// verdict writes the plain-language verdict and names the winner, if any.
func (r *Report) verdict(weights []float64, need int64) (string, string) {
	var out []string
	if r.SRM.Flagged {
		var wsum float64
		var total int64
		for i, a := range r.Arms {
			wsum += weights[i]
			total += a.N
		}
		var got, want []string
		for i, a := range r.Arms {
			got = append(got, fmt.Sprintf("%s %d", a.Name, a.N))
			want = append(want, fmt.Sprintf("%.0f", float64(total)*weights[i]/wsum))
		}
		out = append(out, fmt.Sprintf("sample ratio mismatch: the arms got %s exposures where their weights expect %s "+
			"(chi-square %.3g, p = %.3g < %g); the split is broken, so no winner is called: "+
			"check the assignment and the logging of each arm before trusting these numbers.",
			strings.Join(got, ", "), strings.Join(want, ", "), r.SRM.Chi2, r.SRM.P, SRMThreshold))
	}
	var short []string
	for _, a := range r.Arms {
		if a.N < need {
			short = append(short, fmt.Sprintf("arm %s has %d of the %d exposures needed", a.Name, a.N, need))
		}
	}
	if len(short) > 0 {
		out = append(out, "not enough data: "+strings.Join(short, "; ")+"; no winner is called until every arm has them.")
	}
	if len(out) > 0 {
		return strings.Join(out, " "), ""
	}

	control := r.Arms[0]
	bonferroni := ""
	if len(r.Arms) > 2 {
		bonferroni = fmt.Sprintf(" (alpha %g Bonferroni-corrected for %d treatment arms)", Alpha, len(r.Arms)-1)
	}
	winner := -1
	var better, worse, same, worseNames []string
	for i := 1; i < len(r.Arms); i++ {
		a := r.Arms[i]
		line := r.compare(a, control)
		switch {
		case *a.P < r.Alpha && a.Metric > control.Metric:
			better = append(better, fmt.Sprintf("%s, p = %.3g < %.3g%s", line, *a.P, r.Alpha, bonferroni))
			if winner < 0 || a.Metric > r.Arms[winner].Metric {
				winner = i
			}
		case *a.P < r.Alpha && a.Metric < control.Metric:
			worse = append(worse, fmt.Sprintf("%s, p = %.3g < %.3g%s", line, *a.P, r.Alpha, bonferroni))
			worseNames = append(worseNames, a.Name)
		default:
			same = append(same, fmt.Sprintf("%s, p = %.3g, not below %.3g%s", line, *a.P, r.Alpha, bonferroni))
		}
	}
	if winner >= 0 {
		best := ""
		if len(better) > 1 {
			best = fmt.Sprintf(", the best of the %d arms significantly better than the control", len(better))
		}
		out = append(out, fmt.Sprintf("%s wins%s: %s.", r.Arms[winner].Name, best, strings.Join(better, "; ")))
	}
	if len(worse) > 0 {
		verb, advice, prefix := "is", "", ""
		if len(worseNames) > 1 {
			verb = "are"
		}
		if winner < 0 {
			prefix, advice = "no winner: ", "; keep the control"
		}
		out = append(out, fmt.Sprintf("%s%s %s significantly worse than the control: %s%s.",
			prefix, strings.Join(worseNames, " and "), verb, strings.Join(worse, "; "), advice))
	}
	if len(same) > 0 {
		out = append(out, "no significant difference: "+strings.Join(same, "; ")+".")
	}
	if winner >= 0 {
		return strings.Join(out, " "), r.Arms[winner].Name
	}
	return strings.Join(out, " "), ""
}

// compare says how arm a's metric stands against the control's.
func (r *Report) compare(a, control ArmReport) string {
	var s string
	if r.Kind == KindConversion {
		s = fmt.Sprintf("%s converts at %.2f%%, %s at %.2f%%", a.Name, 100*a.Metric, control.Name, 100*control.Metric)
	} else {
		s = fmt.Sprintf("%s averages %.4g, %s %.4g", a.Name, a.Metric, control.Name, control.Metric)
	}
	if a.Lift != nil {
		s += fmt.Sprintf(": lift %+.1f%% (95%% CI %+.1f%% to %+.1f%%)", 100**a.Lift, 100*a.LiftCI.Low, 100*a.LiftCI.High)
	}
	return s
}
