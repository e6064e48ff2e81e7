package registrytest

import (
	"context"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// testSetStatusSourceFile checks that a file source's file state is
// recorded, listed, kept by a SetStatus that gives none and replaced by one
// that gives another.
func testSetStatusSourceFile(t *testing.T, s registry.Store) {
	ctx := context.Background()
	events := source("email_events", "raw.email_events")
	apply(t, s, events)
	if f := get(t, s, events.ID).State.SourceFile; f != nil {
		t.Fatalf("source file %+v before any was recorded; want none", f)
	}
	first := &resource.FileState{Path: "/home/a/project/data/events.csv", Size: 1234, ModTime: time.Date(2026, 12, 3, 14, 5, 6, 789000000, time.UTC)}
	if err := s.SetStatus(ctx, &registry.SetStatusParams{ID: events.ID, Status: resource.StatusReady, SourceFile: first}); err != nil {
		t.Fatal(err)
	}
	want := func(what string, w *resource.FileState) {
		t.Helper()
		got := get(t, s, events.ID).State.SourceFile
		if got == nil || got.Path != w.Path || got.Size != w.Size || !got.ModTime.Equal(w.ModTime) {
			t.Fatalf("%s: source file %+v, want %+v", what, got, w)
		}
		listed, err := s.List(ctx, &registry.ListParams{Kind: resource.KindSource})
		if err != nil || len(listed) != 1 || listed[0].State.SourceFile == nil || listed[0].State.SourceFile.Path != w.Path {
			t.Fatalf("%s: List = %+v, %v; want the source file recorded", what, listed, err)
		}
	}
	want("recorded", first)
	if err := s.SetStatus(ctx, &registry.SetStatusParams{ID: events.ID, Status: resource.StatusFailed, Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	want("after a SetStatus without one", first)
	second := &resource.FileState{Path: "/home/b/checkout/data/events.csv", Size: 99, ModTime: first.ModTime.Add(time.Hour)}
	if err := s.SetStatus(ctx, &registry.SetStatusParams{ID: events.ID, Status: resource.StatusReady, SourceFile: second}); err != nil {
		t.Fatal(err)
	}
	want("replaced", second)
}
