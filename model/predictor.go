package model

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The model formats Slipway reads, as a model version's artifact and
// `slipway models register --format` name them.
const (
	// FormatXGBoostJSON is XGBoost's JSON model format, what
	// Booster.save_model("model.json") writes.
	FormatXGBoostJSON = "xgboost-json"
	// FormatLinear is the slipway-linear format of the built-in trainers.
	FormatLinear = LinearFormat
)

// Formats lists every model format Load reads.
var Formats = []string{FormatXGBoostJSON, FormatLinear, FormatOIPV2}

// Predictor is a loaded model of any format: what validation, scoring and
// serving use, through a [Scorer] that feeds it the encoded feature vector.
// Implementations are immutable and safe for concurrent use.
type Predictor interface {
	// NumFeatures is the length of the feature vector the model reads.
	NumFeatures() int
	// NumOutputs is the length of one row's prediction: 1, or the class
	// count of a multiclass model.
	NumOutputs() int
	// Task is the task the model predicts for (TaskBinaryClassification,
	// TaskRegression or TaskMulticlass).
	Task() string
	// Predict scores one feature vector (NaN for missing) into out, when
	// out has room, and returns the NumOutputs values.
	Predict(features, out []float64) ([]float64, error)
	// PredictRows scores row-major rows of NumFeatures values each and
	// returns NumOutputs values per row in row order, each row's equal to
	// what Predict returns for it.
	PredictRows(x, out []float64) ([]float64, error)
}

// ContextPredictor is a Predictor whose scoring does I/O (an external
// model, [Remote]): [Scorer.ScoreRowsContext] passes it the caller's
// context, so a request that gives up stops the call.
type ContextPredictor interface {
	Predictor
	// PredictRowsContext is PredictRows bounded by ctx.
	PredictRowsContext(ctx context.Context, x, out []float64) ([]float64, error)
}

var (
	_ Predictor = (*XGBoost)(nil)
	_ Predictor = (*Linear)(nil)
)

// Load reads a model artifact of the given format (one of Formats).
func Load(format string, data []byte) (Predictor, error) {
	switch format {
	case FormatXGBoostJSON:
		return ParseXGBoost(data)
	case FormatLinear:
		return ParseLinear(data)
	case FormatOIPV2:
		return ParseRemote(data)
	}
	return nil, fmt.Errorf("unknown model format %q: use one of %s", format, strings.Join(Formats, ", "))
}

// DetectFormat tells which of Formats a model file is in, for files whose
// format nobody named (what a command trainer writes): slipway-linear JSON
// has "format": "slipway-linear", XGBoost JSON has a "learner" object, an
// oip-v2 document (an external model) has a "url".
// Anything else, such as XGBoost's binary or UBJSON formats, is an error
// saying what is supported and how to save an XGBoost model as JSON. It
// looks only at the top-level keys; Load checks the rest.
func DetectFormat(data []byte) (string, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return "", errors.New("the model file is empty: write a model in one of the formats " + strings.Join(Formats, ", "))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &top); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) && syn.Error() == "unexpected end of JSON input" {
			return "", fmt.Errorf("the model file's JSON ends early at byte %d: the file is truncated", syn.Offset)
		}
		if trimmed[0] == '{' && errors.As(err, &syn) {
			// JSON that is merely invalid, or UBJSON, which also starts with '{'.
			return "", fmt.Errorf("the model file is not valid JSON (byte %d: %v): %s", syn.Offset, err, supportedHint)
		}
		return "", errors.New("the model file is not a JSON object (an XGBoost binary or UBJSON model?): " + supportedHint)
	}
	if raw, ok := top["format"]; ok {
		var f string
		if json.Unmarshal(raw, &f) == nil && f == LinearFormat {
			return FormatLinear, nil
		}
		return "", fmt.Errorf("the model file's \"format\" is %s, not %q: %s", raw, LinearFormat, supportedHint)
	}
	if _, ok := top["learner"]; ok {
		return FormatXGBoostJSON, nil
	}
	if _, ok := top["url"]; ok {
		return FormatOIPV2, nil
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) > 5 {
		keys = append(keys[:5], "…")
	}
	return "", fmt.Errorf("the model file is JSON but neither an XGBoost model (no \"learner\") nor a slipway-linear model (no \"format\"); its keys: %s: %s", strings.Join(keys, ", "), supportedHint)
}

const supportedHint = `supported formats are xgboost-json (XGBoost: Booster.save_model("model.json"), the .json name selects JSON) and slipway-linear (the built-in trainers')`

// Task is the task the model predicts for, decided by its objective:
// binary:logistic is TaskBinaryClassification, reg:squarederror and
// reg:logistic are TaskRegression, multi:softprob is TaskMulticlass.
func (m *XGBoost) Task() string {
	switch m.objective {
	case "binary:logistic":
		return TaskBinaryClassification
	case "multi:softprob":
		return TaskMulticlass
	}
	return TaskRegression
}

// PredictRows scores row-major rows of NumFeatures values each (NaN for
// missing) and returns one prediction per row, each equal to Predict's for
// that row. It is written into out when out has room.
func (m *Linear) PredictRows(x, out []float64) ([]float64, error) {
	nf := len(m.coef)
	if nf == 0 {
		return nil, errors.New("the linear model has no inputs: score rows one at a time with Predict")
	}
	if len(x)%nf != 0 {
		return nil, fmt.Errorf("%d values are not whole rows of the linear model's %d features", len(x), nf)
	}
	rows := len(x) / nf
	if cap(out) >= rows {
		out = out[:rows]
	} else {
		out = make([]float64, rows)
	}
	for r := range rows {
		if _, err := m.Predict(x[r*nf:(r+1)*nf], out[r:r+1]); err != nil {
			return nil, fmt.Errorf("row %d: %w", r, err)
		}
	}
	return out, nil
}
