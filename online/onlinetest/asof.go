package onlinetest

// The cases of WriteParams.AsOf: a value dated in the future, left by an
// earlier version that materialized rows before their time, must not keep
// blocking the values that are true now.

import (
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/value"
)

// testFutureValueReplaced stores values dated after a write's AsOf (without
// AsOf, as an old materialization did); the write as of now replaces them
// with older values, per feature, while a stored value at or before AsOf
// that is newer than the record still wins, with one feature or several.
func testFutureValueReplaced(t *testing.T, s online.Store) {
	now := t0.Add(10 * time.Hour)
	for _, features := range [][]string{{"f:v1"}, {"g:v1", "h:v1"}} {
		vals := func(n int64) []value.Value {
			vs := make([]value.Value, len(features))
			for j := range vs {
				vs[j] = value.FromInt64(n + int64(j))
			}
			return vs
		}
		// What an old version wrote: future rows, and one current row.
		writeMany(t, s, features,
			online.Record{Entity: "future", Values: vals(100), Timestamp: now.Add(5 * 24 * time.Hour)},
			online.Record{Entity: "just_after", Values: vals(200), Timestamp: now.Add(time.Microsecond)},
			online.Record{Entity: "current", Values: vals(300), Timestamp: now.Add(-time.Hour)},
			online.Record{Entity: "at", Values: vals(400), Timestamp: now},
		)
		err := s.Write(t.Context(), &online.WriteParams{Features: features, AsOf: now, Records: []online.Record{
			{Entity: "future", Values: vals(7), Timestamp: now.Add(-24 * time.Hour)},
			{Entity: "just_after", Values: vals(8), Timestamp: now.Add(-24 * time.Hour)},
			{Entity: "current", Values: vals(9), Timestamp: now.Add(-2 * time.Hour)}, // older than stored: ignored
			{Entity: "at", Values: vals(10), Timestamp: now.Add(-time.Minute)},       // stored is at AsOf, not after: kept
			{Entity: "new", Values: vals(11), Timestamp: now},                        // a record exactly at AsOf is fine
		}})
		if err != nil {
			t.Fatalf("Write %v as of now: %v", features, err)
		}
		got := read(t, s, features, []string{"future", "just_after", "current", "at", "new"})
		want := []struct {
			n  int64
			ts time.Time
		}{
			{7, now.Add(-24 * time.Hour)},
			{8, now.Add(-24 * time.Hour)},
			{300, now.Add(-time.Hour)},
			{400, now},
			{11, now},
		}
		for i, w := range want {
			for j, f := range features {
				checkEntry(t, f+" "+[]string{"future", "just_after", "current", "at", "new"}[i], got[i][j], value.FromInt64(w.n+int64(j)), w.ts)
			}
		}
	}
}

// testRecordAfterAsOf writes a record dated after the write's AsOf: an
// error that names the entity, and nothing of the batch is written.
func testRecordAfterAsOf(t *testing.T, s online.Store) {
	now := t0.Add(10 * time.Hour)
	err := s.Write(t.Context(), &online.WriteParams{Features: []string{"f:v1"}, AsOf: now, Records: []online.Record{
		rec("ok", now, value.FromInt64(1)),
		rec("early", now.Add(time.Second), value.FromInt64(2)),
	}})
	if err == nil {
		t.Fatal("Write of a record dated after AsOf succeeded")
	}
	if !strings.Contains(err.Error(), "early") {
		t.Errorf("error %q does not name the entity", err)
	}
	checkMissing(t, "ok after a rejected batch", readOne(t, s, "f:v1", "ok"))
}
