package server

// The experiment routes: an experiment's report, and its end (conclude
// with a winner, or stop).

import (
	"fmt"
	"net/http"

	"github.com/slipway-ml/slipway/experiment"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/serving"
)

// ExperimentReportBody is the answer of GET /v1/experiments/{name}/report:
// platform.ExperimentReport with the experiment as a ResourceBody.
type ExperimentReportBody struct {
	Experiment ResourceBody                    `json:"experiment"`
	State      string                          `json:"state"`
	Ended      *resource.Mark                  `json:"ended,omitempty"`
	Endpoint   platform.ExperimentEndpoint     `json:"endpoint"`
	Arms       []platform.ExperimentArmVersion `json:"arms"`
	Report     *experiment.Report              `json:"report"`
}

// NewExperimentReportBody shows a report.
func NewExperimentReportBody(r *platform.ExperimentReport) ExperimentReportBody {
	return ExperimentReportBody{Experiment: NewResourceBody(r.Experiment, nil), State: r.State, Ended: r.Ended,
		Endpoint: r.Endpoint, Arms: r.Arms, Report: r.Report}
}

// ExperimentReportFromBody is NewExperimentReportBody's inverse.
func ExperimentReportFromBody(b ExperimentReportBody) *platform.ExperimentReport {
	exp, _ := ResourceFromBody(b.Experiment)
	return &platform.ExperimentReport{Experiment: exp, State: b.State, Ended: b.Ended, Endpoint: b.Endpoint, Arms: b.Arms, Report: b.Report}
}

// ConcludeRequest is the body of POST /v1/experiments/{name}/conclude.
type ConcludeRequest struct {
	Winner string `json:"winner"`
	// By names who concludes it; empty means "api".
	By string `json:"by,omitempty"`
}

// StopRequest is the (optional) body of POST /v1/experiments/{name}/stop.
type StopRequest struct {
	Reason string `json:"reason,omitempty"`
	By     string `json:"by,omitempty"`
}

// ConcludeBody is the answer of POST /v1/experiments/{name}/conclude.
type ConcludeBody struct {
	Experiment ResourceBody                  `json:"experiment"`
	Winner     platform.ExperimentArmVersion `json:"winner"`
	Alias      ModelAliasBody                `json:"alias"`
	Moved      bool                          `json:"moved"`
	From       int                           `json:"from,omitempty"`
}

// ConcludeFromBody is the inverse of the conclude answer.
func ConcludeFromBody(b ConcludeBody) (*platform.ConcludeResult, error) {
	exp, _ := ResourceFromBody(b.Experiment)
	a, _, err := ModelAliasFromBody(b.Alias)
	if err != nil {
		return nil, err
	}
	return &platform.ConcludeResult{Experiment: exp, Winner: b.Winner, Alias: a, Moved: b.Moved, From: b.From}, nil
}

// pathExperiment is the experiment the path names (name or name:variant).
func pathExperiment(r *http.Request) (resource.Ref, error) {
	ref, err := resource.ParseRef(r.PathValue("name"))
	if err != nil {
		return resource.Ref{}, fmt.Errorf("%w: experiment: %v", serving.ErrInvalid, err)
	}
	return ref, nil
}

func (s *server) experimentReport(w http.ResponseWriter, r *http.Request) {
	ref, err := pathExperiment(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rep, err := s.Platform.ExperimentReport(r.Context(), ref)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, NewExperimentReportBody(rep))
}

func (s *server) concludeExperiment(w http.ResponseWriter, r *http.Request) {
	ref, err := pathExperiment(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	var req ConcludeRequest
	if err == nil {
		err = decode(r, &req)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.By == "" {
		req.By = defaultBy
	}
	res, err := s.Platform.ConcludeExperiment(r.Context(), &platform.ConcludeExperimentParams{Experiment: ref, Winner: req.Winner, By: req.By})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ConcludeBody{Experiment: NewResourceBody(res.Experiment, nil), Winner: res.Winner,
		Alias: NewModelAliasBody(res.Alias, nil), Moved: res.Moved, From: res.From})
}

func (s *server) stopExperiment(w http.ResponseWriter, r *http.Request) {
	ref, err := pathExperiment(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	var req StopRequest
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
	res, err := s.Platform.StopExperiment(r.Context(), &platform.StopExperimentParams{Experiment: ref, Reason: req.Reason, By: req.By})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, NewResourceBody(res, nil))
}
