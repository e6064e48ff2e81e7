package coordinator

// Monitors run as jobs: each run calls the monitor's checks, records every
// result in the registry with since when its subject has been in its state,
// and alerts the monitor's webhooks about every subject that entered or
// left fail. docs/design/monitoring.md ("Runs, results and alerts")
// explains the choices.

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// JobMonitor runs a monitor's checks once.
const JobMonitor = "monitor"

// MonitorChecker runs one check of a monitor m at now and returns a result
// per subject (State pass, warn or fail; Check, Run, At and Since are set
// by the run). An error is the check's failure to run, not a finding.
//
// It is package monitor's Checker adapted by the platform (which gives it
// the stores): package monitor reads feedback, which ships through the
// coordinator, so the coordinator cannot import it.
type MonitorChecker func(ctx context.Context, m *resource.Resource, now time.Time) ([]registry.MonitorResult, error)

// monitorArgs are a monitor job's arguments.
type monitorArgs struct {
	By string `json:"by,omitempty"`
}

// MonitorRunResult is what a succeeded monitor job leaves in Job.Result.
type MonitorRunResult struct {
	Monitor string `json:"monitor"`
	// Run is the registry's ID of the recorded run.
	Run  int64 `json:"run"`
	Pass int   `json:"pass"`
	Warn int   `json:"warn"`
	Fail int   `json:"fail"`
	// Alerts counts the alerts delivered (one per subject that changed and
	// webhook), AlertsFailed those given up on.
	Alerts       int `json:"alerts"`
	AlertsFailed int `json:"alerts_failed"`
}

// EnqueueMonitor queues a run of a monitor, or returns the run already
// queued or running (two runs at once would both alert the same change).
func (c *Coordinator) EnqueueMonitor(ctx context.Context, id resource.ID, by string) (*registry.Job, error) {
	r, err := c.Registry.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", id, err)
	}
	if r.Monitor == nil {
		return nil, fmt.Errorf("%s is not a monitor", id)
	}
	active, err := c.Registry.ListJobs(ctx, &registry.ListJobsParams{Resource: id, Kind: JobMonitor,
		Statuses: []registry.JobStatus{registry.JobQueued, registry.JobRunning}, Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("reading the runs of %s: %w", id, err)
	}
	if len(active) > 0 {
		return active[0], nil
	}
	b := c.newBatch()
	b.add(registry.NewJob{Kind: JobMonitor, Resource: id, Args: encodeArgs(monitorArgs{By: by})})
	jobs, err := b.enqueue(ctx)
	if err != nil {
		return nil, err
	}
	return jobs[0], nil
}

// subjectKey identifies a result's subject across runs.
type subjectKey struct{ check, subject string }

// runMonitor is the monitor job.
func (c *Coordinator) runMonitor(ctx context.Context, run *jobRun) error {
	id := run.job.Resource
	m, err := c.Registry.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("reading %s: %w", id, err)
	}
	if m.Monitor == nil {
		return fmt.Errorf("%w: %s is not a monitor", errPermanent, id)
	}
	now := c.now().UTC().Truncate(time.Microsecond)
	latest, err := c.Registry.LatestMonitorResults(ctx, id)
	if err != nil {
		return err
	}
	prev := map[subjectKey]*registry.MonitorResult{}
	for _, r := range latest {
		prev[subjectKey{r.Check, r.Subject}] = r
	}
	var results []registry.MonitorResult
	for _, check := range m.Monitor.Checks {
		rs, err := c.runCheck(ctx, run, m, check, now)
		if err != nil {
			return err // cancelled
		}
		results = append(results, rs...)
	}
	for i := range results {
		r := &results[i]
		r.Since = now
		if p := prev[subjectKey{r.Check, r.Subject}]; p != nil && p.State == r.State && !p.Since.IsZero() {
			r.Since = p.Since
		}
	}
	rec, err := c.Registry.RecordMonitorRun(context.WithoutCancel(ctx), &registry.RecordMonitorRunParams{Monitor: id, At: now, Job: run.job.ID, Results: results})
	if err != nil {
		return err
	}
	res := MonitorRunResult{Monitor: id.Name, Run: rec.ID}
	res.Pass, res.Warn, res.Fail = rec.Counts()
	run.sayf("run %d recorded: %d pass, %d warn, %d fail; see slipway monitor report %s", rec.ID, res.Pass, res.Warn, res.Fail, id.Ref())
	alerts := changes(m, rec, prev)
	if len(alerts) > 0 {
		res.Alerts, res.AlertsFailed = c.notify(ctx, run, m, alerts)
	}
	run.result = encodeArgs(res)
	// Ready again: the job marked it running (a run that cannot record
	// marks it failed, with the error).
	return c.setStatus(ctx, id, resource.StatusReady, "", nil)
}

// runCheck runs one check and returns its results, Check set on each: one
// warning when the build has no such check or the check could not run.
// The error is ctx's alone.
func (c *Coordinator) runCheck(ctx context.Context, run *jobRun, m *resource.Resource, check string, now time.Time) ([]registry.MonitorResult, error) {
	warn := func(msg string) []registry.MonitorResult {
		run.sayf("%s: %s", check, msg)
		return []registry.MonitorResult{{Check: check, Subject: "check", State: "warn", Message: msg}}
	}
	fn := c.Checks[check]
	if fn == nil {
		return warn(fmt.Sprintf("the %s check is not available in this build", check)), nil
	}
	rs, err := safeCheck(ctx, fn, m, now)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return warn(fmt.Sprintf("the %s check could not run: %v", check, err)), nil
	}
	if len(rs) == 0 {
		// Visible in the report rather than a check that seems not to run.
		return warn(fmt.Sprintf("the %s check found nothing to check", check)), nil
	}
	var pass, warns, fails int
	for i := range rs {
		r := &rs[i]
		r.Check, r.Run, r.At = check, 0, time.Time{}
		switch r.State {
		case "pass":
			pass++
		case "warn":
			warns++
		case "fail":
			fails++
		default:
			r.Message = fmt.Sprintf("(the check gave the unknown state %q) %s", r.State, r.Message)
			r.State = "warn"
			warns++
		}
		if r.Subject == "" {
			r.Subject = "check"
		}
	}
	run.sayf("%s: %d pass, %d warn, %d fail", check, pass, warns, fails)
	return rs, nil
}

// safeCheck runs a check, turning a panic into its error so that one
// broken check does not stop the others.
func safeCheck(ctx context.Context, fn MonitorChecker, m *resource.Resource, now time.Time) (rs []registry.MonitorResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn(ctx, m, now)
}

// changes returns the alerts of a recorded run: a subject that entered fail
// (its newest earlier result was not fail, or it had none) or left it.
func changes(m *resource.Resource, rec *registry.MonitorRun, prev map[subjectKey]*registry.MonitorResult) []Alert {
	var out []Alert
	for _, r := range rec.Results {
		p := prev[subjectKey{r.Check, r.Subject}]
		wasFailing := p != nil && p.State == "fail"
		isFailing := r.State == "fail"
		if wasFailing == isFailing {
			continue
		}
		a := Alert{
			Monitor: m.Name, Variant: m.Variant, Endpoint: m.Monitor.Endpoint.Name,
			Check: r.Check, Subject: r.Subject, State: r.State,
			Method: r.Method, Value: r.Value, Threshold: r.Threshold, Message: r.Message,
			At: rec.At, Run: rec.ID, Job: rec.Job,
			More: "slipway monitor report " + m.Ref().String(),
		}
		if m.Variant == resource.DefaultVariant {
			a.More = "slipway monitor report " + m.Name
		}
		if isFailing {
			a.Change, a.FailingSince = AlertFailing, r.Since
			if p != nil {
				a.Previous = p.State
			}
		} else {
			a.Change, a.FailingSince, a.Previous = AlertRecovered, p.Since, p.State
		}
		a.Text = alertText(&a)
		out = append(out, a)
	}
	return out
}

// lookupEnv reads an environment variable through c.Getenv.
func (c *Coordinator) lookupEnv(name string) (string, bool) {
	if c.Getenv != nil {
		return c.Getenv(name)
	}
	return os.LookupEnv(name)
}
