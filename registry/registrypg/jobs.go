package registrypg

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// The job queue lives in three tables: jobs, job_dependencies (an edge per
// job and upstream job) and job_logs. Every write runs in a READ COMMITTED
// transaction and relies on row locks: ClaimJob picks with FOR UPDATE SKIP
// LOCKED, so concurrent workers, in any process, never wait for or take
// the same job; UpdateJob and FinishJob are conditional updates fenced on
// status, worker and attempt, which PostgreSQL re-checks on the latest row
// version when they wait for a lock.

// keyConstraint is the unique constraint on jobs.key (migration 3).
const keyConstraint = "jobs_key"

// querier is what both the pool and a transaction offer.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// jobColumns selects a job aliased j, with its dependencies, in scanJob's order.
func (s *Store) jobColumns() string {
	return `j.id, j.kind, j.resource_kind, j.resource_name, j.resource_variant, j.args,
		COALESCE(j.key, ''), j.status, j.attempts, j.max_attempts,
		ARRAY(SELECT d.depends_on FROM ` + s.jobDependencies + ` d WHERE d.job_id = j.id ORDER BY d.depends_on),
		j.blocked_by, j.created_at, j.run_after, j.started_at, j.ended_at,
		j.worker, j.lease_until, j.cancel_requested, j.rows, j.error, j.result`
}

func scanJob(row pgx.Row) (*registry.Job, error) {
	var (
		j                                        registry.Job
		kind, status                             string
		created, runAfter, started, ended, lease *time.Time
	)
	if err := row.Scan(&j.ID, &j.Kind, &kind, &j.Resource.Name, &j.Resource.Variant, &j.Args,
		&j.Key, &status, &j.Attempts, &j.MaxAttempts, &j.DependsOn,
		&j.BlockedBy, &created, &runAfter, &started, &ended,
		&j.Worker, &lease, &j.CancelRequested, &j.Rows, &j.Error, &j.Result); err != nil {
		return nil, err
	}
	j.Resource.Kind = resource.Kind(kind)
	j.Status = registry.JobStatus(status)
	if len(j.DependsOn) == 0 {
		j.DependsOn = nil
	}
	j.CreatedAt, j.RunAfter = fromNull(created), fromNull(runAfter)
	j.StartedAt, j.EndedAt, j.LeaseUntil = fromNull(started), fromNull(ended), fromNull(lease)
	return &j, nil
}

func scanJobs(rows pgx.Rows) ([]*registry.Job, error) {
	return pgx.AppendRows([]*registry.Job(nil), rows, func(row pgx.CollectableRow) (*registry.Job, error) { return scanJob(row) })
}

// toNull is a timestamptz column's value: NULL for the zero time.
func toNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// fromNull reads a timestamptz column: the zero time for NULL.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// getJob reads one job, locking its row when lock is set.
func (s *Store) getJob(ctx context.Context, q querier, id int64, lock bool) (*registry.Job, error) {
	query := `SELECT ` + s.jobColumns() + ` FROM ` + s.jobs + ` j WHERE j.id = $1`
	if lock {
		query += ` FOR UPDATE OF j`
	}
	j, err := scanJob(q.QueryRow(ctx, query, id))
	if err != nil {
		return nil, mapErr(ctx, err)
	}
	return j, nil
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out = make([]*registry.Job, 0, len(p.Jobs))
		for i, nj := range p.Jobs {
			j, err := scanJob(tx.QueryRow(ctx, `INSERT INTO `+s.jobs+` AS j
				(kind, resource_kind, resource_name, resource_variant, args, key, status, max_attempts, created_at, run_after)
				VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), 'queued', $7, $8, $8)
				RETURNING `+s.jobColumns(),
				nj.Kind, string(nj.Resource.Kind), nj.Resource.Name, nj.Resource.Variant, nj.Args, nj.Key,
				nj.MaxAttempts, toNull(p.Now)))
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == codeUniqueViolation && pe.ConstraintName == keyConstraint {
				return fmt.Errorf("enqueueing job %d (%s %s): key %q is already used: %w", i, nj.Kind, nj.Resource, nj.Key, registry.ErrDuplicateKey)
			}
			if err != nil {
				return fmt.Errorf("enqueueing job %d (%s %s): %w", i, nj.Kind, nj.Resource, mapErr(ctx, err))
			}
			for _, a := range nj.After {
				j.DependsOn = append(j.DependsOn, out[a].ID)
			}
			slices.Sort(j.DependsOn)
			j.DependsOn = slices.Compact(j.DependsOn)
			if len(j.DependsOn) > 0 {
				if _, err := tx.Exec(ctx, `INSERT INTO `+s.jobDependencies+` (job_id, depends_on)
					SELECT $1, unnest($2::bigint[])`, j.ID, j.DependsOn); err != nil {
					return fmt.Errorf("enqueueing job %d (%s %s): recording its dependencies: %w", i, nj.Kind, nj.Resource, mapErr(ctx, err))
				}
			}
			out = append(out, j)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
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
	query := `UPDATE ` + s.jobs + ` AS j
		SET status = 'running', worker = $2, attempts = j.attempts + 1, started_at = $1, lease_until = $3
		WHERE j.id = (
			SELECT c.id FROM ` + s.jobs + ` c
			WHERE c.status = 'queued' AND (c.run_after IS NULL OR c.run_after <= $1) AND NOT EXISTS (
				SELECT 1 FROM ` + s.jobDependencies + ` d JOIN ` + s.jobs + ` u ON u.id = d.depends_on
				WHERE d.job_id = c.id AND u.status <> 'succeeded')`
	args := []any{p.Now, p.Worker, p.Now.Add(p.Lease)}
	if len(p.Only) > 0 {
		query += ` AND c.id = ANY($4)`
		args = append(args, p.Only)
	}
	query += `
			ORDER BY c.id LIMIT 1
			FOR UPDATE OF c SKIP LOCKED)
		RETURNING ` + s.jobColumns()

	var claimed *registry.Job
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		j, err := scanJob(tx.QueryRow(ctx, query, args...))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("claiming a job: %w", mapErr(ctx, err))
		}
		claimed = j
		return nil
	})
	if err != nil {
		return nil, err
	}
	if claimed == nil {
		return nil, registry.ErrNoJob
	}
	return claimed, nil
}

// RecoverJobs implements registry.JobStore.
func (s *Store) RecoverJobs(ctx context.Context, p *registry.RecoverJobsParams) ([]*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("recovering jobs: no parameters")
	}
	var out []*registry.Job
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = s.recoverExpired(ctx, tx, p.Now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// recoverExpired ends the attempts of the running jobs whose lease expired
// before now (registry.JobStore.RecoverJobs), and the jobs downstream of
// those it failed or cancelled. Jobs another transaction holds are left
// for a later call.
func (s *Store) recoverExpired(ctx context.Context, tx pgx.Tx, now time.Time) ([]*registry.Job, error) {
	// Every expression of SET reads the row as it was, so the CASEs all
	// decide on the old status.
	rows, err := tx.Query(ctx, `WITH expired AS (
			SELECT id FROM `+s.jobs+`
			WHERE status = 'running' AND lease_until < $1
			ORDER BY id FOR UPDATE SKIP LOCKED
		), decided AS (
			SELECT j.id, CASE
				WHEN j.cancel_requested THEN 'cancelled'
				WHEN j.attempts >= j.max_attempts THEN 'failed'
				ELSE 'queued' END AS status,
				format('worker %s stopped renewing its lease (attempt %s of %s)', j.worker, j.attempts, j.max_attempts) AS msg
			FROM `+s.jobs+` j JOIN expired ON expired.id = j.id
		)
		UPDATE `+s.jobs+` AS j SET
			status = dd.status,
			ended_at = CASE WHEN dd.status = 'queued' THEN NULL ELSE $1 END,
			run_after = CASE WHEN dd.status = 'queued' THEN $1 ELSE j.run_after END,
			worker = CASE WHEN dd.status = 'queued' THEN '' ELSE j.worker END,
			lease_until = CASE WHEN dd.status = 'queued' THEN NULL ELSE j.lease_until END,
			error = CASE dd.status WHEN 'cancelled' THEN 'cancelled' WHEN 'failed' THEN dd.msg ELSE dd.msg || '; queued again' END
		FROM decided dd WHERE j.id = dd.id
		RETURNING `+s.jobColumns(), now)
	if err != nil {
		return nil, fmt.Errorf("recovering jobs whose lease expired: %w", mapErr(ctx, err))
	}
	recovered, err := scanJobs(rows)
	if err != nil {
		return nil, fmt.Errorf("recovering jobs whose lease expired: %w", mapErr(ctx, err))
	}
	slices.SortFunc(recovered, func(a, b *registry.Job) int { return cmp.Compare(a.ID, b.ID) })
	for _, j := range recovered {
		if j.Status == registry.JobQueued {
			continue
		}
		if err := s.endDownstream(ctx, tx, j.ID, j, j.Status, now); err != nil {
			return nil, err
		}
	}
	return recovered, nil
}

// endDownstream ends every queued job among from and the jobs that depend
// on from, directly or not: each takes status, BlockedBy origin and
// registry.BlockedError as its error. from is origin itself when origin has
// just failed or been cancelled (it is no longer queued, so only its
// dependents change), or a job RetryJob requeued and ends again because one
// of its upstream jobs ended through origin.
//
// The rows are locked in id order, which is dependency order (a job only
// waits for earlier jobs), so concurrent cascades cannot deadlock.
func (s *Store) endDownstream(ctx context.Context, tx pgx.Tx, from int64, origin *registry.Job, status registry.JobStatus, now time.Time) error {
	_, err := tx.Exec(ctx, `WITH RECURSIVE downstream (id) AS (
			SELECT $1::bigint
			UNION
			SELECT d.job_id FROM `+s.jobDependencies+` d JOIN downstream ON d.depends_on = downstream.id
		), ended AS (
			SELECT id FROM `+s.jobs+`
			WHERE id IN (SELECT id FROM downstream) AND status = 'queued'
			ORDER BY id FOR UPDATE
		)
		UPDATE `+s.jobs+` AS j SET status = $2, blocked_by = $3, error = $4, ended_at = $5
		FROM ended WHERE j.id = ended.id`,
		from, string(status), origin.ID, registry.BlockedError(origin, status, origin.Error), now)
	if err != nil {
		return fmt.Errorf("ending the jobs downstream of job %d: %w", from, mapErr(ctx, err))
	}
	return nil
}

// notHeld explains why a fenced update of job id matched no row: the job
// does not exist (registry.ErrNotFound) or the worker no longer holds it
// (registry.ErrLeaseLost).
func (s *Store) notHeld(ctx context.Context, q querier, id int64, worker string, attempt int) error {
	j, err := s.getJob(ctx, q, id, false)
	if err != nil {
		return err
	}
	if j.Status != registry.JobRunning {
		return fmt.Errorf("the job is %s: %w", j.Status, registry.ErrLeaseLost)
	}
	return fmt.Errorf("the job is held by worker %s in attempt %d, not by %s in attempt %d: %w",
		j.Worker, j.Attempts, worker, attempt, registry.ErrLeaseLost)
}

// fenced is the condition of UpdateJob and FinishJob: $1 is the job,
// $2 and $3 the worker and attempt that must hold it.
const fenced = ` WHERE j.id = $1 AND j.status = 'running' AND j.worker = $2 AND j.attempts = $3`

// UpdateJob implements registry.JobStore.
func (s *Store) UpdateJob(ctx context.Context, p *registry.UpdateJobParams) (*registry.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("updating a job: no parameters")
	}
	var updated *registry.Job
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		j, err := scanJob(tx.QueryRow(ctx, `UPDATE `+s.jobs+` AS j SET lease_until = $4, rows = $5`+fenced+`
			RETURNING `+s.jobColumns(),
			p.ID, p.Worker, p.Attempt, p.Now.Add(p.Lease), p.Rows))
		if errors.Is(err, pgx.ErrNoRows) {
			return s.notHeld(ctx, tx, p.ID, p.Worker, p.Attempt)
		}
		updated = j
		return mapErr(ctx, err)
	})
	if err != nil {
		return nil, fmt.Errorf("updating job %d: %w", p.ID, err)
	}
	return updated, nil
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		status, errText := p.Status, p.Error
		if p.Release {
			// Lock the row so that the request cannot come between reading
			// it and the update. No row: the fenced update explains.
			var requested bool
			err := tx.QueryRow(ctx, `SELECT cancel_requested FROM `+s.jobs+` WHERE id = $1 FOR UPDATE`, p.ID).Scan(&requested)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return mapErr(ctx, err)
			}
			if requested {
				// Nobody wants the job any more: it ends here rather than
				// making the next worker start it only to cancel it.
				status, errText = registry.JobCancelled, "cancelled"
			}
		}
		var (
			query string
			args  = []any{p.ID, p.Worker, p.Attempt}
		)
		// A nil Result is NULL, which keeps the recorded one.
		if status == registry.JobQueued {
			given := 0 // attempts given back
			if p.Release {
				given = 1
			}
			query = `UPDATE ` + s.jobs + ` AS j
				SET status = 'queued', attempts = j.attempts - $7, run_after = $4, worker = '', lease_until = NULL,
					error = $5, result = COALESCE($6::bytea, j.result)` + fenced
			args = append(args, toNull(p.RunAfter), errText, p.Result, given)
		} else {
			query = `UPDATE ` + s.jobs + ` AS j SET status = $4, ended_at = $5, rows = $6, error = $7,
				result = COALESCE($8::bytea, j.result)` + fenced
			args = append(args, string(status), p.Now, p.Rows, errText, p.Result)
		}
		j, err := scanJob(tx.QueryRow(ctx, query+` RETURNING `+s.jobColumns(), args...))
		if errors.Is(err, pgx.ErrNoRows) {
			return s.notHeld(ctx, tx, p.ID, p.Worker, p.Attempt)
		}
		if err != nil {
			return mapErr(ctx, err)
		}
		if j.Status == registry.JobFailed || j.Status == registry.JobCancelled {
			return s.endDownstream(ctx, tx, j.ID, j, j.Status, p.Now)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finishing job %d as %s: %w", p.ID, p.Status, err)
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		j, err := s.getJob(ctx, tx, p.ID, true)
		if err != nil {
			return err
		}
		expired := j.Status == registry.JobRunning && !j.LeaseUntil.IsZero() && j.LeaseUntil.Before(p.Now)
		switch {
		case j.Status == registry.JobQueued || expired:
			// A running job whose lease expired has no worker left to see
			// a request: it ends now, like a queued one. The row lock
			// keeps a claim from starting a new attempt meanwhile.
			out, err = scanJob(tx.QueryRow(ctx, `UPDATE `+s.jobs+` AS j
				SET status = 'cancelled', ended_at = $2, error = 'cancelled'
				WHERE j.id = $1 RETURNING `+s.jobColumns(), p.ID, p.Now))
			if err != nil {
				return mapErr(ctx, err)
			}
			return s.endDownstream(ctx, tx, out.ID, out, out.Status, p.Now)
		case j.Status == registry.JobRunning:
			// The worker sees the request in UpdateJob and finishes the job as cancelled.
			out, err = scanJob(tx.QueryRow(ctx, `UPDATE `+s.jobs+` AS j SET cancel_requested = true
				WHERE j.id = $1 RETURNING `+s.jobColumns(), p.ID))
			return mapErr(ctx, err)
		default:
			return fmt.Errorf("it has already ended (%s): %w", j.Status, registry.ErrJobState)
		}
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
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
		rows, err := tx.Query(ctx, `UPDATE `+s.jobs+` AS j
			SET status = 'queued', attempts = 0, run_after = $2, blocked_by = 0, error = '',
				started_at = NULL, ended_at = NULL, worker = '', lease_until = NULL,
				cancel_requested = false, rows = 0, result = NULL
			WHERE j.id = $1 OR j.blocked_by = $1
			RETURNING j.id`, p.ID, p.Now)
		if err != nil {
			return mapErr(ctx, err)
		}
		requeued, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return mapErr(ctx, err)
		}
		slices.Sort(requeued)
		// Lock the jobs they wait for before reading their status: a
		// FinishJob failing one of them commits first, and is seen, or
		// waits, and its cascade then sees the requeued jobs.
		if _, err := tx.Exec(ctx, `SELECT u.id FROM `+s.jobs+` u
			WHERE u.id IN (SELECT d.depends_on FROM `+s.jobDependencies+` d WHERE d.job_id = ANY($1))
			ORDER BY u.id FOR SHARE`, requeued); err != nil {
			return fmt.Errorf("locking the jobs the requeued jobs wait for: %w", mapErr(ctx, err))
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
func (s *Store) endIfUpstreamEnded(ctx context.Context, tx pgx.Tx, id int64, now time.Time) error {
	var (
		upstream, blockedBy int64
		status              string
	)
	err := tx.QueryRow(ctx, `SELECT u.id, u.status, u.blocked_by
		FROM `+s.jobs+` j
		JOIN `+s.jobDependencies+` d ON d.job_id = j.id
		JOIN `+s.jobs+` u ON u.id = d.depends_on
		WHERE j.id = $1 AND j.status = 'queued' AND u.status IN ('failed', 'cancelled')
		ORDER BY u.id LIMIT 1`, id).Scan(&upstream, &status, &blockedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the upstream jobs of job %d: %w", id, mapErr(ctx, err))
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
	j, err := s.getJob(ctx, s.pool, id, false)
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
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(p.Statuses) > 0 {
		statuses := make([]string, len(p.Statuses))
		for i, st := range p.Statuses {
			statuses[i] = string(st)
		}
		where = append(where, `j.status = ANY(`+arg(statuses)+`)`)
	}
	if p.Resource != (resource.ID{}) {
		where = append(where, `j.resource_kind = `+arg(string(p.Resource.Kind))+
			` AND j.resource_name = `+arg(p.Resource.Name)+
			` AND j.resource_variant = `+arg(p.Resource.Variant))
	}
	if p.Kind != "" {
		where = append(where, `j.kind = `+arg(p.Kind))
	}
	if p.KeyPrefix != "" {
		// starts_with compares bytes and knows no wildcards, unlike LIKE.
		where = append(where, `starts_with(j.key, `+arg(p.KeyPrefix)+`)`)
	}
	if p.BeforeID > 0 {
		where = append(where, `j.id < `+arg(p.BeforeID))
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	query := `SELECT ` + s.jobColumns() + ` FROM ` + s.jobs + ` j`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY j.id DESC LIMIT ` + arg(limit)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing jobs: %w", mapErr(ctx, err))
	}
	jobs, err := scanJobs(rows)
	if err != nil {
		return nil, fmt.Errorf("listing jobs: %w", mapErr(ctx, err))
	}
	return jobs, nil
}

// AppendJobLog implements registry.JobStore.
func (s *Store) AppendJobLog(ctx context.Context, p *registry.AppendJobLogParams) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p == nil {
		return errors.New("appending to a job log: no parameters")
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// The row lock serialises appends to one job's log. The insert is
		// a separate statement so that its snapshot, taken after the lock,
		// sees the lines of the previous holder.
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM `+s.jobs+` WHERE id = $1 FOR NO KEY UPDATE`, p.ID).Scan(&one); err != nil {
			return mapErr(ctx, err)
		}
		if len(p.Lines) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO `+s.jobLogs+` (job_id, seq, time, line)
			SELECT $1, COALESCE((SELECT max(seq) FROM `+s.jobLogs+` WHERE job_id = $1), 0) + l.n, $2, l.line
			FROM unnest($3::text[]) WITH ORDINALITY AS l (line, n)`, p.ID, toNull(p.Time), p.Lines)
		return mapErr(ctx, err)
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
	if p == nil {
		return nil, errors.New("reading a job log: no parameters")
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 1000
	}
	// Jobs are never deleted, so checking first cannot race.
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+s.jobs+` WHERE id = $1)`, p.ID).Scan(&exists); err != nil {
		return nil, fmt.Errorf("reading the log of job %d: %w", p.ID, mapErr(ctx, err))
	}
	if !exists {
		return nil, fmt.Errorf("reading the log of job %d: %w", p.ID, registry.ErrNotFound)
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, time, line FROM `+s.jobLogs+`
		WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, p.ID, p.After, limit)
	if err != nil {
		return nil, fmt.Errorf("reading the log of job %d: %w", p.ID, mapErr(ctx, err))
	}
	lines, err := pgx.AppendRows([]registry.JobLogLine(nil), rows, func(row pgx.CollectableRow) (registry.JobLogLine, error) {
		var l registry.JobLogLine
		var t *time.Time
		err := row.Scan(&l.Seq, &t, &l.Line)
		l.Time = fromNull(t)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the log of job %d: %w", p.ID, mapErr(ctx, err))
	}
	return lines, nil
}
