package onlineredis

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/value"
)

// A hash field holds one entry:
//
//	entry = ts value
//	ts    = 8 bytes, big-endian: all zero for the zero time (static features),
//	        otherwise uint64(microseconds since the Unix epoch) XOR 1<<63
//	value = value.Value.AppendBinary
//
// Unlike online.AppendEntry's varint timestamp, the fixed-width offset-binary
// timestamp makes byte order equal time order, so the write script compares
// the first 8 bytes of two entries without decoding either. The zero time
// sorts before every real time; the one real time that would also encode as
// zero (math.MinInt64 µs, far outside time.Time's useful range) is moved up
// by a microsecond. For present-day timestamps the varint would also take
// 8 bytes, so the fixed width costs nothing there.

// tsLen is the length of the timestamp prefix of an entry.
const tsLen = 8

func encodeTime(ts time.Time) uint64 {
	if ts.IsZero() {
		return 0
	}
	us := ts.UnixMicro()
	if us == math.MinInt64 {
		us++
	}
	return uint64(us) ^ 1<<63
}

func decodeTime(u uint64) time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.UnixMicro(int64(u ^ 1<<63)).UTC()
}

// appendEntry appends the entry for v, true since the encoded time ts, to b.
func appendEntry(b []byte, v value.Value, ts uint64) []byte {
	b = binary.BigEndian.AppendUint64(b, ts)
	return v.AppendBinary(b)
}

// decodeEntry reads an entry written by appendEntry. Errors wrap
// online.ErrCorruptEntry.
func decodeEntry(b []byte) (value.Value, time.Time, error) {
	if len(b) < tsLen {
		return value.Value{}, time.Time{}, fmt.Errorf("%w: %d bytes, shorter than a timestamp", online.ErrCorruptEntry, len(b))
	}
	v, rest, err := value.DecodeBinary(b[tsLen:])
	if err != nil {
		return value.Value{}, time.Time{}, fmt.Errorf("%w: %w", online.ErrCorruptEntry, err)
	}
	if len(rest) != 0 {
		return value.Value{}, time.Time{}, fmt.Errorf("%w: %d trailing bytes", online.ErrCorruptEntry, len(rest))
	}
	return v, decodeTime(binary.BigEndian.Uint64(b)), nil
}

// errCorruptReply is the error reply prefix of the write script for a stored
// entry too short to hold a timestamp.
const errCorruptReply = "CORRUPT"

var errNotAnEntry = errors.New("reply is not a string")
