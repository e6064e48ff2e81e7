package registrysql

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

// The job queue (registry.JobStore) lives in three tables: jobs,
// job_dependencies (an edge per job and upstream job; edges only point to
// earlier jobs of the same batch, so id order is dependency order) and
// job_logs. Every write is one transaction. With row locks, a claim picks
// with FOR UPDATE SKIP LOCKED, so concurrent workers never wait for or take
// the same job; UpdateJob and FinishJob are updates fenced on status, worker
// and attempt, which PostgreSQL re-checks on the latest row version when
// they wait for a lock. Without, the write lock holds the whole queue for
// the transaction, so the same statements cannot interleave at all.

// jobColumns selects a job, in scanJob's order, from the jobs table named
// (or aliased) j: "jobs" in the RETURNING of an UPDATE, which SQLite does
// not let alias. The last column lists the job's dependencies.
func (s *Store) jobColumns(j string) string {
	return strings.NewReplacer("j.", j+".").Replace(`j.id, j.kind, j.resource_kind, j.resource_name, j.resource_variant, j.args,
		j.key, j.status, j.attempts, j.max_attempts, j.blocked_by, j.created_at, j.run_after, j.started_at, j.ended_at,
		j.worker, j.lease_until, j.cancel_requested, j.rows, j.error, j.result,
		(SELECT ` + fmt.Sprintf(s.d.IDList, "d.depends_on") + ` FROM {job_dependencies} d WHERE d.job_id = j.id)`)
}

func (s *Store) scanJob(sc scanner) (*registry.Job, error) {
	var (
		j                                        registry.Job
		resKind, status                          string
		key, deps                                sql.NullString
		created, runAfter, started, ended, lease any
	)
	if err := sc.Scan(&j.ID, &j.Kind, &resKind, &j.Resource.Name, &j.Resource.Variant, &j.Args, &key, &status,
		&j.Attempts, &j.MaxAttempts, &j.BlockedBy, &created, &runAfter, &started, &ended,
		&j.Worker, &lease, &j.CancelRequested, &j.Rows, &j.Error, &j.Result, &deps); err != nil {
		return nil, err
	}
	j.Resource.Kind = resource.Kind(resKind)
	j.Key = key.String
	j.Status = registry.JobStatus(status)
	for _, t := range []struct {
		v   any
		dst *time.Time
	}{{created, &j.CreatedAt}, {runAfter, &j.RunAfter}, {started, &j.StartedAt}, {ended, &j.EndedAt}, {lease, &j.LeaseUntil}} {
		var err error
		if *t.dst, err = s.d.ScanTime(t.v); err != nil {
			return nil, fmt.Errorf("decoding the times of job %d: %w", j.ID, err)
		}
	}
	if deps.Valid && deps.String != "" {
		for d := range strings.SplitSeq(deps.String, ",") {
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

// getJob reads one job, locking its row when lock is set; ErrNotFound when
// there is none.
func (s *Store) getJob(ctx context.Context, q querier, id int64, lock bool) (*registry.Job, error) {
	query := `SELECT ` + s.jobColumns("j") + ` FROM {jobs} j WHERE j.id = ?`
	if lock {
		query += s.lock("FOR UPDATE OF j")
	}
	j, err := s.scanJob(q.QueryRowContext(ctx, s.sql(query), id))
	if err != nil {
		return nil, s.mapErr(ctx, err)
	}
	return j, nil
}

// getJobs reads jobs in id order.
func (s *Store) getJobs(ctx context.Context, q querier, ids []int64) ([]*registry.Job, error) {
	var out []*registry.Job
	for chunk := range slices.Chunk(ids, rowsPerInsert) {
		jobs, err := s.queryJobs(ctx, q, `SELECT `+s.jobColumns("j")+` FROM {jobs} j WHERE j.id IN (`+placeholders(len(chunk))+`) ORDER BY j.id`, anys(chunk)...)
		if err != nil {
			return nil, err
		}
		out = append(out, jobs...)
	}
	return out, nil
}

func (s *Store) queryJobs(ctx context.Context, q querier, query string, args ...any) ([]*registry.Job, error) {
	rows, err := q.QueryContext(ctx, s.sql(query), args...)
	if err != nil {
		return nil, s.mapErr(ctx, err)
	}
	var out []*registry.Job
	err = eachRow(rows, func() error {
		j, err := s.scanJob(rows)
		out = append(out, j)
		return err
	})
	return out, s.mapErr(ctx, err)
}

// EnqueueJobs implements registry.JobStore.
func (s *Store) EnqueueJobs(ctx context.Context, p *registry.EnqueueJobsParams) ([]*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("enqueueing jobs: no parameters")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var out []*registry.Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ids := make([]int64, len(p.Jobs))
		for i, nj := range p.Jobs {
			err := tx.QueryRowContext(ctx, s.sql(`INSERT INTO {jobs}
				(kind, resource_kind, resource_name, resource_variant, args, key, status, max_attempts, created_at, run_after)
				VALUES (?, ?, ?, ?, ?, NULLIF(?, ''), 'queued', ?, ?, ?) RETURNING id`),
				nj.Kind, string(nj.Resource.Kind), nj.Resource.Name, nj.Resource.Variant, nullBytes(nj.Args), nj.Key,
				nj.MaxAttempts, s.d.JobTime(p.Now), s.d.JobTime(p.Now)).Scan(&ids[i])
			if err = s.mapErr(ctx, err); errors.Is(err, registry.ErrConflict) {
				// The key is the only unique column an insert can collide on.
				return fmt.Errorf("enqueueing job %d (%s %s): key %q is already used: %w", i, nj.Kind, nj.Resource, nj.Key, registry.ErrDuplicateKey)
			}
			if err != nil {
				return fmt.Errorf("enqueueing job %d (%s %s): %w", i, nj.Kind, nj.Resource, err)
			}
			var deps [][]any
			for _, a := range slices.Compact(slices.Sorted(slices.Values(nj.After))) {
				deps = append(deps, []any{ids[i], ids[a]})
			}
			if err := s.insertRows(ctx, tx, `INSERT INTO {job_dependencies} (job_id, depends_on)`, deps, ""); err != nil {
				return fmt.Errorf("enqueueing job %d (%s %s): recording its dependencies: %w", i, nj.Kind, nj.Resource, err)
			}
		}
		var err error
		out, err = s.getJobs(ctx, tx, ids)
		if err != nil {
			return fmt.Errorf("reading the enqueued jobs: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.DebugContext(ctx, "jobs enqueued", "count", len(out), "first", out[0].ID)
	return out, nil
}

// ClaimJob implements registry.JobStore.
func (s *Store) ClaimJob(ctx context.Context, p *registry.ClaimJobParams) (*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("claiming a job: no parameters")
	}
	now := s.d.JobTime(p.Now)
	args := []any{p.Worker, now, s.d.JobTime(p.Now.Add(p.Lease)), now}
	only := ""
	if len(p.Only) > 0 {
		only = ` AND c.id IN (` + placeholders(len(p.Only)) + `)`
		args = append(args, anys(p.Only)...)
	}
	// The lowest queued job whose time has come and whose dependencies
	// all succeeded.
	query := `UPDATE {jobs} SET status = 'running', worker = ?, attempts = attempts + 1, started_at = ?, lease_until = ?
		WHERE id = (
			SELECT c.id FROM {jobs} c
			WHERE c.status = 'queued' AND (c.run_after IS NULL OR c.run_after <= ?)` + only + ` AND NOT EXISTS (
				SELECT 1 FROM {job_dependencies} d JOIN {jobs} u ON u.id = d.depends_on
				WHERE d.job_id = c.id AND u.status <> 'succeeded')
			ORDER BY c.id LIMIT 1` + s.lock("FOR UPDATE OF c SKIP LOCKED") + `)
		RETURNING ` + s.jobColumns("jobs")
	var job *registry.Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		j, err := s.scanJob(tx.QueryRowContext(ctx, s.sql(query), args...))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return s.mapErr(ctx, err)
		}
		job = j
		return s.insertLogLines(ctx, tx, j.ID, p.Now, []string{registry.AttemptStarted(j.Attempts, j.MaxAttempts, p.Worker)})
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

// RecoverJobs implements registry.JobStore. Jobs another transaction holds
// (with row locks) are left for a later call.
func (s *Store) RecoverJobs(ctx context.Context, p *registry.RecoverJobsParams) ([]*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("recovering jobs: no parameters")
	}
	const expired = `SELECT id FROM {jobs} WHERE status = 'running' AND lease_until < ? ORDER BY id`
	// Most calls find nothing: look first without a write transaction.
	var one int64
	err := s.db.QueryRowContext(ctx, s.sql(expired+` LIMIT 1`), s.d.JobTime(p.Now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("finding jobs whose lease expired: %w", s.mapErr(ctx, err))
	}
	var out []*registry.Job
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		ids, err := s.queryIDs(ctx, tx, expired+s.lock("FOR UPDATE SKIP LOCKED"), s.d.JobTime(p.Now))
		if err != nil {
			return err
		}
		jobs, err := s.getJobs(ctx, tx, ids)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			msg := registry.LeaseExpiredError(j.Worker, j.Attempts, j.MaxAttempts)
			switch {
			case j.CancelRequested:
				err = s.endJob(ctx, tx, j, registry.JobCancelled, p.Now, j.Rows, "cancelled")
			case j.Attempts >= j.MaxAttempts:
				err = s.endJob(ctx, tx, j, registry.JobFailed, p.Now, j.Rows, msg)
			default:
				_, err = tx.ExecContext(ctx, s.sql(`UPDATE {jobs}
					SET status = 'queued', run_after = ?, worker = '', lease_until = NULL, error = ? WHERE id = ?`),
					s.d.JobTime(p.Now), msg+"; queued again", j.ID)
				err = s.mapErr(ctx, err)
			}
			if err != nil {
				return fmt.Errorf("recovering job %d: %w", j.ID, err)
			}
		}
		out, err = s.getJobs(ctx, tx, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("recovering jobs whose lease expired: %w", err)
	}
	return out, nil
}

// fenced is the condition of UpdateJob and FinishJob; its arguments are the
// job, and the worker and attempt that must hold it.
const fenced = ` WHERE id = ? AND status = 'running' AND worker = ? AND attempts = ?`

// updateFenced runs a fenced update and returns the job as it left it; when
// it matched no row, the error says why: the job does not exist
// (registry.ErrNotFound) or the worker no longer holds it
// (registry.ErrLeaseLost).
func (s *Store) updateFenced(ctx context.Context, tx *sql.Tx, update string, args []any, id int64, worker string, attempt int) (*registry.Job, error) {
	j, err := s.scanJob(tx.QueryRowContext(ctx, s.sql(update+fenced+` RETURNING `+s.jobColumns("jobs")), append(args, id, worker, attempt)...))
	if !errors.Is(err, sql.ErrNoRows) {
		return j, s.mapErr(ctx, err)
	}
	if j, err = s.getJob(ctx, tx, id, false); err != nil {
		return nil, err
	}
	if j.Status != registry.JobRunning {
		return nil, fmt.Errorf("worker %s no longer runs attempt %d: the job is %s: %w", worker, attempt, j.Status, registry.ErrLeaseLost)
	}
	return nil, fmt.Errorf("the job is held by worker %s in attempt %d, not by %s in attempt %d: %w",
		j.Worker, j.Attempts, worker, attempt, registry.ErrLeaseLost)
}

// UpdateJob implements registry.JobStore.
func (s *Store) UpdateJob(ctx context.Context, p *registry.UpdateJobParams) (*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("updating a job: no parameters")
	}
	var job *registry.Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		job, err = s.updateFenced(ctx, tx, `UPDATE {jobs} SET lease_until = ?, rows = ?`,
			[]any{s.d.JobTime(p.Now.Add(p.Lease)), p.Rows}, p.ID, p.Worker, p.Attempt)
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
	if p == nil {
		return errors.New("finishing a job: no parameters")
	}
	if err := p.Validate(); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		status, errText := p.Status, p.Error
		if p.Release {
			// Locked, so that a cancel request cannot come between reading
			// it and the update. No row: the fenced update explains.
			var requested bool
			err := tx.QueryRowContext(ctx, s.sql(`SELECT cancel_requested FROM {jobs} WHERE id = ?`+s.lock("FOR UPDATE")), p.ID).Scan(&requested)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return s.mapErr(ctx, err)
			}
			if requested {
				// Nobody wants the job any more: it ends here rather than
				// making the next worker start it only to cancel it.
				status, errText = registry.JobCancelled, "cancelled"
			}
		}
		// A nil Result is NULL, which keeps the recorded one.
		if status == registry.JobQueued {
			given := 0 // attempts given back
			if p.Release {
				given = 1
			}
			_, err := s.updateFenced(ctx, tx, `UPDATE {jobs} SET status = 'queued', attempts = attempts - ?, run_after = ?,
				worker = '', lease_until = NULL, error = ?, result = COALESCE(?, result)`,
				[]any{given, s.d.JobTime(p.RunAfter), errText, nullBytes(p.Result)}, p.ID, p.Worker, p.Attempt)
			if err != nil {
				return err
			}
			// The fenced update holds the job's row: the lines number after the others.
			return s.insertLogLines(ctx, tx, p.ID, p.Now, p.Log)
		}
		j, err := s.updateFenced(ctx, tx, `UPDATE {jobs} SET status = ?, ended_at = ?, rows = ?, error = ?, result = COALESCE(?, result)`,
			[]any{string(status), s.d.JobTime(p.Now), p.Rows, errText, nullBytes(p.Result)}, p.ID, p.Worker, p.Attempt)
		if err == nil {
			err = s.insertLogLines(ctx, tx, p.ID, p.Now, p.Log)
		}
		if err != nil || status == registry.JobSucceeded {
			return err
		}
		return s.endDownstream(ctx, tx, j.ID, j, status, p.Now)
	})
	if err != nil {
		return fmt.Errorf("finishing job %d as %s: %w", p.ID, p.Status, err)
	}
	s.log.DebugContext(ctx, "job finished", "id", p.ID, "status", p.Status, "attempt", p.Attempt, "released", p.Release)
	return nil
}

// endJob gives j a final status, and ends its dependents when it failed or
// was cancelled.
func (s *Store) endJob(ctx context.Context, tx *sql.Tx, j *registry.Job, status registry.JobStatus, now time.Time, rows int64, errText string) error {
	if _, err := tx.ExecContext(ctx, s.sql(`UPDATE {jobs} SET status = ?, ended_at = ?, rows = ?, error = ? WHERE id = ?`),
		string(status), s.d.JobTime(now), rows, errText, j.ID); err != nil {
		return s.mapErr(ctx, err)
	}
	if status == registry.JobSucceeded {
		return nil
	}
	ended := *j
	ended.Error = errText
	return s.endDownstream(ctx, tx, j.ID, &ended, status, now)
}

// endDownstream ends every queued job among from and the jobs that depend
// on from, directly or not: each takes status, BlockedBy origin and
// registry.BlockedError as its error. from is origin itself when origin has
// just failed or been cancelled (it is no longer queued, so only its
// dependents change), or a job RetryJob requeued and ends again because one
// of its upstream jobs ended through origin.
//
// With row locks, the rows are locked in id order, which is dependency
// order, so concurrent cascades cannot deadlock.
func (s *Store) endDownstream(ctx context.Context, tx *sql.Tx, from int64, origin *registry.Job, status registry.JobStatus, now time.Time) error {
	_, err := tx.ExecContext(ctx, s.sql(`WITH RECURSIVE downstream (id) AS (
			SELECT CAST(? AS BIGINT)
			UNION
			SELECT d.job_id FROM {job_dependencies} d JOIN downstream ON d.depends_on = downstream.id
		)
		UPDATE {jobs} SET status = ?, blocked_by = ?, error = ?, ended_at = ?
		WHERE status = 'queued' AND id IN (
			SELECT e.id FROM {jobs} e WHERE e.id IN (SELECT id FROM downstream) AND e.status = 'queued'
			ORDER BY e.id`+s.lock("FOR UPDATE")+`)`),
		from, string(status), origin.ID, registry.BlockedError(origin, status, origin.Error), s.d.JobTime(now))
	if err != nil {
		return fmt.Errorf("ending the jobs downstream of job %d: %w", from, s.mapErr(ctx, err))
	}
	return nil
}

// CancelJob implements registry.JobStore.
func (s *Store) CancelJob(ctx context.Context, p *registry.CancelJobParams) (*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("cancelling a job: no parameters")
	}
	var out *registry.Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Locked, so that no claim starts a new attempt meanwhile.
		j, err := s.getJob(ctx, tx, p.ID, true)
		if err != nil {
			return err
		}
		expired := j.Status == registry.JobRunning && !j.LeaseUntil.IsZero() && j.LeaseUntil.Before(p.Now)
		switch {
		case j.Status == registry.JobQueued || expired:
			// A running job whose lease expired has no worker left to see
			// a request: it ends now, like a queued one.
			err = s.endJob(ctx, tx, j, registry.JobCancelled, p.Now, j.Rows, "cancelled")
		case j.Status == registry.JobRunning:
			// The worker sees the request in UpdateJob and finishes the job as cancelled.
			_, err = tx.ExecContext(ctx, s.sql(`UPDATE {jobs} SET cancel_requested = true WHERE id = ?`), p.ID)
			err = s.mapErr(ctx, err)
		default:
			err = fmt.Errorf("it has already ended (%s): %w", j.Status, registry.ErrJobState)
		}
		if err != nil {
			return err
		}
		out, err = s.getJob(ctx, tx, p.ID, false)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cancelling job %d: %w", p.ID, err)
	}
	return out, nil
}

// RetryJob implements registry.JobStore.
func (s *Store) RetryJob(ctx context.Context, p *registry.RetryJobParams) (*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("retrying a job: no parameters")
	}
	var out *registry.Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		j, err := s.getJob(ctx, tx, p.ID, true)
		if err != nil {
			return err
		}
		if j.Status != registry.JobFailed && j.Status != registry.JobCancelled {
			return fmt.Errorf("it is %s: only a failed or cancelled job can be retried: %w", j.Status, registry.ErrJobState)
		}
		if j.BlockedBy != 0 {
			return fmt.Errorf("job %d ended because upstream job %d did; retry job %d: %w", p.ID, j.BlockedBy, j.BlockedBy, registry.ErrJobState)
		}
		// The job and every job it blocked start over.
		requeued, err := s.queryIDs(ctx, tx, `SELECT id FROM {jobs} WHERE id = ? OR blocked_by = ? ORDER BY id`+s.lock("FOR UPDATE"), p.ID, p.ID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.sql(`UPDATE {jobs}
			SET status = 'queued', attempts = 0, run_after = ?, blocked_by = 0, error = '',
				started_at = NULL, ended_at = NULL, worker = '', lease_until = NULL,
				cancel_requested = false, rows = 0, result = NULL
			WHERE id = ? OR blocked_by = ?`), s.d.JobTime(p.Now), p.ID, p.ID); err != nil {
			return s.mapErr(ctx, err)
		}
		if s.d.RowLocks {
			// Lock the jobs they wait for before reading their status: a
			// FinishJob failing one of them commits first, and is seen, or
			// waits, and its cascade then sees the requeued jobs.
			if _, err := s.queryIDs(ctx, tx, `SELECT u.id FROM {jobs} u
				WHERE u.id IN (SELECT d.depends_on FROM {job_dependencies} d WHERE d.job_id IN (`+placeholders(len(requeued))+`))
				ORDER BY u.id FOR SHARE`, anys(requeued)...); err != nil {
				return fmt.Errorf("locking the jobs the requeued jobs wait for: %w", err)
			}
		}
		for _, id := range requeued {
			if err := s.endIfUpstreamEnded(ctx, tx, id, p.Now); err != nil {
				return err
			}
		}
		out, err = s.getJob(ctx, tx, p.ID, false)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("retrying job %d: %w", p.ID, err)
	}
	return out, nil
}

// endIfUpstreamEnded ends job id again, with its dependents, when it is
// queued but waits directly for a job that failed or was cancelled: it
// takes that job's status and is blocked by the job that job ended through
// (its BlockedBy, or itself), as if FinishJob had cascaded to it. With
// several such upstream jobs, the lowest id decides. RetryJob calls it for
// the jobs it requeued, in id order, which is dependency order.
func (s *Store) endIfUpstreamEnded(ctx context.Context, tx *sql.Tx, id int64, now time.Time) error {
	var (
		upstream, blockedBy int64
		status              string
	)
	err := tx.QueryRowContext(ctx, s.sql(`SELECT u.id, u.status, u.blocked_by
		FROM {jobs} j
		JOIN {job_dependencies} d ON d.job_id = j.id
		JOIN {jobs} u ON u.id = d.depends_on
		WHERE j.id = ? AND j.status = 'queued' AND u.status IN ('failed', 'cancelled')
		ORDER BY u.id LIMIT 1`), id).Scan(&upstream, &status, &blockedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the upstream jobs of job %d: %w", id, s.mapErr(ctx, err))
	}
	origin := upstream
	if blockedBy != 0 {
		origin = blockedBy
	}
	o, err := s.getJob(ctx, tx, origin, false)
	if err != nil {
		return fmt.Errorf("reading job %d: %w", origin, err)
	}
	return s.endDownstream(ctx, tx, id, o, registry.JobStatus(status), now)
}

// GetJob implements registry.JobStore.
func (s *Store) GetJob(ctx context.Context, id int64) (*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	j, err := s.getJob(ctx, s.db, id, false)
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
	var (
		where []string
		args  []any
	)
	if len(p.Statuses) > 0 {
		where = append(where, `j.status IN (`+placeholders(len(p.Statuses))+`)`)
		for _, st := range p.Statuses {
			args = append(args, string(st))
		}
	}
	if p.Resource != (resource.ID{}) {
		where = append(where, `j.resource_kind = ? AND j.resource_name = ? AND j.resource_variant = ?`)
		args = append(args, string(p.Resource.Kind), p.Resource.Name, p.Resource.Variant)
	}
	if p.Kind != "" {
		where = append(where, `j.kind = ?`)
		args = append(args, p.Kind)
	}
	if p.KeyPrefix != "" {
		cond, a := s.d.HasPrefix("j.key", p.KeyPrefix)
		where = append(where, cond)
		args = append(args, a...)
	}
	if p.BeforeID > 0 {
		where = append(where, `j.id < ?`)
		args = append(args, p.BeforeID)
	}
	query := `SELECT ` + s.jobColumns("j") + ` FROM {jobs} j`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	limit := p.Limit
	if limit <= 0 {
		limit = defaultJobLimit
	}
	jobs, err := s.queryJobs(ctx, s.db, query+` ORDER BY j.id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("listing jobs: %w", err)
	}
	return jobs, nil
}

// CountJobs implements registry.JobStore: one GROUP BY over the jobs.
func (s *Store) CountJobs(ctx context.Context, p *registry.CountJobsParams) (map[registry.JobStatus]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p == nil {
		p = &registry.CountJobsParams{}
	}
	query := `SELECT status, COUNT(*) FROM {jobs}`
	var args []any
	if p.Kind != "" {
		query += ` WHERE kind = ?`
		args = append(args, p.Kind)
	}
	rows, err := s.db.QueryContext(ctx, s.sql(query+` GROUP BY status`), args...)
	if err != nil {
		return nil, fmt.Errorf("counting jobs: %w", s.mapErr(ctx, err))
	}
	counts := make(map[registry.JobStatus]int64, len(registry.JobStatuses))
	for _, st := range registry.JobStatuses {
		counts[st] = 0
	}
	err = eachRow(rows, func() error {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return err
		}
		counts[registry.JobStatus(st)] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("counting jobs: %w", s.mapErr(ctx, err))
	}
	return counts, nil
}

// AppendJobLog implements registry.JobStore.
func (s *Store) AppendJobLog(ctx context.Context, p *registry.AppendJobLogParams) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p == nil {
		return errors.New("appending to a job log: no parameters")
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The row lock serialises appends to one job's log; the next
		// statement, run after it, sees the lines of the previous holder.
		var one int
		if err := tx.QueryRowContext(ctx, s.sql(`SELECT 1 FROM {jobs} WHERE id = ?`+s.lock("FOR NO KEY UPDATE")), p.ID).Scan(&one); err != nil {
			return s.mapErr(ctx, err)
		}
		return s.insertLogLines(ctx, tx, p.ID, p.Time, p.Lines)
	})
	if err != nil {
		return fmt.Errorf("appending to the log of job %d: %w", p.ID, err)
	}
	return nil
}

// insertLogLines appends lines to a job's log; the caller holds the job's
// row, which serialises appends. Each statement numbers its lines after the
// last one recorded.
func (s *Store) insertLogLines(ctx context.Context, tx *sql.Tx, id int64, at time.Time, lines []string) error {
	for chunk := range slices.Chunk(lines, rowsPerInsert) {
		values := make([]string, len(chunk))
		args := []any{id, s.d.JobTime(at), id}
		for i, line := range chunk {
			values[i] = fmt.Sprintf("(%d, ?)", i+1)
			args = append(args, line)
		}
		if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {job_logs} (job_id, seq, time, line)
			SELECT ?, m.seq + v.column1, ?, v.column2
			FROM (SELECT COALESCE(MAX(seq), 0) AS seq FROM {job_logs} WHERE job_id = ?) m,
				(VALUES `+strings.Join(values, ", ")+`) AS v`), args...); err != nil {
			return s.mapErr(ctx, err)
		}
	}
	return nil
}

// JobLogs implements registry.JobStore.
func (s *Store) JobLogs(ctx context.Context, p *registry.JobLogsParams) ([]registry.JobLogLine, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("reading a job log: no parameters")
	}
	limit := p.Limit
	if limit <= 0 {
		limit = defaultLogLimit
	}
	// Jobs are never deleted, so checking first cannot race.
	var one int
	if err := s.db.QueryRowContext(ctx, s.sql(`SELECT 1 FROM {jobs} WHERE id = ?`), p.ID).Scan(&one); err != nil {
		return nil, fmt.Errorf("reading the log of job %d: %w", p.ID, s.mapErr(ctx, err))
	}
	rows, err := s.db.QueryContext(ctx, s.sql(`SELECT seq, time, line FROM {job_logs}
		WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?`), p.ID, p.After, limit)
	if err != nil {
		return nil, fmt.Errorf("reading the log of job %d: %w", p.ID, s.mapErr(ctx, err))
	}
	var out []registry.JobLogLine
	err = eachRow(rows, func() error {
		var l registry.JobLogLine
		var t any
		if err := rows.Scan(&l.Seq, &t, &l.Line); err != nil {
			return err
		}
		var err error
		l.Time, err = s.d.ScanTime(t)
		out = append(out, l)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the log of job %d: %w", p.ID, s.mapErr(ctx, err))
	}
	return out, nil
}

// queryIDs runs a query selecting one id column.
func (s *Store) queryIDs(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, s.sql(query), args...)
	if err != nil {
		return nil, s.mapErr(ctx, err)
	}
	var ids []int64
	err = eachRow(rows, func() error {
		var id int64
		err := rows.Scan(&id)
		ids = append(ids, id)
		return err
	})
	return ids, s.mapErr(ctx, err)
}

// nullBytes is NULL for nil, b otherwise.
func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func anys[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}
