package registrysqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// The job queue (registry.JobStore). Every write runs in inTx, whose BEGIN
// IMMEDIATE holds SQLite's write lock for the whole transaction: a claim
// reads and updates the queue with no other writer in between, in this
// process or another, so a job is never handed out twice.

// Defaults of ListJobs and JobLogs.
const (
	defaultJobLimit = 100
	defaultLogLimit = 1000
)

// jobColumns are the columns scanJob reads, in order; the last lists the
// job's dependencies.
const jobColumns = `id, kind, resource_kind, resource_name, resource_variant, args, key, status,
	attempts, max_attempts, blocked_by, created_at, run_after, started_at, ended_at,
	worker, lease_until, cancel_requested, rows, error, result,
	(SELECT group_concat(depends_on) FROM job_dependencies WHERE job_id = jobs.id)`

// querier is what reads need from *sql.DB and *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// EnqueueJobs implements registry.JobStore.
func (s *Store) EnqueueJobs(ctx context.Context, p *registry.EnqueueJobsParams) ([]*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var out []*registry.Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ids := make([]int64, len(p.Jobs))
		for i, nj := range p.Jobs {
			if err := checkKeyUnused(ctx, tx, nj.Key); err != nil {
				return fmt.Errorf("enqueueing job %d (%s %s): %w", i, nj.Kind, nj.Resource, err)
			}
			id, err := insertJob(ctx, tx, &nj, p.Now)
			if err != nil {
				return fmt.Errorf("enqueueing job %d (%s %s): %w", i, nj.Kind, nj.Resource, err)
			}
			ids[i] = id
			for _, a := range nj.After {
				if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO job_dependencies (job_id, depends_on) VALUES (?, ?)`,
					id, ids[a]); err != nil {
					return fmt.Errorf("enqueueing job %d (%s %s): recording its dependency on job %d: %w",
						i, nj.Kind, nj.Resource, ids[a], mapErr(ctx, err))
				}
			}
		}
		out = make([]*registry.Job, len(ids))
		for i, id := range ids {
			j, err := getJob(ctx, tx, id)
			if err != nil {
				return fmt.Errorf("reading enqueued job %d: %w", id, err)
			}
			out[i] = j
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.DebugContext(ctx, "jobs enqueued", "count", len(out), "first", out[0].ID)
	return out, nil
}

// checkKeyUnused returns ErrDuplicateKey when a job already has key.
func checkKeyUnused(ctx context.Context, tx *sql.Tx, key string) error {
	if key == "" {
		return nil
	}
	var other int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM jobs WHERE key = ?`, key).Scan(&other)
	switch {
	case err == nil:
		return fmt.Errorf("key %q is already used by job %d: %w", key, other, registry.ErrDuplicateKey)
	case errors.Is(err, sql.ErrNoRows):
		return nil
	default:
		return mapErr(ctx, err)
	}
}

func insertJob(ctx context.Context, tx *sql.Tx, nj *registry.NewJob, now time.Time) (int64, error) {
	var key any
	if nj.Key != "" {
		key = nj.Key
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO jobs
		(kind, resource_kind, resource_name, resource_variant, args, key, status, max_attempts, created_at, run_after)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		nj.Kind, string(nj.Resource.Kind), nj.Resource.Name, nj.Resource.Variant, nj.Args, key,
		string(registry.JobQueued), nj.MaxAttempts, jobTime(now), jobTime(now))
	if err != nil {
		return 0, mapErr(ctx, err)
	}
	id, err := res.LastInsertId()
	return id, mapErr(ctx, err)
}

// ClaimJob implements registry.JobStore.
func (s *Store) ClaimJob(ctx context.Context, p *registry.ClaimJobParams) (*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var job *registry.Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		id, err := nextClaimable(ctx, tx, p)
		if errors.Is(err, registry.ErrNoJob) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE jobs
			SET status = ?, worker = ?, attempts = attempts + 1, started_at = ?, lease_until = ?
			WHERE id = ?`,
			string(registry.JobRunning), p.Worker, jobTime(p.Now), jobTime(p.Now.Add(p.Lease)), id); err != nil {
			return fmt.Errorf("claiming job %d: %w", id, mapErr(ctx, err))
		}
		job, err = getJob(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claiming a job for worker %s: %w", p.Worker, err)
	}
	if job == nil {
		return nil, registry.ErrNoJob
	}
	s.log.DebugContext(ctx, "job claimed", "id", job.ID, "worker", p.Worker, "attempt", job.Attempts)
	return job, nil
}

// RecoverJobs implements registry.JobStore.
func (s *Store) RecoverJobs(ctx context.Context, p *registry.RecoverJobsParams) ([]*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Most calls find nothing: look first without taking the write lock.
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM jobs WHERE status = ? AND lease_until < ? LIMIT 1`,
		string(registry.JobRunning), p.Now.UnixMicro()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("finding jobs whose lease expired: %w", mapErr(ctx, err))
	}
	var out []*registry.Job
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		ids, err := recoverExpired(ctx, tx, p.Now)
		if err != nil {
			return err
		}
		for _, id := range ids {
			j, err := getJob(ctx, tx, id)
			if err != nil {
				return fmt.Errorf("reading job %d: %w", id, err)
			}
			out = append(out, j)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recovering jobs whose lease expired: %w", err)
	}
	return out, nil
}

// recoverExpired ends the attempts of the running jobs whose lease expired
// before now (registry.JobStore.RecoverJobs) and returns their ids.
func recoverExpired(ctx context.Context, tx *sql.Tx, now time.Time) ([]int64, error) {
	ids, err := queryIDs(ctx, tx, `SELECT id FROM jobs WHERE status = ? AND lease_until < ? ORDER BY id`,
		string(registry.JobRunning), now.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("finding expired leases: %w", err)
	}
	for _, id := range ids {
		j, err := getJob(ctx, tx, id)
		if err != nil {
			return nil, fmt.Errorf("reading job %d: %w", id, err)
		}
		msg := registry.LeaseExpiredError(j.Worker, j.Attempts, j.MaxAttempts)
		switch {
		case j.CancelRequested:
			err = endJob(ctx, tx, j, registry.JobCancelled, now, j.Rows, "cancelled")
		case j.Attempts >= j.MaxAttempts:
			err = endJob(ctx, tx, j, registry.JobFailed, now, j.Rows, msg)
		default:
			_, err = tx.ExecContext(ctx, `UPDATE jobs
				SET status = ?, run_after = ?, worker = '', lease_until = NULL, error = ?
				WHERE id = ?`,
				string(registry.JobQueued), jobTime(now), msg+"; queued again", id)
			err = mapErr(ctx, err)
		}
		if err != nil {
			return nil, fmt.Errorf("recovering job %d: %w", id, err)
		}
	}
	return ids, nil
}

// nextClaimable returns the lowest claimable job id, or ErrNoJob: a queued
// job whose time has come and whose dependencies all succeeded.
func nextClaimable(ctx context.Context, tx *sql.Tx, p *registry.ClaimJobParams) (int64, error) {
	now := p.Now.UnixMicro()
	only, onlyArgs := "", []any(nil)
	if len(p.Only) > 0 {
		only = ` AND id IN (` + placeholders(len(p.Only)) + `)`
		for _, id := range p.Only {
			onlyArgs = append(onlyArgs, id)
		}
	}
	query := `SELECT id FROM jobs
		WHERE status = ? AND (run_after IS NULL OR run_after <= ?)` + only + `
		AND NOT EXISTS (
			SELECT 1 FROM job_dependencies d JOIN jobs up ON up.id = d.depends_on
			WHERE d.job_id = jobs.id AND up.status <> ?)
		ORDER BY id LIMIT 1`
	args := []any{string(registry.JobQueued), now}
	args = append(args, onlyArgs...)
	args = append(args, string(registry.JobSucceeded))
	var id int64
	err := tx.QueryRowContext(ctx, query, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, registry.ErrNoJob
	}
	if err != nil {
		return 0, fmt.Errorf("finding a claimable job: %w", mapErr(ctx, err))
	}
	return id, nil
}

// UpdateJob implements registry.JobStore.
func (s *Store) UpdateJob(ctx context.Context, p *registry.UpdateJobParams) (*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var job *registry.Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := heldJob(ctx, tx, p.ID, p.Worker, p.Attempt); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET lease_until = ?, rows = ? WHERE id = ?`,
			jobTime(p.Now.Add(p.Lease)), p.Rows, p.ID); err != nil {
			return mapErr(ctx, err)
		}
		var err error
		job, err = getJob(ctx, tx, p.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("updating job %d: %w", p.ID, err)
	}
	return job, nil
}

// FinishJob implements registry.JobStore.
func (s *Store) FinishJob(ctx context.Context, p *registry.FinishJobParams) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		j, err := heldJob(ctx, tx, p.ID, p.Worker, p.Attempt)
		if err != nil {
			return err
		}
		if p.Result != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE jobs SET result = ? WHERE id = ?`, p.Result, p.ID); err != nil {
				return mapErr(ctx, err)
			}
		}
		switch {
		case p.Release && j.CancelRequested:
			// Nobody wants the job any more: it ends here rather than
			// making the next worker start it only to cancel it.
			return endJob(ctx, tx, j, registry.JobCancelled, p.Now, p.Rows, "cancelled")
		case p.Status == registry.JobQueued:
			given := 0 // attempts given back
			if p.Release {
				given = 1
			}
			_, err := tx.ExecContext(ctx, `UPDATE jobs
				SET status = ?, attempts = attempts - ?, run_after = ?, worker = '', lease_until = NULL, error = ?
				WHERE id = ?`,
				string(registry.JobQueued), given, jobTime(p.RunAfter), p.Error, p.ID)
			return mapErr(ctx, err)
		}
		return endJob(ctx, tx, j, p.Status, p.Now, p.Rows, p.Error)
	})
	if err != nil {
		return fmt.Errorf("finishing job %d: %w", p.ID, err)
	}
	s.log.DebugContext(ctx, "job finished", "id", p.ID, "status", p.Status, "attempt", p.Attempt, "released", p.Release)
	return nil
}

// heldJob returns the job when worker runs it as attempt, or ErrLeaseLost.
func heldJob(ctx context.Context, tx *sql.Tx, id int64, worker string, attempt int) (*registry.Job, error) {
	j, err := getJob(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if j.Status != registry.JobRunning || j.Worker != worker || j.Attempts != attempt {
		return nil, fmt.Errorf("worker %s no longer runs attempt %d: the job is %s (attempt %d, worker %q): %w",
			worker, attempt, j.Status, j.Attempts, j.Worker, registry.ErrLeaseLost)
	}
	return j, nil
}

// endJob gives j a final status, and ends its dependents when it failed or
// was cancelled.
func endJob(ctx context.Context, tx *sql.Tx, j *registry.Job, status registry.JobStatus, now time.Time, rows int64, errText string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, ended_at = ?, rows = ?, error = ? WHERE id = ?`,
		string(status), jobTime(now), rows, errText, j.ID); err != nil {
		return mapErr(ctx, err)
	}
	if status == registry.JobFailed || status == registry.JobCancelled {
		return cascade(ctx, tx, j.ID, j, status, errText, now)
	}
	return nil
}

// cascade ends with status, blocked by origin, every queued job among from
// and the jobs that depend on from, directly or not. from is origin itself
// when origin has just ended (it is no longer queued, so only its
// dependents change), or a requeued job that RetryJob ends again because
// one of its upstream jobs ended through origin.
func cascade(ctx context.Context, tx *sql.Tx, from int64, origin *registry.Job, status registry.JobStatus, originError string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `WITH RECURSIVE downstream (id) AS (
			SELECT ?
			UNION
			SELECT d.job_id FROM job_dependencies d JOIN downstream ON d.depends_on = downstream.id
		)
		UPDATE jobs SET status = ?, blocked_by = ?, error = ?, ended_at = ?
		WHERE status = ? AND id IN (SELECT id FROM downstream)`,
		from, string(status), origin.ID, registry.BlockedError(origin, status, originError), jobTime(now),
		string(registry.JobQueued))
	if err != nil {
		return fmt.Errorf("ending the jobs that depend on job %d: %w", from, mapErr(ctx, err))
	}
	return nil
}

// CancelJob implements registry.JobStore.
func (s *Store) CancelJob(ctx context.Context, p *registry.CancelJobParams) (*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var job *registry.Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		j, err := getJob(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		switch {
		case j.Status == registry.JobQueued || j.Status == registry.JobRunning && leaseExpired(j, p.Now):
			// A running job whose lease expired has no worker left to see
			// the request: it ends now, like a queued one.
			err = endJob(ctx, tx, j, registry.JobCancelled, p.Now, j.Rows, "cancelled")
		case j.Status == registry.JobRunning:
			_, err = tx.ExecContext(ctx, `UPDATE jobs SET cancel_requested = 1 WHERE id = ?`, p.ID)
			err = mapErr(ctx, err)
		default:
			err = fmt.Errorf("it has already ended (status %s): %w", j.Status, registry.ErrJobState)
		}
		if err != nil {
			return err
		}
		job, err = getJob(ctx, tx, p.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cancelling job %d: %w", p.ID, err)
	}
	return job, nil
}

// RetryJob implements registry.JobStore.
func (s *Store) RetryJob(ctx context.Context, p *registry.RetryJobParams) (*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var job *registry.Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		j, err := getJob(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if j.Status != registry.JobFailed && j.Status != registry.JobCancelled {
			return fmt.Errorf("it is %s: only a failed or cancelled job can be retried: %w", j.Status, registry.ErrJobState)
		}
		if j.BlockedBy != 0 {
			return fmt.Errorf("job %d ended because upstream job %d did; retry job %d: %w",
				j.ID, j.BlockedBy, j.BlockedBy, registry.ErrJobState)
		}
		requeued, err := queryIDs(ctx, tx, `SELECT id FROM jobs WHERE id = ? OR blocked_by = ? ORDER BY id`, p.ID, p.ID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE jobs
			SET status = ?, attempts = 0, run_after = ?, blocked_by = 0, error = '', ended_at = NULL,
				started_at = NULL, worker = '', lease_until = NULL, cancel_requested = 0, rows = 0, result = NULL
			WHERE id = ? OR blocked_by = ?`,
			string(registry.JobQueued), jobTime(p.Now), p.ID, p.ID); err != nil {
			return mapErr(ctx, err)
		}
		for _, id := range requeued {
			if err := endIfUpstreamEnded(ctx, tx, id, p.Now); err != nil {
				return err
			}
		}
		job, err = getJob(ctx, tx, p.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("retrying job %d: %w", p.ID, err)
	}
	return job, nil
}

// endIfUpstreamEnded ends job id again, with its dependents, when it is
// queued but waits directly for a job that failed or was cancelled: it
// takes that job's status and is blocked by the job that job ended through
// (its BlockedBy, or itself), as if FinishJob had cascaded to it. With
// several such upstream jobs, the lowest id decides. RetryJob calls it for
// the jobs it requeued, in id order, which is dependency order.
func endIfUpstreamEnded(ctx context.Context, tx *sql.Tx, id int64, now time.Time) error {
	var (
		upstream, blockedBy int64
		status              string
	)
	err := tx.QueryRowContext(ctx, `SELECT u.id, u.status, u.blocked_by
		FROM jobs j
		JOIN job_dependencies d ON d.job_id = j.id
		JOIN jobs u ON u.id = d.depends_on
		WHERE j.id = ? AND j.status = ? AND u.status IN (?, ?)
		ORDER BY u.id LIMIT 1`,
		id, string(registry.JobQueued), string(registry.JobFailed), string(registry.JobCancelled)).
		Scan(&upstream, &status, &blockedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the upstream jobs of job %d: %w", id, mapErr(ctx, err))
	}
	origin := upstream
	if blockedBy != 0 {
		origin = blockedBy
	}
	o, err := getJob(ctx, tx, origin)
	if err != nil {
		return fmt.Errorf("reading job %d: %w", origin, err)
	}
	return cascade(ctx, tx, id, o, registry.JobStatus(status), o.Error, now)
}

// leaseExpired reports whether a running job's worker stopped renewing its
// lease before now.
func leaseExpired(j *registry.Job, now time.Time) bool {
	return !j.LeaseUntil.IsZero() && j.LeaseUntil.Before(now)
}

// GetJob implements registry.JobStore.
func (s *Store) GetJob(ctx context.Context, id int64) (*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	j, err := getJob(ctx, s.db, id)
	if err != nil {
		return nil, fmt.Errorf("getting job %d: %w", id, err)
	}
	return j, nil
}

// ListJobs implements registry.JobStore.
func (s *Store) ListJobs(ctx context.Context, p *registry.ListJobsParams) ([]*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p == nil {
		p = &registry.ListJobsParams{}
	}
	var where []string
	var args []any
	if len(p.Statuses) > 0 {
		where = append(where, `status IN (`+placeholders(len(p.Statuses))+`)`)
		for _, st := range p.Statuses {
			args = append(args, string(st))
		}
	}
	if p.Resource != (resource.ID{}) {
		where = append(where, `resource_kind = ? AND resource_name = ? AND resource_variant = ?`)
		args = append(args, string(p.Resource.Kind), p.Resource.Name, p.Resource.Variant)
	}
	if p.Kind != "" {
		where = append(where, `kind = ?`)
		args = append(args, p.Kind)
	}
	if p.KeyPrefix != "" {
		// Compared as blobs: byte-wise, with no wildcards (LIKE would
		// treat % and _ as patterns and ignore ASCII case).
		where = append(where, `substr(CAST(key AS BLOB), 1, ?) = ?`)
		args = append(args, len(p.KeyPrefix), []byte(p.KeyPrefix))
	}
	if p.BeforeID > 0 {
		where = append(where, `id < ?`)
		args = append(args, p.BeforeID)
	}
	query := `SELECT ` + jobColumns + ` FROM jobs`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	limit := p.Limit
	if limit <= 0 {
		limit = defaultJobLimit
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)

	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing jobs: %w", mapErr(ctx, err))
	}
	defer rows.Close()
	var out []*registry.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("listing jobs: %w", mapErr(ctx, err))
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing jobs: %w", mapErr(ctx, err))
	}
	return out, nil
}

// AppendJobLog implements registry.JobStore.
func (s *Store) AppendJobLog(ctx context.Context, p *registry.AppendJobLogParams) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkJobExists(ctx, tx, p.ID); err != nil {
			return err
		}
		var last int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM job_logs WHERE job_id = ?`,
			p.ID).Scan(&last); err != nil {
			return mapErr(ctx, err)
		}
		for i, line := range p.Lines {
			if _, err := tx.ExecContext(ctx, `INSERT INTO job_logs (job_id, seq, time, line) VALUES (?, ?, ?, ?)`,
				p.ID, last+int64(i)+1, jobTime(p.Time), line); err != nil {
				return mapErr(ctx, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("appending to the log of job %d: %w", p.ID, err)
	}
	return nil
}

// JobLogs implements registry.JobStore.
func (s *Store) JobLogs(ctx context.Context, p *registry.JobLogsParams) ([]registry.JobLogLine, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkJobExists(ctx, s.db, p.ID); err != nil {
		return nil, fmt.Errorf("reading the log of job %d: %w", p.ID, err)
	}
	limit := p.Limit
	if limit <= 0 {
		limit = defaultLogLimit
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, time, line FROM job_logs
		WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?`, p.ID, p.After, limit)
	if err != nil {
		return nil, fmt.Errorf("reading the log of job %d: %w", p.ID, mapErr(ctx, err))
	}
	defer rows.Close()
	var out []registry.JobLogLine
	for rows.Next() {
		var l registry.JobLogLine
		var t sql.NullInt64
		if err := rows.Scan(&l.Seq, &t, &l.Line); err != nil {
			return nil, fmt.Errorf("reading the log of job %d: %w", p.ID, mapErr(ctx, err))
		}
		l.Time = parseJobTime(t)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the log of job %d: %w", p.ID, mapErr(ctx, err))
	}
	return out, nil
}

// getJob reads one job; ErrNotFound when there is none.
func getJob(ctx context.Context, q querier, id int64) (*registry.Job, error) {
	j, err := scanJob(q.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if err != nil {
		return nil, mapErr(ctx, err)
	}
	return j, nil
}

// checkJobExists returns ErrNotFound for an unknown job.
func checkJobExists(ctx context.Context, q querier, id int64) error {
	var one int
	return mapErr(ctx, q.QueryRowContext(ctx, `SELECT 1 FROM jobs WHERE id = ?`, id).Scan(&one))
}

func scanJob(sc scanner) (*registry.Job, error) {
	var (
		j                                         registry.Job
		resKind, status                           string
		key, deps                                 sql.NullString
		created, runAfter, started, ended, leased sql.NullInt64
	)
	if err := sc.Scan(&j.ID, &j.Kind, &resKind, &j.Resource.Name, &j.Resource.Variant, &j.Args, &key, &status,
		&j.Attempts, &j.MaxAttempts, &j.BlockedBy, &created, &runAfter, &started, &ended,
		&j.Worker, &leased, &j.CancelRequested, &j.Rows, &j.Error, &j.Result, &deps); err != nil {
		return nil, err
	}
	j.Resource.Kind = resource.Kind(resKind)
	j.Key = key.String
	j.Status = registry.JobStatus(status)
	j.CreatedAt = parseJobTime(created)
	j.RunAfter = parseJobTime(runAfter)
	j.StartedAt = parseJobTime(started)
	j.EndedAt = parseJobTime(ended)
	j.LeaseUntil = parseJobTime(leased)
	if deps.Valid {
		for _, d := range strings.Split(deps.String, ",") {
			id, err := strconv.ParseInt(d, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("decoding the dependencies of job %d: %w", j.ID, err)
			}
			j.DependsOn = append(j.DependsOn, id)
		}
		slices.Sort(j.DependsOn)
	}
	return &j, nil
}

// queryIDs runs a query selecting one id column.
func queryIDs(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr(ctx, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, mapErr(ctx, err)
		}
		ids = append(ids, id)
	}
	return ids, mapErr(ctx, rows.Err())
}

// jobTime is how the job tables store a time: UTC unix microseconds, which
// SQL compares, and NULL for the zero time.
func jobTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func parseJobTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// placeholders returns n comma-separated '?'.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
