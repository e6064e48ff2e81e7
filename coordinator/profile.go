package coordinator

import (
	"encoding/json"
	"fmt"

	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/profile"
	"github.com/slipway-ml/slipway/value"
)

// baselineProfile summarises what a version is trained on
// (profile.Summary): the features of its training rows, and its outputs
// on the holdout (k per row) as the prediction and class the predict API
// answers.
func baselineProfile(features []model.Feature, train []trainingRow, task string, outputs []float64, k int) (json.RawMessage, error) {
	names := make([]string, len(features))
	types := make([]value.Type, len(features))
	for i, f := range features {
		names[i], types[i] = f.Name, f.Type
	}
	fp, err := profile.New(names, types)
	if err != nil {
		return nil, err
	}
	for _, r := range train {
		if err := fp.Add(r.features); err != nil {
			return nil, fmt.Errorf("entity %s at %s: %w", r.entity, r.time, err)
		}
	}
	if k <= 0 || len(outputs)%k != 0 {
		return nil, fmt.Errorf("%d outputs are not whole rows of %d", len(outputs), k)
	}
	pp := profile.NewPredictions(task != model.TaskRegression)
	row := make([]value.Value, len(pp.Columns))
	for i := 0; i < len(outputs); i += k {
		prediction, class, _ := model.Outcome(task, outputs[i:i+k])
		row[0] = value.FromFloat64(prediction)
		if class != nil {
			row[1] = value.FromInt64(int64(*class))
		}
		if err := pp.Add(row); err != nil {
			return nil, err
		}
	}
	return json.Marshal(&profile.Summary{Features: fp, Predictions: pp})
}
