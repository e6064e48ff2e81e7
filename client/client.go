// Package client is the Go client of Slipway's HTTP API (package server):
// every operation of platform.API on a running `slipway serve`, with the
// results and errors a *platform.Platform gives on the stores directly, so
// that the CLI prints the same either way.
//
// Errors the server answers are a *Error: its Error() is the server's
// message (the platform's text), and errors.Is maps its code to the
// sentinel the platform would have returned (see Error.Is).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
	"github.com/slipway-ml/slipway/serving"
)

// Client calls a Slipway server. It is safe for concurrent use.
type Client struct {
	base string // scheme://host[:port][/prefix], no trailing slash
	http *http.Client
}

var _ platform.API = (*Client)(nil)

// New returns a client of the server at baseURL (http://host:port, or
// https; a path prefix is kept). It does not connect.
func New(baseURL string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: give http://HOST:PORT (or https://)", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("server URL %q: give scheme, host, port and optionally a path, nothing else", baseURL)
	}
	// A transport of its own: Close closes its idle connections only.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// No overall timeout: an export streams for as long as it takes; each
	// call is bounded by its context.
	return &Client{base: strings.TrimRight(u.String(), "/"), http: &http.Client{Transport: tr}}, nil
}

// URL is the server's base URL.
func (c *Client) URL() string { return c.base }

// Close closes the client's idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// ErrUnreachable says the server did not answer (not running, wrong
// address, network down).
var ErrUnreachable = errors.New("cannot reach the slipway server")

// ErrUnavailable says the server answered 503 unavailable: a store behind
// it could not be used; retrying later may work.
var ErrUnavailable = errors.New("a store behind the slipway server is unavailable")

// Error is an error answer of the server.
type Error struct {
	// Status is the HTTP status; Code the API's error code (docs/openapi.yaml).
	Status int
	Code   string
	// Message is the server's message: for a 4xx, the platform's error
	// text, as a local *platform.Platform would have returned it.
	Message   string
	RequestID string
	// Problems are the definition problems of an invalid_definitions error;
	// Plan the refused plan of an apply's conflict.
	Problems []platform.Problem
	Plan     *platform.PlanResult

	// conflict is the sentinel a 409 stands for in the call that got it;
	// tooLarge the one a 413 stands for.
	conflict error
	tooLarge error
}

func (e *Error) Error() string { return e.Message }

// Is maps the error's code to the sentinel the platform would have
// returned: not_found (and unknown_feature) → registry.ErrNotFound;
// deleted → registry.ErrDeleted and registry.ErrNotFound (like a
// *registry.DeletedError); invalid_request → platform.ErrInvalid (and
// serving.ErrInvalid); unknown_endpoint → serving.ErrUnknownEndpoint;
// model_unavailable → serving.ErrModelUnavailable; model_error →
// model.ErrRemote, model_timeout → model.ErrRemoteTimeout (and
// model.ErrRemote);
// unavailable → ErrUnavailable; too_large from RegisterModel →
// registry.ErrArtifactTooLarge. A 409 conflict is one of several
// sentinels, told apart by the call: registry.ErrJobState for the job
// calls (CancelJob, RetryJob, ExportFile, ExportSchema),
// registry.ErrAliasMoved for PromoteModel and RollbackModel,
// platform.ErrConflict for Apply, platform.ErrEnded for
// ConcludeExperiment and StopExperiment (registry.ErrAliasMoved when the
// alias moved while concluding),
// and for Delete coordinator.ErrInUse when a job works on the resource,
// else registry.ErrHasDependents. Code stays "conflict" in every case.
func (e *Error) Is(target error) bool {
	switch e.Code {
	case "not_found", "unknown_feature":
		return target == registry.ErrNotFound
	case "deleted":
		return target == registry.ErrDeleted || target == registry.ErrNotFound
	case "invalid_request":
		return target == platform.ErrInvalid || target == serving.ErrInvalid
	case "unknown_endpoint":
		return target == serving.ErrUnknownEndpoint
	case "model_unavailable":
		return target == serving.ErrModelUnavailable
	case "model_error":
		return target == model.ErrRemote
	case "model_timeout":
		return target == model.ErrRemoteTimeout || target == model.ErrRemote
	case "unavailable":
		return target == ErrUnavailable
	case "too_large":
		// Only a model upload is refused for its artifact's size.
		return e.tooLarge != nil && target == e.tooLarge
	case "conflict":
		return e.conflict != nil && target == e.conflict
	}
	return false
}

// call says how to send one request and read its answer.
type call struct {
	method, path string
	query        url.Values
	body         any // JSON-encoded when not nil
	// want is the status of success; out receives its JSON body.
	want int
	out  any
	// conflict is the sentinel a 409 stands for (see Error.Is); tooLarge
	// the one a 413 stands for, when not only the body's size.
	conflict func(e *Error) error
	tooLarge error
}

// do sends a request and returns the response of the wanted status (its
// body for the caller to read and close), or the error the server answered.
func (c *Client) do(ctx context.Context, k *call) (*http.Response, error) {
	var body io.Reader
	if k.body != nil {
		b, err := json.Marshal(k.body)
		if err != nil {
			return nil, fmt.Errorf("encoding the request to %s %s: %w", k.method, k.path, err)
		}
		body = bytes.NewReader(b)
	}
	return c.send(ctx, k, body, "application/json")
}

// send sends a request with body (nil: none) of contentType and returns
// the response of the wanted status, or the error the server answered.
func (c *Client) send(ctx context.Context, k *call, body io.Reader, contentType string) (*http.Response, error) {
	u := c.base + k.path
	if len(k.query) > 0 {
		u += "?" + k.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, k.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", k.method, k.path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", k.method, k.path, context.Cause(ctx))
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w at %s: %v; is `slipway serve` running?", ErrUnreachable, c.base, err)
	}
	if resp.StatusCode == k.want {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, c.errorOf(resp, k)
}

// errorOf reads an error answer.
func (c *Client) errorOf(resp *http.Response, k *call) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, server.MaxBodyBytes))
	if err != nil {
		return fmt.Errorf("reading the answer of %s %s from %s: %w", k.method, k.path, c.base, err)
	}
	var eb server.ErrorBody
	if err := json.Unmarshal(b, &eb); err != nil || eb.Error.Code == "" {
		// Not the API's error body: a proxy's page, another server.
		text := strings.TrimSpace(string(b))
		if len(text) > 200 {
			text = text[:200] + "…"
		}
		return &Error{Status: resp.StatusCode, Message: fmt.Sprintf("%s %s: %s answered %s: %s (is it a slipway server?)", k.method, k.path, c.base, resp.Status, text)}
	}
	e := &Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message, RequestID: eb.Error.RequestID,
		Problems: eb.Error.Problems, Plan: eb.Error.Plan}
	if e.Code == "conflict" && k.conflict != nil {
		e.conflict = k.conflict(e)
	}
	if e.Code == "too_large" {
		e.tooLarge = k.tooLarge
	}
	return e
}

// json sends a request and decodes its JSON answer into k.out.
func (c *Client) json(ctx context.Context, k *call) error {
	resp, err := c.do(ctx, k)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := decodeBody(resp, k.out); err != nil {
		return fmt.Errorf("reading the answer of %s %s from %s: %w", k.method, k.path, c.base, err)
	}
	return nil
}

// decodeBody decodes a JSON answer into out.
func decodeBody(resp *http.Response, out any) error {
	return json.NewDecoder(resp.Body).Decode(out)
}

// jobState is the conflict of the job calls.
func jobState(*Error) error { return registry.ErrJobState }

// pathRef is name:variant as a path segment.
func pathRef(id resource.ID) string {
	if id.Variant == "" {
		return url.PathEscape(id.Name)
	}
	return url.PathEscape(id.Name + ":" + id.Variant)
}

func resourcePath(id resource.ID) string {
	return "/v1/resources/" + url.PathEscape(string(id.Kind)) + "/" + pathRef(id)
}

func jobPath(id int64) string { return "/v1/jobs/" + strconv.FormatInt(id, 10) }

// refs writes IDs of one kind as the name:variant strings the API takes,
// refusing another kind as the platform does.
func refs(ids []resource.ID, kind resource.Kind) ([]string, error) {
	var out []string
	for _, id := range ids {
		if id.Kind != kind {
			return nil, fmt.Errorf("%w: %s is not a %s", platform.ErrInvalid, id, kind)
		}
		if id.Variant == "" {
			out = append(out, id.Name)
		} else {
			out = append(out, id.Name+":"+id.Variant)
		}
	}
	return out, nil
}

// Plan says what Apply would do. Definition problems are returned in the
// result and as a definition.Errors error, as the platform does.
func (c *Client) Plan(ctx context.Context, defs *definition.Files) (*platform.PlanResult, error) {
	if defs == nil {
		return nil, fmt.Errorf("%w: no definitions given", platform.ErrInvalid)
	}
	var res platform.PlanResult
	if err := c.json(ctx, &call{method: "POST", path: "/v1/plan", body: defs, want: http.StatusOK, out: &res}); err != nil {
		return nil, err
	}
	if len(res.Errors) > 0 {
		return &res, platform.DefinitionErrors(res.Errors)
	}
	return &res, nil
}

// Apply registers the definitions. Definition problems are a
// definition.Errors error; conflicts a *platform.ConflictError with the
// result's plan.
func (c *Client) Apply(ctx context.Context, defs *definition.Files) (*platform.ApplyResult, error) {
	if defs == nil {
		return nil, fmt.Errorf("%w: no definitions given", platform.ErrInvalid)
	}
	var res platform.ApplyResult
	err := c.json(ctx, &call{method: "POST", path: "/v1/apply", body: defs, want: http.StatusOK, out: &res,
		conflict: func(*Error) error { return platform.ErrConflict }})
	var e *Error
	switch {
	case err == nil:
		return &res, nil
	case errors.As(err, &e) && e.Code == "invalid_definitions" && len(e.Problems) > 0:
		return nil, platform.DefinitionErrors(e.Problems)
	case errors.As(err, &e) && e.Code == "conflict" && e.Plan != nil:
		return &platform.ApplyResult{Plan: e.Plan}, &platform.ConflictError{What: "nothing applied", Plan: e.Plan}
	}
	return nil, err
}

// queue sends a request that queues jobs and returns them.
func (c *Client) queue(ctx context.Context, path string, body any) ([]*registry.Job, error) {
	var out server.JobsBody
	if err := c.json(ctx, &call{method: "POST", path: path, body: body, want: http.StatusAccepted, out: &out}); err != nil {
		return nil, err
	}
	return server.JobsFromBody(out)
}

// Run queues builds of transformations and runs of batch predictions; the
// server works them unless Detach.
func (c *Client) Run(ctx context.Context, p *platform.RunParams) ([]*registry.Job, error) {
	names, err := refs(p.Transformations, resource.KindTransformation)
	if err != nil {
		return nil, err
	}
	bps, err := refs(p.BatchPredictions, resource.KindBatchPrediction)
	if err != nil {
		return nil, err
	}
	return c.queue(ctx, "/v1/run", server.RunRequest{Transformations: names, BatchPredictions: bps, Rebuild: p.Rebuild, Detach: p.Detach})
}

// Materialize queues the materialization of features; the server works
// them unless Detach.
func (c *Client) Materialize(ctx context.Context, p *platform.MaterializeParams) ([]*registry.Job, error) {
	names, err := refs(p.Features, resource.KindFeature)
	if err != nil {
		return nil, err
	}
	return c.queue(ctx, "/v1/materialize", server.MaterializeRequest{Features: names, Full: p.Full, Chunks: p.Chunks, Detach: p.Detach})
}

// Export queues a training set's export to a file on the server, read
// back with ExportFile once the last job has succeeded. p.Path must be
// empty: the server never writes where a client says.
func (c *Client) Export(ctx context.Context, p *platform.ExportParams) ([]*registry.Job, error) {
	if p.TrainingSet.Kind != resource.KindTrainingSet {
		return nil, fmt.Errorf("%w: %s is not a training set", platform.ErrInvalid, p.TrainingSet)
	}
	if p.Path != "" {
		return nil, fmt.Errorf("%w: export to %s: a server writes exports to files of its own; give no path and read the file with ExportFile", platform.ErrInvalid, p.Path)
	}
	return c.queue(ctx, "/v1/training-sets/"+pathRef(p.TrainingSet)+"/export", server.ExportRequest{Format: p.Format, Encoded: p.Encoded})
}

// ExportSchema reads the schema file of a succeeded encoded export job;
// call it before ExportFile, which removes both from the server.
func (c *Client) ExportSchema(ctx context.Context, job int64) ([]byte, error) {
	resp, err := c.do(ctx, &call{method: "GET", path: jobPath(job) + "/schema", want: http.StatusOK, conflict: jobState})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the schema of job %d from %s: %w", job, c.base, err)
	}
	return b, nil
}

// ExportFile streams the file of a succeeded export job from the server
// (fetched once: the server removes it). Close the reader.
func (c *Client) ExportFile(ctx context.Context, job int64) (io.ReadCloser, error) {
	resp, err := c.do(ctx, &call{method: "GET", path: jobPath(job) + "/output", want: http.StatusOK, conflict: jobState})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// List returns registered resources.
func (c *Client) List(ctx context.Context, p *registry.ListParams) ([]*resource.Resource, error) {
	path := "/v1/resources"
	if p.Kind != "" {
		path += "/" + url.PathEscape(string(p.Kind))
	}
	q := url.Values{}
	if !p.NotDeprecated {
		q.Set("deprecated", "true")
	}
	if p.Deleted {
		q.Set("deleted", "true")
	}
	if p.Name != "" {
		q.Set("name", p.Name)
	}
	var out struct {
		Resources []server.ResourceBody `json:"resources"`
	}
	if err := c.json(ctx, &call{method: "GET", path: path, query: q, want: http.StatusOK, out: &out}); err != nil {
		return nil, err
	}
	rs := make([]*resource.Resource, len(out.Resources))
	for i, b := range out.Resources {
		rs[i], _ = server.ResourceFromBody(b)
	}
	return rs, nil
}

// Show returns a resource (a deleted one as its tombstone) with what
// depends on it.
func (c *Client) Show(ctx context.Context, id resource.ID) (*platform.Shown, error) {
	var b server.ResourceBody
	if err := c.json(ctx, &call{method: "GET", path: resourcePath(id), want: http.StatusOK, out: &b}); err != nil {
		return nil, err
	}
	r, deps := server.ResourceFromBody(b)
	return &platform.Shown{Resource: r, Dependents: deps}, nil
}

// Lineage returns everything a resource depends on and everything that uses it.
func (c *Client) Lineage(ctx context.Context, id resource.ID) (*platform.Lineage, error) {
	var l platform.Lineage
	if err := c.json(ctx, &call{method: "GET", path: resourcePath(id) + "/lineage", want: http.StatusOK, out: &l}); err != nil {
		return nil, err
	}
	return &l, nil
}

// deprecateRequest is the body of POST .../deprecate.
type deprecateRequest struct {
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
	Undo   bool   `json:"undo,omitempty"`
}

// Deprecate marks a resource deprecated, or with Undo takes that back.
// A deprecation that names nobody (By "") is recorded by the server as
// by "api".
func (c *Client) Deprecate(ctx context.Context, p *registry.DeprecateParams) (*resource.Resource, error) {
	var b server.ResourceBody
	if err := c.json(ctx, &call{method: "POST", path: resourcePath(p.ID) + "/deprecate",
		body: deprecateRequest{By: p.By, Reason: p.Reason, Undo: p.Undo}, want: http.StatusOK, out: &b}); err != nil {
		return nil, err
	}
	r, _ := server.ResourceFromBody(b)
	return r, nil
}

// Delete deletes a resource and its data.
func (c *Client) Delete(ctx context.Context, p *registry.DeleteParams) (*coordinator.DeleteResult, error) {
	q := url.Values{}
	if p.By != "" {
		q.Set("by", p.By)
	}
	if p.Reason != "" {
		q.Set("reason", p.Reason)
	}
	var b server.DeleteBody
	err := c.json(ctx, &call{method: "DELETE", path: resourcePath(p.ID), query: q, want: http.StatusOK, out: &b,
		conflict: func(e *Error) error {
			// The message is the platform's: an ErrInUse error starts with
			// that sentinel's text.
			if strings.HasPrefix(e.Message, coordinator.ErrInUse.Error()) {
				return coordinator.ErrInUse
			}
			return registry.ErrHasDependents
		}})
	if err != nil {
		return nil, err
	}
	return server.DeleteFromBody(b), nil
}

// ListJobs returns jobs, newest first.
func (c *Client) ListJobs(ctx context.Context, p *registry.ListJobsParams) ([]*registry.Job, error) {
	q := url.Values{}
	for _, s := range p.Statuses {
		q.Add("status", string(s))
	}
	if p.Kind != "" {
		q.Set("kind", p.Kind)
	}
	if p.Resource != (resource.ID{}) {
		q.Set("resource", string(p.Resource.Kind)+"/"+p.Resource.Name+":"+p.Resource.Variant)
	}
	if p.KeyPrefix != "" {
		q.Set("key_prefix", p.KeyPrefix)
	}
	if p.BeforeID > 0 {
		q.Set("before", strconv.FormatInt(p.BeforeID, 10))
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	var out server.JobsBody
	if err := c.json(ctx, &call{method: "GET", path: "/v1/jobs", query: q, want: http.StatusOK, out: &out}); err != nil {
		return nil, err
	}
	return server.JobsFromBody(out)
}

// GetJob returns one job.
func (c *Client) GetJob(ctx context.Context, id int64) (*registry.Job, error) {
	var b server.JobBody
	if err := c.json(ctx, &call{method: "GET", path: jobPath(id), want: http.StatusOK, out: &b}); err != nil {
		return nil, err
	}
	return server.JobFromBody(b)
}

// JobLogs returns a page of a job's log.
func (c *Client) JobLogs(ctx context.Context, p *registry.JobLogsParams) ([]registry.JobLogLine, error) {
	q := url.Values{}
	if p.After > 0 {
		q.Set("after", strconv.FormatInt(p.After, 10))
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	var out server.JobLogsBody
	if err := c.json(ctx, &call{method: "GET", path: jobPath(p.ID) + "/logs", query: q, want: http.StatusOK, out: &out}); err != nil {
		return nil, err
	}
	lines := make([]registry.JobLogLine, len(out.Lines))
	for i, b := range out.Lines {
		l, err := server.JobLogLineFromBody(b)
		if err != nil {
			return nil, err
		}
		lines[i] = l
	}
	return lines, nil
}

// RetryJob queues a failed or cancelled job again with the jobs it ended;
// the server works them unless Detach.
func (c *Client) RetryJob(ctx context.Context, p *platform.RetryJobParams) ([]*registry.Job, error) {
	var out server.JobsBody
	if err := c.json(ctx, &call{method: "POST", path: jobPath(p.ID) + "/retry", body: server.RetryRequest{Detach: p.Detach},
		want: http.StatusAccepted, out: &out, conflict: jobState}); err != nil {
		return nil, err
	}
	return server.JobsFromBody(out)
}

// CancelJob cancels a job.
func (c *Client) CancelJob(ctx context.Context, id int64) (*registry.Job, error) {
	var b server.JobBody
	if err := c.json(ctx, &call{method: "POST", path: jobPath(id) + "/cancel", want: http.StatusOK, out: &b, conflict: jobState}); err != nil {
		return nil, err
	}
	return server.JobFromBody(b)
}

// Doctor checks every provider the server is configured with.
func (c *Client) Doctor(ctx context.Context) (*platform.DoctorReport, error) {
	var rep platform.DoctorReport
	if err := c.json(ctx, &call{method: "GET", path: "/v1/doctor", want: http.StatusOK, out: &rep}); err != nil {
		return nil, err
	}
	return &rep, nil
}
