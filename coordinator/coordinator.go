// Package coordinator runs Slipway's work: applying a plan, building
// transformations in dependency order, exporting training sets and
// materializing features into the online store. Every run records its
// resource's status and last error in the registry.
//
// Work is done as durable jobs in the registry's queue (registry.JobStore):
// Enqueue* queue them with their dependencies, a Worker runs them with
// leases, retries and cancellation, and a Scheduler queues the runs of
// scheduled resources. Run, Materialize and Export queue and work in one
// call. docs/design/jobs.md explains the design.
package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// Coordinator runs work against one set of stores.
type Coordinator struct {
	Registry registry.Store
	Offline  offline.Store
	// Online may be nil for commands that do not materialize.
	Online online.Store
	// Progress receives one line per step for people to read; nil discards.
	Progress io.Writer
	Logger   *slog.Logger
	// MaxAttempts is how many attempts each job gets (default DefaultMaxAttempts).
	MaxAttempts int
	// Now tells the time (default time.Now).
	Now func() time.Time
	// Feedback reads the prediction log and the feedback for the feedback
	// loop's jobs (package feedback's Reader; package feedback ships
	// through the coordinator, so it cannot be imported here). Without it,
	// experiment reviews and retraining on feedback fail.
	Feedback FeedbackReader
	// Checks are the monitor checks this build runs, by name
	// (resource.CheckDrift, …); a monitor's check without one records a
	// warning saying so (monitor.go).
	Checks map[string]MonitorChecker
	// Alerts posts monitors' alerts (nil: 5 attempts from 1s backoff).
	Alerts *Alerter
	// Getenv reads the environment variables webhooks refer to (default
	// os.LookupEnv).
	Getenv func(string) (string, bool)

	sayMu sync.Mutex // materializations report from several goroutines
}

func (c *Coordinator) say(format string, args ...any) {
	if c.Progress != nil {
		c.sayMu.Lock()
		defer c.sayMu.Unlock()
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

// Apply registers a plan's new resources in one registry transaction and
// (re)creates the offline views of its sources. A conflicting plan is
// refused whole.
func (c *Coordinator) Apply(ctx context.Context, plan *definition.Plan) (*registry.ApplyResult, error) {
	if err := plan.ConflictError(); err != nil {
		return nil, err
	}
	var rs []*resource.Resource
	for _, it := range plan.Items {
		r := it.Resource
		if it.Action == definition.Create {
			r.State.Status = resource.StatusPending
			if r.Kind == resource.KindEntity || r.Kind == resource.KindEndpoint || r.Kind == resource.KindExperiment || r.Kind == resource.KindMonitor {
				// Nothing to build: ready once registered.
				r.State.Status = resource.StatusReady
			}
		}
		rs = append(rs, r)
	}
	res, err := c.Registry.Apply(ctx, &registry.ApplyParams{Resources: rs})
	if err != nil {
		return nil, fmt.Errorf("registering: %w", err)
	}
	// Source views are (re)created on every apply: cheap, and it repairs a
	// view lost when its table was dropped and recreated, or an offline store
	// that is new to a registered project.
	for _, it := range plan.Items {
		if it.Resource.Kind != resource.KindSource {
			continue
		}
		if err := c.registerSource(ctx, it.Resource, it.Def.SourceQueryParams()); err != nil {
			return res, err
		}
	}
	return res, nil
}

// registerSource (re)creates a source's view over the file or table params
// locates (a relative file resolved against the YAML file of the definition
// being applied), so the view reads the file from wherever the definitions
// were applied.
func (c *Coordinator) registerSource(ctx context.Context, r *resource.Resource, params *offline.SourceQueryParams) error {
	q, err := c.Offline.SourceQuery(params)
	if err == nil {
		var res *offline.CreateTableResult
		res, err = c.Offline.CreateTable(ctx, &offline.CreateTableParams{Table: offline.TableName(r.ID), SQL: q, View: true})
		if err == nil {
			st := &registry.SetStatusParams{ID: r.ID, Status: resource.StatusReady, Schema: res.Columns}
			if params.File != "" {
				// What the view reads now, for `slipway show`.
				if fi, err := os.Stat(params.Path()); err == nil {
					st.SourceFile = &resource.FileState{Path: params.Path(), Size: fi.Size(), ModTime: fi.ModTime().UTC()}
				}
			}
			if err := c.Registry.SetStatus(context.WithoutCancel(ctx), st); err != nil {
				return fmt.Errorf("recording status of %s: %w", r.ID, err)
			}
			return nil
		}
	}
	err = fmt.Errorf("registering %s in the offline store: %w", r.ID, err)
	return errors.Join(err, c.setStatus(ctx, r.ID, resource.StatusFailed, err.Error(), nil))
}

func (c *Coordinator) setStatus(ctx context.Context, id resource.ID, st resource.Status, msg string, schema []resource.Column) error {
	// Status writes must land even when the run was cancelled, so a cancelled
	// run is recorded as failed rather than left running.
	ctx = context.WithoutCancel(ctx)
	if err := c.Registry.SetStatus(ctx, &registry.SetStatusParams{ID: id, Status: st, Error: msg, Schema: schema}); err != nil {
		return fmt.Errorf("recording status of %s: %w", id, err)
	}
	return nil
}

// RunParams selects the transformations Run builds.
type RunParams struct {
	// IDs to build (with any upstream transformation that is not ready); empty means all.
	IDs []resource.ID
	// Rebuild rebuilds the selected transformations even when they are ready.
	Rebuild bool
}

// RunResult counts what Run did.
type RunResult struct {
	Built, Failed int
	// Jobs are the jobs Run queued and worked, as they ended.
	Jobs []*registry.Job
}

// Run builds transformations in dependency order, as jobs worked in this
// process (EnqueueRun, then Work). Each variant has its own table,
// replaced atomically. It returns an error when any job failed.
func (c *Coordinator) Run(ctx context.Context, p *RunParams) (*RunResult, error) {
	jobs, err := c.EnqueueRun(ctx, p)
	if err != nil {
		return nil, err
	}
	ended, err := c.work(ctx, jobs)
	res := &RunResult{Jobs: ended}
	for _, j := range ended {
		if j.Status == registry.JobSucceeded {
			res.Built++
		} else {
			res.Failed++
		}
	}
	return res, err
}

// work runs jobs in this process until they end, and returns them ended
// with an error joining every failure.
func (c *Coordinator) work(ctx context.Context, jobs []*registry.Job) ([]*registry.Job, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	w := &Worker{Coordinator: c}
	ended, err := w.Work(ctx, JobIDs(jobs))
	if err != nil {
		return ended, err
	}
	return ended, JobErrors(ended)
}

// JobIDs returns the jobs' IDs.
func JobIDs(jobs []*registry.Job) []int64 {
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	return ids
}

// JobErrors joins the errors of the jobs that did not succeed.
func JobErrors(jobs []*registry.Job) error {
	var errs []error
	for _, j := range jobs {
		if j.Status != registry.JobSucceeded {
			errs = append(errs, fmt.Errorf("job %d (%s %s) %s: %s", j.ID, j.Kind, j.Resource.Ref(), j.Status, j.Error))
		}
	}
	return errors.Join(errs...)
}

// handle runs one attempt of a job.
func (c *Coordinator) handle(ctx context.Context, run *jobRun) error {
	j := run.job
	switch j.Kind {
	case JobTransformation:
		return c.buildTransformation(ctx, run)
	case JobMaterialize:
		return c.materializeJob(ctx, run)
	case JobExport:
		var args exportArgs
		if err := decodeArgs(j, &args); err != nil {
			return err
		}
		return c.export(ctx, run, args)
	case JobTrain:
		var args trainArgs
		if err := decodeArgs(j, &args); err != nil {
			return err
		}
		return c.train(ctx, run, args)
	case JobBatchPredict:
		var args batchPredictArgs
		if err := decodeArgs(j, &args); err != nil {
			return err
		}
		return c.batchPredict(ctx, run, args)
	case JobExperimentReview:
		return c.reviewExperiment(ctx, run)
	case JobMonitor:
		return c.runMonitor(ctx, run)
	case JobSkew:
		var args SkewParams
		if err := decodeArgs(j, &args); err != nil {
			return err
		}
		return c.skew(ctx, run, args)
	}
	return fmt.Errorf("%w: job %d is of kind %q, which this version of slipway does not know: upgrade it", errPermanent, j.ID, j.Kind)
}

// jobResources returns the resources whose status a job sets. A chunk of a
// materialization sets none: its commit job marks the features.
func jobResources(j *registry.Job) []resource.ID {
	if j.Kind == JobSkew {
		return nil // a measurement: the model's status is its training's
	}
	if j.Kind != JobMaterialize {
		return []resource.ID{j.Resource}
	}
	var args materializeArgs
	if decodeArgs(j, &args) != nil || (args.Chunks > 1 && !args.Commit) {
		return nil
	}
	return args.Features
}

// markRunning marks the job's resources running and returns their states
// before, to restore when the attempt ends without an outcome (cancelled,
// or queued again). A resource keeps the error of its last failed run while
// running, so that when the attempt's process dies, Reconcile can still
// tell a failed resource from one that was ready or pending.
func (c *Coordinator) markRunning(ctx context.Context, run *jobRun) map[resource.ID]resource.State {
	prev := map[resource.ID]resource.State{}
	for _, id := range jobResources(run.job) {
		r, err := c.Registry.Get(ctx, id)
		if err != nil {
			continue // the handler reports it
		}
		prev[id] = r.State
		if err := c.setStatus(ctx, id, resource.StatusRunning, r.State.Error, nil); err != nil {
			c.logger().Warn("recording a status", "resource", id, "error", err)
		}
	}
	return prev
}

// restore puts back the statuses an attempt found. One that was running
// (another attempt's, now over) gets the status settled gives it.
func (c *Coordinator) restore(ctx context.Context, prev map[resource.ID]resource.State) {
	for id, st := range prev {
		if st.Status == resource.StatusRunning {
			st.Status = c.settled(ctx, id, st)
		}
		if err := c.setStatus(ctx, id, st.Status, st.Error, nil); err != nil {
			c.logger().Warn("recording a status", "resource", id, "error", err)
		}
	}
}

func (c *Coordinator) setStatuses(ctx context.Context, prev map[resource.ID]resource.State, st resource.Status, msg string) {
	for id := range prev {
		if err := c.setStatus(ctx, id, st, msg, nil); err != nil {
			c.logger().Warn("recording a status", "resource", id, "error", err)
		}
	}
}

func (c *Coordinator) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// requireReady fails unless input id (a source or transformation) can be read. Jobs run after the jobs
// building their inputs, so an input that is not ready was broken outside
// this batch, and that failure is permanent; but an input that another job
// is rebuilding is still readable (its table is replaced atomically), and
// one being built for the first time is worth waiting for.
func (c *Coordinator) requireReady(ctx context.Context, id resource.ID) error {
	r, err := c.Registry.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("reading %s: %w", id, err)
	}
	switch {
	case r.State.Status == resource.StatusReady:
		return nil
	case r.State.Status != resource.StatusFailed && r.State.Schema != nil:
		return nil // being rebuilt: the previous table stays until the new one replaces it
	case r.State.Status == resource.StatusRunning:
		return fmt.Errorf("%w: input %s is being built by another job", errNotYet, id)
	}
	what := "run 'slipway run " + id.Ref().String() + "'"
	if id.Kind == resource.KindSource {
		what = "fix it and apply again"
	}
	msg := fmt.Sprintf("input %s is %s", id, r.State.Status)
	if r.State.Error != "" {
		msg += " (" + r.State.Error + ")"
	}
	return fmt.Errorf("%w: %s; %s", errPermanent, msg, what)
}

func (c *Coordinator) buildTransformation(ctx context.Context, run *jobRun) error {
	r, err := c.Registry.Get(ctx, run.job.Resource)
	if err != nil {
		return fmt.Errorf("reading %s: %w", run.job.Resource, err)
	}
	for _, in := range r.Transformation.Inputs {
		if err := c.requireReady(ctx, in); err != nil {
			return err
		}
	}
	start := time.Now()
	res, err := c.Offline.CreateTable(ctx, &offline.CreateTableParams{Table: offline.TableName(r.ID), SQL: definition.TransformationSQL(r)})
	if err != nil {
		return fmt.Errorf("running %s: %w", r.ID, err)
	}
	run.rows.Store(res.Rows)
	run.sayf("built %d rows in %s", res.Rows, time.Since(start).Round(time.Millisecond))
	return c.setStatus(ctx, r.ID, resource.StatusReady, "", res.Columns)
}

// sourceOf returns the source or transformation a feature or label reads.
func sourceOf(r *resource.Resource) resource.ID {
	if r.Label != nil {
		return r.Label.Source
	}
	return r.Feature.Source
}

// offlineLabel and offlineFeature locate a label's or a feature's values in
// the offline table of its source.
func offlineLabel(l *resource.LabelSpec) offline.Dataset {
	return offline.Dataset{Table: offline.TableName(l.Source), EntityColumn: l.EntityColumn, ValueColumn: l.ValueColumn, TimestampColumn: l.TimestampColumn}
}

func offlineFeature(f *resource.FeatureSpec) offline.Dataset {
	return offline.Dataset{Table: offline.TableName(f.Source), EntityColumn: f.EntityColumn, ValueColumn: f.ValueColumn, TimestampColumn: f.TimestampColumn}
}

// trainingSet resolves a training set into the offline join it stands for.
// The sources it reads must be built.
func (c *Coordinator) trainingSet(ctx context.Context, id resource.ID) (*offline.TrainingSetParams, error) {
	ts, err := c.Registry.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", id, err)
	}
	label, err := c.Registry.Get(ctx, ts.TrainingSet.Label)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ts.TrainingSet.Label, err)
	}
	if err := c.requireReady(ctx, label.Label.Source); err != nil {
		return nil, err
	}
	if label.State.Status != resource.StatusReady {
		// A label is ready once the data it reads is built.
		if err := c.setStatus(ctx, label.ID, resource.StatusReady, "", nil); err != nil {
			return nil, err
		}
	}
	p := &offline.TrainingSetParams{Label: offlineLabel(label.Label), LabelName: label.Name, LabelType: label.Label.Type, EntityName: label.Label.Entity}
	columns := ts.TrainingSet.FeatureColumns()
	for i, fid := range ts.TrainingSet.Features {
		f, err := c.Registry.Get(ctx, fid)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", fid, err)
		}
		if err := c.requireReady(ctx, f.Feature.Source); err != nil {
			return nil, err
		}
		p.Features = append(p.Features, offline.FeatureColumn{Dataset: offlineFeature(f.Feature), Name: columns[i], MaxAge: time.Duration(f.Feature.MaxAge), Type: f.Feature.Type})
	}
	return p, nil
}

// ExportParams is the input of Export.
type ExportParams struct {
	TrainingSet resource.ID
	Format      string
	// Path is the file to write; EnqueueExport makes it absolute, as the
	// job may run in a process with another working directory.
	Path string
	// Encoded writes the model-ready matrix as csv, and its schema next to
	// it (SchemaPath), instead of the feature values.
	Encoded bool
}

// Export writes a training set to a file inside the offline engine, as
// jobs worked in this process (EnqueueExport, then Work), and returns the
// row count.
func (c *Coordinator) Export(ctx context.Context, p *ExportParams) (int64, error) {
	jobs, err := c.EnqueueExport(ctx, p)
	if err != nil {
		return 0, err
	}
	ended, err := c.work(ctx, jobs)
	if err != nil || len(ended) == 0 {
		return 0, err
	}
	return ended[len(ended)-1].Rows, nil
}

func (c *Coordinator) export(ctx context.Context, run *jobRun, args exportArgs) error {
	// Checked again here: the job may run long after it was queued, in
	// another process or on another machine.
	if err := CheckOutputPath(args.Path); err != nil {
		return requestError{err}
	}
	tp, err := c.trainingSet(ctx, run.job.Resource)
	if err != nil {
		return err
	}
	start := time.Now()
	var n int64
	if args.Encoded {
		n, err = c.exportEncoded(ctx, tp, run.job.Resource, args.Path)
	} else {
		n, err = c.Offline.ExportTrainingSet(ctx, &offline.ExportParams{TrainingSet: tp, Format: args.Format, Path: args.Path})
	}
	if err != nil {
		return fmt.Errorf("exporting %s: %w", run.job.Resource, err)
	}
	run.rows.Store(n)
	run.sayf("exported %d rows to %s in %s", n, args.Path, time.Since(start).Round(time.Millisecond))
	return c.setStatus(ctx, run.job.Resource, resource.StatusReady, "", nil)
}
