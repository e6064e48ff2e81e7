package coordinator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// trainDefs: a binary label y and a regression target that depend on x and
// region, and model definitions training them.
const trainDefs = `entities:
  - name: user
sources:
  - name: obs
    file: obs.csv
    timestamp_column: ts
features:
  - name: x
    entity: user
    source: obs
    entity_column: user_id
    value_column: x
    timestamp_column: ts
    type: float64
  - name: region
    entity: user
    source: obs
    entity_column: user_id
    value_column: region
    timestamp_column: ts
    type: string
labels:
  - name: y
    entity: user
    source: obs
    entity_column: user_id
    value_column: y
    timestamp_column: ts
    type: int64
  - name: target
    entity: user
    source: obs
    entity_column: user_id
    value_column: target
    timestamp_column: ts
    type: float64
  - name: segment
    description: A class 0, 1 or 2, from x and region.
    entity: user
    source: obs
    entity_column: user_id
    value_column: segment
    timestamp_column: ts
    type: int64
  - name: one_class
    entity: user
    source: obs
    entity_column: user_id
    value_column: zero
    timestamp_column: ts
    type: int64
training_sets:
  - name: buys
    label: y
    features: [x, region]
  - name: spend
    label: target
    features: [x, region]
  - name: constant
    label: one_class
    features: [x, region]
  - name: segments
    label: segment
    features: [x, region]
models:
  - name: buyer
    training_set: buys
    task: binary_classification
    trainer: {builtin: logistic_regression}
  - name: buyer
    variant: flipped
    description: A command trainer writing a model that ranks backwards, so worse than the built-in one.
    training_set: buys
    task: binary_classification
    trainer: {command: [sh, write_model.sh, flipped.json]}
  - name: buyer
    variant: always
    training_set: buys
    task: binary_classification
    trainer: {command: [sh, write_model.sh, flipped.json]}
    promote: {when: always}
  - name: buyer
    variant: fails
    training_set: buys
    task: binary_classification
    trainer: {command: [sh, -c, 'echo "bad things happened" >&2; exit 3']}
  - name: buyer
    variant: writes_nothing
    training_set: buys
    task: binary_classification
    trainer: {command: [sh, -c, 'echo training']}
  - name: buyer
    variant: corrupt
    training_set: buys
    task: binary_classification
    trainer: {command: [sh, write_model.sh, truncated.json]}
  - name: buyer
    variant: too_few_features
    training_set: buys
    task: binary_classification
    trainer: {command: [sh, write_model.sh, one_feature.json]}
  - name: spender
    training_set: spend
    task: regression
    trainer: {builtin: linear_regression}
    validation: {holdout: 25%, metric: mae}
  - name: constant
    training_set: constant
    task: binary_classification
    trainer: {builtin: logistic_regression}
  - name: xgb_buyer
    training_set: buys
    task: binary_classification
    trainer: {command: [/usr/bin/python3, train_xgboost.py]}
  - name: xgb_segment
    training_set: segments
    task: multiclass
    trainer: {command: [/usr/bin/python3, train_xgboost.py]}
    validation: {metric: accuracy}
`

// writeTrainProject writes the definitions, 400 observations of 100 users
// over 100 days, and the files the command trainers copy.
func writeTrainProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("user_id,ts,x,region,y,target,zero,segment\n")
	regions := []string{"eu", "us", "apac"}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 400 {
		x := math.Sin(float64(i)*1.7) * 2
		r := i % 3
		noise := math.Sin(float64(i)*12.9898) * 0.9
		y := 0
		if x+float64(r)*0.5-0.5+noise > 0 {
			y = 1
		}
		target := 3*x + float64(r) + noise
		ts := start.Add(time.Duration(i) * 6 * time.Hour)
		segment := min(2, max(0, int(math.Floor(x+noise/2+float64(r)/2))))
		fmt.Fprintf(&b, "u%d,%s,%.6f,%s,%d,%.6f,0,%d\n", i%100, ts.Format("2006-01-02T15:04:05"), x, regions[r], y, target, segment)
	}
	files := map[string]string{
		"obs.csv":   b.String(),
		"defs.yaml": trainDefs,
		// The inputs must be there; the model is copied, and one extra metric reported.
		"write_model.sh": `set -e; head -c 0 "$SLIPWAY_TRAIN_FILE" "$SLIPWAY_HOLDOUT_FILE" "$SLIPWAY_SCHEMA_FILE"
cat "$1" > "$SLIPWAY_MODEL_FILE"; echo '{"rounds": 7}' > "$SLIPWAY_METRICS_FILE"; echo "wrote $1 for $SLIPWAY_TASK"` + "\n",
		// One-hot is for the built-in trainers; a command trainer's rows are
		// ordinal: x and region's code.
		"flipped.json":     linearJSON(t, -2, []float64{-1, 0}, []string{"x", "region"}),
		"one_feature.json": linearJSON(t, 0, []float64{1}, []string{"x"}),
		"truncated.json":   `{"format": "slipway-linear", "version": 1, "task": "binary_cla`,
	}
	for name, content := range files {
		must(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	script, err := os.ReadFile(filepath.Join("testdata", "train_xgboost.py"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "train_xgboost.py"), script, 0o644))
	return dir
}

func linearJSON(t *testing.T, intercept float64, coef []float64, cols []string) string {
	t.Helper()
	m, err := model.NewLinear(model.TaskBinaryClassification, intercept, coef, make([]float64, len(coef)), cols, nil)
	must(t, err)
	b, err := m.MarshalJSON()
	must(t, err)
	return string(b)
}

func modelID(variant string) resource.ID {
	return resource.ID{Kind: resource.KindModel, Name: "buyer", Variant: variant}
}

// train runs a training job to its end and returns it.
func train(t *testing.T, c *coordinator.Coordinator, id resource.ID) *registry.Job {
	t.Helper()
	jobs, err := c.EnqueueTrain(context.Background(), &coordinator.TrainParams{Model: id, By: "tester"})
	must(t, err)
	w := &coordinator.Worker{Coordinator: c}
	ended, err := w.Work(context.Background(), coordinator.JobIDs(jobs))
	must(t, err)
	return ended[len(ended)-1]
}

func trainResult(t *testing.T, j *registry.Job) coordinator.TrainResult {
	t.Helper()
	if j.Status != registry.JobSucceeded {
		t.Fatalf("job %d %s: %s", j.ID, j.Status, j.Error)
	}
	var r coordinator.TrainResult
	must(t, json.Unmarshal(j.Result, &r))
	return r
}

func alias(t *testing.T, c *coordinator.Coordinator, name string) int {
	t.Helper()
	a, err := c.Registry.GetModelAlias(context.Background(), name, "production")
	must(t, err)
	return a.Version
}

func TestTrainValidatePromote(t *testing.T) {
	dir := writeTrainProject(t)
	c := newCoordinator(t, t.TempDir())
	applyDir(t, c, dir)
	ctx := context.Background()

	// The first version has nothing to beat: promoted.
	r1 := trainResult(t, train(t, c, modelID("default")))
	if r1.Version != 1 || !r1.Promoted || alias(t, c, "buyer") != 1 {
		t.Fatalf("first training: %+v, production at %d; want version 1 promoted", r1, alias(t, c, "buyer"))
	}
	if r1.Metrics["auc"] < 0.8 {
		t.Errorf("built-in logistic regression holdout AUC %v on a learnable label; want > 0.8", r1.Metrics["auc"])
	}

	// The recorded metrics are those of the stored model and encoding on
	// the newest 20% of label rows, scored again here from the training set.
	v1, err := c.Registry.GetModelVersion(ctx, "buyer", 1)
	must(t, err)
	if v1.Artifact.Format != model.FormatLinear || v1.TrainingRows != 320 || v1.Trainer != "builtin logistic_regression, definition buyer:default" || v1.CreatedBy != "tester" {
		t.Errorf("version 1: format %s, %d training rows, trainer %q, by %q", v1.Artifact.Format, v1.TrainingRows, v1.Trainer, v1.CreatedBy)
	}
	if want := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); !v1.LabelStart.Equal(want) || !v1.LabelEnd.Equal(want.Add(319*6*time.Hour)) {
		t.Errorf("version 1 label times %s to %s; want the oldest 320 rows' (%s to %s)", v1.LabelStart, v1.LabelEnd, want, want.Add(319*6*time.Hour))
	}
	holdoutAUC := rescoreHoldout(t, c, v1, 80)
	if math.Abs(holdoutAUC-r1.Metrics["auc"]) > 1e-12 || math.Abs(v1.Metrics["auc"]-r1.Metrics["auc"]) > 1e-12 {
		t.Errorf("recorded AUC %v, job result %v; the stored model scores the holdout at %v", v1.Metrics["auc"], r1.Metrics["auc"], holdoutAUC)
	}

	// A worse candidate is recorded but not promoted under when: better.
	j2 := train(t, c, modelID("flipped"))
	r2 := trainResult(t, j2)
	if r2.Version != 2 || r2.Promoted || alias(t, c, "buyer") != 1 || r2.Metrics["auc"] >= r1.Metrics["auc"] {
		t.Fatalf("worse candidate: %+v, production at %d; want version 2 recorded, production still 1", r2, alias(t, c, "buyer"))
	}
	if !strings.Contains(r2.Reason, "not better") {
		t.Errorf("reason %q; want it to say the metric is not better", r2.Reason)
	}
	v2, err := c.Registry.GetModelVersion(ctx, "buyer", 2)
	must(t, err)
	if v2.Metrics["trainer.rounds"] != 7 || v2.Metrics["auc"] != r2.Metrics["auc"] || v2.Trainer != "command sh write_model.sh flipped.json, definition buyer:flipped" {
		t.Errorf("command-trained version: metrics %v, trainer %q; want its own metrics and trainer.rounds 7", v2.Metrics, v2.Trainer)
	}
	// The command's output is in its job's log.
	if log := jobLog(t, c, j2.ID); !strings.Contains(log, "| wrote flipped.json for binary_classification") {
		t.Errorf("job log:\n%s\nwant the command's output", log)
	}
	// Retraining the same definition on the same rows gives the same model:
	// not better, not promoted.
	if r := trainResult(t, train(t, c, modelID("default"))); r.Version != 3 || r.Promoted {
		t.Errorf("retraining on the same rows: %+v; want version 3, not promoted (equal is not better)", r)
	}
	// when: always promotes even a worse one; rollback goes back.
	if r := trainResult(t, train(t, c, modelID("always"))); r.Version != 4 || !r.Promoted || alias(t, c, "buyer") != 4 {
		t.Fatalf("when: always: %+v, production at %d; want version 4 promoted", r, alias(t, c, "buyer"))
	}
	hist, err := c.Registry.ModelAliasHistory(ctx, "buyer", "production")
	must(t, err)
	if len(hist) != 2 || hist[0].To != 1 || hist[1].From != 1 || hist[1].To != 4 || hist[1].By != "tester" {
		t.Errorf("alias history %+v; want 0→1, 1→4 by tester", hist)
	}
}

// rescoreHoldout scores the newest n label rows of the training set with a
// stored version, read independently of the training job, and returns the AUC.
func rescoreHoldout(t *testing.T, c *coordinator.Coordinator, v *registry.ModelVersion, n int) float64 {
	t.Helper()
	enc, err := model.ParseEncoding(v.Encoding)
	must(t, err)
	p, err := model.Load(v.Artifact.Format, v.Artifact.Bytes)
	must(t, err)
	s, err := model.NewScorer(enc, p)
	must(t, err)
	f, err := os.CreateTemp(t.TempDir(), "*.csv")
	must(t, err)
	f.Close()
	_, err = c.Export(context.Background(), &coordinator.ExportParams{TrainingSet: v.TrainingSet, Format: "csv", Path: f.Name()})
	must(t, err)
	rows := readCSV(t, f.Name())
	// Newest by time: every timestamp is distinct here.
	slices.SortFunc(rows[1:], func(a, b []string) int { return strings.Compare(a[1], b[1]) })
	hold := rows[len(rows)-n:]
	var ys []float64
	var raw [][]value.Value
	for _, r := range hold {
		// entity, timestamp, x, region, y
		var y float64
		fmt.Sscan(r[4], &y)
		ys = append(ys, y)
		var x float64
		fmt.Sscan(r[2], &x)
		raw = append(raw, []value.Value{value.FromFloat64(x), value.FromString(r[3])})
	}
	out, err := s.ScoreRows(raw, nil)
	must(t, err)
	auc, err := model.AUC(ys, out)
	must(t, err)
	return auc
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	var out [][]string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		out = append(out, strings.Split(line, ","))
	}
	return out
}

func TestTrainRegression(t *testing.T) {
	dir := writeTrainProject(t)
	c := newCoordinator(t, t.TempDir())
	applyDir(t, c, dir)
	r := trainResult(t, train(t, c, resource.ID{Kind: resource.KindModel, Name: "spender", Variant: "default"}))
	if r.Version != 1 || !r.Promoted || len(r.Metrics) != 2 {
		t.Fatalf("regression: %+v; want version 1 promoted with rmse and mae", r)
	}
	// target = 3x + region code + noise in [-0.9, 0.9]: a linear fit's
	// errors stay within the noise.
	if r.Metrics["mae"] > 0.9 || r.Metrics["rmse"] > 0.9 {
		t.Errorf("regression holdout metrics %v; want errors within the noise (0.9)", r.Metrics)
	}
	v, err := c.Registry.GetModelVersion(context.Background(), "spender", 1)
	must(t, err)
	if v.TrainingRows != 300 {
		t.Errorf("trained on %d rows; want 300 (a 25%% holdout of 400)", v.TrainingRows)
	}
}

// TestTrainBadInput: each failure is a clear error in the job, and no
// version is recorded.
func TestTrainBadInput(t *testing.T) {
	dir := writeTrainProject(t)
	c := newCoordinator(t, t.TempDir())
	applyDir(t, c, dir)
	ctx := context.Background()
	for _, tc := range []struct {
		id   resource.ID
		want []string
	}{
		{modelID("fails"), []string{"trainer command", "failed", "exit status 3"}},
		{modelID("writes_nothing"), []string{"without writing the model", "SLIPWAY_MODEL_FILE"}},
		{modelID("corrupt"), []string{"truncated"}},
		{modelID("too_few_features"), []string{"1 features", "2 columns"}},
		{resource.ID{Kind: resource.KindModel, Name: "constant", Variant: "default"}, []string{"class"}},
	} {
		t.Run(tc.id.Ref().String(), func(t *testing.T) {
			j := train(t, c, tc.id)
			if j.Status != registry.JobFailed {
				t.Fatalf("job %s; want failed", j.Status)
			}
			for _, w := range tc.want {
				if !strings.Contains(j.Error, w) {
					t.Errorf("error %q; want it to contain %q", j.Error, w)
				}
			}
			if j.Attempts != 1 {
				t.Errorf("%d attempts; a bad model is not worth retrying", j.Attempts)
			}
			vs, err := c.Registry.ListModelVersions(ctx, &registry.ListModelVersionsParams{Model: tc.id.Name})
			must(t, err)
			if len(vs) != 0 {
				t.Errorf("%d versions recorded; want none", len(vs))
			}
			m, err := c.Registry.Get(ctx, tc.id)
			must(t, err)
			if m.State.Status != resource.StatusFailed {
				t.Errorf("model status %s; want failed", m.State.Status)
			}
		})
	}
	// The failing command's output is in its job's log.
	j := train(t, c, modelID("fails"))
	if log := jobLog(t, c, j.ID); !strings.Contains(log, "bad things happened") {
		t.Errorf("job log:\n%s\nwant the command's output", log)
	}
}

func jobLog(t *testing.T, c *coordinator.Coordinator, id int64) string {
	t.Helper()
	lines, err := c.Registry.JobLogs(context.Background(), &registry.JobLogsParams{ID: id})
	must(t, err)
	var log strings.Builder
	for _, l := range lines {
		log.WriteString(l.Line + "\n")
	}
	return log.String()
}

// TestExportEncoded: the encoded file holds the rows of the plain export,
// encoded as the schema's encoding encodes them.
func TestExportEncoded(t *testing.T) {
	dir := writeTrainProject(t)
	c := newCoordinator(t, t.TempDir())
	applyDir(t, c, dir)
	out := filepath.Join(t.TempDir(), "buys.csv")
	n, err := c.Export(context.Background(), &coordinator.ExportParams{TrainingSet: resource.ID{Kind: resource.KindTrainingSet, Name: "buys", Variant: "default"}, Format: "csv", Path: out, Encoded: true})
	must(t, err)
	if n != 400 {
		t.Fatalf("exported %d rows; want 400", n)
	}
	b, err := os.ReadFile(coordinator.SchemaPath(out))
	must(t, err)
	s, err := model.ParseSchema(b)
	must(t, err)
	if s.TrainingSet != "buys:default" || s.Label != "y" || s.Entity != "user" || !slices.Equal(s.Features, []string{"x", "region"}) || s.Rows != 400 {
		t.Errorf("schema %+v", s)
	}
	if got := s.Encoding.Vocabulary("region"); !slices.Equal(got, []string{"apac", "eu", "us"}) {
		t.Errorf("region vocabulary %v; want the three regions in byte order", got)
	}
	rows := readCSV(t, out)
	if !slices.Equal(rows[0], []string{"user", "timestamp", "y", "x", "region"}) {
		t.Fatalf("header %v", rows[0])
	}
	plain := filepath.Join(t.TempDir(), "plain.csv")
	_, err = c.Export(context.Background(), &coordinator.ExportParams{TrainingSet: resource.ID{Kind: resource.KindTrainingSet, Name: "buys", Variant: "default"}, Format: "csv", Path: plain})
	must(t, err)
	prows := readCSV(t, plain)
	codes := map[string]string{"apac": "0", "eu": "1", "us": "2"}
	for i := 1; i < len(rows); i++ {
		// Encoded: user, timestamp, y, x, region; plain: user, timestamp, x, region, y.
		if rows[i][0] != prows[i][0] || rows[i][2] != prows[i][4] || codes[prows[i][3]] != rows[i][4] {
			t.Fatalf("row %d: encoded %v, plain %v", i, rows[i], prows[i])
		}
	}
}

// TestScheduledRetraining: a model with a schedule is trained at its firing.
func TestScheduledRetraining(t *testing.T) {
	dir := writeTrainProject(t)
	c := newCoordinator(t, t.TempDir())
	applyDir(t, c, dir)
	ctx := context.Background()
	m, err := c.Registry.Get(ctx, modelID("default"))
	must(t, err)
	m.Variant, m.State = "weekly", resource.State{Status: resource.StatusPending}
	m.Model.Schedule = "@weekly"
	_, err = c.Registry.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{m}})
	must(t, err)
	m, err = c.Registry.Get(ctx, m.ID)
	must(t, err)
	clock := &fakeClock{}
	c.Now = clock.Now
	s := &coordinator.Scheduler{Coordinator: c}
	// Half a day after a firing (at least a week after the registration),
	// so that an hour later is still before the next one, whatever the
	// time of day the test runs.
	weekly, err := resource.ParseSchedule("@weekly")
	must(t, err)
	clock.t = weekly.Next(m.State.CreatedAt.Add(7 * 24 * time.Hour)).Add(12 * time.Hour)
	jobs, err := s.Tick(ctx)
	must(t, err)
	if len(jobs) != 1 || jobs[0].Kind != coordinator.JobTrain || jobs[0].Resource != m.ID || !strings.HasPrefix(jobs[0].Key, "schedule:model/buyer:weekly@") {
		t.Fatalf("the weekly firing queued %+v; want one training of buyer:weekly", jobs)
	}
	ended, err := fastWorker(c).Work(ctx, coordinator.JobIDs(jobs))
	must(t, err)
	if r := trainResult(t, ended[0]); r.Version != 1 || !r.Promoted {
		t.Errorf("scheduled training: %+v; want version 1, promoted", r)
	}
	v, err := c.Registry.GetModelVersion(ctx, "buyer", 1)
	must(t, err)
	if v.CreatedBy != "schedule" {
		t.Errorf("version by %q; want schedule", v.CreatedBy)
	}
	// Until the next firing, no other run.
	clock.t = clock.t.Add(time.Hour)
	if again, err := s.Tick(ctx); err != nil || len(again) != 0 {
		t.Errorf("a tick an hour later queued %d jobs (%v); want none", len(again), err)
	}
}

// TestTrainCommandXGBoost: a command trainer running the real XGBoost on
// the files Slipway hands it; Slipway's predictions on the holdout, with
// the stored encoding and its own inference, equal XGBoost's to 1e-6, for
// a binary and a multiclass model.
func TestTrainCommandXGBoost(t *testing.T) {
	testenv.Python(t, "xgboost", "pandas")
	dir := writeTrainProject(t)
	c := newCoordinator(t, t.TempDir())
	applyDir(t, c, dir)
	ctx := context.Background()
	for _, tc := range []struct {
		name, metric string
		ts           string
		outputs      int
	}{
		{"xgb_buyer", "auc", "buys", 1},
		{"xgb_segment", "accuracy", "segments", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := train(t, c, resource.ID{Kind: resource.KindModel, Name: tc.name, Variant: resource.DefaultVariant})
			r := trainResult(t, j)
			if r.Version != 1 || !r.Promoted || r.Metrics[tc.metric] < 0.7 {
				t.Errorf("%s: %+v; want version 1 promoted with %s > 0.7", tc.name, r, tc.metric)
			}
			if log := jobLog(t, c, j.ID); !strings.Contains(log, "| trained") {
				t.Errorf("job log:\n%s\nwant the script's output", log)
			}
			v, err := c.Registry.GetModelVersion(ctx, tc.name, 1)
			must(t, err)
			if v.Artifact.Format != model.FormatXGBoostJSON || v.Metrics["trainer.rounds"] != 20 {
				t.Errorf("version: format %s, metrics %v", v.Artifact.Format, v.Metrics)
			}
			enc, err := model.ParseEncoding(v.Encoding)
			must(t, err)
			p, err := model.Load(v.Artifact.Format, v.Artifact.Bytes)
			must(t, err)
			s, err := model.NewScorer(enc, p)
			must(t, err)
			// The holdout: the newest 80 rows (20%), raw values from a plain export.
			f := filepath.Join(t.TempDir(), "plain.csv")
			_, err = c.Export(ctx, &coordinator.ExportParams{TrainingSet: resource.ID{Kind: resource.KindTrainingSet, Name: tc.ts, Variant: resource.DefaultVariant}, Format: "csv", Path: f})
			must(t, err)
			rows := readCSV(t, f)[1:]
			slices.SortStableFunc(rows, func(a, b []string) int { return strings.Compare(a[1], b[1]) })
			var raw [][]value.Value
			for _, r := range rows[len(rows)-80:] {
				var x float64
				fmt.Sscan(r[2], &x)
				raw = append(raw, []value.Value{value.FromFloat64(x), value.FromString(r[3])})
			}
			got, err := s.ScoreRows(raw, nil)
			must(t, err)
			want := readPredictions(t, filepath.Join(dir, "holdout_predictions.txt"))
			if len(want) != len(got) || len(got) != 80*tc.outputs {
				t.Fatalf("%d predictions from Slipway, %d from XGBoost; want %d", len(got), len(want), 80*tc.outputs)
			}
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-6 {
					t.Fatalf("prediction %d (row %d): Slipway %v, XGBoost %v", i, i/tc.outputs, got[i], want[i])
				}
			}
		})
	}
}

func readPredictions(t *testing.T, path string) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	var out []float64
	for _, f := range strings.Fields(string(b)) {
		var v float64
		_, err := fmt.Sscan(f, &v)
		must(t, err)
		out = append(out, v)
	}
	return out
}
