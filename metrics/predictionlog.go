package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipway-ml/slipway/predictionlog"
)

// PredictionLog adds the prediction log's metrics, read from l at each
// scrape (its WAL's Stats, its Shipper's and its Logger's counters):
// nothing is counted on the answer's path for them.
func (m *Metrics) PredictionLog(l *predictionlog.Log) error {
	if m == nil || l == nil {
		return nil
	}
	return m.Register(&logCollector{l: l})
}

var (
	logPendingDesc = prometheus.NewDesc("slipway_prediction_log_pending_bytes",
		"Bytes of logged predictions waiting to be shipped into the offline store (in memory and on local disk, framing included).", nil, nil)
	logDiskDesc = prometheus.NewDesc("slipway_prediction_log_disk_bytes",
		"Bytes of the prediction log's segment files on local disk (shipped or not; capped by prediction_log: max_size).", nil, nil)
	logSegmentsDesc = prometheus.NewDesc("slipway_prediction_log_segments",
		"Segment files of the prediction log on local disk.", nil, nil)
	logDroppedDesc = prometheus.NewDesc("slipway_prediction_log_dropped_entries_total",
		"Logged predictions dropped before being shipped: refused while the disk stalled, or deleted unshipped by the size cap. Persisted across restarts.", nil, nil)
	logFailedDesc = prometheus.NewDesc("slipway_prediction_log_failed_entries_total",
		"Predictions that could not be appended to the log (the log closed, or a record over the size limit).", nil, nil)
	logShippedDesc = prometheus.NewDesc("slipway_prediction_log_shipped_entries_total",
		"Logged predictions shipped into the offline store by this process.", nil, nil)
	logShipFailuresDesc = prometheus.NewDesc("slipway_prediction_log_ship_failures_total",
		"Shipping attempts (one per ship interval) that failed; the entries wait on disk and are shipped by a later attempt.", nil, nil)
	logUnreadableDesc = prometheus.NewDesc("slipway_prediction_log_unreadable_entries_total",
		"Logged entries left out of shipping because they did not decode (a bug; each is logged).", nil, nil)
)

// logCollector reads a prediction log's counters at scrape time.
type logCollector struct{ l *predictionlog.Log }

func (c *logCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{logPendingDesc, logDiskDesc, logSegmentsDesc, logDroppedDesc, logFailedDesc, logShippedDesc, logShipFailuresDesc, logUnreadableDesc} {
		ch <- d
	}
}

func (c *logCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.l.WAL.Stats()
	gauge := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(logPendingDesc, st.Pending)
	gauge(logDiskDesc, st.Bytes)
	gauge(logSegmentsDesc, int64(st.Segments))
	counter(logDroppedDesc, st.Dropped)
	counter(logFailedDesc, c.l.Logger.Failed())
	counter(logShippedDesc, c.l.Shipper.Shipped())
	counter(logShipFailuresDesc, c.l.Shipper.Failures())
	counter(logUnreadableDesc, c.l.Shipper.Unreadable())
}
