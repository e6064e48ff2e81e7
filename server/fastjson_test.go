package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// The fast path's invariants (fastjson.go): the hand decoder accepts only
// bodies the strict decoder accepts, with the same features and entity
// keys; the hand encoder writes writeJSON's bytes.

// fastDecodeSeeds are realistic and nasty request bodies.
var fastDecodeSeeds = []string{
	`{"features":["opens_30d:v1","avg_order_value"],"entities":["sub_1036","sub_7"]}`,
	`{"entities":["sub_1036"],"features":["opens_30d:v1"]}`,
	"\r\n\t {\n  \"features\" : [ \"opens_30d:v1\" ,\t\"x\" ] ,\n  \"entities\" : [ 42 , -7 , 0 , \"k\" ]\n}\n\t ",
	`{}`, `{"features":[]}`, `{"entities":[]}`, `{"features":null,"entities":null}`, `{"features":[],"entities":[]}`,
	`{"features":["é日本🚀"],"entities":["ü"]}`,
	`{"features":["a"],"entities":[9223372036854775807,-9223372036854775808]}`,
	`{"features":["a"],"entities":[9223372036854775808]}`,
	`{"features":["a"],"entities":[-0, 0, 00, 01, -]}`,
	`{"features":["a"],"entities":[1.5, 1e3, 1E3, 1.0, true, null, ["x"], {"id":1}]}`,
	`{"features":["a"],"entities":[null]}`, `{"features":[null],"entities":["x"]}`, `{"features":[1],"entities":["x"]}`,
	`{"features":["a\"b","c\\d","\u00e9","\n"],"entities":["\ud800","\u2028"]}`,
	"{\"features\":[\"a\x01\"],\"entities\":[\"x\"]}", "{\"features\":[\"\xff\"],\"entities\":[\"x\"]}",
	"{\"features\":[\"\xed\xa0\x80\"],\"entities\":[\"x\"]}", "{\"features\":[\"\xe2\x80\xa8<>&\x7f\"],\"entities\":[\"x\"]}",
	`{"Features":["a"],"entities":["x"]}`, `{"FEATURES":["a"]}`, `{"features":["a"],"features":["b"]}`,
	`{"entities":["a"],"entities":["b"]}`, `{"features":["a"],"entity":"subscriber"}`,
	`{"features":["a"],"entities":["x"]} x`, `{"features":["a"],"entities":["x"]}}`, `{"features":["a"],"entities":["x"]}]`,
	`{"features":["a"],"entities":["x"]} {}`, `{"features":["a"],"entities":["x"],}`, `{"features":["a",],"entities":["x"]}`,
	`{"features":["a"] "entities":["x"]}`, `{"features" ["a"]}`, `{"features":["a"]`, `{"features":["a"`, `{"features":[`,
	`{"features":nul}`, `{"features":nullx}`, `{"features":"a"}`, `{"features":{}}`, `{,}`, `{"":1}`,
	``, ` `, `[]`, `null`, `"x"`, `{`, `}`, "\ufeff{}", "{}\x00", `{"features":["a"],"entities":[1 2]}`,
	`{"features":["a"],"entities":[--1]}`, `{"features":["a"],"entities":[+1]}`, `{"features":["a"],"entities":[1,]}`,
	`{"features":["a,b]"],"entities":["],["]}`, `{"features":["` + strings.Repeat("f", 300) + `"],"entities":[` + strings.Repeat(`"e",`, 200) + `"e"]}`,
}

// FuzzOnlineFeaturesDecode: when decodeOnlineFeaturesFast accepts a body,
// the strict path accepts it too and decodes the same features and entity
// keys (nil or not alike).
func FuzzOnlineFeaturesDecode(f *testing.F) {
	for _, s := range fastDecodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFastDecode(t, body)
	})
}

func checkFastDecode(t *testing.T, body []byte) bool {
	t.Helper()
	checkPredictFastDecode(t, body)
	features, entities, ok := decodeOnlineFeaturesFast(body)
	wantF, wantE, err := decodeOnlineFeatures(bytes.NewReader(body))
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("%q: the fast decoder accepts what the strict one refuses: %v", body, err)
	}
	if !reflect.DeepEqual(features, wantF) || !reflect.DeepEqual(entities, wantE) {
		t.Fatalf("%q: fast decoded features %#v entities %#v; strict %#v %#v", body, features, entities, wantF, wantE)
	}
	return true
}

// checkPredictFastDecode: when decodePredictFast accepts a body, the
// strict path of predict accepts it and asks for the same entities.
func checkPredictFastDecode(t *testing.T, body []byte) {
	t.Helper()
	entities, ok := decodePredictFast(body)
	var pb PredictRequest
	err := decodeReader(bytes.NewReader(body), &pb)
	var want *serving.PredictRequest
	if err == nil {
		want, err = PredictRequestFromBody("purchase", &pb)
	}
	if !ok {
		return
	}
	if err != nil {
		t.Fatalf("%q: the fast predict decoder accepts what the strict one refuses: %v", body, err)
	}
	if got := (&serving.PredictRequest{Endpoint: "purchase", Entities: entities}); !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: fast decoded %#v; strict %#v", body, got, want)
	}
}

// TestFastDecodeSeeds runs the seeds in every go test, and checks that the
// decoder does take the common shapes (else the fast path would be dead).
func TestFastDecodeSeeds(t *testing.T) {
	accepted := 0
	for _, s := range fastDecodeSeeds {
		if checkFastDecode(t, []byte(s)) {
			accepted++
		}
	}
	for _, s := range fastDecodeSeeds[:10] {
		if _, _, ok := decodeOnlineFeaturesFast([]byte(s)); !ok {
			t.Errorf("%q: declined; the fast decoder is for this shape", s)
		}
	}
	t.Logf("%d of %d seeds taken by the fast decoder", accepted, len(fastDecodeSeeds))
	for _, s := range []string{`{"entities":["sub_1",2]}`, ` { "entities" : [ ] } `, `{}`} {
		if _, ok := decodePredictFast([]byte(s)); !ok {
			t.Errorf("%q: the fast predict decoder declined", s)
		}
	}
	for _, s := range []string{`{"entities":["sub_1"],"features":[{"x":1}]}`, `{"features":null}`, `{"features":[]}`} {
		if _, ok := decodePredictFast([]byte(s)); ok {
			t.Errorf("%q: the fast predict decoder took request-time features", s)
		}
	}
}

// TestReadBodyErrors: a body whose read fails is decoded by the strict
// path from what was read and the error, so the 413 and timeout answers
// are the ones decode gives.
func TestReadBodyErrors(t *testing.T) {
	body := `{"features":["a"],"entities":["x"]}`
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"too large", &http.MaxBytesError{Limit: 10}, "larger than"},
		{"timeout", os.ErrDeadlineExceeded, "timed out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, rest := range []string{"", " ", "x"} {
				r := io.MultiReader(iotest.OneByteReader(strings.NewReader(body+rest)), errReader{tc.err})
				b, rerr := readBody(r, nil, -1)
				if !errors.Is(rerr, tc.err) || string(b) != body+rest {
					t.Fatalf("readBody: %q, %v", b, rerr)
				}
				_, _, err := decodeOnlineFeatures(rereader(b, rerr))
				_, _, want := decodeOnlineFeatures(io.MultiReader(strings.NewReader(body+rest), errReader{tc.err}))
				if err == nil || want == nil || err.Error() != want.Error() {
					t.Fatalf("rest %q: %v; want %v", rest, err, want)
				}
				if rest != "x" && !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("rest %q: %v; want %q", rest, err, tc.want)
				}
			}
		})
	}
	// A declared length is read in full whatever the buffer.
	for _, n := range []int64{-1, 0, 3, int64(len(body)), 1 << 20} {
		b, err := readBody(strings.NewReader(body), make([]byte, 0, 4), n)
		if err != nil || string(b) != body {
			t.Fatalf("declared %d: %q, %v", n, b, err)
		}
	}
}

// onlineFeaturesResponse and resultRow are the answer as writeJSON wrote
// it before appendOnlineFeatures: the reference for its bytes.
type onlineFeaturesResponse struct {
	Entity   string      `json:"entity"`
	Features []string    `json:"features"`
	Results  []resultRow `json:"results"`
}

type resultRow struct {
	Entity     string           `json:"entity"`
	Values     []value.Value    `json:"values"`
	Statuses   []serving.Status `json:"statuses"`
	Timestamps []*string        `json:"timestamps"`
}

// writeJSONResponse writes resp as onlineFeatures did before the fast path.
func writeJSONResponse(w http.ResponseWriter, resp *serving.Response) {
	out := onlineFeaturesResponse{Entity: resp.Entity, Features: resp.Features, Results: make([]resultRow, len(resp.Rows))}
	for i, row := range resp.Rows {
		ts := make([]*string, len(row.Timestamps))
		for j, t := range row.Timestamps {
			if !t.IsZero() {
				s := t.UTC().Format(value.TimeFormat)
				ts[j] = &s
			}
		}
		out.Results[i] = resultRow{Entity: row.Entity, Values: row.Values, Statuses: row.Statuses, Timestamps: ts}
	}
	writeJSON(w, http.StatusOK, out)
}

// oddStrings have every character encoding/json treats specially.
var oddStrings = []string{
	"", "plain", "opens_30d:v1", `quote " backslash \ slash /`, "<script>&amp;</script>", "\b\f\n\r\t\x00\x01\x1f\x7f",
	"é ü 日本 🚀", "bad \xff utf8 \xfe", "\xed\xa0\x80 surrogate", "cut \xe2\x80", "\xe2\x80\xa8 \xe2\x80\xa9 \u2028\u2029",
	"\xf4\x90\x80\x80 over max", "\xc0\xaf overlong", "a\u00a0b\ufeffc", strings.Repeat("<&>", 50),
}

// randomString mixes odd pieces and random bytes.
func randomString(rng *rand.Rand) string {
	var b strings.Builder
	for range rng.IntN(5) {
		if rng.IntN(3) == 0 {
			for range rng.IntN(8) {
				b.WriteByte(byte(rng.UintN(256)))
			}
			continue
		}
		b.WriteString(oddStrings[rng.IntN(len(oddStrings))])
	}
	return b.String()
}

var oddFloats = []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), 1e20, 1e21, 1e-6, 1e-7, 0.1, 1.0 / 3,
	-123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64, float64(1 << 53), 5e-324, 1.7976931348623157e308}

var oddTimes = []time.Time{{}, time.Unix(0, 0), time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC),
	time.Date(2025, 6, 1, 12, 0, 0, 0, time.FixedZone("x", -7*3600)), time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
	time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-5, 3, 1, 0, 0, 0, 0, time.UTC), time.UnixMicro(math.MaxInt64), time.UnixMicro(math.MinInt64)}

func randomValue(rng *rand.Rand) value.Value {
	switch rng.IntN(9) {
	case 0:
		return value.NullValue()
	case 1:
		return value.FromInt64(int64(rng.Uint64()))
	case 2:
		return value.FromInt64([]int64{0, -1, math.MaxInt64, math.MinInt64}[rng.IntN(4)])
	case 3:
		return value.FromFloat64(oddFloats[rng.IntN(len(oddFloats))])
	case 4:
		return value.FromFloat64(math.Float64frombits(rng.Uint64()))
	case 5:
		return value.FromFloat64(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20)))
	case 6:
		return value.FromString(randomString(rng))
	case 7:
		return value.FromBool(rng.IntN(2) == 0)
	}
	if rng.IntN(2) == 0 {
		return value.FromMicros(int64(rng.Uint64()))
	}
	return value.FromTime(oddTimes[rng.IntN(len(oddTimes))])
}

func randomResponse(rng *rand.Rand) *serving.Response {
	resp := &serving.Response{Entity: randomString(rng)}
	nf := rng.IntN(6)
	if rng.IntN(8) > 0 {
		resp.Features = make([]string, nf)
		for j := range resp.Features {
			resp.Features[j] = randomString(rng)
		}
	}
	if rng.IntN(8) > 0 {
		resp.Rows = make([]serving.Row, rng.IntN(4))
	}
	for i := range resp.Rows {
		row := &resp.Rows[i]
		row.Entity = randomString(rng)
		if rng.IntN(8) > 0 {
			row.Values = make([]value.Value, nf)
			for j := range row.Values {
				row.Values[j] = randomValue(rng)
			}
		}
		if rng.IntN(8) > 0 {
			row.Statuses = make([]serving.Status, nf)
			for j := range row.Statuses {
				row.Statuses[j] = []serving.Status{serving.Found, serving.NotFound, serving.OutsideMaxAge, serving.Status(randomString(rng))}[rng.IntN(4)]
			}
		}
		if rng.IntN(8) > 0 {
			row.Timestamps = make([]time.Time, nf)
			for j := range row.Timestamps {
				if rng.IntN(3) == 0 {
					row.Timestamps[j] = time.UnixMicro(int64(rng.Uint64())).In(time.FixedZone("z", rng.IntN(20)*1800))
				} else {
					row.Timestamps[j] = oddTimes[rng.IntN(len(oddTimes))]
				}
			}
		}
	}
	return resp
}

// TestAppendOnlineFeaturesIsWriteJSON: for random answers with every kind
// of value and odd strings, the fast encoder's bytes and headers are
// writeJSON's.
func TestAppendOnlineFeaturesIsWriteJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 2))
	resps := []*serving.Response{{}, {Rows: []serving.Row{{}}}}
	for range 5000 {
		resps = append(resps, randomResponse(rng))
	}
	for i, resp := range resps {
		want := httptest.NewRecorder()
		writeJSONResponse(want, resp)
		got := httptest.NewRecorder()
		writeJSONBytes(got, http.StatusOK, appendOnlineFeatures([]byte("x")[:0:0], resp))
		if want.Code != http.StatusOK {
			t.Fatalf("response %d: writeJSON failed: %s", i, want.Body)
		}
		if !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
			t.Fatalf("response %d (%+v):\n got %q\nwant %q", i, resp, got.Body, want.Body)
		}
		if !reflect.DeepEqual(got.Header(), want.Header()) {
			t.Fatalf("response %d: headers %v; want %v", i, got.Header(), want.Header())
		}
	}
}

// FuzzAppendJSON: strings as encoding/json writes them, as plain strings
// and as string values.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range oddStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString([]byte("prefix"), s)[6:]; !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %q; json.Marshal %q", s, got, want)
		}
		v := value.FromString(s)
		if want, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
		if got := appendValue([]byte("prefix"), v)[6:]; !bytes.Equal(got, want) {
			t.Fatalf("appendValue(%q) = %q; json.Marshal %q", s, got, want)
		}
	})
}

// TestAppendValueIsJSONMarshal covers the other kinds value by value.
func TestAppendValueIsJSONMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 3))
	vals := []value.Value{value.NullValue(), value.FromBool(true), value.FromBool(false)}
	for _, x := range oddFloats {
		vals = append(vals, value.FromFloat64(x))
	}
	for _, x := range oddTimes {
		vals = append(vals, value.FromTime(x))
	}
	for range 20000 {
		vals = append(vals, randomValue(rng))
	}
	for _, v := range vals {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendValue(nil, v); !bytes.Equal(got, want) {
			t.Fatalf("appendValue(%v %v) = %q; json.Marshal %q", v.Type(), v, got, want)
		}
	}
}

func randomFloat(rng *rand.Rand) float64 {
	switch rng.IntN(4) {
	case 0:
		return oddFloats[rng.IntN(len(oddFloats))]
	case 1:
		return math.Float64frombits(rng.Uint64())
	case 2:
		return rng.Float64()
	}
	return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(60)-30))
}

func randomStrings(rng *rand.Rand) []string {
	if rng.IntN(4) == 0 {
		return nil
	}
	list := make([]string, rng.IntN(4))
	for i := range list {
		list[i] = randomString(rng)
	}
	return list
}

func randomPredictResponse(rng *rand.Rand) *serving.PredictResponse {
	resp := &serving.PredictResponse{Endpoint: randomString(rng), Model: randomString(rng), Alias: randomString(rng),
		Version: int(rng.Int64()), Task: randomString(rng), Features: randomStrings(rng)}
	if rng.IntN(8) > 0 {
		resp.Predictions = make([]serving.Prediction, rng.IntN(4))
	}
	some := func() bool { return rng.IntN(2) == 0 }
	for i := range resp.Predictions {
		p := &resp.Predictions[i]
		p.ID, p.Entity, p.Model, p.Version = randomString(rng), randomString(rng), randomString(rng), rng.IntN(100)-50
		if some() {
			p.Experiment, p.Arm = randomString(rng), randomString(rng)
		}
		if some() {
			f := randomFloat(rng)
			p.Probability = &f
		}
		if some() {
			c := int(rng.Int64())
			p.Class = &c
		}
		if some() {
			f := randomFloat(rng)
			p.Value = &f
		}
		if some() {
			p.Probabilities = make([]float64, rng.IntN(4))
			for j := range p.Probabilities {
				p.Probabilities[j] = randomFloat(rng)
			}
		}
		p.Missing, p.OutsideMaxAge = randomStrings(rng), randomStrings(rng)
	}
	return resp
}

// TestAppendPredictIsWriteJSON: for random predictions, the fast encoder's
// bytes and headers are writeJSON's; where it gives up (a non-finite
// float), writeJSON fails too.
func TestAppendPredictIsWriteJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 4))
	resps := []*serving.PredictResponse{{}, {Predictions: []serving.Prediction{{}}}}
	for range 5000 {
		resps = append(resps, randomPredictResponse(rng))
	}
	encoded := 0
	for i, resp := range resps {
		want := httptest.NewRecorder()
		writeJSON(want, http.StatusOK, resp)
		b, ok := appendPredict(nil, resp)
		if !ok {
			if want.Code != http.StatusInternalServerError {
				t.Fatalf("response %d (%+v): appendPredict gave up, writeJSON wrote %s", i, resp, want.Body)
			}
			continue
		}
		encoded++
		got := httptest.NewRecorder()
		writeJSONBytes(got, http.StatusOK, b)
		if want.Code != http.StatusOK || !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
			t.Fatalf("response %d (%+v):\n got %q\nwant %d %q", i, resp, got.Body, want.Code, want.Body)
		}
		if !reflect.DeepEqual(got.Header(), want.Header()) {
			t.Fatalf("response %d: headers %v; want %v", i, got.Header(), want.Header())
		}
	}
	if encoded < len(resps)/4 {
		t.Fatalf("only %d of %d responses encoded: the test's floats are too often non-finite", encoded, len(resps))
	}
}

// FuzzAppendFloat: floats as encoding/json writes them.
func FuzzAppendFloat(f *testing.F) {
	for _, x := range oddFloats {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		want, err := json.Marshal(x)
		got, ok := appendFloat([]byte("prefix"), x)
		if ok != (err == nil) {
			t.Fatalf("appendFloat(%v): ok %v; json.Marshal: %v", x, ok, err)
		}
		if ok && !bytes.Equal(got[6:], want) {
			t.Fatalf("appendFloat(%v) = %q; json.Marshal %q", x, got[6:], want)
		}
	})
}

// benchResponse is an answer of the benchmarks' shape: entities × features
// of alternating int64 and float64 values, all found.
func benchResponse(entities, features int) (*serving.Response, []byte) {
	resp := &serving.Response{Entity: "subscriber", Features: make([]string, features), Rows: make([]serving.Row, entities)}
	for j := range resp.Features {
		resp.Features[j] = fmt.Sprintf("f%02d:v1", j)
	}
	keys := make([]string, entities)
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for i := range resp.Rows {
		keys[i] = fmt.Sprintf("sub_%d", (i*7919)%10_000)
		row := serving.Row{Entity: keys[i], Values: make([]value.Value, features), Statuses: make([]serving.Status, features), Timestamps: make([]time.Time, features)}
		for j := range features {
			row.Values[j] = value.FromInt64(int64(i * j))
			if j%2 == 1 {
				row.Values[j] = value.FromFloat64(float64(i+j) / 7)
			}
			row.Statuses[j] = serving.Found
			row.Timestamps[j] = at.Add(-time.Duration(i) * time.Minute)
		}
		resp.Rows[i] = row
	}
	body, _ := json.Marshal(map[string]any{"features": resp.Features, "entities": keys})
	return resp, body
}

// discardWriter is a ResponseWriter that keeps nothing but its headers.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkOnlineFeaturesJSON measures the JSON of POST /v1/online-features
// alone: decoding the body and writing the answer, the way onlineFeatures
// did before the fast path (strict) and does now (fast).
func BenchmarkOnlineFeaturesJSON(b *testing.B) {
	for _, shape := range []struct{ entities, features int }{{1, 20}, {100, 20}} {
		resp, body := benchResponse(shape.entities, shape.features)
		b.Run(fmt.Sprintf("%dx%d/strict", shape.entities, shape.features), func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			for b.Loop() {
				if _, _, err := decodeOnlineFeatures(bytes.NewReader(body)); err != nil {
					b.Fatal(err)
				}
				writeJSONResponse(w, resp)
			}
		})
		b.Run(fmt.Sprintf("%dx%d/fast", shape.entities, shape.features), func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			for b.Loop() {
				buf := getBuf()
				in, err := readBody(bytes.NewReader(body), *buf, int64(len(body)))
				if err != nil {
					b.Fatal(err)
				}
				if _, _, ok := decodeOnlineFeaturesFast(in); !ok {
					b.Fatal("declined")
				}
				*buf = appendOnlineFeatures(in[:0], resp)
				writeJSONBytes(w, http.StatusOK, *buf)
				putBuf(buf)
			}
		})
	}
}

// BenchmarkPredictJSON is BenchmarkOnlineFeaturesJSON for POST
// /v1/endpoints/{name}/predict: 1 and 100 entities, binary classification.
func BenchmarkPredictJSON(b *testing.B) {
	for _, n := range []int{1, 100} {
		resp := &serving.PredictResponse{Endpoint: "purchase:default", Model: "purchase_model:default", Alias: "production", Version: 3,
			Task: "binary_classification", Features: make([]string, 20), Predictions: make([]serving.Prediction, n)}
		for j := range resp.Features {
			resp.Features[j] = fmt.Sprintf("f%02d", j)
		}
		keys := make([]string, n)
		for i := range resp.Predictions {
			keys[i] = fmt.Sprintf("sub_%d", (i*7919)%10_000)
			p, c := float64(i)/float64(n+1), i%2
			resp.Predictions[i] = serving.Prediction{ID: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Entity: keys[i], Model: "purchase_model:default", Version: 3,
				Probability: &p, Class: &c, Missing: []string{}, OutsideMaxAge: []string{}}
		}
		body, _ := json.Marshal(map[string]any{"entities": keys})
		b.Run(fmt.Sprintf("%d/strict", n), func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			for b.Loop() {
				var pb PredictRequest
				if err := decodeReader(bytes.NewReader(body), &pb); err != nil {
					b.Fatal(err)
				}
				if _, err := PredictRequestFromBody("purchase", &pb); err != nil {
					b.Fatal(err)
				}
				writeJSON(w, http.StatusOK, resp)
			}
		})
		b.Run(fmt.Sprintf("%d/fast", n), func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			for b.Loop() {
				buf := getBuf()
				in, err := readBody(bytes.NewReader(body), *buf, int64(len(body)))
				if err != nil {
					b.Fatal(err)
				}
				if _, ok := decodePredictFast(in); !ok {
					b.Fatal("declined")
				}
				out, ok := appendPredict(in[:0], resp)
				if !ok {
					b.Fatal("not encoded")
				}
				*buf = out
				writeJSONBytes(w, http.StatusOK, out)
				putBuf(buf)
			}
		})
	}
}
