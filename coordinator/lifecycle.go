package coordinator

// Deprecating and deleting resources: the one library API the CLI and the
// HTTP API call. The registry records the change; deleting also removes
// what the resource holds in the stores.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// ErrInUse refuses to delete a resource that a queued or running job works on.
var ErrInUse = errors.New("resource is in use by a job")

// Deprecate marks a resource deprecated (or, with Undo, no longer): it
// stays readable and usable, `slipway list` hides it unless asked, and
// plan warns about definitions that refer to it.
//
// Undoing an experiment's deprecation starts it again, so it is refused
// while another experiment runs on its endpoint (ErrExperimentRefused).
func (c *Coordinator) Deprecate(ctx context.Context, p *registry.DeprecateParams) (*resource.Resource, error) {
	if p.Undo && p.ID.Kind == resource.KindExperiment {
		exp, err := c.Registry.Get(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		if exp.Experiment != nil && exp.State.Deprecated != nil {
			other, err := registry.RunningExperiment(ctx, c.Registry, exp.Experiment.Endpoint)
			if err != nil {
				return nil, err
			}
			if other != nil && other.ID != exp.ID {
				return nil, refuseExperiment("experiment %s runs on endpoint %s; one experiment runs per endpoint, so conclude or stop it before starting %s again",
					other.Ref(), exp.Experiment.Endpoint.Ref(), exp.Ref())
			}
		}
	}
	r, err := c.Registry.Deprecate(ctx, p)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DeleteResult says what Delete did.
type DeleteResult struct {
	// Resource is the tombstone: the definition with State.Deleted.
	Resource *resource.Resource
	// Again is true when the resource was already deleted and only its
	// clean-up ran again.
	Again bool
	// Table is the offline table or view dropped ("" when the kind has none).
	Table string
	// OnlineFeature is the feature whose online values were deleted ("" when none).
	OnlineFeature string
}

// NeedsOffline and NeedsOnline report which stores Delete uses for a kind:
// sources and transformations have an offline view or table, features have
// online values.
func NeedsOffline(k resource.Kind) bool {
	return k == resource.KindSource || k == resource.KindTransformation
}

// NeedsOnline reports whether deleting a resource of kind k deletes online values.
func NeedsOnline(k resource.Kind) bool { return k == resource.KindFeature }

// Delete deletes a resource: it is refused while resources that are not
// deleted depend on it (a *registry.DependentsError naming them) or while
// a queued or running job works on it (ErrInUse). The registry records the
// deletion first (who and when; the definition stays as a tombstone), then
// the resource's offline table or view is dropped and, for a feature, its
// online values are deleted. Deleting a deleted resource runs that
// clean-up again, so a deletion interrupted half-way is finished by running
// it again.
func (c *Coordinator) Delete(ctx context.Context, p *registry.DeleteParams) (*DeleteResult, error) {
	id := p.ID
	res := &DeleteResult{}
	_, err := c.Registry.Get(ctx, id)
	var de *registry.DeletedError
	switch {
	case errors.As(err, &de):
		res.Again = true
	case errors.Is(err, registry.ErrNotFound):
		return nil, fmt.Errorf("%s: %w (`slipway list %s` shows what is registered)", id, registry.ErrNotFound, id.Kind)
	case err != nil:
		return nil, err
	}
	if NeedsOffline(id.Kind) && c.Offline == nil {
		return nil, fmt.Errorf("deleting %s needs the offline store, which is not open", id)
	}
	if NeedsOnline(id.Kind) && c.Online == nil {
		return nil, fmt.Errorf("deleting %s needs the online store, which is not open", id)
	}
	if err := c.requireIdle(ctx, id); err != nil {
		return nil, err
	}
	t, err := c.Registry.Delete(ctx, p)
	if err != nil {
		return nil, err
	}
	res.Resource = t
	unfinished := func(what string, err error) error {
		return fmt.Errorf("%s is deleted in the registry, but %s failed: %w; run the delete again to finish", id, what, err)
	}
	if NeedsOffline(id.Kind) {
		res.Table = offline.TableName(id)
		if err := c.Offline.DropTable(ctx, &offline.DropTableParams{Table: res.Table}); err != nil {
			return res, unfinished("dropping its offline table", err)
		}
	}
	if NeedsOnline(id.Kind) {
		res.OnlineFeature = id.Ref().String()
		if err := c.Online.DeleteFeatures(ctx, &online.DeleteFeaturesParams{Features: []string{res.OnlineFeature}}); err != nil {
			return res, unfinished("deleting its online values", err)
		}
	}
	return res, nil
}

// requireIdle fails with ErrInUse when a queued or running job works on
// id. A queued job runs only when a worker takes it: one that a killed
// command left (recovery queued it again) waits for ever where no worker
// runs, so the error says to cancel it or start one.
func (c *Coordinator) requireIdle(ctx context.Context, id resource.ID) error {
	var busy *registry.Job
	err := c.eachJob(ctx, registry.ListJobsParams{Statuses: []registry.JobStatus{registry.JobQueued, registry.JobRunning}}, func(j *registry.Job) bool {
		if jobTouches(j, id) {
			busy = j
		}
		return busy == nil
	})
	switch {
	case err != nil:
		return fmt.Errorf("listing live jobs: %w", err)
	case busy == nil:
		return nil
	case busy.Status == registry.JobQueued:
		return fmt.Errorf("%w: job %d (%s %s) is queued, and runs only when a worker takes it; cancel it (slipway jobs cancel %d) or run it (slipway worker, until it ends), then delete again",
			ErrInUse, busy.ID, busy.Kind, busy.Resource.Ref(), busy.ID)
	default:
		return fmt.Errorf("%w: job %d (%s %s) is running; cancel it (slipway jobs cancel %d) or wait for it to end, then delete again",
			ErrInUse, busy.ID, busy.Kind, busy.Resource.Ref(), busy.ID)
	}
}

// eachJob calls f with every job p lists (whatever p.Limit says), newest
// first, a page at a time, until f returns false.
func (c *Coordinator) eachJob(ctx context.Context, p registry.ListJobsParams, f func(*registry.Job) bool) error {
	p.Limit = 1000
	for {
		page, err := c.Registry.ListJobs(ctx, &p)
		if err != nil {
			return err
		}
		for _, j := range page {
			if !f(j) {
				return nil
			}
		}
		if len(page) < p.Limit {
			return nil
		}
		p.BeforeID = page[len(page)-1].ID
	}
}

// jobTouches reports whether job j works on id: its resource, or one of
// the features it materializes (chunks included).
func jobTouches(j *registry.Job, id resource.ID) bool {
	if j.Resource == id || slices.Contains(jobResources(j), id) {
		return true
	}
	var args materializeArgs
	return j.Kind == JobMaterialize && decodeArgs(j, &args) == nil && slices.Contains(args.Features, id)
}
