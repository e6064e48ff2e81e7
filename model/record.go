package model

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/slipway-ml/slipway/value"
)

// Record is one prediction as the tables of predictions hold it
// (resource.PredictionColumns): an endpoint's prediction log entry, or a
// row of a batch prediction. Its JSON is the prediction log's entry on disk.
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
// in order) to out[:0], in the write batch named.
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
		value.FromString(r.Entity), value.FromFloat64(r.Prediction), class, value.FromString(string(r.Output)),
		value.FromString(string(r.Features)), value.FromString(string(r.Statuses)), value.FromString(string(r.Encoded)),
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
	var o struct {
		Probability   *float64  `json:"probability,omitempty"`
		Class         *int      `json:"class,omitempty"`
		Value         *float64  `json:"value,omitempty"`
		Probabilities []float64 `json:"probabilities,omitempty"`
	}
	switch task {
	case TaskBinaryClassification:
		c := 0
		if out[0] > 0.5 {
			c = 1
		}
		prediction, class = out[0], &c
		o.Probability, o.Class = &prediction, class
	case TaskMulticlass:
		c := 0
		for j, p := range out {
			if p > out[c] {
				c = j
			}
		}
		prediction, class = out[c], &c
		o.Probabilities, o.Class = out, class
	default:
		prediction = out[0]
		o.Value = &prediction
	}
	output, _ = json.Marshal(&o) // a model's outputs are finite numbers
	return prediction, class, output
}

// FeaturesJSON writes one row's feature values and their statuses as two
// JSON objects keyed by feature name, in the order of names.
func FeaturesJSON(names []string, vals []value.Value, statuses []string) (features, stats json.RawMessage) {
	v, s := []byte{'{'}, []byte{'{'}
	for j, name := range names {
		if j > 0 {
			v, s = append(v, ','), append(s, ',')
		}
		key, _ := json.Marshal(name)
		b, _ := vals[j].MarshalJSON()
		v = append(append(append(v, key...), ':'), b...)
		st, _ := json.Marshal(statuses[j])
		s = append(append(append(s, key...), ':'), st...)
	}
	return append(v, '}'), append(s, '}')
}

// EncodedJSON writes an encoded vector as a JSON array, null for a missing
// (NaN) value.
func EncodedJSON(x []float64) json.RawMessage {
	b := []byte{'['}
	for k, f := range x {
		if k > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, f, 'g', -1, 64)
	}
	return append(b, ']')
}
