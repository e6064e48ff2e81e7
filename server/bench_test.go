package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/online/onlineredis"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

const (
	benchEntities = 10_000
	benchFeatures = 20
)

// benchShapes are the request shapes every benchmark runs: entities × features.
var benchShapes = []struct{ entities, features int }{{1, benchFeatures}, {100, benchFeatures}}

// newBenchFixture registers benchFeatures int64/float64 features of entity
// subscriber and writes a value of each for benchEntities subscribers.
func newBenchFixture(b *testing.B) (fixture, []string) {
	b.Helper()
	p, reg, on := newBackends(b)
	return newBenchFixtureOn(b, p, reg, on)
}

// newRedisBenchFixture is newBenchFixture with the online store on the
// Redis of SLIPWAY_TEST_REDIS (under a key prefix of its own, deleted at the
// end) and its read cache on or off.
func newRedisBenchFixture(b *testing.B, cache bool) (fixture, []string) {
	b.Helper()
	p, reg, _ := newBackends(b)
	on, err := onlineredis.New(b.Context(), onlineredis.Config{Addrs: []string{testenv.Redis(b)}, KeyPrefix: "slipwaybench:" + rand.Text()[:12] + ":", DisableCache: !cache})
	if err != nil {
		b.Fatal(err)
	}
	f, names := newBenchFixtureOn(b, p, reg, on)
	b.Cleanup(func() {
		if err := on.DeleteFeatures(context.Background(), &online.DeleteFeaturesParams{Features: names}); err != nil {
			b.Error(err)
		}
		on.Close()
	})
	return f, names
}

func newBenchFixtureOn(b *testing.B, p *platform.Platform, reg registry.Store, on online.Store) (fixture, []string) {
	b.Helper()
	rs := []*resource.Resource{entity("subscriber"), source("subscriber_engagement_30d", "as_of")}
	names := make([]string, benchFeatures)
	for j := range names {
		names[j] = fmt.Sprintf("f%02d:v1", j)
		typ := value.Int64
		if j%2 == 1 {
			typ = value.Float64
		}
		rs = append(rs, feature(names[j], "subscriber", "subscriber_engagement_30d", fmt.Sprintf("f%02d", j), "as_of", typ, 30*24*time.Hour))
	}
	apply(b, reg, rs...)
	recs := make([]rec, benchEntities)
	for j, name := range names {
		for i := range recs {
			v := value.FromInt64(int64(i * j))
			if j%2 == 1 {
				v = value.FromFloat64(float64(i) / 7)
			}
			recs[i] = rec{Entity: fmt.Sprintf("sub_%d", i), Value: v, Timestamp: now.Add(-time.Duration(i) * time.Minute)}
		}
		write(b, on, name, recs...)
	}
	return newHandler(b, p, reg, on), names
}

// benchEntityKeys spreads n keys over the preloaded entities.
func benchEntityKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("sub_%d", (i*7919)%benchEntities)
	}
	return keys
}

// BenchmarkOnlineFeatures measures POST /v1/online-features end to end: a
// client on a loopback connection, the HTTP handler, serving and onlinekv.
func BenchmarkOnlineFeatures(b *testing.B) {
	f, names := newBenchFixture(b)
	srv := httptest.NewServer(f.handler)
	defer srv.Close()
	client := srv.Client()
	for _, shape := range benchShapes {
		b.Run(fmt.Sprintf("%dx%d", shape.entities, shape.features), func(b *testing.B) {
			body, err := json.Marshal(map[string]any{"features": names[:shape.features], "entities": benchEntityKeys(shape.entities)})
			if err != nil {
				b.Fatal(err)
			}
			// Check the answer once, outside the timed loop.
			var check struct {
				Results []struct{ Statuses []string } `json:"results"`
			}
			resp, err := client.Post(srv.URL+"/v1/online-features", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			err = json.NewDecoder(resp.Body).Decode(&check)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || len(check.Results) != shape.entities || check.Results[0].Statuses[0] != "found" {
				b.Fatalf("status %d, %d results, decode error %v: the fixture does not serve the request", resp.StatusCode, len(check.Results), err)
			}
			var respBytes int64
			for b.Loop() {
				resp, err := client.Post(srv.URL+"/v1/online-features", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d, read error %v", resp.StatusCode, err)
				}
				respBytes = n
			}
			b.ReportMetric(float64(respBytes), "resp_bytes")
		})
	}
}

// BenchmarkServing measures serving.Service.OnlineFeatures without HTTP:
// registry lookups (cached after the first call), the store read and max age,
// on onlinekv and on Redis with its read cache on and off. Each response is
// released, as the HTTP handler does.
func BenchmarkServing(b *testing.B) {
	stores := []struct {
		name    string
		fixture func(*testing.B) (fixture, []string)
	}{
		{"onlinekv", newBenchFixture},
		{"redis-cached", func(b *testing.B) (fixture, []string) { return newRedisBenchFixture(b, true) }},
		{"redis", func(b *testing.B) (fixture, []string) { return newRedisBenchFixture(b, false) }},
	}
	for _, store := range stores {
		b.Run(store.name, func(b *testing.B) {
			f, names := store.fixture(b)
			for _, shape := range benchShapes {
				b.Run(fmt.Sprintf("%dx%d", shape.entities, shape.features), func(b *testing.B) {
					req := &serving.Request{Features: names[:shape.features], Entities: benchEntityKeys(shape.entities)}
					b.ReportAllocs()
					for b.Loop() {
						resp, err := f.service.OnlineFeatures(b.Context(), req)
						if err != nil {
							b.Fatal(err)
						}
						if resp.Rows[0].Statuses[0] != serving.Found {
							b.Fatalf("status %s, want found", resp.Rows[0].Statuses[0])
						}
						resp.Release()
					}
				})
			}
		})
	}
}

// BenchmarkOnlineStoreRead is the floor under BenchmarkOnlineFeatures: the
// same shapes read directly from onlinekv.
func BenchmarkOnlineStoreRead(b *testing.B) {
	f, names := newBenchFixture(b)
	for _, shape := range benchShapes {
		b.Run(fmt.Sprintf("%dx%d", shape.entities, shape.features), func(b *testing.B) {
			p := &online.ReadParams{Features: names[:shape.features], Entities: benchEntityKeys(shape.entities)}
			for b.Loop() {
				res, err := f.online.Read(b.Context(), p)
				if err != nil {
					b.Fatal(err)
				}
				if !res.Entries[0][0].Found {
					b.Fatal("entry not found: the fixture is not loaded")
				}
			}
		})
	}
}
