package feedback

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/offlineduckdb"
	"github.com/slipway-ml/slipway/offline/offlinepg"
	"github.com/slipway-ml/slipway/predictionlog"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/registry/registrysqlite"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestCheckRefusesBadEvents(t *testing.T) {
	future := now.Add(time.Hour)
	good := Event{PredictionID: "p1", Name: "clicked", Value: raw("true")}
	cases := map[string]struct {
		e    Event
		want string
	}{
		"NoPrediction": {Event{Name: "clicked", Value: raw("true")}, "events[1]: say which prediction: give prediction_id"},
		"EndpointOnly": {Event{Endpoint: "purchase", Name: "clicked", Value: raw("true")}, "give prediction_id"},
		"NoName":       {Event{PredictionID: "p", Value: raw("1")}, "events[1]: name: missing"},
		"BadName":      {Event{PredictionID: "p", Name: "Clicked!", Value: raw("1")}, `name "Clicked!": use lower-case letters`},
		"NoValue":      {Event{PredictionID: "p", Name: "clicked"}, "value: missing; give true or false, or a number"},
		"NullValue":    {Event{PredictionID: "p", Name: "clicked", Value: raw("null")}, "value: missing"},
		"StringValue":  {Event{PredictionID: "p", Name: "clicked", Value: raw(`"yes"`)}, `value "yes": give true or false, or a number`},
		"FutureEvent":  {Event{PredictionID: "p", Name: "clicked", Value: raw("1"), EventTime: &future}, "is in the future"},
		"BadEndpoint":  {Event{Endpoint: "Purchase", Entity: "s1", Name: "clicked", Value: raw("1")}, `endpoint: invalid name "Purchase"`},
		"LongID":       {Event{ID: strings.Repeat("x", 201), PredictionID: "p", Name: "clicked", Value: raw("1")}, "id: longer than 200"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := check([]Event{good, tc.e}, now)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("check: %v; want %q", err, tc.want)
			}
		})
	}
	if _, err := check(nil, now); err == nil || !strings.Contains(err.Error(), "events is empty") {
		t.Errorf("no events: %v", err)
	}
	if _, err := check(make([]Event, MaxEvents+1), now); err == nil || !strings.Contains(err.Error(), "at most 10000") {
		t.Errorf("too many events: %v", err)
	}
	recs, err := check([]Event{good, {Endpoint: "purchase", Entity: "s1", Name: "spent", Value: raw("12.5")}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Value != 1 || !recs[0].Bool || recs[1].Value != 12.5 || recs[1].Bool || recs[1].Endpoint != "purchase:default" ||
		!recs[0].EventTime.Equal(now) || len(recs[0].ID) != 36 || recs[0].ID == recs[1].ID {
		t.Errorf("records %+v", recs)
	}
}

func openStores(t *testing.T, pg bool) *coordinator.Coordinator {
	t.Helper()
	ctx := context.Background()
	reg, err := registrysqlite.New(ctx, registrysqlite.Config{Path: filepath.Join(t.TempDir(), "reg.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	var off offline.Store
	if pg {
		dsn, schema := testenv.PostgresSchema(t)
		off, err = offlinepg.New(ctx, offlinepg.Config{DSN: dsn, Schema: schema})
	} else {
		off, err = offlineduckdb.New(ctx, offlineduckdb.Config{Path: filepath.Join(t.TempDir(), "off.duckdb")})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { off.Close() })
	return &coordinator.Coordinator{Registry: reg, Offline: off}
}

// TestRecordedFeedbackReachesTheSource: recorded events are shipped into
// the feedback table; the source feedback holds each id once, however
// often a client retried it.
func TestRecordedFeedbackReachesTheSource(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := "DuckDB"
		if pg {
			name = "PostgreSQL"
		}
		t.Run(name, func(t *testing.T) {
			c := openStores(t, pg)
			l, err := predictionlog.Open(predictionlog.Config{WAL: predictionlog.WALConfig{Dir: t.TempDir()}, Records: Records{Offline: c.Offline}, Coordinator: c})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close(context.Background())
			r := &Recorder{Log: l, Now: func() time.Time { return now }}
			events := []Event{
				{ID: "e1", PredictionID: "p1", Name: "clicked", Value: raw("true")},
				{ID: "e2", Endpoint: "purchase", Entity: "s2", Name: "spent", Value: raw("19.5"), EventTime: ptr(now.Add(-time.Hour))},
				{PredictionID: "p3", Name: "clicked", Value: raw("false")},
			}
			acc, err := r.Record(events)
			if err != nil || len(acc.IDs) != 3 || acc.IDs[0] != "e1" || len(acc.IDs[2]) != 36 {
				t.Fatalf("Record: %+v, %v", acc, err)
			}
			// A client retries the first two (same ids); an invalid call records nothing.
			if _, err := r.Record(events[:2]); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Record([]Event{events[0], {Name: "clicked"}}); err == nil {
				t.Fatal("an invalid event was accepted")
			}
			if n, err := l.Shipper.Ship(context.Background()); err != nil || n != 5 {
				t.Fatalf("Ship: %d, %v; want the 5 recorded events", n, err)
			}
			src, err := c.Registry.Get(context.Background(), Source)
			if err != nil || src.State.Status != resource.StatusReady || src.Source.TimestampColumn != "event_time" {
				t.Fatalf("source feedback: %+v, %v", src, err)
			}
			// The source's view: each id once.
			rows, err := c.Offline.ReadLatest(context.Background(), &offline.ReadLatestParams{Table: offline.TableName(Source), EntityColumn: "feedback_id",
				TimestampColumn: "event_time", ValueColumns: []string{"prediction_id", "endpoint", "entity", "name", "value", "is_bool"}, AsOf: now.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			got := map[string][]value.Value{}
			for rows.Next() {
				got[rows.Values()[0].Str()] = append([]value.Value(nil), rows.Values()...)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 || got["e1"][2].Str() != "p1" || got["e1"][6].Float64() != 1 || !got["e1"][7].Bool() ||
				got["e2"][3].Str() != "purchase:default" || got["e2"][4].Str() != "s2" || got["e2"][6].Float64() != 19.5 || got["e2"][7].Bool() ||
				!got["e2"][1].Time().Equal(now.Add(-time.Hour)) || got[acc.IDs[2]][6].Float64() != 0 {
				t.Fatalf("feedback source: %v", got)
			}
			copied, err := c.Offline.CreateTable(context.Background(), &offline.CreateTableParams{Table: "feedback_count", SQL: "SELECT * FROM " + offline.QuoteIdent(offline.TableName(Source))})
			if err != nil || copied.Rows != 3 {
				t.Fatalf("the source holds %v rows (%v); want 3, one per id", copied, err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestStatusSkipsTablesOfAnotherShape: a registered table of predictions
// written before predictions had one shape is left out of the match, not
// an error.
func TestStatusSkipsTablesOfAnotherShape(t *testing.T) {
	c := openStores(t, false)
	ctx := context.Background()
	bp := &resource.Resource{ID: resource.ID{Kind: resource.KindBatchPrediction, Name: "old_scores", Variant: resource.DefaultVariant},
		BatchPrediction: &resource.BatchPredictionSpec{Model: "m", Alias: "production", Entities: resource.ID{Kind: resource.KindSource, Name: "s", Variant: "default"}, EntityColumn: "id"}}
	bp.State.Status = resource.StatusPending
	if _, err := c.Registry.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{bp}}); err != nil {
		t.Fatal(err)
	}
	old := offline.TableName(bp.ID)
	if _, err := c.Offline.CreateTable(ctx, &offline.CreateTableParams{Table: old, SQL: "SELECT 'x' AS subscriber_id, 0.5 AS prediction"}); err != nil {
		t.Fatal(err)
	}
	src := &resource.Resource{ID: resource.BatchPredictionSource(bp.ID), Source: &resource.SourceSpec{Table: old}}
	if _, err := c.RegisterOutputs(ctx, []*resource.Resource{src}); err != nil {
		t.Fatal(err)
	}
	l, err := predictionlog.Open(predictionlog.Config{WAL: predictionlog.WALConfig{Dir: t.TempDir()}, Records: Records{Offline: c.Offline}, Coordinator: c})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	if _, err := (&Recorder{Log: l}).Record([]Event{{PredictionID: "p1", Name: "clicked", Value: raw("true")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Shipper.Ship(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := Report(ctx, c.Registry, c.Offline)
	if err != nil || len(st.Names) != 1 || st.Names[0].Unmatched != 1 || len(st.PredictionTables) != 0 {
		t.Fatalf("Report: %+v, %v; want one unmatched event and no table of predictions", st, err)
	}
}

// TestStatusWhileTheSourceRegisters: between the registry's pending entry
// for the feedback source and the creation of its view (the first
// shipment registering it), Report answers no names instead of failing
// on a table that is not there yet.
func TestStatusWhileTheSourceRegisters(t *testing.T) {
	c := openStores(t, false)
	ctx := context.Background()
	src := &resource.Resource{ID: Source, Source: &resource.SourceSpec{Table: View, TimestampColumn: "event_time"}}
	src.State.Status = resource.StatusPending
	if _, err := c.Registry.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{src}}); err != nil {
		t.Fatal(err)
	}
	st, err := Report(ctx, c.Registry, c.Offline)
	if err != nil || len(st.Names) != 0 {
		t.Fatalf("Report while the source registers: %+v, %v; want no names and no error", st, err)
	}
}
