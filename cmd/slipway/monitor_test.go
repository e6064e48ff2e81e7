package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/cli"
	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/platform"
)

const quickMonitor = `monitors:
  - name: quick_health
    endpoint: purchase
    checks: [freshness, skew]
    schedule: "@daily"
    notify: [{webhook: "${SLIPWAY_TEST_MONITOR_HOOK}"}]
`

// TestMonitorEndToEnd: on the quickstart, a monitor of the endpoint
// purchase checking freshness and skew is applied, listed and shown; a run
// passes (the features are fresh, what was served is what training reads);
// then orders arrive and the order statistics are rebuilt without being
// materialized, and the next run finds the skew it caused: the webhook,
// named by an environment variable, gets one failing alert per skewed
// feature, and the report shows them failing since that run.
func TestMonitorEndToEnd(t *testing.T) {
	var mu sync.Mutex
	var alerts []coordinator.Alert
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var a coordinator.Alert
		if err := json.Unmarshal(b, &a); err != nil {
			t.Errorf("alert body %s: %v", b, err)
		}
		mu.Lock()
		alerts = append(alerts, a)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	d := quickstart(t)
	env := []string{"SLIPWAY_DATA_DIR=", "SLIPWAY_TEST_MONITOR_HOOK=" + hook.URL + "/hooks/T0/secret"}
	run := func(args ...string) result {
		t.Helper()
		r := execSlipway(t, d, env, args...)
		if r.code != 0 {
			t.Fatalf("slipway %s: exit %d\n%s\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r
	}
	must(t, os.MkdirAll(filepath.Join(d, "monitors"), 0o755))
	must(t, os.WriteFile(filepath.Join(d, "monitors", "monitors.yaml"), []byte(quickMonitor), 0o644))
	run("apply", "monitors")
	if out := run("list", "monitors").stdout; !strings.Contains(out, "quick_health:default") || !strings.Contains(out, "purchase:default") || !strings.Contains(out, "freshness, skew") {
		t.Errorf("list monitors:\n%s", out)
	}
	if out := run("show", "monitor", "quick_health").stdout; !strings.Contains(out, "${SLIPWAY_TEST_MONITOR_HOOK}") || strings.Contains(out, "secret") || !strings.Contains(out, "sample 1000, max share 0") {
		t.Errorf("show monitor (the webhook as its reference, never resolved):\n%s", out)
	}

	if out := run("monitor", "report", "quick_health").stdout; !strings.Contains(out, "no runs yet: it runs @daily, or now with slipway monitor run quick_health") {
		t.Errorf("report before any run:\n%s", out)
	}
	if out := run("jobs", "list", "--kind", "monitor").stdout; strings.Contains(out, "monitor ") {
		t.Errorf("monitor jobs before any run:\n%s", out)
	}
	subs := subscriberIDs(t, d)
	run(append([]string{"predict", "purchase"}, subs[:40]...)...)
	monitorRun := func() *coordinator.MonitorRunResult {
		t.Helper()
		var body cli.MonitorRunBody
		if err := json.Unmarshal([]byte(run("monitor", "run", "quick_health", "--json").stdout), &body); err != nil {
			t.Fatal(err)
		}
		if body.Result == nil {
			t.Fatalf("monitor run left no result: %+v", body.Jobs)
		}
		return body.Result
	}
	first := monitorRun()
	report := func() *platform.MonitorReport {
		t.Helper()
		var rep platform.MonitorReport
		if err := json.Unmarshal([]byte(run("monitor", "report", "quick_health", "--json").stdout), &rep); err != nil {
			t.Fatal(err)
		}
		return &rep
	}
	rep := report()
	if first.Fail != 0 || first.Pass == 0 || len(rep.Runs) != 1 || rep.Runs[0].Run != first.Run {
		t.Fatalf("the quickstart's first run: %+v; report %+v", first, rep)
	}
	var skewPass int
	for _, r := range rep.Latest {
		if r.State == "fail" {
			t.Errorf("the quickstart: %s/%s fails: %s", r.Check, r.Subject, r.Message)
		}
		if r.Check == "skew" && r.State == "pass" {
			skewPass++
		}
	}
	if skewPass < 8 {
		t.Errorf("the quickstart: %d features pass the skew check; want the model's 8: %+v", skewPass, rep.Latest)
	}

	// New orders, an hour ago, for 10 of the subscribers asked about; the
	// statistics rebuilt, the online store left as it was.
	f, err := os.OpenFile(filepath.Join(d, "data", "orders.csv"), os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	at := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04:05.000000")
	for i, s := range subs[:10] {
		fmt.Fprintf(f, "ord_mon_%d,%s,shop_1,,%s,50.00\n", i, s, at)
	}
	must(t, f.Close())
	run("run", "subscriber_order_stats", "--rebuild")
	run(append([]string{"predict", "purchase"}, subs[:20]...)...)
	second := monitorRun()
	rep = report()
	var failing []string
	for _, r := range rep.Latest {
		if r.State != "fail" {
			continue
		}
		failing = append(failing, r.Subject)
		if r.Check != "skew" || r.Value == nil || *r.Value <= 0 || r.Threshold == nil || *r.Threshold != 0 || !r.Since.Equal(rep.Runs[0].At) {
			t.Errorf("failing result %+v; want skew above its threshold 0 since the last run (%v)", r, rep.Runs[0].At)
		}
	}
	slices.Sort(failing)
	if !slices.Contains(failing, "orders_count") || second.Fail != len(failing) {
		t.Fatalf("after the stale rebuild: failing %v (run %+v); want orders_count among them", failing, second)
	}
	for _, s := range failing {
		if s != "orders_count" && s != "avg_order_value" {
			t.Errorf("%s fails the skew check; only the order features went stale", s)
		}
	}
	mu.Lock()
	got := slices.Clone(alerts)
	mu.Unlock()
	var alerted []string
	for _, a := range got {
		alerted = append(alerted, a.Subject)
		if a.Change != "failing" || a.Monitor != "quick_health" || a.Endpoint != "purchase" || a.Check != "skew" || a.Previous != "pass" ||
			a.Run != second.Run || a.More != "slipway monitor report quick_health" || !strings.Contains(a.Text, "[failing] monitor quick_health") {
			t.Errorf("alert %+v", a)
		}
	}
	slices.Sort(alerted)
	if !slices.Equal(alerted, failing) || second.Alerts != len(failing) {
		t.Errorf("alerts about %v (%d sent); want one per failing subject %v", alerted, second.Alerts, failing)
	}

	if out := run("jobs", "list", "--kind", "monitor").stdout; strings.Count(out, "quick_health") != 2 {
		t.Errorf("jobs list --kind monitor: want the 2 runs:\n%s", out)
	}

	// The report a person reads.
	out := run("monitor", "report", "quick_health").stdout
	for _, want := range []string{"monitor quick_health on endpoint purchase:default: checks freshness, skew, schedule @daily, 1 webhook(s)",
		"latest state:", "runs (newest first):", fmt.Sprintf("  %d ", second.Run), "skew/orders_count"} {
		if !strings.Contains(out, want) {
			t.Errorf("monitor report has no %q:\n%s", want, out)
		}
	}
	if !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool {
		f := strings.Fields(l)
		return len(f) > 3 && f[0] == "skew" && f[1] == "orders_count" && f[2] == "fail"
	}) {
		t.Errorf("monitor report has no line for skew orders_count failing:\n%s", out)
	}
	if r := execSlipway(t, d, env, "monitor", "report", "no_such_monitor"); r.code == 0 || !strings.Contains(r.stderr, "no_such_monitor") {
		t.Errorf("report of an unknown monitor: exit %d\n%s", r.code, r.stderr)
	}
}
