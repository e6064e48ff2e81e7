package cli

import (
	"context"

	"github.com/slipway-ml/slipway/metrics"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// monitorMetrics reads what GET /metrics shows of the monitors: each
// check's worst latest state over its subjects, and each latest drift
// test's statistic (registry.LatestMonitorResults of every monitor).
func monitorMetrics(reg registry.Store) func(ctx context.Context) (*metrics.MonitorReport, error) {
	return func(ctx context.Context) (*metrics.MonitorReport, error) {
		monitors, err := reg.List(ctx, &registry.ListParams{Kind: resource.KindMonitor})
		if err != nil {
			return nil, err
		}
		out := &metrics.MonitorReport{}
		for _, m := range monitors {
			results, err := reg.LatestMonitorResults(ctx, m.ID)
			if err != nil {
				return nil, err
			}
			name := m.ID.Ref().String()
			worst := map[string]string{}
			var checks []string
			for _, r := range results {
				if _, ok := worst[r.Check]; !ok {
					checks = append(checks, r.Check)
				}
				if rank[r.State] > rank[worst[r.Check]] {
					worst[r.Check] = r.State
				}
				if test, ok := driftTests[r.Method]; ok && r.Check == resource.CheckDrift && r.Value != nil && r.Threshold != nil {
					out.Drift = append(out.Drift, metrics.FeatureDrift{Monitor: name, Feature: r.Subject, Test: test, Value: *r.Value, Drifted: drifted(r.Method, *r.Value, *r.Threshold)})
				}
			}
			for _, c := range checks {
				out.Checks = append(out.Checks, metrics.MonitorCheck{Monitor: name, Check: c, State: worst[c]})
			}
		}
		return out, nil
	}
}

var rank = map[string]int{"": 0, "pass": 1, "warn": 2, "fail": 3}

// driftTests names package drift's methods as the metrics do.
var driftTests = map[string]string{"ks": "ks", "chisquare": "chi2", "z": "z", "wasserstein": "wasserstein", "jensenshannon": "jensen_shannon", "psi": "psi"}

// drifted says whether a drift test's statistic crossed its threshold: a
// p-value at or below it (KS) or below it (chi-square, z), a distance at
// or above it.
func drifted(method string, v, threshold float64) bool {
	switch method {
	case "ks":
		return v <= threshold
	case "chisquare", "z":
		return v < threshold
	}
	return v >= threshold
}
