package model

import (
	"crypto/rand"
	"time"

	"github.com/slipway-ml/slipway/value"
)

// NewPredictionID returns a UUIDv7: 48 bits of Unix milliseconds, then 74
// random bits (RFC 9562), so IDs are unique and sort by time.
func NewPredictionID(now time.Time) string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	ms := uint64(now.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = 0x70 | b[6]&0x0f
	b[8] = 0x80 | b[8]&0x3f
	return value.UUIDText(b)
}
