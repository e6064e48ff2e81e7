package predictionlog

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/offlineduckdb"
	"github.com/slipway-ml/slipway/offline/offlinepg"
	"github.com/slipway-ml/slipway/registry/registrysqlite"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// answered builds an answered call of n predictions of a binary model with
// two features, the second of them overridden for the first entity.
func answered(endpoint string, n int, at time.Time) *serving.Answered {
	a := &serving.Answered{Time: at, Response: &serving.PredictResponse{Endpoint: endpoint, Model: "buyer", Alias: "production", Version: 3,
		Task: model.TaskBinaryClassification, Features: []string{"x", "region"}}}
	for i := range n {
		p, c := float64(i)/float64(n), 0
		if p > 0.5 {
			c = 1
		}
		a.Response.Predictions = append(a.Response.Predictions, serving.Prediction{ID: model.NewPredictionID(at), Entity: fmt.Sprintf("u%d", i),
			Model: "buyer", Version: 3, Probability: &p, Class: &c})
		region := value.FromString("eu")
		st := []serving.Status{serving.Found, serving.Found}
		if i%3 == 0 {
			region, st[1] = value.NullValue(), serving.NotFound
		}
		a.Rows = append(a.Rows, []value.Value{value.FromFloat64(float64(i) + 0.5), region})
		a.Statuses = append(a.Statuses, st)
		a.Overridden = append(a.Overridden, []bool{false, i == 0})
		enc := math.NaN()
		if !region.IsNull() {
			enc = 1
		}
		a.Encoded = append(a.Encoded, float64(i)+0.5, enc)
	}
	return a
}

// newCoordinator opens a registry (SQLite) and the given offline store.
func newCoordinator(t *testing.T, off offline.Store) *coordinator.Coordinator {
	t.Helper()
	reg, err := registrysqlite.New(t.Context(), registrysqlite.Config{Path: filepath.Join(t.TempDir(), "reg.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	return &coordinator.Coordinator{Registry: reg, Offline: off}
}

func duckdbStore(t *testing.T, path string) offline.Store {
	t.Helper()
	off, err := offlineduckdb.New(t.Context(), offlineduckdb.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { off.Close() })
	return off
}

func pgStore(t *testing.T) offline.Store {
	t.Helper()
	dsn, schema := testenv.PostgresSchema(t)
	off, err := offlinepg.New(t.Context(), offlinepg.Config{DSN: dsn, Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { off.Close() })
	return off
}

func openLog(t *testing.T, dir string, c *coordinator.Coordinator) *Log {
	t.Helper()
	l, err := Open(Config{WAL: WALConfig{Dir: dir}, Records: Predictions{}, Coordinator: c})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// tableRows reads an endpoint's prediction table: the row count, and each
// prediction id's row (prediction_id, predicted_at, then the other columns).
func tableRows(t *testing.T, off offline.Store, endpoint resource.Ref) (int64, map[string][]value.Value) {
	t.Helper()
	ctx := context.Background()
	table := TableName(endpoint)
	copied, err := off.CreateTable(ctx, &offline.CreateTableParams{Table: table + "_count", SQL: "SELECT * FROM " + offline.QuoteIdent(table)})
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range resource.PredictionColumns[2:] {
		cols = append(cols, c.Name)
	}
	rows, err := off.ReadLatest(ctx, &offline.ReadLatestParams{Table: table, EntityColumn: "prediction_id", TimestampColumn: "predicted_at",
		ValueColumns: cols, AsOf: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]value.Value{}
	for rows.Next() {
		v := rows.Values()
		out[v[0].Str()] = append([]value.Value(nil), v...)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return copied.Rows, out
}

// TestShipEqualsWhatWasAnswered: every logged prediction lands once in
// its endpoint's table, as answered, and the table is a registered source.
func TestShipEqualsWhatWasAnswered(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) offline.Store{
		"DuckDB":     func(t *testing.T) offline.Store { return duckdbStore(t, filepath.Join(t.TempDir(), "off.duckdb")) },
		"PostgreSQL": pgStore,
	} {
		t.Run(name, func(t *testing.T) {
			off := open(t)
			c := newCoordinator(t, off)
			l := openLog(t, t.TempDir(), c)
			// Five batches, one of them holding both endpoints: a row's
			// strings share memory with the records read for its batch,
			// and the row buffers are reused from batch to batch.
			l.Shipper.BatchSize = 64
			at := time.Date(2026, 12, 4, 10, 0, 0, 123456000, time.UTC)
			calls := []*serving.Answered{answered("purchase:default", 250, at), answered("churn:v2", 3, at.Add(time.Second)), answered("purchase:default", 40, at.Add(2*time.Second))}
			for _, a := range calls {
				l.Logger.Log(a)
			}
			must(t, l.WAL.Flush())
			n, err := l.Shipper.Ship(t.Context())
			if err != nil || n != 293 {
				t.Fatalf("Ship: %d, %v; want 293 entries", n, err)
			}
			if again, err := l.Shipper.Ship(t.Context()); err != nil || again != 0 {
				t.Fatalf("second Ship: %d, %v; want nothing new", again, err)
			}
			for _, ep := range []resource.Ref{{Name: "purchase", Variant: "default"}, {Name: "churn", Variant: "v2"}} {
				src, err := c.Registry.Get(t.Context(), SourceID(ep))
				if err != nil || src.State.Status != resource.StatusReady || src.Source.TimestampColumn != "predicted_at" {
					t.Fatalf("source %s: %+v, %v; want a ready source over the table", SourceID(ep), src, err)
				}
			}
			count, rows := tableRows(t, off, resource.Ref{Name: "purchase", Variant: "default"})
			if count != 290 || len(rows) != 290 {
				t.Fatalf("purchase's table: %d rows, %d prediction ids; want 290 of each", count, len(rows))
			}
			for _, a := range []*serving.Answered{calls[0], calls[2]} {
				for i, p := range a.Response.Predictions {
					r := rows[p.ID] // id, predicted_at, endpoint, batch_prediction, model, model_version, experiment, arm, entity, prediction, class, output, features, statuses, encoded, write_batch
					if r == nil {
						t.Fatalf("prediction %s is not in the table", p.ID)
					}
					if !r[1].Time().Equal(a.Time) || r[2].Str() != "purchase:default" || !r[3].IsNull() || r[4].Str() != "buyer" || r[5].Int64() != 3 || !r[6].IsNull() ||
						r[8].Str() != p.Entity || r[9].Float64() != *p.Probability || r[10].Int64() != int64(*p.Class) {
						t.Fatalf("row of %s: %v; want it as answered (%+v at %s)", p.ID, r, p, a.Time)
					}
					var feats map[string]any
					var statuses map[string]string
					var enc []*float64
					must(t, json.Unmarshal([]byte(r[12].Str()), &feats))
					must(t, json.Unmarshal([]byte(r[13].Str()), &statuses))
					must(t, json.Unmarshal([]byte(r[14].Str()), &enc))
					// Only the features not found are listed.
					wantStatus := ""
					if i == 0 {
						wantStatus = "override"
					} else if i%3 == 0 {
						wantStatus = "not_found"
					}
					want := map[string]string{}
					if wantStatus != "" {
						want["region"] = wantStatus
					}
					if feats["x"] != float64(i)+0.5 || !maps.Equal(statuses, want) ||
						len(enc) != 2 || *enc[0] != float64(i)+0.5 || (i%3 == 0) != (enc[1] == nil) {
						t.Fatalf("row of entity %d: features %v, statuses %v, encoded %s", i, feats, statuses, r[14].Str())
					}
				}
			}

			// The next batch (the shipper reuses its buffers) lands too.
			later := []*serving.Answered{answered("churn:v2", 2, at.Add(3*time.Second)), answered("purchase:default", 7, at.Add(4*time.Second))}
			for _, a := range later {
				l.Logger.Log(a)
			}
			must(t, l.WAL.Flush())
			if n, err := l.Shipper.Ship(t.Context()); err != nil || n != 9 {
				t.Fatalf("Ship of the next batch: %d, %v; want 9 entries", n, err)
			}
			count, rows = tableRows(t, off, resource.Ref{Name: "purchase", Variant: "default"})
			if count != 297 {
				t.Fatalf("purchase's table after the next batch: %d rows, want 297", count)
			}
			for _, p := range later[1].Response.Predictions {
				if r := rows[p.ID]; r == nil || r[8].Str() != p.Entity || !r[1].Time().Equal(later[1].Time) {
					t.Fatalf("prediction %s of the next batch: %v; want entity %s at %s", p.ID, r, p.Entity, later[1].Time)
				}
			}
		})
	}
}

// TestShipAgainWritesNoPredictionTwice: a batch written but not
// acknowledged (a crash between the two) is written again whole after
// restart, replacing its first rows.
func TestShipAgainWritesNoPredictionTwice(t *testing.T) {
	off := duckdbStore(t, filepath.Join(t.TempDir(), "off.duckdb"))
	c := newCoordinator(t, off)
	dir := t.TempDir()
	l := openLog(t, dir, c)
	l.Logger.Log(answered("purchase:default", 100, time.Now().UTC()))
	must(t, l.WAL.Flush())
	recs, _, err := l.WAL.Read(l.WAL.Acked(), 1000)
	must(t, err)
	must(t, l.Shipper.write(t.Context(), recs[:60])) // the crash: written, never acked
	must(t, l.WAL.Close())
	must(t, l.lock.Close())

	l = openLog(t, dir, c)
	l.Logger.Log(answered("purchase:default", 10, time.Now().UTC()))
	must(t, l.WAL.Flush())
	if n, err := l.Shipper.Ship(t.Context()); err != nil || n != 110 {
		t.Fatalf("Ship after restart: %d, %v; want 110", n, err)
	}
	count, rows := tableRows(t, off, resource.Ref{Name: "purchase", Variant: "default"})
	if count != 110 || len(rows) != 110 {
		t.Fatalf("%d rows for %d prediction ids; want 110 of each (no prediction twice)", count, len(rows))
	}
	must(t, l.Close(t.Context()))
}

// TestEntriesWaitWhileTheOfflineStoreIsDown: shipping into a store that
// fails leaves the entries on disk; they ship once it works again, even
// from a new process.
func TestEntriesWaitWhileTheOfflineStoreIsDown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "off.duckdb")
	down := duckdbStore(t, path)
	c := newCoordinator(t, down)
	must(t, down.Close()) // unreachable
	dir := t.TempDir()
	l := openLog(t, dir, c)
	l.Logger.Log(answered("purchase:default", 30, time.Now().UTC()))
	must(t, l.WAL.Flush())
	if n, err := l.Shipper.Ship(t.Context()); err == nil || n != 0 {
		t.Fatalf("Ship to a closed store: %d, %v; want an error and nothing shipped", n, err)
	}
	if err := l.Close(t.Context()); err == nil {
		t.Fatal("Close shipped to a closed store without error")
	}
	if st := l.WAL.Stats(); st.Pending == 0 {
		t.Fatalf("stats %+v; want the entries pending on disk", st)
	}

	up := duckdbStore(t, path)
	c.Offline = up
	l = openLog(t, dir, c)
	if n, err := l.Shipper.Ship(t.Context()); err != nil || n != 30 {
		t.Fatalf("Ship once the store is back: %d, %v; want the 30 waiting entries", n, err)
	}
	if count, _ := tableRows(t, up, resource.Ref{Name: "purchase", Variant: "default"}); count != 30 {
		t.Fatalf("%d rows; want 30", count)
	}
	must(t, l.Close(t.Context()))
}

// TestReplicasShipIntoOnePostgreSQL: several logs (server replicas) ship
// into one PostgreSQL offline store at once; every prediction lands once.
func TestReplicasShipIntoOnePostgreSQL(t *testing.T) {
	off := pgStore(t)
	c := newCoordinator(t, off)
	const replicas, calls, per = 3, 20, 25
	var wg sync.WaitGroup
	errs := make(chan error, replicas)
	for range replicas {
		l := openLog(t, t.TempDir(), c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls {
				l.Logger.Log(answered("purchase:default", per, time.Now().UTC()))
				if err := l.WAL.Flush(); err != nil {
					errs <- err
					return
				}
				if _, err := l.Shipper.Ship(context.Background()); err != nil {
					errs <- err
					return
				}
			}
			errs <- l.Close(context.Background())
		}()
	}
	wg.Wait()
	for range replicas {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	count, rows := tableRows(t, off, resource.Ref{Name: "purchase", Variant: "default"})
	if want := int64(replicas * calls * per); count != want || int64(len(rows)) != want {
		t.Fatalf("%d rows for %d prediction ids; want %d of each", count, len(rows), want)
	}
}

// TestOneProcessPerLog: a second Open of the same directory is refused.
func TestOneProcessPerLog(t *testing.T) {
	dir := t.TempDir()
	c := newCoordinator(t, duckdbStore(t, filepath.Join(t.TempDir(), "off.duckdb")))
	l := openLog(t, dir, c)
	defer l.Close(t.Context())
	if _, err := Open(Config{WAL: WALConfig{Dir: dir}, Records: Predictions{}, Coordinator: c}); err == nil {
		t.Fatal("a second Open of the same directory succeeded")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
