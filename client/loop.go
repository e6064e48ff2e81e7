package client

// The feedback loop's status.

import (
	"context"
	"fmt"
	"net/http"

	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/resource"
)

// LoopStatus reads where each step of a model's feedback loop stands
// (GET /v1/models/{model}/loop).
func (c *Client) LoopStatus(ctx context.Context, model string) (*platform.LoopStatus, error) {
	if err := resource.ValidateName(model); err != nil {
		return nil, fmt.Errorf("%w: model %v", platform.ErrInvalid, err)
	}
	var st platform.LoopStatus
	if err := c.json(ctx, &call{method: "GET", path: modelPath(model) + "/loop", want: http.StatusOK, out: &st}); err != nil {
		return nil, err
	}
	return &st, nil
}
