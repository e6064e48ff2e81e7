package online_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/value"
)

func TestEntryRoundTrip(t *testing.T) {
	values := []value.Value{
		value.NullValue(),
		value.FromInt64(0),
		value.FromInt64(math.MinInt64),
		value.FromInt64(math.MaxInt64),
		value.FromFloat64(-0.5),
		value.FromFloat64(math.NaN()),
		value.FromFloat64(math.Inf(-1)),
		value.FromString(""),
		value.FromString("bougie à la cannelle 🕯️"),
		value.FromBool(true),
		value.FromBool(false),
		value.FromTime(time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC)),
	}
	times := []time.Time{
		{},
		time.Unix(0, 0),    // the epoch must not read back as the zero time
		time.Unix(0, 1000), // one microsecond after it
		time.Unix(-1, 0),   // before the epoch
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC), // just after the zero time
		time.Date(2024, 12, 1, 9, 30, 15, 123456000, time.FixedZone("CET", 3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
	}
	for _, v := range values {
		for _, ts := range times {
			b := online.AppendEntry([]byte("prefix"), v, ts)
			gotV, gotTS, err := online.DecodeEntry(b[len("prefix"):])
			if err != nil {
				t.Fatalf("DecodeEntry(%v, %v): %v", v, ts, err)
			}
			if !gotV.Equal(v) {
				t.Errorf("value: got %v (%s), want %v (%s)", gotV, gotV.Type(), v, v.Type())
			}
			if !gotTS.Equal(ts) || gotTS.IsZero() != ts.IsZero() {
				t.Errorf("timestamp: got %v, want %v", gotTS, ts)
			}
			if !ts.IsZero() && gotTS.Location() != time.UTC {
				t.Errorf("timestamp %v: location %v, want UTC", ts, gotTS.Location())
			}
		}
	}
}

func TestEntryTruncatesToMicroseconds(t *testing.T) {
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	_, got, err := online.DecodeEntry(online.AppendEntry(nil, value.FromInt64(1), ts))
	if err != nil {
		t.Fatal(err)
	}
	if want := ts.Truncate(time.Microsecond); !got.Equal(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestEntryIsCompact(t *testing.T) {
	static := online.AppendEntry(nil, value.FromInt64(42), time.Time{})
	if len(static) != 3 { // ts 0, type byte, varint 42
		t.Errorf("static int64 entry is %d bytes, want 3", len(static))
	}
	stamped := online.AppendEntry(nil, value.FromInt64(42), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	if len(stamped) > 12 {
		t.Errorf("timestamped int64 entry is %d bytes, want at most 12", len(stamped))
	}
}

func TestDecodeEntryCorrupt(t *testing.T) {
	good := online.AppendEntry(nil, value.FromString("hello"), time.Unix(1700000000, 0))
	cases := map[string][]byte{
		"empty":             nil,
		"only timestamp":    good[:len(good)-len("hello")-2],
		"unterminated ts":   {0x80, 0x80},
		"overlong ts":       {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 0x02},
		"unknown type":      {0x00, 0x7f},
		"truncated string":  good[:len(good)-1],
		"truncated float":   {0x00, 0x02, 0x01, 0x02},
		"trailing bytes":    append(append([]byte{}, good...), 0x00),
		"string length lie": {0x00, 0x03, 0x10, 'a'},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := online.DecodeEntry(b)
			if !errors.Is(err, online.ErrCorruptEntry) {
				t.Fatalf("DecodeEntry(%x) = %v, want ErrCorruptEntry", b, err)
			}
		})
	}
}
