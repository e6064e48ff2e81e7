package platform

// The checks monitors run (coordinator.Coordinator.Checks), over this
// platform's stores: drift and performance from package monitor, skew
// from the coordinator's measurement, freshness from Freshness.

import (
	"context"
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/monitor"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// monitorChecks returns every check a monitor can run.
func (p *Platform) monitorChecks() map[string]coordinator.MonitorChecker {
	return map[string]coordinator.MonitorChecker{
		resource.CheckDrift:       p.adaptCheck(monitor.DriftCheck),
		resource.CheckPerformance: p.adaptCheck(monitor.PerformanceCheck),
		resource.CheckSkew:        p.adaptCheck(p.skewCheck),
		resource.CheckFreshness:   p.adaptCheck(p.freshnessCheck),
	}
}

// adaptCheck gives a monitor.Checker the platform's registry and offline
// store, opened on first use (not the online store, which a server may
// hold: the freshness check reads it through Freshness), and returns its
// results as the registry keeps them.
func (p *Platform) adaptCheck(fn monitor.Checker) coordinator.MonitorChecker {
	return func(ctx context.Context, m *resource.Resource, now time.Time) ([]registry.MonitorResult, error) {
		env := &monitor.Env{Now: now}
		var err error
		if env.Registry, err = p.Registry(ctx); err != nil {
			return nil, err
		}
		if env.Offline, err = p.Offline(ctx); err != nil {
			return nil, err
		}
		rs, err := fn(ctx, env, m)
		if err != nil {
			return nil, err
		}
		out := make([]registry.MonitorResult, len(rs))
		for i, r := range rs {
			out[i] = registry.MonitorResult{Check: r.Check, Subject: r.Subject, State: string(r.State), Method: r.Method, Value: r.Value, Threshold: r.Threshold, Message: r.Message}
		}
		return out, nil
	}
}

// skewCheck is the skew check of a monitor: a sample of the predictions
// its endpoint's model made during the drift window (Skew.Sample of them),
// recomputed by the training join; a feature fails when more than
// Skew.MaxShare of its values differ.
func (p *Platform) skewCheck(ctx context.Context, env *monitor.Env, m *resource.Resource) ([]monitor.Result, error) {
	spec := m.Monitor
	ep, err := env.Registry.Get(ctx, spec.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", spec.Endpoint, err)
	}
	c, err := p.coordinator(ctx, true, false)
	if err != nil {
		return nil, err
	}
	from := env.Now.Add(-time.Duration(spec.Drift.Window))
	rep, err := c.MeasureSkew(ctx, &coordinator.SkewParams{Model: ep.Endpoint.Model, From: from, To: env.Now, Sample: int(spec.Skew.Sample)}, nil)
	if err != nil {
		return nil, err
	}
	window := fmt.Sprintf("since %s", from.UTC().Format(time.RFC3339))
	if rep.Sampled == 0 {
		return []monitor.Result{{Check: monitor.CheckSkew, Subject: "predictions", State: monitor.Warn,
			Message: fmt.Sprintf("model %s has no logged prediction %s: no skew to measure", rep.Model, window)}}, nil
	}
	out := make([]monitor.Result, 0, len(rep.Features))
	for _, f := range rep.Features {
		share, limit := f.Share, spec.Skew.MaxShare
		r := monitor.Result{Check: monitor.CheckSkew, Subject: f.Name, State: monitor.Pass, Method: "share", Value: &share, Threshold: &limit,
			Message: fmt.Sprintf("%s: %d of %d values served equal the training join at the prediction's time (%d sampled predictions %s)", f.Feature, f.Compared-f.Differing, f.Compared, rep.Sampled, window)}
		if share > limit {
			r.State = monitor.Fail
			r.Message = fmt.Sprintf("%s: %d of %d values served differ from the training join at the prediction's time (%.1f%%, skew.max_share %g), e.g. %s; `slipway skew %s` shows more",
				f.Feature, f.Differing, f.Compared, 100*share, limit, example(f), rep.Model)
		}
		out = append(out, r)
	}
	return out, nil
}

func example(f coordinator.FeatureSkew) string {
	if len(f.Examples) == 0 {
		return "-"
	}
	e := f.Examples[0]
	return fmt.Sprintf("entity %s at %s served %v, training join %v", e.Entity, e.At.Format(time.RFC3339), e.Served, e.Offline)
}

// freshnessCheck is the freshness check of a monitor: the features the
// endpoint's served version reads (Freshness, with Freshness.Grace); a
// stale or never materialized feature fails.
func (p *Platform) freshnessCheck(ctx context.Context, env *monitor.Env, m *resource.Resource) ([]monitor.Result, error) {
	spec := m.Monitor
	features, err := servedFeatures(ctx, env.Registry, spec.Endpoint)
	if err != nil {
		return nil, err
	}
	rep, err := p.Freshness(ctx, &FreshnessParams{Features: features, Now: env.Now, Grace: time.Duration(spec.Freshness.Grace)})
	if err != nil {
		return nil, err
	}
	out := make([]monitor.Result, 0, len(rep.Features))
	for _, f := range rep.Features {
		r := monitor.Result{Check: monitor.CheckFreshness, Subject: f.Feature, State: monitor.Pass, Message: f.Feature + ": " + f.Reason}
		if f.NewestAgeSeconds > 0 {
			age := f.NewestAgeSeconds
			r.Method, r.Value = "age_seconds", &age
			if f.MaxAgeSeconds > 0 {
				limit := f.MaxAgeSeconds
				r.Threshold = &limit
			}
		}
		if f.Status != FreshnessFresh {
			r.State = monitor.Fail
		}
		out = append(out, r)
	}
	return out, nil
}

// servedFeatures are the features of the version an endpoint serves (its
// alias's), as its training set lists them.
func servedFeatures(ctx context.Context, reg registry.Store, endpoint resource.ID) ([]resource.ID, error) {
	ep, err := reg.Get(ctx, endpoint)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", endpoint, err)
	}
	a, err := reg.GetModelAlias(ctx, ep.Endpoint.Model, ep.Endpoint.Alias)
	if err != nil {
		return nil, fmt.Errorf("endpoint %s serves %s@%s: %w", endpoint.Ref(), ep.Endpoint.Model, ep.Endpoint.Alias, err)
	}
	v, err := reg.GetModelVersion(ctx, a.Model, a.Version)
	if err != nil {
		return nil, err
	}
	if v.TrainingSet == (resource.ID{}) {
		return nil, fmt.Errorf("version %d of %s has no training set recorded: its features are not known", v.Version, v.Model)
	}
	ts, err := reg.Get(ctx, v.TrainingSet)
	if err != nil {
		return nil, err
	}
	return ts.TrainingSet.Features, nil
}
