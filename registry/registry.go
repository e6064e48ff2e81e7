package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/resource"
)

// Store is the metadata store: every registered resource, its state and its dependency edges.
type Store interface {
	// Apply registers resources in one transaction. A resource whose
	// name:variant is already registered with an identical definition is
	// unchanged; one with a different definition fails the whole apply with a
	// *ConflictError. Nothing is written unless everything is. A
	// resource's State.Dir, when set, is recorded, replacing the one an
	// earlier apply recorded (unchanged resources included).
	Apply(ctx context.Context, p *ApplyParams) (*ApplyResult, error)
	// Get returns one resource with its state, or ErrNotFound. A deleted
	// resource is a *DeletedError (which is ErrNotFound too) holding its
	// tombstone.
	Get(ctx context.Context, id resource.ID) (*resource.Resource, error)
	// List returns the resources of one kind (all kinds when Kind is ""),
	// ordered by kind, name, variant. Deleted resources are left out
	// unless ListParams.Deleted says otherwise.
	List(ctx context.Context, p *ListParams) ([]*resource.Resource, error)
	// Dependents returns the resources that are not deleted whose
	// definitions refer to id, ordered like List.
	Dependents(ctx context.Context, id resource.ID) ([]resource.ID, error)
	// SetStatus records a resource's status, error and (when non-nil) schema. ErrNotFound if unknown.
	SetStatus(ctx context.Context, p *SetStatusParams) error
	// Deprecate marks a resource deprecated (with Undo, no longer) and
	// returns it; see lifecycle.go.
	Deprecate(ctx context.Context, p *DeprecateParams) (*resource.Resource, error)
	// Delete marks a resource deleted, keeping its definition as a
	// tombstone, and returns it; see lifecycle.go.
	Delete(ctx context.Context, p *DeleteParams) (*resource.Resource, error)
	// ID identifies this registry: random, fixed when the registry is
	// created. Offline stores record it (offline.Store.Claim) so that two
	// registries never share, and overwrite, one offline store's tables.
	ID(ctx context.Context) (string, error)
	// JobStore is the durable job queue, in the same database.
	JobStore
	// ModelStore keeps model versions and aliases (models.go).
	ModelStore
	// MonitorStore records monitor runs and their results (monitors.go).
	MonitorStore
	// Close releases the store.
	Close() error
}

// ApplyParams is the input of Store.Apply.
type ApplyParams struct {
	// Resources to register. Their State gives the initial status and
	// schema, and the directory (State.Dir) to record; CreatedAt and
	// UpdatedAt are set by the store.
	Resources []*resource.Resource
}

// ApplyResult says what Apply did, in the order of ApplyParams.Resources.
type ApplyResult struct {
	Created   []resource.ID
	Unchanged []resource.ID
}

// ListParams filters List. The zero value lists every resource that is
// not deleted.
type ListParams struct {
	Kind resource.Kind
	// Name keeps the variants of one name.
	Name string
	// NotDeprecated leaves out deprecated resources.
	NotDeprecated bool
	// Deleted includes deleted resources (tombstones).
	Deleted bool
}

// SetStatusParams is the input of Store.SetStatus.
type SetStatusParams struct {
	ID     resource.ID
	Status resource.Status
	Error  string
	// Schema replaces the recorded schema when non-nil.
	Schema []resource.Column
	// Watermark, when not zero, raises the recorded watermark to it; a
	// watermark never moves back (an earlier one leaves it as it is), so
	// two materializations finishing in either order leave the later mark.
	Watermark time.Time
	// Materialized, when not nil, records a successful materialization of a
	// feature, unless one that ended later is recorded already (like the
	// watermark, it never moves back).
	Materialized *resource.Materialization
	// SourceFile replaces the recorded file state of a file source when non-nil.
	SourceFile *resource.FileState
}

// Sentinel errors; implementations wrap them so callers use errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("registered variant has a different definition")
)

// ConflictError is returned by Apply when a registered variant would change.
type ConflictError struct {
	ID    resource.ID
	Diffs []resource.FieldDiff
}

func (e *ConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s is already registered with a different definition", e.ID)
	for _, d := range e.Diffs {
		for i, line := range d.Lines() {
			indent := "\n  "
			if i > 0 {
				indent = "\n    "
			}
			b.WriteString(indent + line)
		}
	}
	fmt.Fprintf(&b, "\nregistered variants never change: give the changed definition a new variant (for example %s:v2)", e.ID.Name)
	return b.String()
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// ApplyBatch is the check every implementation runs before Apply touches
// storage: it validates each resource's ID and status, and removes identical
// duplicates (a duplicate with a different definition is a *ConflictError).
// It returns the resources to apply and their canonical definitions.
func ApplyBatch(p *ApplyParams) ([]*resource.Resource, map[resource.ID][]byte, error) {
	var batch []*resource.Resource
	defs := map[resource.ID][]byte{}
	firsts := map[resource.ID]*resource.Resource{}
	for i, r := range p.Resources {
		if r == nil {
			return nil, nil, fmt.Errorf("applying resource %d: resource is nil", i)
		}
		if err := r.ID.Validate(); err != nil {
			return nil, nil, fmt.Errorf("applying %s: %w", r.ID, err)
		}
		if r.State.Status != "" && !r.State.Status.Valid() {
			return nil, nil, fmt.Errorf("applying %s: unknown status %q", r.ID, r.State.Status)
		}
		def := r.Definition()
		if prev, ok := defs[r.ID]; ok {
			if !bytes.Equal(prev, def) {
				return nil, nil, &ConflictError{ID: r.ID, Diffs: resource.Diff(firsts[r.ID], r)}
			}
			continue
		}
		defs[r.ID] = def
		firsts[r.ID] = r
		batch = append(batch, r)
	}
	return batch, defs, nil
}
