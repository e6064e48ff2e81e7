package predictionlog

import (
	"encoding/json"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// Entry is one logged prediction: what the log holds on disk (as JSON) and
// what one row of an endpoint's prediction table holds.
type Entry struct {
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Endpoint is the endpoint that answered (name:variant).
	Endpoint string `json:"endpoint"`
	Model    string `json:"model"`
	Version  int    `json:"version"`
	// Experiment and Arm name the experiment arm that answered ("" when none).
	Experiment string `json:"experiment,omitempty"`
	Arm        string `json:"arm,omitempty"`
	Entity     string `json:"entity"`
	// Prediction is the probability of class 1 (binary classification),
	// the value (regression) or the probability of the predicted class
	// (multiclass); Class is the predicted class (nil for regression).
	Prediction float64 `json:"prediction"`
	Class      *int    `json:"class,omitempty"`
	// Output is the answer's output fields as the predict API gives them
	// (probability and class, value, or probabilities and class).
	Output json.RawMessage `json:"output"`
	// Features maps each input feature (its name in the version's
	// encoding) to the value scored; Statuses to how it was had: found,
	// not_found or outside_max_age (the online store's answer) or override
	// (the request gave it).
	Features json.RawMessage `json:"features"`
	Statuses json.RawMessage `json:"statuses"`
	// Encoded is the encoded vector the model scored (null for missing).
	Encoded json.RawMessage `json:"encoded"`
}

// StatusOverride marks a feature value the request gave.
const StatusOverride = "override"

// Logger turns answered predictions into entries appended to a WAL.
// Serving calls Log (serving.Endpoints.Log) before answering: it encodes
// the entries and copies them into the WAL's memory, never waiting for
// the disk.
type Logger struct {
	WAL *WAL
	// failed counts entries the WAL refused (closed, or its memory full).
	failed atomic.Int64
}

// Log appends one entry per prediction of an answered call.
func (l *Logger) Log(a *serving.Answered) {
	resp := a.Response
	width := 0
	if n := len(resp.Predictions); n > 0 {
		width = len(a.Encoded) / n
	}
	var buf []byte
	for i, p := range resp.Predictions {
		e := Entry{ID: p.ID, Time: a.Time, Endpoint: resp.Endpoint, Model: resp.Model, Version: resp.Version, Entity: p.Entity, Class: p.Class}
		switch {
		case p.Probability != nil:
			e.Prediction = *p.Probability
		case p.Value != nil:
			e.Prediction = *p.Value
		case p.Class != nil && *p.Class < len(p.Probabilities):
			e.Prediction = p.Probabilities[*p.Class]
		}
		e.Output = output(p)
		e.Features, e.Statuses = features(resp.Features, a, i)
		e.Encoded = encoded(a.Encoded[i*width : (i+1)*width])
		var err error
		buf, err = json.Marshal(&e)
		if err == nil {
			err = l.WAL.Append(buf)
		}
		if err != nil {
			l.failed.Add(1)
		}
	}
}

// Failed counts the entries Log could not append.
func (l *Logger) Failed() int64 { return l.failed.Load() }

func output(p serving.Prediction) json.RawMessage {
	o := struct {
		Probability   *float64  `json:"probability,omitempty"`
		Class         *int      `json:"class,omitempty"`
		Value         *float64  `json:"value,omitempty"`
		Probabilities []float64 `json:"probabilities,omitempty"`
	}{p.Probability, p.Class, p.Value, p.Probabilities}
	b, _ := json.Marshal(o) // finite numbers (a model's outputs) always marshal
	return b
}

// features writes the i-th entity's feature values and statuses as two
// JSON objects keyed by feature name, in the encoding's order.
func features(names []string, a *serving.Answered, i int) (vals, statuses json.RawMessage) {
	v, s := []byte{'{'}, []byte{'{'}
	for j, name := range names {
		if j > 0 {
			v, s = append(v, ','), append(s, ',')
		}
		key, _ := json.Marshal(name)
		v = append(append(v, key...), ':')
		b, _ := a.Rows[i][j].MarshalJSON()
		v = append(v, b...)
		st := string(serving.NotFound)
		switch {
		case a.Overridden != nil && a.Overridden[i][j]:
			st = StatusOverride
		case a.Statuses[i] != nil:
			st = string(a.Statuses[i][j])
		}
		s = append(append(s, key...), ':')
		s = strconv.AppendQuote(s, st) // a fixed set of plain ASCII words
	}
	return append(v, '}'), append(s, '}')
}

// encoded writes a vector as a JSON array, null for a missing (NaN) value.
func encoded(x []float64) json.RawMessage {
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

// The columns of an endpoint's prediction table, in order.
var tableColumns = []resource.Column{
	{Name: "prediction_id", Type: value.String},
	{Name: "predicted_at", Type: value.Timestamp},
	{Name: "endpoint", Type: value.String},
	{Name: "model", Type: value.String},
	{Name: "model_version", Type: value.Int64},
	{Name: "experiment", Type: value.String},
	{Name: "arm", Type: value.String},
	{Name: "entity", Type: value.String},
	{Name: "prediction", Type: value.Float64},
	{Name: "class", Type: value.Int64},
	{Name: "output", Type: value.String},
	{Name: "features", Type: value.String},
	{Name: "statuses", Type: value.String},
	{Name: "encoded", Type: value.String},
	{Name: ShipBatchColumn, Type: value.String},
}

// ShipBatchColumn names the shipping batch a row came in: a retried batch
// replaces its own rows, so no prediction is written twice.
const ShipBatchColumn = "ship_batch"

// row appends the table row of an entry to out.
func (e *Entry) row(out []value.Value, batch string) []value.Value {
	str := func(s string) value.Value {
		if s == "" {
			return value.NullValue()
		}
		return value.FromString(s)
	}
	class := value.NullValue()
	if e.Class != nil {
		class = value.FromInt64(int64(*e.Class))
	}
	return append(out[:0], value.FromString(e.ID), value.FromTime(e.Time), value.FromString(e.Endpoint),
		value.FromString(e.Model), value.FromInt64(int64(e.Version)), str(e.Experiment), str(e.Arm),
		value.FromString(e.Entity), value.FromFloat64(e.Prediction), class, value.FromString(string(e.Output)),
		value.FromString(string(e.Features)), value.FromString(string(e.Statuses)), value.FromString(string(e.Encoded)),
		value.FromString(batch))
}
