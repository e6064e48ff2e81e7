// Package registrytest is the conformance suite every registry.Store
// implementation runs: call Exercise from the implementation's tests with a
// factory that returns a fresh, empty store, and ExerciseShared with one
// that opens several stores on one registry, as several processes do.
//
// List and Dependents order resources by kind in resource.Kinds order (the
// order definitions are applied: entity, source, transformation, feature,
// label, training_set), then by name and variant in byte order.
package registrytest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// Exercise runs every behaviour of registry.Store as a named subtest.
// newStore must return a fresh, empty, isolated store and register its
// cleanup (Close, removing files or schemas) with t.Cleanup.
func Exercise(t *testing.T, newStore func(t *testing.T) registry.Store) {
	t.Helper()
	open := func(t *testing.T) registry.Store {
		t.Helper()
		s := newStore(t)
		if s == nil {
			t.Fatal("newStore returned nil")
		}
		return s
	}

	t.Run("ID/StableAndDistinct", func(t *testing.T) {
		a, b := open(t), open(t)
		id1, err := a.ID(t.Context())
		if err != nil || id1 == "" {
			t.Fatalf("ID() = %q, %v; want a non-empty id", id1, err)
		}
		if id2, err := a.ID(t.Context()); err != nil || id2 != id1 {
			t.Errorf("second ID() = %q, %v; want %q", id2, err, id1)
		}
		if other, err := b.ID(t.Context()); err != nil || other == id1 {
			t.Errorf("two registries share id %q (%v)", other, err)
		}
	})
	t.Run("Apply", func(t *testing.T) {
		t.Run("CreatesAll", func(t *testing.T) { testApplyCreatesAll(t, open(t)) })
		t.Run("EmptyBatch", func(t *testing.T) { testApplyEmptyBatch(t, open(t)) })
		t.Run("ReapplyIsUnchanged", func(t *testing.T) { testApplyReapplyIsUnchanged(t, open(t)) })
		t.Run("ConflictIsAtomic", func(t *testing.T) { testApplyConflictIsAtomic(t, open(t)) })
		t.Run("DuplicateInBatch", func(t *testing.T) { testApplyDuplicateInBatch(t, open(t)) })
		t.Run("NewVariantCoexists", func(t *testing.T) { testApplyNewVariantCoexists(t, open(t)) })
		t.Run("InvalidIDIsRejected", func(t *testing.T) { testApplyInvalidIDIsRejected(t, open(t)) })
		t.Run("LargeBatch", func(t *testing.T) { testApplyLargeBatch(t, open(t)) })
		t.Run("ModelDir", func(t *testing.T) { testApplyModelDir(t, open(t)) }) // modeldir.go
	})
	t.Run("Get", func(t *testing.T) {
		t.Run("NotFound", func(t *testing.T) { testGetNotFound(t, open(t)) })
		t.Run("RoundTrip", func(t *testing.T) { testGetRoundTrip(t, open(t)) })
	})
	t.Run("List", func(t *testing.T) {
		t.Run("ByKindOrdered", func(t *testing.T) { testListByKindOrdered(t, open(t)) })
		t.Run("All", func(t *testing.T) { testListAll(t, open(t)) })
	})
	t.Run("Dependents", func(t *testing.T) {
		t.Run("Lineage", func(t *testing.T) { testDependentsLineage(t, open(t)) })
		t.Run("ReapplyAddsNoEdges", func(t *testing.T) { testDependentsReapplyAddsNoEdges(t, open(t)) })
		t.Run("UnknownIsNotFound", func(t *testing.T) { testDependentsUnknownIsNotFound(t, open(t)) })
	})
	t.Run("SetStatus", func(t *testing.T) {
		t.Run("Transitions", func(t *testing.T) { testSetStatusTransitions(t, open(t)) })
		t.Run("Watermark", func(t *testing.T) { testSetStatusWatermark(t, open(t)) })
		t.Run("SourceFile", func(t *testing.T) { testSetStatusSourceFile(t, open(t)) })     // sourcefile.go
		t.Run("Materialized", func(t *testing.T) { testSetStatusMaterialized(t, open(t)) }) // materialized.go
		t.Run("ConcurrentWatermarks", func(t *testing.T) { testSetStatusConcurrentWatermarks(t, open(t)) })
		t.Run("UnknownIsNotFound", func(t *testing.T) { testSetStatusUnknownIsNotFound(t, open(t)) })
	})
	t.Run("ConcurrentApply", func(t *testing.T) { testConcurrentApply(t, open(t)) })
	t.Run("ContextCancelled", func(t *testing.T) { testContextCancelled(t, open(t)) })
	t.Run("Jobs", func(t *testing.T) { exerciseJobs(t, open) })
	exerciseLifecycle(t, open)
	exerciseModels(t, open)   // models.go
	exerciseMonitors(t, open) // monitors.go
}

// Fixtures. Every helper returns a new value so tests can mutate freely.

func entity(name string) *resource.Resource {
	return &resource.Resource{
		ID:          resource.ID{Kind: resource.KindEntity, Name: name, Variant: resource.DefaultVariant},
		Description: "a " + name,
		Owner:       "ana@example.com",
	}
}

func source(name, table string) *resource.Resource {
	return &resource.Resource{
		ID:          resource.ID{Kind: resource.KindSource, Name: name, Variant: resource.DefaultVariant},
		Description: "rows of " + table,
		Owner:       "ana@example.com",
		Tags:        []string{"raw"},
		Source:      &resource.SourceSpec{Table: table, TimestampColumn: "ts"},
	}
}

func transformation(name, sql string, inputs ...resource.ID) *resource.Resource {
	return &resource.Resource{
		ID:             resource.ID{Kind: resource.KindTransformation, Name: name, Variant: resource.DefaultVariant},
		Owner:          "ben@example.com",
		Transformation: &resource.TransformationSpec{SQL: sql, Inputs: inputs},
	}
}

func feature(name, ent string, source resource.ID, valueColumn string) *resource.Resource {
	return &resource.Resource{
		ID:          resource.ID{Kind: resource.KindFeature, Name: name, Variant: resource.DefaultVariant},
		Description: "feature " + name,
		Owner:       "ben@example.com",
		Tags:        []string{"engagement", "email"},
		Feature: &resource.FeatureSpec{
			Entity:          ent,
			Source:          source,
			EntityColumn:    ent + "_id",
			ValueColumn:     valueColumn,
			TimestampColumn: "ts",
			Type:            value.Int64,
			MaxAge:          resource.Duration(30 * 24 * time.Hour),
		},
	}
}

func label(name, ent string, source resource.ID, valueColumn string) *resource.Resource {
	return &resource.Resource{
		ID:          resource.ID{Kind: resource.KindLabel, Name: name, Variant: resource.DefaultVariant},
		Description: "label " + name,
		Owner:       "ben@example.com",
		Tags:        []string{"engagement", "email"},
		Label:       &resource.LabelSpec{Entity: ent, Source: source, EntityColumn: ent + "_id", ValueColumn: valueColumn, TimestampColumn: "ts", Type: value.Bool},
	}
}

func trainingSet(name string, lbl resource.ID, features ...resource.ID) *resource.Resource {
	return &resource.Resource{
		ID:          resource.ID{Kind: resource.KindTrainingSet, Name: name, Variant: resource.DefaultVariant},
		Description: "training set " + name,
		TrainingSet: &resource.TrainingSetSpec{Label: lbl, Features: features},
	}
}

func withVariant(r *resource.Resource, variant string) *resource.Resource {
	r.Variant = variant
	return r
}

// graph is one resource of every kind, in dependency order.
func graph() []*resource.Resource {
	cust := entity("customer")
	events := source("email_events", "raw.email_events")
	opens := transformation("opens", "SELECT customer_id, ts FROM {{ email_events }} WHERE type = 'open'", events.ID)
	opens30 := feature("opens_30d", "customer", opens.ID, "opens")
	purchased := label("purchased", "customer", events.ID, "purchased")
	ts := trainingSet("campaign_model", purchased.ID, opens30.ID)
	return []*resource.Resource{cust, events, opens, opens30, purchased, ts}
}

func ids(rs []*resource.Resource) []resource.ID {
	out := make([]resource.ID, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func apply(t *testing.T, s registry.Store, rs ...*resource.Resource) *registry.ApplyResult {
	t.Helper()
	res, err := s.Apply(context.Background(), &registry.ApplyParams{Resources: rs})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res == nil {
		t.Fatal("Apply returned a nil result and no error")
	}
	return res
}

func get(t *testing.T, s registry.Store, id resource.ID) *resource.Resource {
	t.Helper()
	r, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	if r.ID != id {
		t.Fatalf("Get(%s) returned %s", id, r.ID)
	}
	return r
}

func requireNotFound(t *testing.T, s registry.Store, id resource.ID) {
	t.Helper()
	r, err := s.Get(context.Background(), id)
	if !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Get(%s) = %v, %v; want ErrNotFound", id, r, err)
	}
}

func requireIDs(t *testing.T, what string, got, want []resource.ID) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %v\n want %v", what, got, want)
	}
}

func requireSameDefinition(t *testing.T, got, want *resource.Resource) {
	t.Helper()
	if g, w := string(got.Definition()), string(want.Definition()); g != w {
		t.Fatalf("definition of %s does not round-trip:\n got  %s\n want %s", want.ID, g, w)
	}
}

// stamp reports whether ts lies in [before, after], allowing a second of
// slack for stores that take time from a database server's clock.
func stamp(ts, before, after time.Time) bool {
	return !ts.IsZero() && !ts.Before(before.Add(-time.Second)) && !ts.After(after.Add(time.Second))
}

func testApplyCreatesAll(t *testing.T, s registry.Store) {
	rs := graph()
	before := time.Now()
	res := apply(t, s, rs...)
	after := time.Now()
	requireIDs(t, "Created", res.Created, ids(rs))
	requireIDs(t, "Unchanged", res.Unchanged, nil)
	for _, want := range rs {
		got := get(t, s, want.ID)
		requireSameDefinition(t, got, want)
		if got.State.Status != resource.StatusPending {
			t.Errorf("%s: status %q, want %q (the default for an empty initial status)", want.ID, got.State.Status, resource.StatusPending)
		}
		if !stamp(got.State.CreatedAt, before, after) {
			t.Errorf("%s: CreatedAt %v not within the Apply call [%v, %v]", want.ID, got.State.CreatedAt, before, after)
		}
		if got.State.UpdatedAt.Before(got.State.CreatedAt) {
			t.Errorf("%s: UpdatedAt %v before CreatedAt %v", want.ID, got.State.UpdatedAt, got.State.CreatedAt)
		}
	}
}

func testApplyEmptyBatch(t *testing.T, s registry.Store) {
	res := apply(t, s)
	if len(res.Created)+len(res.Unchanged) != 0 {
		t.Fatalf("empty Apply reported %+v", res)
	}
	all, err := s.List(context.Background(), &registry.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 0 {
		t.Fatalf("List after empty Apply: %d resources", len(all))
	}
}

func testApplyReapplyIsUnchanged(t *testing.T, s registry.Store) {
	ctx := context.Background()
	apply(t, s, graph()...)
	events := graph()[1].ID
	schema := []resource.Column{{Name: "customer_id", EngineType: "VARCHAR", Type: value.String}}
	if err := s.SetStatus(ctx, &registry.SetStatusParams{ID: events, Status: resource.StatusReady, Schema: schema}); err != nil {
		t.Fatal(err)
	}
	before := map[resource.ID]resource.State{}
	for _, r := range graph() {
		before[r.ID] = get(t, s, r.ID).State
	}

	// Fresh copies carrying a different initial state: state is not part of
	// the definition, so they are identical and must change nothing.
	again := graph()
	for _, r := range again {
		r.State = resource.State{Status: resource.StatusFailed, Error: "ignored", CreatedAt: time.Unix(1, 0)}
	}
	res := apply(t, s, again...)
	requireIDs(t, "Created", res.Created, nil)
	requireIDs(t, "Unchanged", res.Unchanged, ids(again))
	for _, r := range again {
		got := get(t, s, r.ID).State
		want := before[r.ID]
		if got.Status != want.Status || got.Error != want.Error ||
			!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) ||
			!reflect.DeepEqual(got.Schema, want.Schema) {
			t.Errorf("%s: state changed by an unchanged re-apply:\n got  %+v\n want %+v", r.ID, got, want)
		}
	}
}

func testApplyConflictIsAtomic(t *testing.T, s registry.Store) {
	registered := entity("customer")
	registered.Description = "a person on a mailing list"
	apply(t, s, registered)

	fresh := entity("shop")
	changed := entity("customer")
	changed.Description = "a paying customer"
	changed.Tags = []string{"pii"}
	res, err := s.Apply(context.Background(), &registry.ApplyParams{Resources: []*resource.Resource{fresh, changed}})
	if !errors.Is(err, registry.ErrConflict) {
		t.Fatalf("Apply of a changed variant = %+v, %v; want ErrConflict", res, err)
	}
	var ce *registry.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *registry.ConflictError", err)
	}
	if ce.ID != changed.ID {
		t.Errorf("ConflictError.ID = %s, want %s", ce.ID, changed.ID)
	}
	if want := resource.Diff(registered, changed); !reflect.DeepEqual(ce.Diffs, want) {
		t.Errorf("ConflictError.Diffs:\n got  %+v\n want %+v", ce.Diffs, want)
	}
	if len(ce.Diffs) != 2 || ce.Diffs[0].Field != "description" || ce.Diffs[0].Registered != registered.Description || ce.Diffs[0].Proposed != changed.Description {
		t.Errorf("ConflictError.Diffs do not name description and tags: %+v", ce.Diffs)
	}

	requireNotFound(t, s, fresh.ID)
	requireSameDefinition(t, get(t, s, registered.ID), registered)
}

func testApplyDuplicateInBatch(t *testing.T, s registry.Store) {
	ctx := context.Background()
	a, b := entity("customer"), entity("customer")
	b.Owner = "someone.else@example.com"
	_, err := s.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{a, b}})
	if !errors.Is(err, registry.ErrConflict) {
		t.Fatalf("Apply of one ID with two definitions: %v; want ErrConflict", err)
	}
	var ce *registry.ConflictError
	if !errors.As(err, &ce) || ce.ID != a.ID {
		t.Fatalf("error %v is not a *registry.ConflictError for %s", err, a.ID)
	}
	if len(ce.Diffs) != 1 || ce.Diffs[0].Field != "owner" {
		t.Errorf("ConflictError.Diffs = %+v, want one diff on owner", ce.Diffs)
	}
	requireNotFound(t, s, a.ID)

	shop := entity("shop")
	res := apply(t, s, shop, entity("shop"))
	requireIDs(t, "Created", res.Created, []resource.ID{shop.ID})
	requireIDs(t, "Unchanged", res.Unchanged, nil)
	requireSameDefinition(t, get(t, s, shop.ID), shop)
}

func testApplyNewVariantCoexists(t *testing.T, s registry.Store) {
	events := source("email_events", "raw.email_events")
	v1 := feature("opens", "customer", events.ID, "opens")
	apply(t, s, entity("customer"), events, v1)

	v2 := withVariant(feature("opens", "customer", events.ID, "opens_deduplicated"), "v2")
	res := apply(t, s, entity("customer"), events, v2)
	requireIDs(t, "Created", res.Created, []resource.ID{v2.ID})

	requireSameDefinition(t, get(t, s, v1.ID), v1)
	requireSameDefinition(t, get(t, s, v2.ID), v2)
	features, err := s.List(context.Background(), &registry.ListParams{Kind: resource.KindFeature})
	if err != nil {
		t.Fatal(err)
	}
	requireIDs(t, "List features", ids(features), []resource.ID{v1.ID, v2.ID})
}

func testApplyInvalidIDIsRejected(t *testing.T, s registry.Store) {
	ctx := context.Background()
	for _, bad := range []*resource.Resource{
		{ID: resource.ID{Kind: resource.KindEntity, Name: "Not A Name", Variant: resource.DefaultVariant}},
		{ID: resource.ID{Kind: resource.KindEntity, Name: "customer", Variant: ""}},
		{ID: resource.ID{Kind: "gadget", Name: "customer", Variant: resource.DefaultVariant}},
	} {
		shop := entity("shop")
		if _, err := s.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{shop, bad}}); err == nil {
			t.Errorf("Apply accepted invalid ID %q", bad.ID)
		}
		requireNotFound(t, s, shop.ID)
	}
	if _, err := s.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{nil}}); err == nil {
		t.Error("Apply accepted a nil resource")
	}
}

func testGetNotFound(t *testing.T, s registry.Store) {
	cust := entity("customer")
	requireNotFound(t, s, cust.ID)
	apply(t, s, cust)
	requireNotFound(t, s, resource.ID{Kind: resource.KindFeature, Name: "customer", Variant: resource.DefaultVariant})
	requireNotFound(t, s, resource.ID{Kind: resource.KindEntity, Name: "customer", Variant: "v2"})
	requireNotFound(t, s, resource.ID{Kind: resource.KindEntity, Name: "shop", Variant: resource.DefaultVariant})
}

func testGetRoundTrip(t *testing.T, s registry.Store) {
	ctx := context.Background()
	cust := entity("customer")
	cust.Tags = []string{"pii", "core"}
	events := &resource.Resource{
		ID:          resource.ID{Kind: resource.KindSource, Name: "email_events", Variant: "v1"},
		Description: "sends, opens, clicks — one row per event",
		Owner:       "data-eng@example.com",
		Tags:        []string{"raw"},
		Source:      &resource.SourceSpec{File: "/data/email_events.parquet", Format: "parquet", TimestampColumn: "event_time"},
		State: resource.State{
			Status: resource.StatusReady,
			Schema: []resource.Column{
				{Name: "customer_id", EngineType: "VARCHAR", Type: value.String},
				{Name: "event_time", EngineType: "TIMESTAMP", Type: value.Timestamp},
				{Name: "payload", EngineType: "STRUCT(a INTEGER)"},
			},
		},
	}
	orders := source("orders", "shop.orders")
	orders.Source.TimestampColumn = ""
	opens := transformation("opens_daily", "SELECT customer_id, date_trunc('day', event_time) AS day, count(*) AS opens\nFROM {{ email_events:v1 }} GROUP BY ALL", events.ID)
	opens.Transformation.Inputs = append(opens.Transformation.Inputs, orders.ID)
	opens30 := feature("opens_30d", "customer", opens.ID, "opens")
	opens30.Feature.MaxAge = resource.Duration(720 * time.Hour)
	aov := feature("avg_order_value", "customer", orders.ID, "value")
	aov.Feature.Type = value.Float64
	aov.Feature.TimestampColumn = ""
	aov.Feature.MaxAge = 0
	purchased := label("purchased_7d", "customer", events.ID, "purchased")
	ts := trainingSet("campaign_model", purchased.ID, opens30.ID, aov.ID)
	ts.Owner = "ml@example.com"
	ts.Tags = []string{"holiday"}
	all := []*resource.Resource{cust, events, orders, opens, opens30, aov, purchased, ts}
	apply(t, s, all...)
	if err := s.SetStatus(ctx, &registry.SetStatusParams{ID: opens.ID, Status: resource.StatusFailed, Error: "Binder Error: column \"event_time\" not found\nline 2"}); err != nil {
		t.Fatal(err)
	}

	for _, want := range all {
		got := get(t, s, want.ID)
		requireSameDefinition(t, got, want)
		sameTags := len(got.Tags) == 0 && len(want.Tags) == 0 || reflect.DeepEqual(got.Tags, want.Tags)
		if got.Description != want.Description || got.Owner != want.Owner || !sameTags {
			t.Errorf("%s: metadata %q %q %v, want %q %q %v", want.ID, got.Description, got.Owner, got.Tags, want.Description, want.Owner, want.Tags)
		}
	}
	if got := get(t, s, opens30.ID).Feature; got == nil || got.MaxAge != resource.Duration(720*time.Hour) || got.Source != opens.ID || got.Type != value.Int64 {
		t.Errorf("feature spec did not round-trip: %+v", got)
	}
	if got := get(t, s, aov.ID).Feature; got == nil || got.MaxAge != 0 || got.TimestampColumn != "" {
		t.Errorf("static feature spec did not round-trip: %+v", got)
	}
	if got := get(t, s, purchased.ID); got.Kind != resource.KindLabel || got.Label == nil || got.Label.Type != value.Bool || got.Label.Source != events.ID {
		t.Errorf("label did not round-trip: %+v", got)
	}
	if got := get(t, s, opens.ID).Transformation; got == nil || got.SQL != opens.Transformation.SQL || !reflect.DeepEqual(got.Inputs, opens.Transformation.Inputs) {
		t.Errorf("transformation spec did not round-trip: %+v", got)
	}
	if got := get(t, s, ts.ID).TrainingSet; got == nil || got.Label != purchased.ID || !reflect.DeepEqual(got.Features, []resource.ID{opens30.ID, aov.ID}) {
		t.Errorf("training set spec did not round-trip: %+v", got)
	}
	if got := get(t, s, cust.ID); got.Source != nil || got.Feature != nil || got.Label != nil || got.Transformation != nil || got.TrainingSet != nil {
		t.Errorf("entity gained a spec: %+v", got)
	}

	st := get(t, s, events.ID).State
	if st.Status != resource.StatusReady || st.Error != "" || !reflect.DeepEqual(st.Schema, events.State.Schema) {
		t.Errorf("initial state did not round-trip:\n got  %+v\n want status ready, schema %+v", st, events.State.Schema)
	}
	if st.CreatedAt.Location() != time.UTC || st.UpdatedAt.Location() != time.UTC {
		t.Errorf("timestamps not in UTC: %v %v", st.CreatedAt, st.UpdatedAt)
	}
	if st.CreatedAt.Nanosecond()%1000 != 0 {
		t.Errorf("CreatedAt %v has sub-microsecond precision; stores keep microseconds", st.CreatedAt)
	}
	st = get(t, s, opens.ID).State
	if st.Status != resource.StatusFailed || st.Error != "Binder Error: column \"event_time\" not found\nline 2" || st.Schema != nil {
		t.Errorf("failed state did not round-trip: %+v", st)
	}
}

func testListByKindOrdered(t *testing.T, s registry.Store) {
	ctx := context.Background()
	events := source("email_events", "raw.email_events")
	b := feature("b_clicks", "customer", events.ID, "clicks")
	a := feature("a_opens", "customer", events.ID, "opens")
	a2 := withVariant(feature("a_opens", "customer", events.ID, "opens"), "v2")
	a10 := withVariant(feature("a_opens", "customer", events.ID, "opens"), "v10")
	apply(t, s, b, a2, events, a10, entity("customer"), a)

	got, err := s.List(ctx, &registry.ListParams{Kind: resource.KindFeature})
	if err != nil {
		t.Fatal(err)
	}
	// Byte order: "default" < "v10" < "v2".
	requireIDs(t, "List features", ids(got), []resource.ID{a.ID, a10.ID, a2.ID, b.ID})
	for i, want := range []*resource.Resource{a, a10, a2, b} {
		requireSameDefinition(t, got[i], want)
		if got[i].State.Status != resource.StatusPending || got[i].State.CreatedAt.IsZero() {
			t.Errorf("List does not fill state: %+v", got[i].State)
		}
	}

	labels, err := s.List(ctx, &registry.ListParams{Kind: resource.KindLabel})
	if err != nil {
		t.Fatal(err)
	}
	if len(labels) != 0 {
		t.Fatalf("List labels = %v, want none", ids(labels))
	}
}

func testListAll(t *testing.T, s registry.Store) {
	rs := graph()
	shop := entity("shop")
	extra := withVariant(source("email_events", "raw.email_events_v2"), "v2")
	// Applied out of order; listed by kind order, name, variant.
	apply(t, s, rs[5], rs[3], extra, rs[0], rs[4], shop, rs[2], rs[1])
	want := []resource.ID{rs[0].ID, shop.ID, rs[1].ID, extra.ID, rs[2].ID, rs[3].ID, rs[4].ID, rs[5].ID}
	for _, p := range []*registry.ListParams{{}, nil} {
		got, err := s.List(context.Background(), p)
		if err != nil {
			t.Fatalf("List(%+v): %v", p, err)
		}
		requireIDs(t, fmt.Sprintf("List(%+v)", p), ids(got), want)
	}
}

// lineage is a graph with chained transformations and shared features.
func lineage() (rs []*resource.Resource, byName map[string]resource.ID) {
	cust := entity("customer")
	events := source("email_events", "raw.email_events")
	t1 := transformation("opens", "SELECT * FROM {{ email_events }}", events.ID)
	t2 := transformation("opens_daily", "SELECT * FROM {{ opens }}", t1.ID)
	f1 := feature("opens_30d", "customer", t2.ID, "opens")
	f2 := feature("last_open", "customer", t1.ID, "ts")
	l := label("purchased", "customer", events.ID, "purchased")
	ts1 := trainingSet("campaign_model", l.ID, f1.ID, f2.ID)
	ts2 := trainingSet("baseline", l.ID, f1.ID)
	rs = []*resource.Resource{cust, events, t1, t2, f1, f2, l, ts1, ts2}
	byName = map[string]resource.ID{}
	for _, r := range rs {
		byName[r.Name] = r.ID
	}
	return rs, byName
}

func requireDependents(t *testing.T, s registry.Store, of resource.ID, want ...resource.ID) {
	t.Helper()
	got, err := s.Dependents(context.Background(), of)
	if err != nil {
		t.Fatalf("Dependents(%s): %v", of, err)
	}
	requireIDs(t, "Dependents("+of.String()+")", got, want)
}

func testDependentsLineage(t *testing.T, s registry.Store) {
	rs, id := lineage()
	apply(t, s, rs...)
	requireDependents(t, s, id["opens_30d"], id["baseline"], id["campaign_model"])
	requireDependents(t, s, id["last_open"], id["campaign_model"])
	requireDependents(t, s, id["purchased"], id["baseline"], id["campaign_model"])
	requireDependents(t, s, id["opens"], id["opens_daily"], id["last_open"])
	requireDependents(t, s, id["opens_daily"], id["opens_30d"])
	requireDependents(t, s, id["email_events"], id["opens"], id["purchased"])
	requireDependents(t, s, id["customer"], id["last_open"], id["opens_30d"], id["purchased"])
	requireDependents(t, s, id["campaign_model"])
}

func testDependentsReapplyAddsNoEdges(t *testing.T, s registry.Store) {
	rs, id := lineage()
	apply(t, s, rs...)
	again, _ := lineage()
	apply(t, s, again...)
	// A training set listing the same feature twice is one edge.
	dup := trainingSet("dup", id["purchased"], id["last_open"], id["last_open"])
	apply(t, s, dup)
	requireDependents(t, s, id["last_open"], id["campaign_model"], dup.ID)
	requireDependents(t, s, id["opens_30d"], id["baseline"], id["campaign_model"])
}

func testDependentsUnknownIsNotFound(t *testing.T, s registry.Store) {
	_, err := s.Dependents(context.Background(), resource.ID{Kind: resource.KindFeature, Name: "nope", Variant: resource.DefaultVariant})
	if !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Dependents of an unknown ID: %v; want ErrNotFound", err)
	}
}

func testSetStatusTransitions(t *testing.T, s registry.Store) {
	ctx := context.Background()
	events := source("email_events", "raw.email_events")
	apply(t, s, events)
	created := get(t, s, events.ID).State

	set := func(p registry.SetStatusParams) resource.State {
		t.Helper()
		before := time.Now()
		if err := s.SetStatus(ctx, &p); err != nil {
			t.Fatalf("SetStatus(%+v): %v", p, err)
		}
		after := time.Now()
		got := get(t, s, events.ID)
		requireSameDefinition(t, got, events)
		if !got.State.CreatedAt.Equal(created.CreatedAt) {
			t.Errorf("SetStatus moved CreatedAt from %v to %v", created.CreatedAt, got.State.CreatedAt)
		}
		if !stamp(got.State.UpdatedAt, before, after) || got.State.UpdatedAt.Before(created.UpdatedAt) {
			t.Errorf("UpdatedAt %v not within the SetStatus call [%v, %v]", got.State.UpdatedAt, before, after)
		}
		return got.State
	}

	running := set(registry.SetStatusParams{ID: events.ID, Status: resource.StatusRunning})
	if running.Status != resource.StatusRunning || running.Schema != nil || running.Error != "" {
		t.Errorf("after running: %+v", running)
	}

	schema := []resource.Column{
		{Name: "customer_id", EngineType: "VARCHAR", Type: value.String},
		{Name: "ts", EngineType: "TIMESTAMP WITH TIME ZONE", Type: value.Timestamp},
	}
	ready := set(registry.SetStatusParams{ID: events.ID, Status: resource.StatusReady, Schema: schema})
	if ready.Status != resource.StatusReady || !reflect.DeepEqual(ready.Schema, schema) {
		t.Errorf("after ready: %+v", ready)
	}

	failed := set(registry.SetStatusParams{ID: events.ID, Status: resource.StatusFailed, Error: "file not found: raw.email_events"})
	if failed.Status != resource.StatusFailed || failed.Error != "file not found: raw.email_events" {
		t.Errorf("after failed: %+v", failed)
	}
	if !reflect.DeepEqual(failed.Schema, schema) {
		t.Errorf("a nil Schema replaced the recorded schema: %+v", failed.Schema)
	}

	again := set(registry.SetStatusParams{ID: events.ID, Status: resource.StatusReady, Schema: []resource.Column{}})
	if again.Status != resource.StatusReady || again.Error != "" {
		t.Errorf("the error of a failed run outlived a ready status: %+v", again)
	}
	if len(again.Schema) != 0 {
		t.Errorf("an empty non-nil Schema did not replace the recorded one: %+v", again.Schema)
	}
}

// testSetStatusWatermark checks that a watermark is recorded at microsecond
// precision in UTC, kept by a SetStatus that gives none, raised by a later
// one, and kept by an earlier or equal one (whose status and error still apply).
func testSetStatusWatermark(t *testing.T, s registry.Store) {
	ctx := context.Background()
	rs := graph()
	apply(t, s, rs...)
	opens30 := rs[3].ID
	for _, r := range rs {
		if wm := get(t, s, r.ID).State.Watermark; !wm.IsZero() {
			t.Fatalf("%s: watermark %v before any was set; want zero", r.ID, wm)
		}
	}
	requireWatermark := func(what string, want time.Time) {
		t.Helper()
		got := get(t, s, opens30).State.Watermark
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Fatalf("%s: Get watermark %v; want %v in UTC", what, got, want.UTC())
		}
		features, err := s.List(ctx, &registry.ListParams{Kind: resource.KindFeature})
		if err != nil {
			t.Fatalf("%s: List: %v", what, err)
		}
		if len(features) != 1 || features[0].ID != opens30 {
			t.Fatalf("%s: List = %v; want only %s", what, ids(features), opens30)
		}
		if got := features[0].State.Watermark; !got.Equal(want) || got.Location() != time.UTC {
			t.Fatalf("%s: List watermark %v; want %v in UTC", what, got, want.UTC())
		}
	}
	set := func(p registry.SetStatusParams) {
		t.Helper()
		p.ID = opens30
		if err := s.SetStatus(ctx, &p); err != nil {
			t.Fatalf("SetStatus(%+v): %v", p, err)
		}
	}

	// Microseconds, in a zone other than UTC: the store keeps the instant.
	first := time.Date(2026, 2, 28, 23, 59, 59, 123456000, time.FixedZone("UTC+5:30", 5*3600+1800))
	set(registry.SetStatusParams{Status: resource.StatusRunning, Watermark: first})
	requireWatermark("after a SetStatus with a watermark", first)

	set(registry.SetStatusParams{Status: resource.StatusReady})
	requireWatermark("after a SetStatus without one", first)
	apply(t, s, graph()...)
	requireWatermark("after an unchanged re-apply", first)

	second := first.Add(36*time.Hour + time.Microsecond)
	set(registry.SetStatusParams{Status: resource.StatusReady, Watermark: second})
	requireWatermark("after a later watermark", second)

	// An earlier watermark (here earlier than the first one too, and one
	// only a microsecond before the recorded mark) leaves the later one.
	earlier := first.Add(-time.Hour)
	set(registry.SetStatusParams{Status: resource.StatusFailed, Error: "boom", Watermark: earlier})
	requireWatermark("after an earlier watermark", second)
	if st := get(t, s, opens30).State; st.Status != resource.StatusFailed || st.Error != "boom" {
		t.Errorf("an earlier watermark changed how status and error are recorded: %+v", st)
	}
	set(registry.SetStatusParams{Status: resource.StatusRunning, Watermark: second.Add(-time.Microsecond)})
	requireWatermark("after a watermark a microsecond earlier", second)
	if st := get(t, s, opens30).State; st.Status != resource.StatusRunning || st.Error != "" {
		t.Errorf("an earlier watermark changed how status and error are recorded: %+v", st)
	}
	set(registry.SetStatusParams{Status: resource.StatusReady, Watermark: second.In(time.FixedZone("UTC-8", -8*3600))})
	requireWatermark("after the same watermark in another zone", second)

	// Later by a microsecond, and across a year boundary (each field of the
	// stored form changes at once), still raises it.
	third := second.Add(time.Microsecond)
	set(registry.SetStatusParams{Status: resource.StatusReady, Watermark: third})
	requireWatermark("after a watermark a microsecond later", third)
	newYear := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	set(registry.SetStatusParams{Status: resource.StatusReady, Watermark: newYear})
	requireWatermark("after a watermark in the next year", newYear)
	set(registry.SetStatusParams{Status: resource.StatusReady, Watermark: newYear.Add(-time.Microsecond)})
	requireWatermark("after the last microsecond of the year before", newYear)

	for _, r := range rs {
		if r.ID != opens30 && !get(t, s, r.ID).State.Watermark.IsZero() {
			t.Errorf("%s: watermark set by another resource's SetStatus", r.ID)
		}
	}
}

// testSetStatusConcurrentWatermarks races goroutines giving one resource
// different watermarks, in a shuffled order: whatever order they commit in,
// the recorded watermark is the latest of them (a store that reads the mark
// and then writes it can lose the maximum to a smaller one).
func testSetStatusConcurrentWatermarks(t *testing.T, s registry.Store) {
	const workers = 8
	const rounds = 5
	ctx := context.Background()
	rs := graph()
	apply(t, s, rs...)
	opens30 := rs[3].ID
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	var want time.Time
	for round := range rounds {
		// Round r's marks are all later than round r-1's; within a round the
		// largest goes to a different goroutine each time.
		marks := make([]time.Time, workers)
		for i := range marks {
			marks[i] = base.Add(time.Duration(round*workers+(i+round)%workers)*time.Minute + time.Duration(i)*time.Microsecond)
			if marks[i].After(want) {
				want = marks[i]
			}
		}
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, workers)
		)
		for i := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = s.SetStatus(ctx, &registry.SetStatusParams{ID: opens30, Status: resource.StatusReady, Watermark: marks[i]})
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: SetStatus with watermark %v: %v", round, marks[i], err)
			}
		}
		got := get(t, s, opens30).State
		if !got.Watermark.Equal(want) || got.Watermark.Location() != time.UTC {
			t.Fatalf("round %d: watermark %v after concurrent SetStatus calls; want the latest, %v", round, got.Watermark, want)
		}
		if got.Status != resource.StatusReady {
			t.Fatalf("round %d: status %q; want %q", round, got.Status, resource.StatusReady)
		}
	}
	for _, r := range rs {
		if r.ID != opens30 && !get(t, s, r.ID).State.Watermark.IsZero() {
			t.Errorf("%s: watermark set by another resource's SetStatus", r.ID)
		}
	}
}

func testSetStatusUnknownIsNotFound(t *testing.T, s registry.Store) {
	apply(t, s, entity("customer"))
	err := s.SetStatus(context.Background(), &registry.SetStatusParams{
		ID:     resource.ID{Kind: resource.KindSource, Name: "customer", Variant: resource.DefaultVariant},
		Status: resource.StatusReady,
	})
	if !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("SetStatus of an unknown ID: %v; want ErrNotFound", err)
	}
}

// testConcurrentApply races goroutines applying batches that overlap: shared
// identical resources (each must be created exactly once) and one contested
// ID with a different definition per goroutine (exactly one must win, and
// the losers' other resources must not be registered).
func testConcurrentApply(t *testing.T, s registry.Store) {
	const workers = 8
	const rounds = 3
	ctx := context.Background()
	events := source("email_events", "raw.email_events")
	shared := func() []*resource.Resource {
		return []*resource.Resource{entity("customer"), source("email_events", "raw.email_events")}
	}

	var (
		mu          sync.Mutex
		createdBy   = map[resource.ID]int{}
		contestWins []int
		wg          sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				own := feature(fmt.Sprintf("f_%d_%d", w, r), "customer", events.ID, "opens")
				res, err := s.Apply(ctx, &registry.ApplyParams{Resources: append(shared(), own)})
				if err != nil {
					t.Errorf("worker %d round %d: %v", w, r, err)
					return
				}
				mu.Lock()
				for _, id := range res.Created {
					createdBy[id]++
				}
				mu.Unlock()
			}

			contested := entity("shop")
			contested.Description = fmt.Sprintf("claimed by worker %d", w)
			own := feature(fmt.Sprintf("g_%d", w), "customer", events.ID, "opens")
			res, err := s.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{own, contested}})
			switch {
			case err == nil:
				if len(res.Created) != 2 {
					t.Errorf("worker %d won the contest but created %v", w, res.Created)
				}
				mu.Lock()
				contestWins = append(contestWins, w)
				mu.Unlock()
			case errors.Is(err, registry.ErrConflict):
				var ce *registry.ConflictError
				if !errors.As(err, &ce) || ce.ID != contested.ID {
					t.Errorf("worker %d: conflict error %v does not name %s", w, err, contested.ID)
				}
			default:
				t.Errorf("worker %d contest: %v", w, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	for _, r := range shared() {
		if createdBy[r.ID] != 1 {
			t.Errorf("%s reported created %d times, want exactly once", r.ID, createdBy[r.ID])
		}
	}
	if len(contestWins) != 1 {
		t.Fatalf("contested ID won by workers %v, want exactly one", contestWins)
	}
	winner := contestWins[0]
	if got := get(t, s, entity("shop").ID); got.Description != fmt.Sprintf("claimed by worker %d", winner) {
		t.Errorf("contested description %q, winner was worker %d", got.Description, winner)
	}
	for w := range workers {
		for r := range rounds {
			id := resource.ID{Kind: resource.KindFeature, Name: fmt.Sprintf("f_%d_%d", w, r), Variant: resource.DefaultVariant}
			if createdBy[id] != 1 {
				t.Errorf("%s reported created %d times", id, createdBy[id])
			}
			get(t, s, id)
		}
		id := resource.ID{Kind: resource.KindFeature, Name: fmt.Sprintf("g_%d", w), Variant: resource.DefaultVariant}
		if w == winner {
			get(t, s, id)
		} else {
			requireNotFound(t, s, id)
		}
	}
	all, err := s.List(ctx, &registry.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 + workers*rounds + 2; len(all) != want {
		t.Errorf("List after concurrent applies: %d resources, want %d", len(all), want)
	}
	dependents, err := s.Dependents(ctx, events.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := workers*rounds + 1; len(dependents) != want {
		t.Errorf("Dependents(%s): %d, want %d", events.ID, len(dependents), want)
	}
}

func testContextCancelled(t *testing.T, s registry.Store) {
	cust := entity("customer")
	apply(t, s, cust)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	shop := entity("shop")
	if _, err := s.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{shop}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Apply with a cancelled context: %v; want context.Canceled", err)
	}
	requireNotFound(t, s, shop.ID)
	if _, err := s.Get(ctx, cust.ID); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context: %v; want context.Canceled", err)
	}
	if _, err := s.List(ctx, &registry.ListParams{}); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a cancelled context: %v; want context.Canceled", err)
	}
	if _, err := s.Dependents(ctx, cust.ID); !errors.Is(err, context.Canceled) {
		t.Errorf("Dependents with a cancelled context: %v; want context.Canceled", err)
	}
	if err := s.SetStatus(ctx, &registry.SetStatusParams{ID: cust.ID, Status: resource.StatusFailed}); !errors.Is(err, context.Canceled) {
		t.Errorf("SetStatus with a cancelled context: %v; want context.Canceled", err)
	}
	if got := get(t, s, cust.ID); got.State.Status != resource.StatusPending {
		t.Errorf("cancelled SetStatus changed the status to %q", got.State.Status)
	}
}

// testApplyLargeBatch applies more resources, with more dependency edges,
// than a store may write per statement, then applies them again.
func testApplyLargeBatch(t *testing.T, s registry.Store) {
	cust := entity("customer")
	events := source("email_events", "raw.email_events")
	batch := []*resource.Resource{cust, events}
	for i := range 250 {
		batch = append(batch, feature(fmt.Sprintf("f%03d", i), "customer", events.ID, "opens"))
	}
	if res := apply(t, s, batch...); len(res.Created) != len(batch) {
		t.Fatalf("Apply created %d resources; want %d", len(res.Created), len(batch))
	}
	if res := apply(t, s, batch...); len(res.Unchanged) != len(batch) || len(res.Created) != 0 {
		t.Fatalf("second Apply: %d created, %d unchanged; want all %d unchanged", len(res.Created), len(res.Unchanged), len(batch))
	}
	all, err := s.List(t.Context(), &registry.ListParams{Kind: resource.KindFeature})
	if err != nil || len(all) != 250 {
		t.Fatalf("List features = %d, %v; want 250", len(all), err)
	}
	for i, r := range all {
		if want := fmt.Sprintf("f%03d", i); r.Name != want {
			t.Fatalf("feature %d is %s; want %s", i, r.Name, want)
		}
	}
	for _, id := range []resource.ID{cust.ID, events.ID} {
		deps, err := s.Dependents(t.Context(), id)
		if err != nil || len(deps) != 250 {
			t.Errorf("Dependents(%s) = %d, %v; want the 250 features", id, len(deps), err)
		}
	}
}
