package metrics_test

import (
	"context"
	"errors"
	"math"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/slipway-ml/slipway/metrics"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/online/onlinekv"
	"github.com/slipway-ml/slipway/online/onlinetest"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/registry/registrysqlite"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// scrape serves m's handler once and parses the text it answers with the
// Prometheus text parser, as Prometheus would.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics answered %d: %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parsing the scrape: %v", err)
	}
	return fams
}

// series returns the metric of family name whose labels are exactly want,
// or nil.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
	for _, m := range f.Metric {
		if len(m.Label) != len(want) {
			continue
		}
		ok := true
		for _, l := range m.Label {
			if want[l.GetName()] != l.GetValue() {
				ok = false
			}
		}
		if ok {
			return m
		}
	}
	return nil
}

func value_(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	m := series(fams, name, labels)
	switch {
	case m == nil:
		t.Fatalf("no series %s%v in the scrape", name, labels)
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	t.Fatalf("series %s%v has no value", name, labels)
	return 0
}

func newOnline(t *testing.T) online.Store {
	t.Helper()
	s, err := onlinekv.New(t.Context(), onlinekv.Config{Path: filepath.Join(t.TempDir(), "online.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The wrapper is still a correct online store.
func TestOnlineConformance(t *testing.T) {
	m := metrics.New(metrics.Config{})
	onlinetest.Exercise(t, func(t *testing.T) online.Store { return m.Online(newOnline(t), "embedded") })
}

func TestOnlineCounts(t *testing.T) {
	m := metrics.New(metrics.Config{})
	s := m.Online(newOnline(t), "embedded")
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	recs := []online.Record{
		{Entity: "a", Values: []value.Value{value.FromInt64(1), value.FromFloat64(1.5)}, Timestamp: ts},
		{Entity: "b", Values: []value.Value{value.FromInt64(2), value.FromFloat64(2.5)}, Timestamp: ts},
		{Entity: "c", Values: []value.Value{value.FromInt64(3), value.FromFloat64(3.5)}, Timestamp: ts},
	}
	feats := []string{"opens_30d:v1", "avg_order_value:default"}
	if err := s.Write(t.Context(), &online.WriteParams{Features: feats, Records: recs}); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(t.Context(), &online.WriteParams{Features: feats[:1], Records: recs[:2]}); err == nil {
		t.Fatal("a write of records with two values for one feature succeeded")
	}
	if err := s.Write(t.Context(), &online.WriteParams{Features: feats[:1], Records: []online.Record{{Entity: "d", Values: []value.Value{value.FromInt64(4)}, Timestamp: ts}}}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		res, err := s.Read(t.Context(), &online.ReadParams{Features: feats, Entities: []string{"a", "zzz"}})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Entries[0][0].Found || res.Entries[0][0].Value.Int64() != 1 || res.Entries[1][0].Found {
			t.Fatalf("read through the wrapper = %+v", res.Entries)
		}
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Read(cancelled, &online.ReadParams{Features: feats, Entities: []string{"a"}}); err == nil {
		t.Fatal("a read with a cancelled context succeeded")
	}
	fams := scrape(t, m)
	for name, want := range map[string]struct {
		labels map[string]string
		v      float64
	}{
		"rows opens":           {map[string]string{"feature": "opens_30d:v1"}, 4},
		"rows avg_order_value": {map[string]string{"feature": "avg_order_value:default"}, 3},
	} {
		if got := value_(t, fams, "slipway_materialized_rows_total", want.labels); got != want.v {
			t.Errorf("%s: slipway_materialized_rows_total = %v, want %v", name, got, want.v)
		}
	}
	if got := value_(t, fams, "slipway_online_store_read_duration_seconds", map[string]string{"store": "embedded"}); got != 6 {
		t.Errorf("read histogram counts %v reads, want 6", got)
	}
	if got := value_(t, fams, "slipway_online_store_errors_total", map[string]string{"store": "embedded", "operation": "read"}); got != 1 {
		t.Errorf("read errors = %v, want 1", got)
	}
	if got := value_(t, fams, "slipway_online_store_errors_total", map[string]string{"store": "embedded", "operation": "write"}); got != 1 {
		t.Errorf("write errors = %v, want 1", got)
	}
	// Deleting a feature deletes its series.
	if err := s.DeleteFeatures(t.Context(), &online.DeleteFeaturesParams{Features: feats[1:]}); err != nil {
		t.Fatal(err)
	}
	fams = scrape(t, m)
	if series(fams, "slipway_materialized_rows_total", map[string]string{"feature": "avg_order_value:default"}) != nil {
		t.Error("a deleted feature still has its rows series")
	}
	if series(fams, "slipway_materialized_rows_total", map[string]string{"feature": "opens_30d:v1"}) == nil {
		t.Error("deleting one feature removed another's rows series")
	}
}

func TestRequests(t *testing.T) {
	m := metrics.New(metrics.Config{})
	route := "POST /v1/endpoints/{name}/predict"
	for _, c := range []struct {
		status int
		d      time.Duration
	}{{200, time.Millisecond}, {200, 3 * time.Millisecond}, {404, time.Microsecond}, {503, 2 * time.Second}, {200, 20 * time.Millisecond}} {
		m.ObserveRequest(route, c.status, c.d)
	}
	m.ObserveRequest("", 404, time.Millisecond)
	m.ObservePredict("purchase:default", 3, 2*time.Millisecond)
	m.ObservePredict("purchase:default", 0, 4*time.Millisecond)
	m.AddPredictions("purchase:default", 3, 10)
	m.AddPredictions("purchase:default", 4, 2)
	fams := scrape(t, m)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"slipway_http_requests_total", map[string]string{"route": route, "code": "200"}, 3},
		{"slipway_http_requests_total", map[string]string{"route": route, "code": "404"}, 1},
		{"slipway_http_requests_total", map[string]string{"route": route, "code": "503"}, 1},
		{"slipway_http_requests_total", map[string]string{"route": "unmatched", "code": "404"}, 1},
		{"slipway_http_request_errors_total", map[string]string{"route": route, "class": "4xx"}, 1},
		{"slipway_http_request_errors_total", map[string]string{"route": route, "class": "5xx"}, 1},
		{"slipway_http_request_duration_seconds", map[string]string{"route": route}, 5},
		{"slipway_predict_request_duration_seconds", map[string]string{"endpoint": "purchase:default", "version": "3"}, 1},
		{"slipway_predict_request_duration_seconds", map[string]string{"endpoint": "purchase:default", "version": "several"}, 1},
		{"slipway_predictions_total", map[string]string{"endpoint": "purchase:default", "version": "3"}, 10},
		{"slipway_predictions_total", map[string]string{"endpoint": "purchase:default", "version": "4"}, 2},
	} {
		if got := value_(t, fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	h := series(fams, "slipway_http_request_duration_seconds", map[string]string{"route": route}).Histogram
	if want := (1e-3 + 3e-3 + 1e-6 + 2 + 20e-3); math.Abs(h.GetSampleSum()-want) > 1e-9 {
		t.Errorf("duration sum = %v, want %v", h.GetSampleSum(), want)
	}
	// Cumulative buckets: 1 ms and less holds the 1 µs and 1 ms requests.
	for _, b := range h.Bucket {
		if b.GetUpperBound() == 0.001 && b.GetCumulativeCount() != 2 {
			t.Errorf("bucket le=0.001 holds %d requests, want 2", b.GetCumulativeCount())
		}
	}
	if fams["go_goroutines"] == nil || fams["process_cpu_seconds_total"] == nil {
		t.Error("the Go and process collectors are not registered")
	}
}

// A nil *Metrics (metrics turned off) does nothing and fails nothing.
func TestNilMetrics(t *testing.T) {
	var m *metrics.Metrics
	m.ObserveRequest("GET /healthz", 200, time.Millisecond)
	m.ObservePredict("e:default", 1, time.Millisecond)
	m.AddPredictions("e:default", 1, 3)
	s := newOnline(t)
	if m.Online(s, "embedded") != s {
		t.Error("a nil *Metrics wrapped the online store")
	}
	if err := errors.Join(m.PredictionLog(nil), m.Registry(nil), m.Monitors(nil)); err != nil {
		t.Error(err)
	}
}

func openRegistry(t *testing.T) registry.Store {
	t.Helper()
	reg, err := registrysqlite.New(t.Context(), registrysqlite.Config{Path: filepath.Join(t.TempDir(), "registry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg
}

func TestRegistryCollectors(t *testing.T) {
	reg := openRegistry(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	m := metrics.New(metrics.Config{Now: func() time.Time { return now }})
	if err := m.Registry(reg); err != nil {
		t.Fatal(err)
	}
	src := resource.ID{Kind: resource.KindSource, Name: "events", Variant: resource.DefaultVariant}
	feat := func(name, ts string) *resource.Resource {
		return &resource.Resource{ID: resource.ID{Kind: resource.KindFeature, Name: name, Variant: resource.DefaultVariant},
			Feature: &resource.FeatureSpec{Entity: "subscriber", Source: src, EntityColumn: "subscriber_id", ValueColumn: name, TimestampColumn: ts, Type: value.Int64}}
	}
	_, err := reg.Apply(t.Context(), &registry.ApplyParams{Resources: []*resource.Resource{
		{ID: resource.ID{Kind: resource.KindEntity, Name: "subscriber", Variant: resource.DefaultVariant}},
		{ID: src, Source: &resource.SourceSpec{Table: "events", TimestampColumn: "at"}},
		feat("opens", "at"), feat("clicks", "at"), feat("never", "at"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	for name, mark := range map[string]time.Time{"opens": now.Add(-90 * time.Minute), "clicks": now.Add(-36 * time.Hour)} {
		if err := reg.SetStatus(t.Context(), &registry.SetStatusParams{ID: feat(name, "").ID, Status: resource.StatusReady, Watermark: mark}); err != nil {
			t.Fatal(err)
		}
	}
	job := registry.NewJob{Kind: "materialize", Resource: feat("opens", "").ID, MaxAttempts: 1}
	jobs, err := reg.EnqueueJobs(t.Context(), &registry.EnqueueJobsParams{Jobs: []registry.NewJob{job, job, job}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.CancelJob(t.Context(), &registry.CancelJobParams{ID: jobs[1].ID, Now: now}); err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, m)
	want := map[string]float64{"queued": 2, "running": 0, "succeeded": 0, "failed": 0, "cancelled": 1}
	for st, n := range want {
		if got := value_(t, fams, "slipway_jobs", map[string]string{"status": st}); got != n {
			t.Errorf("slipway_jobs{status=%q} = %v, want %v", st, got, n)
		}
	}
	if got := value_(t, fams, "slipway_feature_materialization_lag_seconds", map[string]string{"feature": "opens:default"}); got != 5400 {
		t.Errorf("lag of opens = %v s, want 5400", got)
	}
	if got := value_(t, fams, "slipway_feature_materialization_lag_seconds", map[string]string{"feature": "clicks:default"}); got != 36*3600 {
		t.Errorf("lag of clicks = %v s, want %v", got, 36*3600)
	}
	if n := len(fams["slipway_feature_materialization_lag_seconds"].Metric); n != 2 {
		t.Errorf("%d lag series, want 2 (a feature never materialized has none)", n)
	}
	// A registry that does not answer leaves its metrics out, counted.
	reg.Close()
	fams = scrape(t, m)
	if fams["slipway_jobs"] != nil || fams["slipway_feature_materialization_lag_seconds"] != nil {
		t.Error("a closed registry still gave metrics")
	}
	// Counted while the scrape runs: the next scrape shows it.
	fams = scrape(t, m)
	for _, c := range []string{"jobs", "feature_lag"} {
		if got := value_(t, fams, "slipway_metrics_collect_errors_total", map[string]string{"collector": c}); got < 1 {
			t.Errorf("collect errors of %s = %v, want at least 1", c, got)
		}
	}
	if fams["slipway_http_requests_total"] == nil && fams["go_goroutines"] == nil {
		t.Error("the other metrics were left out with the registry's")
	}
}

func TestMonitors(t *testing.T) {
	m := metrics.New(metrics.Config{})
	fail := false
	err := m.Monitors(func(ctx context.Context) (*metrics.MonitorReport, error) {
		if fail {
			return nil, errors.New("registry down")
		}
		return &metrics.MonitorReport{
			Checks: []metrics.MonitorCheck{{Monitor: "purchase_health:default", Check: "drift", State: "fail"}, {Monitor: "purchase_health:default", Check: "freshness", State: "pass"}},
			Drift:  []metrics.FeatureDrift{{Monitor: "purchase_health:default", Feature: "opens_30d:v1", Test: "ks", Value: 0.003, Drifted: true}},
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, m)
	for _, c := range []struct {
		check, state string
		want         float64
	}{{"drift", "fail", 1}, {"drift", "pass", 0}, {"drift", "warn", 0}, {"freshness", "pass", 1}, {"freshness", "fail", 0}} {
		if got := value_(t, fams, "slipway_monitor_check_state", map[string]string{"monitor": "purchase_health:default", "check": c.check, "state": c.state}); got != c.want {
			t.Errorf("check %s state %s = %v, want %v", c.check, c.state, got, c.want)
		}
	}
	labels := map[string]string{"monitor": "purchase_health:default", "feature": "opens_30d:v1", "test": "ks"}
	if got := value_(t, fams, "slipway_monitor_drift", labels); got != 0.003 {
		t.Errorf("drift = %v, want 0.003", got)
	}
	if got := value_(t, fams, "slipway_monitor_drift_detected", labels); got != 1 {
		t.Errorf("drift detected = %v, want 1", got)
	}
	fail = true
	fams = scrape(t, m)
	if fams["slipway_monitor_check_state"] != nil {
		t.Error("a failed read still gave monitor states")
	}
	fail = false
	fams = scrape(t, m)
	if got := value_(t, fams, "slipway_metrics_collect_errors_total", map[string]string{"collector": "monitors"}); got != 1 {
		t.Errorf("collect errors = %v, want 1", got)
	}
	if got := value_(t, fams, "slipway_monitor_drift", labels); got != 0.003 {
		t.Errorf("drift after the registry answered again = %v, want 0.003", got)
	}
}
