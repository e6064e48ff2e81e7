package coordinator_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// TestMaterializeAsOfNow materializes readings dated in the past and in the
// future: online values are the values as of the run (rows dated later are
// not written), a row whose time comes is written by the first incremental
// run after it, and future values an earlier version wrote are replaced.
func TestMaterializeAsOfNow(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := newCoordinator(t, dir)
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: now}
	c.Now = clock.Now
	writeReadings(t, filepath.Join(dir, "readings.csv"), []reading{
		{"m1", now.Add(-48 * time.Hour), 5},
		{"m1", now.Add(-time.Hour), 7},
		{"m1", now.Add(5 * 24 * time.Hour), 100}, // future: written after its time
		{"m2", now.Add(2 * 24 * time.Hour), 50},  // only future rows: nothing yet
		{"m3", now.Add(-10 * 24 * time.Hour), 3},
		{"m4", now, 4}, // exactly now: written
	})
	must(t, os.WriteFile(filepath.Join(dir, "defs.yaml"), []byte(readingsDefs), 0o644))
	applyDir(t, c, dir)
	// What a version that wrote each entity's newest row whatever its date
	// left in the online store.
	if err := c.Online.Write(ctx, &online.WriteParams{Features: []string{"level:default"}, Records: []online.Record{
		{Entity: "m1", Values: []value.Value{value.FromInt64(100)}, Timestamp: now.Add(5 * 24 * time.Hour)},
		{Entity: "m3", Values: []value.Value{value.FromInt64(99)}, Timestamp: now.Add(24 * time.Hour)},
	}}); err != nil {
		t.Fatal(err)
	}

	level := resource.ID{Kind: resource.KindFeature, Name: "level", Variant: resource.DefaultVariant}
	type want struct {
		found bool
		n     int64
		ts    time.Time
	}
	check := func(when string, wants map[string]want) {
		t.Helper()
		if _, err := c.Materialize(ctx, &coordinator.MaterializeParams{Features: []resource.ID{level}}); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		entities := []string{"m1", "m2", "m3", "m4"}
		res, err := c.Online.Read(ctx, &online.ReadParams{Features: []string{"level:default"}, Entities: entities})
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range entities {
			got, w := res.Entries[i][0], wants[e]
			if got.Found != w.found || w.found && (!got.Value.Equal(value.FromInt64(w.n)) || !got.Timestamp.Equal(w.ts)) {
				t.Errorf("%s, %s: found %v %v at %v, want found %v %d at %v", when, e, got.Found, got.Value, got.Timestamp, w.found, w.n, w.ts)
			}
		}
	}
	check("first run", map[string]want{
		"m1": {true, 7, now.Add(-time.Hour)},
		"m2": {false, 0, time.Time{}},
		"m3": {true, 3, now.Add(-10 * 24 * time.Hour)},
		"m4": {true, 4, now},
	})
	if w := status(t, c, resource.KindFeature, "level").Watermark; !w.Equal(now) {
		t.Errorf("watermark %v, want %v (the newest row at or before the run)", w, now)
	}
	clock.Add(2*24*time.Hour + time.Minute)
	check("incremental run after m2's row came due", map[string]want{
		"m1": {true, 7, now.Add(-time.Hour)},
		"m2": {true, 50, now.Add(2 * 24 * time.Hour)},
		"m3": {true, 3, now.Add(-10 * 24 * time.Hour)},
		"m4": {true, 4, now},
	})
	clock.Add(3 * 24 * time.Hour)
	check("incremental run after m1's row came due", map[string]want{
		"m1": {true, 100, now.Add(5 * 24 * time.Hour)},
		"m2": {true, 50, now.Add(2 * 24 * time.Hour)},
		"m3": {true, 3, now.Add(-10 * 24 * time.Hour)},
		"m4": {true, 4, now},
	})
}

// TestFullMaterializationRepairsFutureValues is the upgrade path documented
// in docs/design/core.md: an online store holding values dated in the
// future (written by a version that materialized rows before their time)
// after the features already have a watermark. An incremental run reads
// only recent rows, so an entity whose current row is older keeps the
// future value (serving answers not_found for it until its time); one run
// with Full reads every entity and replaces them all.
func TestFullMaterializationRepairsFutureValues(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := newCoordinator(t, dir)
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	c.Now = (&fakeClock{t: now}).Now
	writeReadings(t, filepath.Join(dir, "readings.csv"), []reading{
		{"m1", now.Add(-10 * 24 * time.Hour), 3}, // older than the lookback
		{"m2", now.Add(-time.Hour), 7},
	})
	must(t, os.WriteFile(filepath.Join(dir, "defs.yaml"), []byte(readingsDefs), 0o644))
	applyDir(t, c, dir)
	level := resource.ID{Kind: resource.KindFeature, Name: "level", Variant: resource.DefaultVariant}
	if _, err := c.Materialize(ctx, &coordinator.MaterializeParams{Features: []resource.ID{level}}); err != nil {
		t.Fatal(err)
	}
	// The old version's future values.
	if err := c.Online.Write(ctx, &online.WriteParams{Features: []string{"level:default"}, Records: []online.Record{
		{Entity: "m1", Values: []value.Value{value.FromInt64(100)}, Timestamp: now.Add(5 * 24 * time.Hour)},
		{Entity: "m2", Values: []value.Value{value.FromInt64(200)}, Timestamp: now.Add(5 * 24 * time.Hour)},
	}}); err != nil {
		t.Fatal(err)
	}
	read := func() []online.Entry {
		res, err := c.Online.Read(ctx, &online.ReadParams{Features: []string{"level:default"}, Entities: []string{"m1", "m2"}})
		if err != nil {
			t.Fatal(err)
		}
		return []online.Entry{res.Entries[0][0], res.Entries[1][0]}
	}
	if _, err := c.Materialize(ctx, &coordinator.MaterializeParams{Features: []resource.ID{level}}); err != nil {
		t.Fatal(err)
	}
	got := read()
	if !got[1].Value.Equal(value.FromInt64(7)) {
		t.Errorf("incremental run: m2 = %v, want 7 (its row is inside the lookback)", got[1].Value)
	}
	if !got[0].Value.Equal(value.FromInt64(100)) {
		t.Errorf("incremental run: m1 = %v, want the future 100 still there (its row is outside the lookback)", got[0].Value)
	}
	if _, err := c.Materialize(ctx, &coordinator.MaterializeParams{Features: []resource.ID{level}, Full: true}); err != nil {
		t.Fatal(err)
	}
	got = read()
	if !got[0].Value.Equal(value.FromInt64(3)) || !got[1].Value.Equal(value.FromInt64(7)) {
		t.Errorf("after --full: m1 = %v, m2 = %v, want 3 and 7", got[0].Value, got[1].Value)
	}
}
