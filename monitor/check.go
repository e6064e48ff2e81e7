package monitor

import (
	"context"
	"time"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// The checks a monitor runs (resource's names, which definitions list).
const (
	CheckDrift       = resource.CheckDrift
	CheckFreshness   = resource.CheckFreshness
	CheckPerformance = resource.CheckPerformance
	CheckSkew        = resource.CheckSkew
)

// State is the outcome of a check.
type State string

const (
	// Pass: within every threshold.
	Pass State = "pass"
	// Warn: past a warning threshold, or not enough data to decide (too
	// few predictions in the window, no feedback yet).
	Warn State = "warn"
	// Fail: past a failing threshold; an alert is sent when a subject
	// enters or leaves Fail.
	Fail State = "fail"
)

// Result is what one check found about one subject at one run.
type Result struct {
	Check string `json:"check"`
	// Subject is what the result is about, stable from run to run so that
	// a change of state can be told: a feature's column name, "dataset",
	// "prediction", "version 3", a feature reference for freshness.
	Subject string `json:"subject"`
	State   State  `json:"state"`
	// Method names how Value was measured (ks, wasserstein, chisquare,
	// jensenshannon, psi, ztest, auc, age, ...), with Value and Threshold
	// its number and the threshold it was held against (omitted when the
	// result has none).
	Method    string   `json:"method,omitempty"`
	Value     *float64 `json:"value,omitempty"`
	Threshold *float64 `json:"threshold,omitempty"`
	// Message says in plain words what was found, with the numbers
	// ("opens_30d drifted: normed Wasserstein distance 0.23, threshold
	// 0.1, 1,204 predictions of version 1 against 91,620 training rows").
	Message string `json:"message"`
}

// Env is what checks read: the stores, and the time of the run.
type Env struct {
	Registry registry.Store
	Offline  offline.Store
	Online   online.Store
	Now      time.Time
}

// Checker runs one check of a monitor (its definition: m.Monitor) and
// returns a result per subject. An error is the check's failure to run
// (a store unreachable), not a finding: the run records it and the next
// run tries again.
type Checker func(ctx context.Context, env *Env, m *resource.Resource) ([]Result, error)
