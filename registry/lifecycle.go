package registry

// The lifecycle of a registered resource: registered, optionally
// deprecated (still readable and usable, hidden from default listings),
// and finally deleted. A deleted resource stays in the registry as a
// tombstone: its definition, its dependency edges and who deleted it when
// remain queryable (List with Deleted), but Get answers a *DeletedError, no
// resource that is not deleted may depend on it, and its name:variant is
// never registered again (Apply refuses it, whatever the definition).

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-ml/slipway/resource"
)

// DeprecateParams is the input of Store.Deprecate.
//
// Deprecate records Mark (At is set by the store) unless the resource is
// already deprecated, which keeps its first mark; with Undo it clears the
// mark. It returns the resource as recorded. ErrNotFound for an unknown
// resource, a *DeletedError for a deleted one.
type DeprecateParams struct {
	ID resource.ID
	// By names who deprecates it; Reason says why (both optional).
	By, Reason string
	// Undo takes a deprecation back.
	Undo bool
}

// DeleteParams is the input of Store.Delete.
//
// Delete records the deletion (At set by the store) in one transaction
// that first checks that no resource that is not deleted depends on it
// (a *DependentsError naming them otherwise). Deleting a deleted resource
// changes nothing and returns its tombstone, so a caller whose clean-up
// after the deletion was interrupted can run it again. ErrNotFound for an
// unknown resource.
type DeleteParams struct {
	ID resource.ID
	// By names who deletes it; Reason says why (both optional).
	By, Reason string
}

// Lifecycle sentinel errors; implementations wrap them so callers use errors.Is.
var (
	ErrDeleted       = errors.New("resource is deleted")
	ErrHasDependents = errors.New("resource has dependents")
)

// DeletedError says that a resource is deleted; it holds the tombstone.
// errors.Is matches both ErrDeleted and ErrNotFound, so callers that only
// know "not found" treat a deleted resource as gone.
type DeletedError struct {
	Resource *resource.Resource
}

func (e *DeletedError) Error() string {
	return fmt.Sprintf("%s was deleted %s", e.Resource.ID, DescribeMark(e.Resource.State.Deleted))
}

// Unwrap makes errors.Is(err, ErrDeleted) and errors.Is(err, ErrNotFound) true.
func (e *DeletedError) Unwrap() []error { return []error{ErrDeleted, ErrNotFound} }

// DependentsError refuses to delete a resource that resources not deleted
// depend on.
type DependentsError struct {
	ID         resource.ID
	Dependents []resource.ID
}

func (e *DependentsError) Error() string {
	names := make([]string, len(e.Dependents))
	for i, d := range e.Dependents {
		names[i] = d.String()
	}
	return fmt.Sprintf("%s is used by %s: delete those first (or keep it, deprecated)", e.ID, strings.Join(names, ", "))
}

// Unwrap makes errors.Is(err, ErrHasDependents) true.
func (e *DependentsError) Unwrap() error { return ErrHasDependents }

// DescribeMark formats a lifecycle mark for messages: "at 2026-12-03
// 14:05:00 UTC by ana (reason)".
func DescribeMark(m *resource.Mark) string {
	if m == nil {
		return ""
	}
	s := "at " + m.At.UTC().Format("2006-01-02 15:04:05 UTC")
	if m.By != "" {
		s += " by " + m.By
	}
	if m.Reason != "" {
		s += " (" + m.Reason + ")"
	}
	return s
}

// DeletedDependencies returns, for each resource of a batch, the error
// Apply gives when the resource depends on a deleted one; deleted maps the
// deleted dependencies (as read by the implementation) to their tombstones.
func DeletedDependencies(batch []*resource.Resource, deleted map[resource.ID]*resource.Resource) error {
	for _, r := range batch {
		for _, d := range r.Dependencies() {
			if t, ok := deleted[d]; ok {
				return fmt.Errorf("registering %s: it refers to %w; refer to another variant", r.ID, &DeletedError{Resource: t})
			}
		}
	}
	return nil
}

// ReappliedDeleted is Apply's error for a batch resource whose name:variant
// is a tombstone.
func ReappliedDeleted(tombstone *resource.Resource) error {
	return fmt.Errorf("registering %w; a deleted variant is never registered again: give the definition a new variant", &DeletedError{Resource: tombstone})
}

// RunningExperiment returns the experiment running on an endpoint: one
// neither deprecated (ended) nor deleted, or nil. Plan lets one run per
// endpoint; should two be registered at once, the older one runs, for
// serving and for the feedback loop alike.
func RunningExperiment(ctx context.Context, s Store, endpoint resource.ID) (*resource.Resource, error) {
	all, err := s.List(ctx, &ListParams{Kind: resource.KindExperiment, NotDeprecated: true})
	if err != nil {
		return nil, fmt.Errorf("listing experiments: %w", err)
	}
	var run *resource.Resource
	for _, r := range all {
		if r.Experiment == nil || r.Experiment.Endpoint != endpoint {
			continue
		}
		if run == nil || r.State.CreatedAt.Before(run.State.CreatedAt) {
			run = r
		}
	}
	return run, nil
}
