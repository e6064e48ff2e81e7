package registrysql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// RecordMonitorRun implements registry.MonitorStore.
func (s *Store) RecordMonitorRun(ctx context.Context, p *registry.RecordMonitorRunParams) (*registry.MonitorRun, error) {
	if err := p.Monitor.Validate(); err != nil || p.Monitor.Kind != resource.KindMonitor {
		return nil, fmt.Errorf("recording a run of %s: not a monitor", p.Monitor)
	}
	run := &registry.MonitorRun{Monitor: p.Monitor, At: microUTC(p.At), Job: p.Job}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.sql(`INSERT INTO {monitor_runs} (monitor_name, monitor_variant, at, job)
			VALUES (?, ?, ?, ?) RETURNING id`), p.Monitor.Name, p.Monitor.Variant, s.modelTime(p.At), p.Job).Scan(&run.ID); err != nil {
			return s.mapErr(ctx, err)
		}
		for i, r := range p.Results {
			if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {monitor_results}
				(run, seq, monitor_name, monitor_variant, check_name, subject, state, method, value, threshold, message, since)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				run.ID, i, p.Monitor.Name, p.Monitor.Variant, r.Check, r.Subject, r.State, r.Method,
				nullFloat(r.Value), nullFloat(r.Threshold), r.Message, s.modelTime(r.Since)); err != nil {
				return fmt.Errorf("result %d (%s %s): %w", i, r.Check, r.Subject, s.mapErr(ctx, err))
			}
			r.Run, r.At, r.Since = run.ID, run.At, microUTC(r.Since)
			run.Results = append(run.Results, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recording a run of monitor %s: %w", p.Monitor.Ref(), err)
	}
	return run, nil
}

func nullFloat(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// resultColumns are the columns scanResult reads, of monitor_results r
// joined with monitor_runs m.
const resultColumns = `r.run, m.at, r.check_name, r.subject, r.state, r.method, r.value, r.threshold, r.message, r.since`

func (s *Store) scanResult(sc scanner) (*registry.MonitorResult, error) {
	var (
		r         registry.MonitorResult
		at, since any
		v, th     sql.NullFloat64
	)
	if err := sc.Scan(&r.Run, &at, &r.Check, &r.Subject, &r.State, &r.Method, &v, &th, &r.Message, &since); err != nil {
		return nil, err
	}
	var err error
	if r.At, err = s.d.ScanTime(at); err != nil {
		return nil, err
	}
	if r.Since, err = s.d.ScanTime(since); err != nil {
		return nil, err
	}
	r.At, r.Since = microUTC(r.At), microUTC(r.Since)
	if v.Valid {
		r.Value = &v.Float64
	}
	if th.Valid {
		r.Threshold = &th.Float64
	}
	return &r, nil
}

// ListMonitorRuns implements registry.MonitorStore.
func (s *Store) ListMonitorRuns(ctx context.Context, p *registry.ListMonitorRunsParams) ([]*registry.MonitorRun, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = registry.DefaultMonitorRunLimit
	}
	before := p.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.db.QueryContext(ctx, s.sql(`SELECT id, at, job FROM {monitor_runs}
		WHERE monitor_name = ? AND monitor_variant = ? AND id < ? ORDER BY id DESC LIMIT ?`),
		p.Monitor.Name, p.Monitor.Variant, before, limit)
	if err != nil {
		return nil, fmt.Errorf("listing the runs of monitor %s: %w", p.Monitor.Ref(), s.mapErr(ctx, err))
	}
	var runs []*registry.MonitorRun
	byID := map[int64]*registry.MonitorRun{}
	for rows.Next() {
		run := &registry.MonitorRun{Monitor: p.Monitor, Results: []registry.MonitorResult{}}
		var at any
		if err := rows.Scan(&run.ID, &at, &run.Job); err != nil {
			rows.Close()
			return nil, fmt.Errorf("listing the runs of monitor %s: %w", p.Monitor.Ref(), s.mapErr(ctx, err))
		}
		if run.At, err = s.d.ScanTime(at); err != nil {
			rows.Close()
			return nil, err
		}
		run.At = microUTC(run.At)
		runs = append(runs, run)
		byID[run.ID] = run
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing the runs of monitor %s: %w", p.Monitor.Ref(), s.mapErr(ctx, err))
	}
	if len(runs) == 0 {
		return nil, nil
	}
	rows, err = s.db.QueryContext(ctx, s.sql(`SELECT `+resultColumns+` FROM {monitor_results} r JOIN {monitor_runs} m ON m.id = r.run
		WHERE r.monitor_name = ? AND r.monitor_variant = ? AND r.run >= ? AND r.run <= ? ORDER BY r.run, r.seq`),
		p.Monitor.Name, p.Monitor.Variant, runs[len(runs)-1].ID, runs[0].ID)
	if err != nil {
		return nil, fmt.Errorf("listing the results of monitor %s: %w", p.Monitor.Ref(), s.mapErr(ctx, err))
	}
	defer rows.Close()
	for rows.Next() {
		r, err := s.scanResult(rows)
		if err != nil {
			return nil, fmt.Errorf("listing the results of monitor %s: %w", p.Monitor.Ref(), s.mapErr(ctx, err))
		}
		if run := byID[r.Run]; run != nil {
			run.Results = append(run.Results, *r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing the results of monitor %s: %w", p.Monitor.Ref(), s.mapErr(ctx, err))
	}
	return runs, nil
}

// LatestMonitorResults implements registry.MonitorStore.
func (s *Store) LatestMonitorResults(ctx context.Context, monitor resource.ID) ([]*registry.MonitorResult, error) {
	rows, err := s.db.QueryContext(ctx, s.sql(`SELECT `+resultColumns+` FROM {monitor_results} r
		JOIN (SELECT check_name, subject, MAX(run) AS run FROM {monitor_results}
			WHERE monitor_name = ? AND monitor_variant = ? GROUP BY check_name, subject) l
			ON l.check_name = r.check_name AND l.subject = r.subject AND l.run = r.run
		JOIN {monitor_runs} m ON m.id = r.run
		WHERE r.monitor_name = ? AND r.monitor_variant = ?
		ORDER BY r.check_name, r.subject, r.seq`),
		monitor.Name, monitor.Variant, monitor.Name, monitor.Variant)
	if err != nil {
		return nil, fmt.Errorf("reading the latest results of monitor %s: %w", monitor.Ref(), s.mapErr(ctx, err))
	}
	defer rows.Close()
	var out []*registry.MonitorResult
	for rows.Next() {
		r, err := s.scanResult(rows)
		if err != nil {
			return nil, fmt.Errorf("reading the latest results of monitor %s: %w", monitor.Ref(), s.mapErr(ctx, err))
		}
		// A run that reported a subject twice keeps its first result.
		if n := len(out); n > 0 && out[n-1].Check == r.Check && out[n-1].Subject == r.Subject {
			continue
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the latest results of monitor %s: %w", monitor.Ref(), s.mapErr(ctx, err))
	}
	return out, nil
}
