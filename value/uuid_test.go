package value

import (
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestUUIDText(t *testing.T) {
	b := [16]byte{0x01, 0x9a, 0x24, 0xa8, 0xe9, 0x68, 0x79, 0x33, 0x8a, 0x9a, 0x4d, 0x48, 0x28, 0xfb, 0x3e, 0x44}
	if got, want := UUIDText(b), "019a24a8-e968-7933-8a9a-4d4828fb3e44"; got != want {
		t.Errorf("UUIDText = %q, want %q", got, want)
	}
	// Against the groups cut out of hex.EncodeToString, on random bytes.
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		h := hex.EncodeToString(b[:])
		want := strings.Join([]string{h[0:8], h[8:12], h[12:16], h[16:20], h[20:32]}, "-")
		if got := UUIDText(b); got != want {
			t.Fatalf("UUIDText(%x) = %q, want %q", b, got, want)
		}
	}
}
