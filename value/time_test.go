package value

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestAppendTimeIsAppendFormat: AppendTime writes what
// t.UTC().AppendFormat(TimeFormat) writes, for times all over the range
// (years before 0 and after 9999, other zones, nanoseconds included).
func TestAppendTimeIsAppendFormat(t *testing.T) {
	times := []time.Time{{}, time.Unix(0, 0), time.Date(2025, 6, 1, 12, 0, 0, 999999999, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2024, 2, 29, 1, 2, 3, 4000, time.FixedZone("x", 5*3600+1800)),
		time.UnixMicro(math.MaxInt64), time.UnixMicro(math.MinInt64), time.Unix(math.MaxInt64/2, 0),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond),
		time.Date(1600, 2, 29, 12, 0, 0, 0, time.UTC), time.Date(2000, 2, 29, 23, 59, 59, 0, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC), time.Unix(-1, 500_000_000), time.Unix(-86400, 0), time.Unix(-86401, 999)}
	for y := 1; y <= 9999; y += 7 {
		times = append(times, time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(y, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
			time.Date(y, 3, 1, 0, 0, 0, 0, time.UTC).Add(-time.Microsecond))
	}
	rng := rand.New(rand.NewPCG(14, 5))
	for range 100000 {
		var at time.Time
		switch rng.IntN(3) {
		case 0:
			at = time.UnixMicro(int64(rng.Uint64()))
		case 1:
			at = time.Unix(rng.Int64N(400*365*86400)-100*365*86400, rng.Int64N(1e9))
		default:
			at = time.Unix(rng.Int64N(1<<40)-1<<39, rng.Int64N(1e9)).In(time.FixedZone("z", rng.IntN(48)*1800-12*3600))
		}
		times = append(times, at)
	}
	for _, at := range times {
		want := at.UTC().AppendFormat([]byte("x"), TimeFormat)
		if got := AppendTime([]byte("x"), at); !bytes.Equal(got, want) {
			t.Fatalf("AppendTime(%v) = %q; want %q", at, got, want)
		}
	}
}

func BenchmarkAppendTime(b *testing.B) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)
	buf := make([]byte, 0, 64)
	b.Run("AppendTime", func(b *testing.B) {
		for b.Loop() {
			buf = AppendTime(buf[:0], at)
		}
	})
	b.Run("AppendFormat", func(b *testing.B) {
		for b.Loop() {
			buf = at.UTC().AppendFormat(buf[:0], TimeFormat)
		}
	})
}
