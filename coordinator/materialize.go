package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// MaterializeParams selects the features Materialize writes.
type MaterializeParams struct {
	// Features to materialize; empty means every feature.
	Features []resource.ID
	// BatchSize is the number of records per online write (default 1000).
	BatchSize int
	// Full reads every row, ignoring the features' watermarks (after the
	// online store was emptied or replaced, say). Otherwise a feature with
	// a watermark is read incrementally: rows after its watermark less its
	// lookback.
	Full bool
	// Chunks, when above 1, splits each source's entities into that many
	// parts, each its own job, so that several workers share the work.
	Chunks int
	// Rebuild rebuilds the features' sources (their transformations) first,
	// even when ready; what those read is built only when not ready.
	Rebuild bool
}

// MaterializeResult counts what Materialize wrote.
type MaterializeResult struct {
	Features int
	// Values counts the (entity, feature) values written.
	Values int64
	// Jobs are the jobs Materialize queued and worked, as they ended.
	Jobs []*registry.Job
}

// materializeArgs are a materialize job's arguments.
type materializeArgs struct {
	// Features share one source and its entity and timestamp columns.
	Features  []resource.ID `json:"features"`
	BatchSize int           `json:"batch_size,omitempty"`
	Full      bool          `json:"full,omitempty"`
	// Chunk of Chunks, when Chunks > 1: this job writes one part of the
	// entities, and a commit job after all parts records the watermark.
	Chunk  int  `json:"chunk,omitempty"`
	Chunks int  `json:"chunks,omitempty"`
	Commit bool `json:"commit,omitempty"`
}

// materializeResult is what a chunk job passes to its commit job.
type materializeResult struct {
	// Newest is the newest timestamp the chunk read (zero if none).
	Newest time.Time `json:"newest,omitzero"`
	// AsOf is the time the chunk read the values as of.
	AsOf time.Time `json:"as_of,omitzero"`
}

// Materialize writes the value as of now of each feature per entity to the
// online store (what a training set gives for a label at the time the job
// runs: rows dated later are written by the first run after their time), as
// jobs worked in this process (EnqueueMaterialize, then
// Work). Features read from the same columns of one source are read and
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
		if j.Kind != JobMaterialize || j.Status != registry.JobSucceeded {
			continue
		}
		var args materializeArgs
		if decodeArgs(j, &args) == nil && (args.Commit || args.Chunks <= 1) {
			res.Features += len(args.Features)
		}
		res.Values += j.Rows
	}
	return res, err
}

// EnqueueMaterialize queues the jobs materializing features: per group of
// features reading the same source, one job (or one per chunk and a
// commit job after them), after the job building the source when it is
// not ready (or p.Rebuild).
func (c *Coordinator) EnqueueMaterialize(ctx context.Context, p *MaterializeParams) ([]*registry.Job, error) {
	b := c.newBatch()
	if err := b.materialize(ctx, p); err != nil {
		return nil, err
	}
	return b.enqueue(ctx)
}

// materialize adds the jobs of p to the batch; a source the batch already
// builds is built once.
func (b *batch) materialize(ctx context.Context, p *MaterializeParams) error {
	feats, err := b.c.features(ctx, p.Features)
	if err != nil {
		return err
	}
	groups := groupBySource(feats)
	// Rebuild rebuilds the features' own sources, not what is upstream of them.
	rebuild := func(id resource.ID) bool {
		return p.Rebuild && slices.ContainsFunc(groups, func(g []*resource.Resource) bool { return g[0].Feature.Source == id })
	}
	for _, group := range groups {
		built, err := b.need(ctx, group[0].Feature.Source, rebuild)
		if err != nil {
			return err
		}
		var after []int
		if built >= 0 {
			after = []int{built}
		}
		args := materializeArgs{BatchSize: p.BatchSize, Full: p.Full}
		for _, f := range group {
			args.Features = append(args.Features, f.ID)
		}
		if p.Chunks <= 1 {
			b.add(registry.NewJob{Kind: JobMaterialize, Resource: group[0].ID, Args: encodeArgs(args), After: after})
			continue
		}
		var chunks []int
		for i := range p.Chunks {
			chunk := args
			chunk.Chunk, chunk.Chunks = i, p.Chunks
			chunks = append(chunks, b.add(registry.NewJob{Kind: JobMaterialize, Resource: group[0].ID, Args: encodeArgs(chunk), After: after}))
		}
		commit := args
		commit.Commit = true
		b.add(registry.NewJob{Kind: JobMaterialize, Resource: group[0].ID, Args: encodeArgs(commit), After: chunks})
	}
	return nil
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

// JobPart says which part of a chunked materialization a job is ("chunk 2
// of 4", "commit"), or "" for any other job.
func JobPart(j *registry.Job) string {
	var args materializeArgs
	if j.Kind != JobMaterialize || decodeArgs(j, &args) != nil || args.Chunks <= 1 && !args.Commit {
		return ""
	}
	if args.Commit {
		return "commit"
	}
	return fmt.Sprintf("chunk %d of %d", args.Chunk+1, args.Chunks)
}

// groupBySource groups features that read the same source with the same
// entity and timestamp columns, keeping the order of first appearance.
func groupBySource(feats []*resource.Resource) [][]*resource.Resource {
	type key struct {
		source            resource.ID
		entity, timestamp string
	}
	index := map[key]int{}
	var groups [][]*resource.Resource
	for _, f := range feats {
		k := key{f.Feature.Source, f.Feature.EntityColumn, f.Feature.TimestampColumn}
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

// materializeJob runs a materialize job: a whole group, one chunk of it, or
// the commit after its chunks.
func (c *Coordinator) materializeJob(ctx context.Context, run *jobRun) error {
	var args materializeArgs
	if err := decodeArgs(run.job, &args); err != nil {
		return err
	}
	if len(args.Features) == 0 {
		return fmt.Errorf("%w: job %d names no features: enqueue it again", errPermanent, run.job.ID)
	}
	group, err := c.features(ctx, args.Features)
	if err != nil {
		return err
	}
	if args.Commit {
		return c.commitChunks(ctx, run, group)
	}
	// The values are those as of now: rows dated later are neither read nor
	// counted in the watermark, so the first run after their time reads them.
	asOf := c.now()
	newest, err := c.materialize(ctx, run, group, args, asOf)
	group, derr := c.dropDeleted(ctx, run, group)
	if err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	if len(group) == 0 {
		return nil
	}
	if args.Chunks > 1 {
		// The commit job records the watermark once every chunk is written.
		run.result = encodeArgs(materializeResult{Newest: newest, AsOf: asOf})
		return nil
	}
	return c.materialized(ctx, run.job.ID, group, newest)
}

// dropDeleted deletes the online values of the features of group deleted
// since the job read them, and returns the others. Delete refuses a feature
// a job works on, but a job queued just after that check may write after
// Delete removed the values; looking once the writes are done closes the
// gap: either this look sees the tombstone, or every write came before it,
// and so before Delete removed the values.
func (c *Coordinator) dropDeleted(ctx context.Context, run *jobRun, group []*resource.Resource) ([]*resource.Resource, error) {
	if c.Online == nil {
		return group, nil // nothing was written
	}
	var kept []*resource.Resource
	var gone []string
	for _, f := range group {
		_, err := c.Registry.Get(ctx, f.ID)
		switch {
		case errors.Is(err, registry.ErrDeleted):
			gone = append(gone, f.Ref().String())
		case err != nil:
			return nil, fmt.Errorf("reading %s: %w", f.ID, err)
		default:
			kept = append(kept, f)
		}
	}
	if len(gone) > 0 {
		if err := c.Online.DeleteFeatures(context.WithoutCancel(ctx), &online.DeleteFeaturesParams{Features: gone}); err != nil {
			return nil, fmt.Errorf("deleting the online values of %s, deleted while this job wrote them: %w", strings.Join(gone, ", "), err)
		}
		run.sayf("%s deleted while this job wrote; the values it wrote are deleted too", strings.Join(gone, ", "))
	}
	return kept, nil
}

// materialized marks a group ready, raising its watermark to newest and
// recording job's success now (what freshness reports).
func (c *Coordinator) materialized(ctx context.Context, job int64, group []*resource.Resource, newest time.Time) error {
	done := &resource.Materialization{At: c.now().UTC(), Job: job}
	for _, f := range group {
		// The registry only ever raises a watermark, whatever order runs end in.
		if err := c.Registry.SetStatus(context.WithoutCancel(ctx), &registry.SetStatusParams{ID: f.ID, Status: resource.StatusReady, Watermark: newest, Materialized: done}); err != nil {
			return fmt.Errorf("recording status of %s: %w", f.ID, err)
		}
	}
	return nil
}

// commitChunks records the watermark of a chunked materialization from
// what its chunks read; it runs only when they all succeeded.
func (c *Coordinator) commitChunks(ctx context.Context, run *jobRun, group []*resource.Resource) error {
	var newest, asOf time.Time
	for _, id := range run.job.DependsOn {
		chunk, err := c.Registry.GetJob(ctx, id)
		if err != nil {
			return fmt.Errorf("reading chunk job %d: %w", id, err)
		}
		var res materializeResult
		if len(chunk.Result) > 0 {
			if err := json.Unmarshal(chunk.Result, &res); err != nil {
				return fmt.Errorf("%w: chunk job %d has a result this version cannot read (%v)", errPermanent, id, err)
			}
		}
		if res.Newest.After(newest) {
			newest = res.Newest
		}
		if asOf.IsZero() || res.AsOf.Before(asOf) {
			asOf = res.AsOf
		}
	}
	// Chunks read as of their own times: a row one chunk read may be dated
	// after another chunk's time, so the watermark stays at the earliest.
	if !asOf.IsZero() && newest.After(asOf) {
		newest = asOf
	}
	run.sayf("committed %d chunks of %s", len(run.job.DependsOn), names(group))
	return c.materialized(ctx, run.job.ID, group, newest)
}

// since is where an incremental read of the group starts: the oldest
// watermark less the longest lookback, or zero (read all) when the group
// has no timestamp, a member was never materialized, or full is set.
func since(group []*resource.Resource, full bool) time.Time {
	if full || group[0].Feature.TimestampColumn == "" {
		return time.Time{}
	}
	var oldest time.Time
	lookback := time.Duration(0)
	for _, f := range group {
		w := f.State.Watermark
		if w.IsZero() {
			return time.Time{}
		}
		if oldest.IsZero() || w.Before(oldest) {
			oldest = w
		}
		lb := time.Duration(f.Feature.Lookback)
		if lb <= 0 {
			lb = time.Duration(resource.DefaultLookback)
		}
		lookback = max(lookback, lb)
	}
	return oldest.Add(-lookback)
}

// materialize writes a group of features of one source (or one chunk of
// its entities) as of asOf, counting the values written in run.rows, and
// returns the newest timestamp read (never after asOf).
func (c *Coordinator) materialize(ctx context.Context, run *jobRun, group []*resource.Resource, args materializeArgs, asOf time.Time) (time.Time, error) {
	var newest time.Time
	if c.Online == nil {
		return newest, fmt.Errorf("%w: no online store configured", errPermanent)
	}
	batch := args.BatchSize
	if batch <= 0 {
		batch = 1000
	}
	start := time.Now()
	first := group[0].Feature
	if err := c.requireReady(ctx, first.Source); err != nil {
		return newest, err
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
	from := since(group, args.Full)
	rows, err := c.Offline.ReadLatest(ctx, &offline.ReadLatestParams{
		Table: offline.TableName(first.Source), EntityColumn: first.EntityColumn,
		TimestampColumn: first.TimestampColumn, ValueColumns: columns,
		AsOf: asOf, Since: from, Partition: args.Chunk, Partitions: args.Chunks,
	})
	if err != nil {
		return newest, fmt.Errorf("reading latest values of %s: %w", first.Source, err)
	}
	defer rows.Close()
	records := make([]online.Record, 0, batch)
	flush := func() error {
		if len(records) == 0 {
			return nil
		}
		if err := c.Online.Write(ctx, &online.WriteParams{Features: keys, Records: records, AsOf: asOf}); err != nil {
			return fmt.Errorf("writing to the online store: %w", err)
		}
		run.rows.Add(int64(len(records) * len(keys)))
		records = records[:0]
		return nil
	}
	for rows.Next() {
		vals := rows.Values() // entity, timestamp, one per column
		rec := online.Record{Entity: vals[0].String(), Timestamp: vals[1].Time(), Values: make([]value.Value, len(group))}
		if rec.Timestamp.After(newest) {
			newest = rec.Timestamp
		}
		for i, f := range group {
			v, err := value.Convert(vals[2+column[i]], f.Feature.Type)
			if err != nil {
				return newest, fmt.Errorf("%w: materializing %s, entity %s: %w", errPermanent, f.ID, vals[0], err)
			}
			rec.Values[i] = v
		}
		records = append(records, rec)
		if len(records) == batch {
			if err := flush(); err != nil {
				return newest, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return newest, fmt.Errorf("reading latest values of %s: %w", first.Source, err)
	}
	if err := flush(); err != nil {
		return newest, err
	}
	what := "all rows"
	if !from.IsZero() {
		what = "rows after " + from.UTC().Format(time.RFC3339)
	}
	if first.TimestampColumn != "" {
		what += " as of " + asOf.UTC().Format(time.RFC3339)
	}
	if args.Chunks > 1 {
		what += fmt.Sprintf(", chunk %d of %d", args.Chunk+1, args.Chunks)
	}
	run.sayf("materialized %s: %d values in %s (%s)", names(group), run.rows.Load(), time.Since(start).Round(time.Millisecond), what)
	return newest, nil
}
