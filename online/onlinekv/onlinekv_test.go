package onlinekv_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/online/onlinekv"
	"github.com/slipway-ml/slipway/online/onlinetest"
	"github.com/slipway-ml/slipway/value"
)

func newStore(tb testing.TB) *onlinekv.Store {
	tb.Helper()
	s, err := onlinekv.New(tb.Context(), onlinekv.Config{Path: filepath.Join(tb.TempDir(), "online", "online.db")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	onlinetest.Exercise(t, func(t *testing.T) online.Store { return newStore(t) })
}

func TestConfigValidate(t *testing.T) {
	if _, err := onlinekv.New(t.Context(), onlinekv.Config{}); err == nil || !strings.Contains(err.Error(), "path is empty") {
		t.Fatalf("New with empty path = %v, want a path error", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "online.db")
	s, err := onlinekv.New(t.Context(), onlinekv.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2024, 11, 28, 9, 0, 0, 0, time.UTC)
	if err := s.Write(t.Context(), &online.WriteParams{
		Features: []string{"opens_30d:default"},
		Records:  []online.Record{{Entity: "sub-1", Values: []value.Value{value.FromInt64(4)}, Timestamp: ts}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = onlinekv.New(t.Context(), onlinekv.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Read(t.Context(), &online.ReadParams{Features: []string{"opens_30d:default"}, Entities: []string{"sub-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Entries[0][0]; !e.Found || e.Value.Int64() != 4 || !e.Timestamp.Equal(ts) {
		t.Fatalf("after reopen: %+v", e)
	}
}

func TestCorruptEntryIsReported(t *testing.T) {
	// Bytes the entry encoding did not write must fail loudly, not read as missing.
	path := filepath.Join(t.TempDir(), "online.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("f:default"))
		if err != nil {
			return err
		}
		return b.Put([]byte("e"), []byte{0x00, 0x7f})
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := onlinekv.New(t.Context(), onlinekv.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Read(t.Context(), &online.ReadParams{Features: []string{"f:default"}, Entities: []string{"e"}})
	if !errors.Is(err, online.ErrCorruptEntry) {
		t.Errorf("Read of a corrupt entry = %v, want ErrCorruptEntry", err)
	}
	err = s.Write(t.Context(), &online.WriteParams{Features: []string{"f:default"}, Records: []online.Record{{Entity: "e", Values: []value.Value{value.FromInt64(1)}}}})
	if !errors.Is(err, online.ErrCorruptEntry) {
		t.Errorf("Write over a corrupt entry = %v, want ErrCorruptEntry", err)
	}
}

func TestSecondOpenFailsWhileLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "online.db")
	s, err := onlinekv.New(t.Context(), onlinekv.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// bbolt locks the file with flock, which also excludes a second open in the same process.
	if _, err := onlinekv.New(t.Context(), onlinekv.Config{Path: path}); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("second New on an open file = %v, want a locked error", err)
	}
}

func BenchmarkRead(b *testing.B) {
	for _, entities := range []int{1, 100} {
		b.Run(fmt.Sprintf("entities=%d/features=20", entities), func(b *testing.B) {
			s := newStore(b)
			const population = 10_000
			features := make([]string, 20)
			for j := range features {
				features[j] = fmt.Sprintf("feature_%02d:default", j)
			}
			recs := make([]online.Record, population)
			for i := range recs {
				recs[i] = online.Record{Entity: fmt.Sprintf("subscriber-%06d", i), Values: slices.Repeat([]value.Value{value.FromFloat64(float64(i) / 3)}, len(features)), Timestamp: time.Unix(1_700_000_000+int64(i), 0)}
			}
			if err := s.Write(b.Context(), &online.WriteParams{Features: features, Records: recs}); err != nil {
				b.Fatal(err)
			}
			keys := make([]string, entities)
			for i := range keys {
				keys[i] = fmt.Sprintf("subscriber-%06d", (i*7919)%population)
			}
			p := &online.ReadParams{Features: features, Entities: keys}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res, err := s.Read(b.Context(), p)
				if err != nil {
					b.Fatal(err)
				}
				if !res.Entries[0][0].Found {
					b.Fatal("entry missing")
				}
			}
			b.ReportMetric(float64(b.N*entities*len(features))/b.Elapsed().Seconds(), "values/s")
		})
	}
}

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
		b.Run(fmt.Sprintf("entities=%d/features=%d", batch, nf), func(b *testing.B) {
			s := newStore(b)
			features := make([]string, nf)
			for j := range features {
				features[j] = fmt.Sprintf("feature_%02d:default", j)
			}
			recs := make([]online.Record, batch)
			for i := range recs {
				recs[i].Values = make([]value.Value, nf)
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for i := range recs {
					recs[i].Entity = names[(n*batch+i)%population]
					recs[i].Timestamp = time.Unix(1_700_000_000+int64(n), 0)
					for j := range recs[i].Values {
						recs[i].Values[j] = value.FromInt64(int64(n + j))
					}
				}
				if err := s.Write(b.Context(), &online.WriteParams{Features: features, Records: recs}); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n*batch*nf)/b.Elapsed().Seconds(), "values/s")
		})
	}
}
