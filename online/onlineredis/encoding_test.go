package onlineredis_test

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/online/onlineredis"
	"github.com/slipway-ml/slipway/value"
)

func TestEntryOrderIsTimeOrder(t *testing.T) {
	// Ascending times; the zero time (static) sorts first.
	times := []time.Time{
		{},
		time.Unix(0, 0).Add(time.Duration(math.MinInt64)),
		time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(0, 0).Add(-time.Microsecond),
		time.Unix(0, 0),
		time.Unix(0, 0).Add(time.Microsecond),
		time.Date(2024, 11, 28, 9, 0, 0, 0, time.UTC),
		time.Date(2024, 11, 28, 9, 0, 0, 1000, time.UTC),
		time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	var prev []byte
	for i, ts := range times {
		// A larger value must not change the order: only the prefix counts.
		e := onlineredis.AppendEntry(nil, value.FromInt64(int64(-i)), onlineredis.EncodeTime(ts))
		if prev != nil && bytes.Compare(prev[:8], e[:8]) >= 0 {
			t.Errorf("entry for %v does not sort after entry for %v", ts, times[i-1])
		}
		v, got, err := onlineredis.DecodeEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		if !v.Equal(value.FromInt64(int64(-i))) || !got.Equal(ts.Truncate(time.Microsecond)) || got.IsZero() != ts.IsZero() {
			t.Errorf("round trip of %v: got %v at %v", ts, v, got)
		}
		prev = e
	}
	if e := onlineredis.AppendEntry(nil, value.NullValue(), onlineredis.EncodeTime(time.Time{})); !bytes.Equal(e, make([]byte, 9)) {
		t.Errorf("static null entry = %x, want 9 zero bytes", e)
	}
}

func TestDecodeCorruptEntry(t *testing.T) {
	for _, b := range [][]byte{nil, {1, 2, 3}, {0, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0, 0x7f}, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, _, err := onlineredis.DecodeEntry(b); !errors.Is(err, online.ErrCorruptEntry) {
			t.Errorf("DecodeEntry(%x) = %v, want ErrCorruptEntry", b, err)
		}
	}
}
