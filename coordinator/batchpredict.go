package coordinator

// Batch predictions. A batch prediction job scores every entity of a source
// or transformation with the version an alias of a model points at: the
// offline engine joins the entities, all at the run's time, point-in-time
// with the features of the version's training set (the join training sets
// use, so each entity gets the values serving would answer at that time);
// Go encodes and scores the rows in batches as they stream; the offline
// store appends them to the batch prediction's table in one transaction;
// and the online store gets the newest prediction per entity as a feature.
// docs/design/batch-predictions.md explains the choices.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// JobBatchPredict runs one batch prediction.
const JobBatchPredict = "batch_predict"

// batchPredictArgs are a batch prediction job's arguments.
type batchPredictArgs struct {
	// ScoredAt is the run's time, fixed when the job is queued, so that a
	// retried attempt reads the same values and replaces its own rows.
	ScoredAt time.Time `json:"scored_at"`
	By       string    `json:"by,omitempty"`
}

// BatchPredictResult is what a succeeded batch prediction job leaves in
// Job.Result.
type BatchPredictResult struct {
	Model    string    `json:"model"`
	Alias    string    `json:"alias"`
	Version  int       `json:"version"`
	ScoredAt time.Time `json:"scored_at"`
	// Rows is how many entities were scored (and rows appended).
	Rows int64 `json:"rows"`
	// Table is the offline table the rows were appended to; Source and
	// Feature are the source over it and the feature served online.
	Table   string      `json:"table"`
	Source  resource.ID `json:"source"`
	Feature resource.ID `json:"feature"`
}

// BatchPredictParams is the input of EnqueueBatchPredict.
type BatchPredictParams struct {
	BatchPrediction resource.ID
	// At is the run's time (ScoredAt); zero means now.
	At time.Time
	// Rebuild rebuilds what it reads first, even when ready.
	Rebuild bool
	By      string
}

// EnqueueBatchPredict queues a job running a batch prediction, after the
// jobs building its entities and the inputs of the training set of its
// alias's current version that are not ready.
func (c *Coordinator) EnqueueBatchPredict(ctx context.Context, p *BatchPredictParams) ([]*registry.Job, error) {
	b := c.newBatch()
	rebuild := never
	if p.Rebuild {
		rebuild = always
	}
	if err := b.batchPredict(ctx, p, rebuild); err != nil {
		return nil, err
	}
	return b.enqueue(ctx)
}

// batchPredict adds a batch prediction's job, after the jobs building what it reads.
func (b *batch) batchPredict(ctx context.Context, p *BatchPredictParams, rebuild func(resource.ID) bool) error {
	bp, err := b.c.Registry.Get(ctx, p.BatchPrediction)
	if err != nil {
		return fmt.Errorf("reading %s: %w", p.BatchPrediction, err)
	}
	if bp.BatchPrediction == nil {
		return fmt.Errorf("%s is not a batch prediction", p.BatchPrediction)
	}
	spec := bp.BatchPrediction
	var after []int
	i, err := b.need(ctx, spec.Entities, rebuild)
	if err != nil {
		return err
	}
	if i >= 0 {
		after = append(after, i)
	}
	// The features' inputs, when the alias points at a version already
	// (the job itself says so when it does not).
	if v, err := b.c.aliasVersion(ctx, spec.Model, spec.Alias); err == nil && v.TrainingSet != (resource.ID{}) {
		more, err := b.trainingSetInputs(ctx, v.TrainingSet, rebuild)
		if err != nil {
			return err
		}
		for _, i := range more {
			if !slices.Contains(after, i) {
				after = append(after, i)
			}
		}
	}
	at := p.At
	if at.IsZero() {
		at = b.c.now()
	}
	args := batchPredictArgs{ScoredAt: at.UTC().Truncate(time.Microsecond), By: p.By}
	b.add(registry.NewJob{Kind: JobBatchPredict, Resource: bp.ID, Args: encodeArgs(args), After: after})
	return nil
}

// BatchPredict runs a batch prediction as jobs worked in this process
// (EnqueueBatchPredict, then Work) and returns the jobs as they ended.
func (c *Coordinator) BatchPredict(ctx context.Context, p *BatchPredictParams) ([]*registry.Job, error) {
	jobs, err := c.EnqueueBatchPredict(ctx, p)
	if err != nil {
		return nil, err
	}
	return c.work(ctx, jobs)
}

// aliasVersion reads the version an alias of a model points at.
func (c *Coordinator) aliasVersion(ctx context.Context, name, alias string) (*registry.ModelVersion, error) {
	a, err := c.Registry.GetModelAlias(ctx, name, alias)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, fmt.Errorf("%w: alias %s of model %s points at no version: train the model (slipway train %s) or promote a version (slipway models promote %s VERSION --alias %s)",
			errPermanent, alias, name, name, name, alias)
	}
	if err != nil {
		return nil, fmt.Errorf("reading alias %s of model %s: %w", alias, name, err)
	}
	v, err := c.Registry.GetModelVersion(ctx, name, a.Version)
	if err != nil {
		return nil, fmt.Errorf("reading version %d of model %s: %w", a.Version, name, err)
	}
	return v, nil
}

func (c *Coordinator) batchPredict(ctx context.Context, run *jobRun, args batchPredictArgs) error {
	bp, err := c.Registry.Get(ctx, run.job.Resource)
	if err != nil {
		return fmt.Errorf("reading %s: %w", run.job.Resource, err)
	}
	spec := bp.BatchPrediction
	if err := c.requireReady(ctx, spec.Entities); err != nil {
		return err
	}
	entities, err := c.Registry.Get(ctx, spec.Entities)
	if err != nil {
		return fmt.Errorf("reading %s: %w", spec.Entities, err)
	}
	if !slices.ContainsFunc(entities.State.Schema, func(col resource.Column) bool { return col.Name == spec.EntityColumn }) {
		return fmt.Errorf("%w: %s has no column %q (its entity column): fix the entities and apply again", errPermanent, spec.Entities, spec.EntityColumn)
	}
	v, err := c.aliasVersion(ctx, spec.Model, spec.Alias)
	if err != nil {
		return err
	}
	scorer, err := versionScorer(v)
	if err != nil {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	if v.TrainingSet == (resource.ID{}) {
		return fmt.Errorf("%w: version %d of model %s records no training set, so its features are unknown", errPermanent, v.Version, v.Model)
	}
	tp, err := c.trainingSet(ctx, v.TrainingSet)
	if err != nil {
		return err
	}
	names := make([]string, len(tp.Features))
	for i, f := range tp.Features {
		names[i] = f.Name
	}
	for i, f := range scorer.Encoding().Features() {
		if i >= len(names) || names[i] != f.Name {
			return fmt.Errorf("%w: version %d of model %s reads features %s, but its training set %s has %v", errPermanent, v.Version, v.Model, featureNames(scorer.Encoding().Features()), v.TrainingSet.Ref(), names)
		}
	}

	// The entities, each once, all at the run's time, stand in for the
	// training set's label rows.
	spine := offline.TableName(resource.ID{Kind: "batch_entities", Name: bp.Name, Variant: "job" + strconv.FormatInt(run.job.ID, 10)})
	col := offline.QuoteIdent(spec.EntityColumn)
	q := "SELECT DISTINCT " + col + ", TIMESTAMP '" + args.ScoredAt.UTC().Format("2006-01-02 15:04:05.000000") + "' AS slipway_at" +
		", CAST(NULL AS BIGINT) AS slipway_no_label FROM " + offline.QuoteIdent(offline.TableName(spec.Entities)) + " WHERE " + col + " IS NOT NULL"
	if _, err := c.Offline.CreateTable(ctx, &offline.CreateTableParams{Table: spine, SQL: q, View: true}); err != nil {
		return fmt.Errorf("listing the entities of %s: %w", spec.Entities, err)
	}
	defer func() {
		if err := c.Offline.DropTable(context.WithoutCancel(ctx), &offline.DropTableParams{Table: spine}); err != nil {
			c.logger().Warn("dropping a batch prediction's entity view", "view", spine, "error", err)
		}
	}()
	tp.Label = offline.Dataset{Table: spine, EntityColumn: spec.EntityColumn, ValueColumn: "slipway_no_label", TimestampColumn: "slipway_at"}
	tp.LabelName, tp.LabelType = "slipway_no_label", value.Int64

	start := time.Now()
	rows, err := c.Offline.ReadTrainingSet(ctx, tp)
	if err != nil {
		return fmt.Errorf("reading the features of %s's entities: %w", bp.ID.Ref(), err)
	}
	defer rows.Close()
	// A retried run writes the same batch again, replacing its rows.
	batch := "run@" + args.ScoredAt.Format(time.RFC3339Nano)
	src := &predictionRows{ctx: ctx, run: run, rows: rows, scorer: scorer, names: names, batch: batch,
		rec: model.Record{BatchPrediction: bp.Ref().String(), Model: v.Model, Version: v.Version, Time: args.ScoredAt}}
	table := offline.TableName(bp.ID)
	n, err := c.Offline.WriteRows(ctx, &offline.WriteRowsParams{
		Table: table, Columns: resource.PredictionColumns, Rows: src,
		Replace: &offline.Match{Column: resource.WriteBatchColumn, Value: value.FromString(batch)},
	})
	if err != nil {
		return fmt.Errorf("writing the predictions of %s to %s: %w", bp.ID.Ref(), table, err)
	}
	run.rows.Store(n)
	run.sayf("scored %d entities with %s version %d (%s) as of %s in %s", n, v.Model, v.Version, spec.Alias,
		args.ScoredAt.Format(time.RFC3339), time.Since(start).Round(time.Millisecond))

	source, feature, err := c.registerBatchOutputs(ctx, bp, table, scorer.Task(), v)
	if err != nil {
		return err
	}
	res := BatchPredictResult{Model: v.Model, Alias: spec.Alias, Version: v.Version, ScoredAt: args.ScoredAt, Rows: n, Table: table, Source: source.ID, Feature: feature.ID}
	run.result = encodeArgs(res)
	if c.Online != nil {
		// The feature's values as of now, on its own count: the job's rows
		// are the predictions written.
		m := &jobRun{c: c, job: run.job}
		newest, err := c.materialize(ctx, m, []*resource.Resource{feature}, materializeArgs{}, c.now())
		if err != nil {
			return err
		}
		if err := c.materialized(ctx, run.job.ID, []*resource.Resource{feature}, newest); err != nil {
			return err
		}
	} else {
		run.sayf("no online store configured: %s is not materialized", feature.ID.Ref())
	}
	return c.setStatus(ctx, bp.ID, resource.StatusReady, "", nil)
}

// registerBatchOutputs registers (on the first run) the source over a batch
// prediction's table and the feature serving its predictions, and returns
// them as registered.
func (c *Coordinator) registerBatchOutputs(ctx context.Context, bp *resource.Resource, table, task string, v *registry.ModelVersion) (source, feature *resource.Resource, err error) {
	spec := bp.BatchPrediction
	ts, err := c.Registry.Get(ctx, v.TrainingSet)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", v.TrainingSet, err)
	}
	label, err := c.Registry.Get(ctx, ts.TrainingSet.Label)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", ts.TrainingSet.Label, err)
	}
	about := fmt.Sprintf("Predictions of model %s (alias %s) written by batch prediction %s.", spec.Model, spec.Alias, bp.Ref())
	source = &resource.Resource{
		ID:          resource.BatchPredictionSource(bp.ID),
		Description: about, Owner: bp.Owner, Tags: bp.Tags,
		Source: &resource.SourceSpec{Table: table, TimestampColumn: resource.PredictedAtColumn},
	}
	valueColumn, typ := resource.PredictionColumn, value.Float64
	if task == model.TaskMulticlass {
		valueColumn, typ = resource.PredictionClassColumn, value.Int64
	}
	feature = &resource.Resource{
		ID:          resource.ID{Kind: resource.KindFeature, Name: bp.Name, Variant: bp.Variant},
		Description: about, Owner: bp.Owner, Tags: bp.Tags,
		Feature: &resource.FeatureSpec{Entity: label.Label.Entity, Source: source.ID, EntityColumn: resource.PredictionEntityColumn,
			ValueColumn: valueColumn, TimestampColumn: resource.PredictedAtColumn, Type: typ},
	}
	rs, err := c.RegisterOutputs(ctx, []*resource.Resource{source, feature})
	if errors.Is(err, registry.ErrConflict) {
		return nil, nil, fmt.Errorf("%w: registering the outputs of %s: %w (a model version of another task changes the feature's column or type: define a new variant of the batch prediction)", errPermanent, bp.ID.Ref(), err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("registering the outputs of %s: %w", bp.ID.Ref(), err)
	}
	return rs[0], rs[1], nil
}

// RegisterOutputs registers resources Slipway derives from tables it
// writes itself (a batch prediction's source and feature, an endpoint's
// prediction log): new ones as pending, then the view of each source that
// is not ready over its table, which must exist. It returns them as
// registered. A registered one with another definition is a
// *registry.ConflictError.
func (c *Coordinator) RegisterOutputs(ctx context.Context, rs []*resource.Resource) ([]*resource.Resource, error) {
	for _, r := range rs {
		r.State.Status = resource.StatusPending
	}
	if _, err := c.Registry.Apply(ctx, &registry.ApplyParams{Resources: rs}); err != nil {
		return nil, err
	}
	out := make([]*resource.Resource, len(rs))
	for i, r := range rs {
		got, err := c.Registry.Get(ctx, r.ID)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", r.ID, err)
		}
		if got.Source != nil && got.State.Status != resource.StatusReady {
			if err := c.registerSource(ctx, got, &offline.SourceQueryParams{Table: got.Source.Table}); err != nil {
				return nil, err
			}
			if got, err = c.Registry.Get(ctx, r.ID); err != nil {
				return nil, fmt.Errorf("reading %s: %w", r.ID, err)
			}
		}
		out[i] = got
	}
	return out, nil
}

// predictionRows scores the rows of a training-set read in batches as
// WriteRows pulls them, as rows of resource.PredictionColumns.
type predictionRows struct {
	ctx    context.Context
	run    *jobRun
	rows   offline.Rows
	scorer *model.Scorer
	names  []string // the features, as the encoding names them
	batch  string
	rec    model.Record // the fields every row shares

	entities []value.Value
	features [][]value.Value
	x, out   []float64
	next     int // index into entities of the row Next moves to
	row      []value.Value
	statuses []string
	done     int64
	err      error
}

const predictionBatch = 1024

func (p *predictionRows) Next() bool {
	if p.err != nil {
		return false
	}
	if p.next >= len(p.entities) && !p.fill() {
		return false
	}
	i := p.next
	p.next++
	k, w := p.scorer.NumOutputs(), p.scorer.Encoding().Width()
	r := p.rec
	r.ID, r.Entity = model.NewPredictionID(r.Time), p.entities[i].String()
	r.Prediction, r.Class, r.Output = model.Outcome(p.scorer.Task(), p.out[i*k:(i+1)*k])
	// The training-set join gives a value or null: found, or not found (a
	// value older than the feature's max age reads as null too).
	for j, v := range p.features[i] {
		p.statuses[j] = "found"
		if v.IsNull() {
			p.statuses[j] = "not_found"
		}
	}
	r.Features, r.Statuses = model.FeaturesJSON(p.names, p.features[i], p.statuses)
	r.Encoded = model.EncodedJSON(p.x[i*w : (i+1)*w])
	p.row = r.AppendRow(p.row, p.batch)
	return true
}

// fill reads, encodes and scores the next batch of rows.
func (p *predictionRows) fill() bool {
	p.entities, p.features, p.next = p.entities[:0], p.features[:0], 0
	if p.statuses == nil {
		p.statuses = make([]string, len(p.names))
	}
	for len(p.entities) < predictionBatch && p.rows.Next() {
		v := p.rows.Values() // entity, time, the features, the (null) label
		p.entities = append(p.entities, v[0])
		p.features = append(p.features, slices.Clone(v[2:len(v)-1]))
	}
	if err := p.rows.Err(); err != nil {
		p.err = fmt.Errorf("reading the entities' features: %w", err)
		return false
	}
	if len(p.entities) == 0 {
		return false
	}
	if p.x, p.err = p.scorer.EncodeRows(p.features); p.err == nil {
		p.out, p.err = p.scorer.ScoreEncodedContext(p.ctx, p.x, p.out)
	}
	if p.err != nil {
		p.err = fmt.Errorf("scoring: %w", p.err)
		return false
	}
	p.done += int64(len(p.entities))
	p.run.rows.Store(p.done) // progress, while the rows stream
	return true
}

func (p *predictionRows) Values() []value.Value { return p.row }
func (p *predictionRows) Err() error            { return p.err }
