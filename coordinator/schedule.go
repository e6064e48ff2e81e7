package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// Scheduler queues the runs of transformations, features and models that
// have a schedule (a model's run is a training, after rebuilds of the
// transformations its training set reads). Each firing is queued once, under a job key naming the
// resource and the firing time, however many schedulers share the
// registry.
//
// Missed runs: when no scheduler ran at some firing times (slipway was
// down), the next tick queues one run, for the latest of them, not one per
// missed time.
type Scheduler struct {
	Coordinator *Coordinator
	// Every is how often Run ticks (default 10s).
	Every time.Duration
}

// maxFirings bounds the walk from the last firing to now in one tick: a
// schedule that would have fired more often than that while slipway was
// down catches up in more than one run, one per bound.
const maxFirings = 100_000

// Run ticks until ctx is cancelled, logging tick errors.
func (s *Scheduler) Run(ctx context.Context) error {
	every := s.Every
	if every <= 0 {
		every = 10 * time.Second
	}
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.Coordinator.logger().Warn("scheduling", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// ScheduleKeyPrefix starts the key of every job a schedule queued for id
// (registry.ListJobsParams.KeyPrefix lists them, newest first).
func ScheduleKeyPrefix(id resource.ID) string { return scheduleKeyPrefix(id) }

// scheduleKeyPrefix starts the key of every job a schedule queued for id;
// the firing time follows it.
func scheduleKeyPrefix(id resource.ID) string {
	return fmt.Sprintf("schedule:%s/%s:%s@", id.Kind, id.Name, id.Variant)
}

// Tick queues the runs due at the clock's now and returns them. Features of
// one source due at the same firing share one rebuild of it.
func (s *Scheduler) Tick(ctx context.Context) ([]*registry.Job, error) {
	c := s.Coordinator
	now := c.now()
	var queued []*registry.Job
	var errs []error
	type firing struct {
		source resource.ID
		at     time.Time
	}
	var order []firing
	features := map[firing][]*resource.Resource{}
	for _, kind := range []resource.Kind{resource.KindTransformation, resource.KindFeature, resource.KindModel, resource.KindBatchPrediction, resource.KindExperiment, resource.KindMonitor} {
		rs, err := c.Registry.List(ctx, &registry.ListParams{Kind: kind})
		if err != nil {
			return queued, fmt.Errorf("listing %ss: %w", kind, err)
		}
		for _, r := range rs {
			if r.Model != nil && r.Model.Retrain != nil {
				jobs, err := s.retrainOnFeedback(ctx, r)
				if err != nil {
					errs = append(errs, fmt.Errorf("retraining %s on feedback: %w", r.ID, err))
				}
				queued = append(queued, jobs...)
			}
			at, err := s.due(ctx, r, now)
			if err != nil {
				errs = append(errs, fmt.Errorf("scheduling %s: %w", r.ID, err))
			}
			switch {
			case at.IsZero():
			case kind != resource.KindFeature:
				jobs, err := s.queue(ctx, []*resource.Resource{r}, at)
				errs = append(errs, err)
				queued = append(queued, jobs...)
			default:
				f := firing{r.Feature.Source, at}
				if features[f] == nil {
					order = append(order, f)
				}
				features[f] = append(features[f], r)
			}
		}
	}
	for _, f := range order {
		jobs, err := s.queue(ctx, features[f], f.at)
		errs = append(errs, err)
		queued = append(queued, jobs...)
	}
	return queued, errors.Join(errs...)
}

func scheduleOf(r *resource.Resource) string {
	switch {
	case r.Transformation != nil:
		return r.Transformation.Schedule
	case r.Feature != nil:
		return r.Feature.Schedule
	case r.Model != nil:
		return r.Model.Schedule
	case r.BatchPrediction != nil:
		return r.BatchPrediction.Schedule
	case r.Monitor != nil && r.State.Deprecated == nil:
		return r.Monitor.Schedule
	case r.Experiment != nil && r.Experiment.AutoConclude && r.State.Deprecated == nil:
		// Reviewed while it runs.
		if r.Experiment.Review == "" {
			return resource.DefaultExperimentReview
		}
		return r.Experiment.Review
	}
	return ""
}

// due returns r's firing to queue now, or zero: the latest firing time at
// or before now that is after the last one queued (or after r was
// registered), unless r's last run has not ended.
func (s *Scheduler) due(ctx context.Context, r *resource.Resource, now time.Time) (time.Time, error) {
	expr := scheduleOf(r)
	if expr == "" {
		return time.Time{}, nil
	}
	sched, err := resource.ParseSchedule(expr)
	if err != nil {
		return time.Time{}, err
	}
	prefix := scheduleKeyPrefix(r.ID)
	last := r.State.CreatedAt
	prev, err := s.Coordinator.Registry.ListJobs(ctx, &registry.ListJobsParams{KeyPrefix: prefix, Limit: 1})
	if err != nil {
		return time.Time{}, fmt.Errorf("reading its last run: %w", err)
	}
	if len(prev) > 0 {
		if !prev[0].Status.Ended() {
			return time.Time{}, nil // the last run is still queued or running: runs never pile up
		}
		if t, err := time.Parse(time.RFC3339, strings.TrimPrefix(prev[0].Key, prefix)); err == nil {
			last = t
		}
	}
	due := sched.Next(last.UTC())
	if due.IsZero() || due.After(now) {
		return time.Time{}, nil
	}
	for range maxFirings {
		next := sched.Next(due)
		if next.IsZero() || next.After(now) {
			break
		}
		due = next
	}
	return due, nil
}

// queue queues the runs of resources due at one firing in one batch: a
// transformation's rebuild, or the features' materializations after one
// rebuild of their source. Each resource's last job carries its firing's
// key.
func (s *Scheduler) queue(ctx context.Context, rs []*resource.Resource, at time.Time) ([]*registry.Job, error) {
	c := s.Coordinator
	b := c.newBatch()
	for _, r := range rs {
		switch r.Kind {
		case resource.KindTransformation:
			if _, err := b.transformation(ctx, r, func(id resource.ID) bool { return id == r.ID }); err != nil {
				return nil, err
			}
		case resource.KindModel:
			// A retraining reads the training set's data afresh: the
			// transformations it reads are rebuilt first.
			after, err := b.trainingSetInputs(ctx, r.Model.TrainingSet, always)
			if err != nil {
				return nil, err
			}
			b.add(registry.NewJob{Kind: JobTrain, Resource: r.ID, Args: encodeArgs(trainArgs{By: "schedule"}), After: after})
		case resource.KindExperiment:
			b.add(registry.NewJob{Kind: JobExperimentReview, Resource: r.ID, Args: encodeArgs(reviewArgs{By: "schedule"})})
		case resource.KindMonitor:
			b.add(registry.NewJob{Kind: JobMonitor, Resource: r.ID, Args: encodeArgs(monitorArgs{By: "schedule"})})
		case resource.KindBatchPrediction:
			// Scored as of the firing, from its inputs rebuilt first.
			if err := b.batchPredict(ctx, &BatchPredictParams{BatchPrediction: r.ID, At: at, By: "schedule"}, always); err != nil {
				return nil, err
			}
		default:
			if err := b.materialize(ctx, &MaterializeParams{Features: []resource.ID{r.ID}, Rebuild: true}); err != nil {
				return nil, err
			}
		}
		b.jobs[len(b.jobs)-1].Key = scheduleKeyPrefix(r.ID) + at.UTC().Format(time.RFC3339)
	}
	jobs, err := b.enqueue(ctx)
	if errors.Is(err, registry.ErrDuplicateKey) {
		return nil, nil // another scheduler queued this firing
	}
	if err != nil {
		return nil, err
	}
	c.logger().Info("scheduled runs queued", "resources", len(rs), "firing", at.UTC().Format(time.RFC3339), "jobs", len(jobs))
	return jobs, nil
}
