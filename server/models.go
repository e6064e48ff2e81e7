package server

// The model endpoints (/v1/models): train a model definition, register a
// model trained elsewhere, read models, versions and aliases, fetch a
// version's artifact, and move aliases (promote, roll back). Routes are
// registered, and errors become status codes, in server.go.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// MaxModelUploadBytes bounds the body of POST /v1/models/{model}/versions
// (the one endpoint over MaxBodyBytes): the registry's largest artifact
// (registry.MaxArtifactBytes, 256 MiB) plus 32 MiB for the schema file and
// the form's fields.
const MaxModelUploadBytes = registry.MaxArtifactBytes + 32<<20

// ModelVersionBody is a model version as the API shows it (and `slipway
// models show --json`), without its artifact's bytes: GET
// /v1/models/{model}/versions/{version}/artifact serves them. Times are
// RFC 3339 in UTC with microseconds, omitted when zero.
type ModelVersionBody struct {
	Model   string `json:"model"`
	Version int    `json:"version"`
	// Format, SHA256 (hex) and Size (bytes) describe the artifact.
	Format string `json:"format"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// TrainingSet is the training set (name:variant) it was trained on,
	// omitted when unknown; TrainingRows its label rows.
	TrainingSet  string `json:"training_set,omitempty"`
	TrainingRows int64  `json:"training_rows"`
	LabelStart   string `json:"label_start,omitempty"`
	LabelEnd     string `json:"label_end,omitempty"`
	// Metrics are the holdout metrics by name (auc, log_loss, rmse, …).
	Metrics map[string]float64 `json:"metrics"`
	// Encoding is the feature vector encoding, as stored.
	Encoding  json.RawMessage `json:"encoding,omitempty"`
	Trainer   string          `json:"trainer"`
	CreatedBy string          `json:"created_by"`
	CreatedAt string          `json:"created_at,omitempty"`
}

// NewModelVersionBody shows v (not its artifact's bytes).
func NewModelVersionBody(v *registry.ModelVersion) ModelVersionBody {
	b := ModelVersionBody{Model: v.Model, Version: v.Version, Format: v.Artifact.Format, SHA256: v.Artifact.SHA256, Size: v.Artifact.Size,
		TrainingRows: v.TrainingRows, LabelStart: apiTime(v.LabelStart), LabelEnd: apiTime(v.LabelEnd), Metrics: v.Metrics,
		Encoding: v.Encoding, Trainer: v.Trainer, CreatedBy: v.CreatedBy, CreatedAt: apiTime(v.CreatedAt)}
	if v.TrainingSet != (resource.ID{}) {
		b.TrainingSet = v.TrainingSet.Ref().String()
	}
	if b.Metrics == nil {
		b.Metrics = map[string]float64{}
	}
	return b
}

// ModelVersionFromBody is NewModelVersionBody's inverse (Artifact.Bytes nil).
func ModelVersionFromBody(b ModelVersionBody) (*registry.ModelVersion, error) {
	v := &registry.ModelVersion{Model: b.Model, Version: b.Version,
		Artifact:     registry.Artifact{Format: b.Format, SHA256: b.SHA256, Size: b.Size},
		TrainingRows: b.TrainingRows, Metrics: b.Metrics, Trainer: b.Trainer, CreatedBy: b.CreatedBy}
	if len(b.Encoding) > 0 {
		v.Encoding = b.Encoding
	}
	if b.TrainingSet != "" {
		ref, err := resource.ParseRef(b.TrainingSet)
		if err != nil {
			return nil, fmt.Errorf("model %s version %d: training_set: %w", b.Model, b.Version, err)
		}
		v.TrainingSet = resource.NewID(resource.KindTrainingSet, ref)
	}
	for _, t := range []struct {
		name string
		s    string
		dst  *time.Time
	}{{"label_start", b.LabelStart, &v.LabelStart}, {"label_end", b.LabelEnd, &v.LabelEnd}, {"created_at", b.CreatedAt, &v.CreatedAt}} {
		var err error
		if *t.dst, err = parseAPITime(t.s); err != nil {
			return nil, fmt.Errorf("model %s version %d: %s: %w", b.Model, b.Version, t.name, err)
		}
	}
	return v, nil
}

// ModelAliasMoveBody is one recorded move of an alias: from version From
// (0: the alias was created) to To, by whom, when.
type ModelAliasMoveBody struct {
	From int    `json:"from"`
	To   int    `json:"to"`
	By   string `json:"by"`
	At   string `json:"at"`
}

// ModelAliasBody is an alias as the API shows it; History (oldest move
// first) only in a model's detail.
type ModelAliasBody struct {
	Model     string               `json:"model"`
	Alias     string               `json:"alias"`
	Version   int                  `json:"version"`
	UpdatedBy string               `json:"updated_by"`
	UpdatedAt string               `json:"updated_at,omitempty"`
	History   []ModelAliasMoveBody `json:"history,omitempty"`
}

// NewModelAliasBody shows a and, when given, its history.
func NewModelAliasBody(a *registry.ModelAlias, history []*registry.ModelAliasMove) ModelAliasBody {
	b := ModelAliasBody{Model: a.Model, Alias: a.Alias, Version: a.Version, UpdatedBy: a.UpdatedBy, UpdatedAt: apiTime(a.UpdatedAt)}
	if history != nil {
		b.History = make([]ModelAliasMoveBody, len(history))
		for i, m := range history {
			b.History[i] = ModelAliasMoveBody{From: m.From, To: m.To, By: m.By, At: apiTime(m.At)}
		}
	}
	return b
}

// ModelAliasFromBody is NewModelAliasBody's inverse: the alias and its
// history (nil when the body has none).
func ModelAliasFromBody(b ModelAliasBody) (*registry.ModelAlias, []*registry.ModelAliasMove, error) {
	t, err := parseAPITime(b.UpdatedAt)
	if err != nil {
		return nil, nil, fmt.Errorf("alias %s of model %s: updated_at: %w", b.Alias, b.Model, err)
	}
	a := &registry.ModelAlias{Model: b.Model, Alias: b.Alias, Version: b.Version, UpdatedBy: b.UpdatedBy, UpdatedAt: t}
	var history []*registry.ModelAliasMove
	if b.History != nil {
		history = make([]*registry.ModelAliasMove, len(b.History))
		for i, m := range b.History {
			at, err := parseAPITime(m.At)
			if err != nil {
				return nil, nil, fmt.Errorf("alias %s of model %s: history[%d]: at: %w", b.Alias, b.Model, i, err)
			}
			history[i] = &registry.ModelAliasMove{Model: b.Model, Alias: b.Alias, From: m.From, To: m.To, By: m.By, At: at}
		}
	}
	return a, history, nil
}

// ModelSummaryBody is one model of GET /v1/models.
type ModelSummaryBody struct {
	Model string `json:"model"`
	// Definitions are the model's definitions (variants); none for a model
	// only registered from files.
	Definitions []resource.ID `json:"definitions"`
	// LatestVersion is its newest version (0: none yet).
	LatestVersion int              `json:"latest_version"`
	Aliases       []ModelAliasBody `json:"aliases"`
}

// ModelsBody is the answer of GET /v1/models.
type ModelsBody struct {
	Models []ModelSummaryBody `json:"models"`
}

// NewModelsBody shows the models of ListModels.
func NewModelsBody(ms []*platform.ModelSummary) ModelsBody {
	out := ModelsBody{Models: make([]ModelSummaryBody, len(ms))}
	for i, m := range ms {
		b := ModelSummaryBody{Model: m.Model, Definitions: m.Definitions, LatestVersion: m.LatestVersion, Aliases: make([]ModelAliasBody, len(m.Aliases))}
		if b.Definitions == nil {
			b.Definitions = []resource.ID{}
		}
		for j, a := range m.Aliases {
			b.Aliases[j] = NewModelAliasBody(a, nil)
		}
		out.Models[i] = b
	}
	return out
}

// ModelsFromBody is NewModelsBody's inverse.
func ModelsFromBody(b ModelsBody) ([]*platform.ModelSummary, error) {
	out := make([]*platform.ModelSummary, len(b.Models))
	for i, mb := range b.Models {
		m := &platform.ModelSummary{Model: mb.Model, Definitions: mb.Definitions, LatestVersion: mb.LatestVersion, Aliases: make([]*registry.ModelAlias, len(mb.Aliases))}
		if m.Definitions == nil {
			m.Definitions = []resource.ID{}
		}
		for j, ab := range mb.Aliases {
			a, _, err := ModelAliasFromBody(ab)
			if err != nil {
				return nil, err
			}
			m.Aliases[j] = a
		}
		out[i] = m
	}
	return out, nil
}

// ModelDetailBody is the answer of GET /v1/models/{model}: its
// definitions, its versions (newest first, without artifact bytes) and its
// aliases with every move they made.
type ModelDetailBody struct {
	Model       string             `json:"model"`
	Definitions []ResourceBody     `json:"definitions"`
	Versions    []ModelVersionBody `json:"versions"`
	Aliases     []ModelAliasBody   `json:"aliases"`
}

// NewModelDetailBody shows d.
func NewModelDetailBody(d *platform.ModelDetail) ModelDetailBody {
	out := ModelDetailBody{Model: d.Model, Definitions: make([]ResourceBody, len(d.Definitions)),
		Versions: make([]ModelVersionBody, len(d.Versions)), Aliases: make([]ModelAliasBody, len(d.Aliases))}
	for i, r := range d.Definitions {
		out.Definitions[i] = NewResourceBody(r, nil)
	}
	for i, v := range d.Versions {
		out.Versions[i] = NewModelVersionBody(v)
	}
	for i, a := range d.Aliases {
		h := a.History
		if h == nil {
			h = []*registry.ModelAliasMove{}
		}
		out.Aliases[i] = NewModelAliasBody(a.ModelAlias, h)
	}
	return out
}

// ModelDetailFromBody is NewModelDetailBody's inverse.
func ModelDetailFromBody(b ModelDetailBody) (*platform.ModelDetail, error) {
	d := &platform.ModelDetail{Model: b.Model, Definitions: make([]*resource.Resource, len(b.Definitions)),
		Versions: make([]*registry.ModelVersion, len(b.Versions)), Aliases: make([]*platform.AliasDetail, len(b.Aliases))}
	for i, rb := range b.Definitions {
		d.Definitions[i], _ = ResourceFromBody(rb)
	}
	for i, vb := range b.Versions {
		v, err := ModelVersionFromBody(vb)
		if err != nil {
			return nil, err
		}
		d.Versions[i] = v
	}
	for i, ab := range b.Aliases {
		a, h, err := ModelAliasFromBody(ab)
		if err != nil {
			return nil, err
		}
		if h == nil {
			h = []*registry.ModelAliasMove{}
		}
		d.Aliases[i] = &platform.AliasDetail{ModelAlias: a, History: h}
	}
	return d, nil
}

// TrainRequest is the (optional) body of POST /v1/models/{model}/train.
type TrainRequest struct {
	// Variant is the model definition's variant; empty means "default".
	Variant string `json:"variant,omitempty"`
	// By names who trains (recorded with the version and any promotion);
	// empty means "api".
	By string `json:"by,omitempty"`
	// Detach leaves the jobs to workers; otherwise the server works them.
	Detach bool `json:"detach,omitempty"`
}

// PromoteRequest is the body of POST /v1/models/{model}/aliases/{alias}.
type PromoteRequest struct {
	Version int `json:"version"`
	// By names who moves the alias; empty means "api".
	By string `json:"by,omitempty"`
}

// RollbackRequest is the (optional) body of POST
// /v1/models/{model}/aliases/{alias}/rollback.
type RollbackRequest struct {
	By string `json:"by,omitempty"`
}

// The parts of the multipart/form-data body of POST /v1/models/{model}/versions.
const (
	// FormArtifact is the model file (required).
	FormArtifact = "artifact"
	// FormSchema is the schema file of `slipway training-set export --encoded` (optional).
	FormSchema = "schema"
	// FormFormat, FormTrainingSet and FormBy are fields: the model format
	// (empty: detected), the training set (name or name:variant, required)
	// and who registers it.
	FormFormat      = "format"
	FormTrainingSet = "training_set"
	FormBy          = "by"
)

// pathModel reads the {model} path segment.
func pathModel(r *http.Request) (string, error) {
	name := r.PathValue("model")
	if err := resource.ValidateName(name); err != nil {
		return "", invalid("model %v", err)
	}
	return name, nil
}

// pathModelRef reads {model} with {version} or {alias}.
func pathModelRef(r *http.Request) (platform.ModelRef, error) {
	name, err := pathModel(r)
	if err != nil {
		return platform.ModelRef{}, err
	}
	if s := r.PathValue("version"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			return platform.ModelRef{}, invalid("model %s: version %q is not a version number (versions are numbered from 1)", name, s)
		}
		return platform.ModelRef{Model: name, Version: v}, nil
	}
	alias := r.PathValue("alias")
	if err := resource.ValidateName(alias); err != nil {
		return platform.ModelRef{}, invalid("model %s: alias %v", name, err)
	}
	return platform.ModelRef{Model: name, Alias: alias}, nil
}

func (s *server) listModels(w http.ResponseWriter, r *http.Request) {
	if err := checkQuery(r.URL.Query()); err != nil {
		s.fail(w, r, err)
		return
	}
	ms, err := s.Platform.ListModels(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, NewModelsBody(ms))
}

func (s *server) showModel(w http.ResponseWriter, r *http.Request) {
	pathOp(s, w, r, pathModel, s.Platform.ShowModel, func(d *platform.ModelDetail) any { return NewModelDetailBody(d) })
}

// getModelVersion answers GET /v1/models/{model}/versions/{version} and GET
// /v1/models/{model}/aliases/{alias} (the version the alias points at).
func (s *server) getModelVersion(w http.ResponseWriter, r *http.Request) {
	pathOp(s, w, r, pathModelRef, s.Platform.GetModelVersion, func(v *registry.ModelVersion) any { return NewModelVersionBody(v) })
}

// modelProfile answers GET /v1/models/{model}/versions/{version}/profile
// (and through an alias) with platform.ModelProfile as it is.
func (s *server) modelProfile(w http.ResponseWriter, r *http.Request) {
	pathOp(s, w, r, pathModelRef, s.Platform.ModelProfile, func(p *platform.ModelProfile) any { return p })
}

// Headers of GET /v1/models/{model}/versions/{version}/artifact.
const (
	// FormatHeader is the artifact's format (xgboost-json, slipway-linear).
	FormatHeader = "X-Slipway-Format"
	// SHA256Header is the hex sha256 of the artifact's bytes.
	SHA256Header = "X-Slipway-Sha256"
)

// modelArtifact serves a version's artifact bytes, with its format and
// sha256 in headers.
func (s *server) modelArtifact(w http.ResponseWriter, r *http.Request) {
	ref, err := pathModelRef(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.Platform.GetModelVersion(r.Context(), ref)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(v.Artifact.Bytes)))
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", fmt.Sprintf("%s-%d.json", v.Model, v.Version)))
	h.Set(FormatHeader, v.Artifact.Format)
	h.Set(SHA256Header, v.Artifact.SHA256)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	s.stream(w, r, bytes.NewReader(v.Artifact.Bytes), fmt.Sprintf("artifact of model %s version %d", v.Model, v.Version))
}

func (s *server) trainModel(w http.ResponseWriter, r *http.Request) {
	name, err := pathModel(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	var req TrainRequest
	if err == nil {
		err = decodeOptional(r, &req)
	}
	if err == nil && req.Variant == "" {
		req.Variant = resource.DefaultVariant
	}
	if err == nil {
		if verr := resource.ValidateVariant(req.Variant); verr != nil {
			err = invalid("model %s: %v", name, verr)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.By == "" {
		req.By = defaultBy
	}
	jobs, err := s.Platform.Train(r.Context(), &platform.TrainParams{Model: resource.ID{Kind: resource.KindModel, Name: name, Variant: req.Variant}, By: req.By, Detach: req.Detach})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.jobsBody(r, jobs))
}

// SkewRequest is the (optional) body of POST /v1/models/{model}/skew.
type SkewRequest struct {
	// Version keeps the predictions of one version (0: every version).
	Version int `json:"version,omitempty"`
	// From and To bound the predictions' times (zero: any).
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Sample is how many predictions (0: coordinator.DefaultSkewSample).
	Sample int    `json:"sample,omitempty"`
	By     string `json:"by,omitempty"`
	Detach bool   `json:"detach,omitempty"`
}

// modelSkew answers POST /v1/models/{model}/skew: it queues the
// measurement (202 with the jobs; the last one's result is the report).
func (s *server) modelSkew(w http.ResponseWriter, r *http.Request) {
	name, err := pathModel(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	var req SkewRequest
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
	jobs, err := s.Platform.Skew(r.Context(), &platform.SkewParams{Model: name, Version: req.Version, From: req.From, To: req.To, Sample: req.Sample, By: req.By, Detach: req.Detach})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.jobsBody(r, jobs))
}

// registerModel answers POST /v1/models/{model}/versions: a
// multipart/form-data body (see the Form* constants) with the model file,
// which the platform validates on the training set's holdout and records.
func (s *server) registerModel(w http.ResponseWriter, r *http.Request) {
	name, err := pathModel(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	var p *platform.RegisterModelParams
	if err == nil {
		p, err = s.readRegistration(w, r, name)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p.By == "" {
		p.By = defaultBy
	}
	done := s.whileWorking(w)
	v, err := s.Platform.RegisterModel(r.Context(), p)
	done()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, NewModelVersionBody(v))
}

// readRegistration reads the form of POST /v1/models/{model}/versions. The
// read deadline moves forward with each part, so that a large model
// uploads for as long as it takes while the client keeps sending.
func (s *server) readRegistration(w http.ResponseWriter, r *http.Request, name string) (*platform.RegisterModelParams, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, invalid("register a model with a multipart/form-data body (curl -F artifact=@model.json -F training_set=NAME:VARIANT), not %q", r.Header.Get("Content-Type"))
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, invalid("reading the form: %v", err)
	}
	rc := http.NewResponseController(w)
	p := &platform.RegisterModelParams{Model: name}
	var trainingSet string
	var haveArtifact bool
	seen := map[string]bool{}
	for {
		rc.SetReadDeadline(time.Now().Add(or(s.ReadTimeout, DefaultReadTimeout)))
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if rerr := readErr(err); rerr != nil {
				return nil, rerr
			}
			return nil, invalid("reading the form: %v", err)
		}
		field := part.FormName()
		if seen[field] {
			return nil, invalid("form field %q is given twice; give it once", field)
		}
		seen[field] = true
		var limit int64
		switch field {
		case FormArtifact:
			limit = registry.MaxArtifactBytes
		case FormSchema:
			limit = MaxModelUploadBytes - registry.MaxArtifactBytes
		case FormFormat, FormTrainingSet, FormBy:
			limit = 1 << 10
		default:
			return nil, invalid("unknown form field %q: use %s, %s, %s, %s, %s", field, FormArtifact, FormSchema, FormFormat, FormTrainingSet, FormBy)
		}
		b, err := s.readPart(rc, part, limit)
		if errors.Is(err, errPartTooLarge) {
			if field == FormArtifact {
				return nil, fmt.Errorf("model %s: %w: the model file is over the registry's limit of %d bytes (256 MiB): keep larger models elsewhere",
					name, registry.ErrArtifactTooLarge, registry.MaxArtifactBytes)
			}
			return nil, invalid("form field %q is over %d bytes", field, limit)
		}
		if err != nil {
			return nil, err
		}
		switch field {
		case FormArtifact:
			p.Artifact, haveArtifact = b, true
		case FormSchema:
			p.Schema = b
		case FormFormat:
			p.Format = string(b)
		case FormTrainingSet:
			trainingSet = string(b)
		case FormBy:
			p.By = string(b)
		}
	}
	if !haveArtifact {
		return nil, invalid("the form has no %q part: send the model file (curl -F artifact=@model.json)", FormArtifact)
	}
	if trainingSet == "" {
		return nil, invalid("the form has no %q field: name the training set the model was trained on (name or name:variant)", FormTrainingSet)
	}
	ref, err := resource.ParseRef(trainingSet)
	if err != nil {
		return nil, invalid("training set %q: %v", trainingSet, err)
	}
	p.TrainingSet = resource.NewID(resource.KindTrainingSet, ref)
	return p, nil
}

var errPartTooLarge = errors.New("form part too large")

// readPart reads one form part of at most limit bytes, moving the read
// deadline forward with each chunk.
func (s *server) readPart(rc *http.ResponseController, part io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	chunk := make([]byte, copyChunk)
	for {
		rc.SetReadDeadline(time.Now().Add(or(s.ReadTimeout, DefaultReadTimeout)))
		n, err := part.Read(chunk)
		if int64(buf.Len()+n) > limit {
			return nil, errPartTooLarge
		}
		buf.Write(chunk[:n])
		if err == io.EOF {
			return buf.Bytes(), nil
		}
		if err != nil {
			if rerr := readErr(err); rerr != nil {
				return nil, rerr
			}
			return nil, invalid("reading the form: %v", err)
		}
	}
}

func (s *server) promoteModel(w http.ResponseWriter, r *http.Request) {
	ref, err := pathModelRef(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	var req PromoteRequest
	if err == nil {
		err = decode(r, &req)
	}
	if err == nil && req.Version < 1 {
		err = invalid("give the version to point alias %s at: {\"version\": N} with N from 1", ref.Alias)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.By == "" {
		req.By = defaultBy
	}
	a, err := s.Platform.PromoteModel(r.Context(), &platform.PromoteParams{Model: ref.Model, Version: req.Version, Alias: ref.Alias, By: req.By})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, NewModelAliasBody(a, nil))
}

func (s *server) rollbackModel(w http.ResponseWriter, r *http.Request) {
	ref, err := pathModelRef(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	var req RollbackRequest
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
	a, err := s.Platform.RollbackModel(r.Context(), &platform.RollbackParams{Model: ref.Model, Alias: ref.Alias, By: req.By})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, NewModelAliasBody(a, nil))
}

// exportSchema answers GET /v1/jobs/{id}/schema: the schema file of a
// succeeded encoded export. Fetch it before the export's file (GET
// /v1/jobs/{id}/output), which removes both.
func (s *server) exportSchema(w http.ResponseWriter, r *http.Request) {
	id, err := pathJobID(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.Platform.ExportSchema(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// registerModelRoute is the one route whose body may be over MaxBodyBytes
// (up to MaxModelUploadBytes).
const registerModelRoute = "POST /v1/models/{model}/versions"
