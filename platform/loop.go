package platform

// The feedback loop's controls for a process that drives it itself (a
// simulation, an embedding application, a test): fire what is due now,
// and ship the logs now. `slipway serve` and `slipway worker` do both on
// their own, every few seconds.

import (
	"context"
	"errors"
	"fmt"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/predictionlog"
	"github.com/slipway-ml/slipway/registry"
)

// FireSchedules queues what is due at the platform's clock (Options.Now):
// scheduled runs, reviews of experiments that conclude themselves, and
// trainings a retrain policy's feedback count calls for
// (coordinator.Scheduler.Tick); this process works them in the background,
// as Train's jobs. It returns the queued jobs (Wait follows them).
func (p *Platform) FireSchedules(ctx context.Context) ([]*registry.Job, error) {
	c, err := p.coordinator(ctx, true, true)
	if err != nil {
		return nil, err
	}
	jobs, err := (&coordinator.Scheduler{Coordinator: c}).Tick(ctx)
	if len(jobs) > 0 {
		p.workInBackground(c, jobs)
	}
	return jobs, err
}

// ShipLogs writes what the prediction log and the feedback log hold into
// the offline store now, rather than at their next ship_interval.
func (p *Platform) ShipLogs(ctx context.Context) error {
	pl, err := p.PredictionLog(ctx)
	if err != nil {
		return err
	}
	fl, err := p.feedbackLog(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for name, l := range map[string]*predictionlog.Log{"prediction log": pl, "feedback log": fl} {
		if l == nil {
			continue // logging is off
		}
		if err := l.WAL.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("flushing the %s: %w", name, err))
			continue
		}
		if _, err := l.Shipper.Ship(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shipping the %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
