package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// Registry adds the metrics read from the registry at each scrape, whoever
// did the work (this server, `slipway worker` processes, other replicas):
// the jobs by status (one CountJobs query) and each materialized feature's
// lag (one List of the features). When the registry does not answer within
// the scrape timeout, they are left out of that scrape, and the failure is
// counted (slipway_metrics_collect_errors_total) and logged.
func (m *Metrics) Registry(reg registry.Store) error {
	if m == nil || reg == nil {
		return nil
	}
	return m.Register(&jobsCollector{m: m, reg: reg}, &lagCollector{m: m, reg: reg})
}

var (
	jobsDesc = prometheus.NewDesc("slipway_jobs",
		"Jobs in the registry's queue by status (queued, running, succeeded, failed, cancelled).", []string{"status"}, nil)
	lagDesc = prometheus.NewDesc("slipway_feature_materialization_lag_seconds",
		"Now minus the newest event time materialized into the online store (the feature's watermark), per materialized feature (name:variant) with a timestamp column.", []string{"feature"}, nil)
)

type jobsCollector struct {
	m   *Metrics
	reg registry.Store
}

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobsDesc }

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := c.m.scrapeContext()
	defer cancel()
	counts, err := c.reg.CountJobs(ctx, &registry.CountJobsParams{})
	if err != nil {
		c.m.collectFailed("jobs", err)
		return
	}
	for _, st := range registry.JobStatuses {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
}

type lagCollector struct {
	m   *Metrics
	reg registry.Store
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- lagDesc }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := c.m.scrapeContext()
	defer cancel()
	feats, err := c.reg.List(ctx, &registry.ListParams{Kind: resource.KindFeature})
	if err != nil {
		c.m.collectFailed("feature_lag", err)
		return
	}
	now := c.m.now()
	for _, f := range feats {
		if f.State.Watermark.IsZero() {
			continue // never materialized, or static (no event times)
		}
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, now.Sub(f.State.Watermark).Seconds(), f.Ref().String())
	}
}
