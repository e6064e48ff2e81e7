package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/serving"
)

// MonitorRunRequest is the optional body of POST /v1/monitors/{name}/run.
type MonitorRunRequest struct {
	By     string `json:"by,omitempty"`
	Detach bool   `json:"detach,omitempty"`
}

// pathMonitor is the monitor the path names (name or name:variant).
func pathMonitor(r *http.Request) (resource.Ref, error) {
	ref, err := resource.ParseRef(r.PathValue("name"))
	if err != nil {
		return resource.Ref{}, fmt.Errorf("%w: monitor: %v", serving.ErrInvalid, err)
	}
	return ref, nil
}

// runMonitor answers POST /v1/monitors/{name}/run: it queues a run (202
// with the job; its result is a coordinator.MonitorRunResult).
func (s *server) runMonitor(w http.ResponseWriter, r *http.Request) {
	ref, err := pathMonitor(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	var req MonitorRunRequest
	if err == nil {
		err = decodeOptional(r, &req)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.By == "" {
		req.By = defaultBy
	}
	jobs, err := s.Platform.RunMonitor(r.Context(), &platform.MonitorRunParams{Monitor: ref, By: req.By, Detach: req.Detach})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.jobsBody(r, jobs))
}

// monitorReport answers GET /v1/monitors/{name}/report[?runs=N].
func (s *server) monitorReport(w http.ResponseWriter, r *http.Request) {
	ref, err := pathMonitor(r)
	q := r.URL.Query()
	if err == nil {
		err = checkQuery(q, "runs")
	}
	p := &platform.MonitorReportParams{Monitor: ref}
	if err == nil {
		var runs string
		if runs, err = queryOne(q, "runs"); err == nil && runs != "" {
			n, perr := strconv.Atoi(runs)
			if perr != nil || n < 1 {
				err = invalid("runs %q: give how many runs to list, 1 or more", runs)
			}
			p.Runs = n
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rep, err := s.Platform.MonitorReport(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
