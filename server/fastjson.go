package server

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// The serving fast path's JSON (docs/design/serving-fast-path.md, "JSON"):
// POST /v1/online-features and POST /v1/endpoints/{name}/predict read their
// body once into a pooled buffer, decode the common request shape by hand,
// and write their answer into the same buffer with one Write. Only the bytes change hands differently: the
// hand decoder declines anything it does not handle exactly, and then
// decode's strict encoding/json path runs on the same bytes, so every error
// and edge case is the standard one; the encoder writes the bytes
// writeJSON would (fastjson_test.go checks both, the decoder by fuzzing).

// bodyBufs holds the buffers of bodies read and answers written.
var bodyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// maxPooledBuf is the largest buffer put back: a rare 10 MiB body does
// not stay in memory.
const maxPooledBuf = 1 << 20

func getBuf() *[]byte { return bodyBufs.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > maxPooledBuf {
		return
	}
	*b = (*b)[:0]
	bodyBufs.Put(b)
}

// readBody appends the whole body to b: in one Read when the declared
// length fits (the middleware bounds it). err is the read error other than
// io.EOF, with what was read before it in b.
func readBody(body io.Reader, b []byte, declared int64) ([]byte, error) {
	if declared > 0 {
		// One byte more, so that the Read after the body's last finds room
		// and returns io.EOF without a grow.
		b = slices.Grow(b, int(declared)+1)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// errReader ends a body read ahead with the error its read ended with.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// rereader gives the standard decoder the bytes read ahead, then the error
// (or EOF) the body ended with: it sees what it would have read itself.
func rereader(body []byte, err error) io.Reader {
	if err == nil {
		return bytes.NewReader(body)
	}
	return io.MultiReader(bytes.NewReader(body), errReader{err})
}

// decodeOnlineFeaturesFast decodes {"features":[strings],"entities":[strings
// or integers]}: any JSON whitespace, either order, either key missing,
// null for either list. It declines (ok false) whatever it does not handle
// exactly as decode into onlineFeaturesRequest and entityKey do: escapes,
// control characters and invalid UTF-8 in strings, other keys (encoding/json
// matches keys case-insensitively), a key twice, null elements, numbers
// other than int64 integers, malformed JSON, and data after the object.
// features is nil when absent or null, as encoding/json leaves it; entities
// is never nil, as onlineFeatures makes it.
func decodeOnlineFeaturesFast(b []byte) (features, entities []string, ok bool) {
	return decodeListsFast(b, true)
}

// decodePredictFast decodes {"entities":[strings or integers]} as
// decodeOnlineFeaturesFast does; it declines request-time feature values
// ("features"), which the strict path decodes.
func decodePredictFast(b []byte) (entities []string, ok bool) {
	_, entities, ok = decodeListsFast(b, false)
	return entities, ok
}

// decodeListsFast is decodeOnlineFeaturesFast, with "features" declined
// unless withFeatures.
func decodeListsFast(b []byte, withFeatures bool) (features, entities []string, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, nil, false
	}
	i = skipSpace(b, i+1)
	var seenF, seenE bool
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			key, j, ok := scanString(b, i)
			if !ok {
				return nil, nil, false
			}
			j = skipSpace(b, j)
			if j >= len(b) || b[j] != ':' {
				return nil, nil, false
			}
			j = skipSpace(b, j+1)
			switch {
			case string(key) == "features" && !seenF && withFeatures:
				seenF = true
				features, j, ok = scanList(b, j, false)
			case string(key) == "entities" && !seenE:
				seenE = true
				entities, j, ok = scanList(b, j, true)
			default:
				return nil, nil, false
			}
			if !ok {
				return nil, nil, false
			}
			j = skipSpace(b, j)
			if j >= len(b) {
				return nil, nil, false
			}
			if b[j] == '}' {
				i = j + 1
				break
			}
			if b[j] != ',' {
				return nil, nil, false
			}
			i = skipSpace(b, j+1)
		}
	}
	if skipSpace(b, i) != len(b) {
		return nil, nil, false
	}
	if entities == nil {
		entities = []string{}
	}
	return features, entities, true
}

// scanList reads null or an array of strings (and, with ints, of int64
// integers, kept as written) starting at b[i].
func scanList(b []byte, i int, ints bool) ([]string, int, bool) {
	if bytes.HasPrefix(b[i:], []byte("null")) {
		return nil, i + 4, true
	}
	if i >= len(b) || b[i] != '[' {
		return nil, 0, false
	}
	// Count the elements first so that the list is allocated once; a comma
	// inside a string only overcounts.
	n := 1 + bytes.Count(b[i:min(len(b), i+closing(b[i:]))], []byte(","))
	list := make([]string, 0, n)
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return list, i + 1, true
	}
	for {
		if i >= len(b) {
			return nil, 0, false
		}
		var (
			s  string
			ok bool
		)
		if b[i] == '"' {
			var raw []byte
			if raw, i, ok = scanString(b, i); ok {
				if ints {
					s = string(raw)
				} else {
					s = featureNames.intern(raw)
				}
			}
		} else if ints {
			s, i, ok = scanInt(b, i)
		}
		if !ok {
			return nil, 0, false
		}
		list = append(list, s)
		i = skipSpace(b, i)
		if i >= len(b) {
			return nil, 0, false
		}
		switch b[i] {
		case ']':
			return list, i + 1, true
		case ',':
			i = skipSpace(b, i+1)
		default:
			return nil, 0, false
		}
	}
}

// featureNames holds the feature references requests name, so that the
// same names in every request are not allocated again. It takes the first
// maxInterned names it sees and no more: junk names cannot grow it, and
// real ones are few.
var featureNames = interner{m: make(map[string]string)}

const maxInterned, maxInternedLen = 4096, 256

type interner struct {
	mu sync.RWMutex
	m  map[string]string
}

func (in *interner) intern(b []byte) string {
	in.mu.RLock()
	s, ok := in.m[string(b)] // no allocation for the lookup
	in.mu.RUnlock()
	if ok {
		return s
	}
	s = string(b)
	if len(b) <= maxInternedLen {
		in.mu.Lock()
		if len(in.m) < maxInterned {
			in.m[s] = s
		}
		in.mu.Unlock()
	}
	return s
}

// closing is the index of the first ']' in b, or len(b).
func closing(b []byte) int {
	if j := bytes.IndexByte(b, ']'); j >= 0 {
		return j
	}
	return len(b)
}

// scanString reads a string without escapes at b[i] and returns its
// contents and the index after it; it declines control characters (which
// JSON forbids) and invalid UTF-8 (which encoding/json replaces).
func scanString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	start := i + 1
	ascii := true
	for j := start; j < len(b); j++ {
		c := b[j]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(b[start:j]) {
				return nil, 0, false
			}
			return b[start:j], j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, 0, false
}

// scanInt reads a JSON integer that fits int64 at b[i], as entityKey
// keeps it: the text as written.
func scanInt(b []byte, i int) (string, int, bool) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j >= len(b) || b[j] < '0' || b[j] > '9':
		return "", 0, false
	case b[j] == '0':
		j++
	default:
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	}
	if j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E' || (b[j] >= '0' && b[j] <= '9')) {
		return "", 0, false
	}
	s := string(b[i:j])
	if _, err := strconv.ParseInt(s, 10, 64); err != nil {
		return "", 0, false
	}
	return s, j, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// appendOnlineFeatures appends resp as writeJSON writes the
// onlineFeaturesResponse made of it, newline included.
func appendOnlineFeatures(b []byte, resp *serving.Response) []byte {
	b = append(b, `{"entity":`...)
	b = appendJSONString(b, resp.Entity)
	b = append(b, `,"features":`...)
	b = appendStrings(b, resp.Features)
	b = append(b, `,"results":[`...)
	for i := range resp.Rows {
		row := &resp.Rows[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"entity":`...)
		b = appendJSONString(b, row.Entity)
		b = append(b, `,"values":`...)
		if row.Values == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for j, v := range row.Values {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendValue(b, v)
			}
			b = append(b, ']')
		}
		b = append(b, `,"statuses":`...)
		// Statuses are strings: as appendStrings, without a copy.
		if row.Statuses == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for j, st := range row.Statuses {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, string(st))
			}
			b = append(b, ']')
		}
		// Never null: onlineFeatures made one *string per timestamp.
		b = append(b, `,"timestamps":[`...)
		for j, t := range row.Timestamps {
			if j > 0 {
				b = append(b, ',')
			}
			if t.IsZero() {
				b = append(b, "null"...)
				continue
			}
			// The layout writes digits, '-', ':', '.', 'T' and 'Z' only:
			// nothing to escape.
			b = append(b, '"')
			b = value.AppendTime(b, t)
			b = append(b, '"')
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}\n"...)
}

// appendValue appends v as encoding/json writes it: value.Value's
// AppendJSON (its MarshalJSON), with '<', '>' and '&' then escaped, as
// encoding/json escapes them in what a MarshalJSON returns.
func appendValue(b []byte, v value.Value) []byte {
	start := len(b)
	b = v.AppendJSON(b)
	if v.Type() != value.String {
		return b
	}
	return escapeHTML(b, start)
}

// escapeHTML rewrites '<', '>' and '&' in b[start:] as \u003c, \u003e and
// \u0026, as encoding/json's HTML escaping does.
func escapeHTML(b []byte, start int) []byte {
	n := 0
	for _, c := range b[start:] {
		if c == '<' || c == '>' || c == '&' {
			n++
		}
	}
	if n == 0 {
		return b
	}
	// Each of them grows by 5 bytes (\u003c); move the tail from the end.
	end := len(b)
	b = append(b, make([]byte, 5*n)...)
	w := len(b)
	for r := end - 1; r >= start; r-- {
		c := b[r]
		if c != '<' && c != '>' && c != '&' {
			w--
			b[w] = c
			continue
		}
		w -= 6
		copy(b[w:], `\u00`)
		b[w+4], b[w+5] = hex[c>>4], hex[c&0xf]
	}
	return b
}

const hex = "0123456789abcdef"

// appendJSONString appends s as encoding/json writes a string with HTML
// escaping (json.Marshal, writeJSON's Encoder): value.AppendJSONString,
// then '<', '>' and '&' as \u00XX.
func appendJSONString(b []byte, s string) []byte {
	start := len(b)
	return escapeHTML(value.AppendJSONString(b, s), start)
}

// appendPredict appends resp as writeJSON writes it, newline included; ok
// is false when it holds a non-finite float, which encoding/json refuses
// (writeJSON then answers its 500).
func appendPredict(b []byte, resp *serving.PredictResponse) (_ []byte, ok bool) {
	b = append(b, `{"endpoint":`...)
	b = appendJSONString(b, resp.Endpoint)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, resp.Model)
	b = append(b, `,"alias":`...)
	b = appendJSONString(b, resp.Alias)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(resp.Version), 10)
	b = append(b, `,"task":`...)
	b = appendJSONString(b, resp.Task)
	b = append(b, `,"features":`...)
	b = appendStrings(b, resp.Features)
	b = append(b, `,"predictions":`...)
	if resp.Predictions == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range resp.Predictions {
			p := &resp.Predictions[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = appendJSONString(b, p.ID)
			b = append(b, `,"entity":`...)
			b = appendJSONString(b, p.Entity)
			b = append(b, `,"model":`...)
			b = appendJSONString(b, p.Model)
			b = append(b, `,"version":`...)
			b = strconv.AppendInt(b, int64(p.Version), 10)
			if p.Experiment != "" {
				b = append(b, `,"experiment":`...)
				b = appendJSONString(b, p.Experiment)
			}
			if p.Arm != "" {
				b = append(b, `,"arm":`...)
				b = appendJSONString(b, p.Arm)
			}
			if p.Probability != nil {
				b = append(b, `,"probability":`...)
				if b, ok = appendFloat(b, *p.Probability); !ok {
					return b, false
				}
			}
			if p.Class != nil {
				b = append(b, `,"class":`...)
				b = strconv.AppendInt(b, int64(*p.Class), 10)
			}
			if p.Value != nil {
				b = append(b, `,"value":`...)
				if b, ok = appendFloat(b, *p.Value); !ok {
					return b, false
				}
			}
			if len(p.Probabilities) > 0 {
				b = append(b, `,"probabilities":[`...)
				for j, f := range p.Probabilities {
					if j > 0 {
						b = append(b, ',')
					}
					if b, ok = appendFloat(b, f); !ok {
						return b, false
					}
				}
				b = append(b, ']')
			}
			b = append(b, `,"missing":`...)
			b = appendStrings(b, p.Missing)
			b = append(b, `,"outside_max_age":`...)
			b = appendStrings(b, p.OutsideMaxAge)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, "}\n"...), true
}

// appendStrings appends list as encoding/json writes a []string: null
// when nil.
func appendStrings(b []byte, list []string) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for j, s := range list {
		if j > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendFloat appends f as encoding/json writes a float64 (like %g, but
// with exponents only below 1e-6 and from 1e21, unpadded); false for NaN
// and infinities, which it refuses.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

// jsonContentType is the Content-Type of every JSON answer, shared: the
// server only reads it.
var jsonContentType = []string{"application/json"}

// writeJSONBytes writes b, JSON ending in a newline, with one Write.
func writeJSONBytes(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	w.Write(b)
}
