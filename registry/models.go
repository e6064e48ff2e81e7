package registry

// Model versions and aliases. A model is known by its name (a
// resource.ValidateName name); its versions are numbered 1, 2, 3… by the
// store and never change once created; an alias (production, staging, …)
// points at one version and moves, each move recorded. Why they are kept
// this way is in docs/design/models.md ("Model versions and aliases").

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/slipway-ml/slipway/resource"
)

// ModelStore keeps model versions and aliases, in the registry database.
type ModelStore interface {
	// CreateModelVersion records a new version of a model, numbered one
	// more than the model's last (1 for its first). Concurrent creates get
	// distinct consecutive numbers. The artifact's sha256 is computed by
	// the store (and checked against Artifact.SHA256 when given).
	CreateModelVersion(ctx context.Context, p *CreateModelVersionParams) (*ModelVersion, error)
	// GetModelVersion returns one version, its artifact bytes included, or
	// ErrNotFound.
	GetModelVersion(ctx context.Context, model string, version int) (*ModelVersion, error)
	// ModelVersionProfile returns the baseline profile recorded with a
	// version (CreateModelVersionParams.Profile), or ErrNotFound when the
	// version has none or does not exist.
	ModelVersionProfile(ctx context.Context, model string, version int) (json.RawMessage, error)
	// ListModels returns every model that has a version, ordered by name,
	// with its last version number.
	ListModels(ctx context.Context) ([]ModelInfo, error)
	// ListModelVersions returns a model's versions newest first, without
	// their artifact bytes (Artifact.Size and SHA256 are set). An unknown
	// model has none.
	ListModelVersions(ctx context.Context, p *ListModelVersionsParams) ([]*ModelVersion, error)
	// SetModelAlias points an alias at a version, creating the alias if
	// needed, and records the move. ErrNotFound when the version does not
	// exist; ErrAliasMoved when Expect is set and the alias is not there.
	// Setting an alias to the version it points at changes nothing and
	// records nothing.
	SetModelAlias(ctx context.Context, p *SetModelAliasParams) (*ModelAlias, error)
	// GetModelAlias returns an alias, or ErrNotFound.
	GetModelAlias(ctx context.Context, model, alias string) (*ModelAlias, error)
	// ListModelAliases returns a model's aliases ordered by name.
	ListModelAliases(ctx context.Context, model string) ([]*ModelAlias, error)
	// ModelAliasHistory returns every move of an alias, oldest first
	// (none for an unknown alias).
	ModelAliasHistory(ctx context.Context, model, alias string) ([]*ModelAliasMove, error)
}

// ModelInfo names a model that has versions, and its newest.
type ModelInfo struct {
	Model         string
	LatestVersion int
}

// MaxArtifactBytes is the largest model artifact the registry stores, on
// SQLite and PostgreSQL alike: well under PostgreSQL's 1 GiB bytea limit
// and SQLite's default 1 GB blob limit, and small enough that a version is
// read and written in one piece.
const MaxArtifactBytes = 256 << 20

// Model sentinel errors; implementations wrap them so callers use errors.Is.
var (
	// ErrAliasMoved: SetModelAliasParams.Expect did not match the alias.
	ErrAliasMoved = errors.New("model alias moved")
	// ErrArtifactTooLarge: the artifact is over MaxArtifactBytes.
	ErrArtifactTooLarge = errors.New("model artifact too large")
	// ErrArtifactChecksum: the artifact's bytes do not have the sha256 given.
	ErrArtifactChecksum = errors.New("model artifact sha256 mismatch")
)

// Artifact is a trained model's file.
type Artifact struct {
	// Format names how Bytes are read (for example xgboost-json).
	Format string
	// Bytes is the file; nil in ListModelVersions.
	Bytes []byte
	// SHA256 is the hex digest of Bytes, lower-case. Set by the store; in
	// CreateModelVersionParams, when set, the digest Bytes must have.
	SHA256 string
	// Size is len(Bytes); set by the store.
	Size int64
}

// ModelVersion is one immutable version of a model.
type ModelVersion struct {
	Model    string
	Version  int
	Artifact Artifact
	// TrainingSet is the training set variant it was trained on (the zero
	// ID when unknown) and TrainingRows its row count.
	TrainingSet  resource.ID
	TrainingRows int64
	// LabelStart and LabelEnd bound the label times trained on (zero when
	// unknown).
	LabelStart, LabelEnd time.Time
	// Metrics are the holdout metrics by name (auc, log_loss, …).
	Metrics map[string]float64
	// Encoding is the feature vector encoding, JSON stored verbatim.
	Encoding json.RawMessage
	// Trainer names what trained it.
	Trainer   string
	CreatedBy string
	CreatedAt time.Time
}

// CreateModelVersionParams is the input of ModelStore.CreateModelVersion.
type CreateModelVersionParams struct {
	Model string
	// Artifact: Format and Bytes required, SHA256 checked when set, Size
	// ignored. At most MaxArtifactBytes.
	Artifact     Artifact
	TrainingSet  resource.ID
	TrainingRows int64
	// LabelStart and LabelEnd: both zero, or LabelStart not after LabelEnd.
	LabelStart, LabelEnd time.Time
	// Metrics must be finite numbers.
	Metrics map[string]float64
	// Encoding, when set, must be valid JSON.
	Encoding json.RawMessage
	Trainer  string
	// Profile, when set, is the version's baseline profile (its training
	// data and its predictions on the holdout, summarised by package
	// profile), stored verbatim; it must be valid JSON.
	Profile json.RawMessage
	// By names who creates it.
	By string
	// Now is CreatedAt; when zero, the store's clock.
	Now time.Time
}

// ListModelVersionsParams is the input of ModelStore.ListModelVersions.
type ListModelVersionsParams struct {
	Model string
	// Limit caps the number of versions (0: 100).
	Limit int
}

// ModelAlias is a named pointer at one version of a model.
type ModelAlias struct {
	Model   string
	Alias   string
	Version int
	// UpdatedBy and UpdatedAt say who moved it last, when.
	UpdatedBy string
	UpdatedAt time.Time
}

// SetModelAliasParams is the input of ModelStore.SetModelAlias.
type SetModelAliasParams struct {
	Model   string
	Alias   string
	Version int
	// By names who moves it.
	By string
	// Now is when; when zero, the store's clock.
	Now time.Time
	// Expect, when set, makes the move conditional (compare-and-set): the
	// alias must point at version *Expect, or not exist when *Expect is 0.
	// Otherwise nothing changes and the error wraps ErrAliasMoved.
	Expect *int
}

// ModelAliasMove is one recorded move of an alias.
type ModelAliasMove struct {
	Model string
	Alias string
	// From is the version it pointed at before (0: the alias was created);
	// To the version it points at after.
	From, To int
	By       string
	At       time.Time
}

// CheckModelVersion validates CreateModelVersionParams before an
// implementation touches storage (the artifact's size first, its digest not
// yet computed).
func CheckModelVersion(p *CreateModelVersionParams) error {
	if p == nil {
		return errors.New("creating a model version: params are nil")
	}
	if err := resource.ValidateName(p.Model); err != nil {
		return fmt.Errorf("creating a model version: model %w", err)
	}
	where := "creating a version of model " + p.Model
	if n := len(p.Artifact.Bytes); n > MaxArtifactBytes {
		return fmt.Errorf("%s: %w: %d bytes is over the registry's limit of %d bytes (256 MiB): keep larger models elsewhere",
			where, ErrArtifactTooLarge, n, MaxArtifactBytes)
	}
	if len(p.Artifact.Bytes) == 0 {
		return fmt.Errorf("%s: the artifact is empty: give the model file's bytes", where)
	}
	if p.Artifact.Format == "" {
		return fmt.Errorf("%s: the artifact format is empty: name it (for example xgboost-json)", where)
	}
	if p.TrainingSet != (resource.ID{}) {
		if p.TrainingSet.Kind != resource.KindTrainingSet {
			return fmt.Errorf("%s: training set %s is a %s, not a training_set", where, p.TrainingSet, p.TrainingSet.Kind)
		}
		if err := p.TrainingSet.Validate(); err != nil {
			return fmt.Errorf("%s: training set: %w", where, err)
		}
	}
	if p.TrainingRows < 0 {
		return fmt.Errorf("%s: training rows %d is negative", where, p.TrainingRows)
	}
	if p.LabelStart.After(p.LabelEnd) {
		return fmt.Errorf("%s: label time range starts at %s, after its end %s", where,
			p.LabelStart.Format(time.RFC3339Nano), p.LabelEnd.Format(time.RFC3339Nano))
	}
	for name, v := range p.Metrics {
		if name == "" {
			return fmt.Errorf("%s: a metric has an empty name", where)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: metric %s is %v: record only finite numbers", where, name, v)
		}
	}
	if len(p.Encoding) > 0 && !json.Valid(p.Encoding) {
		return fmt.Errorf("%s: the encoding is not valid JSON", where)
	}
	if len(p.Profile) > 0 && !json.Valid(p.Profile) {
		return fmt.Errorf("%s: the profile is not valid JSON", where)
	}
	return nil
}

// CheckModelAlias validates SetModelAliasParams before an implementation
// touches storage.
func CheckModelAlias(p *SetModelAliasParams) error {
	if p == nil {
		return errors.New("setting a model alias: params are nil")
	}
	if err := resource.ValidateName(p.Model); err != nil {
		return fmt.Errorf("setting a model alias: model %w", err)
	}
	if err := resource.ValidateName(p.Alias); err != nil {
		return fmt.Errorf("setting an alias of model %s: alias %w", p.Model, err)
	}
	if p.Version < 1 {
		return fmt.Errorf("setting alias %s of model %s: version %d: versions start at 1", p.Alias, p.Model, p.Version)
	}
	if p.Expect != nil && *p.Expect < 0 {
		return fmt.Errorf("setting alias %s of model %s: expected version %d is negative (0: the alias must not exist)", p.Alias, p.Model, *p.Expect)
	}
	return nil
}
