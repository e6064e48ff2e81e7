package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeMetrics reads GET /metrics of a running server with the Prometheus
// text parser.
func scrapeMetrics(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	must(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET /metrics Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing GET /metrics: %v", err)
	}
	return fams
}

// metricValue is the value of family name's series with exactly labels (a
// histogram's sample count), and whether there is one.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		if len(m.Label) != len(labels) {
			continue
		}
		ok := true
		for _, l := range m.Label {
			ok = ok && labels[l.GetName()] == l.GetValue()
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// getInto GETs url into v, failing on any status but 200.
func getInto(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	must(t, json.Unmarshal(b, v))
}

type jobsAnswer struct {
	Jobs []struct {
		ID     int64  `json:"id"`
		Kind   string `json:"kind"`
		Status string `json:"status"`
		Rows   int64  `json:"rows"`
	} `json:"jobs"`
}

// TestMetricsScrape drives a real server on the quickstart's data with
// predictions, online-feature reads and a materialization, then checks that
// GET /metrics, read with the Prometheus text parser, counts exactly what
// was sent, under bounded labels only, and that the jobs gauge is the
// registry's count.
func TestMetricsScrape(t *testing.T) {
	dir := quickstart(t)
	base, stop := startServe(t, dir)
	subs := demoSubscribers(t, dir, 12)
	before := scrapeMetrics(t, base)

	const predictRoute = "POST /v1/endpoints/{name}/predict"
	const featuresRoute = "POST /v1/online-features"
	// Seven answered predict requests of 1 to 3 entities, three refused.
	predicted, versions := 0, map[int]bool{}
	for i := range 7 {
		n := 1 + i%3
		entities, _ := json.Marshal(subs[i : i+n])
		code, body := post(t, base+"/v1/endpoints/purchase/predict", fmt.Sprintf(`{"entities":%s}`, entities))
		if code != 200 {
			t.Fatalf("predict: %d %s", code, body)
		}
		var resp struct {
			Endpoint    string `json:"endpoint"`
			Version     int    `json:"version"`
			Predictions []struct {
				Version int `json:"version"`
			} `json:"predictions"`
		}
		must(t, json.Unmarshal(body, &resp))
		if resp.Endpoint != "purchase:default" || len(resp.Predictions) != n {
			t.Fatalf("predict answered %s", body)
		}
		predicted += n
		versions[resp.Version] = true
	}
	if len(versions) != 1 {
		t.Fatalf("the predictions came from versions %v; the test expects one", versions)
	}
	var version int
	for v := range versions {
		version = v
	}
	for _, c := range []struct {
		path, body string
		code       int
	}{
		{"/v1/endpoints/no_such_endpoint/predict", `{"entities":["x"]}`, 404},
		{"/v1/endpoints/" + subs[0] + "/predict", `{"entities":["x"]}`, 404},
		{"/v1/endpoints/purchase/predict", `{"entities":`, 400},
		{"/v1/online-features", `{"features":["opens_30d:v1","avg_order_value"],"entities":["` + subs[0] + `","` + subs[1] + `"]}`, 200},
		{"/v1/online-features", `{"features":["opens_30d:v1"],"entities":["` + subs[2] + `"]}`, 200},
		{"/v1/online-features", `{"features":["subscriber_region"],"entities":["` + subs[3] + `"]}`, 200},
		{"/v1/online-features", `{"features":["no_such_feature"],"entities":["x"]}`, 404},
		{"/v1/" + subs[4], `{}`, 404},
	} {
		if code, body := post(t, base+c.path, c.body); code != c.code {
			t.Fatalf("POST %s: %d %s; want %d", c.path, code, body, c.code)
		}
	}

	// A materialization of every feature, worked by the server.
	code, body := post(t, base+"/v1/materialize", `{"full":true}`)
	if code != 202 {
		t.Fatalf("materialize: %d %s", code, body)
	}
	var started jobsAnswer
	must(t, json.Unmarshal(body, &started))
	var materializedRows int64
	for _, j := range started.Jobs {
		deadline := time.Now().Add(60 * time.Second)
		for {
			var job struct {
				Status string `json:"status"`
				Rows   int64  `json:"rows"`
				Error  string `json:"error"`
			}
			getInto(t, fmt.Sprintf("%s/v1/jobs/%d", base, j.ID), &job)
			if job.Status == "succeeded" {
				if j.Kind == "materialize" {
					materializedRows += job.Rows
				}
				break
			}
			if job.Status == "failed" || job.Status == "cancelled" || time.Now().After(deadline) {
				t.Fatalf("materialize job %d: %s %s", j.ID, job.Status, job.Error)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if materializedRows == 0 {
		t.Fatalf("the materialization wrote nothing: %s", body)
	}

	// The prediction log ships every second: wait for every prediction.
	var after map[string]*dto.MetricFamily
	for deadline := time.Now().Add(20 * time.Second); ; {
		after = scrapeMetrics(t, base)
		if v, _ := metricValue(after, "slipway_prediction_log_shipped_entries_total", nil); int(v) == predicted {
			break
		}
		if time.Now().After(deadline) {
			v, _ := metricValue(after, "slipway_prediction_log_shipped_entries_total", nil)
			t.Fatalf("the prediction log shipped %v entries; want %d", v, predicted)
		}
		time.Sleep(200 * time.Millisecond)
	}
	scraped := time.Now()

	delta := func(name string, labels map[string]string) float64 {
		a, _ := metricValue(after, name, labels)
		b, _ := metricValue(before, name, labels)
		return a - b
	}
	endpoint := map[string]string{"endpoint": "purchase:default", "version": fmt.Sprint(version)}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"slipway_http_requests_total", map[string]string{"route": predictRoute, "code": "200"}, 7},
		{"slipway_http_requests_total", map[string]string{"route": predictRoute, "code": "404"}, 2},
		{"slipway_http_requests_total", map[string]string{"route": predictRoute, "code": "400"}, 1},
		{"slipway_http_request_errors_total", map[string]string{"route": predictRoute, "class": "4xx"}, 3},
		{"slipway_http_request_duration_seconds", map[string]string{"route": predictRoute}, 10},
		{"slipway_http_requests_total", map[string]string{"route": featuresRoute, "code": "200"}, 3},
		{"slipway_http_requests_total", map[string]string{"route": featuresRoute, "code": "404"}, 1},
		{"slipway_http_request_duration_seconds", map[string]string{"route": featuresRoute}, 4},
		{"slipway_http_requests_total", map[string]string{"route": "unmatched", "code": "404"}, 1},
		{"slipway_http_requests_total", map[string]string{"route": "POST /v1/materialize", "code": "202"}, 1},
		{"slipway_predict_request_duration_seconds", endpoint, 7},
		{"slipway_predictions_total", endpoint, float64(predicted)},
		// One batch read per answered request: 7 predict, 3 online features.
		{"slipway_online_store_read_duration_seconds", map[string]string{"store": "embedded"}, 10},
		{"slipway_prediction_log_shipped_entries_total", nil, float64(predicted)},
	} {
		if got := delta(c.name, c.labels); got != c.want {
			t.Errorf("%s%v rose by %v; want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, name := range []string{"slipway_prediction_log_dropped_entries_total", "slipway_prediction_log_ship_failures_total", "slipway_prediction_log_pending_bytes"} {
		if v, ok := metricValue(after, name, nil); !ok || v != 0 {
			t.Errorf("%s = %v (present %v); want 0", name, v, ok)
		}
	}
	if v, _ := metricValue(after, "slipway_online_store_errors_total", map[string]string{"store": "embedded", "operation": "read"}); v != 0 {
		t.Errorf("online read errors = %v", v)
	}

	// Rows written per feature add up to the materialize jobs' rows, and
	// each feature's lag is now minus its watermark in the registry.
	var features struct {
		Resources []struct {
			Name      string    `json:"name"`
			Variant   string    `json:"variant"`
			Watermark time.Time `json:"watermark"`
		} `json:"resources"`
	}
	getInto(t, base+"/v1/resources/feature", &features)
	registered := map[string]time.Time{}
	for _, f := range features.Resources {
		registered[f.Name+":"+f.Variant] = f.Watermark
	}
	var rows float64
	for _, m := range after["slipway_materialized_rows_total"].GetMetric() {
		feature := m.Label[0].GetValue()
		if _, ok := registered[feature]; !ok {
			t.Errorf("slipway_materialized_rows_total has feature %q, which is not registered", feature)
		}
		rows += m.Counter.GetValue()
	}
	if rows != float64(materializedRows) {
		t.Errorf("slipway_materialized_rows_total adds up to %v; the materialize jobs wrote %d", rows, materializedRows)
	}
	lags := 0
	for feature, mark := range registered {
		lag, ok := metricValue(after, "slipway_feature_materialization_lag_seconds", map[string]string{"feature": feature})
		if mark.IsZero() {
			if ok {
				t.Errorf("feature %s has no watermark but a lag of %v", feature, lag)
			}
			continue
		}
		lags++
		if want := scraped.Sub(mark).Seconds(); !ok || lag > want+1 || lag < want-30 {
			t.Errorf("lag of %s = %v (present %v); want about %v (now minus its watermark %s)", feature, lag, ok, want, mark)
		}
	}
	if lags == 0 {
		t.Error("no feature has a watermark: the lag was not checked")
	}

	// The jobs gauge is the registry's count of each status.
	for _, st := range []string{"queued", "running", "succeeded", "failed", "cancelled"} {
		var listed jobsAnswer
		getInto(t, base+"/v1/jobs?limit=1000&status="+st, &listed)
		if v, ok := metricValue(after, "slipway_jobs", map[string]string{"status": st}); !ok || v != float64(len(listed.Jobs)) {
			t.Errorf("slipway_jobs{status=%q} = %v (present %v); the registry lists %d", st, v, ok, len(listed.Jobs))
		}
	}

	// Labels are bounded: routes are patterns, endpoints and features are
	// registered names; no entity key or made-up name is a label value.
	pattern := regexp.MustCompile(`^(GET|POST|DELETE) /[a-z0-9/{}_-]*$`)
	for name, f := range after {
		if !strings.HasPrefix(name, "slipway_") {
			continue
		}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				v := l.GetValue()
				if strings.Contains(v, "no_such") || slices.ContainsFunc(subs, func(s string) bool { return strings.Contains(v, s) }) {
					t.Errorf("%s has label %s=%q: an entity key or a name a client made up", name, l.GetName(), v)
				}
				switch l.GetName() {
				case "route":
					if v != "unmatched" && !pattern.MatchString(v) {
						t.Errorf("%s has route %q, not a route pattern", name, v)
					}
				case "endpoint":
					if v != "purchase:default" {
						t.Errorf("%s has endpoint %q", name, v)
					}
				case "feature":
					if _, ok := registered[v]; !ok {
						t.Errorf("%s has feature %q, which is not registered", name, v)
					}
				}
			}
		}
	}
	stop()

	// Turned off in slipway.yaml: no /metrics, and a 404 that says why.
	must(t, os.WriteFile(filepath.Join(dir, "slipway.yaml"), []byte("metrics:\n  enabled: false\n"), 0o644))
	base, _ = startServe(t, dir)
	resp, err := http.Get(base + "/metrics")
	must(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), "metrics: enabled: false") {
		t.Errorf("GET /metrics with metrics off: %d %s", resp.StatusCode, b)
	}
}
