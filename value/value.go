// Package value is Slipway's typed value union: the int64, float64, string,
// bool and timestamp values that features and labels take, plus null.
//
// Values cross every backend boundary (offline rows, online records, the HTTP
// API), so they carry their type instead of hiding behind `any`.
package value

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Type is the declared type of a feature or label value.
type Type string

// The value types. A null Value has type Null.
const (
	Null      Type = ""
	Int64     Type = "int64"
	Float64   Type = "float64"
	String    Type = "string"
	Bool      Type = "bool"
	Timestamp Type = "timestamp"
)

// Types lists the declarable types in documentation order.
var Types = []Type{Int64, Float64, String, Bool, Timestamp}

// ParseType accepts a type name as written in definitions.
func ParseType(s string) (Type, error) {
	for _, t := range Types {
		if string(t) == s {
			return t, nil
		}
	}
	return Null, fmt.Errorf("unknown type %q: use one of int64, float64, string, bool, timestamp", s)
}

// Value is one typed value. The zero Value is null.
type Value struct {
	typ Type
	i   int64 // Int64, Bool (0/1), Timestamp (microseconds since the Unix epoch, UTC)
	f   float64
	s   string
}

// NullValue returns the null value.
func NullValue() Value { return Value{} }

// FromInt64 returns an int64 value.
func FromInt64(v int64) Value { return Value{typ: Int64, i: v} }

// FromFloat64 returns a float64 value.
func FromFloat64(v float64) Value { return Value{typ: Float64, f: v} }

// FromString returns a string value.
func FromString(v string) Value { return Value{typ: String, s: v} }

// FromBool returns a bool value.
func FromBool(v bool) Value {
	if v {
		return Value{typ: Bool, i: 1}
	}
	return Value{typ: Bool}
}

// FromTime returns a timestamp value, in UTC truncated to microseconds.
func FromTime(t time.Time) Value { return Value{typ: Timestamp, i: t.UnixMicro()} }

// FromMicros returns a timestamp value from microseconds since the Unix epoch.
func FromMicros(us int64) Value { return Value{typ: Timestamp, i: us} }

// Type returns the value's type; Null for null.
func (v Value) Type() Type { return v.typ }

// IsNull reports whether v is null.
func (v Value) IsNull() bool { return v.typ == Null }

// Int64 returns the int64 payload (0 unless the type is Int64).
func (v Value) Int64() int64 {
	if v.typ != Int64 {
		return 0
	}
	return v.i
}

// Float64 returns the float64 payload (0 unless the type is Float64).
func (v Value) Float64() float64 { return v.f }

// Str returns the string payload ("" unless the type is String).
func (v Value) Str() string { return v.s }

// Bool returns the bool payload.
func (v Value) Bool() bool { return v.typ == Bool && v.i == 1 }

// Time returns the timestamp payload in UTC (zero time unless the type is Timestamp).
func (v Value) Time() time.Time {
	if v.typ != Timestamp {
		return time.Time{}
	}
	return time.UnixMicro(v.i).UTC()
}

// Micros returns a timestamp as microseconds since the Unix epoch.
func (v Value) Micros() int64 { return v.i }

// Equal reports whether a and b have the same type and payload.
// Floats compare bit-for-bit, so NaN equals NaN.
func (v Value) Equal(o Value) bool {
	if v.typ != o.typ {
		return false
	}
	switch v.typ {
	case Float64:
		return math.Float64bits(v.f) == math.Float64bits(o.f)
	case String:
		return v.s == o.s
	default:
		return v.i == o.i
	}
}

// String formats v for people and for CSV: null is "", timestamps are RFC 3339 with microseconds.
func (v Value) String() string {
	switch v.typ {
	case Int64:
		return strconv.FormatInt(v.i, 10)
	case Float64:
		return strconv.FormatFloat(v.f, 'g', -1, 64)
	case String:
		return v.s
	case Bool:
		return strconv.FormatBool(v.i == 1)
	case Timestamp:
		return v.Time().Format(TimeFormat)
	}
	return ""
}

// TimeFormat is how timestamps are written in text outputs: RFC 3339, UTC, microseconds.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Any returns the payload as a plain Go value (nil, int64, float64, string, bool, time.Time).
func (v Value) Any() any {
	switch v.typ {
	case Int64:
		return v.i
	case Float64:
		return v.f
	case String:
		return v.s
	case Bool:
		return v.i == 1
	case Timestamp:
		return v.Time()
	}
	return nil
}

// MarshalJSON writes null, a number, a string, a bool, or an RFC 3339 string for timestamps.
// Non-finite floats, which JSON cannot hold, are written as null.
func (v Value) MarshalJSON() ([]byte, error) { return v.AppendJSON(nil), nil }

// FromAny converts what database/sql drivers return into a Value.
func FromAny(x any) (Value, error) {
	switch t := x.(type) {
	case nil:
		return Value{}, nil
	case int64:
		return FromInt64(t), nil
	case int32:
		return FromInt64(int64(t)), nil
	case int16:
		return FromInt64(int64(t)), nil
	case int8:
		return FromInt64(int64(t)), nil
	case int:
		return FromInt64(int64(t)), nil
	case uint8:
		return FromInt64(int64(t)), nil
	case uint16:
		return FromInt64(int64(t)), nil
	case uint32:
		return FromInt64(int64(t)), nil
	case uint64:
		if t > math.MaxInt64 {
			return Value{}, fmt.Errorf("unsigned value %d does not fit in int64", t)
		}
		return FromInt64(int64(t)), nil
	case float64:
		return FromFloat64(t), nil
	case float32:
		return FromFloat64(float64(t)), nil
	case string:
		return FromString(t), nil
	case []byte:
		return FromString(string(t)), nil
	case bool:
		return FromBool(t), nil
	case time.Time:
		return FromTime(t), nil
	}
	return Value{}, fmt.Errorf("unsupported value of Go type %T", x)
}

// Convert returns v as type t where that is lossless in meaning
// (an int64 as float64, anything as string); it is how a column value of one
// engine type becomes a feature of the declared type.
func Convert(v Value, t Type) (Value, error) {
	if v.typ == t || v.typ == Null {
		return v, nil
	}
	switch {
	case t == Float64 && v.typ == Int64:
		return FromFloat64(float64(v.i)), nil
	case t == String:
		return FromString(v.String()), nil
	}
	return Value{}, fmt.Errorf("cannot use %s value %s as %s", v.typ, v, t)
}

// AppendBinary appends v's compact encoding: one type byte, then a varint
// (int64, bool, timestamp), 8 bytes (float64) or a length-prefixed string.
func (v Value) AppendBinary(b []byte) []byte {
	b = append(b, typeCode(v.typ))
	switch v.typ {
	case Int64, Bool, Timestamp:
		b = binary.AppendVarint(b, v.i)
	case Float64:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.f))
	case String:
		b = binary.AppendUvarint(b, uint64(len(v.s)))
		b = append(b, v.s...)
	}
	return b
}

// ErrCorrupt is returned by DecodeBinary for bytes AppendBinary did not write.
var ErrCorrupt = errors.New("corrupt value encoding")

// DecodeBinary reads one value written by AppendBinary and returns the rest of b.
func DecodeBinary(b []byte) (Value, []byte, error) {
	if len(b) == 0 {
		return Value{}, nil, ErrCorrupt
	}
	typ, ok := codeType(b[0])
	if !ok {
		return Value{}, nil, ErrCorrupt
	}
	b = b[1:]
	v := Value{typ: typ}
	switch typ {
	case Int64, Bool, Timestamp:
		i, n := binary.Varint(b)
		if n <= 0 {
			return Value{}, nil, ErrCorrupt
		}
		v.i, b = i, b[n:]
	case Float64:
		if len(b) < 8 {
			return Value{}, nil, ErrCorrupt
		}
		v.f, b = math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:]
	case String:
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return Value{}, nil, ErrCorrupt
		}
		v.s, b = string(b[n:n+int(l)]), b[n+int(l):]
	}
	return v, b, nil
}

var codes = []Type{Null, Int64, Float64, String, Bool, Timestamp}

func typeCode(t Type) byte {
	for i, c := range codes {
		if c == t {
			return byte(i)
		}
	}
	return 0
}

func codeType(c byte) (Type, bool) {
	if int(c) >= len(codes) {
		return Null, false
	}
	return codes[c], true
}
