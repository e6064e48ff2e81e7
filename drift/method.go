package drift

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// The methods, by the names Evidently gives them.
const (
	MethodKS            = "ks"
	MethodChiSquare     = "chisquare"
	MethodZ             = "z"
	MethodWasserstein   = "wasserstein"
	MethodJensenShannon = "jensenshannon"
	MethodPSI           = "psi"
)

// DefaultThresholds are Evidently's: a p-value at or below 0.05 (KS) or
// below 0.05 (chi-square, z) is drift; a normed Wasserstein distance,
// Jensen-Shannon distance or PSI at or above 0.1 is drift.
var DefaultThresholds = Thresholds{
	MethodKS:            0.05,
	MethodChiSquare:     0.05,
	MethodZ:             0.05,
	MethodWasserstein:   0.1,
	MethodJensenShannon: 0.1,
	MethodPSI:           0.1,
}

// Thresholds override DefaultThresholds per method name (a monitor's
// configuration); methods it does not name keep their default.
type Thresholds map[string]float64

// SmallReference is the reference size (total weight) up to which
// DefaultMethod picks tests with p-values (KS, chi-square, z), as
// Evidently does; above it, distances.
const SmallReference = 1000

// Method is one drift test with its threshold.
type Method struct {
	Name      string
	Threshold float64
	// Bins is PSI's number of bins (0: DefaultPSIBins).
	Bins int
}

// NewMethod returns the method of that name with its threshold from th
// (or the default).
func NewMethod(name string, th Thresholds) (Method, error) {
	def, ok := DefaultThresholds[name]
	if !ok {
		return Method{}, fmt.Errorf("unknown drift method %q: use %s, %s, %s, %s, %s or %s", name,
			MethodKS, MethodChiSquare, MethodZ, MethodWasserstein, MethodJensenShannon, MethodPSI)
	}
	m := Method{Name: name, Threshold: def}
	if t, ok := th[name]; ok {
		m.Threshold = t
	}
	return m, m.Validate()
}

// Validate checks the threshold: a p-value level in (0, 1), a distance
// above 0.
func (m Method) Validate() error {
	if _, ok := DefaultThresholds[m.Name]; !ok {
		_, err := NewMethod(m.Name, nil)
		return err
	}
	t := m.Threshold
	if math.IsNaN(t) || math.IsInf(t, 0) || t <= 0 || (m.pValue() && t >= 1) {
		what := "a distance above 0"
		if m.pValue() {
			what = "a p-value level between 0 and 1"
		}
		return fmt.Errorf("drift method %s: threshold %g: give %s", m.Name, t, what)
	}
	if m.Bins < 0 || m.Bins == 1 {
		return fmt.Errorf("drift method %s: %d bins: give at least 2, or 0 for %d", m.Name, m.Bins, DefaultPSIBins)
	}
	return nil
}

func (m Method) pValue() bool {
	return m.Name == MethodKS || m.Name == MethodChiSquare || m.Name == MethodZ
}

func (m Method) numeric() bool {
	return m.Name == MethodKS || m.Name == MethodWasserstein || m.Name == MethodPSI
}

// Data is one feature's values on one side: a Sample for a numeric
// feature, Counts for a categorical or boolean one. A categorical method
// given only a Sample counts its values (a numeric feature with few
// distinct values, which DefaultMethod tests as categorical).
type Data struct {
	Sample Sample
	Counts Counts
}

// Weight is the data's size: the sample's total weight, or the counts'
// total.
func (d Data) Weight() float64 {
	if d.Counts != nil {
		var n float64
		for _, c := range d.Counts {
			n += c
		}
		return n
	}
	if d.Sample.Weights == nil {
		return float64(len(d.Sample.Values))
	}
	var n float64
	for _, w := range d.Sample.Weights {
		n += w
	}
	return n
}

// counts are the data's counts, or its sample's values counted.
func (d Data) counts() Counts {
	if d.Counts != nil || len(d.Sample.Values) == 0 {
		return d.Counts
	}
	out := Counts{}
	for i, v := range d.Sample.Values {
		w := 1.0
		if d.Sample.Weights != nil && i < len(d.Sample.Weights) {
			w = d.Sample.Weights[i]
		}
		out[strconv.FormatFloat(v, 'g', -1, 64)] += w
	}
	return out
}

// DefaultMethod picks the test by Evidently's table, on the reference's
// size (total weight) and the number of distinct values on both sides:
//
//	reference ≤ 1,000: numeric with more than 5 values: KS (p ≤ 0.05);
//	                   otherwise more than 2 values: chi-square (p < 0.05);
//	                   otherwise (binary): z-test (p < 0.05);
//	reference > 1,000: numeric with more than 5 values: normed Wasserstein (≥ 0.1);
//	                   otherwise: Jensen-Shannon (≥ 0.1).
//
// numeric says whether the feature is a number. th overrides thresholds.
func DefaultMethod(ref, cur Data, numeric bool, th Thresholds) (Method, error) {
	var distinct int
	if numeric && ref.Counts == nil {
		seen := map[float64]bool{}
		for _, s := range []Sample{ref.Sample, cur.Sample} {
			for i, v := range s.Values {
				if s.Weights == nil || i >= len(s.Weights) || s.Weights[i] > 0 {
					seen[v] = true
				}
			}
		}
		distinct = len(seen)
	} else {
		distinct = len(keys(ref.counts(), cur.counts()))
	}
	small := ref.Weight() <= SmallReference
	name := MethodJensenShannon
	switch {
	case numeric && distinct > 5 && small:
		name = MethodKS
	case numeric && distinct > 5:
		name = MethodWasserstein
	case small && distinct > 2:
		name = MethodChiSquare
	case small:
		name = MethodZ
	}
	return NewMethod(name, th)
}

// Result is one feature's drift test.
type Result struct {
	Method string
	// Score is what the threshold applies to: the p-value of a test (KS,
	// chi-square, z), the distance otherwise.
	Score float64
	// Statistic is the test's statistic (KS D, chi-square, z); for a
	// distance it equals Score. A chi-square statistic is +Inf when the
	// current window has a value the reference never had.
	Statistic float64
	// PValue says Score is a p-value: drift when it is below the threshold
	// (KS: at or below); otherwise drift when it is at or above.
	PValue    bool
	Threshold float64
	Drifted   bool
}

// Test runs the method on a feature's reference and current data.
func (m Method) Test(ref, cur Data) (Result, error) {
	if err := m.Validate(); err != nil {
		return Result{}, err
	}
	r := Result{Method: m.Name, Threshold: m.Threshold, PValue: m.pValue()}
	var err error
	if m.numeric() && (ref.Sample.Values == nil || cur.Sample.Values == nil) {
		return Result{}, fmt.Errorf("drift method %s compares numeric samples: give both sides' Sample", m.Name)
	}
	switch m.Name {
	case MethodKS:
		r.Statistic, r.Score, err = KS(ref.Sample, cur.Sample)
	case MethodWasserstein:
		r.Score, err = NormedWasserstein(ref.Sample, cur.Sample)
	case MethodPSI:
		bins := m.Bins
		if bins == 0 {
			bins = DefaultPSIBins
		}
		r.Score, err = PSI(ref.Sample, cur.Sample, bins)
	case MethodChiSquare:
		r.Statistic, r.Score, err = ChiSquare(ref.counts(), cur.counts())
	case MethodZ:
		r.Statistic, r.Score, err = ZTest(ref.counts(), cur.counts())
	case MethodJensenShannon:
		r.Score, err = JensenShannon(ref.counts(), cur.counts())
	}
	if err != nil {
		return Result{}, fmt.Errorf("drift method %s: %w", m.Name, err)
	}
	if !r.PValue {
		r.Statistic = r.Score
	}
	switch {
	case m.Name == MethodKS:
		r.Drifted = r.Score <= m.Threshold
	case r.PValue:
		r.Drifted = r.Score < m.Threshold
	default:
		r.Drifted = r.Score >= m.Threshold
	}
	return r, nil
}

// DefaultDriftShare is the share of drifted features at which a dataset
// drifts, as in Evidently.
const DefaultDriftShare = 0.5

// DatasetDrift says whether the dataset drifted: at least share (0 means
// DefaultDriftShare) of the features' results drifted. It returns the share
// that did.
func DatasetDrift(results []Result, share float64) (drifted bool, drifting float64, err error) {
	if share == 0 {
		share = DefaultDriftShare
	}
	if math.IsNaN(share) || share <= 0 || share > 1 {
		return false, 0, fmt.Errorf("dataset drift share %g: give a share in (0, 1], or 0 for %g", share, DefaultDriftShare)
	}
	if len(results) == 0 {
		return false, 0, errors.New("dataset drift of no features: test at least one feature")
	}
	n := 0
	for _, r := range results {
		if r.Drifted {
			n++
		}
	}
	drifting = float64(n) / float64(len(results))
	return drifting >= share, drifting, nil
}
