package platform

// Monitors: a run now (a monitor job, as the schedule queues them), and the
// report of what a monitor's checks found, from the runs the registry keeps.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// MonitorRunParams asks for a run of a monitor now.
type MonitorRunParams struct {
	Monitor resource.Ref `json:"-"`
	By      string       `json:"by,omitempty"`
	// Detach leaves the job to workers (see API.Run).
	Detach bool `json:"detach,omitempty"`
}

// RunMonitor queues a run of a monitor; its job's Result is a
// coordinator.MonitorRunResult.
func (p *Platform) RunMonitor(ctx context.Context, mp *MonitorRunParams) ([]*registry.Job, error) {
	// The job reads the registry; its checks open the stores they read.
	c, err := p.coordinator(ctx, false, false)
	if err != nil {
		return nil, err
	}
	id := resource.NewID(resource.KindMonitor, mp.Monitor)
	if _, err := p.monitor(ctx, id); err != nil {
		return nil, err
	}
	j, err := c.EnqueueMonitor(ctx, id, mp.By)
	if err != nil {
		return nil, err
	}
	return p.start(c, []*registry.Job{j}, mp.Detach), nil
}

// monitor reads a registered monitor.
func (p *Platform) monitor(ctx context.Context, id resource.ID) (*resource.Resource, error) {
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	m, err := reg.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("monitor %s: %w", id.Ref(), err)
	}
	return m, nil
}

// MonitorReportParams selects a monitor's report.
type MonitorReportParams struct {
	Monitor resource.Ref
	// Runs is how many runs the history lists, newest first (default
	// registry.DefaultMonitorRunLimit).
	Runs int
}

// MonitorReport is what a monitor's checks found: the latest state of each
// check and subject, and the history of runs.
type MonitorReport struct {
	Monitor  string   `json:"monitor"`
	Variant  string   `json:"variant"`
	Endpoint string   `json:"endpoint"`
	Checks   []string `json:"checks"`
	Schedule string   `json:"schedule"`
	Webhooks int      `json:"webhooks"`
	// Latest is, per check (in the monitor's order) and subject, its
	// result in the newest run that reported it: Since is when it entered
	// its state, Run and At the run (older than the last run when the last
	// run did not report the subject: a check that could not run).
	Latest []registry.MonitorResult `json:"latest"`
	// Runs are the newest runs, newest first.
	Runs []MonitorRunSummary `json:"runs"`
}

// MonitorRunSummary is one run in a report's history.
type MonitorRunSummary struct {
	Run  int64     `json:"run"`
	At   time.Time `json:"at"`
	Job  int64     `json:"job"`
	Pass int       `json:"pass"`
	Warn int       `json:"warn"`
	Fail int       `json:"fail"`
	// Failing names the failing subjects as CHECK/SUBJECT.
	Failing []string `json:"failing"`
}

// MonitorReport reads a monitor's report. A monitor that has not run has
// an empty one.
func (p *Platform) MonitorReport(ctx context.Context, mp *MonitorReportParams) (*MonitorReport, error) {
	id := resource.NewID(resource.KindMonitor, mp.Monitor)
	m, err := p.monitor(ctx, id)
	if err != nil {
		return nil, err
	}
	if mp.Runs < 0 {
		return nil, invalid("runs %d: give how many runs to list, 1 or more", mp.Runs)
	}
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	latest, err := reg.LatestMonitorResults(ctx, id)
	if err != nil {
		return nil, err
	}
	runs, err := reg.ListMonitorRuns(ctx, &registry.ListMonitorRunsParams{Monitor: id, Limit: mp.Runs})
	if err != nil {
		return nil, err
	}
	rep := &MonitorReport{Monitor: m.Name, Variant: m.Variant, Endpoint: m.Monitor.Endpoint.Ref().String(), Checks: m.Monitor.Checks,
		Schedule: m.Monitor.Schedule, Webhooks: len(m.Monitor.Notify), Latest: []registry.MonitorResult{}, Runs: []MonitorRunSummary{}}
	order := func(check string) int {
		if i := slices.Index(m.Monitor.Checks, check); i >= 0 {
			return i
		}
		return len(m.Monitor.Checks) // a check no longer listed: last
	}
	for _, r := range latest {
		rep.Latest = append(rep.Latest, *r)
	}
	slices.SortStableFunc(rep.Latest, func(a, b registry.MonitorResult) int {
		if d := order(a.Check) - order(b.Check); d != 0 {
			return d
		}
		return strings.Compare(a.Subject, b.Subject)
	})
	for _, run := range runs {
		s := MonitorRunSummary{Run: run.ID, At: run.At, Job: run.Job, Failing: []string{}}
		s.Pass, s.Warn, s.Fail = run.Counts()
		for _, r := range run.Results {
			if r.State == "fail" {
				s.Failing = append(s.Failing, r.Check+"/"+r.Subject)
			}
		}
		rep.Runs = append(rep.Runs, s)
	}
	return rep, nil
}
