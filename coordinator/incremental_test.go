package coordinator_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

const readingsDefs = `entities:
  - name: meter
sources:
  - name: readings
    file: readings.csv
    timestamp_column: ts
features:
  - name: level
    entity: meter
    source: readings
    entity_column: meter_id
    value_column: level
    timestamp_column: ts
    type: int64
`

type reading struct {
	meter string
	ts    time.Time
	level int
}

func writeReadings(t *testing.T, path string, rows []reading) {
	t.Helper()
	var b strings.Builder
	b.WriteString("meter_id,ts,level\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s,%d\n", r.meter, r.ts.Format("2006-01-02T15:04:05"), r.level)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestIncrementalEqualsFull materializes randomized readings round after
// round, with new rows for some meters and late rows inside the lookback,
// into one online store incrementally and into another in full, and
// compares the two after every round.
func TestIncrementalEqualsFull(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	inc := newCoordinator(t, dir) // materializes incrementally
	// The same registry and offline store, its own online store, in full.
	whole := &coordinator.Coordinator{Registry: inc.Registry, Offline: inc.Offline, Online: openKV(t, filepath.Join(dir, "full.bolt"))}
	incremental, full, reg := inc.Online, whole.Online, inc.Registry

	rng := rand.New(rand.NewPCG(7, 11))
	const meters = 300
	meter := func(i int) string { return fmt.Sprintf("m%03d", i) }
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows []reading
	for i := range meters {
		for range 1 + rng.IntN(4) {
			rows = append(rows, reading{meter(i), start.Add(time.Duration(rng.IntN(30*24)) * time.Hour), rng.IntN(1000)})
		}
	}
	csv := filepath.Join(dir, "readings.csv")
	writeReadings(t, csv, rows)
	must(t, os.WriteFile(filepath.Join(dir, "defs.yaml"), []byte(readingsDefs), 0o644))
	applyDir(t, inc, dir)
	level := resource.ID{Kind: resource.KindFeature, Name: "level", Variant: resource.DefaultVariant}
	var newest time.Time
	for _, r := range rows {
		if r.ts.After(newest) {
			newest = r.ts
		}
	}
	for round := range 6 {
		if round > 0 {
			// New readings for about an eighth of the meters, after the newest so far.
			for i := range meters {
				if rng.IntN(8) == 0 {
					rows = append(rows, reading{meter(i), newest.Add(time.Duration(1+rng.IntN(24)) * time.Hour), rng.IntN(1000)})
				}
			}
			// Late readings, inside the default lookback (1d) of the last watermark,
			// some tying with an existing timestamp.
			for range 20 {
				ts := newest.Add(-time.Duration(rng.IntN(23*60)) * time.Minute)
				if rng.IntN(4) == 0 {
					ts = rows[rng.IntN(len(rows))].ts
					if ts.Before(newest.Add(-23 * time.Hour)) {
						ts = newest
					}
				}
				rows = append(rows, reading{meter(rng.IntN(meters)), ts, rng.IntN(1000)})
			}
			for _, r := range rows {
				if r.ts.After(newest) {
					newest = r.ts
				}
			}
			writeReadings(t, csv, rows)
		}
		res, err := inc.Materialize(ctx, &coordinator.MaterializeParams{Features: []resource.ID{level}})
		if err != nil {
			t.Fatalf("round %d incremental: %v", round, err)
		}
		if _, err := whole.Materialize(ctx, &coordinator.MaterializeParams{Features: []resource.ID{level}, Full: true}); err != nil {
			t.Fatalf("round %d full: %v", round, err)
		}
		if round > 0 && res.Values >= meters/2 {
			t.Errorf("round %d: the incremental run wrote %d values; want only the meters with rows in its window (< %d)", round, res.Values, meters/2)
		}
		compareStores(t, round, incremental, full, meters, meter)
		f, err := reg.Get(ctx, level)
		if err != nil {
			t.Fatal(err)
		}
		if !f.State.Watermark.Equal(newest) {
			t.Errorf("round %d: watermark %v; want the newest reading %v", round, f.State.Watermark, newest)
		}
	}
	jobs, err := reg.ListJobs(ctx, &registry.ListJobsParams{Kind: coordinator.JobMaterialize, Limit: 1})
	if err != nil || len(jobs) == 0 || jobs[0].Status != registry.JobSucceeded {
		t.Errorf("last materialize job: %+v, %v", jobs, err)
	}
}

func compareStores(t *testing.T, round int, a, b online.Store, meters int, meter func(int) string) {
	t.Helper()
	var entities []string
	for i := range meters {
		entities = append(entities, meter(i))
	}
	p := &online.ReadParams{Features: []string{"level:default"}, Entities: entities}
	ra, err := a.Read(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.Read(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range entities {
		ea, eb := ra.Entries[i][0], rb.Entries[i][0]
		if ea.Found != eb.Found || ea.Value.String() != eb.Value.String() || !ea.Timestamp.Equal(eb.Timestamp) {
			t.Errorf("round %d, %s: incremental %v@%v (found %v), full %v@%v (found %v)",
				round, entities[i], ea.Value, ea.Timestamp, ea.Found, eb.Value, eb.Timestamp, eb.Found)
		}
	}
}

func TestChunkedMaterializationJobs(t *testing.T) {
	c, ctx := setup(t)
	amount := resource.ID{Kind: resource.KindFeature, Name: "amount", Variant: resource.DefaultVariant}
	jobs, err := c.EnqueueMaterialize(ctx, &coordinator.MaterializeParams{Features: []resource.ID{amount}, Chunks: 2})
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, j := range jobs {
		parts = append(parts, j.Kind+":"+coordinator.JobPart(j))
	}
	if got, want := strings.Join(parts, ", "), "transformation:, materialize:chunk 1 of 2, materialize:chunk 2 of 2, materialize:commit"; got != want {
		t.Fatalf("jobs of a 2-chunk materialization: %s; want %s", got, want)
	}
	ended, err := fastWorker(c).Work(ctx, coordinator.JobIDs(jobs))
	if err != nil {
		t.Fatal(err)
	}
	// The chunks split the 3 users between them; the commit records the watermark.
	if rows := ended[1].Rows + ended[2].Rows; rows != 3 || ended[1].Rows == 0 && ended[2].Rows == 0 {
		t.Errorf("chunks wrote %d and %d values; want 3 between them", ended[1].Rows, ended[2].Rows)
	}
	f, err := c.Registry.Get(ctx, amount)
	if err != nil || f.State.Status != resource.StatusReady || f.State.Watermark.IsZero() {
		t.Errorf("feature after the commit: %+v, %v; want ready with a watermark", f.State, err)
	}
}
