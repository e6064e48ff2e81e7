package coordinator

// The feedback loop's jobs: a training whose policy is promote.when:
// experiment starts an experiment for a better new version; an experiment
// that concludes itself is reviewed on schedule; a model whose retrain
// policy counts feedback is retrained once enough has arrived.
// docs/design/feedback-loop.md explains the choices.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/experiment"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// JobExperimentReview reviews an experiment that concludes itself: it is
// concluded when its report calls a winner, stopped on a sample-ratio
// mismatch, and left running otherwise.
const JobExperimentReview = "experiment_review"

// ReviewResult is what a succeeded review leaves in Job.Result.
type ReviewResult struct {
	Experiment string `json:"experiment"`
	// Outcome is running (no verdict yet), concluded or stopped.
	Outcome string `json:"outcome"`
	// Winner is the arm concluded with.
	Winner  string `json:"winner,omitempty"`
	Verdict string `json:"verdict"`
}

// reviewArgs are a review job's arguments.
type reviewArgs struct {
	By string `json:"by,omitempty"`
}

// startChallenger starts the experiment a model's promote policy asks for,
// between the alias's version (control) and version (challenger), unless
// another experiment runs on the endpoint. It returns the experiment's
// name ("" when none started) and what happened, for the training's result.
func (c *Coordinator) startChallenger(ctx context.Context, m *resource.Resource, version int, by string) (string, string, error) {
	spec := m.Model
	pe := spec.Promote.Experiment
	if pe == nil {
		return "", "", fmt.Errorf("%w: %s promotes through an experiment but its definition names none", errPermanent, m.ID)
	}
	running, err := registry.RunningExperiment(ctx, c.Registry, pe.Endpoint)
	if err != nil {
		return "", "", err
	}
	if running != nil {
		return "", fmt.Sprintf("not tested: experiment %s still runs on endpoint %s; conclude or stop it (slipway experiments conclude|stop %s), then promote version %d by hand or let the next training test its successor",
			running.Ref(), pe.Endpoint.Ref(), running.Name, version), nil
	}
	id := resource.ID{Kind: resource.KindExperiment, Name: resource.ChallengerExperiment(m.Name, version), Variant: resource.DefaultVariant}
	exp := &resource.Resource{ID: id, Owner: by,
		Description: fmt.Sprintf("Started by the training of %s: version %d (challenger) against %s (control).", m.Ref(), version, spec.Promote.Alias),
		Experiment: &resource.ExperimentSpec{Endpoint: pe.Endpoint,
			Arms: []resource.ExperimentArm{
				{Name: "control", Model: m.Name, Alias: spec.Promote.Alias, Weight: 100 - pe.Traffic},
				{Name: "challenger", Model: m.Name, Version: version, Weight: pe.Traffic}},
			Metric: pe.Metric, MinSamples: pe.MinSamples, AutoConclude: true, Review: resource.DefaultExperimentReview}}
	exp.State.Status = resource.StatusReady
	if _, err := c.Registry.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{exp}}); err != nil {
		return "", "", fmt.Errorf("starting experiment %s: %w", id.Ref(), err)
	}
	return id.Name, fmt.Sprintf("experiment %s started: %.4g%% of endpoint %s's entities get version %d; it is reviewed %s and concludes by itself",
		id.Name, pe.Traffic, pe.Endpoint.Ref(), version, resource.DefaultExperimentReview), nil
}

// FeedbackReader reads, in the offline store, what the feedback loop
// decides on.
type FeedbackReader interface {
	// ExperimentStats counts an experiment's exposures and metric per arm,
	// the exposures whose metric window has ended by asOf.
	ExperimentStats(ctx context.Context, exp *resource.Resource, asOf time.Time) ([]experiment.ArmStats, error)
	// CountSince counts the events of one feedback name received after since.
	CountSince(ctx context.Context, name string, since time.Time) (int64, error)
}

// feedback returns c.Feedback, or an error saying it is missing.
func (c *Coordinator) feedback() (FeedbackReader, error) {
	if c.Feedback == nil {
		return nil, errors.New("this coordinator reads no feedback (Coordinator.Feedback is not set)")
	}
	return c.Feedback, nil
}

// reviewExperiment is the experiment_review job.
func (c *Coordinator) reviewExperiment(ctx context.Context, run *jobRun) error {
	id := run.job.Resource
	rep, err := c.ExperimentReport(ctx, id.Ref())
	if err != nil {
		return err
	}
	res := ReviewResult{Experiment: id.Name, Outcome: rep.State, Verdict: rep.Report.Verdict}
	switch {
	case rep.State != ExperimentRunning:
		run.sayf("experiment %s has ended (%s); nothing to review", id.Ref(), rep.State)
	case rep.Report.SRM.Flagged:
		why := fmt.Sprintf("sample ratio mismatch (chi-square %.4g, p = %.3g): the arms did not get the traffic their weights give, so the comparison cannot be trusted", rep.Report.SRM.Chi2, rep.Report.SRM.P)
		run.sayf("ALERT: stopping experiment %s: %s", id.Ref(), why)
		c.logger().Error("experiment stopped", "experiment", id.Ref(), "reason", why)
		if _, err := c.StopExperiment(ctx, &StopExperimentParams{Experiment: id.Ref(), By: "experiment review", Reason: why}); err != nil {
			return err
		}
		res.Outcome = ExperimentStopped
	case rep.Report.Winner != "":
		run.sayf("%s", rep.Report.Verdict)
		done, err := c.ConcludeExperiment(ctx, &ConcludeExperimentParams{Experiment: id.Ref(), Winner: rep.Report.Winner, By: "experiment review"})
		if err != nil {
			return err
		}
		run.sayf("concluded experiment %s: winner %s (version %d of %s)", id.Ref(), done.Winner.Name, done.Winner.Resolved, done.Winner.Model)
		res.Outcome, res.Winner = ExperimentConcluded, rep.Report.Winner
	case !allSampled(rep):
		run.sayf("experiment %s goes on: %s", id.Ref(), rep.Report.Verdict)
	default:
		// Every arm has its samples and no arm won: the experiment is
		// decided once, at its planned size (deciding at every review
		// until something is significant would call false winners far
		// more often than Alpha).
		why := "no significant difference once every arm had " + fmt.Sprint(rep.Report.MinSamples) + " exposures: " + rep.Report.Verdict
		run.sayf("stopping experiment %s: %s; the control stays", id.Ref(), why)
		if _, err := c.StopExperiment(ctx, &StopExperimentParams{Experiment: id.Ref(), By: "experiment review", Reason: why}); err != nil {
			return err
		}
		res.Outcome = ExperimentStopped
	}
	run.result = encodeArgs(res)
	return nil
}

// allSampled says whether every arm of a report has its min_samples.
func allSampled(rep *ExperimentReport) bool {
	for _, a := range rep.Report.Arms {
		if a.N < rep.Report.MinSamples {
			return false
		}
	}
	return true
}

// retrainKeyPrefix starts the key of the training a model's retrain policy
// queues; the newest version's number follows, so the feedback since one
// version retrains once.
func retrainKeyPrefix(id resource.ID) string {
	return fmt.Sprintf("retrain:%s/%s:%s@after-v", id.Kind, id.Name, id.Variant)
}

// NewFeedback counts the events of the feedback a model's retrain policy
// names received since its newest version was created (since the model
// was registered when it has none), and returns that version (0: none).
func (c *Coordinator) NewFeedback(ctx context.Context, m *resource.Resource) (int64, int, error) {
	since, newest := m.State.CreatedAt, 0
	versions, err := c.Registry.ListModelVersions(ctx, &registry.ListModelVersionsParams{Model: m.Name, Limit: 1})
	if err != nil {
		return 0, 0, fmt.Errorf("reading the versions of %s: %w", m.Name, err)
	}
	if len(versions) > 0 {
		since, newest = versions[0].CreatedAt, versions[0].Version
	}
	fr, err := c.feedback()
	if err != nil {
		return 0, 0, err
	}
	n, err := fr.CountSince(ctx, m.Model.Retrain.Feedback, since)
	return n, newest, err
}

// retrainOnFeedback queues the training of a model whose retrain policy's
// feedback count is reached, once per newest version, unless a training
// of it is queued or running.
func (s *Scheduler) retrainOnFeedback(ctx context.Context, m *resource.Resource) ([]*registry.Job, error) {
	c := s.Coordinator
	n, newest, err := c.NewFeedback(ctx, m)
	if err != nil || n < m.Model.Retrain.NewFeedback {
		return nil, err
	}
	active, err := c.Registry.ListJobs(ctx, &registry.ListJobsParams{Resource: m.ID, Kind: JobTrain, Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("reading the trainings of %s: %w", m.ID, err)
	}
	if len(active) > 0 && !active[0].Status.Ended() {
		return nil, nil
	}
	b := c.newBatch()
	after, err := b.trainingSetInputs(ctx, m.Model.TrainingSet, always)
	if err != nil {
		return nil, err
	}
	b.add(registry.NewJob{Kind: JobTrain, Resource: m.ID, Args: encodeArgs(trainArgs{By: "retrain policy"}), After: after,
		Key: fmt.Sprintf("%s%d", retrainKeyPrefix(m.ID), newest)})
	jobs, err := b.enqueue(ctx)
	if errors.Is(err, registry.ErrDuplicateKey) {
		return nil, nil // queued already for this version (or by another scheduler)
	}
	if err != nil {
		return nil, err
	}
	c.logger().Info("retraining on new feedback", "model", m.ID.Ref(), "feedback", m.Model.Retrain.Feedback, "events", n, "since version", newest)
	return jobs, nil
}
