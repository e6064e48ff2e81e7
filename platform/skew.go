package platform

import (
	"context"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// SkewParams asks for a measurement of a model's train/serve skew
// (coordinator.SkewParams): a sample of its logged predictions, their
// features recomputed point-in-time at their prediction times.
type SkewParams struct {
	Model   string    `json:"model"`
	Version int       `json:"version,omitempty"`
	From    time.Time `json:"from,omitzero"`
	To      time.Time `json:"to,omitzero"`
	Sample  int       `json:"sample,omitempty"`
	By      string    `json:"by,omitempty"`
	Detach  bool      `json:"detach,omitempty"`
}

// Skew queues the measurement; its job's Result is a
// coordinator.SkewReport.
func (p *Platform) Skew(ctx context.Context, sp *SkewParams) ([]*registry.Job, error) {
	if err := resource.ValidateName(sp.Model); err != nil {
		return nil, invalid("model %v", err)
	}
	c, err := p.coordinator(ctx, true, false)
	if err != nil {
		return nil, err
	}
	jobs, err := c.EnqueueSkew(ctx, &coordinator.SkewParams{Model: sp.Model, Version: sp.Version, From: sp.From, To: sp.To, Sample: sp.Sample, By: sp.By})
	if err != nil {
		return nil, invalid("%v", err)
	}
	return p.start(c, jobs, sp.Detach), nil
}
