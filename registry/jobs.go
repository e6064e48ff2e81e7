package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/resource"
)

// JobStore is the durable job queue. It lives in the registry database so
// that job state survives any process, and so that on PostgreSQL several
// workers share one queue. Why it is not a queue library is in
// docs/design/jobs.md.
//
// The store never reads a clock: every call that depends on time takes Now
// from the caller, so schedules and leases are tested with a fake clock.
type JobStore interface {
	// EnqueueJobs inserts a batch of jobs in one transaction, all or
	// nothing, and returns them in order.
	EnqueueJobs(ctx context.Context, p *EnqueueJobsParams) ([]*Job, error)
	// ClaimJob gives one job to a worker under a lease, or returns
	// ErrNoJob. A job is claimable when it is queued, its RunAfter has
	// come and every job it depends on has succeeded. ClaimJob never ends
	// an attempt whose lease expired: a job whose worker died stays
	// running until RecoverJobs ends it, so that the caller, which alone
	// can clean up after it, always sees it. Claims take the lowest ID
	// first, and a job is never given to two workers under live leases.
	ClaimJob(ctx context.Context, p *ClaimJobParams) (*Job, error)
	// RecoverJobs ends the attempt of every running job whose lease
	// expired before Now (its worker died or stopped renewing): the job
	// is queued again at once when it has attempts left; it fails, with
	// its dependents, when it has none; it is cancelled, with its
	// dependents, when its cancel was requested (a cancelled job is never
	// run again). The error names the worker and the attempt. It returns
	// those jobs as they are now, lowest ID first, so the caller can put
	// back what their attempts left behind (resource statuses, partial
	// files).
	RecoverJobs(ctx context.Context, p *RecoverJobsParams) ([]*Job, error)
	// UpdateJob extends a running job's lease and records its progress. It
	// returns the job, whose CancelRequested tells the worker to stop, or
	// ErrLeaseLost when the worker no longer holds the job.
	UpdateJob(ctx context.Context, p *UpdateJobParams) (*Job, error)
	// FinishJob ends an attempt: succeeded, failed or cancelled, or queued
	// again to retry at RunAfter. A failed or cancelled job ends every job
	// that depends on it, directly or not, with the same status, BlockedBy
	// set and BlockedError as the error. ErrLeaseLost when the worker no
	// longer holds the job.
	FinishJob(ctx context.Context, p *FinishJobParams) error
	// CancelJob cancels a queued job at once (with its dependents) and asks
	// a running one to stop (CancelRequested); its worker then finishes it
	// as cancelled. A running job whose lease has expired (its worker died)
	// is cancelled at once. ErrJobState for a job that has ended.
	CancelJob(ctx context.Context, p *CancelJobParams) (*Job, error)
	// RetryJob queues a failed or cancelled job again with no attempts
	// used, together with the jobs it blocked. A job so queued that also
	// waits for another failed or cancelled job ends again at once, blocked
	// by that one (as FinishJob would have ended it). ErrJobState for any
	// other status, and for a job that was ended by its upstream
	// (BlockedBy): that upstream is the one to retry.
	RetryJob(ctx context.Context, p *RetryJobParams) (*Job, error)
	// GetJob returns one job or ErrNotFound.
	GetJob(ctx context.Context, id int64) (*Job, error)
	// ListJobs returns jobs newest first.
	ListJobs(ctx context.Context, p *ListJobsParams) ([]*Job, error)
	// CountJobs counts the jobs in each status in one query, cheap enough
	// for every metrics scrape. Every status of JobStatuses is in the map,
	// with 0 when no job has it.
	CountJobs(ctx context.Context, p *CountJobsParams) (map[JobStatus]int64, error)
	// AppendJobLog adds lines to a job's log (ErrNotFound for an unknown job).
	AppendJobLog(ctx context.Context, p *AppendJobLogParams) error
	// JobLogs returns a job's log lines after a sequence number, oldest first.
	JobLogs(ctx context.Context, p *JobLogsParams) ([]JobLogLine, error)
}

// JobStatus is where a job is in its life.
type JobStatus string

// Job statuses. Queued and running jobs are live; the others are final
// until RetryJob.
const (
	JobQueued    JobStatus = "queued"
	JobRunning   JobStatus = "running"
	JobSucceeded JobStatus = "succeeded"
	JobFailed    JobStatus = "failed"
	JobCancelled JobStatus = "cancelled"
)

// JobStatuses lists every status, in life order.
var JobStatuses = []JobStatus{JobQueued, JobRunning, JobSucceeded, JobFailed, JobCancelled}

// Valid reports whether s is one of JobStatuses.
func (s JobStatus) Valid() bool {
	switch s {
	case JobQueued, JobRunning, JobSucceeded, JobFailed, JobCancelled:
		return true
	}
	return false
}

// Ended reports whether s is final (succeeded, failed or cancelled).
func (s JobStatus) Ended() bool {
	return s == JobSucceeded || s == JobFailed || s == JobCancelled
}

// Job is one unit of work in the queue.
type Job struct {
	ID int64
	// Kind names the work ("transformation", "materialize", "export"); the
	// coordinator defines kinds, the store only keeps them.
	Kind string
	// Resource is what the job works on.
	Resource resource.ID
	// Args are the kind's arguments (JSON), opaque to the store.
	Args []byte
	// Key, when set, is unique among all jobs (EnqueueJobs refuses a
	// batch that reuses one): a schedule uses it to enqueue each firing once.
	Key    string
	Status JobStatus
	// Attempts counts the attempts started; it is also the lease token: a
	// worker's UpdateJob and FinishJob name the attempt they run.
	Attempts    int
	MaxAttempts int
	// DependsOn are the jobs that must succeed before this one runs.
	DependsOn []int64
	// BlockedBy is the upstream job whose failure or cancellation ended
	// this one (0 when none).
	BlockedBy int64
	CreatedAt time.Time
	// RunAfter is when the job may next be claimed (a retry's backoff).
	RunAfter time.Time
	// StartedAt is when the latest attempt started; EndedAt when the job
	// ended. Zero when it has not.
	StartedAt, EndedAt time.Time
	// Worker holds the job while running, under a lease until LeaseUntil.
	Worker          string
	LeaseUntil      time.Time
	CancelRequested bool
	// Rows counts what the job processed (rows built, values written, rows exported).
	Rows  int64
	Error string
	// Result is what the job produced for the jobs after it (JSON, set by
	// FinishJob), opaque to the store.
	Result []byte
}

// NewJob describes a job to enqueue.
type NewJob struct {
	Kind     string
	Resource resource.ID
	Args     []byte
	Key      string
	// MaxAttempts is how many attempts the job gets (at least 1).
	MaxAttempts int
	// After lists earlier jobs of the same batch, by index, that must
	// succeed before this one runs.
	After []int
}

// EnqueueJobsParams is the input of JobStore.EnqueueJobs.
type EnqueueJobsParams struct {
	Jobs []NewJob
	// Now is the jobs' CreatedAt and RunAfter.
	Now time.Time
}

// Validate checks a batch before it touches storage.
func (p *EnqueueJobsParams) Validate() error {
	if len(p.Jobs) == 0 {
		return errors.New("enqueueing jobs: the batch is empty")
	}
	keys := map[string]bool{}
	for i, j := range p.Jobs {
		if j.Kind == "" {
			return fmt.Errorf("enqueueing job %d: kind is empty", i)
		}
		if err := j.Resource.Validate(); err != nil {
			return fmt.Errorf("enqueueing job %d: %w", i, err)
		}
		if j.MaxAttempts < 1 {
			return fmt.Errorf("enqueueing job %d (%s %s): max attempts is %d, want at least 1", i, j.Kind, j.Resource, j.MaxAttempts)
		}
		for _, a := range j.After {
			if a < 0 || a >= i {
				return fmt.Errorf("enqueueing job %d (%s %s): it can only wait for earlier jobs of the batch, not job %d", i, j.Kind, j.Resource, a)
			}
		}
		if j.Key != "" {
			if keys[j.Key] {
				return fmt.Errorf("enqueueing job %d: key %q appears twice in the batch: %w", i, j.Key, ErrDuplicateKey)
			}
			keys[j.Key] = true
		}
	}
	return nil
}

// ClaimJobParams is the input of JobStore.ClaimJob.
type ClaimJobParams struct {
	// Worker names the claiming worker (unique per process and goroutine pool).
	Worker string
	Now    time.Time
	// Lease is how long the job stays the worker's without an UpdateJob.
	Lease time.Duration
	// Only, when not empty, restricts the claim to these jobs.
	Only []int64
}

// AttemptStarted is the line ClaimJob appends to a claimed job's log, in
// the claim's transaction: every attempt the job counts has its line, even
// when its worker dies right after claiming.
func AttemptStarted(attempt, maxAttempts int, worker string) string {
	return fmt.Sprintf(AttemptStartedFormat, attempt, maxAttempts, worker)
}

// AttemptStartedFormat is AttemptStarted's format.
const AttemptStartedFormat = "attempt %d of %d started on worker %s"

// RecoverJobsParams is the input of JobStore.RecoverJobs.
type RecoverJobsParams struct {
	// Now is the time leases are compared with, and the recovered jobs'
	// RunAfter (queued) or EndedAt (failed, cancelled).
	Now time.Time
}

// LeaseExpiredError is the error recorded on a job whose worker stopped
// renewing its lease during attempt n of max.
func LeaseExpiredError(worker string, attempt, maxAttempts int) string {
	return fmt.Sprintf("worker %s stopped renewing its lease (attempt %d of %d)", worker, attempt, maxAttempts)
}

// UpdateJobParams is the input of JobStore.UpdateJob.
type UpdateJobParams struct {
	ID      int64
	Worker  string
	Attempt int
	Now     time.Time
	// Lease extends the lease to Now+Lease.
	Lease time.Duration
	Rows  int64
}

// FinishJobParams is the input of JobStore.FinishJob.
type FinishJobParams struct {
	ID      int64
	Worker  string
	Attempt int
	Now     time.Time
	// Status is succeeded, failed, cancelled, or queued to retry at RunAfter.
	Status   JobStatus
	RunAfter time.Time
	Rows     int64
	Error    string
	// Result replaces the job's Result when not nil.
	Result []byte
	// Release, with Status queued, gives the attempt back: the job is
	// queued again with Attempts one less, as if this attempt never started
	// (a worker shutting down). A job whose cancel was requested is
	// cancelled instead (with its dependents, as CancelJob would).
	Release bool
	// Log lines are appended to the job's log (stamped Now) in the same
	// transaction: they are there if and only if the finish is recorded,
	// so a line such as "succeeded" is never written by an attempt whose
	// worker died before recording it, or lost its lease.
	Log []string
}

// Validate checks the parameters before they touch storage.
func (p *FinishJobParams) Validate() error {
	if p.Status == JobRunning || !p.Status.Valid() {
		return fmt.Errorf("finishing job %d: status %q is not succeeded, failed, cancelled or queued", p.ID, p.Status)
	}
	if p.Release && p.Status != JobQueued {
		return fmt.Errorf("finishing job %d: releasing an attempt requeues the job, so the status must be queued, not %q", p.ID, p.Status)
	}
	return nil
}

// CancelJobParams is the input of JobStore.CancelJob.
type CancelJobParams struct {
	ID  int64
	Now time.Time
}

// RetryJobParams is the input of JobStore.RetryJob.
type RetryJobParams struct {
	ID  int64
	Now time.Time
}

// ListJobsParams filters ListJobs; zero fields do not filter.
type ListJobsParams struct {
	Statuses []JobStatus
	Resource resource.ID
	Kind     string
	// KeyPrefix keeps the jobs whose Key starts with it (byte-wise; no wildcards).
	KeyPrefix string
	// BeforeID keeps the jobs whose ID is lower (0: no bound): passing the
	// last ID of a page lists the next page.
	BeforeID int64
	// Limit caps the number of jobs (0: 100).
	Limit int
}

// CountJobsParams filters CountJobs; zero fields do not filter.
type CountJobsParams struct {
	Kind string
}

// AppendJobLogParams is the input of JobStore.AppendJobLog.
type AppendJobLogParams struct {
	ID    int64
	Time  time.Time
	Lines []string
}

// JobLogsParams is the input of JobStore.JobLogs.
type JobLogsParams struct {
	ID int64
	// After skips lines up to this sequence number (0: from the start).
	After int64
	// Limit caps the number of lines (0: 1000).
	Limit int
}

// JobLogLine is one line of a job's log; Seq increases by one per line of a job.
type JobLogLine struct {
	Seq  int64
	Time time.Time
	Line string
}

// Sentinel errors of the job queue.
var (
	ErrNoJob        = errors.New("no job to claim")
	ErrLeaseLost    = errors.New("the worker no longer holds the job")
	ErrJobState     = errors.New("job is in the wrong state")
	ErrDuplicateKey = errors.New("job key already used")
)

// BlockedError is the error recorded on a job ended because its upstream
// job failed or was cancelled.
func BlockedError(upstream *Job, status JobStatus, upstreamError string) string {
	if status == JobCancelled {
		return fmt.Sprintf("upstream job %d (%s %s) was cancelled", upstream.ID, upstream.Kind, upstream.Resource)
	}
	return fmt.Sprintf("upstream job %d (%s %s) failed: %s", upstream.ID, upstream.Kind, upstream.Resource, upstreamError)
}
