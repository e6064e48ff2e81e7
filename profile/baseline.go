package profile

import (
	"encoding/json"
	"fmt"

	"github.com/slipway-ml/slipway/value"
)

// Baseline is what a model version was trained on, recorded with the
// version: the features of the rows it was trained on, and its own
// predictions on the holdout (columns PredictionColumn and, for a
// classifier, ClassColumn). Monitors compare what the endpoint is later
// asked about, and answers, with it.
type Baseline struct {
	Features    *Profile `json:"features"`
	Predictions *Profile `json:"predictions"`
}

// The columns of Baseline.Predictions.
const (
	PredictionColumn = "prediction"
	ClassColumn      = "class"
)

// NewPredictions returns the empty profile of a model's predictions: the
// prediction, and the class when classes is set.
func NewPredictions(classes bool) *Profile {
	names, types := []string{PredictionColumn}, []value.Type{value.Float64}
	if classes {
		names, types = append(names, ClassColumn), append(types, value.Int64)
	}
	p, err := New(names, types)
	if err != nil {
		panic(err) // fixed, valid columns
	}
	return p
}

// ParseBaseline reads a stored baseline.
func ParseBaseline(b []byte) (*Baseline, error) {
	var out Baseline
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("reading a baseline profile: %w", err)
	}
	if out.Features == nil || out.Predictions == nil {
		return nil, fmt.Errorf("reading a baseline profile: it lacks its features or its predictions")
	}
	return &out, nil
}
