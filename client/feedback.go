package client

import (
	"context"
	"net/http"

	"github.com/slipway-ml/slipway/feedback"
	"github.com/slipway-ml/slipway/server"
)

// RecordFeedback posts feedback events to the server (POST /v1/feedback).
func (c *Client) RecordFeedback(ctx context.Context, events []feedback.Event) (*feedback.Accepted, error) {
	var resp server.FeedbackResponse
	if err := c.json(ctx, &call{method: "POST", path: "/v1/feedback", body: server.FeedbackRequest{Events: events},
		want: http.StatusAccepted, out: &resp}); err != nil {
		return nil, err
	}
	return &feedback.Accepted{IDs: resp.IDs}, nil
}

// FeedbackStatus reads the feedback counts (GET /v1/feedback/status).
func (c *Client) FeedbackStatus(ctx context.Context) (*feedback.Status, error) {
	var st feedback.Status
	if err := c.json(ctx, &call{method: "GET", path: "/v1/feedback/status", want: http.StatusOK, out: &st}); err != nil {
		return nil, err
	}
	return &st, nil
}
