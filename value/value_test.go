package value

import (
	"errors"
	"math"
	"testing"
	"time"
)

func samples() []Value {
	return []Value{
		NullValue(), FromInt64(0), FromInt64(math.MinInt64), FromInt64(math.MaxInt64),
		FromFloat64(-2.5), FromFloat64(math.Inf(1)), FromFloat64(math.NaN()),
		FromString(""), FromString("bougie à la cannelle 🕯"), FromBool(true), FromBool(false),
		FromTime(time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.FixedZone("x", 3600))),
		FromMicros(-1),
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	for _, v := range samples() {
		b := v.AppendBinary([]byte("prefix"))
		got, rest, err := DecodeBinary(b[len("prefix"):])
		if err != nil || len(rest) != 0 || !got.Equal(v) {
			t.Errorf("%v (%s): got %v, rest %d, err %v", v, v.Type(), got, len(rest), err)
		}
	}
}

func TestDecodeCorrupt(t *testing.T) {
	for _, b := range [][]byte{nil, {99}, {byte(1)}, {byte(2), 1, 2}, {byte(3), 10, 'a'}} {
		if _, _, err := DecodeBinary(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeBinary(%v) err = %v, want ErrCorrupt", b, err)
		}
	}
}

func TestTimestampsAreUTCMicroseconds(t *testing.T) {
	v := FromTime(time.Date(2026, 1, 2, 3, 4, 5, 6_007_008, time.FixedZone("x", -7200)))
	if got := v.String(); got != "2026-01-02T05:04:05.006007Z" {
		t.Errorf("String() = %s", got)
	}
	if v.Time().Location() != time.UTC {
		t.Errorf("Time() not in UTC")
	}
}

func TestJSON(t *testing.T) {
	cases := map[string]Value{
		"null": NullValue(), "42": FromInt64(42), "1.5": FromFloat64(1.5), `"a\"b"`: FromString(`a"b`),
		"true": FromBool(true), `"1970-01-01T00:00:00.000001Z"`: FromMicros(1),
	}
	for want, v := range cases {
		b, err := v.MarshalJSON()
		if err != nil || string(b) != want {
			t.Errorf("MarshalJSON(%v) = %s, %v; want %s", v, b, err, want)
		}
	}
	if b, _ := FromFloat64(math.NaN()).MarshalJSON(); string(b) != "null" {
		t.Errorf("NaN marshals as %s, want null", b)
	}
}

func TestConvert(t *testing.T) {
	if v, err := Convert(FromInt64(3), Float64); err != nil || v.Float64() != 3 || v.Type() != Float64 {
		t.Errorf("int64→float64: %v %v", v, err)
	}
	if v, err := Convert(FromBool(true), String); err != nil || v.Str() != "true" {
		t.Errorf("bool→string: %v %v", v, err)
	}
	if v, err := Convert(NullValue(), Int64); err != nil || !v.IsNull() {
		t.Errorf("null→int64: %v %v", v, err)
	}
	if _, err := Convert(FromString("x"), Int64); err == nil {
		t.Error("string→int64 converted; want an error")
	}
}

func TestFromAny(t *testing.T) {
	for _, x := range []any{nil, int64(1), int32(2), float32(1.5), "s", []byte("b"), true, time.Unix(1, 0)} {
		if _, err := FromAny(x); err != nil {
			t.Errorf("FromAny(%T): %v", x, err)
		}
	}
	if _, err := FromAny(struct{}{}); err == nil {
		t.Error("FromAny(struct{}) succeeded")
	}
	if _, err := FromAny(uint64(math.MaxUint64)); err == nil {
		t.Error("FromAny(max uint64) succeeded")
	}
}

func TestParseType(t *testing.T) {
	for _, ty := range Types {
		if got, err := ParseType(string(ty)); err != nil || got != ty {
			t.Errorf("ParseType(%s) = %s, %v", ty, got, err)
		}
	}
	if _, err := ParseType("integer"); err == nil {
		t.Error("ParseType(integer) succeeded")
	}
}
