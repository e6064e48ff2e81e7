// Package onlinetest is the conformance suite every online.Store
// implementation runs: call Exercise from the implementation's tests.
package onlinetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/value"
)

// Exercise runs every online store behaviour as a named subtest.
// newStore must return a new, empty store isolated from every other store it
// returned (own file, database or key prefix), closed by t.Cleanup.
func Exercise(t *testing.T, newStore func(t *testing.T) online.Store) {
	t.Helper()
	cases := []struct {
		name string
		fn   func(t *testing.T, s online.Store)
	}{
		{"Write/ReadBack", testReadBack},
		{"Write/NewerWins", testNewerWins},
		{"Write/NewerWinsWithinBatch", testNewerWinsWithinBatch},
		{"Write/StaticFeature", testStaticFeature},
		{"Write/ManyRecordsBatch", testManyRecordsBatch},
		{"Write/EmptyBatch", testEmptyBatch},
		{"Write/ContextCancelled", testWriteContextCancelled},
		{"Write/SeveralFeaturesAtOnce", testSeveralFeaturesAtOnce},
		{"Write/NewerWinsPerFeature", testNewerWinsPerFeature},
		{"Write/ValuesShorterThanFeatures", testValuesShorterThanFeatures},
		{"Write/DuplicateFeatureInWrite", testDuplicateFeatureInWrite},
		{"Write/EmptyEntityIsAnError", testEmptyEntity},
		{"Write/FutureValueReplacedAsOf", testFutureValueReplaced},
		{"Write/RecordAfterAsOf", testRecordAfterAsOf},
		{"Read/MissingKeyIsNotAnError", testMissingKey},
		{"Read/BatchShape", testBatchShape},
		{"Read/DirtyBuffer", testDirtyBuffer},
		{"Read/FeaturesAreIsolated", testFeaturesAreIsolated},
		{"Read/EmptyRequest", testEmptyRequest},
		{"Read/ContextCancelled", testReadContextCancelled},
		{"Concurrent", testConcurrent},
		{"DeleteFeatures/OnlyThoseFeatures", testDeleteFeatures},
		{"DeleteFeatures/ManyEntities", testDeleteFeaturesManyEntities},
		{"DeleteFeatures/NeverWrittenIsNoError", testDeleteFeaturesNeverWritten},
		{"DeleteFeatures/Invalid", testDeleteFeaturesInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, newStore(t))
		})
	}
}

var t0 = time.Date(2024, 11, 28, 9, 0, 0, 0, time.UTC)

// write writes records of one feature.
func write(t *testing.T, s online.Store, feature string, recs ...online.Record) {
	t.Helper()
	writeMany(t, s, []string{feature}, recs...)
}

// writeMany writes records of several features at once.
func writeMany(t *testing.T, s online.Store, features []string, recs ...online.Record) {
	t.Helper()
	if err := s.Write(t.Context(), &online.WriteParams{Features: features, Records: recs}); err != nil {
		t.Fatalf("Write %v: %v", features, err)
	}
}

// rec builds a record with one value per feature of the write.
func rec(entity string, ts time.Time, vs ...value.Value) online.Record {
	return online.Record{Entity: entity, Values: vs, Timestamp: ts}
}

func read(t *testing.T, s online.Store, features, entities []string) [][]online.Entry {
	t.Helper()
	res, err := s.Read(t.Context(), &online.ReadParams{Features: features, Entities: entities})
	if err != nil {
		t.Fatalf("Read %v × %v: %v", entities, features, err)
	}
	if len(res.Entries) != len(entities) {
		t.Fatalf("Read returned %d entity rows, want %d", len(res.Entries), len(entities))
	}
	for i, row := range res.Entries {
		if len(row) != len(features) {
			t.Fatalf("Read row %d has %d entries, want %d", i, len(row), len(features))
		}
	}
	return res.Entries
}

func readOne(t *testing.T, s online.Store, feature, entity string) online.Entry {
	t.Helper()
	return read(t, s, []string{feature}, []string{entity})[0][0]
}

// checkEntry compares an entry with an expected value and timestamp; stores
// keep timestamps at microsecond precision and return them in UTC.
func checkEntry(t *testing.T, what string, got online.Entry, v value.Value, ts time.Time) {
	t.Helper()
	if !got.Found {
		t.Errorf("%s: not found, want %v", what, v)
		return
	}
	if !got.Value.Equal(v) {
		t.Errorf("%s: value %v (%s), want %v (%s)", what, got.Value, got.Value.Type(), v, v.Type())
	}
	want := ts.Truncate(time.Microsecond)
	if !got.Timestamp.Equal(want) || got.Timestamp.IsZero() != want.IsZero() {
		t.Errorf("%s: timestamp %v, want %v", what, got.Timestamp, want)
	}
	if !got.Timestamp.IsZero() && got.Timestamp.Location() != time.UTC {
		t.Errorf("%s: timestamp location %v, want UTC", what, got.Timestamp.Location())
	}
}

func checkMissing(t *testing.T, what string, got online.Entry) {
	t.Helper()
	if got.Found {
		t.Errorf("%s: found %v at %v, want not found", what, got.Value, got.Timestamp)
	}
}

func testReadBack(t *testing.T, s online.Store) {
	recs := []online.Record{
		{Entity: "null", Values: []value.Value{value.NullValue()}, Timestamp: t0},
		{Entity: "int", Values: []value.Value{value.FromInt64(42)}, Timestamp: t0},
		{Entity: "int-min", Values: []value.Value{value.FromInt64(math.MinInt64)}, Timestamp: t0},
		{Entity: "int-max", Values: []value.Value{value.FromInt64(math.MaxInt64)}, Timestamp: t0},
		{Entity: "float", Values: []value.Value{value.FromFloat64(19.99)}, Timestamp: t0},
		{Entity: "float-nan", Values: []value.Value{value.FromFloat64(math.NaN())}, Timestamp: t0},
		{Entity: "float-inf", Values: []value.Value{value.FromFloat64(math.Inf(1))}, Timestamp: t0},
		{Entity: "string", Values: []value.Value{value.FromString("Holiday candles")}, Timestamp: t0},
		{Entity: "string-empty", Values: []value.Value{value.FromString("")}, Timestamp: t0},
		{Entity: "string-unicode", Values: []value.Value{value.FromString("Bougie parfumée 🕯️ — 蝋燭")}, Timestamp: t0},
		{Entity: "bool-true", Values: []value.Value{value.FromBool(true)}, Timestamp: t0},
		{Entity: "bool-false", Values: []value.Value{value.FromBool(false)}, Timestamp: t0},
		{Entity: "timestamp", Values: []value.Value{value.FromTime(time.Date(2024, 12, 24, 18, 30, 0, 123456000, time.UTC))}, Timestamp: t0},
		{Entity: "timestamp-pre-epoch", Values: []value.Value{value.FromTime(time.Date(1960, 1, 1, 0, 0, 0, 1000, time.UTC))}, Timestamp: t0},
		// Record timestamps: microsecond precision survives, sub-microsecond is dropped.
		{Entity: "ts-micro", Values: []value.Value{value.FromInt64(1)}, Timestamp: t0.Add(123456 * time.Microsecond)},
		{Entity: "ts-nano", Values: []value.Value{value.FromInt64(1)}, Timestamp: t0.Add(999 * time.Nanosecond)},
		{Entity: "ts-zone", Values: []value.Value{value.FromInt64(1)}, Timestamp: time.Date(2024, 11, 28, 10, 0, 0, 1000, time.FixedZone("CET", 3600))},
		{Entity: "ts-epoch", Values: []value.Value{value.FromInt64(1)}, Timestamp: time.Unix(0, 0)},
		{Entity: "ts-pre-epoch", Values: []value.Value{value.FromInt64(1)}, Timestamp: time.Date(1950, 6, 1, 0, 0, 0, 0, time.UTC)},
		{Entity: "unicode-ключ-🔑", Values: []value.Value{value.FromInt64(7)}, Timestamp: t0},
	}
	write(t, s, "all_types:v1", recs...)

	entities := make([]string, len(recs))
	for i, r := range recs {
		entities[i] = r.Entity
	}
	got := read(t, s, []string{"all_types:v1"}, entities)
	for i, r := range recs {
		checkEntry(t, r.Entity, got[i][0], r.Values[0], r.Timestamp)
	}
}

func testNewerWins(t *testing.T, s online.Store) {
	const f = "avg_order_value:default"
	write(t, s, f, online.Record{Entity: "sub-1", Values: []value.Value{value.FromFloat64(10)}, Timestamp: t0})

	write(t, s, f, online.Record{Entity: "sub-1", Values: []value.Value{value.FromFloat64(5)}, Timestamp: t0.Add(-time.Hour)})
	checkEntry(t, "after older write", readOne(t, s, f, "sub-1"), value.FromFloat64(10), t0)

	write(t, s, f, online.Record{Entity: "sub-1", Values: []value.Value{value.FromFloat64(11)}, Timestamp: t0})
	checkEntry(t, "after equal-timestamp write", readOne(t, s, f, "sub-1"), value.FromFloat64(11), t0)

	write(t, s, f, online.Record{Entity: "sub-1", Values: []value.Value{value.FromFloat64(12)}, Timestamp: t0.Add(time.Microsecond)})
	checkEntry(t, "after newer write", readOne(t, s, f, "sub-1"), value.FromFloat64(12), t0.Add(time.Microsecond))

	// A null is a value like any other: newer nulls replace, older ones do not.
	write(t, s, f, online.Record{Entity: "sub-1", Values: []value.Value{value.NullValue()}, Timestamp: t0})
	checkEntry(t, "after older null", readOne(t, s, f, "sub-1"), value.FromFloat64(12), t0.Add(time.Microsecond))
	write(t, s, f, online.Record{Entity: "sub-1", Values: []value.Value{value.NullValue()}, Timestamp: t0.Add(time.Hour)})
	checkEntry(t, "after newer null", readOne(t, s, f, "sub-1"), value.NullValue(), t0.Add(time.Hour))

	// Pre-epoch times order correctly too.
	old := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
	write(t, s, f, online.Record{Entity: "sub-2", Values: []value.Value{value.FromInt64(1)}, Timestamp: old})
	write(t, s, f, online.Record{Entity: "sub-2", Values: []value.Value{value.FromInt64(0)}, Timestamp: old.Add(-time.Microsecond)})
	checkEntry(t, "pre-epoch older write", readOne(t, s, f, "sub-2"), value.FromInt64(1), old)
}

func testNewerWinsWithinBatch(t *testing.T, s online.Store) {
	const f = "opens_30d:default"
	write(t, s, f,
		online.Record{Entity: "a", Values: []value.Value{value.FromInt64(2)}, Timestamp: t0.Add(2 * time.Hour)},
		online.Record{Entity: "a", Values: []value.Value{value.FromInt64(1)}, Timestamp: t0.Add(time.Hour)},
		online.Record{Entity: "b", Values: []value.Value{value.FromInt64(1)}, Timestamp: t0},
		online.Record{Entity: "b", Values: []value.Value{value.FromInt64(2)}, Timestamp: t0},
		online.Record{Entity: "c", Values: []value.Value{value.FromInt64(1)}, Timestamp: t0},
		online.Record{Entity: "c", Values: []value.Value{value.FromInt64(3)}, Timestamp: t0.Add(time.Minute)},
	)
	got := read(t, s, []string{f}, []string{"a", "b", "c"})
	checkEntry(t, "a (newer first)", got[0][0], value.FromInt64(2), t0.Add(2*time.Hour))
	checkEntry(t, "b (equal: last wins)", got[1][0], value.FromInt64(2), t0)
	checkEntry(t, "c (newer last)", got[2][0], value.FromInt64(3), t0.Add(time.Minute))
}

func testStaticFeature(t *testing.T, s online.Store) {
	const f = "shop_country:default"
	write(t, s, f, online.Record{Entity: "shop-1", Values: []value.Value{value.FromString("FR")}})
	checkEntry(t, "static", readOne(t, s, f, "shop-1"), value.FromString("FR"), time.Time{})

	// Rewriting a static feature replaces it: equal (zero) timestamps replace.
	write(t, s, f, online.Record{Entity: "shop-1", Values: []value.Value{value.FromString("BE")}})
	checkEntry(t, "static rewritten", readOne(t, s, f, "shop-1"), value.FromString("BE"), time.Time{})

	// The zero time is older than every real time.
	ts := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	write(t, s, f, online.Record{Entity: "shop-1", Values: []value.Value{value.FromString("NL")}, Timestamp: ts})
	checkEntry(t, "timestamped after static", readOne(t, s, f, "shop-1"), value.FromString("NL"), ts)
	write(t, s, f, online.Record{Entity: "shop-1", Values: []value.Value{value.FromString("DE")}})
	checkEntry(t, "static after timestamped", readOne(t, s, f, "shop-1"), value.FromString("NL"), ts)
}

func testManyRecordsBatch(t *testing.T, s online.Store) {
	const (
		f       = "clicks_7d:default"
		n       = 10_000
		batches = 4
	)
	for b := range batches {
		recs := make([]online.Record, 0, n/batches)
		for i := b * n / batches; i < (b+1)*n/batches; i++ {
			recs = append(recs, online.Record{
				Entity:    fmt.Sprintf("subscriber-%05d", i),
				Values:    []value.Value{value.FromInt64(int64(i * 3))},
				Timestamp: t0.Add(time.Duration(i) * time.Second),
			})
		}
		write(t, s, f, recs...)
	}
	entities := make([]string, n)
	for i := range entities {
		entities[i] = fmt.Sprintf("subscriber-%05d", i)
	}
	got := read(t, s, []string{f}, entities)
	bad := 0
	for i := range n {
		e := got[i][0]
		if !e.Found || e.Value.Int64() != int64(i*3) || !e.Timestamp.Equal(t0.Add(time.Duration(i)*time.Second)) {
			if bad++; bad <= 5 {
				t.Errorf("%s: got %+v, want %d at %v", entities[i], e, i*3, t0.Add(time.Duration(i)*time.Second))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d records wrong", bad, n)
	}
}

func testEmptyBatch(t *testing.T, s online.Store) {
	if err := s.Write(t.Context(), &online.WriteParams{Features: []string{"empty:default"}}); err != nil {
		t.Fatalf("Write with no records: %v", err)
	}
	if err := s.Write(t.Context(), &online.WriteParams{Features: []string{"empty:default", "empty:v2"}, Records: []online.Record{}}); err != nil {
		t.Fatalf("Write of two features with no records: %v", err)
	}
	checkMissing(t, "after empty write", readOne(t, s, "empty:default", "x"))
}

func testWriteContextCancelled(t *testing.T, s online.Store) {
	cctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Write(cctx, &online.WriteParams{
		Features: []string{"opens_30d:default", "clicks_30d:default"},
		Records:  []online.Record{rec("sub-1", t0, value.FromInt64(1), value.FromInt64(2))},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with cancelled context = %v, want an error wrapping context.Canceled", err)
	}
	got := read(t, s, []string{"opens_30d:default", "clicks_30d:default"}, []string{"sub-1"})
	checkMissing(t, "opens after cancelled write", got[0][0])
	checkMissing(t, "clicks after cancelled write", got[0][1])
}

func testSeveralFeaturesAtOnce(t *testing.T, s online.Store) {
	features := []string{"opens_30d:default", "country:v2", "aov:default"}
	// Per entity: an int, a string and a float, or a null; one entity is static.
	val := func(i, j int) value.Value {
		switch {
		case i == 3 && j == 2:
			return value.NullValue()
		case j == 0:
			return value.FromInt64(int64(i))
		case j == 1:
			return value.FromString(fmt.Sprintf("country-%d", i))
		}
		return value.FromFloat64(float64(i) + 0.5)
	}
	ts := func(i int) time.Time {
		if i == 4 {
			return time.Time{}
		}
		return t0.Add(time.Duration(i) * time.Minute)
	}
	entities := []string{"e0", "e1", "e2", "e3", "e4"}
	recs := make([]online.Record, len(entities))
	for i, e := range entities {
		recs[i] = rec(e, ts(i), val(i, 0), val(i, 1), val(i, 2))
	}
	writeMany(t, s, features, recs...)

	got := read(t, s, features, entities)
	for i, e := range entities {
		for j, f := range features {
			checkEntry(t, e+" "+f, got[i][j], val(i, j), ts(i))
		}
	}
	// Any order and any subset of the features, mixed with one never written.
	got = read(t, s, []string{"aov:default", "never_written:default", "opens_30d:default"}, []string{"e3", "e1"})
	checkEntry(t, "e3 aov (reordered)", got[0][0], val(3, 2), ts(3))
	checkMissing(t, "e3 never_written", got[0][1])
	checkEntry(t, "e3 opens (reordered)", got[0][2], val(3, 0), ts(3))
	checkEntry(t, "e1 aov (reordered)", got[1][0], val(1, 2), ts(1))
	checkEntry(t, "e1 opens (reordered)", got[1][2], val(1, 0), ts(1))
	checkEntry(t, "e2 country alone", readOne(t, s, "country:v2", "e2"), val(2, 1), ts(2))
}

func testNewerWinsPerFeature(t *testing.T, s online.Store) {
	const a, b = "opens_30d:default", "clicks_30d:default"
	t1, t2 := t0, t0.Add(time.Hour)
	write(t, s, a, rec("sub-1", t2, value.FromInt64(2)))

	// A multi-feature write at t1: older than a's stored entry, newer than b's
	// (missing) one. Each feature is decided on its own.
	writeMany(t, s, []string{a, b}, rec("sub-1", t1, value.FromInt64(1), value.FromInt64(10)))
	got := read(t, s, []string{a, b}, []string{"sub-1"})
	checkEntry(t, "a keeps its newer value", got[0][0], value.FromInt64(2), t2)
	checkEntry(t, "b takes the older write", got[0][1], value.FromInt64(10), t1)

	// Equal timestamps replace per feature, whatever the order of the features.
	writeMany(t, s, []string{b, a}, rec("sub-1", t2, value.FromInt64(20), value.FromInt64(3)))
	got = read(t, s, []string{a, b}, []string{"sub-1"})
	checkEntry(t, "a after equal write", got[0][0], value.FromInt64(3), t2)
	checkEntry(t, "b after newer write", got[0][1], value.FromInt64(20), t2)

	// Within one batch, duplicates of an entity follow newer-wins for every feature.
	writeMany(t, s, []string{a, b},
		rec("sub-2", t2, value.FromInt64(2), value.FromInt64(20)),
		rec("sub-2", t1, value.FromInt64(1), value.FromInt64(10)),
	)
	got = read(t, s, []string{a, b}, []string{"sub-2"})
	checkEntry(t, "sub-2 a", got[0][0], value.FromInt64(2), t2)
	checkEntry(t, "sub-2 b", got[0][1], value.FromInt64(20), t2)
}

func testValuesShorterThanFeatures(t *testing.T, s online.Store) {
	features := []string{"opens_30d:default", "clicks_30d:default"}
	// Enough good records before the bad one to span several internal batches.
	const n = 5000
	entities := make([]string, n)
	for i := range entities {
		entities[i] = fmt.Sprintf("sub-%04d", i)
	}
	good := func() []online.Record {
		recs := make([]online.Record, n)
		for i, e := range entities {
			recs[i] = rec(e, t0, value.FromInt64(int64(i)), value.FromInt64(int64(-i)))
		}
		return recs
	}
	for _, c := range []struct {
		name     string
		features []string
		bad      online.Record
	}{
		{"shorter", features, rec("bad", t0, value.FromInt64(1))},
		{"no values", features, rec("bad", t0)},
		{"longer", features, rec("bad", t0, value.FromInt64(1), value.FromInt64(2), value.FromInt64(3))},
		{"no features", nil, rec("bad", t0, value.FromInt64(1))},
	} {
		recs := append(good(), c.bad)
		if err := s.Write(t.Context(), &online.WriteParams{Features: c.features, Records: recs}); err == nil {
			t.Errorf("%s: Write of a record with %d values for %d features succeeded, want an error", c.name, len(c.bad.Values), len(c.features))
		}
		got := read(t, s, features, append(entities, "bad"))
		found := 0
		for i := range got {
			for j := range got[i] {
				if got[i][j].Found {
					found++
				}
			}
		}
		if found > 0 {
			t.Errorf("%s: the failed Write left %d values behind, want none", c.name, found)
		}
	}
}

func testDuplicateFeatureInWrite(t *testing.T, s online.Store) {
	const a, b = "opens_30d:default", "clicks_30d:default"
	err := s.Write(t.Context(), &online.WriteParams{
		Features: []string{a, b, a},
		Records:  []online.Record{rec("sub-1", t0, value.FromInt64(1), value.FromInt64(2), value.FromInt64(3))},
	})
	if err == nil {
		t.Fatal("Write naming a feature twice succeeded, want an error")
	}
	got := read(t, s, []string{a, b}, []string{"sub-1"})
	checkMissing(t, "a after the failed write", got[0][0])
	checkMissing(t, "b after the failed write", got[0][1])
}

// testEmptyEntity writes a batch with an empty entity key: an error saying
// so, and nothing of the batch written (not even the valid record before it).
func testEmptyEntity(t *testing.T, s online.Store) {
	const f = "opens_30d:default"
	err := s.Write(t.Context(), &online.WriteParams{
		Features: []string{f},
		Records:  []online.Record{rec("sub-1", t0, value.FromInt64(1)), rec("", t0, value.FromInt64(2))},
	})
	if err == nil || !strings.Contains(err.Error(), "entity is empty") {
		t.Fatalf("Write with an empty entity = %v, want an error saying the entity is empty", err)
	}
	checkMissing(t, "the valid record of the failed batch", readOne(t, s, f, "sub-1"))
}

func testReadContextCancelled(t *testing.T, s online.Store) {
	write(t, s, "opens_30d:default", online.Record{Entity: "sub-1", Values: []value.Value{value.FromInt64(1)}, Timestamp: t0})
	cctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Read(cctx, &online.ReadParams{Features: []string{"opens_30d:default"}, Entities: []string{"sub-1"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with cancelled context = %v, want an error wrapping context.Canceled", err)
	}
}

func testMissingKey(t *testing.T, s online.Store) {
	write(t, s, "opens_30d:default", online.Record{Entity: "sub-1", Values: []value.Value{value.FromInt64(3)}, Timestamp: t0})
	got := read(t, s, []string{"opens_30d:default", "never_written:default"}, []string{"sub-1", "sub-unknown"})
	checkEntry(t, "sub-1 opens", got[0][0], value.FromInt64(3), t0)
	checkMissing(t, "sub-1 never_written", got[0][1])
	checkMissing(t, "sub-unknown opens", got[1][0])
	checkMissing(t, "sub-unknown never_written", got[1][1])

	// A stored null is found; a missing key is not.
	write(t, s, "opens_30d:default", online.Record{Entity: "sub-null", Values: []value.Value{value.NullValue()}, Timestamp: t0})
	checkEntry(t, "stored null", readOne(t, s, "opens_30d:default", "sub-null"), value.NullValue(), t0)
}

// testDirtyBuffer passes a buffer full of another read's entries: whether
// the store uses it or not, a missing value is not found and a found one is
// what was written, in both the buffer's size and a smaller read.
func testDirtyBuffer(t *testing.T, s online.Store) {
	write(t, s, "opens_30d:default", rec("sub-1", t0, value.FromInt64(3)))
	write(t, s, "clicks_30d:default", rec("sub-2", t0.Add(time.Minute), value.FromString("two")))
	features := []string{"opens_30d:default", "clicks_30d:default"}
	for _, n := range []int{4, 5} { // exactly the size, and room to spare
		buf := make([]online.Entry, n)
		for k := range buf {
			buf[k] = online.Entry{Found: true, Value: value.FromString("stale"), Timestamp: t0.Add(time.Hour)}
		}
		res, err := s.Read(t.Context(), &online.ReadParams{Features: features, Entities: []string{"sub-1", "sub-2"}, Buffer: buf})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Entries) != 2 || len(res.Entries[0]) != 2 || len(res.Entries[1]) != 2 {
			t.Fatalf("buffer of %d: Read returned %d rows, want 2 × 2", n, len(res.Entries))
		}
		checkEntry(t, "sub-1 opens", res.Entries[0][0], value.FromInt64(3), t0)
		checkMissing(t, "sub-1 clicks", res.Entries[0][1])
		checkMissing(t, "sub-2 opens", res.Entries[1][0])
		checkEntry(t, "sub-2 clicks", res.Entries[1][1], value.FromString("two"), t0.Add(time.Minute))
		// A row never reaches into the next one.
		if r := res.Entries[0]; cap(r) != len(r) {
			t.Errorf("buffer of %d: row 0 has capacity %d, want %d: appending to it would overwrite row 1", n, cap(r), len(r))
		}
	}
}

func testBatchShape(t *testing.T, s online.Store) {
	features := []string{"f0:default", "f1:default", "f2:v2"}
	entities := []string{"e0", "e1", "e2", "e3"}
	// One Write per feature; entity e3 is missing from f1, and f2 holds strings.
	val := func(i, j int) value.Value {
		if j == 2 {
			return value.FromString(fmt.Sprintf("%s/%s", entities[i], features[j]))
		}
		return value.FromInt64(int64(100*i + j))
	}
	for j, f := range features {
		var recs []online.Record
		for i, e := range entities {
			if j == 1 && i == 3 {
				continue
			}
			recs = append(recs, online.Record{Entity: e, Values: []value.Value{val(i, j)}, Timestamp: t0.Add(time.Duration(10*i+j) * time.Minute)})
		}
		write(t, s, f, recs...)
	}
	got := read(t, s, features, entities)
	for i := range entities {
		for j := range features {
			what := fmt.Sprintf("Entries[%d][%d] (%s, %s)", i, j, entities[i], features[j])
			if j == 1 && i == 3 {
				checkMissing(t, what, got[i][j])
				continue
			}
			checkEntry(t, what, got[i][j], val(i, j), t0.Add(time.Duration(10*i+j)*time.Minute))
		}
	}

	// Reordered and repeated keys follow the request, not storage order.
	got = read(t, s, []string{"f2:v2", "f0:default", "f2:v2"}, []string{"e2", "e0", "e2"})
	checkEntry(t, "reordered [0][0]", got[0][0], val(2, 2), t0.Add(22*time.Minute))
	checkEntry(t, "reordered [0][1]", got[0][1], val(2, 0), t0.Add(20*time.Minute))
	checkEntry(t, "reordered [1][1]", got[1][1], val(0, 0), t0)
	checkEntry(t, "reordered [2][2]", got[2][2], val(2, 2), t0.Add(22*time.Minute))
}

func testFeaturesAreIsolated(t *testing.T, s online.Store) {
	write(t, s, "opens_30d:default", online.Record{Entity: "sub-1", Values: []value.Value{value.FromInt64(7)}, Timestamp: t0})
	write(t, s, "opens_30d:v2", online.Record{Entity: "sub-1", Values: []value.Value{value.FromString("seven")}, Timestamp: t0.Add(-time.Hour)})
	write(t, s, "clicks_30d:default", online.Record{Entity: "sub-1", Values: []value.Value{value.FromFloat64(0.5)}, Timestamp: t0.Add(time.Hour)})

	got := read(t, s, []string{"opens_30d:default", "opens_30d:v2", "clicks_30d:default"}, []string{"sub-1"})
	// The older write to opens_30d:v2 must not be dropped by the newer entry of another feature.
	checkEntry(t, "opens_30d:default", got[0][0], value.FromInt64(7), t0)
	checkEntry(t, "opens_30d:v2", got[0][1], value.FromString("seven"), t0.Add(-time.Hour))
	checkEntry(t, "clicks_30d:default", got[0][2], value.FromFloat64(0.5), t0.Add(time.Hour))
}

func testEmptyRequest(t *testing.T, s online.Store) {
	write(t, s, "opens_30d:default", online.Record{Entity: "sub-1", Values: []value.Value{value.FromInt64(1)}, Timestamp: t0})
	if got := read(t, s, nil, nil); len(got) != 0 {
		t.Errorf("no features, no entities: %d rows, want 0", len(got))
	}
	if got := read(t, s, []string{"opens_30d:default"}, nil); len(got) != 0 {
		t.Errorf("no entities: %d rows, want 0", len(got))
	}
	read(t, s, nil, []string{"sub-1", "sub-2"}) // checks two rows of zero entries
}

func testConcurrent(t *testing.T, s online.Store) {
	const (
		writers  = 4
		readers  = 4
		rounds   = 20
		entities = 50
	)
	features := []string{"shared:default", "own-0:default", "own-1:default", "own-2:default", "own-3:default"}
	keys := make([]string, entities)
	for i := range keys {
		keys[i] = fmt.Sprintf("sub-%02d", i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				// Writers race on "shared" with distinct timestamps; the largest
				// (round rounds-1, writer writers-1) must win whatever the interleaving.
				// Even rounds write both features in one Write, odd rounds one Write each.
				ts := t0.Add(time.Duration(r*writers+w) * time.Second)
				v := value.FromInt64(int64(r*writers + w))
				writes := [][]string{{"shared:default", features[1+w]}}
				if r%2 == 1 {
					writes = [][]string{{"shared:default"}, {features[1+w]}}
				}
				for _, fs := range writes {
					recs := make([]online.Record, entities)
					for i, k := range keys {
						recs[i] = online.Record{Entity: k, Values: slices.Repeat([]value.Value{v}, len(fs)), Timestamp: ts}
					}
					if err := s.Write(t.Context(), &online.WriteParams{Features: fs, Records: recs}); err != nil {
						errs <- fmt.Errorf("writer %d: %w", w, err)
						return
					}
				}
			}
		})
	}
	for r := range readers {
		wg.Go(func() {
			for range rounds {
				res, err := s.Read(t.Context(), &online.ReadParams{Features: features, Entities: keys})
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
				for i, row := range res.Entries {
					for j, e := range row {
						// A value is always the one written with its timestamp.
						if e.Found && !e.Timestamp.Equal(t0.Add(time.Duration(e.Value.Int64())*time.Second)) {
							errs <- fmt.Errorf("reader %d: %s/%s holds %v at %v: torn write", r, keys[i], features[j], e.Value, e.Timestamp)
							return
						}
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	got := read(t, s, features, keys)
	last := int64(rounds*writers - 1)
	for i, k := range keys {
		checkEntry(t, k+" shared", got[i][0], value.FromInt64(last), t0.Add(time.Duration(last)*time.Second))
		for w := range writers {
			want := int64((rounds-1)*writers + w)
			checkEntry(t, fmt.Sprintf("%s own-%d", k, w), got[i][1+w], value.FromInt64(want), t0.Add(time.Duration(want)*time.Second))
		}
	}
}
