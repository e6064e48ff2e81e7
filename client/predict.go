package client

// Live predictions: POST /v1/endpoints/{name}/predict.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/slipway-ml/slipway/server"
	"github.com/slipway-ml/slipway/serving"
)

// Predict asks an endpoint for predictions. Its error answers map as
// Error.Is says: unknown_endpoint to serving.ErrUnknownEndpoint,
// model_unavailable to serving.ErrModelUnavailable, invalid_request to
// serving.ErrInvalid too.
func (c *Client) Predict(ctx context.Context, req *serving.PredictRequest) (*serving.PredictResponse, error) {
	if req.Endpoint == "" {
		return nil, fmt.Errorf("%w: the endpoint is empty; name one (`slipway list endpoints` shows them)", serving.ErrInvalid)
	}
	body, err := server.NewPredictRequest(req)
	if err != nil {
		return nil, fmt.Errorf("encoding the request to endpoint %s: %w", req.Endpoint, err)
	}
	var resp serving.PredictResponse
	if err := c.json(ctx, &call{method: "POST", path: "/v1/endpoints/" + url.PathEscape(req.Endpoint) + "/predict",
		body: body, want: http.StatusOK, out: &resp}); err != nil {
		return nil, err
	}
	return &resp, nil
}
