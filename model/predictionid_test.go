package model

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// TestNewPredictionIDIsAUUIDv7 decodes IDs as RFC 9562 lays a UUIDv7 out:
// the groups and dashes, the milliseconds, the version and the variant.
func TestNewPredictionIDIsAUUIDv7(t *testing.T) {
	at := time.Date(2026, 12, 6, 7, 40, 1, 234_567_890, time.UTC)
	seen := map[string]bool{}
	for range 1000 {
		id := NewPredictionID(at)
		groups := strings.Split(id, "-")
		if len(id) != 36 || len(groups) != 5 || len(groups[0]) != 8 || len(groups[1]) != 4 || len(groups[2]) != 4 || len(groups[3]) != 4 || len(groups[4]) != 12 {
			t.Fatalf("%q is not laid out 8-4-4-4-12", id)
		}
		b, err := hex.DecodeString(strings.Join(groups, ""))
		if err != nil || strings.ToLower(id) != id {
			t.Fatalf("%q is not lowercase hex: %v", id, err)
		}
		var ms int64
		for _, c := range b[:6] {
			ms = ms<<8 | int64(c)
		}
		if ms != at.UnixMilli() {
			t.Fatalf("%q holds %d ms, want %d", id, ms, at.UnixMilli())
		}
		if b[6]>>4 != 7 || b[8]>>6 != 2 {
			t.Fatalf("%q: version %d and variant %b, want 7 and 10", id, b[6]>>4, b[8]>>6)
		}
		if seen[id] {
			t.Fatalf("%q made twice", id)
		}
		seen[id] = true
	}
	if a, b := NewPredictionID(at), NewPredictionID(at.Add(time.Millisecond)); a >= b {
		t.Errorf("%q, made a millisecond earlier, does not sort before %q", a, b)
	}
}
