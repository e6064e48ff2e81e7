package serving

// Live predictions: an endpoint serves the version one alias of a model
// points at. Endpoints resolves a request's endpoint to that version,
// reads the entities' features in one online-store round trip, encodes
// them with the version's stored encoding and scores them with
// model.Scorer, the one path from feature values to predictions.
// docs/design/serving-models.md explains the cache, the refresh and the
// swap rule.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// Prediction errors callers map to responses (with ErrInvalid for a
// malformed request, ErrUnknownFeature and ErrUnavailable from the feature
// read).
var (
	// ErrUnknownEndpoint marks a request for an endpoint that is not
	// registered (or was deleted).
	ErrUnknownEndpoint = errors.New("unknown endpoint")
	// ErrModelUnavailable marks an endpoint with no version to serve: its
	// alias points at no version, or at one that cannot be loaded and no
	// earlier version was loaded.
	ErrModelUnavailable = errors.New("model unavailable")
)

// DefaultRefresh is Endpoints.Refresh's default.
const DefaultRefresh = 5 * time.Second

// Endpoints answers prediction requests for the endpoints in the registry.
// It is safe for concurrent use, and meant to live as long as the process:
// it caches each endpoint's definition and each served model version.
//
// The version an alias points at is read again at most every Refresh; when
// it changed, the new version is loaded and swapped in for the requests that
// follow. A version that cannot be loaded is never swapped in: the previous
// one goes on serving, and the failure is reported by Ready and logged.
type Endpoints struct {
	// Features reads the entities' features (its Registry, Online store and
	// Now are the endpoints' too).
	Features *Service
	// Refresh is how long an endpoint's definition and the version its
	// alias points at are used before the registry is asked again
	// (DefaultRefresh when zero): an alias move is served within it.
	Refresh time.Duration
	// Logger records version swaps and versions that fail to load (none
	// when nil).
	Logger *slog.Logger
	// Log, when set, receives every answered Predict call before Predict
	// returns (package predictionlog's Logger.Log): it must not block.
	Log func(*Answered)

	mu          sync.RWMutex // guards the three maps
	endpoints   map[resource.Ref]cachedEndpoint
	experiments map[resource.Ref]cachedExperiment
	models      map[modelKey]*modelEntry
}

// PredictRequest asks an endpoint for predictions for a batch of entities.
type PredictRequest struct {
	// Endpoint is the endpoint's name, or name:variant.
	Endpoint string
	// Entities are entity keys of the entity the model's features describe.
	Entities []string
	// Overrides are request-time feature values: empty, or one map per
	// entity, aligned with Entities (a nil map: none for that entity). Each
	// maps a feature of the served version, by its name in the encoding
	// (the training set's column: name, or name__variant) or by its
	// reference (name:variant), to the value to use instead of the stored
	// one, or when none is stored. A value must have the feature's type,
	// with these conversions: an int64 for a float64 feature, a float64
	// holding a whole number for an int64 feature, an RFC 3339 string for a
	// timestamp feature. A null value is a missing value.
	Overrides []map[string]value.Value
}

// PredictResponse holds one prediction per requested entity, in request
// order. Outside an experiment one version, the one the endpoint's alias
// points at, makes them all. While an experiment runs on the endpoint,
// each entity's arm's version makes its prediction, and each prediction
// names its version, experiment and arm.
type PredictResponse struct {
	// Endpoint is the endpoint (name:variant) that answered.
	Endpoint string `json:"endpoint"`
	Model    string `json:"model"`
	Alias    string `json:"alias"`
	// Version is the version that made the predictions, or 0 when versions
	// of several experiment arms made them (each Prediction says which).
	Version int `json:"version"`
	// Task is the model's task (model.TaskBinaryClassification, …).
	Task string `json:"task"`
	// Features are the version's input features, by their names in its
	// encoding, in order: the names Missing and OutsideMaxAge use. When
	// several versions answered, the features of each, in the order first seen.
	Features    []string     `json:"features"`
	Predictions []Prediction `json:"predictions"`
}

// Prediction is one entity's prediction. Which outputs are set depends on
// the task: Probability and Class for binary classification, Value for
// regression, Probabilities and Class for multiclass.
type Prediction struct {
	// ID identifies this prediction (a UUIDv7: unique, and ordered by time
	// to the millisecond), for logs and for feedback joined to it later.
	ID      string `json:"id"`
	Entity  string `json:"entity"`
	Model   string `json:"model"`
	Version int    `json:"version"`
	// Experiment and Arm name the experiment arm the entity is assigned to,
	// when an experiment runs on the endpoint (resource.ExperimentSpec.Assign).
	Experiment string `json:"experiment,omitempty"`
	Arm        string `json:"arm,omitempty"`
	// Probability is the probability of class 1 (binary classification).
	Probability *float64 `json:"probability,omitempty"`
	// Class is 1 when Probability > 0.5, else 0 (binary classification,
	// as accuracy counts it), or the class of the largest probability, the
	// first one on ties (multiclass).
	Class *int `json:"class,omitempty"`
	// Value is the predicted value (regression).
	Value *float64 `json:"value,omitempty"`
	// Probabilities are the classes' probabilities, class 0 first (multiclass).
	Probabilities []float64 `json:"probabilities,omitempty"`
	// Missing names the features the model read as missing: not in the
	// online store, stored null, or overridden with null.
	Missing []string `json:"missing"`
	// OutsideMaxAge names the features whose stored value is older than the
	// feature's max age (read as missing too).
	OutsideMaxAge []string `json:"outside_max_age"`
}

// ModelProblem is a model version an endpoint cannot serve (yet).
type ModelProblem struct {
	Model string `json:"model"`
	Alias string `json:"alias"`
	// Version is the version the alias points at that failed to load (0
	// when the alias could not be read, or points at no version).
	Version int `json:"version,omitempty"`
	// Serving is the version still served instead (0: none, so requests
	// fail with ErrModelUnavailable).
	Serving int `json:"serving,omitempty"`
	// Error says what is wrong.
	Error string `json:"error"`
	// Since is when the problem was first seen.
	Since time.Time `json:"since"`
}

// EndpointInfo describes what an endpoint serves now.
type EndpointInfo struct {
	// Endpoint is the endpoint's name:variant.
	Endpoint string
	Model    string
	Alias    string
	// Version is the version served (0: none; Problem says why).
	Version int
	Task    string
	// Features are the served version's input features (names in its
	// encoding, and types), in order: what overrides name and must match.
	Features []model.Feature
	// Outputs name the model's outputs (model.Scorer.OutputNames).
	Outputs []string
	// Problem is set when the alias's current version cannot be served.
	Problem *ModelProblem
}

// cachedEndpoint is an endpoint's definition and until when it is used
// without asking the registry.
type cachedEndpoint struct {
	def   *resource.Resource
	until time.Time
}

// cachedExperiment is the arms of the experiment running on an endpoint
// (nil: none) and until when they are used without asking the registry.
type cachedExperiment struct {
	arms  []armServed
	until time.Time
}

// modelKey is what a served version is read through: a model's alias, or
// (an experiment arm's fixed version) a version number.
type modelKey struct {
	model, alias string
	version      int
}

func (k modelKey) String() string {
	if k.version > 0 {
		return fmt.Sprintf("%s@%d", k.model, k.version)
	}
	return k.model + "@" + k.alias
}

// modelEntry is what one alias of a model serves. Requests read state
// without locking; mu is held by the one request that reads the alias
// again and loads a new version, while the others go on with the state
// they read.
type modelEntry struct {
	key   modelKey
	mu    sync.Mutex
	state atomic.Pointer[modelState]
}

// modelState is immutable once stored.
type modelState struct {
	served  *servedVersion // nil until a version loads
	checked time.Time      // when the alias was last read
	problem *ModelProblem
	// bad is a version that failed to load for good (its artifact,
	// encoding or features are wrong), and badErr why: versions never
	// change, so it is not read again while the alias points at it.
	bad    int
	badErr string
}

// servedVersion is a loaded model version and the online features it reads.
type servedVersion struct {
	model, alias string
	version      int
	scorer       *model.Scorer
	features     []model.Feature // the encoding's, in order
	refs         []string        // each feature's reference (name:variant), aligned with features
	index        map[string]int  // feature name and reference → position
}

// unloadableError is why a version can never be served as stored (as
// opposed to a registry that did not answer).
type unloadableError struct{ err error }

func (e *unloadableError) Error() string { return e.err.Error() }
func (e *unloadableError) Unwrap() error { return e.err }

func unloadable(format string, args ...any) error {
	return &unloadableError{fmt.Errorf(format, args...)}
}

// Predict answers a prediction request.
func (e *Endpoints) Predict(ctx context.Context, req *PredictRequest) (*PredictResponse, error) {
	if len(req.Entities) == 0 {
		return nil, fmt.Errorf("%w: entities is empty; list at least one entity key", ErrInvalid)
	}
	for i, k := range req.Entities {
		if k == "" {
			return nil, fmt.Errorf("%w: entities[%d] is empty", ErrInvalid, i)
		}
	}
	if len(req.Overrides) > 0 && len(req.Overrides) != len(req.Entities) {
		return nil, fmt.Errorf("%w: %d overrides for %d entities; give one (possibly empty) set of feature values per entity, in the order of entities, or none",
			ErrInvalid, len(req.Overrides), len(req.Entities))
	}
	def, err := e.endpoint(ctx, req.Endpoint)
	if err != nil {
		return nil, err
	}
	arms := e.arms(ctx, def)
	if arms == nil {
		sv, err := e.version(ctx, def, aliasKey(def))
		if err != nil {
			return nil, err
		}
		return e.predict(ctx, def, sv, nil, req.Entities, req.Overrides, nil)
	}
	// Each arm's version answers for the entities assigned to it.
	groups := make([][]int, len(arms))
	for i, key := range req.Entities {
		a := arms[0].exp.Experiment.Assign(arms[0].exp.Name, key)
		groups[a] = append(groups[a], i)
	}
	resp := &PredictResponse{Endpoint: def.Ref().String(), Model: def.Endpoint.Model, Alias: def.Endpoint.Alias,
		Predictions: make([]Prediction, len(req.Entities))}
	for a, rows := range groups {
		if len(rows) == 0 {
			continue
		}
		entities := make([]string, len(rows))
		var overrides []map[string]value.Value
		if len(req.Overrides) > 0 {
			overrides = make([]map[string]value.Value, len(rows))
		}
		for k, i := range rows {
			entities[k] = req.Entities[i]
			if overrides != nil {
				overrides[k] = req.Overrides[i]
			}
		}
		arm := &arms[a]
		sv, err := e.version(ctx, def, arm.key)
		if err != nil {
			// An arm that cannot be served does not take the endpoint
			// down: its entities are answered by the endpoint's alias,
			// outside the experiment (the report's sample-ratio check
			// shows the missing exposures; Ready says why).
			e.logger().Warn("experiment arm not served; its entities get the endpoint's alias", "experiment", arm.exp.Ref(), "arm", arm.name, "error", err)
			arm = nil
			if sv, err = e.version(ctx, def, aliasKey(def)); err != nil {
				return nil, err
			}
		}
		part, err := e.predict(ctx, def, sv, arm, entities, overrides, rows)
		if err != nil {
			return nil, err
		}
		for k, i := range rows {
			resp.Predictions[i] = part.Predictions[k]
		}
		if resp.Task == "" {
			resp.Task, resp.Version = part.Task, part.Version
		} else if resp.Version != part.Version {
			resp.Version = 0
		}
		for _, f := range part.Features {
			if !slices.Contains(resp.Features, f) {
				resp.Features = append(resp.Features, f)
			}
		}
	}
	return resp, nil
}

// predict answers for entities with one version (sv), as one arm of an
// experiment or (arm nil) outside any, and hands the answer to Log.
// pos gives each entity's position in the request (nil: as in entities),
// for errors.
func (e *Endpoints) predict(ctx context.Context, def *resource.Resource, sv *servedVersion, arm *armServed, entities []string, overrides []map[string]value.Value, pos []int) (*PredictResponse, error) {
	where := func(i int) string {
		at := i
		if pos != nil {
			at = pos[i]
		}
		return fmt.Sprintf("entity %s (number %d in the request)", entities[i], at)
	}
	n, nf := len(entities), len(sv.features)
	if n*nf > MaxBatch {
		return nil, fmt.Errorf("%w: %d entities × %d features of model %s is more than %d values; split the request", ErrInvalid, n, nf, sv.model, MaxBatch)
	}
	// Rows start with the overrides, checked and converted; the online
	// store is read for the features some entity does not override.
	rows := make([][]value.Value, n)
	given := make([][]bool, n)
	overridden := make([]int, nf) // how many entities override each feature
	for i := range rows {
		rows[i] = make([]value.Value, nf)
		given[i] = make([]bool, nf)
		if len(overrides) == 0 {
			continue
		}
		for name, v := range overrides[i] {
			j, ok := sv.index[name]
			if !ok {
				return nil, fmt.Errorf("%w: %s: %q is not a feature of model %s version %d; its features are %s",
					ErrInvalid, where(i), name, sv.model, sv.version, featureNames(sv.features))
			}
			if given[i][j] {
				return nil, fmt.Errorf("%w: %s: features: feature %s is given twice (by its name and its reference)", ErrInvalid, where(i), sv.features[j].Name)
			}
			c, err := convert(v, sv.features[j].Type)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: features: %s: %v", ErrInvalid, where(i), sv.features[j].Name, err)
			}
			rows[i][j], given[i][j] = c, true
			overridden[j]++
		}
	}
	var read []int // positions of the features read from the online store
	for j := range sv.features {
		if overridden[j] < n {
			read = append(read, j)
		}
	}
	statuses := make([][]Status, n)
	if len(read) > 0 {
		refs := make([]string, len(read))
		for k, j := range read {
			refs[k] = sv.refs[j]
		}
		got, err := e.Features.OnlineFeatures(ctx, &Request{Features: refs, Entities: entities})
		if err != nil {
			return nil, fmt.Errorf("endpoint %s (model %s version %d): %w", def.Ref(), sv.model, sv.version, err)
		}
		for i, row := range got.Rows {
			statuses[i] = make([]Status, nf)
			for k, j := range read {
				if !given[i][j] {
					rows[i][j], statuses[i][j] = row.Values[k], row.Statuses[k]
				}
			}
		}
		got.Release() // its values are copied into rows
	}
	x, err := sv.scorer.EncodeRows(rows)
	if err != nil {
		return nil, fmt.Errorf("endpoint %s: encoding for model %s version %d: %w", def.Ref(), sv.model, sv.version, err)
	}
	out, err := sv.scorer.ScoreEncodedContext(ctx, x, nil)
	if err != nil {
		return nil, fmt.Errorf("endpoint %s: scoring with model %s version %d: %w", def.Ref(), sv.model, sv.version, err)
	}
	resp := &PredictResponse{Endpoint: def.Ref().String(), Model: sv.model, Alias: sv.alias, Version: sv.version,
		Task: sv.scorer.Task(), Features: featureList(sv.features), Predictions: make([]Prediction, n)}
	k, now := sv.scorer.NumOutputs(), e.Features.now()
	for i, key := range entities {
		p := Prediction{ID: model.NewPredictionID(now), Entity: key, Model: sv.model, Version: sv.version, Missing: []string{}, OutsideMaxAge: []string{}}
		if arm != nil {
			p.Experiment, p.Arm = arm.exp.Name, arm.name
		}
		setOutputs(&p, sv.scorer.Task(), out[i*k:(i+1)*k])
		for j, f := range sv.features {
			switch {
			case statuses[i] != nil && statuses[i][j] == OutsideMaxAge:
				p.OutsideMaxAge = append(p.OutsideMaxAge, f.Name)
			case rows[i][j].IsNull():
				p.Missing = append(p.Missing, f.Name)
			}
		}
		resp.Predictions[i] = p
	}
	if e.Log != nil {
		e.Log(&Answered{Response: resp, Time: now, Rows: rows, Statuses: statuses, Overridden: given, Encoded: x})
	}
	return resp, nil
}

// Answered is one answered Predict call, as the prediction log records
// it. It shares its slices with the call: a Log function must not keep
// them past its return without copying (they are not reused, so keeping
// them is safe; changing them is not).
type Answered struct {
	Response *PredictResponse
	// Time is when the predictions were made (their IDs' time).
	Time time.Time
	// Rows are each entity's feature values as scored (overrides
	// applied), in Response.Features order.
	Rows [][]value.Value
	// Statuses are, per entity and feature, how the online store answered
	// (a nil row when nothing was read for the entity); Overridden marks
	// the values the request gave, whose status is not the store's.
	Statuses   [][]Status
	Overridden [][]bool
	// Encoded holds the encoded vectors the model scored, back to back,
	// Width values per entity.
	Encoded []float64
}

// setOutputs sets a prediction's outputs from the scorer's values for one row.
func setOutputs(p *Prediction, task string, out []float64) {
	class := model.PredictedClass(task, out)
	switch task {
	case model.TaskBinaryClassification:
		prob := out[0]
		p.Probability, p.Class = &prob, &class
	case model.TaskMulticlass:
		p.Probabilities = slices.Clone(out)
		p.Class = &class
	default:
		v := out[0]
		p.Value = &v
	}
}

// convert returns v as a value of a feature of type t, or says why it is not one.
func convert(v value.Value, t value.Type) (value.Value, error) {
	switch {
	case v.IsNull() || v.Type() == t:
		return v, nil
	case t == value.Float64 && v.Type() == value.Int64:
		return value.FromFloat64(float64(v.Int64())), nil
	case t == value.Int64 && v.Type() == value.Float64:
		if f := v.Float64(); f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
			return value.FromInt64(int64(f)), nil
		}
	case t == value.Timestamp && v.Type() == value.String:
		ts, err := time.Parse(time.RFC3339Nano, v.Str())
		if err != nil {
			return v, fmt.Errorf("the feature is a timestamp and %q is not one: write it in RFC 3339, like 2026-01-31T14:05:00Z", v.Str())
		}
		return value.FromTime(ts), nil
	}
	return v, fmt.Errorf("the feature is %s, and %s is a %s", t, v, v.Type())
}

// Describe returns what an endpoint serves now, loading its model's
// version when no request has yet. An endpoint whose version cannot be
// served is described with its Problem, not an error.
func (e *Endpoints) Describe(ctx context.Context, endpoint string) (*EndpointInfo, error) {
	def, err := e.endpoint(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	info := &EndpointInfo{Endpoint: def.Ref().String(), Model: def.Endpoint.Model, Alias: def.Endpoint.Alias}
	sv, err := e.version(ctx, def, aliasKey(def))
	if err != nil && !errors.Is(err, ErrModelUnavailable) {
		return nil, err
	}
	if st := e.entry(aliasKey(def)).state.Load(); st != nil && st.problem != nil {
		p := *st.problem
		info.Problem = &p
	}
	if sv != nil {
		info.Version, info.Task, info.Features, info.Outputs = sv.version, sv.scorer.Task(), slices.Clone(sv.features), sv.scorer.OutputNames()
	}
	return info, nil
}

// Warm loads the version of every registered endpoint's alias, so that a
// process is ready before its first request; what cannot be loaded is
// reported by Ready. It fails only when the registry cannot list the
// endpoints.
func (e *Endpoints) Warm(ctx context.Context) error {
	defs, err := e.Features.Registry.List(ctx, &registry.ListParams{Kind: resource.KindEndpoint})
	if err != nil {
		return fmt.Errorf("%w: listing the endpoints: %w", ErrUnavailable, err)
	}
	for _, def := range defs {
		e.version(ctx, def, aliasKey(def)) // a failure is recorded for Ready
	}
	return nil
}

// Ready returns what keeps endpoints from serving their alias's current
// version, for the aliases requested so far or loaded by Warm: an alias
// that points at no version or cannot be read, a version that cannot be
// loaded. A problem whose Serving is set is a new version not swapped in,
// while the previous one still answers. None means every such alias is
// served at the version it pointed at when last read.
func (e *Endpoints) Ready() []ModelProblem {
	e.mu.RLock()
	entries := make([]*modelEntry, 0, len(e.models))
	for _, m := range e.models {
		entries = append(entries, m)
	}
	e.mu.RUnlock()
	var out []ModelProblem
	for _, m := range entries {
		if st := m.state.Load(); st != nil && st.problem != nil {
			out = append(out, *st.problem)
		}
	}
	slices.SortFunc(out, func(a, b ModelProblem) int {
		return strings.Compare(a.Model+"@"+a.Alias, b.Model+"@"+b.Alias)
	})
	return out
}

func (e *Endpoints) refresh() time.Duration {
	if e.Refresh > 0 {
		return e.Refresh
	}
	return DefaultRefresh
}

func (e *Endpoints) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// endpoint returns an endpoint's definition, from the cache for Refresh.
func (e *Endpoints) endpoint(ctx context.Context, name string) (*resource.Resource, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: the endpoint is empty; name one (`slipway list endpoints` shows them)", ErrInvalid)
	}
	ref, err := resource.ParseRef(name)
	if err != nil {
		return nil, fmt.Errorf("%w: endpoint: %v", ErrInvalid, err)
	}
	now := e.Features.now()
	e.mu.RLock()
	c, ok := e.endpoints[ref]
	e.mu.RUnlock()
	if ok && now.Before(c.until) {
		return c.def, nil
	}
	def, err := e.Features.Registry.Get(ctx, resource.NewID(resource.KindEndpoint, ref))
	if deleted := (*registry.DeletedError)(nil); errors.As(err, &deleted) {
		e.forgetEndpoint(ref)
		return nil, fmt.Errorf("%w: %s, so it is not served; `slipway list endpoints` shows what is", ErrUnknownEndpoint, deleted)
	}
	if errors.Is(err, registry.ErrNotFound) {
		e.forgetEndpoint(ref)
		return nil, fmt.Errorf("%w: %s is not registered; `slipway list endpoints` shows what is", ErrUnknownEndpoint, ref)
	}
	if err != nil {
		if ok {
			// The registry is away: a registered definition never
			// changes, so serving goes on with it.
			return c.def, nil
		}
		return nil, fmt.Errorf("%w: reading endpoint %s from the registry: %w", ErrUnavailable, ref, err)
	}
	e.mu.Lock()
	if e.endpoints == nil {
		e.endpoints = map[resource.Ref]cachedEndpoint{}
	}
	e.endpoints[ref] = cachedEndpoint{def: def, until: now.Add(e.refresh())}
	e.mu.Unlock()
	return def, nil
}

func (e *Endpoints) forgetEndpoint(ref resource.Ref) {
	e.mu.Lock()
	delete(e.endpoints, ref)
	e.mu.Unlock()
}

func (e *Endpoints) entry(k modelKey) *modelEntry {
	e.mu.RLock()
	m, ok := e.models[k]
	e.mu.RUnlock()
	if ok {
		return m
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.models == nil {
		e.models = map[modelKey]*modelEntry{}
	}
	m, ok = e.models[k]
	if !ok {
		m = &modelEntry{key: k}
		e.models[k] = m
	}
	return m
}

// version returns the version an endpoint serves through k (its alias,
// or an experiment arm's alias or version): the cached one while it is
// fresh (or while another request refreshes it), else the alias's version
// read again, loaded when it changed.
func (e *Endpoints) version(ctx context.Context, def *resource.Resource, k modelKey) (*servedVersion, error) {
	m := e.entry(k)
	now := e.Features.now()
	fresh := func(st *modelState) bool { return st != nil && now.Before(st.checked.Add(e.refresh())) }
	st := m.state.Load()
	if st != nil && st.served != nil {
		if fresh(st) || !m.mu.TryLock() {
			return st.served, nil
		}
	} else {
		m.mu.Lock()
	}
	defer m.mu.Unlock()
	st = m.state.Load() // another request may have refreshed it meanwhile
	if !fresh(st) {
		// The load outlives a request that gives up: the next requests
		// need it too.
		st = e.reload(context.WithoutCancel(ctx), m.key, st, now)
		m.state.Store(st)
	}
	if st.served == nil {
		return nil, fmt.Errorf("%w: endpoint %s serves model %s: %s", ErrModelUnavailable, def.Ref(), m.key, st.problem.Error)
	}
	return st.served, nil
}

// aliasKey is what an endpoint serves outside experiments: its model's alias.
func aliasKey(def *resource.Resource) modelKey {
	return modelKey{model: def.Endpoint.Model, alias: def.Endpoint.Alias}
}

// armServed is one arm of the experiment running on an endpoint.
type armServed struct {
	exp  *resource.Resource
	name string
	key  modelKey
}

// arms returns the arms of the experiment running on an endpoint, in the
// spec's order, or nil when none runs. Which experiment runs is read
// again at most every Refresh; while the registry cannot be read, the
// last answer goes on (none, when there is none yet).
func (e *Endpoints) arms(ctx context.Context, def *resource.Resource) []armServed {
	ref, now := def.Ref(), e.Features.now()
	e.mu.RLock()
	c, ok := e.experiments[ref]
	e.mu.RUnlock()
	if !ok || !now.Before(c.until) {
		exp, err := registry.RunningExperiment(ctx, e.Features.Registry, def.ID)
		arms := c.arms
		if err != nil {
			e.logger().Warn("reading the experiments of an endpoint", "endpoint", ref, "error", err)
		} else {
			arms = experimentArms(exp)
		}
		c = cachedExperiment{arms: arms, until: now.Add(e.refresh())}
		e.mu.Lock()
		if e.experiments == nil {
			e.experiments = map[resource.Ref]cachedExperiment{}
		}
		e.experiments[ref] = c
		e.mu.Unlock()
	}
	return c.arms
}

// experimentArms are an experiment's arms as served (nil for no experiment).
func experimentArms(exp *resource.Resource) []armServed {
	if exp == nil || len(exp.Experiment.Arms) == 0 {
		return nil
	}
	arms := make([]armServed, len(exp.Experiment.Arms))
	for i, a := range exp.Experiment.Arms {
		arms[i] = armServed{exp: exp, name: a.Name, key: modelKey{model: a.Model, alias: a.Alias, version: a.Version}}
	}
	return arms
}

// reload reads the alias again (a fixed version needs no reading) and
// loads its version when it changed,
// returning the state that follows prev (nil: nothing loaded yet).
func (e *Endpoints) reload(ctx context.Context, k modelKey, prev *modelState, now time.Time) *modelState {
	next := &modelState{checked: now}
	if prev != nil {
		next.served, next.bad, next.badErr = prev.served, prev.bad, prev.badErr
	}
	serving := 0
	if next.served != nil {
		serving = next.served.version
	}
	fail := func(version int, msg string) *modelState {
		next.problem = &ModelProblem{Model: k.model, Alias: k.alias, Version: version, Serving: serving, Error: msg, Since: now}
		if prev != nil && prev.problem != nil && prev.problem.Version == version && prev.problem.Error == msg {
			next.problem.Since = prev.problem.Since
		} else {
			e.logger().Warn("endpoint model not swapped in", "model", k.model, "alias", k.alias, "version", version, "serving", serving, "error", msg)
		}
		return next
	}
	target := k.version
	if target == 0 {
		a, err := e.Features.Registry.GetModelAlias(ctx, k.model, k.alias)
		if errors.Is(err, registry.ErrNotFound) {
			return fail(0, fmt.Sprintf("alias %s of model %s points at no version: train the model, or promote a version with `slipway models promote %s VERSION --alias %s`",
				k.alias, k.model, k.model, k.alias))
		}
		if err != nil {
			return fail(0, fmt.Sprintf("reading alias %s of model %s: %v", k.alias, k.model, err))
		}
		target = a.Version
	}
	if target == serving {
		return next
	}
	if target == next.bad {
		return fail(target, next.badErr)
	}
	sv, err := e.load(ctx, k, target)
	if err != nil {
		if u := (*unloadableError)(nil); errors.As(err, &u) {
			next.bad, next.badErr = target, err.Error()
		}
		return fail(target, err.Error())
	}
	next.served, next.bad, next.badErr = sv, 0, ""
	e.logger().Info("endpoint model swapped in", "model", k.model, "alias", k.alias, "version", sv.version, "previous", serving)
	return next
}

// load reads a version and what it needs to be served: its model, its
// encoding, and the online features its encoding's features are.
func (e *Endpoints) load(ctx context.Context, k modelKey, version int) (*servedVersion, error) {
	reg := e.Features.Registry
	v, err := reg.GetModelVersion(ctx, k.model, version)
	if err != nil {
		return nil, fmt.Errorf("reading version %d of model %s: %w", version, k.model, err)
	}
	where := fmt.Sprintf("version %d of model %s", version, k.model)
	if len(v.Encoding) == 0 {
		return nil, unloadable("%s records no feature encoding, so its input cannot be built; register it with the schema of the encoded export it was trained on", where)
	}
	scorer, err := model.OpenScorer(v.Artifact.Format, v.Artifact.Bytes, v.Encoding)
	if err != nil {
		return nil, unloadable("%s (%s): %w", where, v.Artifact.Format, err)
	}
	if v.TrainingSet == (resource.ID{}) {
		return nil, unloadable("%s records no training set, so which online features it reads is unknown; register it with --training-set", where)
	}
	ts, err := getOrTombstone(ctx, reg, v.TrainingSet)
	if err != nil {
		return nil, fmt.Errorf("%s: reading its training set %s: %w", where, v.TrainingSet.Ref(), err)
	}
	cols := ts.TrainingSet.FeatureColumns()
	sv := &servedVersion{model: k.model, alias: k.alias, version: version, scorer: scorer, features: scorer.Encoding().Features(), index: map[string]int{}}
	for i, f := range sv.features {
		j := slices.Index(cols, f.Name)
		if j < 0 {
			return nil, unloadable("%s reads feature %s, which its training set %s does not have (its features: %s)",
				where, f.Name, ts.Ref(), strings.Join(cols, ", "))
		}
		fid := ts.TrainingSet.Features[j]
		fdef, err := getOrTombstone(ctx, reg, fid)
		if err != nil {
			return nil, fmt.Errorf("%s: reading feature %s: %w", where, fid.Ref(), err)
		}
		if fdef.Feature == nil || fdef.Feature.Type != f.Type {
			return nil, unloadable("%s reads feature %s as %s, but %s is %s", where, f.Name, f.Type, fid, featureType(fdef))
		}
		sv.refs = append(sv.refs, fid.Ref().String())
		sv.index[f.Name], sv.index[fid.Ref().String()] = i, i
	}
	return sv, nil
}

// getOrTombstone reads a resource, or the definition a deleted one left:
// a version goes on naming the training set and features it was trained
// on after they are deleted (reading a deleted feature then fails as
// unknown, unless every request overrides it).
func getOrTombstone(ctx context.Context, reg registry.Store, id resource.ID) (*resource.Resource, error) {
	r, err := reg.Get(ctx, id)
	if deleted := (*registry.DeletedError)(nil); errors.As(err, &deleted) && deleted.Resource != nil {
		return deleted.Resource, nil
	}
	return r, err
}

func featureType(r *resource.Resource) string {
	if r.Feature == nil {
		return "not a feature"
	}
	return string(r.Feature.Type)
}

func featureList(fs []model.Feature) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

func featureNames(fs []model.Feature) string {
	return strings.Join(featureList(fs), ", ")
}
