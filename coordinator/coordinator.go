// Package coordinator runs Slipway's work: applying a plan, building
// transformations in dependency order, exporting training sets and
// materializing features into the online store. Every run records its
// resource's status and last error in the registry.
//
// Runs are synchronous in this version; durable queued jobs build on the same
// functions.
package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
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
	// Clock tells the time (default the system clock).
	Clock Clock

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
			if r.Kind == resource.KindEntity {
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
	for _, r := range rs {
		if r.Kind != resource.KindSource {
			continue
		}
		if err := c.registerSource(ctx, r); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (c *Coordinator) registerSource(ctx context.Context, r *resource.Resource) error {
	q, err := c.Offline.SourceQuery(&offline.SourceQueryParams{File: r.Source.File, Format: r.Source.Format, Table: r.Source.Table})
	if err == nil {
		var cols []resource.Column
		cols, err = c.Offline.CreateTable(ctx, &offline.CreateTableParams{Table: offline.TableName(r.ID), SQL: q, View: true})
		if err == nil {
			return c.setStatus(ctx, r.ID, resource.StatusReady, "", cols)
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
		var args materializeArgs
		if err := decodeArgs(j, &args); err != nil {
			return err
		}
		feats, err := c.features(ctx, args.Features)
		if err != nil {
			return err
		}
		return c.materialize(ctx, run, feats, args.BatchSize)
	case JobExport:
		var args exportArgs
		if err := decodeArgs(j, &args); err != nil {
			return err
		}
		return c.export(ctx, run, args)
	}
	return fmt.Errorf("%w: job %d is of kind %q, which this version of slipway does not know: upgrade it", errPermanent, j.ID, j.Kind)
}

// jobResources returns the resources whose status a job sets.
func jobResources(j *registry.Job) []resource.ID {
	if j.Kind == JobMaterialize {
		return JobFeatures(j)
	}
	return []resource.ID{j.Resource}
}

// JobFeatures returns the features a materialize job writes (none for
// other kinds).
func JobFeatures(j *registry.Job) []resource.ID {
	var args materializeArgs
	if j.Kind != JobMaterialize || decodeArgs(j, &args) != nil {
		return nil
	}
	return args.Features
}

// markRunning marks the job's resources running and returns their states
// before, to restore when the attempt ends without an outcome (cancelled,
// or queued again).
func (c *Coordinator) markRunning(ctx context.Context, run *jobRun) map[resource.ID]resource.State {
	prev := map[resource.ID]resource.State{}
	for _, id := range jobResources(run.job) {
		r, err := c.Registry.Get(ctx, id)
		if err != nil {
			continue // the handler reports it
		}
		prev[id] = r.State
		if err := c.setStatus(ctx, id, resource.StatusRunning, "", nil); err != nil {
			c.logger().Warn("recording a status", "resource", id, "error", err)
		}
	}
	return prev
}

func (c *Coordinator) restore(ctx context.Context, prev map[resource.ID]resource.State) {
	for id, st := range prev {
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

// requireReady fails permanently unless dataset id is ready: jobs run after
// the jobs building their inputs, so an input that is not ready was broken
// outside this batch.
func (c *Coordinator) requireReady(ctx context.Context, id resource.ID) error {
	r, err := c.Registry.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("reading %s: %w", id, err)
	}
	if r.State.Status == resource.StatusReady {
		return nil
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
	cols, err := c.Offline.CreateTable(ctx, &offline.CreateTableParams{Table: offline.TableName(r.ID), SQL: definition.TransformationSQL(r)})
	if err != nil {
		return fmt.Errorf("running %s: %w", r.ID, err)
	}
	run.sayf("built in %s", time.Since(start).Round(time.Millisecond))
	return c.setStatus(ctx, r.ID, resource.StatusReady, "", cols)
}

func dataset(r *resource.Resource) offline.Dataset {
	f := r.Feature
	return offline.Dataset{
		Table:           offline.TableName(f.Dataset),
		EntityColumn:    f.EntityColumn,
		ValueColumn:     f.ValueColumn,
		TimestampColumn: f.TimestampColumn,
	}
}

// trainingSet resolves a training set into the offline join it stands for.
// The datasets it reads must be built.
func (c *Coordinator) trainingSet(ctx context.Context, id resource.ID) (*offline.TrainingSetParams, error) {
	ts, err := c.Registry.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", id, err)
	}
	label, err := c.Registry.Get(ctx, ts.TrainingSet.Label)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ts.TrainingSet.Label, err)
	}
	if err := c.requireReady(ctx, label.Feature.Dataset); err != nil {
		return nil, err
	}
	if label.State.Status != resource.StatusReady {
		// A label is ready once the data it reads is built.
		if err := c.setStatus(ctx, label.ID, resource.StatusReady, "", nil); err != nil {
			return nil, err
		}
	}
	p := &offline.TrainingSetParams{Label: dataset(label), LabelName: label.Name, LabelType: label.Feature.Type, EntityName: label.Feature.Entity}
	columns := ts.TrainingSet.FeatureColumns()
	for i, fid := range ts.TrainingSet.Features {
		f, err := c.Registry.Get(ctx, fid)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", fid, err)
		}
		if err := c.requireReady(ctx, f.Feature.Dataset); err != nil {
			return nil, err
		}
		p.Features = append(p.Features, offline.FeatureColumn{Dataset: dataset(f), Name: columns[i], MaxAge: time.Duration(f.Feature.MaxAge), Type: f.Feature.Type})
	}
	return p, nil
}

// ExportParams is the input of Export.
type ExportParams struct {
	TrainingSet resource.ID
	Format      string
	Path        string
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
	if err != nil {
		return 0, err
	}
	return ended[len(ended)-1].Rows, nil
}

func (c *Coordinator) export(ctx context.Context, run *jobRun, args exportArgs) error {
	tp, err := c.trainingSet(ctx, run.job.Resource)
	if err != nil {
		return err
	}
	start := time.Now()
	n, err := c.Offline.ExportTrainingSet(ctx, &offline.ExportParams{TrainingSet: tp, Format: args.Format, Path: args.Path})
	if err != nil {
		return fmt.Errorf("exporting %s: %w", run.job.Resource, err)
	}
	run.rows.Store(n)
	run.sayf("exported %d rows to %s in %s", n, args.Path, time.Since(start).Round(time.Millisecond))
	return c.setStatus(ctx, run.job.Resource, resource.StatusReady, "", nil)
}

// MaterializeParams selects the features Materialize writes.
type MaterializeParams struct {
	// Features to materialize; empty means every feature.
	Features []resource.ID
	// BatchSize is the number of records per online write (default 1000).
	BatchSize int
}

// MaterializeResult counts what Materialize wrote.
type MaterializeResult struct {
	Features int
	// Values counts the (entity, feature) values written.
	Values int64
	// Jobs are the jobs Materialize queued and worked, as they ended.
	Jobs []*registry.Job
}

// Materialize writes the latest value per entity of each feature to the
// online store, as jobs worked in this process (EnqueueMaterialize, then
// Work). Features read from the same columns of one dataset are read and
// written together: one offline query, and one online write per entity for
// all of them.
func (c *Coordinator) Materialize(ctx context.Context, p *MaterializeParams) (*MaterializeResult, error) {
	if c.Online == nil {
		return nil, errors.New("no online store configured")
	}
	jobs, err := c.EnqueueMaterialize(ctx, p)
	if err != nil {
		return nil, err
	}
	ended, err := c.work(ctx, jobs)
	res := &MaterializeResult{Jobs: ended}
	for _, j := range ended {
		if j.Kind == JobMaterialize && j.Status == registry.JobSucceeded {
			res.Features += len(JobFeatures(j))
			res.Values += j.Rows
		}
	}
	return res, err
}

// groupByDataset groups features that read the same dataset with the same
// entity and timestamp columns, keeping the order of first appearance.
func groupByDataset(feats []*resource.Resource) [][]*resource.Resource {
	type key struct {
		dataset           resource.ID
		entity, timestamp string
	}
	index := map[key]int{}
	var groups [][]*resource.Resource
	for _, f := range feats {
		k := key{f.Feature.Dataset, f.Feature.EntityColumn, f.Feature.TimestampColumn}
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], f)
	}
	return groups
}

func names(group []*resource.Resource) string {
	s := make([]string, len(group))
	for i, f := range group {
		s[i] = f.Ref().String()
	}
	return strings.Join(s, ", ")
}

// materialize writes one group of features of the same dataset, counting
// the values written in run.rows.
func (c *Coordinator) materialize(ctx context.Context, run *jobRun, group []*resource.Resource, batch int) error {
	if c.Online == nil {
		return fmt.Errorf("%w: no online store configured", errPermanent)
	}
	if batch <= 0 {
		batch = 1000
	}
	start := time.Now()
	first := group[0].Feature
	if err := c.requireReady(ctx, first.Dataset); err != nil {
		return err
	}
	// Features on the same column share one value column of the query.
	var columns []string
	column := make([]int, len(group))
	keys := make([]string, len(group))
	for i, f := range group {
		j := slices.Index(columns, f.Feature.ValueColumn)
		if j < 0 {
			j = len(columns)
			columns = append(columns, f.Feature.ValueColumn)
		}
		column[i], keys[i] = j, f.Ref().String()
	}
	rows, err := c.Offline.ReadLatest(ctx, &offline.ReadLatestParams{
		Table: offline.TableName(first.Dataset), EntityColumn: first.EntityColumn,
		TimestampColumn: first.TimestampColumn, ValueColumns: columns,
	})
	if err != nil {
		return fmt.Errorf("reading latest values of %s: %w", first.Dataset, err)
	}
	defer rows.Close()
	records := make([]online.Record, 0, batch)
	flush := func() error {
		if len(records) == 0 {
			return nil
		}
		if err := c.Online.Write(ctx, &online.WriteParams{Features: keys, Records: records}); err != nil {
			return fmt.Errorf("writing to the online store: %w", err)
		}
		run.rows.Add(int64(len(records) * len(keys)))
		records = records[:0]
		return nil
	}
	for rows.Next() {
		vals := rows.Values() // entity, timestamp, one per column
		rec := online.Record{Entity: vals[0].String(), Timestamp: vals[1].Time(), Values: make([]value.Value, len(group))}
		for i, f := range group {
			v, err := value.Convert(vals[2+column[i]], f.Feature.Type)
			if err != nil {
				return fmt.Errorf("materializing %s, entity %s: %w", f.ID, vals[0], err)
			}
			rec.Values[i] = v
		}
		records = append(records, rec)
		if len(records) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading latest values of %s: %w", first.Dataset, err)
	}
	if err := flush(); err != nil {
		return err
	}
	run.sayf("materialized %s: %d values in %s", names(group), run.rows.Load(), time.Since(start).Round(time.Millisecond))
	for _, f := range group {
		if err := c.setStatus(ctx, f.ID, resource.StatusReady, "", nil); err != nil {
			return err
		}
	}
	return nil
}
