package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// Job kinds: what a registry.Job of the coordinator does.
const (
	// JobTransformation builds one transformation's table.
	JobTransformation = "transformation"
	// JobMaterialize writes the latest values of a group of features of one
	// source to the online store.
	JobMaterialize = "materialize"
	// JobExport writes a training set to a file.
	JobExport = "export"
)

// exportArgs are an export job's arguments.
type exportArgs struct {
	Format string `json:"format"`
	Path   string `json:"path"`
	// Encoded writes the model-ready matrix (csv) and its schema (SchemaPath).
	Encoded bool `json:"encoded,omitempty"`
}

// DefaultMaxAttempts is how many attempts a job gets unless configured.
const DefaultMaxAttempts = 5

// batch collects the jobs of one enqueue, each transformation once, with
// the dependencies between them.
type batch struct {
	c     *Coordinator
	jobs  []registry.NewJob
	index map[resource.ID]int // transformation → its job's index
}

func (c *Coordinator) newBatch() *batch {
	return &batch{c: c, index: map[resource.ID]int{}}
}

func (c *Coordinator) maxAttempts() int {
	if c.MaxAttempts > 0 {
		return c.MaxAttempts
	}
	return DefaultMaxAttempts
}

func (b *batch) add(j registry.NewJob) int {
	j.MaxAttempts = b.c.maxAttempts()
	b.jobs = append(b.jobs, j)
	return len(b.jobs) - 1
}

// transformation adds a job building t after those of its transformation
// inputs that are not ready (all of them when rebuild is set), and returns
// its index.
func (b *batch) transformation(ctx context.Context, t *resource.Resource, rebuild func(resource.ID) bool) (int, error) {
	if i, ok := b.index[t.ID]; ok {
		return i, nil
	}
	var after []int
	for _, in := range t.Transformation.Inputs {
		if in.Kind != resource.KindTransformation {
			continue
		}
		i, err := b.need(ctx, in, rebuild)
		if err != nil {
			return 0, err
		}
		if i >= 0 {
			after = append(after, i)
		}
	}
	i := b.add(registry.NewJob{Kind: JobTransformation, Resource: t.ID, After: after})
	b.index[t.ID] = i
	return i, nil
}

// need returns the index of the job building id, the source or
// transformation a feature, label or transformation reads, when it needs
// building, or -1 when it is ready (or a source, which is never built).
func (b *batch) need(ctx context.Context, id resource.ID, rebuild func(resource.ID) bool) (int, error) {
	if id.Kind != resource.KindTransformation {
		return -1, nil
	}
	if i, ok := b.index[id]; ok {
		return i, nil
	}
	r, err := b.c.Registry.Get(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", id, err)
	}
	if r.State.Status == resource.StatusReady && !rebuild(id) {
		return -1, nil
	}
	return b.transformation(ctx, r, rebuild)
}

func (b *batch) enqueue(ctx context.Context) ([]*registry.Job, error) {
	if len(b.jobs) == 0 {
		return nil, nil
	}
	jobs, err := b.c.Registry.EnqueueJobs(ctx, &registry.EnqueueJobsParams{Jobs: b.jobs, Now: b.c.now()})
	if err != nil {
		return nil, fmt.Errorf("enqueueing jobs: %w", err)
	}
	return jobs, nil
}

func never(resource.ID) bool { return false }

// EnqueueRun queues jobs building the selected transformations (all when
// p.IDs is empty) and the upstream transformations they need that are not
// ready, each after its inputs. Ready transformations are skipped unless
// p.Rebuild is set. It returns the queued jobs (none when all are ready).
func (c *Coordinator) EnqueueRun(ctx context.Context, p *RunParams) ([]*registry.Job, error) {
	all, err := c.Registry.List(ctx, &registry.ListParams{Kind: resource.KindTransformation})
	if err != nil {
		return nil, fmt.Errorf("listing transformations: %w", err)
	}
	selected := map[resource.ID]bool{}
	for _, id := range p.IDs {
		if !slices.ContainsFunc(all, func(r *resource.Resource) bool { return r.ID == id }) {
			return nil, fmt.Errorf("%w: %s", registry.ErrNotFound, id)
		}
		selected[id] = true
	}
	if len(p.IDs) == 0 {
		for _, r := range all {
			selected[r.ID] = true
		}
	}
	rebuild := func(id resource.ID) bool { return p.Rebuild && selected[id] }
	b := c.newBatch()
	for _, r := range all {
		if !selected[r.ID] {
			continue
		}
		if _, err := b.need(ctx, r.ID, rebuild); err != nil {
			return nil, err
		}
	}
	return b.enqueue(ctx)
}

// features reads the named features (every feature when ids is empty), each once.
func (c *Coordinator) features(ctx context.Context, ids []resource.ID) ([]*resource.Resource, error) {
	if len(ids) == 0 {
		all, err := c.Registry.List(ctx, &registry.ListParams{Kind: resource.KindFeature})
		if err != nil {
			return nil, fmt.Errorf("listing features: %w", err)
		}
		return all, nil
	}
	var feats []*resource.Resource
	seen := map[resource.ID]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		f, err := c.Registry.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", id, err)
		}
		if f.Kind != resource.KindFeature {
			return nil, fmt.Errorf("%s is not a feature", id)
		}
		feats = append(feats, f)
	}
	return feats, nil
}

// EnqueueExport queues a job exporting a training set to a file, after the
// jobs building the sources of its label and features that are not ready.
// The job gets the path made absolute, and a path that cannot be written
// is refused before anything is queued.
func (c *Coordinator) EnqueueExport(ctx context.Context, p *ExportParams) ([]*registry.Job, error) {
	// A format the store cannot write is the caller's mistake, not the training set's failure.
	if p.Encoded && p.Format != "csv" {
		return nil, fmt.Errorf("an encoded export is a csv file, not %s: %w", p.Format, offline.ErrUnsupported)
	}
	if formats := c.Offline.Capabilities().ExportFormats; !p.Encoded && !slices.Contains(formats, p.Format) {
		return nil, fmt.Errorf("this offline store exports %s, not %s: %w", strings.Join(formats, ", "), p.Format, offline.ErrUnsupported)
	}
	path, err := filepath.Abs(p.Path)
	if err != nil {
		return nil, fmt.Errorf("output path %s: %w", p.Path, err)
	}
	if err := CheckOutputPath(path); err != nil {
		return nil, err
	}
	b := c.newBatch()
	after, err := b.trainingSetInputs(ctx, p.TrainingSet, never)
	if err != nil {
		return nil, err
	}
	b.add(registry.NewJob{Kind: JobExport, Resource: p.TrainingSet, Args: encodeArgs(exportArgs{Format: p.Format, Path: path, Encoded: p.Encoded}), After: after})
	return b.enqueue(ctx)
}

// Downstream returns what to work after RetryJob(j): j, the queued jobs
// that wait for it (directly or not), and the unfinished jobs those also
// wait for, so that working the set in one process cannot wait for ever on
// a job outside it.
func (c *Coordinator) Downstream(ctx context.Context, j *registry.Job) ([]*registry.Job, error) {
	queued, err := c.Registry.ListJobs(ctx, &registry.ListJobsParams{Statuses: []registry.JobStatus{registry.JobQueued}, Limit: 1000})
	if err != nil {
		return nil, fmt.Errorf("listing queued jobs: %w", err)
	}
	slices.Reverse(queued) // oldest first: a job's dependencies come before it
	out := []*registry.Job{j}
	in := map[int64]bool{j.ID: true}
	for _, q := range queued {
		if !in[q.ID] && slices.ContainsFunc(q.DependsOn, func(id int64) bool { return in[id] }) {
			in[q.ID] = true
			out = append(out, q)
		}
	}
	// Their other upstream jobs that have not ended, transitively.
	for i := 0; i < len(out); i++ {
		for _, id := range out[i].DependsOn {
			if in[id] {
				continue
			}
			up, err := c.Registry.GetJob(ctx, id)
			if err != nil {
				return nil, fmt.Errorf("reading job %d: %w", id, err)
			}
			if !up.Status.Ended() {
				in[id] = true
				out = append(out, up)
			}
		}
	}
	return out, nil
}

// encodeArgs encodes a job's arguments; they are plain structs of strings
// and numbers, which always encode.
func encodeArgs(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// decodeArgs decodes a job's arguments into v.
func decodeArgs(j *registry.Job, v any) error {
	if err := json.Unmarshal(j.Args, v); err != nil {
		return fmt.Errorf("%w: job %d has arguments this version cannot read (%v): enqueue it again", errPermanent, j.ID, err)
	}
	return nil
}

// errNotYet marks a wait for another job (an input it is building): the
// attempt is retried later, like a transient failure.
var errNotYet = errors.New("not yet")

// errPermanent marks an error that no retry can fix (an input that is not
// built, unreadable arguments), whatever its cause looks like.
var errPermanent = errors.New("cannot be retried")
