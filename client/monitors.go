package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
)

// monitorPath is a monitor's route prefix.
func monitorPath(ref resource.Ref) string {
	s := ref.Name
	if ref.Variant != "" {
		s += ":" + ref.Variant
	}
	return "/v1/monitors/" + url.PathEscape(s)
}

func checkMonitor(ref resource.Ref) error {
	if err := resource.ValidateName(ref.Name); err != nil {
		return fmt.Errorf("%w: monitor %v", platform.ErrInvalid, err)
	}
	return nil
}

// RunMonitor queues a run of a monitor now (POST /v1/monitors/{name}/run).
func (c *Client) RunMonitor(ctx context.Context, p *platform.MonitorRunParams) ([]*registry.Job, error) {
	if err := checkMonitor(p.Monitor); err != nil {
		return nil, err
	}
	return c.queue(ctx, monitorPath(p.Monitor)+"/run", server.MonitorRunRequest{By: p.By, Detach: p.Detach})
}

// MonitorReport reads a monitor's latest state per check and subject and
// its runs (GET /v1/monitors/{name}/report).
func (c *Client) MonitorReport(ctx context.Context, p *platform.MonitorReportParams) (*platform.MonitorReport, error) {
	if err := checkMonitor(p.Monitor); err != nil {
		return nil, err
	}
	q := url.Values{}
	if p.Runs != 0 {
		q.Set("runs", strconv.Itoa(p.Runs))
	}
	var rep platform.MonitorReport
	if err := c.json(ctx, &call{method: "GET", path: monitorPath(p.Monitor) + "/report", query: q, want: http.StatusOK, out: &rep}); err != nil {
		return nil, err
	}
	return &rep, nil
}
