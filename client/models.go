package client

// The model operations: train, register, read, promote, roll back.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"

	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
)

func modelPath(name string) string { return "/v1/models/" + url.PathEscape(name) }

// aliasMoved is the conflict of the alias calls.
func aliasMoved(*Error) error { return registry.ErrAliasMoved }

// Train queues the training of a model definition; the server works the
// jobs unless Detach. The training job's Result is not in the API's job
// answer: read the version with ShowModel or GetModelVersion.
func (c *Client) Train(ctx context.Context, p *platform.TrainParams) ([]*registry.Job, error) {
	if p.Model.Kind != resource.KindModel {
		return nil, fmt.Errorf("%w: %s is not a model", platform.ErrInvalid, p.Model)
	}
	return c.queue(ctx, modelPath(p.Model.Name)+"/train", server.TrainRequest{Variant: p.Model.Variant, By: p.By, Detach: p.Detach})
}

// RegisterModel uploads a model trained elsewhere (multipart/form-data);
// the server validates it and records it as a new version. A
// registration that names nobody (By "") is recorded by the server as by
// "api".
func (c *Client) RegisterModel(ctx context.Context, p *platform.RegisterModelParams) (*registry.ModelVersion, error) {
	if err := resource.ValidateName(p.Model); err != nil {
		return nil, fmt.Errorf("%w: model %v", platform.ErrInvalid, err)
	}
	if p.TrainingSet.Kind != resource.KindTrainingSet {
		return nil, fmt.Errorf("%w: %s is not a training set: name the training set the model was trained on", platform.ErrInvalid, p.TrainingSet)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fields := [][2]string{{server.FormTrainingSet, p.TrainingSet.Ref().String()}, {server.FormFormat, p.Format}, {server.FormBy, p.By}}
	for _, f := range fields {
		if f[1] != "" {
			mw.WriteField(f[0], f[1])
		}
	}
	files := [][2]any{{server.FormArtifact, p.Artifact}, {server.FormSchema, p.Schema}}
	for _, f := range files {
		name, b := f[0].(string), f[1].([]byte)
		if b == nil && name == server.FormSchema {
			continue
		}
		fw, err := mw.CreateFormFile(name, name)
		if err != nil {
			return nil, err
		}
		fw.Write(b)
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	k := &call{method: "POST", path: modelPath(p.Model) + "/versions", want: http.StatusCreated, tooLarge: registry.ErrArtifactTooLarge}
	resp, err := c.send(ctx, k, &body, mw.FormDataContentType())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	v, err := c.version(resp, k)
	if err != nil {
		return nil, err
	}
	// The answer leaves out the bytes, which are the ones sent (the
	// platform returns them with the version).
	if sum := sha256.Sum256(p.Artifact); hex.EncodeToString(sum[:]) == v.Artifact.SHA256 {
		v.Artifact.Bytes = p.Artifact
	}
	return v, nil
}

// version decodes a ModelVersionBody answer.
func (c *Client) version(resp *http.Response, k *call) (*registry.ModelVersion, error) {
	var b server.ModelVersionBody
	if err := decodeBody(resp, &b); err != nil {
		return nil, fmt.Errorf("reading the answer of %s %s from %s: %w", k.method, k.path, c.base, err)
	}
	return server.ModelVersionFromBody(b)
}

// PromoteModel points an alias at a version. A promotion that names
// nobody (By "") is recorded by the server as by "api".
func (c *Client) PromoteModel(ctx context.Context, p *platform.PromoteParams) (*registry.ModelAlias, error) {
	alias := p.Alias
	if alias == "" {
		alias = resource.DefaultModelAlias
	}
	if err := registry.CheckModelAlias(&registry.SetModelAliasParams{Model: p.Model, Alias: alias, Version: p.Version}); err != nil {
		return nil, fmt.Errorf("%w: %v", platform.ErrInvalid, err)
	}
	var b server.ModelAliasBody
	if err := c.json(ctx, &call{method: "POST", path: modelPath(p.Model) + "/aliases/" + url.PathEscape(alias),
		body: server.PromoteRequest{Version: p.Version, By: p.By}, want: http.StatusOK, out: &b, conflict: aliasMoved}); err != nil {
		return nil, err
	}
	a, _, err := server.ModelAliasFromBody(b)
	return a, err
}

// RollbackModel moves an alias back to the version it pointed at before
// its last move.
func (c *Client) RollbackModel(ctx context.Context, p *platform.RollbackParams) (*registry.ModelAlias, error) {
	alias := p.Alias
	if alias == "" {
		alias = resource.DefaultModelAlias
	}
	if err := resource.ValidateName(p.Model); err != nil {
		return nil, fmt.Errorf("%w: model %v", platform.ErrInvalid, err)
	}
	if err := resource.ValidateName(alias); err != nil {
		return nil, fmt.Errorf("%w: alias %v", platform.ErrInvalid, err)
	}
	var b server.ModelAliasBody
	if err := c.json(ctx, &call{method: "POST", path: modelPath(p.Model) + "/aliases/" + url.PathEscape(alias) + "/rollback",
		body: server.RollbackRequest{By: p.By}, want: http.StatusOK, out: &b, conflict: aliasMoved}); err != nil {
		return nil, err
	}
	a, _, err := server.ModelAliasFromBody(b)
	return a, err
}

// ListModels returns every model that is defined or has versions, by name.
func (c *Client) ListModels(ctx context.Context) ([]*platform.ModelSummary, error) {
	var b server.ModelsBody
	if err := c.json(ctx, &call{method: "GET", path: "/v1/models", want: http.StatusOK, out: &b}); err != nil {
		return nil, err
	}
	return server.ModelsFromBody(b)
}

// ShowModel returns a model's definitions, versions and aliases with
// their history.
func (c *Client) ShowModel(ctx context.Context, name string) (*platform.ModelDetail, error) {
	if err := resource.ValidateName(name); err != nil {
		return nil, fmt.Errorf("%w: model %v", platform.ErrInvalid, err)
	}
	var b server.ModelDetailBody
	if err := c.json(ctx, &call{method: "GET", path: modelPath(name), want: http.StatusOK, out: &b}); err != nil {
		return nil, err
	}
	return server.ModelDetailFromBody(b)
}

// GetModelVersion returns one version of a model with its artifact
// bytes: its metadata (by number, or through the alias), then the
// artifact of that number, checked against the sha256 the metadata gives.
func (c *Client) GetModelVersion(ctx context.Context, ref platform.ModelRef) (*registry.ModelVersion, error) {
	path, err := modelRefPath(ref)
	if err != nil {
		return nil, err
	}
	var b server.ModelVersionBody
	if err := c.json(ctx, &call{method: "GET", path: path, want: http.StatusOK, out: &b}); err != nil {
		return nil, err
	}
	v, err := server.ModelVersionFromBody(b)
	if err != nil {
		return nil, err
	}
	k := &call{method: "GET", path: modelPath(v.Model) + "/versions/" + strconv.Itoa(v.Version) + "/artifact", want: http.StatusOK}
	resp, err := c.do(ctx, k)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	bs, err := io.ReadAll(io.LimitReader(resp.Body, registry.MaxArtifactBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the artifact of model %s version %d from %s: %w", v.Model, v.Version, c.base, err)
	}
	sum := sha256.Sum256(bs)
	if got := hex.EncodeToString(sum[:]); got != v.Artifact.SHA256 {
		return nil, fmt.Errorf("the artifact of model %s version %d from %s: %w: got %d bytes of sha256 %s, want %d bytes of %s",
			v.Model, v.Version, c.base, registry.ErrArtifactChecksum, len(bs), got, v.Artifact.Size, v.Artifact.SHA256)
	}
	v.Artifact.Bytes = bs
	return v, nil
}

// modelRefPath is the path of a version, by number or through an alias.
func modelRefPath(ref platform.ModelRef) (string, error) {
	if err := resource.ValidateName(ref.Model); err != nil {
		return "", fmt.Errorf("%w: model %v", platform.ErrInvalid, err)
	}
	path := modelPath(ref.Model)
	if ref.Version > 0 {
		return path + "/versions/" + strconv.Itoa(ref.Version), nil
	}
	alias := ref.Alias
	if alias == "" {
		alias = resource.DefaultModelAlias
	}
	return path + "/aliases/" + url.PathEscape(alias), nil
}

// ModelProfile implements platform.API.
func (c *Client) ModelProfile(ctx context.Context, ref platform.ModelRef) (*platform.ModelProfile, error) {
	path, err := modelRefPath(ref)
	if err != nil {
		return nil, err
	}
	var p platform.ModelProfile
	if err := c.json(ctx, &call{method: "GET", path: path + "/profile", want: http.StatusOK, out: &p}); err != nil {
		return nil, err
	}
	return &p, nil
}

// Skew implements platform.API.
func (c *Client) Skew(ctx context.Context, p *platform.SkewParams) ([]*registry.Job, error) {
	if err := resource.ValidateName(p.Model); err != nil {
		return nil, fmt.Errorf("%w: model %v", platform.ErrInvalid, err)
	}
	return c.queue(ctx, modelPath(p.Model)+"/skew", server.SkewRequest{Version: p.Version, From: p.From, To: p.To, Sample: p.Sample, By: p.By, Detach: p.Detach})
}
