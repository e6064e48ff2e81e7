package main

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// batchDefs defines a batch prediction scoring every subscriber with the
// demo's purchase_model.
const batchDefs = `batch_predictions:
  - name: purchase_scores
    description: Every subscriber's probability of ordering within 7 days, scored in bulk.
    model: purchase_model
    entities: subscribers
`

// batchCheckDefs reads the batch prediction's table back as a label (the
// prediction, at each row's predicted_at) joined with purchase_model's
// features: the export holds, per scored row, the feature values the
// training-set join gives at its scoring time.
func batchCheckDefs(features []string) string {
	return `labels:
  - name: batch_rows
    entity: subscriber
    source: purchase_scores
    entity_column: entity
    value_column: prediction
    timestamp_column: predicted_at
    type: float64
training_sets:
  - name: batch_check
    label: batch_rows
    features: [` + strings.Join(features, ", ") + `]
`
}

// TestBatchPredictionEqualsScore is issue 11's batch-prediction test: after
// `slipway run` of a batch prediction, its table's rows and its online
// feature's values equal what `slipway score` gives for the same rows (the
// table read back through a training set, as SQL users read it), on the
// embedded stores and on PostgreSQL + Redis.
func TestBatchPredictionEqualsScore(t *testing.T) {
	t.Run("Embedded", func(t *testing.T) {
		dir := quickstart(t)
		checkBatchPrediction(t, dir, "definitions")
	})
	t.Run("PostgresRedis", func(t *testing.T) {
		env := newPostgresRedis(t, "batchpredict")
		dir := demoOnPostgres(t, env, 0.2)
		mustRun(t, dir, "train", "purchase_model")
		mustRun(t, dir, "materialize")
		checkBatchPrediction(t, dir, "defs")
	})
}

func checkBatchPrediction(t *testing.T, dir, defs string) {
	must(t, os.WriteFile(filepath.Join(dir, defs, "batch.yaml"), []byte(batchDefs), 0o644))
	mustRun(t, dir, "apply", defs)
	r := mustRun(t, dir, "run", "purchase_scores")
	if !strings.Contains(r.stdout, "purchase_scores:default: scored ") || !strings.Contains(r.stdout, "served as feature purchase_scores:default") {
		t.Fatalf("slipway run purchase_scores printed:\n%s%s", r.stdout, r.stderr)
	}
	// The table is a source SQL can read: here as a label.
	features, _ := demoFeatures()
	must(t, os.WriteFile(filepath.Join(dir, defs, "batch_check.yaml"), []byte(batchCheckDefs(features)), 0o644))
	mustRun(t, dir, "apply", defs)
	work := t.TempDir()
	rows, scored := filepath.Join(work, "rows.csv"), filepath.Join(work, "scored.csv")
	mustRun(t, dir, "training-set", "export", "batch_check", "--format", "csv", "--out", rows)
	mustRun(t, dir, "score", "purchase_model", "--in", rows, "--out", scored)

	s := readScores(t, scored)
	subs := map[string]float64{}
	for _, row := range s.rows {
		table, err1 := strconv.ParseFloat(row[s.col("batch_rows")], 64)
		score, err2 := strconv.ParseFloat(row[s.col("prediction")], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("row %v: %v %v", row, err1, err2)
		}
		if math.Abs(table-score) > 1e-12 {
			t.Errorf("subscriber %s: the batch prediction wrote %v, slipway score gives %v on the same row", row[s.col("subscriber")], table, score)
		}
		subs[row[s.col("subscriber")]] = table
	}
	if len(subs) != len(s.rows) || len(subs) < 100 {
		t.Fatalf("%d rows for %d subscribers; want one row per subscriber, and some", len(s.rows), len(subs))
	}

	// Online, each subscriber's prediction is served as a feature.
	base, stop := startServe(t, dir)
	defer stop()
	var keys []string
	for k := range subs {
		keys = append(keys, k)
	}
	served := servedValues(t, base, []string{"purchase_scores"}, keys)
	for _, k := range keys {
		v, ok := served[k]
		if !ok || len(v) != 1 {
			t.Fatalf("online features of %s: %v", k, v)
		}
		if f, ok := v[0].(float64); !ok || f != subs[k] {
			t.Errorf("online purchase_scores of %s is %v; the table holds %v", k, v[0], subs[k])
		}
	}
}
