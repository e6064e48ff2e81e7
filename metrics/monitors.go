package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// The monitors' metrics (issue 13: monitor states and drift values) are
// read at each scrape from the registry's latest monitor results, through
// Monitors (`slipway serve` wires it: cli/monitormetrics.go);
// docs/metrics.md documents the names below.

// MonitorReport is the latest state of the monitors, as a scrape shows it.
type MonitorReport struct {
	Checks []MonitorCheck
	Drift  []FeatureDrift
}

// MonitorCheck is the latest result of one check of one monitor.
type MonitorCheck struct {
	// Monitor is the monitor's name:variant; Check is one of its checks
	// (drift, freshness, performance, skew).
	Monitor, Check string
	// State is pass, warn or fail (MonitorStates).
	State string
}

// MonitorStates are the states of a check, each one series of
// slipway_monitor_check_state (1 for the current state, 0 for the others),
// as Prometheus' guide writes an enum.
var MonitorStates = []string{"pass", "warn", "fail"}

// FeatureDrift is the latest drift test of one feature (or of the
// predictions, Feature "prediction") under one monitor.
type FeatureDrift struct {
	Monitor, Feature string
	// Test names the statistic: ks (p-value), chi2 (p-value), z (p-value),
	// wasserstein (normed distance), jensen_shannon (distance), psi.
	Test  string
	Value float64
	// Drifted says whether Value crossed the test's threshold.
	Drifted bool
}

var (
	monitorStateDesc = prometheus.NewDesc("slipway_monitor_check_state",
		"The latest state of each monitor's check: 1 for the current state (pass, warn, fail), 0 for the others.", []string{"monitor", "check", "state"}, nil)
	driftDesc = prometheus.NewDesc("slipway_monitor_drift",
		"The latest drift statistic per monitor, feature and test (ks, chi2 and z: p-value; wasserstein, jensen_shannon: distance; psi).", []string{"monitor", "feature", "test"}, nil)
	driftedDesc = prometheus.NewDesc("slipway_monitor_drift_detected",
		"1 when the latest drift test of the feature crossed its threshold, else 0.", []string{"monitor", "feature", "test"}, nil)
)

// Monitors adds the monitors' metrics, read with read at each scrape
// (bounded by the scrape timeout). Labels are registered names (monitors,
// features) and fixed words (checks, states, tests), never values.
func (m *Metrics) Monitors(read func(ctx context.Context) (*MonitorReport, error)) error {
	if m == nil || read == nil {
		return nil
	}
	return m.Register(&monitorCollector{m: m, read: read})
}

type monitorCollector struct {
	m    *Metrics
	read func(ctx context.Context) (*MonitorReport, error)
}

func (c *monitorCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- monitorStateDesc
	ch <- driftDesc
	ch <- driftedDesc
}

func (c *monitorCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := c.m.scrapeContext()
	defer cancel()
	rep, err := c.read(ctx)
	if err != nil {
		c.m.collectFailed("monitors", err)
		return
	}
	if rep == nil {
		return
	}
	for _, chk := range rep.Checks {
		for _, st := range MonitorStates {
			v := 0.0
			if st == chk.State {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(monitorStateDesc, prometheus.GaugeValue, v, chk.Monitor, chk.Check, st)
		}
	}
	for _, d := range rep.Drift {
		ch <- prometheus.MustNewConstMetric(driftDesc, prometheus.GaugeValue, d.Value, d.Monitor, d.Feature, d.Test)
		drifted := 0.0
		if d.Drifted {
			drifted = 1
		}
		ch <- prometheus.MustNewConstMetric(driftedDesc, prometheus.GaugeValue, drifted, d.Monitor, d.Feature, d.Test)
	}
}
