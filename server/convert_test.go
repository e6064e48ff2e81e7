package server_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
	"github.com/slipway-ml/slipway/value"
)

// roundTrip encodes v as the API does and decodes it into out.
func roundTrip(t *testing.T, v, out any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}

func TestJobRoundTrip(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 123456000, time.UTC)
	j := &registry.Job{
		ID: 7, Kind: "export", Resource: resource.ID{Kind: resource.KindTrainingSet, Name: "churn", Variant: "v2"},
		Args: []byte(`{"format":"csv"}`), Status: registry.JobRunning, Attempts: 2, MaxAttempts: 5, DependsOn: []int64{3, 4}, BlockedBy: 0,
		CreatedAt: at, RunAfter: at.Add(time.Second), StartedAt: at.Add(2 * time.Second), LeaseUntil: at.Add(time.Minute),
		Worker: "host:1", CancelRequested: true, Rows: 42, Error: "last attempt: timeout",
	}
	var b server.JobBody
	roundTrip(t, server.NewJobBody(j), &b)
	got, err := server.JobFromBody(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, j) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, j)
	}
	// Arguments that are not JSON come back as the JSON string shown.
	j.Args = []byte("not json")
	roundTrip(t, server.NewJobBody(j), &b)
	if got, err := server.JobFromBody(b); err != nil || string(got.Args) != `"not json"` {
		t.Errorf("args not JSON: %s, %v", got.Args, err)
	}
	b.EndedAt = "yesterday"
	if _, err := server.JobFromBody(b); err == nil {
		t.Error("a malformed ended_at is accepted")
	}

	l := registry.JobLogLine{Seq: 3, Time: at, Line: "wrote 42 rows"}
	var lb server.JobLogLineBody
	roundTrip(t, server.NewJobLogLineBody(l), &lb)
	if got, err := server.JobLogLineFromBody(lb); err != nil || got != l {
		t.Errorf("log line round trip: %+v, %v; want %+v", got, err, l)
	}
}

func TestResourceRoundTrip(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)
	r := feature("opens_30d:v1", "subscriber", "events", "opens", "as_of", value.Int64, 30*24*time.Hour)
	r.State = resource.State{CreatedAt: at, UpdatedAt: at.Add(time.Hour), Status: resource.StatusFailed, Error: "boom",
		Schema:     []resource.Column{{Name: "opens", EngineType: "BIGINT", Type: value.Int64}},
		Watermark:  at.Add(-time.Hour),
		Deprecated: &resource.Mark{At: at, By: "ana", Reason: "use v2"}, Deleted: &resource.Mark{At: at.Add(time.Minute), By: "bo"},
		SourceFile: &resource.FileState{Path: "/data/e.csv", Size: 10, ModTime: at}}
	deps := []resource.ID{{Kind: resource.KindTrainingSet, Name: "churn", Variant: "default"}}
	var b server.ResourceBody
	roundTrip(t, server.NewResourceBody(r, deps), &b)
	got, gotDeps := server.ResourceFromBody(b)
	if !reflect.DeepEqual(got, r) || !reflect.DeepEqual(gotDeps, deps) {
		t.Errorf("round trip:\n got %+v %+v\nwant %+v %+v", got, got.State, r, r.State)
	}
	// A label has its own spec, and nothing else.
	l := &resource.Resource{ID: resource.ID{Kind: resource.KindLabel, Name: "purchased", Variant: "default"},
		Label: &resource.LabelSpec{Entity: "subscriber", Source: resource.ID{Kind: resource.KindSource, Name: "orders", Variant: "default"},
			EntityColumn: "subscriber_id", ValueColumn: "purchased", TimestampColumn: "ordered_at", Type: value.Bool},
		State: resource.State{CreatedAt: at, UpdatedAt: at, Status: resource.StatusReady}}
	roundTrip(t, server.NewResourceBody(l, nil), &b)
	if got, _ := server.ResourceFromBody(b); !reflect.DeepEqual(got, l) {
		t.Errorf("label round trip:\n got %+v\nwant %+v", got, l)
	}
	var d server.DeleteBody
	roundTrip(t, server.DeleteBody{Resource: server.NewResourceBody(r, nil), Again: true, Table: "t", OnlineFeature: "opens_30d:v1"}, &d)
	if dr := server.DeleteFromBody(d); !reflect.DeepEqual(dr.Resource, r) || !dr.Again || dr.Table != "t" || dr.OnlineFeature != "opens_30d:v1" {
		t.Errorf("delete round trip: %+v", dr)
	}
}
