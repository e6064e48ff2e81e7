package platform

// Experiments: the report of a running or ended A/B experiment, and its
// end (conclude with a winner, or stop). The work is the coordinator's
// (coordinator/experiments.go), which the review jobs of experiments that
// conclude themselves share; these are the operations every client calls.

import (
	"context"
	"errors"
	"fmt"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/resource"
)

// The experiment operations' types are the coordinator's.
type (
	ExperimentReport         = coordinator.ExperimentReport
	ExperimentEndpoint       = coordinator.ExperimentEndpoint
	ExperimentArmVersion     = coordinator.ExperimentArmVersion
	ConcludeExperimentParams = coordinator.ConcludeExperimentParams
	StopExperimentParams     = coordinator.StopExperimentParams
	ConcludeResult           = coordinator.ConcludeResult
)

// ErrEnded refuses to conclude or stop an experiment that has ended.
var ErrEnded = coordinator.ErrExperimentEnded

// States of an experiment (ExperimentReport.State).
const (
	ExperimentRunning   = coordinator.ExperimentRunning
	ExperimentConcluded = coordinator.ExperimentConcluded
	ExperimentStopped   = coordinator.ExperimentStopped
	ExperimentEnded     = coordinator.ExperimentEnded
)

// experimentError makes a refused experiment request (an unknown arm, a
// winner that cannot be served) the caller's mistake, ErrInvalid.
func experimentError(err error) error {
	if errors.Is(err, coordinator.ErrExperimentRefused) {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}

// ExperimentReport reads an experiment's state, its arms' versions and
// statistics (feedback.ExperimentStats over the exposures whose window has
// ended, analysed by experiment.Analyze with the definition's weights and
// min_samples).
func (p *Platform) ExperimentReport(ctx context.Context, ref resource.Ref) (*ExperimentReport, error) {
	c, err := p.coordinator(ctx, true, false)
	if err != nil {
		return nil, err
	}
	rep, err := c.ExperimentReport(ctx, ref)
	return rep, experimentError(err)
}

// ConcludeExperiment ends an experiment with a winner: it points the
// endpoint's alias at the winning arm's version (a recorded move, as
// `slipway models promote` makes, by "BY (experiment NAME)"), unless the
// alias points there already (the control won), then deprecates the
// experiment with the reason "concluded: winner ARM (model M version V)".
// The winner need not be significant; the caller shows the report's
// verdict. A rerun after a failure between the two steps finds the alias
// moved and only deprecates.
func (p *Platform) ConcludeExperiment(ctx context.Context, cp *ConcludeExperimentParams) (*ConcludeResult, error) {
	c, err := p.coordinator(ctx, false, false)
	if err != nil {
		return nil, err
	}
	res, err := c.ConcludeExperiment(ctx, cp)
	return res, experimentError(err)
}

// StopExperiment ends an experiment without a change: it deprecates it
// with the reason "stopped" (": REASON" when one is given).
func (p *Platform) StopExperiment(ctx context.Context, sp *StopExperimentParams) (*resource.Resource, error) {
	c, err := p.coordinator(ctx, false, false)
	if err != nil {
		return nil, err
	}
	r, err := c.StopExperiment(ctx, sp)
	return r, experimentError(err)
}
