package value

import "encoding/hex"

// UUIDText writes a UUID's 16 bytes as its text (RFC 9562): lowercase hex
// digits in groups of 8-4-4-4-12, joined by dashes. It makes one
// allocation: prediction ids are made with it for every prediction served.
func UUIDText(b [16]byte) string {
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
