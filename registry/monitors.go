package registry

// Monitor runs and their results. A monitor (resource.KindMonitor) runs as
// a job; each run is recorded with every result its checks gave, so that a
// report can say what each check found last, since when, and how runs went.

import (
	"context"
	"time"

	"github.com/slipway-ml/slipway/resource"
)

// MonitorStore records monitor runs, in the registry database.
type MonitorStore interface {
	// RecordMonitorRun records one run of a monitor with its results (in
	// the order given), numbered by the store: run IDs increase with every
	// run of any monitor.
	RecordMonitorRun(ctx context.Context, p *RecordMonitorRunParams) (*MonitorRun, error)
	// ListMonitorRuns returns a monitor's runs newest first, each with its
	// results in the order recorded. An unknown monitor has none.
	ListMonitorRuns(ctx context.Context, p *ListMonitorRunsParams) ([]*MonitorRun, error)
	// LatestMonitorResults returns, for every check and subject a monitor
	// ever reported, its result in the newest run that reported it, ordered
	// by check and subject.
	LatestMonitorResults(ctx context.Context, monitor resource.ID) ([]*MonitorResult, error)
}

// RecordMonitorRunParams is the input of RecordMonitorRun.
type RecordMonitorRunParams struct {
	Monitor resource.ID
	// At is the run's time (the coordinator's clock), kept to the microsecond.
	At time.Time
	// Job is the job that ran it (0: none).
	Job     int64
	Results []MonitorResult
}

// ListMonitorRunsParams selects a monitor's runs.
type ListMonitorRunsParams struct {
	Monitor resource.ID
	// Limit is the most runs returned (default 20).
	Limit int
	// Before, when positive, returns only runs older than the run with
	// this ID (pages through history).
	Before int64
}

// DefaultMonitorRunLimit is ListMonitorRuns' default limit.
const DefaultMonitorRunLimit = 20

// MonitorRun is one recorded run of a monitor.
type MonitorRun struct {
	ID      int64       `json:"id"`
	Monitor resource.ID `json:"monitor"`
	At      time.Time   `json:"at"`
	Job     int64       `json:"job,omitempty"`
	// Results are the run's results, Run and At set on each.
	Results []MonitorResult `json:"results"`
}

// MonitorResult is what one check found about one subject at one run
// (package monitor's Result, as the registry keeps it).
type MonitorResult struct {
	// Run and At are the run's ID and time (set by the store when read).
	Run     int64     `json:"run,omitempty"`
	At      time.Time `json:"at,omitzero"`
	Check   string    `json:"check"`
	Subject string    `json:"subject"`
	// State is pass, warn or fail.
	State     string   `json:"state"`
	Method    string   `json:"method,omitempty"`
	Value     *float64 `json:"value,omitempty"`
	Threshold *float64 `json:"threshold,omitempty"`
	Message   string   `json:"message"`
	// Since is when the subject entered State: the time of the first run
	// of the streak of runs that gave it this state (set by the caller,
	// kept to the microsecond).
	Since time.Time `json:"since"`
}

// Counts counts a run's results by state.
func (r *MonitorRun) Counts() (pass, warn, fail int) {
	for _, x := range r.Results {
		switch x.State {
		case "pass":
			pass++
		case "warn":
			warn++
		case "fail":
			fail++
		}
	}
	return pass, warn, fail
}
