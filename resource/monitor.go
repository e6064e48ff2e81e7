package resource

import (
	"fmt"
	"net/url"
	"regexp"
)

// KindMonitor is a monitor: checks of an endpoint (drift of its inputs and
// predictions, freshness of its features, performance from feedback,
// measured train/serve skew) run on a schedule as jobs. Every run's results
// are recorded in the registry, and each webhook it notifies gets an alert
// when a check's subject enters or leaves the fail state. Package monitor
// holds the checks; docs/design/monitoring.md explains them.
const KindMonitor Kind = "monitor"

// The checks a monitor runs (package monitor's Check* names are the same).
const (
	CheckDrift       = "drift"
	CheckFreshness   = "freshness"
	CheckPerformance = "performance"
	CheckSkew        = "skew"
)

// MonitorChecks lists the checks in the order a monitor runs and reports
// them; a monitor that names none runs them all.
var MonitorChecks = []string{CheckDrift, CheckFreshness, CheckPerformance, CheckSkew}

// MonitorSpec says what a monitor checks, when, and whom it tells.
type MonitorSpec struct {
	// Endpoint is the endpoint watched.
	Endpoint ID `json:"endpoint"`
	// Checks are the checks run, in MonitorChecks' order, each once.
	Checks []string `json:"checks"`
	// Schedule, a cron expression (ParseSchedule), is when the monitor runs
	// (DefaultMonitorSchedule when the definition gives none).
	Schedule string `json:"schedule"`
	// Notify are the webhooks alerted when a subject enters or leaves fail.
	Notify []MonitorNotify `json:"notify,omitempty"`

	Drift       MonitorDrift       `json:"drift"`
	Performance MonitorPerformance `json:"performance"`
	Freshness   MonitorFreshness   `json:"freshness"`
	Skew        MonitorSkew        `json:"skew"`
}

// MonitorNotify is one place a monitor's alerts go.
type MonitorNotify struct {
	// Webhook is an http(s) URL, or a ${ENV} reference to one (a URL
	// holding a token is a secret: the definition stores the reference,
	// and a run reads the variable).
	Webhook string `json:"webhook"`
}

// MonitorDrift configures the drift check.
type MonitorDrift struct {
	// Window is the serving window compared with the baseline.
	Window Duration `json:"window"`
	// MinRows is the fewest predictions in the window to decide on; fewer
	// give a warning.
	MinRows int64 `json:"min_rows"`
	// Share is the share of drifted features from which the dataset drifts.
	Share float64 `json:"share"`
	// Method is DriftAuto (each feature's test chosen by its type and the
	// reference size) or DriftPSI (population stability index for all).
	Method string `json:"method"`
	// Thresholds are the tests' thresholds.
	Thresholds DriftThresholds `json:"thresholds"`
}

// Drift methods.
const (
	DriftAuto = "auto"
	DriftPSI  = "psi"
)

// DriftThresholds are the drift tests' thresholds: p-values (ks: drift when
// p is at or below it; chisquare, ztest: below it, as Evidently) and
// distances (wasserstein, jensenshannon, psi: drift at or above it).
type DriftThresholds struct {
	KS            float64 `json:"ks"`
	ChiSquare     float64 `json:"chisquare"`
	ZTest         float64 `json:"ztest"`
	Wasserstein   float64 `json:"wasserstein"`
	JensenShannon float64 `json:"jensenshannon"`
	PSI           float64 `json:"psi"`
}

// MonitorPerformance configures the performance check.
type MonitorPerformance struct {
	// Feedback is the feedback name the predictions are scored against
	// (required when the monitor runs the performance check).
	Feedback string `json:"feedback,omitempty"`
	// Window is how far back predictions are scored.
	Window Duration `json:"window"`
	// MinSamples is the fewest predictions with feedback to decide on.
	MinSamples int64 `json:"min_samples"`
	// MaxDrop is the largest drop of the metric below the validation
	// metric recorded at training before the check fails.
	MaxDrop float64 `json:"max_drop"`
}

// MonitorFreshness configures the freshness check.
type MonitorFreshness struct {
	// Grace is how long past its schedule a materialization may be late.
	Grace Duration `json:"grace"`
}

// MonitorSkew configures the skew check.
type MonitorSkew struct {
	// Sample is how many logged predictions are recomputed.
	Sample int64 `json:"sample"`
	// MaxShare is the largest share of differing values a feature may have.
	MaxShare float64 `json:"max_share"`
}

// Monitor defaults, filled in by the loader when a definition gives none.
const (
	DefaultMonitorSchedule = "@hourly"
	DefaultDriftWindow     = Duration(24 * 60 * 60 * 1e9)
	DefaultDriftMinRows    = 100
	DefaultDriftShare      = 0.5
	DefaultPerfWindow      = Duration(7 * 24 * 60 * 60 * 1e9)
	DefaultPerfMinSamples  = 100
	DefaultPerfMaxDrop     = 0.05
	DefaultFreshnessGrace  = Duration(10 * 60 * 1e9)
	DefaultSkewSample      = 1000
)

// DefaultDriftThresholds are the drift tests' default thresholds
// (Evidently's).
var DefaultDriftThresholds = DriftThresholds{KS: 0.05, ChiSquare: 0.05, ZTest: 0.05, Wasserstein: 0.1, JensenShannon: 0.1, PSI: 0.1}

// DefaultMonitorSpec returns a monitor of endpoint with every default.
func DefaultMonitorSpec(endpoint ID) *MonitorSpec {
	return &MonitorSpec{
		Endpoint: endpoint,
		Checks:   append([]string(nil), MonitorChecks...),
		Schedule: DefaultMonitorSchedule,
		Drift: MonitorDrift{Window: DefaultDriftWindow, MinRows: DefaultDriftMinRows, Share: DefaultDriftShare,
			Method: DriftAuto, Thresholds: DefaultDriftThresholds},
		Performance: MonitorPerformance{Window: DefaultPerfWindow, MinSamples: DefaultPerfMinSamples, MaxDrop: DefaultPerfMaxDrop},
		Freshness:   MonitorFreshness{Grace: DefaultFreshnessGrace},
		Skew:        MonitorSkew{Sample: DefaultSkewSample},
	}
}

// Runs says whether the monitor runs check.
func (s *MonitorSpec) Runs(check string) bool {
	for _, c := range s.Checks {
		if c == check {
			return true
		}
	}
	return false
}

// envRef is a whole ${ENV} reference.
var envRef = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// WebhookEnv returns the environment variable a webhook is a reference to
// ("" when it is written as a URL).
func WebhookEnv(webhook string) string {
	if m := envRef.FindStringSubmatch(webhook); m != nil {
		return m[1]
	}
	return ""
}

// CheckWebhookURL checks that u is an absolute http or https URL with a
// host. Its error does not quote u, which may hold a token.
func CheckWebhookURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("not an http or https URL (like https://hooks.example.com/T0/B0)")
	}
	return nil
}

// ResolveWebhook returns the URL a webhook posts to: the URL as written,
// or the value of the variable it refers to, read with lookup.
func ResolveWebhook(webhook string, lookup func(string) (string, bool)) (string, error) {
	env := WebhookEnv(webhook)
	if env == "" {
		if err := CheckWebhookURL(webhook); err != nil {
			return "", fmt.Errorf("webhook: %v", err)
		}
		return webhook, nil
	}
	v, ok := lookup(env)
	if !ok || v == "" {
		return "", fmt.Errorf("webhook ${%s}: the environment variable %s is not set; export it where slipway runs the monitor", env, env)
	}
	if err := CheckWebhookURL(v); err != nil {
		return "", fmt.Errorf("webhook ${%s}: %v", env, err)
	}
	return v, nil
}
