package server_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// releaseFixture serves features f0..f3 of 40 subscribers: entity i has
// value 100i+j of feature j, dated i minutes before now, except that every
// third entity has no f1 (a not_found slot after a found one in a pooled
// buffer).
func releaseFixture(t *testing.T) (*serving.Service, []string) {
	t.Helper()
	p, reg, on := newBackends(t)
	names := []string{"f0:v1", "f1:v1", "f2:v1", "f3:v1"}
	apply(t, reg, entity("subscriber"), source("subscriber_engagement_30d", "as_of"))
	for j, name := range names {
		apply(t, reg, feature(name, "subscriber", "subscriber_engagement_30d", fmt.Sprintf("f%d", j), "as_of", value.Int64, 30*24*time.Hour))
		var recs []rec
		for i := range 40 {
			if j == 1 && i%3 == 0 {
				continue
			}
			recs = append(recs, rec{Entity: fmt.Sprintf("sub_%d", i), Value: value.FromInt64(int64(100*i + j)), Timestamp: now.Add(-time.Duration(i) * time.Minute)})
		}
		write(t, on, name, recs...)
	}
	return newHandler(t, p, reg, on).service, names
}

// checkRow compares a served row of entity sub_i with what releaseFixture wrote.
func checkRow(t *testing.T, row serving.Row, i int) {
	t.Helper()
	if want := fmt.Sprintf("sub_%d", i); row.Entity != want {
		t.Errorf("row of entity %s, want %s", row.Entity, want)
		return
	}
	for j := range row.Values {
		if j == 1 && i%3 == 0 {
			if row.Statuses[j] != serving.NotFound || !row.Values[j].IsNull() || !row.Timestamps[j].IsZero() {
				t.Errorf("sub_%d f%d: %s %v at %v, want not_found, null, no timestamp", i, j, row.Statuses[j], row.Values[j], row.Timestamps[j])
			}
			continue
		}
		want, ts := value.FromInt64(int64(100*i+j)), now.Add(-time.Duration(i)*time.Minute)
		if row.Statuses[j] != serving.Found || !row.Values[j].Equal(want) || !row.Timestamps[j].Equal(ts) {
			t.Errorf("sub_%d f%d: %s %v at %v, want found %v at %v", i, j, row.Statuses[j], row.Values[j], row.Timestamps[j], want, ts)
		}
	}
}

// TestReleasedResponse: Release empties the response and may be called
// twice, and a response served from a released one's memory holds its own
// values, not_found slots included.
func TestReleasedResponse(t *testing.T) {
	svc, names := releaseFixture(t)
	resp, err := svc.OnlineFeatures(t.Context(), &serving.Request{Features: names, Entities: []string{"sub_1", "sub_2"}})
	if err != nil {
		t.Fatal(err)
	}
	checkRow(t, resp.Rows[0], 1)
	checkRow(t, resp.Rows[1], 2)
	resp.Release()
	if resp.Rows != nil || resp.Features != nil || resp.Entity != "" {
		t.Errorf("released response still holds %q %v %d rows", resp.Entity, resp.Features, len(resp.Rows))
	}
	resp.Release()
	// sub_3 lacks f1 where sub_1 had one.
	again, err := svc.OnlineFeatures(t.Context(), &serving.Request{Features: names, Entities: []string{"sub_3"}})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Release()
	if len(again.Rows) != 1 || len(again.Features) != len(names) || again.Features[3] != names[3] {
		t.Fatalf("got %d rows and features %v, want 1 row of %v", len(again.Rows), again.Features, names)
	}
	checkRow(t, again.Rows[0], 3)
	// A row's slices end where the next row's begin: appending copies.
	two, err := svc.OnlineFeatures(t.Context(), &serving.Request{Features: names, Entities: []string{"sub_4", "sub_5"}})
	if err != nil {
		t.Fatal(err)
	}
	defer two.Release()
	_ = append(two.Rows[0].Values, value.FromInt64(-1))
	_ = append(two.Rows[0].Statuses, serving.OutsideMaxAge)
	_ = append(two.Rows[0].Timestamps, time.Time{})
	checkRow(t, two.Rows[1], 5)
}

// TestReleaseConcurrent: goroutines serving requests of varied sizes hold
// each response while the others release theirs, and find their own values
// in it until they release it. Under -race, memory reused while still
// referenced would also be reported as a race.
func TestReleaseConcurrent(t *testing.T) {
	svc, names := releaseFixture(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 100 {
				n := 1 + rng.IntN(12)
				ids := make([]int, n)
				keys := make([]string, n)
				for k := range ids {
					ids[k] = rng.IntN(40)
					keys[k] = fmt.Sprintf("sub_%d", ids[k])
				}
				features := names[:1+rng.IntN(len(names))]
				resp, err := svc.OnlineFeatures(t.Context(), &serving.Request{Features: features, Entities: keys})
				if err != nil {
					t.Error(err)
					return
				}
				runtime.Gosched() // let the others release and reuse meanwhile
				if len(resp.Rows) != n || len(resp.Features) != len(features) {
					t.Errorf("%d rows of %d features, want %d of %d", len(resp.Rows), len(resp.Features), n, len(features))
				}
				for k, row := range resp.Rows {
					if len(row.Values) != len(features) {
						t.Errorf("row %d: %d values, want %d", k, len(row.Values), len(features))
						continue
					}
					checkRow(t, row, ids[k])
				}
				resp.Release()
			}
		})
	}
	wg.Wait()
}
