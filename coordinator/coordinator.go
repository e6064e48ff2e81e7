// Package coordinator runs Slipway's work: applying a plan, building
// transformations in dependency order, exporting training sets and
// materializing features into the online store. Every run records its
// resource's status and last error in the registry.
//
// Runs are synchronous in this version; durable queued jobs build on the same
// functions (see the coordinator issue in docs/).
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
	Built, Skipped, Failed int
}

// Run builds transformations in dependency order. Each variant has its own
// table, replaced atomically. A transformation whose input failed is marked
// failed with that reason. It returns an error when any transformation failed.
func (c *Coordinator) Run(ctx context.Context, p *RunParams) (*RunResult, error) {
	all, err := c.Registry.List(ctx, &registry.ListParams{Kind: resource.KindTransformation})
	if err != nil {
		return nil, fmt.Errorf("listing transformations: %w", err)
	}
	byID := map[resource.ID]*resource.Resource{}
	for _, r := range all {
		byID[r.ID] = r
	}
	selected := map[resource.ID]bool{}
	if len(p.IDs) == 0 {
		for _, r := range all {
			selected[r.ID] = true
		}
	}
	for _, id := range p.IDs {
		if _, ok := byID[id]; !ok {
			return nil, fmt.Errorf("%w: %s", registry.ErrNotFound, id)
		}
		selected[id] = true
	}
	res := &RunResult{}
	failed := map[resource.ID]string{}
	done := map[resource.ID]bool{}
	var errs []error
	var build func(id resource.ID)
	build = func(id resource.ID) {
		if done[id] {
			return
		}
		done[id] = true
		r := byID[id]
		for _, in := range r.Transformation.Inputs {
			if in.Kind == resource.KindTransformation {
				build(in)
			}
		}
		if r.State.Status == resource.StatusReady && !(p.Rebuild && selected[id]) {
			res.Skipped++
			return
		}
		if reason := c.upstreamProblem(ctx, r, byID, failed); reason != "" {
			failed[id] = reason
			res.Failed++
			errs = append(errs, fmt.Errorf("%s: %s", id, reason), c.setStatus(ctx, id, resource.StatusFailed, reason, nil))
			c.say("  failed   %s: %s", id, reason)
			return
		}
		if err := c.buildTransformation(ctx, r); err != nil {
			failed[id] = err.Error()
			res.Failed++
			errs = append(errs, err)
			c.say("  failed   %s: %v", id, err)
			return
		}
		r.State.Status = resource.StatusReady
		res.Built++
	}
	for _, r := range all {
		if selected[r.ID] {
			build(r.ID)
		}
	}
	return res, errors.Join(errs...)
}

// upstreamProblem says why a transformation cannot run because of its inputs ("" if it can).
func (c *Coordinator) upstreamProblem(ctx context.Context, r *resource.Resource, byID map[resource.ID]*resource.Resource, failed map[resource.ID]string) string {
	for _, in := range r.Transformation.Inputs {
		if reason, ok := failed[in]; ok {
			return fmt.Sprintf("input %s failed: %s", in, reason)
		}
		if in.Kind == resource.KindSource {
			src, err := c.Registry.Get(ctx, in)
			if err != nil {
				return fmt.Sprintf("input %s: %v", in, err)
			}
			if src.State.Status != resource.StatusReady {
				return fmt.Sprintf("input %s is %s (%s); fix it and apply again", in, src.State.Status, src.State.Error)
			}
		}
	}
	return ""
}

func (c *Coordinator) buildTransformation(ctx context.Context, r *resource.Resource) error {
	start := time.Now()
	if err := c.setStatus(ctx, r.ID, resource.StatusRunning, "", nil); err != nil {
		return err
	}
	cols, err := c.Offline.CreateTable(ctx, &offline.CreateTableParams{Table: offline.TableName(r.ID), SQL: definition.TransformationSQL(r)})
	if err != nil {
		err = fmt.Errorf("running %s: %w", r.ID, err)
		return errors.Join(err, c.setStatus(ctx, r.ID, resource.StatusFailed, err.Error(), nil))
	}
	c.say("  built    %s in %s", r.ID, time.Since(start).Round(time.Millisecond))
	return c.setStatus(ctx, r.ID, resource.StatusReady, "", cols)
}

// ensureDataset builds a feature's or label's transformation if it is not ready yet.
func (c *Coordinator) ensureDataset(ctx context.Context, id resource.ID) error {
	r, err := c.Registry.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("reading %s: %w", id, err)
	}
	if r.State.Status == resource.StatusReady {
		return nil
	}
	if id.Kind == resource.KindSource {
		return fmt.Errorf("%s is %s: %s; fix it and apply again", id, r.State.Status, r.State.Error)
	}
	_, err = c.Run(ctx, &RunParams{IDs: []resource.ID{id}})
	return err
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

// TrainingSet resolves a training set into the offline join it stands for,
// building any transformation it needs first.
func (c *Coordinator) TrainingSet(ctx context.Context, id resource.ID) (*offline.TrainingSetParams, error) {
	ts, err := c.Registry.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", id, err)
	}
	label, err := c.Registry.Get(ctx, ts.TrainingSet.Label)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ts.TrainingSet.Label, err)
	}
	if err := c.ensureDataset(ctx, label.Feature.Dataset); err != nil {
		return nil, c.fail(ctx, label.ID, err)
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
		if err := c.ensureDataset(ctx, f.Feature.Dataset); err != nil {
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

// Export writes a training set to a file inside the offline engine and returns the row count.
func (c *Coordinator) Export(ctx context.Context, p *ExportParams) (int64, error) {
	// A format the store cannot write is the caller's mistake, not the training set's failure.
	if formats := c.Offline.Capabilities().ExportFormats; !slices.Contains(formats, p.Format) {
		return 0, fmt.Errorf("this offline store exports %s, not %s: %w", strings.Join(formats, ", "), p.Format, offline.ErrUnsupported)
	}
	tp, err := c.TrainingSet(ctx, p.TrainingSet)
	if err != nil {
		return 0, c.fail(ctx, p.TrainingSet, err)
	}
	start := time.Now()
	n, err := c.Offline.ExportTrainingSet(ctx, &offline.ExportParams{TrainingSet: tp, Format: p.Format, Path: p.Path})
	if err != nil {
		return 0, c.fail(ctx, p.TrainingSet, fmt.Errorf("exporting %s: %w", p.TrainingSet, err))
	}
	c.say("  exported %s: %d rows to %s in %s", p.TrainingSet, n, p.Path, time.Since(start).Round(time.Millisecond))
	return n, c.setStatus(ctx, p.TrainingSet, resource.StatusReady, "", nil)
}

// fail records err as id's last error and returns it.
func (c *Coordinator) fail(ctx context.Context, id resource.ID, err error) error {
	if errors.Is(err, registry.ErrNotFound) {
		return err
	}
	return errors.Join(err, c.setStatus(ctx, id, resource.StatusFailed, err.Error(), nil))
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
}

// Materialize writes the latest value per entity of each feature to the
// online store, streaming from the offline store in batches. Features read
// from the same columns of one dataset are read and written together: one
// offline query, and one online write per entity for all of them.
func (c *Coordinator) Materialize(ctx context.Context, p *MaterializeParams) (*MaterializeResult, error) {
	if c.Online == nil {
		return nil, errors.New("no online store configured")
	}
	var feats []*resource.Resource
	if len(p.Features) == 0 {
		all, err := c.Registry.List(ctx, &registry.ListParams{Kind: resource.KindFeature})
		if err != nil {
			return nil, fmt.Errorf("listing features: %w", err)
		}
		feats = all
	}
	seen := map[resource.ID]bool{}
	for _, id := range p.Features {
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
	batch := p.BatchSize
	if batch <= 0 {
		batch = 1000
	}
	res := &MaterializeResult{}
	var errs []error
	// Groups run two at a time, so one group's offline query overlaps
	// another's online writes.
	var mu sync.Mutex
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for _, group := range groupByDataset(feats) {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			n, err := c.materialize(ctx, group, batch)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				for _, f := range group {
					if serr := c.setStatus(ctx, f.ID, resource.StatusFailed, err.Error(), nil); serr != nil {
						errs = append(errs, serr)
					}
				}
				errs = append(errs, err)
				c.say("  failed   %s: %v", names(group), err)
				return
			}
			res.Features += len(group)
			res.Values += n
		}()
	}
	wg.Wait()
	return res, errors.Join(errs...)
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

// materialize writes one group of features of the same dataset and returns the values written.
func (c *Coordinator) materialize(ctx context.Context, group []*resource.Resource, batch int) (int64, error) {
	start := time.Now()
	first := group[0].Feature
	if err := c.ensureDataset(ctx, first.Dataset); err != nil {
		return 0, err
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
		if err := c.setStatus(ctx, f.ID, resource.StatusRunning, "", nil); err != nil {
			return 0, err
		}
	}
	rows, err := c.Offline.ReadLatest(ctx, &offline.ReadLatestParams{
		Table: offline.TableName(first.Dataset), EntityColumn: first.EntityColumn,
		TimestampColumn: first.TimestampColumn, ValueColumns: columns,
	})
	if err != nil {
		return 0, fmt.Errorf("reading latest values of %s: %w", first.Dataset, err)
	}
	defer rows.Close()
	var n int64
	records := make([]online.Record, 0, batch)
	flush := func() error {
		if len(records) == 0 {
			return nil
		}
		if err := c.Online.Write(ctx, &online.WriteParams{Features: keys, Records: records}); err != nil {
			return fmt.Errorf("writing to the online store: %w", err)
		}
		n += int64(len(records) * len(keys))
		records = records[:0]
		return nil
	}
	for rows.Next() {
		vals := rows.Values() // entity, timestamp, one per column
		rec := online.Record{Entity: vals[0].String(), Timestamp: vals[1].Time(), Values: make([]value.Value, len(group))}
		for i, f := range group {
			v, err := value.Convert(vals[2+column[i]], f.Feature.Type)
			if err != nil {
				return n, fmt.Errorf("materializing %s, entity %s: %w", f.ID, vals[0], err)
			}
			rec.Values[i] = v
		}
		records = append(records, rec)
		if len(records) == batch {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("reading latest values of %s: %w", first.Dataset, err)
	}
	if err := flush(); err != nil {
		return n, err
	}
	c.say("  materialized %s: %d values in %s", names(group), n, time.Since(start).Round(time.Millisecond))
	for _, f := range group {
		if err := c.setStatus(ctx, f.ID, resource.StatusReady, "", nil); err != nil {
			return n, err
		}
	}
	return n, nil
}
