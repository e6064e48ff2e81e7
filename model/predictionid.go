package model

import (
	"crypto/rand"
	"encoding/hex"
	"time"
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
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
