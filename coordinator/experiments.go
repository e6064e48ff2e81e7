package coordinator

// Experiments: the report of a running or ended A/B experiment, and its
// end (conclude with a winner, or stop), for the platform's API and for
// the review jobs of experiments that conclude themselves. The statistics
// are package experiment's, the arms' numbers the FeedbackReader's.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/experiment"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// ErrExperimentEnded refuses to conclude or stop an experiment that has ended.
var ErrExperimentEnded = errors.New("experiment has ended")

// States of an experiment (ExperimentReport.State).
const (
	ExperimentRunning   = "running"
	ExperimentConcluded = "concluded"
	ExperimentStopped   = "stopped"
	// ExperimentEnded is an experiment deprecated otherwise (`slipway
	// deprecate`): it no longer runs.
	ExperimentEnded = "ended"
)

// Deprecation reasons of an ended experiment begin with these.
const (
	concludedReason = "concluded"
	stoppedReason   = "stopped"
)

// ExperimentReport is an experiment's state and statistics, as `slipway
// experiments report` shows them.
type ExperimentReport struct {
	// Experiment is the definition.
	Experiment *resource.Resource `json:"experiment"`
	// State is running, concluded, stopped or ended; Ended says when, by
	// whom and why it ended (its deprecation mark), nil while it runs.
	State string         `json:"state"`
	Ended *resource.Mark `json:"ended,omitempty"`
	// Endpoint is the endpoint's model and alias, and the version the
	// alias points at now (0: none yet).
	Endpoint ExperimentEndpoint `json:"endpoint"`
	// Arms are the arms in the definition's order, each with the version
	// it resolves to now.
	Arms []ExperimentArmVersion `json:"arms"`
	// Report is experiment.Analyze's comparison of the arms.
	Report *experiment.Report `json:"report"`
}

// ExperimentEndpoint is the endpoint an experiment runs on.
type ExperimentEndpoint struct {
	Endpoint resource.ID `json:"endpoint"`
	Model    string      `json:"model"`
	Alias    string      `json:"alias"`
	Version  int         `json:"version"`
}

// ExperimentArmVersion is one arm and the model version answering for it.
type ExperimentArmVersion struct {
	Name  string `json:"name"`
	Model string `json:"model"`
	// Alias or Version is how the definition names the version;
	// Resolved is the version it is now (0 when the alias points nowhere).
	Alias    string  `json:"alias,omitempty"`
	Version  int     `json:"version,omitempty"`
	Resolved int     `json:"resolved"`
	Weight   float64 `json:"weight"`
}

// Named is the arm's model version as the definition names it:
// MODEL@ALIAS or MODEL@VERSION.
func (a ExperimentArmVersion) Named() string {
	if a.Version > 0 {
		return fmt.Sprintf("%s@%d", a.Model, a.Version)
	}
	return a.Model + "@" + a.Alias
}

// ConcludeExperimentParams end an experiment with a winner.
type ConcludeExperimentParams struct {
	Experiment resource.Ref `json:"-"`
	// Winner is the winning arm's name.
	Winner string `json:"winner"`
	By     string `json:"by,omitempty"`
}

// StopExperimentParams end an experiment without a change.
type StopExperimentParams struct {
	Experiment resource.Ref `json:"-"`
	// Reason is added to the deprecation's reason ("stopped: REASON").
	Reason string `json:"reason,omitempty"`
	By     string `json:"by,omitempty"`
}

// ConcludeResult is what ConcludeExperiment did.
type ConcludeResult struct {
	// Experiment is the experiment as recorded, deprecated.
	Experiment *resource.Resource `json:"experiment"`
	// Winner is the winning arm and its version.
	Winner ExperimentArmVersion `json:"winner"`
	// Alias is the endpoint's alias after the conclusion; Moved says
	// whether the conclusion moved it (from From), or it already pointed at
	// the winner's version (the control won, or a rerun).
	Alias *registry.ModelAlias `json:"alias"`
	Moved bool                 `json:"moved"`
	From  int                  `json:"from,omitempty"`
}

// experimentID is the experiment named by ref.
func experimentID(ref resource.Ref) resource.ID {
	return resource.ID{Kind: resource.KindExperiment, Name: ref.Name, Variant: ref.Variant}
}

// getExperiment reads an experiment and its endpoint.
func getExperiment(ctx context.Context, reg registry.Store, ref resource.Ref) (*resource.Resource, *resource.Resource, error) {
	if err := resource.ValidateName(ref.Name); err != nil {
		return nil, nil, refuseExperiment("experiment %v", err)
	}
	if ref.Variant == "" {
		ref.Variant = resource.DefaultVariant
	}
	id := experimentID(ref)
	exp, err := reg.Get(ctx, id)
	if err != nil {
		return nil, nil, experimentNotRegistered(id, err)
	}
	if exp.Experiment == nil {
		return nil, nil, fmt.Errorf("%s has no experiment definition", id)
	}
	ep, err := reg.Get(ctx, exp.Experiment.Endpoint)
	var deleted *registry.DeletedError
	switch {
	case errors.As(err, &deleted):
		ep = deleted.Resource
	case err != nil:
		return nil, nil, fmt.Errorf("reading the endpoint of %s: %w", id, err)
	}
	if ep.Endpoint == nil {
		return nil, nil, fmt.Errorf("%s of %s has no endpoint definition", ep.ID, id)
	}
	return exp, ep, nil
}

// ExperimentState is an experiment's state, from its deprecation mark.
func ExperimentState(exp *resource.Resource) string {
	m := exp.State.Deprecated
	switch {
	case m == nil:
		return ExperimentRunning
	case strings.HasPrefix(m.Reason, concludedReason):
		return ExperimentConcluded
	case strings.HasPrefix(m.Reason, stoppedReason):
		return ExperimentStopped
	}
	return ExperimentEnded
}

// resolveArms returns the arms with the versions they resolve to now.
func resolveArms(ctx context.Context, reg registry.Store, spec *resource.ExperimentSpec) ([]ExperimentArmVersion, error) {
	out := make([]ExperimentArmVersion, len(spec.Arms))
	for i, a := range spec.Arms {
		v := ExperimentArmVersion{Name: a.Name, Model: a.Model, Alias: a.Alias, Version: a.Version, Resolved: a.Version, Weight: a.Weight}
		if a.Version == 0 {
			al, err := reg.GetModelAlias(ctx, a.Model, a.Alias)
			switch {
			case errors.Is(err, registry.ErrNotFound):
			case err != nil:
				return nil, fmt.Errorf("reading alias %s of model %s: %w", a.Alias, a.Model, err)
			default:
				v.Resolved = al.Version
			}
		}
		out[i] = v
	}
	return out, nil
}

// aliasVersion is the version an alias points at (0: none).
func aliasVersion(ctx context.Context, reg registry.Store, model, alias string) (int, error) {
	a, err := reg.GetModelAlias(ctx, model, alias)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("reading alias %s of model %s: %w", alias, model, err)
	}
	return a.Version, nil
}

// ExperimentReport reads an experiment's state, its arms' versions and
// statistics (feedback.ExperimentStats analysed by experiment.Analyze with
// the definition's weights and min_samples).
func (c *Coordinator) ExperimentReport(ctx context.Context, ref resource.Ref) (*ExperimentReport, error) {
	exp, ep, err := getExperiment(ctx, c.Registry, ref)
	if err != nil {
		return nil, err
	}
	spec := exp.Experiment
	out := &ExperimentReport{Experiment: exp, State: ExperimentState(exp), Ended: exp.State.Deprecated,
		Endpoint: ExperimentEndpoint{Endpoint: ep.ID, Model: ep.Endpoint.Model, Alias: ep.Endpoint.Alias}}
	if out.Endpoint.Version, err = aliasVersion(ctx, c.Registry, ep.Endpoint.Model, ep.Endpoint.Alias); err != nil {
		return nil, err
	}
	if out.Arms, err = resolveArms(ctx, c.Registry, spec); err != nil {
		return nil, err
	}
	fr, err := c.feedback()
	if err != nil {
		return nil, err
	}
	stats, err := fr.ExperimentStats(ctx, exp, c.now())
	if err != nil {
		return nil, err
	}
	weights := make([]float64, len(spec.Arms))
	for i, a := range spec.Arms {
		weights[i] = a.Weight
	}
	if out.Report, err = experiment.Analyze(experiment.Kind(spec.Metric.Kind), stats, weights, spec.MinSamples); err != nil {
		return nil, fmt.Errorf("analysing %s: %w", exp.ID, err)
	}
	return out, nil
}

// endedError refuses to end an experiment again, saying how it ended.
func endedError(exp *resource.Resource) error {
	m := exp.State.Deprecated
	by := ""
	if m.By != "" {
		by = " by " + m.By
	}
	return fmt.Errorf("%w: experiment %s ended at %s%s (%s); nothing changed", ErrExperimentEnded, exp.Ref(), m.At.UTC().Format(time.RFC3339), by, m.Reason)
}

// ConcludeExperiment ends an experiment with a winner: it points the
// endpoint's alias at the winning arm's version (a recorded move, as
// `slipway models promote` makes, by "BY (experiment NAME)"), unless the
// alias points there already (the control won), then deprecates the
// experiment with the reason "concluded: winner ARM (model M version V)".
// The winner need not be significant; the caller shows the report's
// verdict. A rerun after a failure between the two steps finds the alias
// moved and only deprecates.
func (c *Coordinator) ConcludeExperiment(ctx context.Context, cp *ConcludeExperimentParams) (*ConcludeResult, error) {
	reg := c.Registry
	exp, ep, err := getExperiment(ctx, reg, cp.Experiment)
	if err != nil {
		return nil, err
	}
	if exp.State.Deprecated != nil {
		return nil, endedError(exp)
	}
	arms, err := resolveArms(ctx, reg, exp.Experiment)
	if err != nil {
		return nil, err
	}
	var names []string
	var winner *ExperimentArmVersion
	for i := range arms {
		names = append(names, arms[i].Name)
		if arms[i].Name == cp.Winner {
			winner = &arms[i]
		}
	}
	switch {
	case cp.Winner == "":
		return nil, refuseExperiment("name the winning arm of experiment %s (--winner): one of %s", exp.Ref(), strings.Join(names, ", "))
	case winner == nil:
		return nil, refuseExperiment("experiment %s has no arm %q: its arms are %s", exp.Ref(), cp.Winner, strings.Join(names, ", "))
	case winner.Model != ep.Endpoint.Model:
		return nil, refuseExperiment("arm %s of experiment %s is model %s, but endpoint %s serves model %s: its alias cannot point at another model's version",
			winner.Name, exp.Ref(), winner.Model, ep.Ref(), ep.Endpoint.Model)
	case winner.Resolved == 0:
		return nil, refuseExperiment("arm %s of experiment %s names alias %s of model %s, which points at no version: promote one, or conclude with another arm",
			winner.Name, exp.Ref(), winner.Alias, winner.Model)
	}
	model, alias := ep.Endpoint.Model, ep.Endpoint.Alias
	current, err := aliasVersion(ctx, reg, model, alias)
	if err != nil {
		return nil, err
	}
	out := &ConcludeResult{Winner: *winner}
	by := "experiment " + exp.Ref().String()
	if cp.By != "" {
		by = cp.By + " (" + by + ")"
	}
	if current != winner.Resolved {
		expect := current
		a, err := reg.SetModelAlias(ctx, &registry.SetModelAliasParams{Model: model, Alias: alias, Version: winner.Resolved, By: by, Now: c.now(), Expect: &expect})
		if errors.Is(err, registry.ErrAliasMoved) {
			return nil, fmt.Errorf("%w: alias %s of model %s moved while concluding experiment %s; look at `slipway models show %s` and try again", err, alias, model, exp.Ref(), model)
		}
		if err != nil {
			return nil, fmt.Errorf("moving alias %s of model %s to version %d: %w", alias, model, winner.Resolved, err)
		}
		out.Alias, out.Moved, out.From = a, true, current
	} else if out.Alias, err = reg.GetModelAlias(ctx, model, alias); err != nil {
		return nil, fmt.Errorf("reading alias %s of model %s: %w", alias, model, err)
	}
	reason := fmt.Sprintf("%s: winner %s (model %s version %d)", concludedReason, winner.Name, winner.Model, winner.Resolved)
	if out.Experiment, err = c.Deprecate(ctx, &registry.DeprecateParams{ID: exp.ID, By: cp.By, Reason: reason}); err != nil {
		return nil, fmt.Errorf("ending experiment %s (the alias %s of model %s points at version %d; conclude again to finish): %w", exp.Ref(), alias, model, winner.Resolved, err)
	}
	if out.Experiment.State.Deprecated.Reason != reason {
		return nil, endedError(out.Experiment) // ended by another call meanwhile
	}
	return out, nil
}

// StopExperiment ends an experiment without a change: it deprecates it
// with the reason "stopped" (": REASON" when one is given).
func (c *Coordinator) StopExperiment(ctx context.Context, sp *StopExperimentParams) (*resource.Resource, error) {
	exp, _, err := getExperiment(ctx, c.Registry, sp.Experiment)
	if err != nil {
		return nil, err
	}
	if exp.State.Deprecated != nil {
		return nil, endedError(exp)
	}
	reason := stoppedReason
	if r := strings.TrimSpace(sp.Reason); r != "" {
		reason += ": " + r
	}
	out, err := c.Deprecate(ctx, &registry.DeprecateParams{ID: exp.ID, By: sp.By, Reason: reason})
	if err != nil {
		return nil, fmt.Errorf("stopping experiment %s: %w", exp.Ref(), err)
	}
	if out.State.Deprecated.Reason != reason { // ended by another call meanwhile
		return nil, endedError(out)
	}
	return out, nil
}

// ErrExperimentRefused marks a request about an experiment refused for
// what it asks (an unknown arm, a winner that cannot be served, a restart
// while another experiment runs); the error's text is the reason alone.
var ErrExperimentRefused = errors.New("experiment request refused")

type refusedError struct{ msg string }

func (e *refusedError) Error() string        { return e.msg }
func (e *refusedError) Is(target error) bool { return target == ErrExperimentRefused }

func refuseExperiment(format string, args ...any) error {
	return &refusedError{fmt.Sprintf(format, args...)}
}

// experimentNotRegistered explains an experiment that is not registered.
func experimentNotRegistered(id resource.ID, err error) error {
	if errors.Is(err, registry.ErrNotFound) && !errors.Is(err, registry.ErrDeleted) {
		return fmt.Errorf("%s: %w (`slipway list experiments` shows what is registered)", id, registry.ErrNotFound)
	}
	return err
}
