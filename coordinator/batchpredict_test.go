package coordinator_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

const batchDefs = `batch_predictions:
  - name: buyer_scores
    model: buyer
    entities: obs
`

var buyerScores = resource.ID{Kind: resource.KindBatchPrediction, Name: "buyer_scores", Variant: "default"}

// batchPredict runs the batch prediction as of at and returns its job.
func batchPredict(t *testing.T, c *coordinator.Coordinator, at time.Time) (*registry.Job, coordinator.BatchPredictResult) {
	t.Helper()
	ended, err := c.BatchPredict(context.Background(), &coordinator.BatchPredictParams{BatchPrediction: buyerScores, At: at})
	if len(ended) == 0 {
		t.Fatalf("batch prediction: no job ended: %v", err)
	}
	j := ended[len(ended)-1]
	var res coordinator.BatchPredictResult
	if j.Status == registry.JobSucceeded {
		must(t, json.Unmarshal(j.Result, &res))
	}
	return j, res
}

// latestObs reads obs.csv independently of the engine: per user, the x and
// region of its newest row at or before at.
func latestObs(t *testing.T, dir string, at time.Time) map[string][]value.Value {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "obs.csv"))
	must(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	must(t, err)
	out := map[string][]value.Value{}
	newest := map[string]time.Time{}
	for _, r := range recs[1:] { // user_id,ts,x,region,...
		ts, err := time.Parse("2006-01-02T15:04:05", r[1])
		must(t, err)
		if ts.After(at) || ts.Before(newest[r[0]]) {
			continue
		}
		x, err := strconv.ParseFloat(r[2], 64)
		must(t, err)
		newest[r[0]] = ts
		out[r[0]] = []value.Value{value.FromFloat64(x), value.FromString(r[3])}
	}
	return out
}

// tableRows reads every row of a batch prediction's table: user → the
// rows' (predicted_at, prediction, class, model_version, model,
// prediction_id, batch_prediction, features, statuses, encoded) in any order.
func tableRows(t *testing.T, c *coordinator.Coordinator, table string) map[string][][]value.Value {
	t.Helper()
	ctx := context.Background()
	// Every row is the newest of its own key (its prediction id is unique).
	view := table + "_keyed"
	_, err := c.Offline.CreateTable(ctx, &offline.CreateTableParams{Table: view, View: true,
		SQL: `SELECT prediction_id AS k, * FROM ` + offline.QuoteIdent(table)})
	must(t, err)
	rows, err := c.Offline.ReadLatest(ctx, &offline.ReadLatestParams{Table: view, EntityColumn: "k", TimestampColumn: "predicted_at",
		ValueColumns: []string{"entity", "prediction", "class", "model_version", "model", "prediction_id", "batch_prediction", "features", "statuses", "encoded"},
		AsOf:         time.Now().Add(24 * time.Hour)})
	must(t, err)
	defer rows.Close()
	out := map[string][][]value.Value{}
	for rows.Next() {
		v := rows.Values() // k, predicted_at, entity, prediction, class, model_version, model, prediction_id, batch_prediction, features, statuses, encoded
		out[v[2].Str()] = append(out[v[2].Str()], []value.Value{v[1], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]})
	}
	must(t, rows.Err())
	return out
}

func TestBatchPrediction(t *testing.T) {
	dir := writeTrainProject(t)
	must(t, os.WriteFile(filepath.Join(dir, "batch.yaml"), []byte(batchDefs), 0o644))
	c := newCoordinator(t, t.TempDir())
	applyDir(t, c, dir)
	ctx := context.Background()

	// No version behind the alias yet: a clear, permanent failure.
	j, _ := batchPredict(t, c, time.Time{})
	if j.Status != registry.JobFailed || !strings.Contains(j.Error, "points at no version") || !strings.Contains(j.Error, "slipway train buyer") {
		t.Fatalf("batch prediction before training: %s %q; want failed, saying to train the model", j.Status, j.Error)
	}

	trainResult(t, train(t, c, modelID("default")))
	v, err := c.Registry.GetModelVersion(ctx, "buyer", 1)
	must(t, err)
	scorer, err := model.OpenScorer(v.Artifact.Format, v.Artifact.Bytes, v.Encoding)
	must(t, err)

	// As of a time inside the data: each user's features are those of its
	// newest observation at or before that time, never a later one.
	mid := time.Date(2026, 2, 10, 7, 30, 0, 123456000, time.UTC)
	j, res := batchPredict(t, c, mid)
	if j.Status != registry.JobSucceeded {
		t.Fatalf("batch prediction: %s %s", j.Status, j.Error)
	}
	want := latestObs(t, dir, mid)
	if res.Rows != int64(len(want)) || j.Rows != res.Rows || res.Version != 1 || !res.ScoredAt.Equal(mid) {
		t.Fatalf("result %+v, job rows %d; want %d users scored by version 1 as of %s", res, j.Rows, len(want), mid)
	}
	got := tableRows(t, c, res.Table)
	if len(got) != len(want) {
		t.Fatalf("table has %d users; want %d", len(got), len(want))
	}
	for user, feats := range want {
		out, err := scorer.ScoreRows([][]value.Value{feats}, nil)
		must(t, err)
		rows := got[user]
		if len(rows) != 1 {
			t.Fatalf("user %s has %d rows; want 1", user, len(rows))
		}
		r := rows[0] // predicted_at, prediction, class, model_version, model, prediction_id, batch_prediction, features, statuses, encoded
		class := int64(0)
		if out[0] > 0.5 {
			class = 1
		}
		if !r[0].Time().Equal(mid) || math.Abs(r[1].Float64()-out[0]) > 1e-12 || r[2].Int64() != class || r[3].Int64() != 1 || r[4].Str() != "buyer" || len(r[5].Str()) != 36 ||
			r[6].Str() != "buyer_scores:default" {
			t.Errorf("user %s: row %v; want predicted_at %s, prediction %v, class %d, version 1 of buyer, a prediction id, by buyer_scores:default", user, r, mid, out[0], class)
		}
		// The features as scored, and the vector the model read.
		x, err := scorer.EncodeRows([][]value.Value{feats})
		must(t, err)
		var gotFeats map[string]any
		var gotEnc []float64
		must(t, json.Unmarshal([]byte(r[7].Str()), &gotFeats))
		must(t, json.Unmarshal([]byte(r[9].Str()), &gotEnc))
		if gotFeats["x"] != feats[0].Float64() || gotFeats["region"] != feats[1].Str() || r[8].Str() != `{}` || !slices.Equal(gotEnc, x) {
			t.Errorf("user %s: features %s, statuses %s, encoded %s; want %v, {} (every feature found), %v", user, r[7].Str(), r[8].Str(), r[9].Str(), feats, x)
		}
	}

	// The source and feature are registered; the feature serves each
	// user's newest prediction online.
	src, err := c.Registry.Get(ctx, res.Source)
	must(t, err)
	feat, err := c.Registry.Get(ctx, res.Feature)
	must(t, err)
	if src.State.Status != resource.StatusReady || feat.State.Status != resource.StatusReady || feat.Feature.Entity != "user" || feat.Feature.Type != value.Float64 ||
		feat.Feature.EntityColumn != "entity" || feat.Feature.TimestampColumn != "predicted_at" {
		t.Fatalf("source %s %s, feature %s %s %+v; want both ready, a float64 feature of user", src.ID, src.State.Status, feat.ID, feat.State.Status, feat.Feature)
	}
	checkOnline := func(at time.Time) {
		t.Helper()
		rows := tableRows(t, c, res.Table)
		var users []string
		for u := range rows {
			users = append(users, u)
		}
		read, err := c.Online.Read(ctx, &online.ReadParams{Features: []string{"buyer_scores:default"}, Entities: users})
		must(t, err)
		for i, u := range users {
			e := read.Entries[i][0]
			var newest []value.Value
			for _, r := range rows[u] {
				if newest == nil || r[0].Time().After(newest[0].Time()) {
					newest = r
				}
			}
			if !e.Found || e.Value.Float64() != newest[1].Float64() || !e.Timestamp.Equal(at) || !newest[0].Time().Equal(at) {
				t.Errorf("online %s: %+v; want the prediction %v of its newest row (%s), scored at %s", u, e, newest[1], newest[0].Time(), at)
			}
		}
	}
	checkOnline(mid)

	// A run again as of the same time (a retried job) replaces its rows.
	if j, _ := batchPredict(t, c, mid); j.Status != registry.JobSucceeded {
		t.Fatalf("second run as of %s: %s %s", mid, j.Status, j.Error)
	}
	for u, rows := range tableRows(t, c, res.Table) {
		if len(rows) != 1 {
			t.Fatalf("after a rerun as of the same time, user %s has %d rows; want 1", u, len(rows))
		}
	}
	// A later run adds its rows; online serves the newest.
	later := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	if j, _ := batchPredict(t, c, later); j.Status != registry.JobSucceeded {
		t.Fatalf("run as of %s: %s %s", later, j.Status, j.Error)
	}
	for u, rows := range tableRows(t, c, res.Table) {
		if len(rows) != 2 {
			t.Fatalf("after a later run, user %s has %d rows; want 2", u, len(rows))
		}
	}
	checkOnline(later)
}

// TestBatchPredictionDefinitions: what a plan refuses, at file:line.
func TestBatchPredictionDefinitions(t *testing.T) {
	dir := writeTrainProject(t)
	c := newCoordinator(t, t.TempDir())
	cases := map[string]string{
		"model: nobody":       "unknown model \"nobody\"",
		"entities: missing":   "unknown source or transformation missing:default",
		"entity_column: nope": "has no column \"nope\"",
		"schedule: sometimes": "schedule \"sometimes\"",
		"name: x":             "feature x:default is also defined in these files",
		"alias: Prod":         "invalid name \"Prod\"",
		"surprise: 1":         "surprise",
	}
	for field, msg := range cases {
		t.Run(field, func(t *testing.T) {
			def := map[string]string{"name": "buyer_scores", "model": "buyer", "entities": "obs"}
			k, v, _ := strings.Cut(field, ": ")
			def[k] = v
			var b strings.Builder
			b.WriteString("batch_predictions:\n  - name: " + def["name"] + "\n")
			for _, k := range []string{"model", "entities", "entity_column", "schedule", "alias", "surprise"} {
				if def[k] != "" {
					b.WriteString("    " + k + ": " + def[k] + "\n")
				}
			}
			must(t, os.WriteFile(filepath.Join(dir, "batch.yaml"), []byte(b.String()), 0o644))
			err := planDir(t, c, dir)
			if err == nil || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), "batch.yaml:") {
				t.Errorf("plan with %s: %v; want an error at batch.yaml saying %q", field, err, msg)
			}
		})
	}
}

// planDir plans the definitions in dir and returns what is wrong with them.
func planDir(t *testing.T, c *coordinator.Coordinator, dir string) error {
	t.Helper()
	ds, err := definition.LoadDir(dir)
	if err != nil {
		return err
	}
	_, err = definition.MakePlan(context.Background(), ds, definition.Stores{Registry: c.Registry, Offline: c.Offline})
	return err
}

// TestScheduledBatchPrediction: a batch prediction with a schedule is
// queued at each firing, scored as of the firing time.
func TestScheduledBatchPrediction(t *testing.T) {
	dir := writeTrainProject(t)
	must(t, os.WriteFile(filepath.Join(dir, "batch.yaml"), []byte(batchDefs+"    schedule: \"0 6 * * *\"\n"), 0o644))
	c := newCoordinator(t, t.TempDir())
	applyDir(t, c, dir)
	ctx := context.Background()
	trainResult(t, train(t, c, modelID("default")))
	bp, err := c.Registry.Get(ctx, buyerScores)
	must(t, err)
	clock := &fakeClock{}
	c.Now = clock.Now
	s := &coordinator.Scheduler{Coordinator: c}
	firing := bp.State.CreatedAt.UTC().Truncate(24 * time.Hour).Add(30 * time.Hour) // 06:00 the next day
	clock.t = firing.Add(10 * time.Minute)
	jobs, err := s.Tick(ctx)
	must(t, err)
	last := jobs[len(jobs)-1]
	if last.Kind != coordinator.JobBatchPredict || last.Resource != buyerScores || !strings.HasPrefix(last.Key, "schedule:batch_prediction/buyer_scores:default@") {
		t.Fatalf("the firing queued %+v; want a batch prediction of buyer_scores last", jobs)
	}
	ended, err := fastWorker(c).Work(ctx, coordinator.JobIDs(jobs))
	must(t, err)
	j := ended[len(ended)-1]
	var res coordinator.BatchPredictResult
	if j.Status != registry.JobSucceeded || json.Unmarshal(j.Result, &res) != nil || !res.ScoredAt.Equal(firing) || res.Rows != 100 {
		t.Fatalf("scheduled run: %s %s %+v; want 100 users scored as of the firing, %s", j.Status, j.Error, res, firing)
	}
	if again, err := s.Tick(ctx); err != nil || len(again) != 0 {
		t.Errorf("a second tick queued %d jobs (%v); want none until the next firing", len(again), err)
	}
}
