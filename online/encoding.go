package online

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/slipway-ml/slipway/value"
)

// The entry encoding is what the embedded key-value store (onlinekv) keeps
// under a (feature, entity) key (onlineredis uses a fixed-width timestamp its
// Lua script can compare; see docs/design/online-redis.md):
//
//	entry = ts value
//	ts    = uvarint: 0 for the zero time (static features), otherwise
//	        1 + zigzag(microseconds since the Unix epoch)
//	value = value.Value.AppendBinary
//
// The +1 keeps the zero time distinct from a real timestamp at the Unix epoch.
// A timestamped int64 entry is typically 10–12 bytes, a static one 2–10.
// Timestamps keep microsecond precision, like value timestamps; a change to the
// layout must be readable alongside the old one, since stores outlive binaries.

// ErrCorruptEntry is returned by DecodeEntry for bytes AppendEntry did not write.
var ErrCorruptEntry = errors.New("corrupt online entry")

// AppendEntry appends the encoding of a stored value v, true since ts, to b.
// ts is truncated to microseconds; the zero time marks a static value.
func AppendEntry(b []byte, v value.Value, ts time.Time) []byte {
	b = binary.AppendUvarint(b, encodeTime(ts))
	return v.AppendBinary(b)
}

// DecodeEntry reads an entry written by AppendEntry. Timestamps come back in
// UTC, the zero time as time.Time{}.
func DecodeEntry(b []byte) (value.Value, time.Time, error) {
	u, n := binary.Uvarint(b)
	if n <= 0 {
		return value.Value{}, time.Time{}, fmt.Errorf("%w: bad timestamp", ErrCorruptEntry)
	}
	v, rest, err := value.DecodeBinary(b[n:])
	if err != nil {
		return value.Value{}, time.Time{}, fmt.Errorf("%w: %w", ErrCorruptEntry, err)
	}
	if len(rest) != 0 {
		return value.Value{}, time.Time{}, fmt.Errorf("%w: %d trailing bytes", ErrCorruptEntry, len(rest))
	}
	return v, decodeTime(u), nil
}

func encodeTime(ts time.Time) uint64 {
	if ts.IsZero() {
		return 0
	}
	us := ts.UnixMicro()
	if us == math.MinInt64 { // unreachable for real times; keep it off the zero-time code
		us++
	}
	return uint64(us<<1^us>>63) + 1
}

func decodeTime(u uint64) time.Time {
	if u == 0 {
		return time.Time{}
	}
	u--
	us := int64(u>>1) ^ -int64(u&1)
	return time.UnixMicro(us).UTC()
}
