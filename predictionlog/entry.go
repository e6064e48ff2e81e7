package predictionlog

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/serving"
)

// StatusOverride marks a feature value the request gave.
const StatusOverride = "override"

// Logger turns answered predictions into records (model.Record, binary)
// appended to a WAL. Serving calls Log (serving.Endpoints.Log) before
// answering: it encodes the records and copies them into the WAL's
// memory, never waiting for the disk.
type Logger struct {
	WAL *WAL
	// failed counts records the WAL refused (closed, or its memory full).
	failed atomic.Int64
}

// Log appends one record per prediction of an answered call. It builds
// the records (their JSON parts by hand) into reused buffers: it runs in
// the answer's path, for every prediction.
func (l *Logger) Log(a *serving.Answered) {
	resp := a.Response
	width := 0
	if n := len(resp.Predictions); n > 0 {
		width = len(a.Encoded) / n
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.statuses = slices.Grow(sc.statuses[:0], len(resp.Features))[:len(resp.Features)]
	for i, p := range resp.Predictions {
		r := model.Record{ID: p.ID, Time: a.Time, Endpoint: resp.Endpoint, Model: resp.Model, Version: resp.Version, Experiment: p.Experiment, Arm: p.Arm, Entity: p.Entity}
		b := sc.buf[:0]
		var class int
		r.Prediction, class, b = model.AppendOutcome(b, resp.Task, outputs(p, sc.one[:]))
		r.Output = b[:len(b):len(b)]
		if class >= 0 {
			sc.class = class
			r.Class = &sc.class
		}
		for j := range sc.statuses {
			switch {
			case a.Overridden != nil && a.Overridden[i][j]:
				sc.statuses[j] = StatusOverride
			case a.Statuses[i] != nil:
				sc.statuses[j] = string(a.Statuses[i][j])
			default:
				sc.statuses[j] = string(serving.NotFound)
			}
		}
		// Each part is a slice of b; one that b outgrows keeps the old array.
		n := len(b)
		b = model.AppendFeaturesJSON(b, resp.Features, a.Rows[i])
		r.Features = b[n:]
		n = len(b)
		b = model.AppendStatusesJSON(b, resp.Features, sc.statuses)
		r.Statuses = b[n:]
		n = len(b)
		b = model.AppendEncodedJSON(b, a.Encoded[i*width:(i+1)*width])
		r.Encoded = b[n:]
		sc.buf = b
		sc.rec = r.AppendBinary(sc.rec[:0])
		if err := l.WAL.Append(sc.rec); err != nil {
			l.failed.Add(1)
		}
	}
}

// scratch holds Log's buffers between calls.
type scratch struct {
	buf, rec []byte
	statuses []string
	one      [1]float64
	class    int
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// outputs returns a prediction's scorer outputs, as model.Outcome reads
// them (a single output in one).
func outputs(p serving.Prediction, one []float64) []float64 {
	switch {
	case p.Probability != nil:
		one[0] = *p.Probability
		return one
	case p.Value != nil:
		one[0] = *p.Value
		return one
	}
	return p.Probabilities
}

// Failed counts the records Log could not append.
func (l *Logger) Failed() int64 { return l.failed.Load() }
