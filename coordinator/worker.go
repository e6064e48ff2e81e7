package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// now tells the time: Coordinator.Now, else the system clock. The
// coordinator reads time only through it, so tests can move time.
func (c *Coordinator) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Worker defaults.
const (
	DefaultConcurrency = 2
	DefaultLease       = 30 * time.Second
	DefaultHeartbeat   = time.Second
	DefaultPoll        = time.Second
	DefaultBackoffBase = 2 * time.Second
	DefaultBackoffMax  = 5 * time.Minute
)

// Worker takes jobs from the registry's queue and runs them, Concurrency at
// a time. Several workers, in one process or many, can share a queue: each
// job runs under a lease that the worker renews every Heartbeat, and a job
// whose worker dies is taken by another once its lease expires.
//
// Failures with a transient cause (connection refused or reset, timeouts)
// are retried with exponential backoff and jitter until the job's attempts
// run out; any other failure fails the job at once, and with it the jobs
// waiting for it.
type Worker struct {
	Coordinator *Coordinator
	// Name identifies the worker in jobs it holds (default host-pid-random).
	Name string
	// Concurrency is how many jobs run at once (default 2).
	Concurrency int
	// Lease is how long a job stays this worker's without renewal (default 30s).
	Lease time.Duration
	// Heartbeat is how often a running job's lease and progress are written (default 1s).
	Heartbeat time.Duration
	// Poll is how long an idle worker waits before looking for work again (default 1s).
	Poll time.Duration
	// BackoffBase and BackoffMax shape retries: attempt n waits about
	// BackoffBase·2ⁿ⁻¹, at most BackoffMax, with jitter (defaults 2s, 5m).
	BackoffBase, BackoffMax time.Duration
}

func (w *Worker) defaults() {
	if w.Name == "" {
		host, _ := os.Hostname()
		w.Name = fmt.Sprintf("%s-%d-%04x", host, os.Getpid(), rand.IntN(1<<16))
	}
	if w.Concurrency <= 0 {
		w.Concurrency = DefaultConcurrency
	}
	if w.Lease <= 0 {
		w.Lease = DefaultLease
	}
	if w.Heartbeat <= 0 {
		w.Heartbeat = DefaultHeartbeat
	}
	if w.Poll <= 0 {
		w.Poll = DefaultPoll
	}
	if w.BackoffBase <= 0 {
		w.BackoffBase = DefaultBackoffBase
	}
	if w.BackoffMax <= 0 {
		w.BackoffMax = DefaultBackoffMax
	}
}

// Run works the whole queue until ctx is cancelled. Jobs still running
// then are put back in the queue for another worker. Like Work, it
// recovers the jobs whose worker died before each round of claims (see
// loop).
func (w *Worker) Run(ctx context.Context) error {
	w.defaults()
	return w.loop(ctx, nil, func(context.Context) (bool, error) { return false, nil })
}

// Work runs the given jobs (and only those) until each has ended, whoever
// ran it, and returns them as they ended. When ctx is cancelled (Ctrl-C),
// the jobs that have not ended are cancelled, and Work returns them with
// an error wrapping the cancellation.
func (w *Worker) Work(ctx context.Context, ids []int64) ([]*registry.Job, error) {
	w.defaults()
	allEnded := func(ctx context.Context) (bool, error) {
		jobs, err := w.read(ctx, ids)
		if err != nil {
			// The registry may be back at the next poll.
			w.Coordinator.logger().Warn("reading jobs", "error", err)
			return false, nil
		}
		for _, j := range jobs {
			if !j.Status.Ended() {
				return false, nil
			}
		}
		return true, nil
	}
	w.loop(ctx, ids, allEnded)
	bg := context.WithoutCancel(ctx)
	var stopped error
	if ctx.Err() != nil {
		stopped = errors.Join(fmt.Errorf("stopped: %w", context.Cause(ctx)), w.cancelAll(bg, ids))
	}
	jobs, err := w.read(bg, ids)
	return jobs, errors.Join(stopped, err)
}

// read returns the jobs of ids as they are now.
func (w *Worker) read(ctx context.Context, ids []int64) ([]*registry.Job, error) {
	jobs := make([]*registry.Job, 0, len(ids))
	for _, id := range ids {
		j, err := w.Coordinator.Registry.GetJob(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("reading job %d: %w", id, err)
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// cancelAll cancels the jobs that have not ended.
func (w *Worker) cancelAll(ctx context.Context, ids []int64) error {
	var errs []error
	for _, id := range ids {
		_, err := w.Coordinator.Registry.CancelJob(ctx, &registry.CancelJobParams{ID: id, Now: w.Coordinator.now()})
		if err != nil && !errors.Is(err, registry.ErrJobState) {
			errs = append(errs, fmt.Errorf("cancelling job %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// loop claims jobs (only those in only, when set) while it has free slots,
// and waits for a slot, a poll or ctx otherwise; done is asked between
// rounds. It returns when ctx is cancelled or done says all is done, once
// its running jobs have finished.
//
// Each round starts by recovering the jobs whose worker died
// (Coordinator.recoverJobs: their attempt ends and an export's partial
// file is removed) and, when it recovered any or a minute has passed,
// putting back the status of resources left running (Reconcile). ClaimJob
// never recovers, so no dead attempt ends without that clean-up.
func (w *Worker) loop(ctx context.Context, only []int64, done func(context.Context) (bool, error)) error {
	cancelOnStop := only != nil // Work: the user stopping; Run: the worker shutting down
	c := w.Coordinator
	slots := make(chan struct{}, w.Concurrency)
	freed := make(chan struct{}, 1)
	var running sync.WaitGroup
	defer running.Wait()
	var reconciled time.Time
	for {
		jobs, err := c.recoverJobs(ctx)
		if err == nil && (len(jobs) > 0 || time.Since(reconciled) >= time.Minute) {
			reconciled = time.Now()
			err = c.Reconcile(ctx)
		}
		if err != nil && ctx.Err() == nil {
			c.logger().Warn("recovering jobs and statuses", "error", err)
		}
	claiming:
		for ctx.Err() == nil {
			select {
			case slots <- struct{}{}:
			default:
				break claiming // every slot is busy
			}
			j, err := c.Registry.ClaimJob(ctx, &registry.ClaimJobParams{Worker: w.Name, Now: c.now(), Lease: w.Lease, Only: only})
			if err != nil {
				<-slots
				if !errors.Is(err, registry.ErrNoJob) && ctx.Err() == nil {
					c.logger().Warn("claiming a job", "worker", w.Name, "error", err)
				}
				break
			}
			running.Add(1)
			go func() {
				defer running.Done()
				w.execute(ctx, j, cancelOnStop)
				<-slots
				select {
				case freed <- struct{}{}:
				default:
				}
			}()
		}
		if ctx.Err() == nil {
			finished, err := done(ctx)
			if err != nil || finished {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-freed:
		case <-time.After(w.Poll):
		}
	}
}

var (
	causeCancelRequested = errors.New("cancelled on request")
	causeLeaseLost       = errors.New("lease lost")
)

// execute runs one attempt of a claimed job and records how it ended.
// cancelOnStop says what a cancelled ctx means: the user stopping the work
// (the job is cancelled) or the worker shutting down (it is queued again).
func (w *Worker) execute(ctx context.Context, j *registry.Job, cancelOnStop bool) {
	c := w.Coordinator
	run := &jobRun{c: c, job: j} // the claim logged the attempt's start
	prev := c.markRunning(ctx, run)

	jctx, cancel := context.WithCancelCause(ctx)
	beat := make(chan struct{})
	go func() {
		defer close(beat)
		w.heartbeat(jctx, run, cancel)
	}()
	start := time.Now()
	err := c.handle(jctx, run)
	cancel(nil)
	<-beat

	cause := context.Cause(jctx)
	rows := run.rows.Load()
	finish := registry.FinishJobParams{ID: j.ID, Worker: w.Name, Attempt: j.Attempts, Rows: rows, Result: run.result}
	bg := context.WithoutCancel(ctx)
	switch {
	case errors.Is(cause, causeLeaseLost):
		// Another worker holds the job now; it records the outcome.
		run.sayf("worker %s lost its lease and stopped; another worker runs the job", w.Name)
		return
	case err == nil:
		finish.Status = registry.JobSucceeded
		// In the finish's transaction: a worker that dies before recording
		// the success has not said it.
		finish.Log = []string{fmt.Sprintf(logSucceeded, time.Since(start).Round(time.Millisecond), rows)}
	case errors.Is(cause, causeCancelRequested) || (ctx.Err() != nil && cancelOnStop):
		finish.Status, finish.Error = registry.JobCancelled, "cancelled"
		run.sayf("cancelled after %s", time.Since(start).Round(time.Millisecond))
		c.restore(bg, prev)
	case ctx.Err() != nil:
		finish.Status, finish.RunAfter, finish.Error = registry.JobQueued, c.now(), "worker stopped; queued again"
		finish.Release = true // the attempt is given back, or the job cancelled if that was asked
		run.sayf("worker %s stopped; the job is queued again (or cancelled, if that was asked)", w.Name)
		c.restore(bg, prev)
	case Transient(err) && j.Attempts < j.MaxAttempts:
		wait := w.backoff(j.Attempts)
		finish.Status, finish.RunAfter, finish.Error = registry.JobQueued, c.now().Add(wait), err.Error()
		run.sayf("attempt %d failed (%v); retrying in %s", j.Attempts, err, wait.Round(time.Millisecond))
		c.restore(bg, prev) // the job shows the retry; readers keep the previous table
	case errors.As(err, new(requestError)):
		// The request was wrong (a path that cannot be written), not the resource.
		finish.Status, finish.Error = registry.JobFailed, err.Error()
		run.sayf("failed: %v", err)
		c.restore(bg, prev)
	default:
		finish.Status, finish.Error = registry.JobFailed, err.Error()
		run.sayf("failed: %v", err)
		c.setStatuses(bg, prev, resource.StatusFailed, err.Error())
	}
	w.finish(bg, &finish)
}

// finish records how an attempt ended. A registry that is briefly
// unreachable is tried again until the lease would have expired: after
// that another worker may hold the job.
func (w *Worker) finish(ctx context.Context, p *registry.FinishJobParams) {
	c := w.Coordinator
	giveUp := time.Now().Add(w.Lease)
	for {
		p.Now = c.now()
		err := c.Registry.FinishJob(ctx, p)
		if err == nil || errors.Is(err, registry.ErrLeaseLost) || time.Now().After(giveUp) {
			if err != nil {
				c.logger().Warn("recording the end of a job", "job", p.ID, "error", err)
			}
			return
		}
		time.Sleep(w.Heartbeat)
	}
}

// heartbeat renews the job's lease and records its progress until ctx ends.
// It cancels the job when someone asked to cancel it or when the lease is lost.
func (w *Worker) heartbeat(ctx context.Context, run *jobRun, cancel context.CancelCauseFunc) {
	c := w.Coordinator
	t := time.NewTicker(w.Heartbeat)
	defer t.Stop()
	renewed := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		j, err := c.Registry.UpdateJob(ctx, &registry.UpdateJobParams{
			ID: run.job.ID, Worker: w.Name, Attempt: run.job.Attempts, Now: c.now(), Lease: w.Lease, Rows: run.rows.Load(),
		})
		switch {
		case errors.Is(err, registry.ErrLeaseLost):
			cancel(causeLeaseLost)
			return
		case err != nil && time.Since(renewed) > w.Lease:
			// Unrenewed past the lease, another worker may hold the job now.
			cancel(causeLeaseLost)
			return
		case err != nil:
			// The registry may be back before the lease expires.
			if ctx.Err() == nil {
				c.logger().Warn("renewing a job's lease", "job", run.job.ID, "error", err)
			}
		case j.CancelRequested:
			cancel(causeCancelRequested)
			return
		default:
			renewed = time.Now()
		}
	}
}

// backoff is the wait before the attempt after attempt n: exponential,
// capped, with "equal jitter" (half fixed, half random) so that jobs failing
// together do not retry together.
func (w *Worker) backoff(n int) time.Duration {
	d := w.BackoffMax
	if n < 32 {
		d = min(w.BackoffMax, w.BackoffBase<<(n-1))
	}
	return d/2 + rand.N(d/2+1)
}

// Transient reports whether err may go away on its own (the engine is
// restarting, the network dropped a connection, a call timed out), so the
// attempt is worth repeating.
func Transient(err error) bool {
	if err == nil || errors.Is(err, errPermanent) || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, errNotYet) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// Database errors carry a SQLSTATE (pgx's PgError has SQLState()).
	var coded interface{ SQLState() string }
	if errors.As(err, &coded) {
		return transientSQLState(coded.SQLState())
	}
	return false
}

// transientSQLState reports whether a SQLSTATE says "try again": the
// connection failed (class 08), a serialization failure or deadlock
// (40001, 40P01), too many connections or out of resources (class 53), or
// the server shutting down or restarting (57P01-57P03).
func transientSQLState(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"):
		return true
	}
	switch code {
	case "40001", "40P01", "57P01", "57P02", "57P03":
		return true
	}
	return false
}

// jobRun is one attempt of a job as its handler sees it: where to report
// progress and log lines.
type jobRun struct {
	c    *Coordinator
	job  *registry.Job
	rows atomic.Int64
	// result is what the job leaves for the jobs after it (Job.Result).
	result []byte
}

// sayf logs a line (logf) and writes it to the coordinator's progress output.
func (r *jobRun) sayf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	r.c.say("  job %d %s %s: %s", r.job.ID, r.job.Kind, r.job.Resource.Ref(), line)
	r.log(line)
}

// logf appends a line to the job's log.
func (r *jobRun) logf(format string, args ...any) { r.log(fmt.Sprintf(format, args...)) }

func (r *jobRun) log(line string) {
	err := r.c.Registry.AppendJobLog(context.Background(), &registry.AppendJobLogParams{ID: r.job.ID, Time: r.c.now(), Lines: []string{line}})
	if err != nil {
		r.c.logger().Warn("writing a job's log", "job", r.job.ID, "error", err)
	}
}
