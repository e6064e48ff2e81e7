package value

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the value as MarshalJSON writes it, without
// allocating: null, a number, a string, a bool, or an RFC 3339 string for
// a timestamp; a non-finite float as null.
func (v Value) AppendJSON(b []byte) []byte {
	switch v.typ {
	case Int64:
		return strconv.AppendInt(b, v.i, 10)
	case Float64:
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, v.f, 'g', -1, 64)
	case String:
		return AppendJSONString(b, v.s)
	case Bool:
		return strconv.AppendBool(b, v.i == 1)
	case Timestamp:
		b = append(b, '"')
		b = v.Time().AppendFormat(b, TimeFormat)
		return append(b, '"')
	}
	return append(b, "null"...)
}

// AppendJSONString appends s as a JSON string: quoted, with '"', '\\' and
// control characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028
// and U+2029 escaped (as encoding/json does, but without escaping HTML).
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
