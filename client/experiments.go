package client

// The experiment operations: report, conclude, stop.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
)

func experimentPath(ref resource.Ref) string {
	s := ref.Name
	if ref.Variant != "" {
		s += ":" + ref.Variant
	}
	return "/v1/experiments/" + url.PathEscape(s)
}

// ended is the conflict of the experiment calls: the experiment has
// ended, or, while concluding, the endpoint's alias moved.
func ended(e *Error) error {
	if strings.HasPrefix(e.Message, platform.ErrEnded.Error()) {
		return platform.ErrEnded
	}
	return registry.ErrAliasMoved
}

func checkExperiment(ref resource.Ref) error {
	if err := resource.ValidateName(ref.Name); err != nil {
		return fmt.Errorf("%w: experiment %v", platform.ErrInvalid, err)
	}
	return nil
}

// ExperimentReport reads an experiment's state, arms and statistics.
func (c *Client) ExperimentReport(ctx context.Context, ref resource.Ref) (*platform.ExperimentReport, error) {
	if err := checkExperiment(ref); err != nil {
		return nil, err
	}
	var b server.ExperimentReportBody
	if err := c.json(ctx, &call{method: "GET", path: experimentPath(ref) + "/report", want: http.StatusOK, out: &b}); err != nil {
		return nil, err
	}
	return server.ExperimentReportFromBody(b), nil
}

// ConcludeExperiment ends an experiment with a winner. A conclusion that
// names nobody (By "") is recorded by the server as by "api".
func (c *Client) ConcludeExperiment(ctx context.Context, p *platform.ConcludeExperimentParams) (*platform.ConcludeResult, error) {
	if err := checkExperiment(p.Experiment); err != nil {
		return nil, err
	}
	var b server.ConcludeBody
	if err := c.json(ctx, &call{method: "POST", path: experimentPath(p.Experiment) + "/conclude", body: server.ConcludeRequest{Winner: p.Winner, By: p.By},
		want: http.StatusOK, out: &b, conflict: ended}); err != nil {
		return nil, err
	}
	return server.ConcludeFromBody(b)
}

// StopExperiment ends an experiment without a change.
func (c *Client) StopExperiment(ctx context.Context, p *platform.StopExperimentParams) (*resource.Resource, error) {
	if err := checkExperiment(p.Experiment); err != nil {
		return nil, err
	}
	var b server.ResourceBody
	if err := c.json(ctx, &call{method: "POST", path: experimentPath(p.Experiment) + "/stop", body: server.StopRequest{Reason: p.Reason, By: p.By},
		want: http.StatusOK, out: &b, conflict: ended}); err != nil {
		return nil, err
	}
	r, _ := server.ResourceFromBody(b)
	return r, nil
}
