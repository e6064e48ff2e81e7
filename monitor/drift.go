package monitor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/slipway-ml/slipway/drift"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/profile"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// Defaults of DriftParams.
const (
	// DefaultMinRows is how many predictions a window needs before its
	// drift is judged.
	DefaultMinRows = 100
	// DefaultNullJump is the rise of a feature's null rate over the
	// training data's (absolute: 0.1 is ten points) that is flagged.
	DefaultNullJump = 0.1
	// DefaultUnknownShare is the share of a categorical feature's values
	// the training data never had that is flagged.
	DefaultUnknownShare = 0.01
)

// DriftParams selects what a drift report compares: the serving windows
// of a model version on an endpoint from From to To (window starts) with
// the version's baseline.
type DriftParams struct {
	Endpoint resource.Ref
	Model    string
	Version  int
	From, To time.Time
	// Arm, when set, keeps the predictions of that experiment arm.
	Arm string
	// Method is "auto" (Evidently's table, drift.DefaultMethod; the
	// default) or "psi" (PSI for numeric features, the table for the rest).
	Method string
	// Thresholds override drift.DefaultThresholds per method; Share is the
	// share of drifted features that makes the dataset drift (0:
	// drift.DefaultDriftShare).
	Thresholds drift.Thresholds
	Share      float64
	// MinRows (DefaultMinRows), NullJump (DefaultNullJump) and
	// UnknownShare (DefaultUnknownShare) when zero.
	MinRows      int64
	NullJump     float64
	UnknownShare float64
}

// DriftReport compares what a version was asked about and answered with
// what it was trained on.
type DriftReport struct {
	Endpoint string    `json:"endpoint"`
	Model    string    `json:"model"`
	Version  int       `json:"version"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	// Reference is the training rows of the baseline, Current the
	// predictions in the windows merged (Windows of them).
	Reference int64 `json:"reference_rows"`
	Current   int64 `json:"current_rows"`
	Windows   int   `json:"windows"`
	// Enough is false when Current is under MinRows: the tests are not run.
	Enough bool `json:"enough"`
	// Features are the features' drift, in the version's order;
	// Prediction the prediction's.
	Features   []FeatureDrift `json:"features"`
	Prediction *FeatureDrift  `json:"prediction,omitempty"`
	// Dataset drifts when at least Share of the features drift; DriftShare
	// is the share that did.
	DatasetDrift bool    `json:"dataset_drift"`
	DriftShare   float64 `json:"drift_share"`
	Share        float64 `json:"share"`
}

// FeatureDrift is one column's comparison.
type FeatureDrift struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Method, Score (a p-value or a distance), Threshold and Drifted are
	// the drift test's (drift.Result); empty when there were no values to
	// test on one side.
	Method    string  `json:"method,omitempty"`
	Score     float64 `json:"score"`
	PValue    bool    `json:"p_value,omitempty"`
	Threshold float64 `json:"threshold,omitempty"`
	Drifted   bool    `json:"drifted"`
	// The null rates of the training data and the windows; NullJump is
	// set when the windows' is higher by at least DriftParams.NullJump.
	ReferenceNullRate float64 `json:"reference_null_rate"`
	CurrentNullRate   float64 `json:"current_null_rate"`
	NullJump          bool    `json:"null_jump"`
	// Unknown is the share of a categorical feature's values in the
	// windows that the training data never had (values beyond the
	// profile's 1,000 counted one by one are not told apart);
	// UnknownValues is set when it reaches DriftParams.UnknownShare.
	Unknown       float64 `json:"unknown_share,omitempty"`
	UnknownValues bool    `json:"unknown_values,omitempty"`
	// Note says why a column was not tested.
	Note string `json:"note,omitempty"`
}

// Drift compares a version's serving windows with its baseline.
func Drift(ctx context.Context, reg registry.Store, off offline.Store, p *DriftParams) (*DriftReport, error) {
	method := p.Method
	if method == "" {
		method = "auto"
	}
	if method != "auto" && method != drift.MethodPSI {
		return nil, fmt.Errorf("drift method %q: use auto (Evidently's table) or psi", method)
	}
	minRows, nullJump, unknownShare := p.MinRows, p.NullJump, p.UnknownShare
	if minRows <= 0 {
		minRows = DefaultMinRows
	}
	if nullJump <= 0 {
		nullJump = DefaultNullJump
	}
	if unknownShare <= 0 {
		unknownShare = DefaultUnknownShare
	}
	share := p.Share
	if share == 0 {
		share = drift.DefaultDriftShare
	}
	raw, err := reg.ModelVersionProfile(ctx, p.Model, p.Version)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, fmt.Errorf("version %d of model %s has no baseline profile to compare with (it was recorded before profiles were kept: train or register the model again): %w", p.Version, p.Model, err)
	}
	if err != nil {
		return nil, err
	}
	base, err := profile.ParseSummary(raw)
	if err != nil {
		return nil, fmt.Errorf("the baseline of version %d of model %s: %w", p.Version, p.Model, err)
	}
	cur, err := ServingProfile(ctx, reg, off, &ServingParams{Endpoint: p.Endpoint, Model: p.Model, Version: p.Version, Arm: p.Arm, From: p.From, To: p.To})
	if err != nil {
		return nil, err
	}
	out := &DriftReport{Endpoint: p.Endpoint.String(), Model: p.Model, Version: p.Version, From: p.From.UTC(), To: p.To.UTC(),
		Reference: base.Features.Rows, Current: cur.Features.Rows, Windows: cur.Windows, Share: share}
	out.Enough = out.Current >= minRows
	var results []drift.Result
	for _, rc := range base.Features.Columns {
		cc := cur.Features.Column(rc.Name)
		if cc == nil {
			continue
		}
		fd, r, err := compare(rc, cc, method, p.Thresholds, out.Enough)
		if err != nil {
			return nil, fmt.Errorf("feature %s: %w", rc.Name, err)
		}
		fd.NullJump = out.Enough && fd.CurrentNullRate-fd.ReferenceNullRate >= nullJump
		fd.UnknownValues = out.Enough && fd.Unknown >= unknownShare
		out.Features = append(out.Features, fd)
		if r != nil {
			results = append(results, *r)
		}
	}
	if rc, cc := base.Predictions.Column(profile.PredictionColumn), cur.Predictions.Column(profile.PredictionColumn); rc != nil && cc != nil {
		fd, _, err := compare(rc, cc, method, p.Thresholds, out.Enough)
		if err != nil {
			return nil, fmt.Errorf("the predictions: %w", err)
		}
		out.Prediction = &fd
	}
	if len(results) > 0 {
		if out.DatasetDrift, out.DriftShare, err = drift.DatasetDrift(results, share); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// compare tests one column of the windows against the baseline's; the
// test runs only with enough rows and values on both sides.
func compare(ref, cur *profile.Column, method string, th drift.Thresholds, enough bool) (FeatureDrift, *drift.Result, error) {
	fd := FeatureDrift{Name: ref.Name, Kind: string(ref.Kind), ReferenceNullRate: ref.NullRate(), CurrentNullRate: cur.NullRate()}
	if ref.Kind != cur.Kind {
		return fd, nil, fmt.Errorf("it is %s in the baseline and %s in the windows", ref.Kind, cur.Kind)
	}
	numeric := ref.Kind == profile.Numeric
	var rd, cd drift.Data
	if numeric {
		rv, rw := ref.Sample()
		cv, cw := cur.Sample()
		rd, cd = drift.Data{Sample: drift.Sample{Values: rv, Weights: rw}}, drift.Data{Sample: drift.Sample{Values: cv, Weights: cw}}
	} else {
		rc, cc := ref.Counts(), cur.Counts()
		rd, cd = drift.Data{Counts: rc}, drift.Data{Counts: cc}
		var unknown, total float64
		for k, n := range cc {
			total += n
			if _, ok := rc[k]; !ok && k != profile.OtherItem {
				unknown += n
			}
		}
		if total > 0 {
			fd.Unknown = unknown / total
		}
	}
	if ref.Timestamps() || cur.Timestamps() {
		// A timestamp feature moves with time by nature, and the sketch of
		// values near 1.7e9 cannot tell days apart.
		fd.Note = "timestamps are not tested for drift"
		return fd, nil, nil
	}
	if !enough || ref.Count() == 0 || cur.Count() == 0 {
		return fd, nil, nil
	}
	var m drift.Method
	var err error
	if numeric && method == drift.MethodPSI {
		m, err = drift.NewMethod(drift.MethodPSI, th)
	} else {
		m, err = drift.DefaultMethod(rd, cd, numeric, th)
	}
	if err != nil {
		return fd, nil, err
	}
	r, err := m.Test(rd, cd)
	if err != nil {
		return fd, nil, err
	}
	if math.IsNaN(r.Score) {
		return fd, nil, fmt.Errorf("%s gave no number", m.Name)
	}
	fd.Method, fd.Score, fd.PValue, fd.Threshold, fd.Drifted = r.Method, r.Score, r.PValue, r.Threshold, r.Drifted
	return fd, &r, nil
}
