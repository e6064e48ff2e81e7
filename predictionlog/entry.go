package predictionlog

import (
	"encoding/json"
	"sync/atomic"

	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/serving"
)

// StatusOverride marks a feature value the request gave.
const StatusOverride = "override"

// Logger turns answered predictions into records (model.Record, as JSON)
// appended to a WAL. Serving calls Log (serving.Endpoints.Log) before
// answering: it encodes the records and copies them into the WAL's
// memory, never waiting for the disk.
type Logger struct {
	WAL *WAL
	// failed counts records the WAL refused (closed, or its memory full).
	failed atomic.Int64
}

// Log appends one record per prediction of an answered call.
func (l *Logger) Log(a *serving.Answered) {
	resp := a.Response
	width := 0
	if n := len(resp.Predictions); n > 0 {
		width = len(a.Encoded) / n
	}
	statuses := make([]string, len(resp.Features))
	for i, p := range resp.Predictions {
		r := model.Record{ID: p.ID, Time: a.Time, Endpoint: resp.Endpoint, Model: resp.Model, Version: resp.Version, Entity: p.Entity}
		r.Prediction, r.Class, r.Output = model.Outcome(resp.Task, outputs(p))
		for j := range statuses {
			switch {
			case a.Overridden != nil && a.Overridden[i][j]:
				statuses[j] = StatusOverride
			case a.Statuses[i] != nil:
				statuses[j] = string(a.Statuses[i][j])
			default:
				statuses[j] = string(serving.NotFound)
			}
		}
		r.Features, r.Statuses = model.FeaturesJSON(resp.Features, a.Rows[i], statuses)
		r.Encoded = model.EncodedJSON(a.Encoded[i*width : (i+1)*width])
		b, err := json.Marshal(&r)
		if err == nil {
			err = l.WAL.Append(b)
		}
		if err != nil {
			l.failed.Add(1)
		}
	}
}

// outputs returns a prediction's scorer outputs, as model.Outcome reads them.
func outputs(p serving.Prediction) []float64 {
	switch {
	case p.Probability != nil:
		return []float64{*p.Probability}
	case p.Value != nil:
		return []float64{*p.Value}
	}
	return p.Probabilities
}

// Failed counts the records Log could not append.
func (l *Logger) Failed() int64 { return l.failed.Load() }
