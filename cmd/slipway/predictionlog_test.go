package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/offlineduckdb"
	"github.com/slipway-ml/slipway/predictionlog"
	"github.com/slipway-ml/slipway/resource"
)

// loggedAnswer is what an endpoint answered for one prediction.
type loggedAnswer struct {
	entity      string
	probability float64
	version     int
}

// TestPredictionLogSurvivesKill9 is issue 12's durability test of the
// prediction log: predictions answered more than 200 ms before `kill -9`
// of the server are in the endpoint's prediction table after a restart,
// each once, as answered.
func TestPredictionLogSurvivesKill9(t *testing.T) {
	dir := quickstart(t)
	subs := demoSubscribers(t, dir, 600)

	addr := freeAddr(t)
	cmd := exec.Command(binary, "serve", "--addr", addr)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "SLIPWAY_DATA_DIR=")
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	if line, err := bufio.NewReader(stdout).ReadString('\n'); !strings.Contains(line, "serving on") {
		cmd.Process.Kill()
		t.Fatalf("serve printed %q (%v)", line, err)
	}
	answers := map[string]loggedAnswer{}
	for start := 0; start < len(subs); start += 50 {
		body, _ := json.Marshal(map[string]any{"entities": subs[start:min(start+50, len(subs))]})
		code, b := post(t, "http://"+addr+"/v1/endpoints/purchase/predict", string(body))
		var a predictAnswer
		if code != 200 || json.Unmarshal(b, &a) != nil {
			cmd.Process.Kill()
			t.Fatalf("predict: %d %s", code, b)
		}
		for _, p := range a.Predictions {
			answers[p.ID] = loggedAnswer{entity: p.Entity, probability: *p.Probability, version: a.Version}
		}
	}
	time.Sleep(250 * time.Millisecond) // every answer is older than the log's 200 ms bound
	must(t, cmd.Process.Kill())
	cmd.Wait()

	// The next server ships what the killed one left on disk.
	_, stop := startServe(t, dir)
	time.Sleep(1500 * time.Millisecond)
	stop()

	off, err := offlineduckdb.New(context.Background(), offlineduckdb.Config{Path: filepath.Join(dir, ".slipway", "offline.duckdb")})
	must(t, err)
	defer off.Close()
	ep := resource.Ref{Name: "purchase", Variant: "default"}
	count, rows := loggedRows(t, off, predictionlog.TableName(ep))
	// The quickstart's own prediction (its step 7) is logged too.
	if count != int64(len(rows)) || len(rows) != len(answers)+1 {
		t.Fatalf("the prediction table has %d rows for %d prediction ids; want the %d answered and the quickstart's, each once", count, len(rows), len(answers))
	}
	for id, a := range answers {
		r, ok := rows[id]
		if !ok || r.entity != a.entity || r.probability != a.probability || r.version != a.version {
			t.Fatalf("prediction %s: logged %+v (%v); answered %+v", id, r, ok, a)
		}
	}
	// The table is the source purchase_predictions, which SQL can read.
	r := mustRun(t, dir, "show", "source", "purchase_predictions", "--json")
	if !strings.Contains(r.stdout, predictionlog.TableName(ep)) {
		t.Fatalf("show source purchase_predictions:\n%s", r.stdout)
	}
}

// demoSubscribers returns the first n subscriber ids of the demo data.
func demoSubscribers(t *testing.T, dir string, n int) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "data", "subscribers.csv"))
	must(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	must(t, err)
	var subs []string
	for _, r := range recs[1:] {
		if len(subs) < n {
			subs = append(subs, r[0])
		}
	}
	return subs
}

// loggedRows reads a prediction table: its row count and, per prediction
// id, the entity, prediction and model version.
func loggedRows(t *testing.T, off offline.Store, table string) (int64, map[string]loggedAnswer) {
	t.Helper()
	ctx := context.Background()
	copied, err := off.CreateTable(ctx, &offline.CreateTableParams{Table: table + "_check", SQL: "SELECT * FROM " + offline.QuoteIdent(table)})
	must(t, err)
	rows, err := off.ReadLatest(ctx, &offline.ReadLatestParams{Table: table, EntityColumn: "prediction_id", TimestampColumn: "predicted_at",
		ValueColumns: []string{"entity", "prediction", "model_version"}, AsOf: time.Now().Add(time.Hour)})
	must(t, err)
	defer rows.Close()
	out := map[string]loggedAnswer{}
	for rows.Next() {
		v := rows.Values() // prediction_id, predicted_at, entity, prediction, model_version
		out[v[0].Str()] = loggedAnswer{entity: v[2].Str(), probability: v[3].Float64(), version: int(v[4].Int64())}
	}
	must(t, rows.Err())
	return copied.Rows, out
}
