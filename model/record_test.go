package model

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/value"
)

// TestRecordBinaryRoundTrip: a record reads back as written, every field,
// and a truncated one is an error, never a panic.
func TestRecordBinaryRoundTrip(t *testing.T) {
	class := 2
	_, c, out := AppendOutcome(nil, TaskMulticlass, []float64{0.1, 0.2, 0.7})
	feats, stats := FeaturesJSON([]string{"x", "région"}, []value.Value{value.FromFloat64(1.5), value.FromString("e\"u")}, []string{"found", "override"})
	recs := []Record{
		{ID: "01938a7e-5b2c-7d41-9f0e-3c5a8b1d2e4f", Time: time.Date(2026, 12, 4, 1, 2, 3, 456789000, time.UTC), Endpoint: "purchase:default", Model: "m",
			Version: 7, Experiment: "exp", Arm: "treatment", Entity: "sub_1", Prediction: 0.7, Class: &class, Output: out, Features: feats, Statuses: stats,
			Encoded: EncodedJSON([]float64{1.5, 0, 1})},
		{ID: "b", Time: time.Unix(0, 0).UTC(), BatchPrediction: "nightly:v2", Model: "r", Version: 1, Entity: "", Prediction: -3.25,
			Output: json.RawMessage(`{"value":-3.25}`), Features: json.RawMessage(`{}`), Statuses: json.RawMessage(`{}`), Encoded: json.RawMessage(`[]`)},
	}
	if c != 2 {
		t.Fatalf("multiclass class %d", c)
	}
	for _, r := range recs {
		b := r.AppendBinary([]byte("prefix"))[len("prefix"):]
		var got Record
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("read back %+v\nwrote     %+v", got, r)
		}
		for n := range len(b) {
			var cut Record
			if err := cut.UnmarshalBinary(b[:n]); err == nil {
				t.Fatalf("a record cut to %d of %d bytes read without error", n, len(b))
			}
		}
	}
	var bad Record
	if err := bad.UnmarshalBinary([]byte(`{"id":"json"}`)); err == nil {
		t.Error("a JSON record read as binary")
	}
	var js []json.RawMessage
	for _, m := range []json.RawMessage{out, feats, stats} {
		js = append(js, m)
	}
	for _, m := range js {
		if !json.Valid(m) {
			t.Errorf("%s is not valid JSON", m)
		}
	}
}

// TestStatusesJSONListsOnlyWhatWasNotFound: a feature found is left out
// of the statuses, the others keep their status.
func TestStatusesJSONListsOnlyWhatWasNotFound(t *testing.T) {
	names := []string{"a", "b", "c", "d"}
	for _, tc := range []struct {
		statuses []string
		want     string
	}{
		{[]string{"found", "found", "found", "found"}, `{}`},
		{[]string{"found", "override", "not_found", "found"}, `{"b":"override","c":"not_found"}`},
		{[]string{"outside_max_age", "found", "found", "not_found"}, `{"a":"outside_max_age","d":"not_found"}`},
	} {
		if got := string(AppendStatusesJSON(nil, names, tc.statuses)); got != tc.want {
			t.Errorf("statuses %v: %s, want %s", tc.statuses, got, tc.want)
		}
	}
}

// TestAppendFloatIsTheShortestForm checks appendFloat's integer shortcut
// against strconv's shortest 'g' form around and beyond its bounds.
func TestAppendFloatIsTheShortestForm(t *testing.T) {
	vals := []float64{0, 1, -1, 2, 12, 0.5, -0.5, 999999, -999999, 1e6, -1e6, 1e6 - 0.5, 123456.75, 1e15, 1e21, 1e-7,
		math.MaxInt64, math.MinInt64, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Nextafter(1, 2), math.Nextafter(1e6, 0)}
	for i := range 2000 {
		vals = append(vals, float64(i-1000), float64(i-1000)/8, math.Sqrt(float64(i)))
	}
	for _, f := range vals {
		if got, want := string(appendFloat(nil, f)), strconv.FormatFloat(f, 'g', -1, 64); got != want {
			t.Errorf("appendFloat(%v) = %s; strconv gives %s", f, got, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got := string(appendFloat(nil, f)); got != "null" {
			t.Errorf("appendFloat(%v) = %s; want null", f, got)
		}
	}
	if got := string(appendFloat(nil, math.Copysign(0, -1))); got != "-0" {
		t.Errorf("appendFloat(-0) = %s; want -0, as strconv gives", got)
	}
}
