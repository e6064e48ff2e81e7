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
	// It is made for every prediction served: the text is written in
	// place, the 8-4-4-4-12 groups of hex digits, in one allocation.
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}
