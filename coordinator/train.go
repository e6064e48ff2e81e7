package coordinator

// Training, validation and registration of models. A training job reads its
// training set whole (the built-in trainers hold it in memory; a command
// trainer gets it as files), holds out the newest rows by label time,
// trains a candidate, scores the holdout with it and with the alias's
// current version using Slipway's own inference, records the candidate as
// a new version and promotes it as the definition says.
// docs/design/models.md ("Training jobs") explains the choices.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// JobTrain trains, validates, records and promotes one version of a model.
const JobTrain = "train"

// trainArgs are a training job's arguments.
type trainArgs struct {
	By string `json:"by,omitempty"`
}

// TrainResult is what a succeeded training job leaves in Job.Result.
type TrainResult struct {
	Model   string             `json:"model"`
	Version int                `json:"version"`
	Metrics map[string]float64 `json:"metrics"`
	// Alias is the alias the definition promotes; Promoted says whether this
	// version became its version, and Reason why or why not.
	Alias    string `json:"alias"`
	Promoted bool   `json:"promoted"`
	Reason   string `json:"reason"`
	// Experiment names the experiment started to test this version against
	// the alias's (promote.when: experiment), when one was.
	Experiment string `json:"experiment,omitempty"`
}

// TrainParams is the input of EnqueueTrain.
type TrainParams struct {
	// Model is the model definition to train.
	Model resource.ID
	// By names who asked (recorded with the version and a promotion).
	By string
}

// EnqueueTrain queues a job training a model, after the jobs building the
// sources of its training set that are not ready.
func (c *Coordinator) EnqueueTrain(ctx context.Context, p *TrainParams) ([]*registry.Job, error) {
	m, err := c.Registry.Get(ctx, p.Model)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p.Model, err)
	}
	b := c.newBatch()
	after, err := b.trainingSetInputs(ctx, m.Model.TrainingSet, never)
	if err != nil {
		return nil, err
	}
	b.add(registry.NewJob{Kind: JobTrain, Resource: p.Model, Args: encodeArgs(trainArgs{By: p.By}), After: after})
	return b.enqueue(ctx)
}

func always(resource.ID) bool { return true }

// trainingSetInputs adds the jobs building what a training set's label and
// features read that is not ready (or that rebuild selects), and returns
// their indexes.
func (b *batch) trainingSetInputs(ctx context.Context, id resource.ID, rebuild func(resource.ID) bool) ([]int, error) {
	ts, err := b.c.Registry.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", id, err)
	}
	var after []int
	for _, id := range append([]resource.ID{ts.TrainingSet.Label}, ts.TrainingSet.Features...) {
		r, err := b.c.Registry.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", id, err)
		}
		i, err := b.need(ctx, sourceOf(r), rebuild)
		if err != nil {
			return nil, err
		}
		if i >= 0 && !slices.Contains(after, i) {
			after = append(after, i)
		}
	}
	return after, nil
}

// trainingRows is a training set read into memory, in label-time order.
type trainingRows struct {
	features []model.Feature
	entity   string // the entity column's name
	label    string // the label column's name
	rows     []trainingRow
	nulls    int // label rows left out because their label is null
}

type trainingRow struct {
	entity   value.Value
	time     time.Time
	label    value.Value
	features []value.Value
}

// newTrainingRows holds no rows yet: the columns of a training set, its
// features as the encoding takes them.
func newTrainingRows(tp *offline.TrainingSetParams) *trainingRows {
	out := &trainingRows{entity: tp.EntityName, label: tp.LabelName}
	for _, f := range tp.Features {
		out.features = append(out.features, model.Feature{Name: f.Name, Type: f.Type})
	}
	return out
}

// readTrainingRows reads a training set whole, leaves out rows with a null
// label, and orders the rest by label time (stable: rows of one time keep
// the training set's order, by entity).
func (c *Coordinator) readTrainingRows(ctx context.Context, id resource.ID) (*trainingRows, error) {
	tp, err := c.trainingSet(ctx, id)
	if err != nil {
		return nil, err
	}
	out := newTrainingRows(tp)
	rows, err := c.Offline.ReadTrainingSet(ctx, tp)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		v := rows.Values() // entity, label time, the features, the label
		label := v[len(v)-1]
		if label.IsNull() {
			out.nulls++
			continue
		}
		out.rows = append(out.rows, trainingRow{entity: v[0], time: v[1].Time(), label: label, features: slices.Clone(v[2 : len(v)-1])})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", id, err)
	}
	slices.SortStableFunc(out.rows, func(a, b trainingRow) int { return a.time.Compare(b.time) })
	return out, nil
}

// split holds out the newest percent of the rows (at least one row each side).
func (t *trainingRows) split(percent float64) (train, holdout []trainingRow, err error) {
	n := len(t.rows)
	k := int(math.Ceil(float64(n) * percent / 100))
	if n < 2 || k >= n {
		return nil, nil, fmt.Errorf("the training set has %d label rows with a label: too few to hold out %g%% for validation and train on the rest; add label rows", n, percent)
	}
	k = max(k, 1)
	return t.rows[:n-k], t.rows[n-k:], nil
}

// labels converts label values to what the task's metrics read: 0/1 for
// binary classification, the class 0…K-1 for multiclass, the number for
// regression. A value that does not fit is an error naming its row.
func labels(task string, rows []trainingRow) ([]float64, error) {
	out := make([]float64, len(rows))
	for i, r := range rows {
		y, err := model.LabelValue(r.label)
		if err != nil {
			return nil, fmt.Errorf("entity %s at %s: %w", r.entity, r.time.Format(time.RFC3339), err)
		}
		bad := ""
		switch task {
		case model.TaskBinaryClassification:
			if y != 0 && y != 1 {
				bad = "a binary_classification label must be 0 or 1 (or a bool)"
			}
		case model.TaskMulticlass:
			if y < 0 || y != math.Trunc(y) {
				bad = "a multiclass label must be a class number 0, 1, 2, …"
			}
		default:
			if math.IsNaN(y) || math.IsInf(y, 0) {
				bad = "a regression label must be a finite number"
			}
		}
		if bad != "" {
			return nil, fmt.Errorf("the label of entity %s at %s is %v: %s", r.entity, r.time.Format(time.RFC3339), r.label, bad)
		}
		out[i] = y
	}
	return out, nil
}

func featureRows(rows []trainingRow) [][]value.Value {
	out := make([][]value.Value, len(rows))
	for i, r := range rows {
		out[i] = r.features
	}
	return out
}

// buildEncoding builds the encoding of the rows' features.
func buildEncoding(features []model.Feature, rows []trainingRow, strs model.StringEncoding) (*model.Encoding, error) {
	b, err := model.NewEncodingBuilder(features, model.EncodingConfig{Strings: strs})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if err := b.Add(r.features); err != nil {
			return nil, err
		}
	}
	return b.Encoding()
}

// candidate is a trained or registered model with what validation found.
type candidate struct {
	format   string
	artifact []byte
	encoding *model.Encoding
	scorer   *model.Scorer
	metrics  map[string]float64
	// extra are metrics a command trainer reported itself, recorded with
	// Slipway's own (which promotion compares).
	extra   map[string]float64
	trainer string
}

// evaluate scores holdout rows with a scorer (bounded by ctx, for a remote
// model) and returns the task's metrics and the scorer's outputs
// (NumOutputs per row, back to back).
func evaluate(ctx context.Context, task string, s *model.Scorer, rows []trainingRow, ys []float64) (map[string]float64, []float64, error) {
	out, err := s.ScoreRowsContext(ctx, featureRows(rows), nil)
	if err != nil {
		return nil, nil, err
	}
	m, err := model.Evaluate(task, ys, out)
	return m, out, err
}

func (c *Coordinator) train(ctx context.Context, run *jobRun, args trainArgs) error {
	m, err := c.Registry.Get(ctx, run.job.Resource)
	if err != nil {
		return fmt.Errorf("reading %s: %w", run.job.Resource, err)
	}
	spec := m.Model
	data, err := c.readTrainingRows(ctx, spec.TrainingSet)
	if err != nil {
		return err
	}
	trainRows, holdout, err := data.split(spec.Validation.HoldoutPercent)
	if err != nil {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	if data.nulls > 0 {
		run.sayf("left out %d label rows whose label is null", data.nulls)
	}
	ys, err := labels(spec.Task, trainRows)
	if err != nil {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	holdoutYs, err := labels(spec.Task, holdout)
	if err != nil {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	run.sayf("training on %d rows (label times %s to %s); holding out the newest %d (from %s)", len(trainRows),
		trainRows[0].time.Format(time.RFC3339), trainRows[len(trainRows)-1].time.Format(time.RFC3339), len(holdout), holdout[0].time.Format(time.RFC3339))
	start := time.Now()
	var cand *candidate
	if spec.Trainer.Builtin != "" {
		cand, err = c.trainBuiltin(ctx, spec, data.features, trainRows, ys)
	} else {
		cand, err = c.trainCommand(ctx, run, m, data, trainRows, holdout)
	}
	if err != nil {
		return err
	}
	var outputs []float64
	if cand.metrics, outputs, err = evaluate(ctx, spec.Task, cand.scorer, holdout, holdoutYs); err != nil {
		return fmt.Errorf("%w: validating the trained model on the holdout: %w", errPermanent, err)
	}
	run.sayf("trained in %s; holdout %s", time.Since(start).Round(time.Millisecond), formatMetrics(cand.metrics))
	base, err := baselineProfile(data.features, trainRows, spec.Task, outputs, cand.scorer.NumOutputs())
	if err != nil {
		return fmt.Errorf("%w: profiling the training data: %w", errPermanent, err)
	}

	// The alias's current version, scored on the same holdout.
	alias, metric := spec.Promote.Alias, spec.Validation.Metric
	current, curMetrics, why := c.currentOnHoldout(ctx, m.Name, alias, spec.Task, data.features, holdout, holdoutYs)
	if current > 0 && curMetrics != nil {
		run.sayf("%s (version %d) on the same holdout: %s", alias, current, formatMetrics(curMetrics))
	} else if current > 0 {
		run.sayf("%s could not be scored on this holdout: %s", alias, why)
	}

	enc, err := json.Marshal(cand.encoding)
	if err != nil {
		return err
	}
	recorded := maps.Clone(cand.metrics)
	maps.Copy(recorded, cand.extra)
	v, err := c.Registry.CreateModelVersion(ctx, &registry.CreateModelVersionParams{
		Model: m.Name, Artifact: registry.Artifact{Format: cand.format, Bytes: cand.artifact},
		TrainingSet: spec.TrainingSet, TrainingRows: int64(len(trainRows)),
		LabelStart: trainRows[0].time, LabelEnd: trainRows[len(trainRows)-1].time,
		Metrics: recorded, Encoding: enc, Trainer: cand.trainer + ", definition " + m.ID.Ref().String(), Profile: base, By: args.By, Now: c.now(),
	})
	if err != nil {
		return fmt.Errorf("recording the trained model: %w", err)
	}
	run.rows.Store(int64(len(trainRows)))
	res := TrainResult{Model: m.Name, Version: v.Version, Metrics: cand.metrics, Alias: alias}
	// Both policies compare the new version with the alias's first.
	comparing := spec.Promote.When == resource.PromoteBetter || spec.Promote.When == resource.PromoteExperiment
	switch {
	case spec.Promote.When == resource.PromoteNever:
		res.Reason = "the definition promotes by hand (promote.when: never)"
	case comparing && current > 0 && curMetrics == nil:
		res.Reason = fmt.Sprintf("version %d of %s could not be compared (%s)", current, alias, why)
	case comparing && current > 0 && !model.Better(metric, cand.metrics[metric], curMetrics[metric]):
		res.Reason = fmt.Sprintf("its %s %.6g is not better than %s's (version %d) %.6g", metric, cand.metrics[metric], alias, current, curMetrics[metric])
	case spec.Promote.When == resource.PromoteExperiment && current > 0:
		better := fmt.Sprintf("its %s %.6g is better than version %d's %.6g", metric, cand.metrics[metric], current, curMetrics[metric])
		res.Experiment, res.Reason, err = c.startChallenger(ctx, m, v.Version, args.By)
		if err != nil {
			return err
		}
		res.Reason = better + "; " + res.Reason
	default:
		expect := current
		_, err := c.Registry.SetModelAlias(ctx, &registry.SetModelAliasParams{Model: m.Name, Alias: alias, Version: v.Version, By: args.By, Now: c.now(), Expect: &expect})
		switch {
		case errors.Is(err, registry.ErrAliasMoved):
			res.Reason = fmt.Sprintf("%s moved while this version was validated against version %d; promote it by hand if it should be", alias, current)
		case err != nil:
			return fmt.Errorf("promoting version %d to %s: %w", v.Version, alias, err)
		default:
			res.Promoted = true
			switch {
			case spec.Promote.When == resource.PromoteAlways:
				res.Reason = "the definition promotes every version (promote.when: always)"
			case current == 0:
				res.Reason = fmt.Sprintf("%s pointed at no version", alias)
			default:
				res.Reason = fmt.Sprintf("its %s %.6g is better than version %d's %.6g", metric, cand.metrics[metric], current, curMetrics[metric])
			}
		}
	}
	if res.Promoted {
		run.sayf("version %d of %s is %s: %s", v.Version, m.Name, alias, res.Reason)
	} else {
		run.sayf("version %d of %s recorded, not promoted to %s: %s", v.Version, m.Name, alias, res.Reason)
	}
	run.result = encodeArgs(res)
	return c.setStatus(ctx, m.ID, resource.StatusReady, "", nil)
}

// currentOnHoldout scores the holdout with the version an alias points at,
// by its own stored encoding. It returns the version (0: the alias points
// nowhere) and its metrics, or nil metrics and why it could not be scored.
func (c *Coordinator) currentOnHoldout(ctx context.Context, name, alias, task string, features []model.Feature, holdout []trainingRow, ys []float64) (int, map[string]float64, string) {
	a, err := c.Registry.GetModelAlias(ctx, name, alias)
	if errors.Is(err, registry.ErrNotFound) {
		return 0, nil, fmt.Sprintf("%s points at no version of %s yet", alias, name)
	}
	if err != nil {
		return 0, nil, fmt.Sprintf("reading alias %s: %v", alias, err)
	}
	v, err := c.Registry.GetModelVersion(ctx, name, a.Version)
	if err != nil {
		return a.Version, nil, fmt.Sprintf("reading version %d: %v", a.Version, err)
	}
	s, err := versionScorer(v)
	if err != nil {
		return a.Version, nil, err.Error()
	}
	if s.Task() != task {
		return a.Version, nil, fmt.Sprintf("version %d is a %s model, not %s", a.Version, s.Task(), task)
	}
	// Its features, by name, from this training set's columns.
	enc := s.Encoding().Features()
	cols := make([]int, len(enc))
	for i, f := range enc {
		cols[i] = slices.IndexFunc(features, func(g model.Feature) bool { return g.Name == f.Name && g.Type == f.Type })
		if cols[i] < 0 {
			return a.Version, nil, fmt.Sprintf("version %d reads feature %s (%s), which this training set does not have", a.Version, f.Name, f.Type)
		}
	}
	rows := make([]trainingRow, len(holdout))
	for i, r := range holdout {
		vals := make([]value.Value, len(cols))
		for j, k := range cols {
			vals[j] = r.features[k]
		}
		rows[i] = trainingRow{features: vals}
	}
	m, _, err := evaluate(ctx, task, s, rows, ys)
	if err != nil {
		return a.Version, nil, fmt.Sprintf("scoring version %d on the holdout: %v", a.Version, err)
	}
	return a.Version, m, ""
}

// versionScorer loads a recorded version's model and encoding.
func versionScorer(v *registry.ModelVersion) (*model.Scorer, error) {
	s, err := model.OpenScorer(v.Artifact.Format, v.Artifact.Bytes, v.Encoding)
	if err != nil {
		return nil, fmt.Errorf("version %d of %s: %w", v.Version, v.Model, err)
	}
	return s, nil
}

func formatMetrics(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.6g", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// trainBuiltin fits a built-in trainer. Linear models need one indicator
// column per string value, so strings are one-hot encoded.
func (c *Coordinator) trainBuiltin(ctx context.Context, spec *resource.ModelSpec, features []model.Feature, rows []trainingRow, ys []float64) (*candidate, error) {
	enc, err := buildEncoding(features, rows, model.OneHot)
	if err != nil {
		return nil, fmt.Errorf("%w: encoding the training rows: %w", errPermanent, err)
	}
	w := enc.Width()
	x := make([]float64, len(rows)*w)
	for i, r := range rows {
		if _, err = enc.Encode(r.features, x[i*w:(i+1)*w]); err != nil {
			return nil, fmt.Errorf("%w: encoding the training rows: %w", errPermanent, err)
		}
	}
	d := &model.TrainData{X: x, Columns: enc.Columns(), Y: ys}
	var lin *model.Linear
	switch spec.Trainer.Builtin {
	case model.BuiltinLogistic:
		lin, err = model.TrainLogistic(ctx, d, nil)
	case model.BuiltinLinear:
		lin, err = model.TrainLinear(ctx, d, nil)
	default:
		err = model.CheckBuiltin(spec.Trainer.Builtin, spec.Task)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: training %s: %w", errPermanent, spec.Trainer.Builtin, err)
	}
	artifact, err := lin.MarshalJSON()
	if err != nil {
		return nil, err
	}
	s, err := model.NewScorer(enc, lin)
	if err != nil {
		return nil, err
	}
	return &candidate{format: model.FormatLinear, artifact: artifact, encoding: enc, scorer: s, trainer: "builtin " + spec.Trainer.Builtin}, nil
}

// The environment of a command trainer: where its inputs are and where it
// writes the model (and, optionally, extra metrics as a JSON object of numbers).
const (
	EnvTrainFile   = "SLIPWAY_TRAIN_FILE"
	EnvHoldoutFile = "SLIPWAY_HOLDOUT_FILE"
	EnvSchemaFile  = "SLIPWAY_SCHEMA_FILE"
	EnvModelFile   = "SLIPWAY_MODEL_FILE"
	EnvMetricsFile = "SLIPWAY_METRICS_FILE"
	EnvTask        = "SLIPWAY_TASK"
)

// trainCommand runs a model's command trainer on encoded files of the
// training and holdout rows, and loads the model file it writes.
func (c *Coordinator) trainCommand(ctx context.Context, run *jobRun, m *resource.Resource, data *trainingRows, trainRows, holdout []trainingRow) (*candidate, error) {
	spec := m.Model
	enc, err := buildEncoding(data.features, trainRows, model.Ordinal)
	if err != nil {
		return nil, fmt.Errorf("%w: encoding the training rows: %w", errPermanent, err)
	}
	dir, err := os.MkdirTemp("", "slipway-train-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	files := map[string]string{
		EnvTrainFile:   filepath.Join(dir, "train.csv"),
		EnvHoldoutFile: filepath.Join(dir, "holdout.csv"),
		EnvSchemaFile:  filepath.Join(dir, "schema.json"),
		EnvModelFile:   filepath.Join(dir, "model.json"),
		EnvMetricsFile: filepath.Join(dir, "metrics.json"),
	}
	sch, err := writeEncodedCSV(files[EnvTrainFile], enc, data, trainRows, spec.TrainingSet, spec.Task)
	if err != nil {
		return nil, err
	}
	if _, err := writeEncodedCSV(files[EnvHoldoutFile], enc, data, holdout, spec.TrainingSet, spec.Task); err != nil {
		return nil, err
	}
	schema, err := json.MarshalIndent(sch, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(files[EnvSchemaFile], schema, 0o644); err != nil {
		return nil, err
	}

	cmd := exec.CommandContext(ctx, spec.Trainer.Command[0], spec.Trainer.Command[1:]...)
	cmd.Dir = m.State.Dir
	cmd.Env = append(os.Environ(), EnvTask+"="+spec.Task)
	for k, v := range files {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout // one stream, in order
	run.sayf("running %s in %s", strings.Join(spec.Trainer.Command, " "), cmd.Dir)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: starting the trainer command %q in %s: %w (is it installed, and the path right?)", errPermanent, spec.Trainer.Command[0], cmd.Dir, err)
	}
	logLines(run, out)
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: the trainer command %s failed: %v (its output is in the job's log: slipway jobs logs %d)", errPermanent, strings.Join(spec.Trainer.Command, " "), err, run.job.ID)
	}
	artifact, err := os.ReadFile(files[EnvModelFile])
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: the trainer command exited without writing the model: it must write the model file to $%s", errPermanent, EnvModelFile)
	}
	if err != nil {
		return nil, err
	}
	format, err := model.DetectFormat(artifact)
	if err != nil {
		return nil, fmt.Errorf("%w: the model the trainer command wrote: %w", errPermanent, err)
	}
	p, err := model.Load(format, artifact)
	if err != nil {
		return nil, fmt.Errorf("%w: the model the trainer command wrote: %w", errPermanent, err)
	}
	if p.Task() != spec.Task {
		return nil, fmt.Errorf("%w: the trainer command wrote a %s model, but %s is a %s model: change the trainer's objective", errPermanent, p.Task(), m.ID.Ref(), spec.Task)
	}
	s, err := model.NewScorer(enc, p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errPermanent, err)
	}
	extra, err := trainerMetrics(files[EnvMetricsFile])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errPermanent, err)
	}
	return &candidate{format: format, artifact: artifact, encoding: enc, scorer: s, extra: extra, trainer: "command " + strings.Join(spec.Trainer.Command, " ")}, nil
}

// TrainerMetricPrefix starts the names of the metrics a command trainer
// reports itself, so they are never taken for Slipway's own validation.
const TrainerMetricPrefix = "trainer."

// trainerMetrics reads the optional metrics file of a command trainer: a
// JSON object of finite numbers, recorded under TrainerMetricPrefix.
func trainerMetrics(path string) (map[string]float64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("the metrics the trainer command wrote to $%s are not a JSON object of numbers, like {\"best_iteration\": 42}: %v", EnvMetricsFile, err)
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		if k == "" || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("the metrics the trainer command wrote to $%s: %q is %v; give each metric a name and a finite number", EnvMetricsFile, k, v)
		}
		out[TrainerMetricPrefix+k] = v
	}
	return out, nil
}

// logLines copies a command's output into the job's log, a line at a time.
func logLines(run *jobRun, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		run.sayf("| %s", sc.Text())
	}
}

// writeEncodedCSV writes rows as an encoded CSV file and returns its schema.
func writeEncodedCSV(path string, enc *model.Encoding, data *trainingRows, rows []trainingRow, ts resource.ID, task string) (*model.Schema, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w, err := model.NewEncodedWriter(f, enc, []string{data.entity, resource.TrainingSetTimestampColumn, data.label})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if err := w.Write([]value.Value{r.entity, value.FromTime(r.time), r.label}, r.features); err != nil {
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return w.Schema(ts.Ref().String(), task, data.entity, data.label)
}

// RegisterParams is the input of Register.
type RegisterParams struct {
	Model       string
	Format      string
	Artifact    []byte
	TrainingSet resource.ID
	// Schema is an encoded export's schema file (optional).
	Schema []byte
	By     string
}

// Register records a model trained elsewhere as a new version of a model,
// after checking it: its format loads, it reads as many features as its
// encoding gives, and it scores the training set's holdout (the newest
// DefaultHoldoutPercent of label rows), whose metrics are recorded. It
// moves no alias.
func (c *Coordinator) Register(ctx context.Context, p *RegisterParams) (*registry.ModelVersion, error) {
	format := p.Format
	if format == "" {
		var err error
		if format, err = model.DetectFormat(p.Artifact); err != nil {
			return nil, refused(err)
		}
	}
	pred, err := model.Load(format, p.Artifact)
	if err != nil {
		return nil, refused(err)
	}
	data, err := c.readTrainingRows(ctx, p.TrainingSet)
	if err != nil {
		return nil, err
	}
	_, holdout, err := data.split(resource.DefaultHoldoutPercent)
	if err != nil {
		return nil, refused(err)
	}
	var enc *model.Encoding
	if len(p.Schema) > 0 {
		s, err := model.ParseSchema(p.Schema)
		if err != nil {
			return nil, refused(fmt.Errorf("the schema file: %w", err))
		}
		if s.TrainingSet != p.TrainingSet.Ref().String() {
			return nil, refused(fmt.Errorf("the schema file is of training set %s, not %s: give the schema exported with the rows the model was trained on", s.TrainingSet, p.TrainingSet.Ref()))
		}
		enc = s.Encoding
	} else if enc, err = buildEncoding(data.features, data.rows, model.Ordinal); err != nil {
		return nil, err
	}
	if got, want := enc.Features(), data.features; !slices.Equal(got, want) {
		return nil, refused(fmt.Errorf("the schema file's features (%s) are not training set %s's (%s): export the training set again with --encoded and train on that",
			featureNames(got), p.TrainingSet.Ref(), featureNames(want)))
	}
	s, err := model.NewScorer(enc, pred)
	if err != nil {
		return nil, refused(err)
	}
	ys, err := labels(pred.Task(), holdout)
	if err != nil {
		return nil, refused(err)
	}
	metrics, outputs, err := evaluate(ctx, pred.Task(), s, holdout, ys)
	if err != nil {
		return nil, refused(fmt.Errorf("validating the model on the holdout of %s: %w", p.TrainingSet.Ref(), err))
	}
	// The model was trained elsewhere, on rows of the training set: its
	// baseline is the rows before the holdout.
	base, err := baselineProfile(data.features, data.rows[:len(data.rows)-len(holdout)], pred.Task(), outputs, s.NumOutputs())
	if err != nil {
		return nil, fmt.Errorf("profiling the training data: %w", err)
	}
	encJSON, err := json.Marshal(enc)
	if err != nil {
		return nil, err
	}
	return c.Registry.CreateModelVersion(ctx, &registry.CreateModelVersionParams{
		Model: p.Model, Artifact: registry.Artifact{Format: format, Bytes: p.Artifact},
		TrainingSet: p.TrainingSet, TrainingRows: int64(len(data.rows)),
		LabelStart: data.rows[0].time, LabelEnd: data.rows[len(data.rows)-1].time,
		Metrics: metrics, Encoding: encJSON, Trainer: "registered", Profile: base, By: p.By, Now: c.now(),
	})
}

// ErrModelRefused marks a registration refused for the model's own
// reasons (its file, its width, its schema, its predictions), not the
// stores'.
var ErrModelRefused = errors.New("model not registered")

func refused(err error) error {
	return fmt.Errorf("%w: %w", ErrModelRefused, err)
}

func featureNames(fs []model.Feature) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name + " " + string(f.Type)
	}
	return strings.Join(names, ", ")
}

// exportEncoded writes a training set as an encoded CSV file and its
// schema next to it (SchemaPath), reading the training set twice: once for
// the encoding's vocabularies, once to write, so no row is held in memory.
func (c *Coordinator) exportEncoded(ctx context.Context, tp *offline.TrainingSetParams, id resource.ID, path string) (int64, error) {
	data := newTrainingRows(tp)
	b, err := model.NewEncodingBuilder(data.features, model.EncodingConfig{})
	if err != nil {
		return 0, err
	}
	// Rows are entity, label time, the features, the label.
	if err := c.eachTrainingRow(ctx, tp, func(v []value.Value) error { return b.Add(v[2 : len(v)-1]) }); err != nil {
		return 0, err
	}
	enc, err := b.Encoding()
	if err != nil {
		return 0, err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp)
	w, err := model.NewEncodedWriter(f, enc, []string{data.entity, resource.TrainingSetTimestampColumn, data.label})
	if err != nil {
		f.Close()
		return 0, err
	}
	lead := make([]value.Value, 3)
	err = c.eachTrainingRow(ctx, tp, func(v []value.Value) error {
		lead[0], lead[1], lead[2] = v[0], v[1], v[len(v)-1]
		return w.Write(lead, v[2:len(v)-1])
	})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	sch, err := w.Schema(id.Ref().String(), "", data.entity, data.label)
	if err != nil {
		return 0, err
	}
	schema, err := json.MarshalIndent(sch, "", "  ")
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(SchemaPath(path), schema, 0o644); err != nil {
		return 0, err
	}
	return w.Rows(), os.Rename(tmp, path)
}

// SchemaPath is where an encoded export of path writes its schema: the
// same name with .schema.json for its extension.
func SchemaPath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".schema.json"
}

func (c *Coordinator) eachTrainingRow(ctx context.Context, tp *offline.TrainingSetParams, f func([]value.Value) error) error {
	rows, err := c.Offline.ReadTrainingSet(ctx, tp)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows.Values()); err != nil {
			return err
		}
	}
	return rows.Err()
}
