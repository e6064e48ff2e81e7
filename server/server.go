// Package server is Slipway's HTTP API. It is the only place where errors
// become status codes (see statusOf). The API is documented in docs/openapi.yaml.
package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/metrics"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/serving"
)

// Config configures the HTTP handler (New) and, with the timeouts,
// the server that runs it (Serve).
type Config struct {
	// Platform runs every operation but serving; the handlers only decode
	// requests and encode its answers.
	Platform *platform.Platform
	// Serving answers POST /v1/online-features; its registry and online
	// store are the platform's.
	Serving *serving.Service
	// Endpoints answers POST /v1/endpoints/{name}/predict (the live
	// prediction endpoints) and reports to GET /readyz the models it cannot
	// serve; its Features is Serving.
	Endpoints *serving.Endpoints
	// CORS lists the origins whose web pages may call the browser routes
	// (predict, online features, feedback); see cors.go.
	CORS config.CORS
	// Metrics counts every request and serves GET /metrics (metrics.go);
	// nil turns both off (slipway.yaml's metrics: enabled: false).
	Metrics *metrics.Metrics
	// Logger takes one line per request (debug for /healthz and /readyz,
	// info otherwise) and the details of 500s and 503s; nil discards them.
	Logger *slog.Logger
	// ServingListener, when set, is the serving port: Serve also answers
	// the serving routes (online features, predict, /healthz, /readyz)
	// there, on fasthttp, with the same answers (servingport.go).
	ServingListener net.Listener
	// Timeouts of Serve; zero means the Default* constant (serve.go).
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
}

// New returns the API handler. Every request gets a request id (the
// client's X-Request-Id when sane, else a new one) echoed in the
// X-Request-Id response header and in error bodies, and one log line;
// see middleware.go.
func New(cfg Config) http.Handler {
	return newHandler(cfg)
}

func newHandler(cfg Config) *handler {
	s := &server{Config: cfg}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metricsHandler())
	mux.HandleFunc("POST /v1/online-features", s.onlineFeatures)
	mux.HandleFunc("POST /v1/endpoints/{name}/predict", s.predict)
	mux.HandleFunc("POST /v1/feedback", s.recordFeedback)
	mux.HandleFunc("GET /v1/feedback/status", s.feedbackStatus)
	mux.HandleFunc("POST /v1/plan", s.plan)
	mux.HandleFunc("POST /v1/apply", s.apply)
	mux.HandleFunc("POST /v1/run", s.run)
	mux.HandleFunc("POST /v1/materialize", s.materialize)
	mux.HandleFunc("POST /v1/training-sets/{ref}/export", s.export)
	mux.HandleFunc("GET /v1/resources", s.listResources)
	mux.HandleFunc("GET /v1/resources/{kind}", s.listResources)
	mux.HandleFunc("GET /v1/resources/{kind}/{ref}", s.getResource)
	mux.HandleFunc("GET /v1/resources/{kind}/{ref}/lineage", s.lineage)
	mux.HandleFunc("POST /v1/resources/{kind}/{ref}/deprecate", s.deprecateResource)
	mux.HandleFunc("DELETE /v1/resources/{kind}/{ref}", s.deleteResource)
	mux.HandleFunc("GET /v1/jobs", s.listJobs)
	mux.HandleFunc("GET /v1/jobs/{id}", s.getJob)
	mux.HandleFunc("GET /v1/jobs/{id}/logs", s.jobLogs)
	mux.HandleFunc("GET /v1/jobs/{id}/output", s.jobOutput)
	mux.HandleFunc("POST /v1/jobs/{id}/cancel", s.cancelJob)
	mux.HandleFunc("POST /v1/jobs/{id}/retry", s.retryJob)
	mux.HandleFunc("GET /v1/jobs/{id}/schema", s.exportSchema)
	mux.HandleFunc("GET /v1/models", s.listModels)
	mux.HandleFunc("GET /v1/models/{model}", s.showModel)
	mux.HandleFunc("POST /v1/models/{model}/train", s.trainModel)
	mux.HandleFunc("POST /v1/models/{model}/versions", s.registerModel) // registerModelRoute
	mux.HandleFunc("GET /v1/models/{model}/versions/{version}", s.getModelVersion)
	mux.HandleFunc("GET /v1/models/{model}/versions/{version}/artifact", s.modelArtifact)
	mux.HandleFunc("GET /v1/models/{model}/aliases/{alias}", s.getModelVersion)
	mux.HandleFunc("GET /v1/models/{model}/versions/{version}/profile", s.modelProfile)
	mux.HandleFunc("GET /v1/models/{model}/aliases/{alias}/profile", s.modelProfile)
	mux.HandleFunc("POST /v1/models/{model}/aliases/{alias}", s.promoteModel)
	mux.HandleFunc("POST /v1/models/{model}/aliases/{alias}/rollback", s.rollbackModel)
	mux.HandleFunc("GET /v1/models/{model}/loop", s.loopStatus)
	mux.HandleFunc("POST /v1/models/{model}/skew", s.modelSkew)
	mux.HandleFunc("GET /v1/experiments/{name}/report", s.experimentReport)
	mux.HandleFunc("POST /v1/experiments/{name}/conclude", s.concludeExperiment)
	mux.HandleFunc("POST /v1/experiments/{name}/stop", s.stopExperiment)
	mux.HandleFunc("POST /v1/monitors/{name}/run", s.runMonitor)
	mux.HandleFunc("GET /v1/monitors/{name}/report", s.monitorReport)
	mux.HandleFunc("GET /v1/freshness", s.freshness)
	mux.HandleFunc("GET /v1/doctor", s.doctor)
	// The Open Inference Protocol v2 over the endpoints (oip.go).
	mux.HandleFunc("GET /v2", s.oipServerMetadata)
	mux.HandleFunc("GET /v2/health/live", s.oipLive)
	mux.HandleFunc("GET /v2/health/ready", s.oipReady)
	mux.HandleFunc("GET /v2/models/{name}", s.oipModelMetadata)
	mux.HandleFunc("GET /v2/models/{name}/ready", s.oipModelReady)
	mux.HandleFunc("POST /v2/models/{name}/infer", s.oipInfer)
	mux.HandleFunc("GET /v2/models/{name}/versions/{version}", s.oipModelMetadata)
	mux.HandleFunc("GET /v2/models/{name}/versions/{version}/ready", s.oipModelReady)
	mux.HandleFunc("POST /v2/models/{name}/versions/{version}/infer", s.oipInfer)
	mux.HandleFunc("/", s.unrouted(mux, func(r *http.Request) error {
		return fmt.Errorf("%w: no endpoint %s %s; see docs/openapi.yaml", errNoRoute, r.Method, r.URL.Path)
	}))
	return &handler{s: s, mux: mux}
}

type server struct{ Config }

// healthz answers GET /healthz: the process is up.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// unrouted is the catch-all route of mux. Go's ServeMux would answer a
// wrong method with 405 itself, but this catch-all matches every method
// first: it tells the two cases apart, and noRoute says what a path no
// route has is.
func (s *server) unrouted(mux *http.ServeMux, noRoute func(r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if allow := allowed(mux, r); len(allow) > 0 {
			methods := strings.Join(allow, ", ")
			w.Header().Set("Allow", methods)
			s.fail(w, r, fmt.Errorf("%w: %s %s: this path takes %s; see docs/openapi.yaml", errMethod, r.Method, r.URL.Path, methods))
			return
		}
		s.fail(w, r, noRoute(r))
	}
}

var (
	errNoRoute  = errors.New("not found")
	errMethod   = errors.New("method not allowed")
	errTooLarge = errors.New("request body too large")
)

// statusOf decides the HTTP status of an error; storage code never knows them.
func statusOf(err error) (int, string) {
	switch {
	case errors.Is(err, errTooLarge), errors.Is(err, registry.ErrArtifactTooLarge), errors.Is(err, errHeadersTooLarge):
		status := http.StatusRequestEntityTooLarge
		if errors.Is(err, errHeadersTooLarge) { // the serving port's (servingport.go)
			status = http.StatusRequestHeaderFieldsTooLarge
		}
		return status, "too_large"
	case errors.Is(err, serving.ErrInvalid), errors.Is(err, platform.ErrInvalid), errors.Is(err, model.ErrInvalidEncoding):
		return http.StatusBadRequest, "invalid_request"
	case isDefinitionError(err):
		return http.StatusBadRequest, "invalid_definitions"
	case errors.Is(err, serving.ErrUnknownFeature):
		return http.StatusNotFound, "unknown_feature"
	case errors.Is(err, serving.ErrUnknownEndpoint):
		return http.StatusNotFound, "unknown_endpoint"
	case errors.Is(err, serving.ErrModelUnavailable):
		return http.StatusServiceUnavailable, "model_unavailable"
	case errors.Is(err, model.ErrRemoteTimeout):
		return http.StatusGatewayTimeout, "model_timeout"
	case errors.Is(err, model.ErrRemote):
		return http.StatusBadGateway, "model_error"
	case errors.Is(err, registry.ErrDeleted):
		return http.StatusGone, "deleted"
	case errors.Is(err, registry.ErrNotFound), errors.Is(err, errNoRoute):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed, "method_not_allowed"
	case errors.Is(err, errCrossOrigin):
		return http.StatusForbidden, "origin_not_allowed"
	case errors.Is(err, registry.ErrJobState), errors.Is(err, registry.ErrHasDependents), errors.Is(err, coordinator.ErrInUse),
		errors.Is(err, platform.ErrConflict), errors.Is(err, registry.ErrAliasMoved), errors.Is(err, platform.ErrEnded):
		return http.StatusConflict, "conflict"
	case errors.Is(err, serving.ErrUnavailable):
		return http.StatusServiceUnavailable, "unavailable"
	}
	return http.StatusInternalServerError, "internal"
}

// isDefinitionError says whether err is the definitions' problems
// (definition.Errors or a *definition.Error).
func isDefinitionError(err error) bool {
	var es definition.Errors
	var e *definition.Error
	return errors.As(err, &es) || errors.As(err, &e)
}

// ErrorBody is every error answer: {"error": {...}}. The client package
// reads it back into a *client.Error.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong. Message is the platform's error text
// unchanged for a 4xx (the CLI prints the same text locally and through a
// server); a 500 or 503 says only where to find the details in the log.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// RequestID finds the request's lines in the server log.
	RequestID string `json:"request_id"`
	// Problems are the definition problems of an invalid_definitions error.
	Problems []platform.Problem `json:"problems,omitempty"`
	// Plan is the refused plan of a conflict from POST /v1/apply.
	Plan *platform.PlanResult `json:"plan,omitempty"`
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := statusOf(err)
	id := RequestID(r.Context())
	var body ErrorBody
	body.Error.Code, body.Error.Message, body.Error.RequestID = code, err.Error(), id
	var conflict *platform.ConflictError
	switch {
	case code == "invalid_definitions":
		body.Error.Problems = platform.ProblemsOf(err)
	case errors.As(err, &conflict):
		body.Error.Plan = conflict.Plan
	}
	switch status {
	case http.StatusInternalServerError:
		// Internal text (SQL, file paths, driver errors) goes to the log
		// only; the client gets the request id to find it there.
		s.Logger.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("request_id", id), slog.Any("err", err))
		body.Error.Message = "internal error; the server log has the details under request id " + id
	case http.StatusServiceUnavailable:
		if code == "model_unavailable" {
			// It says which model, why and what to do; no store's details.
			s.Logger.LogAttrs(r.Context(), slog.LevelWarn, "model unavailable", slog.String("method", r.Method),
				slog.String("path", r.URL.Path), slog.String("request_id", id), slog.Any("err", err))
			break
		}
		// The details (addresses, driver errors) go to the log, not to clients.
		s.Logger.LogAttrs(r.Context(), slog.LevelError, "store unavailable", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("request_id", id), slog.Any("err", err))
		body.Error.Message = "a store behind the API is unavailable; retry later (the server log has the details under request id " + id + ")"
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"encoding the response"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// onlineFeaturesRequest is the body of POST /v1/online-features.
type onlineFeaturesRequest struct {
	Features []string          `json:"features"`
	Entities []json.RawMessage `json:"entities"`
}

func (s *server) onlineFeatures(w http.ResponseWriter, r *http.Request) {
	// One pooled buffer holds the body, then the answer (fastjson.go).
	buf := getBuf()
	defer putBuf(buf)
	body, rerr := readBody(r.Body, *buf, r.ContentLength)
	*buf = body
	features, entities, ok := []string(nil), []string(nil), false
	if rerr == nil {
		features, entities, ok = decodeOnlineFeaturesFast(body)
	}
	if !ok {
		var err error
		if features, entities, err = decodeOnlineFeatures(rereader(body, rerr)); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	resp, err := s.Serving.OnlineFeatures(r.Context(), &serving.Request{Features: features, Entities: entities})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	*buf = appendOnlineFeatures(body[:0], resp)
	resp.Release() // the answer is in buf: nothing of resp is used after this
	writeJSONBytes(w, http.StatusOK, *buf)
}

// decodeOnlineFeatures is the strict path of decoding an online features
// request, the one whose errors clients see: decodeOnlineFeaturesFast
// declines what it does not decode exactly as this does.
func decodeOnlineFeatures(body io.Reader) (features, entities []string, err error) {
	var req onlineFeaturesRequest
	if err := decodeReader(body, &req); err != nil {
		return nil, nil, err
	}
	entities = make([]string, len(req.Entities))
	for i, raw := range req.Entities {
		key, err := entityKey(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: entities[%d]: %v", serving.ErrInvalid, i, err)
		}
		entities[i] = key
	}
	return req.Features, entities, nil
}

// entityKey accepts a JSON string or integer as an entity key.
func entityKey(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&n); err == nil {
		if _, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
			return n.String(), nil
		}
	}
	return "", fmt.Errorf("entity keys are strings or integers, got %s", raw)
}

// tooLarge is the error of a body over MaxBodyBytes.
func tooLarge() error {
	return fmt.Errorf("%w: the body is larger than %s; split the request", errTooLarge, bodyLimit)
}

// readErr says why reading a body failed, when it is the request's fault
// (too large, too slow); nil otherwise.
func readErr(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return tooLarge()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: reading the body timed out; send it within the server's read timeout", serving.ErrInvalid)
	}
	return nil
}

// decode reads a JSON body strictly: unknown fields and trailing data are
// errors. The middleware bounds the body (MaxBodyBytes).
func decode(r *http.Request, v any) error { return decodeReader(r.Body, v) }

func decodeReader(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if rerr := readErr(err); rerr != nil {
			return rerr
		}
		switch {
		case errors.Is(err, io.EOF):
			return fmt.Errorf("%w: empty body; send a JSON object", serving.ErrInvalid)
		}
		return fmt.Errorf("%w: malformed JSON body: %s", serving.ErrInvalid, jsonProblem(err))
	}
	// dec.More would miss a stray '}' or ']' after the object; only EOF may follow.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if rerr := readErr(err); rerr != nil {
			return rerr
		}
		return fmt.Errorf("%w: malformed JSON body: data after the object", serving.ErrInvalid)
	}
	return nil
}

// jsonProblem says what is wrong with a JSON body in the words of the
// API, not of Go: which field has the wrong kind of value, which field is
// unknown, or where the JSON stops being JSON.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		where := "the body"
		if typeErr.Field != "" {
			where = fmt.Sprintf("field %q", typeErr.Field)
		}
		return fmt.Sprintf("%s is a JSON %s; it must be %s (see the HTTP API reference)", where, typeErr.Value, jsonKind(typeErr.Type))
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("not valid JSON at byte %d: %s", syntaxErr.Offset, strings.TrimPrefix(syntaxErr.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early: an object, array or string is not closed"
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return "unknown field " + name + "; check its spelling against the HTTP API reference"
	}
	return msg
}

// jsonKind is the JSON that decodes into a value of type t.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another kind of value"
	}
	if t == reflect.TypeFor[time.Time]() {
		return "a string (an RFC 3339 time)"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another kind of value"
}

// ResourceBody is a resource as the API shows it: definition plus state.
// The CLI's --json prints the same shape.
type ResourceBody struct {
	*resource.Resource
	CreatedAt  time.Time           `json:"created_at"`
	UpdatedAt  time.Time           `json:"updated_at"`
	Status     resource.Status     `json:"status"`
	Error      string              `json:"error,omitempty"`
	Schema     []resource.Column   `json:"schema,omitempty"`
	Watermark  time.Time           `json:"watermark,omitzero"`
	Deprecated *resource.Mark      `json:"deprecated,omitempty"`
	Deleted    *resource.Mark      `json:"deleted,omitempty"`
	SourceFile *resource.FileState `json:"source_file,omitempty"`
	Dir        string              `json:"dir,omitempty"`
	Dependents []resource.ID       `json:"dependents,omitempty"`
}

// NewResourceBody shows r with the resources that depend on it (nil in lists).
func NewResourceBody(r *resource.Resource, dependents []resource.ID) ResourceBody {
	return ResourceBody{Resource: r, CreatedAt: r.State.CreatedAt, UpdatedAt: r.State.UpdatedAt, Status: r.State.Status, Error: r.State.Error, Schema: r.State.Schema,
		Watermark: r.State.Watermark, Deprecated: r.State.Deprecated, Deleted: r.State.Deleted, SourceFile: r.State.SourceFile, Dir: r.State.Dir, Dependents: dependents}
}

// UnmarshalJSON reads the body's resource (with resource.Resource's
// UnmarshalJSON, which would otherwise, promoted from the embedded field,
// read the whole body into the resource alone), its state and its dependents.
func (b *ResourceBody) UnmarshalJSON(data []byte) error {
	var r resource.Resource
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	// The state fields have the names resource.State gives them.
	var st resource.State
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	var deps struct {
		Dependents []resource.ID `json:"dependents"`
	}
	if err := json.Unmarshal(data, &deps); err != nil {
		return err
	}
	r.State = st
	*b = NewResourceBody(&r, deps.Dependents)
	return nil
}

// ResourceFromBody is NewResourceBody's inverse: the resource with its
// State filled, and its dependents.
func ResourceFromBody(b ResourceBody) (*resource.Resource, []resource.ID) {
	r := &resource.Resource{}
	if b.Resource != nil {
		c := *b.Resource
		r = &c
	}
	r.State = resource.State{CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt, Status: b.Status, Error: b.Error, Schema: b.Schema,
		Watermark: b.Watermark, Deprecated: b.Deprecated, Deleted: b.Deleted, SourceFile: b.SourceFile, Dir: b.Dir}
	return r, b.Dependents
}

func pathKind(r *http.Request) (resource.Kind, error) {
	k, err := resource.ParseKind(r.PathValue("kind"))
	if err != nil {
		return "", fmt.Errorf("%w: %v", serving.ErrInvalid, err)
	}
	return k, nil
}

// parseListResources reads the query of GET /v1/resources/{kind}: all=true
// lists deprecated and deleted resources too; deprecated and deleted say
// so for each on its own; name keeps the variants of one name.
func parseListResources(kind resource.Kind, q url.Values) (*registry.ListParams, error) {
	if err := checkQuery(q, "all", "deprecated", "deleted", "name"); err != nil {
		return nil, err
	}
	flags := map[string]bool{}
	for _, name := range []string{"all", "deprecated", "deleted"} {
		b, err := queryBoolValue(q, name)
		if err != nil {
			return nil, err
		}
		flags[name] = b
	}
	name, err := queryOne(q, "name")
	if err != nil {
		return nil, err
	}
	if name != "" {
		if err := resource.ValidateName(name); err != nil {
			return nil, invalid("name %q: %v", name, err)
		}
	}
	return &registry.ListParams{Kind: kind, Name: name,
		NotDeprecated: !flags["all"] && !flags["deprecated"], Deleted: flags["all"] || flags["deleted"]}, nil
}

// listResources answers GET /v1/resources/{kind}, and GET /v1/resources
// with every kind.
func (s *server) listResources(w http.ResponseWriter, r *http.Request) {
	var kind resource.Kind
	if r.PathValue("kind") != "" || r.Pattern != "GET /v1/resources" {
		k, err := pathKind(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		kind = k
	}
	p, err := parseListResources(kind, r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rs, err := s.Platform.List(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]ResourceBody, len(rs))
	for i, x := range rs {
		out[i] = NewResourceBody(x, nil)
	}
	writeJSON(w, http.StatusOK, map[string]any{"resources": out})
}

func (s *server) getResource(w http.ResponseWriter, r *http.Request) {
	pathOp(s, w, r, pathID, s.Platform.Show, func(sh *platform.Shown) any { return NewResourceBody(sh.Resource, sh.Dependents) })
}

// pathOp answers a request whose only input is its path: parse reads the
// path (query parameters are refused), op does the operation, and body
// shows its result, written as JSON with 200.
func pathOp[K, T any](s *server, w http.ResponseWriter, r *http.Request, parse func(*http.Request) (K, error), op func(context.Context, K) (T, error), body func(T) any) {
	key, err := parse(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := op(r.Context(), key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, body(res))
}
