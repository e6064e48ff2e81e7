package onlineredis_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/online/onlineredis"
	"github.com/slipway-ml/slipway/value"
)

// The benchmarks run against the single node (SLIPWAY_TEST_REDIS) and put
// each operation through the store next to the same work done with raw
// go-redis commands, the floor the store's overhead is measured against.

func BenchmarkRead(b *testing.B) {
	cfg := singleConfig(b)
	s := newStore(b, cfg)
	c := onlineredis.ClientOf(s)
	const population = 10_000
	fs := features(20)
	recs := make([]online.Record, population)
	for i := range recs {
		recs[i] = online.Record{Entity: fmt.Sprintf("subscriber-%06d", i), Values: slices.Repeat([]value.Value{value.FromFloat64(float64(i) / 3)}, len(fs)), Timestamp: time.Unix(1_700_000_000+int64(i), 0)}
	}
	if err := s.Write(b.Context(), &online.WriteParams{Features: fs, Records: recs}); err != nil {
		b.Fatal(err)
	}
	nc := cfg
	nc.DisableCache = true
	uncached := newStore(b, nc)
	for _, n := range []int{1, 100} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("subscriber-%06d", (i*7919)%population)
		}
		name := fmt.Sprintf("entities=%d/features=20", n)
		// -buffer: the entries' memory reused from call to call, as serving does.
		for _, store := range []struct {
			name   string
			s      *onlineredis.Store
			buffer bool
		}{{"store-cached", s, false}, {"store-cached-buffer", s, true}, {"store", uncached, false}, {"store-buffer", uncached, true}} {
			b.Run(name+"/"+store.name, func(b *testing.B) {
				p := &online.ReadParams{Features: fs, Entities: keys}
				if store.buffer {
					p.Buffer = make([]online.Entry, n*len(fs))
				}
				b.ReportAllocs()
				for b.Loop() {
					res, err := store.s.Read(b.Context(), p)
					if err != nil {
						b.Fatal(err)
					}
					if !res.Entries[0][0].Found {
						b.Fatal("entry missing")
					}
				}
				b.ReportMetric(float64(b.N*n*len(fs))/b.Elapsed().Seconds(), "values/s")
			})
		}
		b.Run(name+"/raw-hmget", func(b *testing.B) {
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if n == 1 {
					if err := c.HMGet(ctx, cfg.KeyPrefix+keys[0], fs...).Err(); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if _, err := c.Pipelined(ctx, func(pipe redis.Pipeliner) error {
					for _, k := range keys {
						pipe.HMGet(ctx, cfg.KeyPrefix+k, fs...)
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n*len(fs))/b.Elapsed().Seconds(), "values/s")
		})
	}
}

// BenchmarkWrite writes batches of 1000 entities × F features, each batch
// newer than the last so every field is updated, and reports values/s
// (entities × features). raw-hset is one pipelined HSET of the same F
// encoded fields per entity, without the newer-wins check: the floor.
func BenchmarkWrite(b *testing.B) {
	const (
		batch      = 1000
		population = 200_000
	)
	names := make([]string, population)
	for i := range names {
		names[i] = fmt.Sprintf("subscriber-%07d", i)
	}
	for _, nf := range []int{1, 20} {
		fs := features(nf)
		recs := make([]online.Record, batch)
		for i := range recs {
			recs[i].Values = make([]value.Value, nf)
		}
		fill := func(n int) {
			for i := range recs {
				recs[i].Entity = names[(n*batch+i)%population]
				recs[i].Timestamp = time.Unix(1_700_000_000+int64(n), 0)
				for j := range recs[i].Values {
					recs[i].Values[j] = value.FromInt64(int64(n + j))
				}
			}
		}
		name := fmt.Sprintf("entities=%d/features=%d", batch, nf)
		b.Run(name+"/store", func(b *testing.B) {
			s := newStore(b, singleConfig(b))
			p := &online.WriteParams{Features: fs, Records: recs}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				fill(n)
				if err := s.Write(b.Context(), p); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n*batch*nf)/b.Elapsed().Seconds(), "values/s")
		})
		b.Run(name+"/raw-hset", func(b *testing.B) {
			cfg := singleConfig(b)
			s := newStore(b, cfg)
			c := onlineredis.ClientOf(s)
			ctx := b.Context()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				fill(n)
				if _, err := c.Pipelined(ctx, func(pipe redis.Pipeliner) error {
					for _, r := range recs {
						ts := onlineredis.EncodeTime(r.Timestamp)
						args := make([]any, 0, 2*nf)
						for j, v := range r.Values {
							args = append(args, fs[j], onlineredis.AppendEntry(nil, v, ts))
						}
						pipe.HSet(ctx, cfg.KeyPrefix+r.Entity, args...)
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n*batch*nf)/b.Elapsed().Seconds(), "values/s")
		})
	}
}

// BenchmarkMemoryPerValue stores 100k entities × 5 int64 features and reports
// the growth of the server's used_memory per stored value: through the store
// (one hash per entity) and, for comparison, as one string key per
// (feature, entity). The time per op is meaningless; the numbers are only
// reliable when nothing else writes to the server meanwhile.
func BenchmarkMemoryPerValue(b *testing.B) {
	const (
		population = 100_000
		nFeatures  = 5
		values     = population * nFeatures
	)
	fs := features(nFeatures)
	ts := time.Date(2024, 11, 28, 9, 0, 0, 0, time.UTC)
	entry := func(i, j int) (string, value.Value, time.Time) {
		return fmt.Sprintf("subscriber-%07d", i), value.FromInt64(int64(i * j)), ts.Add(time.Duration(i) * time.Second)
	}
	b.Run("layout=hash-per-entity", func(b *testing.B) {
		s := newStore(b, singleConfig(b))
		c := onlineredis.ClientOf(s)
		before := usedMemory(b, c)
		recs := make([]online.Record, population)
		for i := range recs {
			recs[i].Values = make([]value.Value, nFeatures)
			for j := range fs {
				recs[i].Entity, recs[i].Values[j], recs[i].Timestamp = entry(i, j)
			}
		}
		if err := s.Write(b.Context(), &online.WriteParams{Features: fs, Records: recs}); err != nil {
			b.Fatal(err)
		}
		perValue := float64(usedMemory(b, c)-before) / values
		for b.Loop() {
		}
		b.ReportMetric(perValue, "bytes/value")
	})
	b.Run("layout=string-per-value", func(b *testing.B) {
		cfg := singleConfig(b)
		s := newStore(b, cfg)
		c := onlineredis.ClientOf(s)
		ctx := b.Context()
		before := usedMemory(b, c)
		for j, f := range fs {
			pipe := c.Pipeline()
			for i := range population {
				e, v, ts := entry(i, j)
				pipe.Set(ctx, cfg.KeyPrefix+f+":"+e, onlineredis.AppendEntry(nil, v, onlineredis.EncodeTime(ts)), 0)
				if pipe.Len() == 10_000 {
					if _, err := pipe.Exec(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
		perValue := float64(usedMemory(b, c)-before) / values
		for b.Loop() {
		}
		b.ReportMetric(perValue, "bytes/value")
	})
}

// BenchmarkCacheMemory measures the Go heap the read cache takes per
// cached entity of 20 float64 features: 10,000 entities read once each.
func BenchmarkCacheMemory(b *testing.B) {
	const population = 10_000
	s := newStore(b, singleConfig(b))
	fs := features(20)
	recs := make([]online.Record, population)
	es := make([]string, population)
	for i := range recs {
		es[i] = fmt.Sprintf("subscriber-%06d", i)
		recs[i] = online.Record{Entity: es[i], Values: slices.Repeat([]value.Value{value.FromFloat64(float64(i) / 3)}, len(fs)), Timestamp: time.Unix(1_700_000_000+int64(i), 0)}
	}
	if err := s.Write(b.Context(), &online.WriteParams{Features: fs, Records: recs}); err != nil {
		b.Fatal(err)
	}
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	for i := range es {
		if _, err := s.Read(b.Context(), &online.ReadParams{Features: fs, Entities: es[i : i+1]}); err != nil {
			b.Fatal(err)
		}
	}
	perEntity := float64(heap()-before) / population
	for b.Loop() {
	}
	b.ReportMetric(perEntity, "bytes/entity")
}

func usedMemory(b *testing.B, c redis.UniversalClient) int64 {
	b.Helper()
	info, err := c.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("INFO memory has no used_memory")
	return 0
}
