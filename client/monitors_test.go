package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/client"
	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/internal/backends"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
)

// TestMonitorReport: a monitor whose drift check (a function of the test)
// passes, fails, then recovers, run by the coordinator's jobs on a
// platform's registry: its report, from the platform and through a real
// server and this client alike, shows each subject's latest state since
// when, and the runs with their failing subjects; the webhook got one
// failing and one recovered alert. A run asked through the client runs the
// build's checks and is recorded too.
func TestMonitorReport(t *testing.T) {
	ctx := t.Context()
	p, err := platform.Open(ctx, platform.Options{DataDir: filepath.Join(t.TempDir(), ".slipway"), Config: config.Default(), Backends: backends.All(), Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	reg, err := p.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var alerts []coordinator.Alert
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var a coordinator.Alert
		if err := json.Unmarshal(b, &a); err != nil {
			t.Errorf("alert body: %v", err)
		}
		mu.Lock()
		alerts = append(alerts, a)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)

	ep := &resource.Resource{ID: resource.ID{Kind: resource.KindEndpoint, Name: "purchase", Variant: "default"},
		Endpoint: &resource.EndpointSpec{Model: "purchase_model", Alias: "production"}}
	spec := resource.DefaultMonitorSpec(ep.ID)
	spec.Checks = []string{resource.CheckDrift}
	spec.Notify = []resource.MonitorNotify{{Webhook: hook.URL}}
	mon := &resource.Resource{ID: resource.ID{Kind: resource.KindMonitor, Name: "purchase_health", Variant: "default"}, Monitor: spec}
	if _, err := reg.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{ep, mon}}); err != nil {
		t.Fatal(err)
	}

	start := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Hour) }
	phase := 0
	c := &coordinator.Coordinator{Registry: reg, Alerts: &coordinator.Alerter{Backoff: time.Millisecond},
		Now: func() time.Time { return at(phase) },
		Checks: map[string]coordinator.MonitorChecker{
			resource.CheckDrift: func(ctx context.Context, m *resource.Resource, now time.Time) ([]registry.MonitorResult, error) {
				v, state := 0.03, "pass"
				if phase == 1 {
					v, state = 0.31, "fail"
				}
				th := 0.1
				return []registry.MonitorResult{
					{Subject: "dataset", State: "pass", Message: "no dataset drift"},
					{Subject: "opens_30d", State: state, Method: "wasserstein", Value: &v, Threshold: &th, Message: "opens_30d distance"},
				}, nil
			},
		}}
	var jobs []int64
	for phase = range 3 {
		j, err := c.EnqueueMonitor(ctx, mon.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		ended, err := (&coordinator.Worker{Coordinator: c}).Work(ctx, []int64{j.ID})
		if err != nil || ended[0].Status != registry.JobSucceeded {
			t.Fatalf("monitor job: %v, %+v", err, ended)
		}
		jobs = append(jobs, j.ID)
	}

	srv := httptest.NewServer(server.New(server.Config{Platform: p}))
	t.Cleanup(srv.Close)
	cl, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ref := mon.ID.Ref()
	local, err := p.MonitorReport(ctx, &platform.MonitorReportParams{Monitor: ref})
	if err != nil {
		t.Fatal(err)
	}
	remote, err := cl.MonitorReport(ctx, &platform.MonitorReportParams{Monitor: ref})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(local, remote) {
		t.Errorf("the report through the server differs:\nlocal  %+v\nremote %+v", local, remote)
	}
	type latest struct {
		check, subject, state string
		since                 time.Time
	}
	var got []latest
	for _, r := range remote.Latest {
		got = append(got, latest{r.Check, r.Subject, r.State, r.Since})
	}
	if want := []latest{{"drift", "dataset", "pass", at(0)}, {"drift", "opens_30d", "pass", at(2)}}; !reflect.DeepEqual(got, want) {
		t.Errorf("latest %v; want %v", got, want)
	}
	if remote.Monitor != "purchase_health" || remote.Endpoint != "purchase:default" || remote.Webhooks != 1 || remote.Schedule != "@hourly" {
		t.Errorf("report head %+v", remote)
	}
	wantRuns := []platform.MonitorRunSummary{
		{At: at(2), Job: jobs[2], Pass: 2, Failing: []string{}},
		{At: at(1), Job: jobs[1], Pass: 1, Fail: 1, Failing: []string{"drift/opens_30d"}},
		{At: at(0), Job: jobs[0], Pass: 2, Failing: []string{}},
	}
	if len(remote.Runs) != 3 {
		t.Fatalf("runs %+v; want 3", remote.Runs)
	}
	for i := range wantRuns {
		wantRuns[i].Run = remote.Runs[i].Run
	}
	if !reflect.DeepEqual(remote.Runs, wantRuns) || remote.Runs[0].Run <= remote.Runs[1].Run {
		t.Errorf("runs\n got %+v\nwant %+v (newest first)", remote.Runs, wantRuns)
	}
	one, err := cl.MonitorReport(ctx, &platform.MonitorReportParams{Monitor: ref, Runs: 1})
	if err != nil || len(one.Runs) != 1 || one.Runs[0].Job != jobs[2] {
		t.Errorf("--runs 1: %+v, %v", one, err)
	}
	mu.Lock()
	if len(alerts) != 2 || alerts[0].Change != "failing" || !alerts[0].FailingSince.Equal(at(1)) || alerts[1].Change != "recovered" || !alerts[1].At.Equal(at(2)) {
		t.Errorf("alerts %+v; want failing at %v then recovered at %v", alerts, at(1), at(2))
	}
	mu.Unlock()

	// Errors: an unknown monitor, a bad count of runs.
	for _, api := range []platform.API{p, cl} {
		if _, err := api.MonitorReport(ctx, &platform.MonitorReportParams{Monitor: resource.Ref{Name: "nope", Variant: "default"}}); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("%T: report of an unknown monitor: %v; want ErrNotFound", api, err)
		}
		if _, err := api.MonitorReport(ctx, &platform.MonitorReportParams{Monitor: ref, Runs: -1}); !errors.Is(err, platform.ErrInvalid) {
			t.Errorf("%T: runs -1: %v; want ErrInvalid", api, err)
		}
		if _, err := api.RunMonitor(ctx, &platform.MonitorRunParams{Monitor: resource.Ref{Name: "nope", Variant: "default"}}); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("%T: run of an unknown monitor: %v; want ErrNotFound", api, err)
		}
	}

	// A run through the client: the build's drift check, which finds no
	// version served, is recorded, and the report shows opens_30d as of
	// the run before.
	js, err := cl.RunMonitor(ctx, &platform.MonitorRunParams{Monitor: ref, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	ended, err := platform.Wait(waitCtx, cl, js)
	if err != nil || len(ended) != 1 || ended[0].Status != registry.JobSucceeded || ended[0].Kind != coordinator.JobMonitor {
		t.Fatalf("run through the client: %+v, %v", ended, err)
	}
	var res coordinator.MonitorRunResult
	if err := json.Unmarshal(ended[0].Result, &res); err != nil || res.Monitor != "purchase_health" || res.Run <= remote.Runs[0].Run {
		t.Errorf("run result %s, %v", ended[0].Result, err)
	}
	after, err := cl.MonitorReport(ctx, &platform.MonitorReportParams{Monitor: ref})
	if err != nil || len(after.Runs) != 4 || after.Runs[0].Run != res.Run || after.Runs[0].Job != ended[0].ID {
		t.Fatalf("after the run: %+v, %v", after, err)
	}
	t.Logf("after a run of the build's checks: %+v", after.Latest)
	for _, r := range after.Latest {
		if r.Subject == "opens_30d" && r.Run == res.Run {
			t.Errorf("opens_30d reported by the build's check on an endpoint without a version: %+v", r)
		}
	}
}
