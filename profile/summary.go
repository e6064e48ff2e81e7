package profile

import (
	"encoding/json"
	"fmt"

	"github.com/slipway-ml/slipway/value"
)

// Summary is what a model version saw and answered: the profile of the
// features of some rows, and of its predictions (columns PredictionColumn
// and, for a classifier, ClassColumn). A version's baseline, recorded with
// it, summarises the rows it was trained on and its predictions on the
// holdout; a serving window, what its endpoint was asked about and
// answered in that window. Monitors compare the two.
type Summary struct {
	Features    *Profile `json:"features"`
	Predictions *Profile `json:"predictions"`
}

// The columns of Summary.Predictions.
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

// ParseSummary reads a stored summary.
func ParseSummary(b []byte) (*Summary, error) {
	var out Summary
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	if out.Features == nil || out.Predictions == nil {
		return nil, fmt.Errorf("reading a profile: it lacks its features or its predictions")
	}
	return &out, nil
}
