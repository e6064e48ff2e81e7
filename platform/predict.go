package platform

// Live predictions on the stores: the same serving.Endpoints the HTTP
// server answers with, built over the registry and online store on first
// use and kept for the platform's life (it caches each endpoint's
// definition and the model versions it serves).

import (
	"context"

	"github.com/slipway-ml/slipway/serving"
)

// Predict answers a prediction request with the model version the
// endpoint's alias points at (serving.Endpoints.Predict): its errors are
// serving's (ErrInvalid, ErrUnknownEndpoint, ErrModelUnavailable,
// ErrUnknownFeature, ErrUnavailable).
func (p *Platform) Predict(ctx context.Context, req *serving.PredictRequest) (*serving.PredictResponse, error) {
	e, err := p.predictEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	return e.Predict(ctx, req)
}

// predictEndpoints returns the platform's serving.Endpoints, opening the
// registry and the online store on first use.
func (p *Platform) predictEndpoints(ctx context.Context) (*serving.Endpoints, error) {
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	on, err := p.Online(ctx)
	if err != nil {
		return nil, err
	}
	log, err := p.PredictionLog(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.endpoints == nil {
		// No logger: a command loads one version once, and a version it
		// cannot load is Predict's error.
		p.endpoints = &serving.Endpoints{Features: &serving.Service{Registry: reg, Online: on, Now: p.opts.Now}}
		if log != nil {
			p.endpoints.Log = log.Logger.Log
		}
	}
	return p.endpoints, nil
}
