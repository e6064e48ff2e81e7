package monitor

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/drift"
	"github.com/slipway-ml/slipway/internal/textfmt"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// DriftCheck is the drift check of a monitor: it profiles the endpoint's
// windows that ended since the last run, then compares the drift window
// (the last Drift.Window of ended hours) of the version that answered most
// of it with that version's baseline:
//
//   - each feature: warn when its test says drift, fail when its null rate
//     rose by DefaultNullJump or more (a broken pipeline, usually), warn
//     when DefaultUnknownShare or more of its values are categories
//     training never saw;
//   - "dataset": fail when at least Drift.Share of the features drifted;
//     warn when the window holds fewer than Drift.MinRows predictions (the
//     tests are not run);
//   - "prediction": fail when the model's scores drifted.
func DriftCheck(ctx context.Context, env *Env, m *resource.Resource) ([]Result, error) {
	spec := m.Monitor
	endpoint := spec.Endpoint.Ref()
	if _, err := ProfileWindows(ctx, env.Registry, env.Offline, &ProfileParams{Endpoint: endpoint, Now: env.Now}); err != nil {
		return nil, err
	}
	to := env.Now.Add(-DefaultSettle).UTC().Truncate(DefaultWindow)
	from := to.Add(-time.Duration(spec.Drift.Window))
	version, err := mainVersion(ctx, env.Offline, endpoint, from, to)
	if err != nil {
		return nil, err
	}
	window := fmt.Sprintf("%s to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	if version.model == "" {
		return []Result{{Check: CheckDrift, Subject: "dataset", State: Warn,
			Message: fmt.Sprintf("endpoint %s logged no predictions in the hours from %s: no drift to measure yet (an hour is profiled a minute after it ends)", endpoint, window)}}, nil
	}
	rep, err := Drift(ctx, env.Registry, env.Offline, &DriftParams{Endpoint: endpoint, Model: version.model, Version: int(version.version), From: from, To: to,
		Method: spec.Drift.Method, Thresholds: thresholds(spec.Drift.Thresholds), Share: spec.Drift.Share, MinRows: spec.Drift.MinRows})
	if err != nil {
		return nil, err
	}
	of := fmt.Sprintf("%s predictions of %s version %d (%s) against %s training rows",
		textfmt.Count(rep.Current), rep.Model, rep.Version, window, textfmt.Count(rep.Reference))
	if !rep.Enough {
		return []Result{{Check: CheckDrift, Subject: "dataset", State: Warn, Method: "rows", Value: num(float64(rep.Current)), Threshold: num(float64(spec.Drift.MinRows)),
			Message: fmt.Sprintf("only %s: drift is judged from %s predictions (drift.min_rows)", of, textfmt.Count(spec.Drift.MinRows))}}, nil
	}
	var out []Result
	for _, f := range rep.Features {
		r := Result{Check: CheckDrift, Subject: f.Name, State: Pass, Method: f.Method, Value: num(f.Score), Threshold: num(f.Threshold)}
		var why []string
		switch {
		case f.Note != "":
			why = append(why, f.Note)
			r.Method, r.Value, r.Threshold = "", nil, nil
		case f.Drifted:
			r.State = Warn
			why = append(why, "drifted: "+score(f))
		default:
			why = append(why, "no drift: "+score(f))
		}
		if f.UnknownValues {
			r.State = Warn
			why = append(why, fmt.Sprintf("%.1f%% of its values are categories training never saw", 100*f.Unknown))
		}
		if f.NullJump {
			r.State = Fail
			why = append(why, fmt.Sprintf("its null rate rose from %.1f%% in training to %.1f%%", 100*f.ReferenceNullRate, 100*f.CurrentNullRate))
		}
		r.Message = fmt.Sprintf("%s %s; %s", f.Name, strings.Join(why, "; "), of)
		out = append(out, r)
	}
	ds := Result{Check: CheckDrift, Subject: "dataset", State: Pass, Method: "share", Value: num(rep.DriftShare), Threshold: num(rep.Share),
		Message: fmt.Sprintf("%.0f%% of the features drifted (the dataset drifts from %.0f%%); %s", 100*rep.DriftShare, 100*rep.Share, of)}
	if rep.DatasetDrift {
		ds.State = Fail
	}
	out = append(out, ds)
	if p := rep.Prediction; p != nil && p.Method != "" {
		r := Result{Check: CheckDrift, Subject: "prediction", State: Pass, Method: p.Method, Value: num(p.Score), Threshold: num(p.Threshold),
			Message: fmt.Sprintf("the model's scores: no drift: %s; %s", score(*p), of)}
		if p.Drifted {
			r.State, r.Message = Fail, fmt.Sprintf("the model's scores drifted: %s; %s", score(*p), of)
		}
		out = append(out, r)
	}
	return out, nil
}

// score writes a test's outcome: "normed Wasserstein 0.23 (threshold 0.1)".
func score(f FeatureDrift) string {
	what := "p-value"
	if !f.PValue {
		what = "distance"
	}
	return fmt.Sprintf("%s %s %.4g (threshold %g)", f.Method, what, f.Score, f.Threshold)
}

// thresholds turns a definition's thresholds into package drift's, by
// method name (the definition's ztest is drift's z).
func thresholds(t resource.DriftThresholds) drift.Thresholds {
	out := drift.Thresholds{}
	for name, v := range map[string]float64{drift.MethodKS: t.KS, drift.MethodChiSquare: t.ChiSquare, drift.MethodZ: t.ZTest,
		drift.MethodWasserstein: t.Wasserstein, drift.MethodJensenShannon: t.JensenShannon, drift.MethodPSI: t.PSI} {
		if v > 0 {
			out[name] = v
		}
	}
	return out
}

func num(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// mainVersion is the model version with the most profiled predictions on
// the endpoint from from to to.
func mainVersion(ctx context.Context, off offline.Store, endpoint resource.Ref, from, to time.Time) (key, error) {
	rows, err := off.Query(ctx, &offline.QueryParams{SQL: `SELECT model, model_version, CAST(sum(rows) AS BIGINT) FROM ` + offline.QuoteIdent(ProfilesTable) +
		` WHERE endpoint = $1 AND window_seconds = $2 AND window_start >= $3 AND window_start < $4 GROUP BY model, model_version ORDER BY 3 DESC, 2 DESC LIMIT 1`,
		Args: []value.Value{value.FromString(endpoint.String()), value.FromInt64(int64(DefaultWindow / time.Second)), value.FromTime(from), value.FromTime(to)}})
	if err != nil {
		if isMissingTable(err) {
			return key{}, nil
		}
		return key{}, fmt.Errorf("reading the versions that answered on %s: %w", endpoint, err)
	}
	defer rows.Close()
	var k key
	if rows.Next() {
		v := rows.Values()
		k = key{model: v[0].Str(), version: v[1].Int64()}
	}
	return k, rows.Err()
}

// PerformanceCheck is the performance check of a monitor: the endpoint's
// predictions of the last Performance.Window scored against the feedback
// named Performance.Feedback, per model version and arm (subject "version
// N", or "version N arm A"). It fails when the version's main metric (AUC
// for a classifier, RMSE for a regression) is worse than the validation
// metric recorded at training by more than Performance.MaxDrop (AUC:
// points, 0.05 is five; RMSE: a share, 0.05 is 5% higher), and warns with
// fewer than Performance.MinSamples predictions with feedback.
func PerformanceCheck(ctx context.Context, env *Env, m *resource.Resource) ([]Result, error) {
	spec := m.Monitor
	window := time.Duration(spec.Performance.Window)
	rep, err := Measure(ctx, env.Registry, env.Offline, &PerformanceParams{Endpoint: spec.Endpoint.Ref(), Feedback: spec.Performance.Feedback,
		From: env.Now.Add(-window), To: env.Now})
	if err != nil {
		return nil, err
	}
	if len(rep.Versions) == 0 {
		return []Result{{Check: CheckPerformance, Subject: "predictions", State: Warn,
			Message: fmt.Sprintf("endpoint %s made no prediction in the last %s: no performance to measure", rep.Endpoint, resource.Duration(window))}}, nil
	}
	var out []Result
	for _, v := range rep.Versions {
		subject := fmt.Sprintf("version %d", v.Version)
		if v.Arm != "" {
			subject += " arm " + v.Arm
		}
		of := fmt.Sprintf("%s %s: %s predictions in the last %s, %s with %s feedback (%.1f%%)", v.Model, subject, textfmt.Count(v.Predictions),
			resource.Duration(window), textfmt.Count(v.WithFeedback), rep.Feedback, 100*v.Share)
		r := Result{Check: CheckPerformance, Subject: subject, State: Warn}
		metric, higher := model.MetricAUC, true
		if v.Task == model.TaskRegression {
			metric, higher = model.MetricRMSE, false
		}
		switch {
		case v.WithFeedback < spec.Performance.MinSamples:
			r.Method, r.Value, r.Threshold = "samples", num(float64(v.WithFeedback)), num(float64(spec.Performance.MinSamples))
			r.Message = fmt.Sprintf("%s; performance is judged from %s (performance.min_samples)", of, textfmt.Count(spec.Performance.MinSamples))
		case v.Metrics == nil:
			r.Message = fmt.Sprintf("%s; %s", of, v.Note)
		default:
			got, trained := v.Metrics[metric], v.Training[metric]
			r.Method, r.Value = metric, num(got)
			var limit float64
			if higher {
				limit = trained - spec.Performance.MaxDrop
			} else {
				limit = trained * (1 + spec.Performance.MaxDrop)
			}
			r.Threshold = num(limit)
			worse := (higher && got < limit) || (!higher && got > limit)
			r.State = Pass
			if worse {
				r.State = Fail
			}
			verdict := map[bool]string{true: "worse than", false: "within"}[worse]
			r.Message = fmt.Sprintf("%s %.4g, %s the %.4g allowed (%.4g at training, performance.max_drop %g); %s", metric, got, verdict, limit, trained, spec.Performance.MaxDrop, of)
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b Result) int { return strings.Compare(a.Subject, b.Subject) })
	return out, nil
}
