package platform

// Models: training, registration, versions, aliases. The training and
// validation work is the coordinator's (coordinator/train.go); these are
// the operations every client calls.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// TrainParams name the model definition to train.
type TrainParams struct {
	// Model is a model definition (kind model, name:variant).
	Model resource.ID `json:"model"`
	// By names who trains it (recorded with the version and any promotion).
	By     string `json:"by,omitempty"`
	Detach bool   `json:"detach,omitempty"`
}

// ModelRef names one version of a model: by number, by alias, or (neither)
// the DefaultModelAlias. Written NAME, NAME@VERSION or NAME@ALIAS.
type ModelRef struct {
	Model   string `json:"model"`
	Version int    `json:"version,omitempty"`
	Alias   string `json:"alias,omitempty"`
}

// ParseModelRef reads NAME, NAME@VERSION or NAME@ALIAS.
func ParseModelRef(s string) (ModelRef, error) {
	name, at, found := strings.Cut(s, "@")
	if err := resource.ValidateName(name); err != nil {
		return ModelRef{}, invalid("model %q: %v", s, err)
	}
	r := ModelRef{Model: name}
	switch {
	case !found:
		r.Alias = resource.DefaultModelAlias
	case at == "":
		return ModelRef{}, invalid("model %q: name a version or an alias after @ (for example %s@3 or %s@production)", s, name, name)
	case at[0] >= '0' && at[0] <= '9':
		v, err := strconv.Atoi(at)
		if err != nil || v < 1 {
			return ModelRef{}, invalid("model %q: version %q: versions are numbered from 1", s, at)
		}
		r.Version = v
	default:
		if err := resource.ValidateName(at); err != nil {
			return ModelRef{}, invalid("model %q: alias %v", s, err)
		}
		r.Alias = at
	}
	return r, nil
}

func (r ModelRef) String() string {
	if r.Version > 0 {
		return r.Model + "@" + strconv.Itoa(r.Version)
	}
	return r.Model + "@" + r.Alias
}

// ModelSummary is one model as 'slipway models list' shows it.
type ModelSummary struct {
	Model string
	// Definitions are the model's registered definitions (variants), which
	// train it; a model only registered from files has none.
	Definitions []resource.ID
	// LatestVersion is its newest version (0: none yet).
	LatestVersion int
	Aliases       []*registry.ModelAlias
}

// ModelDetail is one model as 'slipway models show' shows it.
type ModelDetail struct {
	Model       string
	Definitions []*resource.Resource
	// Versions, newest first, without their artifact bytes.
	Versions []*registry.ModelVersion
	Aliases  []*AliasDetail
}

// AliasDetail is an alias with every move it made, oldest first.
type AliasDetail struct {
	*registry.ModelAlias
	History []*registry.ModelAliasMove
}

// RegisterModelParams register a model trained elsewhere.
type RegisterModelParams struct {
	Model string `json:"model"`
	// Format is one of model.Formats; empty means detected from the bytes.
	Format   string `json:"format,omitempty"`
	Artifact []byte `json:"artifact"`
	// TrainingSet is the training set (name:variant) it was trained on.
	TrainingSet resource.ID `json:"training_set"`
	// Schema is the schema file 'slipway training-set export --encoded'
	// wrote with the rows the model was trained on; it holds their
	// encoding. Without it the encoding is built from the training set as
	// it is now, which equals it unless string values changed since.
	Schema []byte `json:"schema,omitempty"`
	By     string `json:"by,omitempty"`
}

// PromoteParams point an alias at a version.
type PromoteParams struct {
	Model   string `json:"model"`
	Version int    `json:"version"`
	Alias   string `json:"alias"`
	By      string `json:"by,omitempty"`
}

// RollbackParams move an alias back to the version it pointed at before
// its last move.
type RollbackParams struct {
	Model string `json:"model"`
	Alias string `json:"alias"`
	By    string `json:"by,omitempty"`
}

// Train queues the training of a model definition, after the builds its
// training set needs: the job trains a candidate, validates it on the
// holdout against the alias's current version, records it as a new
// version, and promotes it as the definition says.
func (p *Platform) Train(ctx context.Context, tp *TrainParams) ([]*registry.Job, error) {
	if tp.Model.Kind != resource.KindModel {
		return nil, invalid("%s is not a model", tp.Model)
	}
	c, err := p.coordinator(ctx, true, false)
	if err != nil {
		return nil, err
	}
	jobs, err := c.EnqueueTrain(ctx, &coordinator.TrainParams{Model: tp.Model, By: tp.By})
	if err != nil {
		return nil, notRegistered(tp.Model, err)
	}
	return p.start(c, jobs, tp.Detach), nil
}

// ListModels returns every model that is defined or has versions, by name.
func (p *Platform) ListModels(ctx context.Context) ([]*ModelSummary, error) {
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	defs, err := reg.List(ctx, &registry.ListParams{Kind: resource.KindModel})
	if err != nil {
		return nil, err
	}
	versioned, err := reg.ListModels(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]*ModelSummary{}
	get := func(name string) *ModelSummary {
		if m, ok := byName[name]; ok {
			return m
		}
		m := &ModelSummary{Model: name, Definitions: []resource.ID{}, Aliases: []*registry.ModelAlias{}}
		byName[name] = m
		return m
	}
	for _, d := range defs {
		m := get(d.Name)
		m.Definitions = append(m.Definitions, d.ID)
	}
	for _, v := range versioned {
		get(v.Model).LatestVersion = v.LatestVersion
	}
	out := make([]*ModelSummary, 0, len(byName))
	for _, m := range byName {
		if m.LatestVersion > 0 {
			if m.Aliases, err = reg.ListModelAliases(ctx, m.Model); err != nil {
				return nil, err
			}
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *ModelSummary) int { return strings.Compare(a.Model, b.Model) })
	return out, nil
}

// ShowModel returns a model's definitions, versions (newest first, at
// most 100) and aliases with their history.
func (p *Platform) ShowModel(ctx context.Context, name string) (*ModelDetail, error) {
	if err := resource.ValidateName(name); err != nil {
		return nil, invalid("model %v", err)
	}
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	defs, err := reg.List(ctx, &registry.ListParams{Kind: resource.KindModel, Name: name})
	if err != nil {
		return nil, err
	}
	versions, err := reg.ListModelVersions(ctx, &registry.ListModelVersionsParams{Model: name})
	if err != nil {
		return nil, err
	}
	if len(defs) == 0 && len(versions) == 0 {
		return nil, fmt.Errorf("model %s: %w: it is neither defined nor registered (`slipway models list` shows the models)", name, registry.ErrNotFound)
	}
	aliases, err := reg.ListModelAliases(ctx, name)
	if err != nil {
		return nil, err
	}
	out := &ModelDetail{Model: name, Definitions: defs, Versions: versions, Aliases: []*AliasDetail{}}
	if out.Definitions == nil {
		out.Definitions = []*resource.Resource{}
	}
	if out.Versions == nil {
		out.Versions = []*registry.ModelVersion{}
	}
	for _, a := range aliases {
		h, err := reg.ModelAliasHistory(ctx, name, a.Alias)
		if err != nil {
			return nil, err
		}
		out.Aliases = append(out.Aliases, &AliasDetail{ModelAlias: a, History: h})
	}
	return out, nil
}

// GetModelVersion returns one version of a model with its artifact bytes,
// by number or through an alias.
func (p *Platform) GetModelVersion(ctx context.Context, ref ModelRef) (*registry.ModelVersion, error) {
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	version := ref.Version
	if version == 0 {
		if ref.Alias == "" {
			ref.Alias = resource.DefaultModelAlias
		}
		a, err := reg.GetModelAlias(ctx, ref.Model, ref.Alias)
		if errors.Is(err, registry.ErrNotFound) {
			return nil, fmt.Errorf("model %s has no alias %s: %w (promote a version with `slipway models promote %s VERSION --alias %s`, or name a version: %s@3)",
				ref.Model, ref.Alias, registry.ErrNotFound, ref.Model, ref.Alias, ref.Model)
		}
		if err != nil {
			return nil, err
		}
		version = a.Version
	}
	v, err := reg.GetModelVersion(ctx, ref.Model, version)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, fmt.Errorf("model %s has no version %d: %w (`slipway models show %s` lists its versions)", ref.Model, version, registry.ErrNotFound, ref.Model)
	}
	return v, err
}

// RegisterModel validates a model trained elsewhere on its training set's
// holdout and records it as a new version. It moves no alias.
func (p *Platform) RegisterModel(ctx context.Context, rp *RegisterModelParams) (*registry.ModelVersion, error) {
	if err := resource.ValidateName(rp.Model); err != nil {
		return nil, invalid("model %v", err)
	}
	if rp.TrainingSet.Kind != resource.KindTrainingSet {
		return nil, invalid("%s is not a training set: name the training set the model was trained on", rp.TrainingSet)
	}
	c, err := p.coordinator(ctx, true, false)
	if err != nil {
		return nil, err
	}
	v, err := c.Register(ctx, &coordinator.RegisterParams{Model: rp.Model, Format: rp.Format, Artifact: rp.Artifact,
		TrainingSet: rp.TrainingSet, Schema: rp.Schema, By: rp.By})
	switch {
	case errors.Is(err, coordinator.ErrModelRefused):
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	case errors.Is(err, registry.ErrNotFound):
		return nil, notRegistered(rp.TrainingSet, err)
	}
	return v, err
}

// PromoteModel points an alias at a version, recording the move.
func (p *Platform) PromoteModel(ctx context.Context, pp *PromoteParams) (*registry.ModelAlias, error) {
	if pp.Alias == "" {
		pp.Alias = resource.DefaultModelAlias
	}
	if err := registry.CheckModelAlias(&registry.SetModelAliasParams{Model: pp.Model, Alias: pp.Alias, Version: pp.Version}); err != nil {
		return nil, invalid("%v", err)
	}
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	a, err := reg.SetModelAlias(ctx, &registry.SetModelAliasParams{Model: pp.Model, Alias: pp.Alias, Version: pp.Version, By: pp.By, Now: p.opts.Now()})
	if errors.Is(err, registry.ErrNotFound) {
		return nil, fmt.Errorf("model %s has no version %d: %w (`slipway models show %s` lists its versions)", pp.Model, pp.Version, registry.ErrNotFound, pp.Model)
	}
	return a, err
}

// RollbackModel moves an alias back to the version it pointed at before
// its last move; the rollback is itself a recorded move.
func (p *Platform) RollbackModel(ctx context.Context, rp *RollbackParams) (*registry.ModelAlias, error) {
	if rp.Alias == "" {
		rp.Alias = resource.DefaultModelAlias
	}
	if err := resource.ValidateName(rp.Model); err != nil {
		return nil, invalid("model %v", err)
	}
	if err := resource.ValidateName(rp.Alias); err != nil {
		return nil, invalid("alias %v", err)
	}
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	h, err := reg.ModelAliasHistory(ctx, rp.Model, rp.Alias)
	if err != nil {
		return nil, err
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("model %s has no alias %s: %w", rp.Model, rp.Alias, registry.ErrNotFound)
	}
	last := h[len(h)-1]
	if last.From == 0 {
		return nil, invalid("alias %s of model %s has pointed only at version %d since it was created: there is nothing to roll back to (promote another version instead)", rp.Alias, rp.Model, last.To)
	}
	expect := last.To
	a, err := reg.SetModelAlias(ctx, &registry.SetModelAliasParams{Model: rp.Model, Alias: rp.Alias, Version: last.From, By: rp.By, Now: p.opts.Now(), Expect: &expect})
	if errors.Is(err, registry.ErrAliasMoved) {
		return nil, fmt.Errorf("%w: alias %s of model %s moved while rolling back; look at `slipway models show %s` and try again", err, rp.Alias, rp.Model, rp.Model)
	}
	return a, err
}
