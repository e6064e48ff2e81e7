package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// outcomeDefs define, over the prediction log and the feedback, a label
// "purchased within 7 days of the prediction" and a training set on it.
const outcomeDefs = `transformations:
  - name: prediction_outcomes
    description: Each logged prediction of endpoint purchase, with whether the subscriber purchased within 7 days of it (from feedback).
    sql: |
      SELECT p.entity AS subscriber_id, p.predicted_at,
             CAST(coalesce(max(f.value), 0) AS BIGINT) AS purchased
      FROM {{ purchase_predictions }} p
      LEFT JOIN {{ feedback }} f
        ON f.prediction_id = p.prediction_id AND f.name = 'purchased'
       AND f.event_time <= p.predicted_at + INTERVAL '7 days'
      GROUP BY p.entity, p.predicted_at
labels:
  - name: purchased_after_prediction
    entity: subscriber
    source: prediction_outcomes
    entity_column: subscriber_id
    value_column: purchased
    timestamp_column: predicted_at
    type: int64
training_sets:
  - name: feedback_training
    label: purchased_after_prediction
    features: [opens_30d:v1, orders_count]
`

// TestFeedbackLoop is issue 12's feedback test: predictions are logged,
// feedback posted about them (by prediction id, and by endpoint and
// entity) reaches the source feedback once per id, `feedback status`
// counts what matched, and a label defined in SQL over the prediction log
// and the feedback gives a training set with the posted outcomes.
func TestFeedbackLoop(t *testing.T) {
	dir := quickstart(t)
	subs := demoSubscribers(t, dir, 120)
	base, stop := startServe(t, dir)
	defer stop()

	body, _ := json.Marshal(map[string]any{"entities": subs})
	code, b := post(t, base+"/v1/endpoints/purchase/predict", string(body))
	var a predictAnswer
	if code != 200 || json.Unmarshal(b, &a) != nil {
		t.Fatalf("predict: %d %s", code, b)
	}
	now := time.Now().UTC()
	var events []map[string]any
	bought := map[string]bool{} // subscriber → purchased (for the first 40)
	for i, p := range a.Predictions[:40] {
		bought[p.Entity] = i%3 == 0
		events = append(events, map[string]any{"id": "fb-" + p.ID, "prediction_id": p.ID, "name": "purchased", "value": i%3 == 0, "event_time": now})
	}
	for _, p := range a.Predictions[40:50] {
		events = append(events, map[string]any{"endpoint": "purchase", "entity": p.Entity, "name": "clicked", "value": 1})
	}
	events = append(events, map[string]any{"prediction_id": "no-such-prediction", "name": "purchased", "value": true})
	postFeedback := func(events []map[string]any) (int, []byte) {
		body, _ := json.Marshal(map[string]any{"events": events})
		return post(t, base+"/v1/feedback", string(body))
	}
	if code, b := postFeedback(events); code != 202 || !strings.Contains(string(b), `"accepted":51`) {
		t.Fatalf("feedback: %d %s", code, b)
	}
	// A retried request (same ids) counts once; an invalid one records nothing.
	if code, b := postFeedback(events[:40]); code != 202 {
		t.Fatalf("retried feedback: %d %s", code, b)
	}
	bad := append(events[:1:1], map[string]any{"prediction_id": "x", "name": "purchased", "value": "yes"})
	if code, b := postFeedback(bad); code != 400 || !strings.Contains(string(b), `events[1]: value \"yes\": give true or false, or a number`) {
		t.Fatalf("invalid feedback: %d %s; want 400 naming events[1]", code, b)
	}

	// Within a few ship intervals, everything is in the offline store.
	var st struct {
		Names []struct {
			Name                       string
			Events, Matched, Unmatched int64
		} `json:"names"`
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := mustRun(t, dir, "feedback", "status", "--json")
		must(t, json.Unmarshal([]byte(r.stdout), &st))
		if fmt.Sprint(st.Names) == "[{clicked 10 10 0} {purchased 41 40 1}]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("feedback status: %+v; want clicked 10 events all matched, purchased 41 events of which 40 matched", st.Names)
		}
		time.Sleep(500 * time.Millisecond)
	}
	r := mustRun(t, dir, "feedback", "status")
	if !strings.Contains(r.stdout, "purchased  41      40       1") {
		t.Errorf("feedback status printed:\n%s", r.stdout)
	}

	// A label over the prediction log and the feedback, and a training set on it.
	must(t, os.WriteFile(filepath.Join(dir, "definitions", "outcomes.yaml"), []byte(outcomeDefs), 0o644))
	mustRun(t, dir, "apply", "definitions")
	mustRun(t, dir, "run", "prediction_outcomes")
	out := filepath.Join(t.TempDir(), "ts.csv")
	mustRun(t, dir, "training-set", "export", "feedback_training", "--format", "csv", "--out", out)
	s := readScores(t, out)
	seen := map[string]bool{}
	for _, row := range s.rows {
		sub, label := row[s.col("subscriber")], row[s.col("purchased_after_prediction")]
		want := "0"
		if bought[sub] {
			want = "1"
		}
		if label != want {
			t.Errorf("subscriber %s: label %s; the feedback says %s", sub, label, want)
		}
		seen[sub] = true
	}
	for _, sub := range subs {
		if !seen[sub] {
			t.Fatalf("subscriber %s, predicted for, is not in the training set (%d rows)", sub, len(s.rows))
		}
	}
	if n := strconv.Itoa(len(s.rows)); len(s.rows) < len(subs) {
		t.Fatalf("%s rows; want one per logged prediction", n)
	}
}
