package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// Clock tells the time. The coordinator reads time only through it, so
// tests drive schedules, leases and backoff with a fake one.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (c *Coordinator) clock() Clock {
	if c.Clock != nil {
		return c.Clock
	}
	return systemClock{}
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
// then are put back in the queue for another worker.
func (w *Worker) Run(ctx context.Context) error {
	w.defaults()
	return w.loop(ctx, nil, nil)
}

// Work runs the given jobs (and only those) until each has ended, whoever
// ran it, and returns them. When ctx is cancelled (Ctrl-C), the jobs that
// have not ended are cancelled.
func (w *Worker) Work(ctx context.Context, ids []int64) ([]*registry.Job, error) {
	w.defaults()
	var jobs []*registry.Job
	allEnded := func(ctx context.Context) (bool, error) {
		jobs = jobs[:0]
		for _, id := range ids {
			j, err := w.Coordinator.Registry.GetJob(ctx, id)
			if err != nil {
				return false, fmt.Errorf("reading job %d: %w", id, err)
			}
			jobs = append(jobs, j)
		}
		for _, j := range jobs {
			if !j.Status.Ended() {
				return false, nil
			}
		}
		return true, nil
	}
	err := w.loop(ctx, ids, allEnded)
	if ctx.Err() != nil {
		err = errors.Join(err, w.cancelAll(context.WithoutCancel(ctx), ids))
	}
	return jobs, err
}

// cancelAll cancels the jobs that have not ended.
func (w *Worker) cancelAll(ctx context.Context, ids []int64) error {
	var errs []error
	for _, id := range ids {
		_, err := w.Coordinator.Registry.CancelJob(ctx, &registry.CancelJobParams{ID: id, Now: w.Coordinator.clock().Now()})
		if err != nil && !errors.Is(err, registry.ErrJobState) {
			errs = append(errs, fmt.Errorf("cancelling job %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// loop claims jobs (only those in only, when set) while it has free slots,
// and waits for a slot, a poll or ctx otherwise. It returns when ctx is
// cancelled or done says all is done, once its running jobs have finished.
func (w *Worker) loop(ctx context.Context, only []int64, done func(context.Context) (bool, error)) error {
	c := w.Coordinator
	slots := make(chan struct{}, w.Concurrency)
	freed := make(chan struct{}, 1)
	var running sync.WaitGroup
	defer running.Wait()
	for {
	claiming:
		for ctx.Err() == nil {
			select {
			case slots <- struct{}{}:
			default:
				break claiming // every slot is busy
			}
			j, err := c.Registry.ClaimJob(ctx, &registry.ClaimJobParams{Worker: w.Name, Now: c.clock().Now(), Lease: w.Lease, Only: only})
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
				w.execute(ctx, j, done != nil)
				<-slots
				select {
				case freed <- struct{}{}:
				default:
				}
			}()
		}
		if done != nil && ctx.Err() == nil {
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
	errCancelRequested = errors.New("cancelled on request")
	errLeaseLost       = errors.New("lease lost")
)

// execute runs one attempt of a claimed job and records how it ended.
// cancelOnStop says what a cancelled ctx means: the user stopping the work
// (the job is cancelled) or the worker shutting down (it is queued again).
func (w *Worker) execute(ctx context.Context, j *registry.Job, cancelOnStop bool) {
	c := w.Coordinator
	run := &jobRun{c: c, job: j}
	run.logf("attempt %d of %d started on worker %s", j.Attempts, j.MaxAttempts, w.Name)
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
	case errors.Is(cause, errLeaseLost):
		// Another worker holds the job now; it records the outcome.
		run.sayf("worker %s lost its lease and stopped; another worker runs the job", w.Name)
		return
	case err == nil:
		finish.Status = registry.JobSucceeded
		run.logf("succeeded in %s, %d rows", time.Since(start).Round(time.Millisecond), rows)
	case errors.Is(cause, errCancelRequested) || (ctx.Err() != nil && cancelOnStop):
		finish.Status, finish.Error = registry.JobCancelled, "cancelled"
		run.sayf("cancelled after %s", time.Since(start).Round(time.Millisecond))
		c.restore(bg, prev)
	case ctx.Err() != nil:
		finish.Status, finish.RunAfter, finish.Error = registry.JobQueued, c.clock().Now(), "worker stopped; queued again"
		run.sayf("worker %s stopped; the job is queued again", w.Name)
		c.restore(bg, prev)
	case Transient(err) && j.Attempts < j.MaxAttempts:
		wait := w.backoff(j.Attempts)
		finish.Status, finish.RunAfter, finish.Error = registry.JobQueued, c.clock().Now().Add(wait), err.Error()
		run.sayf("attempt %d failed (%v); retrying in %s", j.Attempts, err, wait.Round(time.Millisecond))
		c.setStatuses(bg, prev, resource.StatusPending, fmt.Sprintf("attempt %d of %d failed, retrying: %v", j.Attempts, j.MaxAttempts, err))
	default:
		finish.Status, finish.Error = registry.JobFailed, err.Error()
		run.sayf("failed: %v", err)
		c.setStatuses(bg, prev, resource.StatusFailed, err.Error())
	}
	finish.Now = c.clock().Now()
	if err := c.Registry.FinishJob(bg, &finish); err != nil {
		c.logger().Warn("recording the end of a job", "job", j.ID, "error", err)
	}
}

// heartbeat renews the job's lease and records its progress until ctx ends.
// It cancels the job when someone asked to cancel it or when the lease is lost.
func (w *Worker) heartbeat(ctx context.Context, run *jobRun, cancel context.CancelCauseFunc) {
	c := w.Coordinator
	t := time.NewTicker(w.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		j, err := c.Registry.UpdateJob(ctx, &registry.UpdateJobParams{
			ID: run.job.ID, Worker: w.Name, Attempt: run.job.Attempts, Now: c.clock().Now(), Lease: w.Lease, Rows: run.rows.Load(),
		})
		switch {
		case errors.Is(err, registry.ErrLeaseLost):
			cancel(errLeaseLost)
			return
		case err != nil:
			// The registry may be back before the lease expires.
			if ctx.Err() == nil {
				c.logger().Warn("renewing a job's lease", "job", run.job.ID, "error", err)
			}
		case j.CancelRequested:
			cancel(errCancelRequested)
			return
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
	return errors.As(err, &ne)
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
	err := r.c.Registry.AppendJobLog(context.Background(), &registry.AppendJobLogParams{ID: r.job.ID, Time: r.c.clock().Now(), Lines: []string{line}})
	if err != nil {
		r.c.logger().Warn("writing a job's log", "job", r.job.ID, "error", err)
	}
}
