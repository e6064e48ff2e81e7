package value

import (
	"math"
	"strconv"
	"time"
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
		b = AppendTime(b, v.Time())
		return append(b, '"')
	}
	return append(b, "null"...)
}

// AppendJSONString appends s as a JSON string: quoted, with '"', '\\' and
// control characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028
// and U+2029 escaped, byte for byte as encoding/json does with HTML
// escaping off.
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
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
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

// AppendTime appends t in UTC as t.UTC().AppendFormat(b, TimeFormat) does,
// in a fraction of its time (no layout to parse, the date computed once):
// answers write a timestamp per value.
func AppendTime(b []byte, t time.Time) []byte {
	secs := t.Unix()
	if secs < minAppendTime || secs >= maxAppendTime {
		return t.UTC().AppendFormat(b, TimeFormat)
	}
	days, sod := secs/86400, int(secs%86400)
	if sod < 0 {
		days, sod = days-1, sod+86400
	}
	// The proleptic Gregorian date of days since 1970-01-01 (Howard
	// Hinnant's civil_from_days; z >= 0 in the range above).
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	month := mp + 3
	if mp >= 10 {
		month = mp - 9
	}
	year := yoe + era*400
	if month <= 2 {
		year++
	}
	b = append(b, digits[year/100*2], digits[year/100*2+1], digits[year%100*2], digits[year%100*2+1], '-',
		digits[month*2], digits[month*2+1], '-', digits[day*2], digits[day*2+1], 'T',
		digits[sod/3600*2], digits[sod/3600*2+1], ':', digits[sod/60%60*2], digits[sod/60%60*2+1], ':',
		digits[sod%60*2], digits[sod%60*2+1], '.')
	us := t.Nanosecond() / 1000
	return append(b, digits[us/10000*2], digits[us/10000*2+1], digits[us/100%100*2], digits[us/100%100*2+1],
		digits[us%100*2], digits[us%100*2+1], 'Z')
}

// AppendTime's own range: years 1 to 9999 (seconds since the Unix epoch).
const minAppendTime, maxAppendTime = -62135596800, 253402300800

// digits holds "00" to "99".
const digits = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"
