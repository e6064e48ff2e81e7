package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/value"
)

// A distinct flag name: other tests of this package may define -update.
var updateEncoding = flag.Bool("update-encoding", false, "rewrite testdata/encoding/*.golden")

var (
	vNull  = value.NullValue()
	vInt   = value.FromInt64
	vFloat = value.FromFloat64
	vStr   = value.FromString
	vBool  = value.FromBool
	vTime  = value.FromTime
)

// encDemoFeatures has one feature of every type.
var encDemoFeatures = []Feature{
	{Name: "opens_30d", Type: value.Int64},
	{Name: "avg_order", Type: value.Float64},
	{Name: "subscribed", Type: value.Bool},
	{Name: "last_order", Type: value.Timestamp},
	{Name: "region", Type: value.String},
}

func encDemoRows() [][]value.Value {
	return [][]value.Value{
		{vInt(3), vFloat(12.5), vBool(true), vTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), vStr("uk")},
		{vInt(0), vFloat(0), vBool(false), vNull, vStr("de")},
		{vNull, vNull, vNull, vNull, vNull},
		{vInt(7), vFloat(40), vBool(true), vTime(time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)), vStr("uk")},
		{vInt(1), vFloat(math.NaN()), vBool(false), vTime(time.Date(2025, 12, 31, 23, 59, 59, 500_000_000, time.UTC)), vStr("fr")},
	}
}

func buildEncoding(t testing.TB, features []Feature, cfg EncodingConfig, rows [][]value.Value) *Encoding {
	t.Helper()
	b, err := NewEncodingBuilder(features, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := b.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	e, err := b.Encoding()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// sameBits compares vectors bit for bit, so NaN equals NaN and -0 differs from 0.
func sameBits(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}

func mustEncode(t *testing.T, e *Encoding, row []value.Value) []float64 {
	t.Helper()
	got, err := e.Encode(row, nil)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

var nanv = math.NaN()

func TestEncodingEveryTypeOrdinal(t *testing.T) {
	e := buildEncoding(t, encDemoFeatures, EncodingConfig{}, encDemoRows())
	if got, want := e.Columns(), []string{"opens_30d", "avg_order", "subscribed", "last_order", "region"}; !slices.Equal(got, want) {
		t.Fatalf("columns %q, want %q", got, want)
	}
	if got, want := e.Vocabulary("region"), []string{"de", "fr", "uk"}; !slices.Equal(got, want) {
		t.Fatalf("vocabulary %q, want %q (byte order)", got, want)
	}
	cases := []struct {
		row  []value.Value
		want []float64
	}{
		// 2026-01-02T03:04:05Z is 1767323045 s after the epoch; "uk" is code 2.
		{encDemoRows()[0], []float64{3, 12.5, 1, 1767323045, 2}},
		{encDemoRows()[1], []float64{0, 0, 0, nanv, 0}},
		{encDemoRows()[2], []float64{nanv, nanv, nanv, nanv, nanv}},
		// Apollo 11's landing, before 1970: negative seconds.
		{encDemoRows()[3], []float64{7, 40, 1, -14182940, 2}},
		// A float NaN is missing; the half second is kept.
		{encDemoRows()[4], []float64{1, nanv, 0, 1767225599.5, 1}},
		// Unknown category and large integers (2⁵³+1 rounds to 2⁵³).
		{[]value.Value{vInt(1<<53 + 1), vFloat(-1e300), vBool(true), value.FromMicros(1), vStr("jp")}, []float64{9007199254740992, -1e300, 1, 1e-6, nanv}},
		{[]value.Value{vInt(math.MinInt64), vFloat(math.Inf(1)), vBool(false), value.FromMicros(-1), vStr("")}, []float64{-9223372036854775808, math.Inf(1), 0, -1e-6, nanv}},
	}
	for i, c := range cases {
		if got := mustEncode(t, e, c.row); !sameBits(got, c.want) {
			t.Errorf("row %d %v: got %v, want %v", i, c.row, got, c.want)
		}
	}
}

func TestEncodingTimestampsKeepSubSecondPrecision(t *testing.T) {
	e := buildEncoding(t, []Feature{{Name: "t", Type: value.Timestamp}}, EncodingConfig{}, nil)
	for _, c := range []struct {
		t    time.Time
		want float64
	}{
		{time.Date(1970, 1, 1, 0, 0, 0, 250_000_000, time.UTC), 0.25},
		{time.Date(1969, 12, 31, 23, 59, 59, 750_000_000, time.UTC), -0.25},
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), -2208988800},
		{time.Date(1899, 12, 31, 23, 59, 59, 999_999_000, time.UTC), -2208988800.000001},
		{time.Date(2026, 12, 3, 18, 0, 0, 123_456_000, time.FixedZone("x", 3600)), 1796317200.123456},
	} {
		got := mustEncode(t, e, []value.Value{vTime(c.t)})[0]
		if got != c.want {
			t.Errorf("%s: %.9f, want %.9f", c.t, got, c.want)
		}
		// Microseconds survive: the vector gives back the instant.
		if back := time.UnixMicro(int64(math.Round(got * 1e6))); !back.Equal(c.t) {
			t.Errorf("%s: %v decodes to %s", c.t, got, back)
		}
	}
}

func TestEncodingOneHot(t *testing.T) {
	e := buildEncoding(t, encDemoFeatures, EncodingConfig{Strings: OneHot}, encDemoRows())
	want := []string{"opens_30d", "avg_order", "subscribed", "last_order", "region=de", "region=fr", "region=uk"}
	if got := e.Columns(); !slices.Equal(got, want) {
		t.Fatalf("columns %q, want %q", got, want)
	}
	if e.Width() != len(want) {
		t.Fatalf("width %d, want %d", e.Width(), len(want))
	}
	for _, c := range []struct {
		region value.Value
		want   []float64
	}{
		{vStr("de"), []float64{1, 0, 0}},
		{vStr("fr"), []float64{0, 1, 0}},
		{vStr("uk"), []float64{0, 0, 1}},
		{vStr("jp"), []float64{nanv, nanv, nanv}}, // unknown: missing in every column
		{vNull, []float64{nanv, nanv, nanv}},
	} {
		// Reuse one buffer dirtied by the previous row: every column must be rewritten.
		buf := []float64{9, 9, 9, 9, 9, 9, 9}
		got, err := e.Encode([]value.Value{vInt(2), vFloat(1.5), vBool(true), vNull, c.region}, buf)
		if err != nil {
			t.Fatal(err)
		}
		full := append([]float64{2, 1.5, 1, nanv}, c.want...)
		if !sameBits(got, full) {
			t.Errorf("region %v: got %v, want %v", c.region, got, full)
		}
	}
}

func TestEncodingStringFeatureNeverSeenIsAllMissing(t *testing.T) {
	fs := []Feature{{Name: "s", Type: value.String}, {Name: "n", Type: value.Int64}}
	for _, strs := range []StringEncoding{Ordinal, OneHot} {
		e := buildEncoding(t, fs, EncodingConfig{Strings: strs}, [][]value.Value{{vNull, vInt(1)}})
		if got := e.Vocabulary("s"); got == nil || len(got) != 0 {
			t.Errorf("%s: vocabulary %q, want empty", strs, got)
		}
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte(`"vocabulary":[]`)) {
			t.Errorf("%s: %s: want an explicit empty vocabulary", strs, data)
		}
		back, err := ParseEncoding(data)
		if err != nil {
			t.Fatal(err)
		}
		want := map[StringEncoding][]float64{Ordinal: {nanv, 4}, OneHot: {4}}[strs]
		for _, e := range []*Encoding{e, back} {
			if got := mustEncode(t, e, []value.Value{vStr("a"), vInt(4)}); !sameBits(got, want) {
				t.Errorf("%s: got %v, want %v", strs, got, want)
			}
		}
	}
}

func TestEncodingFloatNaNIsTheMissingValue(t *testing.T) {
	e := buildEncoding(t, []Feature{{Name: "x", Type: value.Float64}}, EncodingConfig{}, nil)
	weird := math.Float64frombits(0x7ff8dead0000beef) // a NaN with a payload
	fromNull := mustEncode(t, e, []value.Value{vNull})[0]
	fromNaN := mustEncode(t, e, []value.Value{vFloat(weird)})[0]
	if !math.IsNaN(fromNull) || math.Float64bits(fromNaN) != math.Float64bits(fromNull) {
		t.Errorf("NaN input %x, null %x: want the same NaN", math.Float64bits(fromNaN), math.Float64bits(fromNull))
	}
	if got := mustEncode(t, e, []value.Value{vFloat(math.Inf(-1))})[0]; !math.IsInf(got, -1) {
		t.Errorf("-Inf encodes as %v, want -Inf", got)
	}
}

func TestEncodingVocabularyCap(t *testing.T) {
	fs := []Feature{{Name: "s", Type: value.String}}
	rows := func(vals ...string) [][]value.Value {
		var out [][]value.Value
		for _, v := range vals {
			out = append(out, []value.Value{vStr(v)})
		}
		return out
	}
	// b, c and d come first, then a is the majority: first-come would keep
	// b and c; the summary keeps a, the value above 1/(cap+1) of the rows.
	e := buildEncoding(t, fs, EncodingConfig{MaxVocabulary: 2}, rows("b", "c", "d", "a", "a", "a", "a", "a"))
	if got := e.Vocabulary("s"); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("vocabulary %q, want [a]", got)
	}
	for v, want := range map[string]float64{"a": 0, "b": nanv, "d": nanv} {
		if got := mustEncode(t, e, []value.Value{vStr(v)})[0]; math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("%q encodes as %v, want %v", v, got, want)
		}
	}

	// At or under the cap the vocabulary is exact and row order does not matter.
	in := rows("z", "y", "x", "y", "z", "z")
	e1 := buildEncoding(t, fs, EncodingConfig{MaxVocabulary: 3}, in)
	slices.Reverse(in)
	e2 := buildEncoding(t, fs, EncodingConfig{MaxVocabulary: 3}, in)
	if got := e1.Vocabulary("s"); !slices.Equal(got, []string{"x", "y", "z"}) || !slices.Equal(e2.Vocabulary("s"), got) {
		t.Errorf("vocabularies %q and %q, want [x y z] twice", got, e2.Vocabulary("s"))
	}

	// Over the cap on a skewed random stream: never more than the cap, and
	// every value above n/(cap+1) occurrences is kept.
	r := rand.New(rand.NewPCG(1, 2))
	const capacity, n = 10, 20000
	counts := map[string]int{}
	b, err := NewEncodingBuilder(fs, EncodingConfig{MaxVocabulary: capacity})
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		v := fmt.Sprintf("v%d", int(math.Floor(math.Pow(r.Float64(), 3)*500))) // v0 most frequent
		counts[v]++
		if err := b.Add([]value.Value{vStr(v)}); err != nil {
			t.Fatal(err)
		}
	}
	e, err = b.Encoding()
	if err != nil {
		t.Fatal(err)
	}
	vocab := e.Vocabulary("s")
	if len(vocab) > capacity || len(counts) <= capacity {
		t.Fatalf("vocabulary of %d from %d distinct values, cap %d", len(vocab), len(counts), capacity)
	}
	heavy := 0
	for v, c := range counts {
		if c > n/(capacity+1) {
			heavy++
			if !slices.Contains(vocab, v) {
				t.Errorf("%q occurs %d times of %d but is not in the vocabulary %q", v, c, n, vocab)
			}
		}
	}
	if heavy == 0 {
		t.Fatal("the stream has no frequent value; the test proves nothing")
	}
}

func TestEncodingIsDeterministic(t *testing.T) {
	rows := encDemoRows()
	for _, strs := range []StringEncoding{Ordinal, OneHot} {
		e1 := buildEncoding(t, encDemoFeatures, EncodingConfig{Strings: strs}, rows)
		shuffled := slices.Clone(rows)
		rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		e2 := buildEncoding(t, encDemoFeatures, EncodingConfig{Strings: strs}, shuffled)
		j1, _ := json.Marshal(e1)
		j2, _ := json.Marshal(e2)
		if !bytes.Equal(j1, j2) {
			t.Fatalf("%s: same rows in another order give another encoding:\n%s\n%s", strs, j1, j2)
		}
		e3, err := ParseEncoding(j1)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]float64, 0, e1.Width())
		for i, r := range rows {
			a := mustEncode(t, e1, r)
			b := mustEncode(t, e1, r) // the same encoding twice
			c := mustEncode(t, e3, r) // the stored copy, as serving would load it
			d, err := e2.Encode(r, buf)
			if err != nil {
				t.Fatal(err)
			}
			if !sameBits(a, b) || !sameBits(a, c) || !sameBits(a, d) {
				t.Errorf("%s row %d: vectors differ: %v %v %v %v", strs, i, a, b, c, d)
			}
		}
	}
}

func TestEncodingRowErrors(t *testing.T) {
	e := buildEncoding(t, encDemoFeatures, EncodingConfig{}, encDemoRows())
	b, err := NewEncodingBuilder(encDemoFeatures, EncodingConfig{})
	if err != nil {
		t.Fatal(err)
	}
	good := encDemoRows()[0]
	cases := []struct {
		row  []value.Value
		want []string
	}{
		{good[:4], []string{"4 values for 5 features", "opens_30d, avg_order, subscribed, last_order, region"}},
		{append(slices.Clone(good), vNull), []string{"6 values for 5 features"}},
		{nil, []string{"0 values for 5 features"}},
		{[]value.Value{vFloat(3), vFloat(1), vBool(true), vNull, vNull}, []string{`feature "opens_30d" is int64`, "value \"3\" is float64"}},
		{[]value.Value{vInt(3), vInt(1), vBool(true), vNull, vNull}, []string{`feature "avg_order" is float64`, "is int64"}},
		{[]value.Value{vInt(3), vFloat(1), vInt(1), vNull, vNull}, []string{`feature "subscribed" is bool`, "is int64"}},
		{[]value.Value{vInt(3), vFloat(1), vBool(true), vStr("2026-01-01"), vNull}, []string{`feature "last_order" is timestamp`, "is string"}},
		{[]value.Value{vInt(3), vFloat(1), vBool(true), vNull, vInt(44)}, []string{`feature "region" is string`, `value "44" is int64`}},
	}
	for i, c := range cases {
		out := make([]float64, 0, 8)
		got, encErr := e.Encode(c.row, out)
		addErr := b.Add(c.row)
		for _, err := range []error{encErr, addErr} {
			if !errors.Is(err, ErrInvalidRow) {
				t.Errorf("case %d: err %v, want ErrInvalidRow", i, err)
				continue
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("case %d: %q does not say %q", i, err, w)
				}
			}
		}
		if len(got) != 0 {
			t.Errorf("case %d: vector %v returned with an error", i, got)
		}
	}
}

func TestEncodingBuilderSkipsRejectedRowsAndInvalidUTF8(t *testing.T) {
	b, err := NewEncodingBuilder(encDemoFeatures, EncodingConfig{})
	if err != nil {
		t.Fatal(err)
	}
	// The bad value comes after the string: the row must still add nothing.
	if err := b.Add([]value.Value{vInt(1), vFloat(1), vBool(true), vStr("uk"), vStr("de")}); !errors.Is(err, ErrInvalidRow) {
		t.Fatalf("err %v, want ErrInvalidRow", err)
	}
	if err := b.Add([]value.Value{vInt(1), vFloat(1), vBool(true), vNull, vStr("fr\xff")}); err != nil {
		t.Fatal(err)
	}
	e, err := b.Encoding()
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Vocabulary("region"); len(got) != 0 {
		t.Fatalf("vocabulary %q, want empty (one rejected row, one invalid UTF-8 value)", got)
	}
	if got := mustEncode(t, e, []value.Value{vNull, vNull, vNull, vNull, vStr("fr\xff")}); !math.IsNaN(got[4]) {
		t.Errorf("invalid UTF-8 string encodes as %v, want missing", got[4])
	}
}

func TestEncodingConfigAndFeatureErrors(t *testing.T) {
	for _, c := range []struct {
		features []Feature
		cfg      EncodingConfig
		want     string
	}{
		{encDemoFeatures, EncodingConfig{Strings: "hash"}, `string encoding "hash"`},
		{encDemoFeatures, EncodingConfig{MaxVocabulary: -1}, "max vocabulary -1"},
		{nil, EncodingConfig{}, "no features"},
		{[]Feature{{Name: "a", Type: value.Int64}, {Name: "a", Type: value.Bool}}, EncodingConfig{}, `feature "a" appears twice`},
		{[]Feature{{Name: "", Type: value.Int64}}, EncodingConfig{}, "feature 1 has no name"},
		{[]Feature{{Name: "v", Type: "vector"}}, EncodingConfig{}, `feature "v": unknown type "vector"`},
		{[]Feature{{Name: "n", Type: value.Null}}, EncodingConfig{}, `feature "n": unknown type ""`},
	} {
		_, err := NewEncodingBuilder(c.features, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %+v: err %v, want %q", c.features, c.cfg, err, c.want)
		}
	}
	// One-hot column names must not collide with another feature's.
	b, err := NewEncodingBuilder([]Feature{{Name: "a", Type: value.String}, {Name: "a=b", Type: value.Int64}}, EncodingConfig{Strings: OneHot})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Add([]value.Value{vStr("b"), vInt(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Encoding(); err == nil || !strings.Contains(err.Error(), `column name "a=b" is used twice`) {
		t.Errorf("colliding columns: err %v", err)
	}
}

func TestEncodingJSONRoundTrip(t *testing.T) {
	for _, strs := range []StringEncoding{Ordinal, OneHot} {
		rows := append(encDemoRows(), []value.Value{vNull, vNull, vNull, vNull, vStr("bougie à la cannelle 🕯 \"quoted\"\n")})
		e := buildEncoding(t, encDemoFeatures, EncodingConfig{Strings: strs, MaxVocabulary: 50}, rows)
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		// Through a containing struct, as a model version record would hold it.
		var holder struct {
			Encoding *Encoding `json:"encoding"`
		}
		if err := json.Unmarshal([]byte(`{"encoding":`+string(data)+`}`), &holder); err != nil {
			t.Fatal(err)
		}
		back := holder.Encoding
		if !slices.Equal(back.Features(), e.Features()) || !slices.Equal(back.Columns(), e.Columns()) ||
			back.Strings() != strs || !slices.Equal(back.Vocabulary("region"), e.Vocabulary("region")) {
			t.Fatalf("%s: round trip changed the encoding:\n%s\nfeatures %v columns %q", strs, data, back.Features(), back.Columns())
		}
		again, _ := json.Marshal(back)
		if !bytes.Equal(again, data) {
			t.Errorf("%s: re-marshalled JSON differs:\n%s\n%s", strs, data, again)
		}
		for _, r := range rows {
			if a, b := mustEncode(t, e, r), mustEncode(t, back, r); !sameBits(a, b) {
				t.Errorf("%s: %v encodes as %v, after the round trip %v", strs, r, a, b)
			}
		}
	}
}

func TestEncodingGolden(t *testing.T) {
	for _, strs := range []StringEncoding{Ordinal, OneHot} {
		e := buildEncoding(t, encDemoFeatures, EncodingConfig{Strings: strs}, encDemoRows())
		got, err := json.MarshalIndent(e, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		golden := filepath.Join("testdata", "encoding", string(strs)+".golden")
		if *updateEncoding {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./model -run TestEncodingGolden -update-encoding to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s changed: the stored form of model versions changes with it (bump EncodingVersion if so); if intended, run go test ./model -run TestEncodingGolden -update-encoding\n--- got\n%s\n--- want\n%s", golden, got, want)
		}
		// The golden file is also a stored encoding that must keep parsing.
		if _, err := ParseEncoding(want); err != nil {
			t.Errorf("%s: %v", golden, err)
		}
	}
}

func TestParseEncodingRejectsCorruptJSON(t *testing.T) {
	valid := `{"version":1,"strings":"ordinal","max_vocabulary":3,"features":[{"name":"n","type":"int64"},{"name":"s","type":"string","vocabulary":["a","b"]}]}`
	if _, err := ParseEncoding([]byte(valid)); err != nil {
		t.Fatalf("the valid base case: %v", err)
	}
	for _, c := range []struct{ in, want string }{
		{``, "EOF"},
		{`nope`, "invalid character"},
		{valid[:40], "unexpected EOF"},
		{valid + `{}`, "data after the JSON object"},
		{valid + ` x`, "data after the JSON object"},
		{`[]`, "cannot unmarshal array"},
		{strings.Replace(valid, `"version":1`, `"version":2`, 1), "version 2 is not one this slipway reads (1): upgrade slipway"},
		{strings.Replace(valid, `"version":1,`, ``, 1), "no version field"},
		{strings.Replace(valid, `"version":1`, `"version":"1"`, 1), "cannot unmarshal string"},
		{strings.Replace(valid, `"strings":"ordinal"`, `"strings":"hash"`, 1), `string encoding "hash"`},
		{strings.Replace(valid, `"strings":"ordinal",`, ``, 1), "no strings field"},
		{strings.Replace(valid, `"max_vocabulary":3`, `"max_vocabulary":1`, 1), "vocabulary of 2 values exceeds max_vocabulary 1"},
		{strings.Replace(valid, `"max_vocabulary":3`, `"max_vocabulary":-3`, 1), "max vocabulary -3"},
		{strings.Replace(valid, `"max_vocabulary":3,`, ``, 1), "no max_vocabulary field"},
		{strings.Replace(valid, `"max_vocabulary"`, `"max_vocab"`, 1), `unknown field "max_vocab"`},
		{strings.Replace(valid, `["a","b"]`, `["b","a"]`, 1), `vocabulary is not in ascending byte order with no repeats at "a"`},
		{strings.Replace(valid, `["a","b"]`, `["a","a"]`, 1), `not in ascending byte order with no repeats at "a"`},
		{strings.Replace(valid, `,"vocabulary":["a","b"]`, ``, 1), `string feature "s" has no vocabulary field`},
		{strings.Replace(valid, `"type":"int64"`, `"type":"int64","vocabulary":[]`, 1), `feature "n" is int64: only string features have a vocabulary`},
		{strings.Replace(valid, `"type":"int64"`, `"type":"decimal"`, 1), `feature "n": unknown type "decimal"`},
		{strings.Replace(valid, `"name":"s"`, `"name":"n"`, 1), `feature "n" appears twice`},
		{strings.Replace(valid, `"name":"s"`, `"name":""`, 1), "feature 2 has no name"},
		{`{"version":1,"strings":"ordinal","max_vocabulary":3,"features":[]}`, "no features"},
	} {
		_, err := ParseEncoding([]byte(c.in))
		if !errors.Is(err, ErrInvalidEncoding) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseEncoding(%s): err %v, want ErrInvalidEncoding saying %q", c.in, err, c.want)
		}
	}
	var e Encoding
	if err := json.Unmarshal([]byte(`{"version":9}`), &e); !errors.Is(err, ErrInvalidEncoding) {
		t.Errorf("UnmarshalJSON: err %v, want ErrInvalidEncoding", err)
	}
}

func TestEncodingEncodeDoesNotAllocate(t *testing.T) {
	for _, strs := range []StringEncoding{Ordinal, OneHot} {
		e := buildEncoding(t, encDemoFeatures, EncodingConfig{Strings: strs}, encDemoRows())
		rows := encDemoRows()
		out := make([]float64, 0, e.Width())
		var err error
		allocs := testing.AllocsPerRun(100, func() {
			for _, r := range rows {
				if out, err = e.Encode(r, out[:0]); err != nil {
					t.Fatal(err)
				}
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per run of %d rows, want 0", strs, allocs, len(rows))
		}
		// And without capacity it allocates the vector itself.
		if got, err := e.Encode(rows[0], nil); err != nil || len(got) != e.Width() {
			t.Errorf("%s: Encode(nil buffer) = %v, %v", strs, got, err)
		}
	}
}

// FuzzParseEncoding: any input is either rejected with ErrInvalidEncoding or
// is an encoding that re-marshals to a fixed point and encodes an all-null row.
func FuzzParseEncoding(f *testing.F) {
	goldens, _ := filepath.Glob(filepath.Join("testdata", "encoding", "*.golden"))
	for _, g := range goldens {
		if data, err := os.ReadFile(g); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"version":1,"strings":"onehot","max_vocabulary":2,"features":[{"name":"s","type":"string","vocabulary":["","\u00e9"]}]}`))
	f.Add([]byte(`{"version":1,"strings":"ordinal","max_vocabulary":1,"features":[{"name":"t","type":"timestamp"}]} `))
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEncoding(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidEncoding) {
				t.Fatalf("error %v does not wrap ErrInvalidEncoding", err)
			}
			return
		}
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		e2, err := ParseEncoding(out)
		if err != nil {
			t.Fatalf("re-marshalled %s does not parse: %v", out, err)
		}
		if out2, _ := json.Marshal(e2); !bytes.Equal(out, out2) {
			t.Fatalf("not a fixed point:\n%s\n%s", out, out2)
		}
		row := make([]value.Value, len(e.Features()))
		vec, err := e.Encode(row, nil)
		if err != nil || len(vec) != e.Width() || len(e.Columns()) != e.Width() {
			t.Fatalf("all-null row: %v, %v (width %d)", vec, err, e.Width())
		}
		for i, x := range vec {
			if !math.IsNaN(x) {
				t.Fatalf("all-null row: column %d is %v, want NaN", i, x)
			}
		}
	})
}

func ExampleEncodingBuilder() {
	features := []Feature{
		{Name: "opens_30d", Type: value.Int64},
		{Name: "region", Type: value.String},
		{Name: "last_order", Type: value.Timestamp},
	}
	b, err := NewEncodingBuilder(features, EncodingConfig{})
	if err != nil {
		panic(err)
	}
	// One pass over the training rows (in practice a stream from the offline store).
	for _, row := range [][]value.Value{
		{value.FromInt64(4), value.FromString("uk"), value.FromTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))},
		{value.FromInt64(0), value.FromString("de"), value.NullValue()},
	} {
		if err := b.Add(row); err != nil {
			panic(err)
		}
	}
	enc, err := b.Encoding()
	if err != nil {
		panic(err)
	}
	stored, _ := json.Marshal(enc) // kept with the model version

	// At serving time: the stored encoding, one reused buffer per worker.
	enc, err = ParseEncoding(stored)
	if err != nil {
		panic(err)
	}
	buf := make([]float64, 0, enc.Width())
	vec, err := enc.Encode([]value.Value{value.FromInt64(2), value.FromString("fr"), value.FromTime(time.Date(2026, 1, 1, 12, 0, 0, 500_000_000, time.UTC))}, buf)
	if err != nil {
		panic(err)
	}
	fmt.Println(enc.Columns())
	fmt.Println(vec) // "fr" was not in the training rows: missing (NaN)
	fmt.Println(string(stored))
	// Output:
	// [opens_30d region last_order]
	// [2 NaN 1.7672688005e+09]
	// {"version":1,"strings":"ordinal","max_vocabulary":1000,"features":[{"name":"opens_30d","type":"int64"},{"name":"region","type":"string","vocabulary":["de","uk"]},{"name":"last_order","type":"timestamp"}]}
}
