package model

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/slipway-ml/slipway/value"
)

// Record is one prediction as the tables of predictions hold it
// (resource.PredictionColumns): an endpoint's prediction log entry, or a
// row of a batch prediction. The prediction log keeps it on disk in its
// binary form (AppendBinary).
type Record struct {
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Endpoint or BatchPrediction (name:variant) made it; the other is "".
	Endpoint        string `json:"endpoint,omitempty"`
	BatchPrediction string `json:"batch_prediction,omitempty"`
	Model           string `json:"model"`
	Version         int    `json:"version"`
	// Experiment and Arm name the experiment arm that answered ("" when none).
	Experiment string `json:"experiment,omitempty"`
	Arm        string `json:"arm,omitempty"`
	Entity     string `json:"entity"`
	// Prediction, Class and Output are as Outcome gives them.
	Prediction float64         `json:"prediction"`
	Class      *int            `json:"class,omitempty"`
	Output     json.RawMessage `json:"output"`
	// Features maps each input feature (its name in the version's
	// encoding) to the value scored, Statuses to how it was had (as
	// FeaturesJSON writes them); Encoded is the vector the model scored
	// (EncodedJSON).
	Features json.RawMessage `json:"features"`
	Statuses json.RawMessage `json:"statuses"`
	Encoded  json.RawMessage `json:"encoded"`
}

// AppendRow appends the record's table row (resource.PredictionColumns,
// in order) to out[:0], in the write batch named. The row's JSON strings
// alias the record's JSON parts, which must not change while the row is in
// use.
func (r *Record) AppendRow(out []value.Value, writeBatch string) []value.Value {
	str := func(s string) value.Value {
		if s == "" {
			return value.NullValue()
		}
		return value.FromString(s)
	}
	class := value.NullValue()
	if r.Class != nil {
		class = value.FromInt64(int64(*r.Class))
	}
	return append(out[:0], value.FromString(r.ID), value.FromTime(r.Time), str(r.Endpoint), str(r.BatchPrediction),
		value.FromString(r.Model), value.FromInt64(int64(r.Version)), str(r.Experiment), str(r.Arm),
		value.FromString(r.Entity), value.FromFloat64(r.Prediction), class, value.FromString(alias(r.Output)),
		value.FromString(alias(r.Features)), value.FromString(alias(r.Statuses)), value.FromString(alias(r.Encoded)),
		value.FromString(writeBatch))
}

// Outcome reads one row's scorer outputs (Scorer.NumOutputs values) for a
// task: the prediction (the probability of class 1 for binary
// classification, the value for regression, the probability of the
// predicted class for multiclass), the class (1 when the probability of
// class 1 is above 0.5; for multiclass the class of the largest
// probability, the first on ties; nil for regression), and the outputs as
// the predict API gives them, as JSON.
func Outcome(task string, out []float64) (prediction float64, class *int, output json.RawMessage) {
	prediction, c, output := AppendOutcome(nil, task, out)
	if c >= 0 {
		class = &c
	}
	return prediction, class, output
}

// AppendOutcome is Outcome appending the output's JSON to b, with the
// class -1 for regression (none).
func AppendOutcome(b []byte, task string, out []float64) (prediction float64, class int, output []byte) {
	class = PredictedClass(task, out)
	switch task {
	case TaskBinaryClassification:
		prediction = out[0]
		b = append(b, `{"probability":`...)
		b = appendFloat(b, prediction)
		b = append(b, `,"class":`...)
		b = strconv.AppendInt(b, int64(class), 10)
	case TaskMulticlass:
		prediction = out[class]
		b = append(b, `{"class":`...)
		b = strconv.AppendInt(b, int64(class), 10)
		b = append(b, `,"probabilities":`...)
		b = AppendEncodedJSON(b, out)
	default:
		prediction = out[0]
		b = append(b, `{"value":`...)
		b = appendFloat(b, prediction)
	}
	return prediction, class, append(b, '}')
}

// PredictedClass is the class one row's scorer outputs predict: for binary
// classification 1 when the probability of class 1 is above 0.5, else 0;
// for multiclass the class of the largest probability, the first on ties;
// -1 (none) for regression.
func PredictedClass(task string, out []float64) int {
	switch task {
	case TaskBinaryClassification:
		if out[0] > 0.5 {
			return 1
		}
		return 0
	case TaskMulticlass:
		class := 0
		for c, p := range out {
			if p > out[class] {
				class = c
			}
		}
		return class
	}
	return -1
}

// FeaturesJSON writes one row's feature values and their statuses as two
// JSON objects keyed by feature name, in the order of names.
func FeaturesJSON(names []string, vals []value.Value, statuses []string) (features, stats json.RawMessage) {
	return AppendFeaturesJSON(nil, names, vals), AppendStatusesJSON(nil, names, statuses)
}

// AppendFeaturesJSON appends a row's feature values as a JSON object keyed
// by feature name, in the order of names.
func AppendFeaturesJSON(b []byte, names []string, vals []value.Value) []byte {
	b = append(b, '{')
	for j, name := range names {
		if j > 0 {
			b = append(b, ',')
		}
		b = value.AppendJSONString(b, name)
		b = vals[j].AppendJSON(append(b, ':'))
	}
	return append(b, '}')
}

// StatusFound is the status of a feature value read from the store: the
// one AppendStatusesJSON leaves out.
const StatusFound = "found"

// AppendStatusesJSON appends a row's feature statuses as a JSON object
// keyed by feature name, holding only the features whose status is not
// StatusFound (a feature the object leaves out was found): most rows are
// "{}", a quarter of a logged prediction's size less.
func AppendStatusesJSON(b []byte, names, statuses []string) []byte {
	b = append(b, '{')
	first := true
	for j, name := range names {
		if statuses[j] == StatusFound {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = value.AppendJSONString(b, name)
		b = value.AppendJSONString(append(b, ':'), statuses[j])
	}
	return append(b, '}')
}

// EncodedJSON writes an encoded vector as a JSON array, null for a missing
// (NaN) value.
func EncodedJSON(x []float64) json.RawMessage { return AppendEncodedJSON(nil, x) }

// AppendEncodedJSON is EncodedJSON appending to b.
func AppendEncodedJSON(b []byte, x []float64) []byte {
	b = append(b, '[')
	for k, f := range x {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendFloat(b, f)
	}
	return append(b, ']')
}

// appendFloat appends a JSON number, null for NaN and infinities. A whole
// number below a million, as most of an encoded vector is (one-hot zeros
// and ones, counts), is written as an integer: the digits
// strconv.AppendFloat's shortest 'g' form gives it too, at a fraction of
// the cost.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	if i := int64(f); float64(i) == f && -1e6 < f && f < 1e6 && (i != 0 || !math.Signbit(f)) {
		return strconv.AppendInt(b, i, 10)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// recordFormat is the first byte of a record's binary form (AppendBinary);
// another format gets another byte.
const recordFormat = 1

// AppendBinary appends the record in its compact binary form, as the
// prediction log keeps it on disk: a format byte, then the fields in
// order, strings and JSON parts as uvarint-length-prefixed bytes, numbers
// as varints (the time in Unix microseconds, the class plus one, 0 for
// none) and the prediction's 8 bytes.
func (r *Record) AppendBinary(b []byte) []byte {
	b = append(b, recordFormat)
	for _, s := range []string{r.ID, r.Endpoint, r.BatchPrediction, r.Model, r.Experiment, r.Arm, r.Entity} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, r.Time.UnixMicro())
	b = binary.AppendVarint(b, int64(r.Version))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.Prediction))
	class := int64(0)
	if r.Class != nil {
		class = int64(*r.Class) + 1
	}
	b = binary.AppendVarint(b, class)
	for _, m := range [][]byte{r.Output, r.Features, r.Statuses, r.Encoded} {
		b = binary.AppendUvarint(b, uint64(len(m)))
		b = append(b, m...)
	}
	return b
}

// alias is b as a string, sharing b's memory: b must not change while the
// string is in use.
func alias(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

var errCorruptRecord = errors.New("truncated or corrupt prediction record")

// UnmarshalBinary reads a record AppendBinary wrote. Its strings and JSON
// parts alias data, which must not change while the record is in use (the
// prediction log's shipper reads each record once, into a table row, and
// copying its parts was a third of its allocations).
func (r *Record) UnmarshalBinary(data []byte) error {
	if len(data) == 0 || data[0] != recordFormat {
		return errors.New("not a prediction record of a known format")
	}
	d := data[1:]
	bad := errCorruptRecord
	bytes := func() []byte {
		n, k := binary.Uvarint(d)
		if k <= 0 || uint64(len(d)-k) < n {
			d = nil
			return nil
		}
		out := d[k : k+int(n)]
		d = d[k+int(n):]
		return out
	}
	varint := func() int64 {
		v, k := binary.Varint(d)
		if k <= 0 {
			d = nil
			return 0
		}
		d = d[k:]
		return v
	}
	for _, s := range []*string{&r.ID, &r.Endpoint, &r.BatchPrediction, &r.Model, &r.Experiment, &r.Arm, &r.Entity} {
		*s = alias(bytes())
	}
	r.Time = time.UnixMicro(varint()).UTC()
	r.Version = int(varint())
	if len(d) < 8 {
		return bad
	}
	r.Prediction = math.Float64frombits(binary.LittleEndian.Uint64(d))
	d = d[8:]
	r.Class = nil
	if c := varint(); c > 0 {
		class := int(c - 1)
		r.Class = &class
	}
	for _, m := range []*json.RawMessage{&r.Output, &r.Features, &r.Statuses, &r.Encoded} {
		*m = bytes()
	}
	if d == nil {
		return bad
	}
	return nil
}
