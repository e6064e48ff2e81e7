package platform

// Freshness: per feature, how old its newest value online is, when it was
// last materialized, and whether a scheduled run is overdue. Everything is
// read from the registry (no scan of the online store): the coordinator
// records with every successful materialization the newest event time it
// wrote (the watermark) and when it ended with which job
// (resource.State.Materialized).

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/internal/textfmt"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// The statuses of a FeatureFreshness.
const (
	FreshnessFresh = "fresh"
	// FreshnessStale: the newest value online is older than the feature's
	// max_age, or a scheduled run is overdue (past its firing plus grace).
	FreshnessStale = "stale"
	// FreshnessNeverMaterialized: no materialization of the feature ever
	// succeeded; nothing of it is online.
	FreshnessNeverMaterialized = "never_materialized"
)

// MinFreshnessGrace is the least default grace of a schedule: see
// FreshnessParams.Grace.
const MinFreshnessGrace = 10 * time.Minute

// FreshnessParams selects the features Freshness reports on.
type FreshnessParams struct {
	// Features to report on; empty means every feature (not deleted).
	Features []resource.ID `json:"features,omitempty"`
	// Now is the time ages are measured at; zero means the platform's clock.
	Now time.Time `json:"now,omitzero"`
	// Grace is how long after a scheduled firing a successful
	// materialization may still arrive before the feature is overdue. Zero
	// means the default: the schedule's interval at that firing (until
	// the next one), but at least MinFreshnessGrace. A feature is then
	// overdue once a whole firing passed without a successful run; a
	// daily schedule is not late a few minutes after midnight while its
	// run works, and a very frequent one has the time a run, the queue
	// and the scheduler's tick take.
	Grace time.Duration `json:"grace,omitempty"`
}

// FreshnessReport is how fresh each feature is, as `slipway freshness`
// shows it (GET /v1/freshness answers it as JSON). Ages are in seconds so
// that monitors compare numbers.
type FreshnessReport struct {
	// At is the time ages are measured at.
	At time.Time `json:"at"`
	// Features are in the registry's order (name, variant).
	Features []FeatureFreshness `json:"features"`
	// Counts by status.
	Fresh             int `json:"fresh"`
	Stale             int `json:"stale"`
	NeverMaterialized int `json:"never_materialized"`
}

// FeatureFreshness is how fresh one feature is. Zero times and seconds
// mean "none" (a feature without max age, schedule or materialization).
type FeatureFreshness struct {
	// Feature is name:variant.
	Feature string `json:"feature"`
	// Status is fresh, stale or never_materialized; Reason says why in
	// plain words ("newest value is 3d old, max_age is 1d").
	Status string `json:"status"`
	Reason string `json:"reason"`

	// NewestEventTime is the newest event time of the values online: the
	// timestamp of the newest source row materialization wrote (zero for
	// a feature without a timestamp column, or with no rows).
	NewestEventTime  time.Time `json:"newest_event_time,omitzero"`
	NewestAgeSeconds float64   `json:"newest_age_seconds,omitempty"`
	// MaxAgeSeconds is the feature's max_age (0: none).
	MaxAgeSeconds float64 `json:"max_age_seconds,omitempty"`

	// LastMaterializedAt is when the last successful materialization ended,
	// by job LastMaterializationJob (`slipway jobs logs ID`).
	LastMaterializedAt        time.Time `json:"last_materialized_at,omitzero"`
	LastMaterializationJob    int64     `json:"last_materialization_job,omitempty"`
	MaterializationAgeSeconds float64   `json:"materialization_age_seconds,omitempty"`

	// Schedule refreshes the feature: its own, or that of the batch
	// prediction ScheduledBy whose predictions it serves ("" none).
	Schedule    string `json:"schedule,omitempty"`
	ScheduledBy string `json:"scheduled_by,omitempty"`
	// NextDue is the first firing after the last successful
	// materialization (after the feature was registered when none). The
	// feature is Overdue when no materialization succeeded by NextDue plus
	// GraceSeconds; OverdueSeconds is by how much.
	NextDue        time.Time `json:"next_due,omitzero"`
	GraceSeconds   float64   `json:"grace_seconds,omitempty"`
	Overdue        bool      `json:"overdue"`
	OverdueSeconds float64   `json:"overdue_seconds,omitempty"`
	// LastScheduledJob is the last job the schedule queued, with its status
	// and error (0: none yet).
	LastScheduledJob    int64  `json:"last_scheduled_job,omitempty"`
	LastScheduledStatus string `json:"last_scheduled_status,omitempty"`
	LastScheduledError  string `json:"last_scheduled_error,omitempty"`
}

// Freshness reports, per feature, the newest event time online, the last
// successful materialization and its age, the schedule and whether its run
// is overdue, with a status: stale when the newest value is older than the
// feature's max_age or a scheduled run is overdue.
func (p *Platform) Freshness(ctx context.Context, fp *FreshnessParams) (*FreshnessReport, error) {
	if fp == nil {
		fp = &FreshnessParams{}
	}
	if err := checkKinds(fp.Features, resource.KindFeature); err != nil {
		return nil, err
	}
	if fp.Grace < 0 {
		return nil, invalid("grace %s is negative: give a duration such as 10m, or 0 for the default", fp.Grace)
	}
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	now := fp.Now
	if now.IsZero() {
		now = p.opts.Now()
	}
	now = now.UTC()
	var feats []*resource.Resource
	if len(fp.Features) == 0 {
		if feats, err = reg.List(ctx, &registry.ListParams{Kind: resource.KindFeature}); err != nil {
			return nil, fmt.Errorf("listing the features: %w", err)
		}
	} else {
		for _, id := range fp.Features {
			f, err := reg.Get(ctx, id)
			if err != nil {
				return nil, notRegistered(id, err)
			}
			feats = append(feats, f)
		}
	}
	// A batch prediction's feature is refreshed on its schedule.
	bps, err := reg.List(ctx, &registry.ListParams{Kind: resource.KindBatchPrediction})
	if err != nil {
		return nil, fmt.Errorf("listing the batch predictions: %w", err)
	}
	batch := map[resource.ID]*resource.Resource{}
	for _, bp := range bps {
		if bp.BatchPrediction != nil {
			batch[resource.BatchPredictionSource(bp.ID)] = bp
		}
	}
	rep := &FreshnessReport{At: now, Features: make([]FeatureFreshness, 0, len(feats))}
	for _, f := range feats {
		bp := batch[f.Feature.Source]
		if bp != nil && (bp.Name != f.Name || bp.Variant != f.Variant) {
			bp = nil
		}
		ff, err := featureFreshness(ctx, reg, f, bp, now, fp.Grace)
		if err != nil {
			return nil, err
		}
		switch ff.Status {
		case FreshnessFresh:
			rep.Fresh++
		case FreshnessStale:
			rep.Stale++
		default:
			rep.NeverMaterialized++
		}
		rep.Features = append(rep.Features, ff)
	}
	return rep, nil
}

// featureFreshness reads one feature's freshness at now; bp is the batch
// prediction whose predictions it serves, if any.
func featureFreshness(ctx context.Context, reg registry.Store, f, bp *resource.Resource, now time.Time, grace time.Duration) (FeatureFreshness, error) {
	spec, st := f.Feature, f.State
	ff := FeatureFreshness{Feature: f.Ref().String(), NewestEventTime: st.Watermark.UTC(), MaxAgeSeconds: time.Duration(spec.MaxAge).Seconds()}
	if st.Watermark.IsZero() {
		ff.NewestEventTime = time.Time{}
	} else {
		ff.NewestAgeSeconds = now.Sub(ff.NewestEventTime).Seconds()
	}
	var last time.Time // the last successful materialization; zero when unknown
	if m := st.Materialized; m != nil {
		last = m.At.UTC()
		ff.LastMaterializedAt, ff.LastMaterializationJob = last, m.Job
		ff.MaterializationAgeSeconds = now.Sub(last).Seconds()
	}

	// The schedule: the feature's own, or its batch prediction's.
	ff.Schedule = spec.Schedule
	schedID := f.ID
	if bp != nil {
		ff.Schedule, ff.ScheduledBy, schedID = bp.BatchPrediction.Schedule, bp.Ref().String(), bp.ID
	}
	var reasons []string
	if ff.Schedule != "" {
		if err := ff.overdue(ctx, reg, schedID, st.CreatedAt, last, now, grace); err != nil {
			return ff, err
		}
		if ff.Overdue {
			r := fmt.Sprintf("scheduled run due %s (%s) has not succeeded: %s late, grace %s",
				ff.NextDue.Format(time.RFC3339), ff.Schedule, age(seconds(ff.OverdueSeconds+ff.GraceSeconds)), age(seconds(ff.GraceSeconds)))
			if ff.LastScheduledJob != 0 && ff.LastScheduledStatus != string(registry.JobSucceeded) {
				r += fmt.Sprintf("; its last scheduled job %d is %s", ff.LastScheduledJob, ff.LastScheduledStatus)
				if ff.LastScheduledError != "" {
					r += ": " + textfmt.FirstLine(ff.LastScheduledError)
				}
			}
			reasons = append(reasons, r)
		}
	}

	if st.Materialized == nil && st.Watermark.IsZero() {
		ff.Status = FreshnessNeverMaterialized
		ff.Reason = strings.Join(append([]string{"never materialized: run `slipway materialize " + f.Ref().String() + "`"}, reasons...), "; ")
		if ff.ScheduledBy != "" {
			ff.Reason = strings.Join(append([]string{"never materialized: run `slipway run " + ff.ScheduledBy + "`"}, reasons...), "; ")
		}
		return ff, nil
	}
	maxAge := time.Duration(spec.MaxAge)
	switch {
	case maxAge > 0 && ff.NewestEventTime.IsZero():
		reasons = append([]string{"materialized, but no value is online (the source had no rows), max_age is " + spec.MaxAge.String()}, reasons...)
	case maxAge > 0 && ff.NewestEventTime.Before(now.Add(-maxAge)):
		reasons = append([]string{fmt.Sprintf("newest value is %s old, max_age is %s", age(now.Sub(ff.NewestEventTime)), spec.MaxAge)}, reasons...)
	}
	if len(reasons) > 0 {
		ff.Status, ff.Reason = FreshnessStale, strings.Join(reasons, "; ")
		return ff, nil
	}
	ff.Status = FreshnessFresh
	var parts []string
	switch {
	case ff.NewestEventTime.IsZero() && spec.TimestampColumn == "":
		parts = append(parts, "static feature (no timestamp column)")
	case ff.NewestEventTime.IsZero():
		parts = append(parts, "no value online (the source had no rows)")
	case maxAge > 0:
		parts = append(parts, fmt.Sprintf("newest value is %s old, max_age is %s", age(now.Sub(ff.NewestEventTime)), spec.MaxAge))
	default:
		parts = append(parts, fmt.Sprintf("newest value is %s old, no max_age", age(now.Sub(ff.NewestEventTime))))
	}
	if last.IsZero() {
		parts = append(parts, "last materialized before this version recorded when")
	} else {
		parts = append(parts, fmt.Sprintf("materialized %s ago by job %d", age(now.Sub(last)), ff.LastMaterializationJob))
	}
	if ff.Schedule != "" {
		parts = append(parts, fmt.Sprintf("next run due %s (%s)", ff.NextDue.Format(time.RFC3339), ff.Schedule))
	}
	ff.Reason = strings.Join(parts, "; ")
	return ff, nil
}

// overdue sets the schedule's next due time after the last successful
// materialization (after the feature was registered when none), the
// grace, whether it is overdue at now, and the last job the schedule
// (whose runs are keyed under schedID) queued.
func (ff *FeatureFreshness) overdue(ctx context.Context, reg registry.Store, schedID resource.ID, created, last, now time.Time, grace time.Duration) error {
	jobs, err := reg.ListJobs(ctx, &registry.ListJobsParams{KeyPrefix: coordinator.ScheduleKeyPrefix(schedID), Limit: 1})
	if err != nil {
		return fmt.Errorf("reading the last scheduled run of %s: %w", schedID, err)
	}
	if len(jobs) > 0 {
		j := jobs[0]
		ff.LastScheduledJob, ff.LastScheduledStatus, ff.LastScheduledError = j.ID, string(j.Status), j.Error
		if last.IsZero() && j.Status == registry.JobSucceeded {
			last = j.EndedAt // materialized before the registry recorded materializations
		}
	}
	sched, err := resource.ParseSchedule(ff.Schedule)
	if err != nil {
		return nil // apply refuses such schedules; the scheduler never fires it
	}
	from := last
	if from.IsZero() {
		from = created
	}
	due := sched.Next(from.UTC())
	if due.IsZero() {
		return nil // never fires
	}
	ff.NextDue = due.UTC()
	if grace == 0 {
		grace = MinFreshnessGrace
		if next := sched.Next(due); !next.IsZero() {
			grace = max(grace, next.Sub(due))
		}
	}
	ff.GraceSeconds = grace.Seconds()
	if late := now.Sub(due.Add(grace)); late > 0 {
		ff.Overdue, ff.OverdueSeconds = true, late.Seconds()
	}
	return nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// age words a duration in its two largest units: "3d4h", "5h12m", "12m",
// "40s".
func age(d time.Duration) string {
	neg := ""
	if d < 0 {
		neg, d = "-", -d
	}
	day := 24 * time.Hour
	switch {
	case d >= day:
		if h := (d % day) / time.Hour; h > 0 {
			return fmt.Sprintf("%s%dd%dh", neg, d/day, h)
		}
		return fmt.Sprintf("%s%dd", neg, d/day)
	case d >= time.Hour:
		if m := (d % time.Hour) / time.Minute; m > 0 {
			return fmt.Sprintf("%s%dh%dm", neg, d/time.Hour, m)
		}
		return fmt.Sprintf("%s%dh", neg, d/time.Hour)
	case d >= time.Minute:
		return fmt.Sprintf("%s%dm", neg, d/time.Minute)
	}
	return fmt.Sprintf("%s%ds", neg, d/time.Second)
}
