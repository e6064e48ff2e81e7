package definition_test

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/resource"
)

var bigHealth = resource.ID{Kind: resource.KindMonitor, Name: "big_health", Variant: resource.DefaultVariant}

// monitorEnv is endpointEnv (big_model served by the endpoint big) with
// monitors.yaml holding monitors.
func monitorEnv(t *testing.T, monitors string) *env {
	t.Helper()
	e := endpointEnv(t, modelYAML, endpointYAML)
	write(t, e.dir, "monitors.yaml", monitors)
	return e
}

// TestMonitorDefinition: a monitor written in full is read as written,
// registered after its endpoint, ready, and unchanged when applied again.
func TestMonitorDefinition(t *testing.T) {
	e := monitorEnv(t, `monitors:
  - name: big_health
    owner: ml-ops
    endpoint: big
    checks: [skew, drift, performance]
    schedule: "*/30  * * * *"
    notify: [{webhook: "${ALERT_WEBHOOK_URL}"}, {webhook: "https://hooks.example.com/a"}]
    drift: {window: 12h, min_rows: 50, share: 0.25, method: psi, thresholds: {ks: 0.01, chisquare: 0.02, ztest: 0.03, wasserstein: 0.2, jensenshannon: 0.3, psi: 0.25}}
    performance: {feedback: purchased, window: 3d, min_samples: 20, max_drop: 0.1}
    freshness: {grace: 0m}
    skew: {sample: 200, max_share: 0.01}
`)
	t.Setenv("ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook")
	plan, err := e.apply(t)
	if err != nil {
		t.Fatal(err)
	}
	want := &resource.MonitorSpec{
		Endpoint: bigEndpoint,
		Checks:   []string{"drift", "performance", "skew"},
		Schedule: "*/30 * * * *",
		Notify:   []resource.MonitorNotify{{Webhook: "${ALERT_WEBHOOK_URL}"}, {Webhook: "https://hooks.example.com/a"}},
		Drift: resource.MonitorDrift{Window: resource.Duration(12 * 3600 * 1e9), MinRows: 50, Share: 0.25, Method: "psi",
			Thresholds: resource.DriftThresholds{KS: 0.01, ChiSquare: 0.02, ZTest: 0.03, Wasserstein: 0.2, JensenShannon: 0.3, PSI: 0.25}},
		Performance: resource.MonitorPerformance{Feedback: "purchased", Window: resource.Duration(3 * 24 * 3600 * 1e9), MinSamples: 20, MaxDrop: 0.1},
		Freshness:   resource.MonitorFreshness{Grace: 0},
		Skew:        resource.MonitorSkew{Sample: 200, MaxShare: 0.01},
	}
	it := planItem(t, plan, bigHealth)
	if it.Action != definition.Create || !reflect.DeepEqual(it.Resource.Monitor, want) {
		t.Fatalf("plan: %s %+v\nwant create %+v", it.Action, it.Resource.Monitor, want)
	}
	reg, err := e.s.Registry.Get(t.Context(), bigHealth)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reg.Monitor, want) || !reflect.DeepEqual(reg.Dependencies(), []resource.ID{bigEndpoint}) {
		t.Errorf("registered %+v depending on %v", reg.Monitor, reg.Dependencies())
	}
	if strings.Contains(string(reg.Definition()), "127.0.0.1:9") {
		t.Errorf("the registered definition holds the webhook's resolved URL: %s", reg.Definition())
	}
	plan, err = e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	if it := planItem(t, plan, bigHealth); it.Action != definition.Unchanged {
		t.Errorf("applied again: %s %v", it.Action, it.Diffs)
	}
}

// TestMonitorDefaults: a monitor naming only its endpoint runs every check
// hourly with the documented defaults, written into its definition, and
// the defaults written out are the same definition.
func TestMonitorDefaults(t *testing.T) {
	e := monitorEnv(t, "monitors:\n  - name: big_health\n    endpoint: big\n    checks: [drift, freshness, skew]\n")
	plan, err := e.apply(t)
	if err != nil {
		t.Fatal(err)
	}
	want := resource.DefaultMonitorSpec(bigEndpoint)
	want.Checks = []string{"drift", "freshness", "skew"}
	if got := planItem(t, plan, bigHealth).Resource.Monitor; !reflect.DeepEqual(got, want) {
		t.Fatalf("defaults: %+v\nwant %+v", got, want)
	}
	if want.Schedule != "@hourly" || want.Drift.Window.String() != "1d" || want.Drift.MinRows != 100 || want.Drift.Share != 0.5 ||
		want.Drift.Method != "auto" || want.Drift.Thresholds != (resource.DriftThresholds{KS: 0.05, ChiSquare: 0.05, ZTest: 0.05, Wasserstein: 0.1, JensenShannon: 0.1, PSI: 0.1}) ||
		want.Performance.Window.String() != "7d" || want.Performance.MinSamples != 100 || want.Performance.MaxDrop != 0.05 ||
		want.Freshness.Grace != resource.Duration(10*60*1e9) || want.Skew.Sample != 1000 || want.Skew.MaxShare != 0 {
		t.Errorf("the defaults are not the documented ones: %+v", want)
	}
	write(t, e.dir, "monitors.yaml", `monitors:
  - name: big_health
    variant: default
    endpoint: big:default
    checks: [drift, freshness, skew]
    schedule: "@hourly"
    drift: {window: 1d, min_rows: 100, share: 0.5, method: auto, thresholds: {ks: 0.05, chisquare: 0.05, ztest: 0.05, wasserstein: 0.1, jensenshannon: 0.1, psi: 0.1}}
    performance: {window: 7d, min_samples: 100, max_drop: 0.05}
    freshness: {grace: 10m}
    skew: {sample: 1000, max_share: 0}
`)
	plan, err = e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	if it := planItem(t, plan, bigHealth); it.Action != definition.Unchanged {
		t.Errorf("defaults written out: %s %v, want unchanged", it.Action, it.Diffs)
	}
}

// okMonitor is a valid monitors: item, lines 2 to 5 of its file.
const okMonitor = `  - name: x
    endpoint: big
    notify: [{webhook: "${SLIPWAY_TEST_HOOK}"}]
    performance: {feedback: purchased}
`

func editMonitor(old, new string) string {
	if !strings.Contains(okMonitor, old) {
		panic("okMonitor has no " + old)
	}
	return strings.Replace(okMonitor, old, new, 1)
}

// badMonitors are monitors: items with the problem each must report
// (FuzzLoadDir starts from them too); SLIPWAY_TEST_HOOK holds an https URL,
// but for WebhookEnvNotHTTP.
var badMonitors = []struct{ name, yaml, want string }{
	{"NoEndpoint", editMonitor("    endpoint: big\n", ""), "monitors.yaml:2: endpoint: missing; a monitor needs it"},
	{"UnknownEndpoint", editMonitor("endpoint: big", "endpoint: small"), "monitors.yaml:3: endpoint: unknown endpoint small:default: define it under endpoints:"},
	{"UnknownCheck", okMonitor + "    checks: [drift,\n      latency]\n", `monitors.yaml:7: checks: unknown check "latency": use drift, freshness, performance, skew`},
	{"CheckTwice", okMonitor + "    checks: [drift, drift]\n", "monitors.yaml:6: checks: check drift is given twice (also at line 6)"},
	{"NoChecks", okMonitor + "    checks: []\n", "monitors.yaml:6: checks: expected a non-empty list of checks"},
	{"BadSchedule", okMonitor + "    schedule: hourly\n", `monitors.yaml:6: schedule: schedule "hourly"`},
	{"BadDuration", okMonitor + "    drift: {window: a day}\n", `monitors.yaml:6: drift.window: invalid duration "a day"`},
	{"ZeroWindow", okMonitor + "    drift: {window: 0d}\n", "monitors.yaml:6: drift.window: must be positive"},
	{"BadGrace", okMonitor + "    freshness: {grace: soon}\n", `monitors.yaml:6: freshness.grace: invalid duration "soon"`},
	{"ThresholdOutOfRange", okMonitor + "    drift:\n      thresholds: {ks: 1.5}\n", "monitors.yaml:7: drift.thresholds.ks: 1.5 is out of range: write a number above 0 up to 1"},
	{"ThresholdNegative", okMonitor + "    drift:\n      thresholds:\n        psi: -0.1\n", "monitors.yaml:8: drift.thresholds.psi: -0.1 is out of range: write a positive number"},
	{"ThresholdNotANumber", okMonitor + "    drift: {thresholds: {wasserstein: high}}\n", `monitors.yaml:6: drift.thresholds.wasserstein: "high" is not a number`},
	{"UnknownThreshold", okMonitor + "    drift: {thresholds: {kl: 0.1}}\n", "monitors.yaml:6: drift.thresholds.kl: unknown field of thresholds; allowed: ks, chisquare, ztest, wasserstein, jensenshannon, psi"},
	{"UnknownMethod", okMonitor + "    drift: {method: kl}\n", `monitors.yaml:6: drift.method: unknown "kl": use auto`},
	{"ShareZero", okMonitor + "    drift: {share: 0}\n", "monitors.yaml:6: drift.share: 0 is out of range: write a number above 0 up to 1"},
	{"MinRowsZero", okMonitor + "    drift: {min_rows: 0}\n", `monitors.yaml:6: drift.min_rows: "0" is not a positive whole number`},
	{"MaxShareAboveOne", okMonitor + "    skew: {max_share: 2}\n", "monitors.yaml:6: skew.max_share: 2 is out of range: write a number from 0 up to 1"},
	{"NoFeedback", editMonitor("    performance: {feedback: purchased}\n", ""), "monitors.yaml:2: performance: the performance check needs the feedback"},
	{"BadFeedback", editMonitor("feedback: purchased", "feedback: Purchased"), `monitors.yaml:5: performance.feedback: invalid feedback name "Purchased"`},
	{"WebhookNotAURL", editMonitor(`"${SLIPWAY_TEST_HOOK}"`, "hooks.example.com/x"), `monitors.yaml:4: notify.webhook: "hooks.example.com/x" is not an http or https URL`},
	{"WebhookFTP", editMonitor(`"${SLIPWAY_TEST_HOOK}"`, "ftp://hooks.example.com/x"), `monitors.yaml:4: notify.webhook: "ftp://hooks.example.com/x" is not an http or https URL`},
	{"WebhookPartlyEnv", editMonitor(`"${SLIPWAY_TEST_HOOK}"`, `"https://hooks.example.com/${TOKEN}"`), "monitors.yaml:4: notify.webhook: write a reference to an environment variable alone"},
	{"WebhookEnvNotHTTP", okMonitor, "monitors.yaml:4: notify.webhook: the environment variable SLIPWAY_TEST_HOOK is set to something not an http or https URL"},
	{"WebhookMissing", editMonitor(`{webhook: "${SLIPWAY_TEST_HOOK}"}`, "{url: x}"), "monitors.yaml:4: notify.url: unknown field of notify; allowed: webhook"},
	{"NotifyNotAList", editMonitor(`[{webhook: "${SLIPWAY_TEST_HOOK}"}]`, "https://hooks.example.com/x"), "monitors.yaml:4: notify: expected a list of webhooks"},
	{"UnknownField", okMonitor + "    latency: {p99: 1s}\n", "monitors.yaml:6: latency: unknown field for a monitor"},
	{"UnknownDriftField", okMonitor + "    drift: {windows: 1d}\n", "monitors.yaml:6: drift.windows: unknown field of drift; allowed: window, min_rows, share, method, thresholds"},
}

// TestMonitorBadInput: each problem the loader or the plan finds, with its
// file, line and field, and nothing registered.
func TestMonitorBadInput(t *testing.T) {
	for _, tc := range badMonitors {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SLIPWAY_TEST_HOOK", "mailto:ops@example.com")
			if tc.name != "WebhookEnvNotHTTP" {
				t.Setenv("SLIPWAY_TEST_HOOK", "https://hooks.example.com/T0/B0")
			}
			e := monitorEnv(t, "monitors:\n"+tc.yaml)
			_, err := e.apply(t)
			if err == nil || !strings.Contains(e.rel(err), tc.want) {
				t.Fatalf("err = %v\nwant %q", err, tc.want)
			}
			if n := e.registered(t); n != 0 {
				t.Errorf("%d resources registered after a failed plan", n)
			}
		})
	}
}

// TestDocsMonitorExamplePlans plans the Monitors example of
// docs/definitions.md, as it is, next to the demo project with the
// endpoint of the Endpoints example.
func TestDocsMonitorExamplePlans(t *testing.T) {
	e := newEnv(t)
	root := demoBeside(t, e)
	write(t, root, "definitions/endpoints.yaml", docsYAML(t, "Endpoints"))
	write(t, root, "definitions/monitors.yaml", docsYAML(t, "Monitors"))
	t.Setenv("ALERT_WEBHOOK_URL", "https://hooks.example.com/T0/B0")
	defs, err := definition.LoadDir(filepath.Join(root, "definitions"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := definition.MakePlan(context.Background(), defs, e.s)
	if err != nil {
		t.Fatalf("the docs' monitor example does not plan:\n%v", err)
	}
	want := resource.DefaultMonitorSpec(resource.ID{Kind: resource.KindEndpoint, Name: "purchase", Variant: resource.DefaultVariant})
	want.Notify = []resource.MonitorNotify{{Webhook: "${ALERT_WEBHOOK_URL}"}}
	want.Performance.Feedback = "purchased"
	var got *resource.MonitorSpec
	for _, it := range plan.Items {
		if it.Resource.Monitor != nil {
			got = it.Resource.Monitor
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the docs' monitor plans as %+v\nwant %+v", got, want)
	}
}
