package value

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// TestAppendJSONIsValidJSON: what AppendJSON writes decodes, with
// encoding/json, to the value it was (strings with every kind of
// character included).
func TestAppendJSONIsValidJSON(t *testing.T) {
	strs := []string{"", "plain", `quote " and \ backslash`, "new\nline\ttab\rcr", "\x00\x01\x1f control", "é ü 日本 🚀", "bad \xff utf8", "line\u2028sep\u2029par", "<html>&"}
	for _, s := range strs {
		var got string
		b := AppendJSONString(nil, s)
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q → %s: %v", s, b, err)
		}
		want := s
		if s == "bad \xff utf8" {
			want = "bad \ufffd utf8"
		}
		if got != want {
			t.Errorf("%q → %s → %q", s, b, got)
		}
	}
	at := time.Date(2026, 12, 4, 1, 2, 3, 456789000, time.UTC)
	for _, v := range []Value{NullValue(), FromInt64(-42), FromFloat64(1.5e-7), FromFloat64(math.NaN()), FromBool(true), FromString("a\"b"), FromTime(at)} {
		var got any
		b := v.AppendJSON([]byte("x"))[1:]
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%v → %s: %v", v, b, err)
		}
		want := v.Any()
		switch {
		case v.Type() == Float64 && math.IsNaN(v.Float64()):
			want = nil
		case v.Type() == Int64:
			want = float64(v.Int64())
		case v.Type() == Timestamp:
			want = at.Format(TimeFormat)
		}
		if got != want {
			t.Errorf("%v → %s → %v; want %v", v, b, got, want)
		}
	}
}
