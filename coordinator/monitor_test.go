package coordinator_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// webhook is a real HTTP server receiving alerts: it answers the first
// failFirst requests with status fail, then 200, and keeps every body.
type webhook struct {
	*httptest.Server
	mu        sync.Mutex
	requests  int
	failFirst int
	fail      int
	delivered []coordinator.Alert
}

func newWebhook(t *testing.T, failFirst, fail int) *webhook {
	w := &webhook{failFirst: failFirst, fail: fail}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		defer w.mu.Unlock()
		w.requests++
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook got %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		if w.requests <= w.failFirst {
			rw.WriteHeader(w.fail)
			return
		}
		var a coordinator.Alert
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			t.Errorf("webhook got a body that is not an Alert: %v: %s", err, body)
		}
		w.delivered = append(w.delivered, a)
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *webhook) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.requests
}

func (w *webhook) alerts() []coordinator.Alert {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]coordinator.Alert(nil), w.delivered...)
}

// monitorSetup registers the endpoint purchase and the monitor
// purchase_health over it, notifying hooks.
func monitorSetup(t *testing.T, checks []string, hooks ...string) (*coordinator.Coordinator, resource.ID) {
	t.Helper()
	c := newCoordinator(t, t.TempDir())
	ep := &resource.Resource{ID: resource.ID{Kind: resource.KindEndpoint, Name: "purchase", Variant: "default"},
		Endpoint: &resource.EndpointSpec{Model: "purchase_model", Alias: "production"}}
	spec := resource.DefaultMonitorSpec(ep.ID)
	spec.Checks = checks
	spec.Performance.Feedback = "purchased"
	for _, h := range hooks {
		spec.Notify = append(spec.Notify, resource.MonitorNotify{Webhook: h})
	}
	m := &resource.Resource{ID: resource.ID{Kind: resource.KindMonitor, Name: "purchase_health", Variant: "default"}, Monitor: spec}
	ep.State.Status, m.State.Status = resource.StatusReady, resource.StatusReady
	if _, err := c.Registry.Apply(t.Context(), &registry.ApplyParams{Resources: []*resource.Resource{ep, m}}); err != nil {
		t.Fatal(err)
	}
	c.Alerts = &coordinator.Alerter{Backoff: time.Millisecond}
	return c, m.ID
}

// runMonitor queues a run of the monitor at the clock's time and works it.
func runMonitor(t *testing.T, c *coordinator.Coordinator, id resource.ID) *registry.Job {
	t.Helper()
	j, err := c.EnqueueMonitor(t.Context(), id, "test")
	if err != nil {
		t.Fatal(err)
	}
	ended, err := fastWorker(c).Work(t.Context(), []int64{j.ID})
	if err != nil || len(ended) != 1 {
		t.Fatalf("working the monitor job: %v, %v", ended, err)
	}
	if ended[0].Status != registry.JobSucceeded {
		t.Fatalf("monitor job %s: %s", ended[0].Status, ended[0].Error)
	}
	return ended[0]
}

func ptr(f float64) *float64 { return &f }

// TestMonitorPassFailRecover runs a monitor whose drift check (a function
// of the test) passes, fails twice, then recovers, next to a freshness
// check that cannot run once, a skew check that panics, and no
// performance check in this build: every run's results are recorded with
// since when; exactly one failing and one recovered alert reach the
// webhook (which answers 503 twice first), each with what failed, by how
// much and since when; a webhook that always fails is retried 5 times,
// written in the log, and does not fail the run.
func TestMonitorPassFailRecover(t *testing.T) {
	good := newWebhook(t, 2, http.StatusServiceUnavailable)
	broken := newWebhook(t, 1<<30, http.StatusInternalServerError)
	rejecting := newWebhook(t, 1<<30, http.StatusNotFound)
	c, id := monitorSetup(t, []string{"drift", "freshness", "performance", "skew"}, good.URL+"/T0/secret-token", "${SLIPWAY_TEST_BROKEN_HOOK}", rejecting.URL, "${SLIPWAY_TEST_UNSET_HOOK}")
	c.Getenv = func(name string) (string, bool) {
		if name == "SLIPWAY_TEST_BROKEN_HOOK" {
			return broken.URL, true
		}
		return "", false
	}
	clock := &fakeClock{}
	c.Now = clock.Now
	phase := 0
	drifted := []bool{false, true, true, false}
	c.Checks = map[string]coordinator.MonitorChecker{
		"drift": func(ctx context.Context, m *resource.Resource, now time.Time) ([]registry.MonitorResult, error) {
			if m.Monitor == nil || m.Name != "purchase_health" || !now.Equal(clock.Now().UTC().Truncate(time.Microsecond)) {
				t.Errorf("the drift check got %s at %v", m.ID, now)
			}
			opens := registry.MonitorResult{Subject: "opens_30d", State: "pass", Method: "wasserstein", Value: ptr(0.02), Threshold: ptr(m.Monitor.Drift.Thresholds.Wasserstein),
				Message: "opens_30d: normed Wasserstein distance 0.02, threshold 0.1"}
			if drifted[phase] {
				opens.State, opens.Value, opens.Message = "fail", ptr(0.23), "opens_30d drifted: normed Wasserstein distance 0.23, threshold 0.1"
			}
			return []registry.MonitorResult{opens, {Subject: "dataset", State: "pass", Method: "share", Value: ptr(0), Threshold: ptr(0.5), Message: "no dataset drift"}}, nil
		},
		"freshness": func(ctx context.Context, m *resource.Resource, now time.Time) ([]registry.MonitorResult, error) {
			if phase == 1 {
				return nil, errors.New("online store unreachable")
			}
			return []registry.MonitorResult{{Subject: "opens_30d:default", State: "pass", Method: "age", Value: ptr(60), Message: "fresh"}}, nil
		},
		"skew": func(ctx context.Context, m *resource.Resource, now time.Time) ([]registry.MonitorResult, error) {
			var nothing map[string]int
			nothing["x"]++ // a broken check
			return nil, nil
		},
	}
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var jobs []*registry.Job
	for phase = range drifted {
		clock.t = start.Add(time.Duration(phase) * time.Hour)
		jobs = append(jobs, runMonitor(t, c, id))
	}
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Hour) }

	// The runs, newest first, with their results and since when.
	runs, err := c.Registry.ListMonitorRuns(t.Context(), &registry.ListMonitorRunsParams{Monitor: id})
	if err != nil || len(runs) != 4 {
		t.Fatalf("%d runs recorded, %v; want 4", len(runs), err)
	}
	for i, run := range runs {
		n := 3 - i
		if !run.At.Equal(at(n)) || run.Job != jobs[n].ID {
			t.Errorf("run %d at %v by job %d; want %v, job %d", i, run.At, run.Job, at(n), jobs[n].ID)
		}
		byKey := map[string]registry.MonitorResult{}
		for _, r := range run.Results {
			byKey[r.Check+"/"+r.Subject] = r
		}
		if len(run.Results) != 5 {
			t.Errorf("run at %v: %d results %v; want 5 (drift opens_30d and dataset, freshness, performance, skew)", run.At, len(run.Results), run.Results)
		}
		opens := byKey["drift/opens_30d"]
		wantState, wantSince := "pass", at(0)
		switch n {
		case 1, 2:
			wantState, wantSince = "fail", at(1)
		case 3:
			wantSince = at(3)
		}
		if opens.State != wantState || !opens.Since.Equal(wantSince) {
			t.Errorf("run %d: drift/opens_30d %s since %v; want %s since %v", n, opens.State, opens.Since, wantState, wantSince)
		}
		if p := byKey["performance/check"]; p.State != "warn" || p.Message != "the performance check is not available in this build" {
			t.Errorf("run %d: performance %+v; want one warning that it is not available", n, p)
		}
		if s := byKey["skew/check"]; s.State != "warn" || !strings.HasPrefix(s.Message, "the skew check could not run: panic: assignment to entry in nil map") {
			t.Errorf("run %d: skew %+v; want a warning naming the panic", n, s)
		}
		fresh := byKey["freshness/check"]
		if n == 1 && (fresh.State != "warn" || fresh.Message != "the freshness check could not run: online store unreachable") {
			t.Errorf("run 1: freshness %+v; want a warning naming the error", fresh)
		}
		if f := byKey["freshness/opens_30d:default"]; n != 1 && (f.State != "pass" || !f.Since.Equal(at(0))) {
			t.Errorf("run %d: freshness %+v; want pass since the first run (the run that could not check does not end the streak)", n, f)
		}
	}
	var res coordinator.MonitorRunResult
	if err := json.Unmarshal(jobs[1].Result, &res); err != nil || res.Run != runs[2].ID || res.Pass != 1 || res.Warn != 3 || res.Fail != 1 {
		t.Errorf("job result of the failing run %s (%v); want run %d with 1 pass, 3 warn, 1 fail", jobs[1].Result, err, runs[2].ID)
	}
	// good got 1 alert on run 1 after two 503s, 1 on run 3; broken and
	// rejecting none; the unset variable is reported.
	if res.Alerts != 1 || res.AlertsFailed != 3 {
		t.Errorf("run 1 delivered %d alerts and gave up on %d; want 1 and 3 (broken, rejecting, unset)", res.Alerts, res.AlertsFailed)
	}

	got := good.alerts()
	if len(got) != 2 {
		t.Fatalf("the webhook got %d alerts: %+v; want exactly 2 (failing, recovered)", len(got), got)
	}
	failing, recovered := got[0], got[1]
	if failing.Change != "failing" || failing.Monitor != "purchase_health" || failing.Endpoint != "purchase" || failing.Check != "drift" ||
		failing.Subject != "opens_30d" || failing.State != "fail" || failing.Previous != "pass" || failing.Method != "wasserstein" ||
		failing.Value == nil || *failing.Value != 0.23 || failing.Threshold == nil || *failing.Threshold != 0.1 ||
		!failing.FailingSince.Equal(at(1)) || !failing.At.Equal(at(1)) || failing.Job != jobs[1].ID || failing.Run != runs[2].ID ||
		failing.More != "slipway monitor report purchase_health" || failing.Message != "opens_30d drifted: normed Wasserstein distance 0.23, threshold 0.1" {
		t.Errorf("failing alert %+v", failing)
	}
	wantText := "[failing] monitor purchase_health, endpoint purchase: drift check on opens_30d is failing since 2026-05-01 11:00 UTC (wasserstein 0.23, threshold 0.1): opens_30d drifted: normed Wasserstein distance 0.23, threshold 0.1. More: slipway monitor report purchase_health"
	if failing.Text != wantText {
		t.Errorf("failing alert's text\n%s\nwant\n%s", failing.Text, wantText)
	}
	if recovered.Change != "recovered" || recovered.Check != "drift" || recovered.Subject != "opens_30d" || recovered.State != "pass" ||
		recovered.Previous != "fail" || !recovered.FailingSince.Equal(at(1)) || !recovered.At.Equal(at(3)) || recovered.Job != jobs[3].ID ||
		*recovered.Value != 0.02 {
		t.Errorf("recovered alert %+v", recovered)
	}
	if good.count() != 4 || broken.count() != 10 || rejecting.count() != 2 {
		t.Errorf("requests: good %d, broken %d, rejecting %d; want 4 (2 refused, 2 delivered), 10 (5 per alert), 2 (4xx: not retried)", good.count(), broken.count(), rejecting.count())
	}

	log := jobLog(t, c, jobs[1].ID)
	for _, want := range []string{
		"drift: 1 pass, 0 warn, 1 fail",
		"freshness: the freshness check could not run: online store unreachable",
		"performance: the performance check is not available in this build",
		"alert failing drift/opens_30d to webhook http://" + strings.TrimPrefix(good.URL, "http://") + "/…: attempt 1 of 5: HTTP 503; retrying in 1ms",
		"attempt 2 of 5: HTTP 503; retrying in 2ms",
		"alert failing drift/opens_30d to webhook http://" + strings.TrimPrefix(good.URL, "http://") + "/…: attempt 3 of 5 delivered",
		"alert failing drift/opens_30d to webhook ${SLIPWAY_TEST_BROKEN_HOOK}: attempt 4 of 5: HTTP 500; retrying in 8ms",
		"alert failing drift/opens_30d to webhook ${SLIPWAY_TEST_BROKEN_HOOK}: attempt 5 of 5: HTTP 500; giving up",
		"attempt 1 of 5: HTTP 404 (not retried); giving up",
		"webhook ${SLIPWAY_TEST_UNSET_HOOK}: the environment variable SLIPWAY_TEST_UNSET_HOOK is not set; export it where slipway runs the monitor; 1 alert(s) not sent",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the failing run's log has no %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "secret-token") || strings.Contains(log, broken.URL) {
		t.Errorf("the log shows a webhook's URL:\n%s", log)
	}
	if l := jobLog(t, c, jobs[2].ID); strings.Contains(l, "alert ") {
		t.Errorf("the second failing run alerted again:\n%s", l)
	}
	if r, err := c.Registry.Get(t.Context(), id); err != nil || r.State.Status != resource.StatusReady {
		t.Errorf("the monitor after its runs: %v, %v; want ready", r.State, err)
	}
}

// TestMonitorScheduled: a monitor's schedule queues its runs.
func TestMonitorScheduled(t *testing.T) {
	c, id := monitorSetup(t, []string{"drift"})
	clock := &fakeClock{}
	c.Now = clock.Now
	r, err := c.Registry.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	h1 := r.State.CreatedAt.UTC().Truncate(time.Hour).Add(time.Hour)
	s := &coordinator.Scheduler{Coordinator: c}
	if got := tick(t, s, clock, h1); len(got) != 1 || got[0] != "schedule:monitor/purchase_health:default@"+h1.Format(time.RFC3339) {
		t.Fatalf("at the first hour: queued %v", got)
	}
	drain(t, c)
	runs, err := c.Registry.ListMonitorRuns(t.Context(), &registry.ListMonitorRunsParams{Monitor: id})
	if err != nil || len(runs) != 1 || len(runs[0].Results) != 1 || runs[0].Results[0].Message != "the drift check is not available in this build" {
		t.Fatalf("scheduled run: %+v, %v", runs, err)
	}
	if got := tick(t, s, clock, h1.Add(30*time.Minute)); len(got) != 0 {
		t.Errorf("half an hour later: queued %v", got)
	}
}

// TestEnqueueMonitorRefusesOtherKinds: only a monitor runs as a monitor.
func TestEnqueueMonitorRefusesOtherKinds(t *testing.T) {
	c, _ := monitorSetup(t, []string{"drift"})
	if _, err := c.EnqueueMonitor(t.Context(), resource.ID{Kind: resource.KindEndpoint, Name: "purchase", Variant: "default"}, "test"); err == nil || !strings.Contains(err.Error(), "is not a monitor") {
		t.Errorf("EnqueueMonitor(an endpoint) = %v", err)
	}
	if _, err := c.EnqueueMonitor(t.Context(), resource.ID{Kind: resource.KindMonitor, Name: "nope", Variant: "default"}, "test"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("EnqueueMonitor(unknown) = %v; want ErrNotFound", err)
	}
}

// TestMonitorWebhookDown: a webhook that fails every retry of one alert is
// not tried again for the run's other alerts, while another webhook gets
// them all.
func TestMonitorWebhookDown(t *testing.T) {
	down := newWebhook(t, 1<<30, http.StatusBadGateway)
	up := newWebhook(t, 0, 0)
	c, id := monitorSetup(t, []string{"drift"}, down.URL, up.URL)
	c.Checks = map[string]coordinator.MonitorChecker{
		"drift": func(ctx context.Context, m *resource.Resource, now time.Time) ([]registry.MonitorResult, error) {
			return []registry.MonitorResult{{Subject: "a", State: "fail"}, {Subject: "b", State: "fail"}, {Subject: "c", State: "fail"}}, nil
		},
	}
	j := runMonitor(t, c, id)
	var res coordinator.MonitorRunResult
	if err := json.Unmarshal(j.Result, &res); err != nil || res.Fail != 3 || res.Alerts != 3 || res.AlertsFailed != 3 {
		t.Errorf("result %s (%v); want 3 fail, 3 alerts sent and 3 not", j.Result, err)
	}
	if down.count() != 5 || len(up.alerts()) != 3 {
		t.Errorf("the down webhook got %d requests (want 5: one alert's attempts), the other %d alerts (want 3)", down.count(), len(up.alerts()))
	}
	if log := jobLog(t, c, j.ID); !strings.Contains(log, "is not answering; its 2 other alert(s) of this run are not sent") {
		t.Errorf("log:\n%s", log)
	}
}

// TestMonitorCheckWithoutResults: a check that finds nothing to check
// records a warning saying so, not silence.
func TestMonitorCheckWithoutResults(t *testing.T) {
	c, id := monitorSetup(t, []string{"freshness"})
	c.Checks = map[string]coordinator.MonitorChecker{
		"freshness": func(ctx context.Context, m *resource.Resource, now time.Time) ([]registry.MonitorResult, error) {
			return nil, nil
		},
	}
	runMonitor(t, c, id)
	runs, err := c.Registry.ListMonitorRuns(t.Context(), &registry.ListMonitorRunsParams{Monitor: id})
	if err != nil || len(runs) != 1 || len(runs[0].Results) != 1 {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	if r := runs[0].Results[0]; r.Check != "freshness" || r.Subject != "check" || r.State != "warn" || r.Message != "the freshness check found nothing to check" {
		t.Errorf("result %+v", r)
	}
}

// TestEnqueueMonitorJoinsTheActiveRun: a run asked for while one is queued
// is that run, not a second one.
func TestEnqueueMonitorJoinsTheActiveRun(t *testing.T) {
	c, id := monitorSetup(t, []string{"drift"})
	a, err := c.EnqueueMonitor(t.Context(), id, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.EnqueueMonitor(t.Context(), id, "b")
	if err != nil || b.ID != a.ID {
		t.Fatalf("second run while the first is queued: job %v, %v; want job %d", b, err, a.ID)
	}
	drain(t, c)
	d, err := c.EnqueueMonitor(t.Context(), id, "d")
	if err != nil || d.ID == a.ID {
		t.Errorf("a run after the first ended: job %v, %v; want a new one", d, err)
	}
}
