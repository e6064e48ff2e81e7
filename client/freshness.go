package client

// Freshness of the features' online values.

import (
	"context"
	"net/http"

	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/server"
)

// Freshness reads how fresh each feature's online values are
// (GET /v1/freshness).
func (c *Client) Freshness(ctx context.Context, p *platform.FreshnessParams) (*platform.FreshnessReport, error) {
	if p == nil {
		p = &platform.FreshnessParams{}
	}
	var rep platform.FreshnessReport
	if err := c.json(ctx, &call{method: "GET", path: "/v1/freshness", query: server.FreshnessQuery(p), want: http.StatusOK, out: &rep}); err != nil {
		return nil, err
	}
	return &rep, nil
}
