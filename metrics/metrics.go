// Package metrics defines the Prometheus metrics of `slipway serve` and
// serves them (GET /metrics, in the Prometheus text format). It uses the
// official client (github.com/prometheus/client_golang) with a registry of
// its own, never the global default one, so that two servers in one
// process (tests) never share counters.
//
// Names follow the Prometheus naming guide: the slipway_ prefix, base units
// in the name (_seconds, _bytes), _total for counters, and few labels whose
// values are bounded: route patterns, status codes, registered endpoints,
// model versions, features and store types. An entity key, a request id or
// a raw path is never a label value. docs/metrics.md lists every metric.
//
// A nil *Metrics is valid and does nothing: a server with metrics turned
// off (slipway.yaml's metrics: enabled: false) calls the same methods.
//
// What is counted on the request path (ObserveRequest, ObservePredict,
// the online store's wrapper) costs a few map look-ups and atomic adds.
// What lives elsewhere is read when Prometheus scrapes, by collectors:
// the prediction log's counters (PredictionLog), the registry's jobs by
// status and the features' materialization lag (Registry), and the
// monitors' results (Monitors).
package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config configures New.
type Config struct {
	// Logger takes the errors of collectors at scrape time (a registry
	// that does not answer, say); nil discards them.
	Logger *slog.Logger
	// Now tells the time of the lag gauges (default time.Now).
	Now func() time.Time
	// ScrapeTimeout bounds what collectors ask the stores at each scrape
	// (default DefaultScrapeTimeout).
	ScrapeTimeout time.Duration
}

// DefaultScrapeTimeout bounds the registry queries of one scrape.
const DefaultScrapeTimeout = 5 * time.Second

// Unmatched is the route label of requests no route matched.
const Unmatched = "unmatched"

// Buckets of the latency histograms, in seconds. Serving answers in
// hundreds of microseconds on the embedded stores, so the buckets start
// well below Prometheus' default 5 ms.
var (
	requestBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	storeBuckets   = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}
)

// Metrics holds the metrics of one server. Make it with New.
type Metrics struct {
	reg     *prometheus.Registry
	log     *slog.Logger
	now     func() time.Time
	timeout time.Duration

	httpRequests    *prometheus.CounterVec   // route, code
	httpErrors      *prometheus.CounterVec   // route, class
	httpDuration    *prometheus.HistogramVec // route
	predictDuration *prometheus.HistogramVec // endpoint, version
	predictions     *prometheus.CounterVec   // endpoint, version
	onlineRead      *prometheus.HistogramVec // store
	onlineErrors    *prometheus.CounterVec   // store, operation
	materialized    *prometheus.CounterVec   // feature
	collectErrors   *prometheus.CounterVec   // collector
}

// New makes the metrics, registered with a registry of their own together
// with the Go runtime's and the process' standard collectors (go_* and
// process_*).
func New(cfg Config) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), log: cfg.Logger, now: cfg.Now, timeout: cfg.ScrapeTimeout}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.timeout <= 0 {
		m.timeout = DefaultScrapeTimeout
	}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "slipway_http_requests_total",
		Help: "HTTP requests answered, by route pattern (METHOD /path/{param}, or unmatched) and status code.",
	}, []string{"route", "code"})
	m.httpErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "slipway_http_request_errors_total",
		Help: "HTTP requests answered with an error status, by route pattern and status class (4xx, 5xx).",
	}, []string{"route", "class"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "slipway_http_request_duration_seconds",
		Help:    "Time from a request's arrival to the end of its answer, by route pattern.",
		Buckets: requestBuckets,
	}, []string{"route"})
	m.predictDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "slipway_predict_request_duration_seconds",
		Help:    "Time of the answered prediction requests (POST /v1/endpoints/{name}/predict and the v2 infer routes), by endpoint (name:variant) and model version (several when experiment arms of different versions answered one request).",
		Buckets: requestBuckets,
	}, []string{"endpoint", "version"})
	m.predictions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "slipway_predictions_total",
		Help: "Predictions answered (one per entity), by endpoint and the model version that made each.",
	}, []string{"endpoint", "version"})
	m.onlineRead = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "slipway_online_store_read_duration_seconds",
		Help:    "Time of the online store's batch reads (one per online-features or predict request), by store type.",
		Buckets: storeBuckets,
	}, []string{"store"})
	m.onlineErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "slipway_online_store_errors_total",
		Help: "Online store calls that failed, by store type and operation (read, write, delete).",
	}, []string{"store", "operation"})
	m.materialized = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "slipway_materialized_rows_total",
		Help: "Rows (one entity's value) written to the online store per feature (name:variant) by the materializations and batch predictions this process ran.",
	}, []string{"feature"})
	m.collectErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "slipway_metrics_collect_errors_total",
		Help: "Scrapes whose collector could not read its source (the registry, the monitors), by collector: its metrics were left out of that scrape and the error logged (counted during the scrape, so shown from the next one).",
	}, []string{"collector"})
	m.reg.MustRegister(m.httpRequests, m.httpErrors, m.httpDuration, m.predictDuration, m.predictions,
		m.onlineRead, m.onlineErrors, m.materialized, m.collectErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format (or OpenMetrics
// or protobuf, when the scraper asks for them). A collector that fails
// leaves its metrics out and is counted and logged; the rest are served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      errorLog{m.log},
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// Gatherer returns the metrics' registry, to read them in tests or add
// another collector (Register).
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Register adds collectors to the metrics (a package's own metrics).
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	if m == nil {
		return nil
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
	return nil
}

// errorLog gives promhttp's errors to the logger.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) { l.log.Warn("serving metrics", "error", fmt.Sprint(v...)) }

// ObserveRequest counts one answered HTTP request: route is the pattern
// that matched it ("POST /v1/endpoints/{name}/predict"), or Unmatched.
func (m *Metrics) ObserveRequest(route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = Unmatched
	}
	m.httpRequests.WithLabelValues(route, statusText(status)).Inc()
	switch {
	case status >= 500:
		m.httpErrors.WithLabelValues(route, "5xx").Inc()
	case status >= 400:
		m.httpErrors.WithLabelValues(route, "4xx").Inc()
	}
	m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
}

// ObservePredict records an answered prediction request of endpoint
// (name:variant): its time, under the version that answered it (0 for
// several experiment arms of different versions, labelled "several").
// Only answered requests are recorded, so that the endpoint label takes
// only registered endpoints, never a name a client made up.
func (m *Metrics) ObservePredict(endpoint string, version int, d time.Duration) {
	if m == nil {
		return
	}
	v := "several"
	if version != 0 {
		v = strconv.Itoa(version)
	}
	m.predictDuration.WithLabelValues(endpoint, v).Observe(d.Seconds())
}

// AddPredictions counts n predictions of endpoint made by version.
func (m *Metrics) AddPredictions(endpoint string, version, n int) {
	if m == nil || n == 0 {
		return
	}
	m.predictions.WithLabelValues(endpoint, strconv.Itoa(version)).Add(float64(n))
}

// statusText is a status code as a label value, without an allocation for
// the codes the API answers with.
func statusText(code int) string {
	if code >= 100 && code < 600 {
		if s := statusCodes[code]; s != "" {
			return s
		}
	}
	return strconv.Itoa(code)
}

var statusCodes = func() map[int]string {
	m := map[int]string{}
	for code := 100; code < 600; code++ {
		if http.StatusText(code) != "" {
			m[code] = strconv.Itoa(code)
		}
	}
	return m
}()

// collectFailed counts and logs a collector's failure to read its source.
func (m *Metrics) collectFailed(collector string, err error) {
	m.collectErrors.WithLabelValues(collector).Inc()
	m.log.Warn("collecting metrics", "collector", collector, "error", err)
}

// scrapeContext bounds what one collector asks at a scrape.
func (m *Metrics) scrapeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), m.timeout)
}
