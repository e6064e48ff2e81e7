package model

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/value"
)

// Scorer is the one path from feature values to predictions: it encodes rows
// with a model version's Encoding and scores them with its Predictor.
// Validation, `slipway score` and serving all score through a Scorer, so a
// model is fed exactly the vector it was trained on. A Scorer is immutable
// and safe for concurrent use.
type Scorer struct {
	enc     *Encoding
	p       Predictor
	width   int
	outputs []string
}

// NewScorer pairs an encoding with a model. It refuses a model whose feature
// count is not the encoding's width, and a model that names its input
// columns (slipway-linear) when the names differ from the encoding's: both
// mean the model was trained on another vector than this training set's.
func NewScorer(enc *Encoding, p Predictor) (*Scorer, error) {
	if enc == nil || p == nil {
		return nil, errors.New("scorer: an encoding and a model are both needed")
	}
	cols := enc.Columns()
	if p.NumFeatures() != len(cols) {
		return nil, fmt.Errorf("the model reads %d features but the training set's encoding gives %d columns (%s): train the model on `slipway training-set export NAME --encoded` of this training set",
			p.NumFeatures(), len(cols), listNames(cols, 8))
	}
	if named, ok := p.(interface{ Columns() []string }); ok {
		for i, c := range named.Columns() {
			if c != cols[i] {
				return nil, fmt.Errorf("the model's column %d is %q but the training set's encoding has %q there: train the model on `slipway training-set export NAME --encoded` of this training set",
					i+1, c, cols[i])
			}
		}
	}
	k := p.NumOutputs()
	if k < 1 {
		return nil, fmt.Errorf("scorer: the model has %d outputs", k)
	}
	s := &Scorer{enc: enc, p: p, width: len(cols)}
	if k == 1 {
		s.outputs = []string{"prediction"}
	} else {
		for c := range k {
			s.outputs = append(s.outputs, "prob_"+strconv.Itoa(c))
		}
	}
	return s, nil
}

// listNames joins up to n names, with "…" for the rest.
func listNames(names []string, n int) string {
	if len(names) > n {
		return strings.Join(names[:n], ", ") + ", … (" + strconv.Itoa(len(names)) + " in all)"
	}
	return strings.Join(names, ", ")
}

// Encoding is the feature-vector encoding the scorer applies.
func (s *Scorer) Encoding() *Encoding { return s.enc }

// Predictor is the model the scorer applies.
func (s *Scorer) Predictor() Predictor { return s.p }

// Task is the model's task.
func (s *Scorer) Task() string { return s.p.Task() }

// NumOutputs is the number of values per scored row, len(OutputNames()).
func (s *Scorer) NumOutputs() int { return len(s.outputs) }

// OutputNames names the values of one row's prediction, as score files and
// responses label them: "prediction" for a single output (the probability
// of class 1 for binary classification, the value for regression), and
// "prob_0", "prob_1", …, "prob_K-1" for a multiclass model's K class
// probabilities.
func (s *Scorer) OutputNames() []string { return append([]string(nil), s.outputs...) }

// ScoreRows encodes rows of feature values (each the encoding's features in
// definition order, as Encoding.Encode takes them) and scores them: the
// result holds NumOutputs values per row, in row order, written into out
// when it has room. A row that does not match the features is an error
// naming the row's index and the feature, wrapping ErrInvalidRow.
func (s *Scorer) ScoreRows(rows [][]value.Value, out []float64) ([]float64, error) {
	return s.ScoreRowsContext(context.Background(), rows, out)
}

// ScoreRowsContext is ScoreRows bounded by ctx, for a model that scores
// over the network (a [ContextPredictor]); others ignore ctx.
func (s *Scorer) ScoreRowsContext(ctx context.Context, rows [][]value.Value, out []float64) ([]float64, error) {
	x, err := s.EncodeRows(rows)
	if err != nil {
		return out[:0], err
	}
	return s.ScoreEncodedContext(ctx, x, out)
}

// EncodeRows encodes rows of feature values (as ScoreRows takes them) back
// to back, Encoding().Width() values each, as ScoreEncoded scores them.
func (s *Scorer) EncodeRows(rows [][]value.Value) ([]float64, error) {
	x := make([]float64, len(rows)*s.width)
	for i, row := range rows {
		if _, err := s.enc.Encode(row, x[i*s.width:(i+1)*s.width]); err != nil {
			return nil, fmt.Errorf("rows[%d]: %w", i, err)
		}
	}
	return x, nil
}

// ScoreEncoded scores rows already encoded: x holds them back to back,
// Encoding().Width() values each (NaN for missing), as `slipway
// training-set export --encoded` writes them. The result is as ScoreRows'.
func (s *Scorer) ScoreEncoded(x, out []float64) ([]float64, error) {
	return s.ScoreEncodedContext(context.Background(), x, out)
}

// ScoreEncodedContext is ScoreEncoded bounded by ctx (see ScoreRowsContext).
func (s *Scorer) ScoreEncodedContext(ctx context.Context, x, out []float64) ([]float64, error) {
	if len(x)%s.width != 0 {
		return out[:0], fmt.Errorf("%d values are not whole rows of the encoding's %d columns", len(x), s.width)
	}
	if len(x) == 0 {
		return out[:0], nil
	}
	var res []float64
	var err error
	if cp, ok := s.p.(ContextPredictor); ok {
		res, err = cp.PredictRowsContext(ctx, x, out)
	} else {
		res, err = s.p.PredictRows(x, out)
	}
	if err != nil {
		return out[:0], err
	}
	return res, nil
}

// OpenScorer builds the scorer of a stored model version from its parts:
// the artifact's format and bytes and the encoding's JSON.
func OpenScorer(format string, artifact, encoding []byte) (*Scorer, error) {
	enc, err := ParseEncoding(encoding)
	if err != nil {
		return nil, err
	}
	p, err := Load(format, artifact)
	if err != nil {
		return nil, err
	}
	return NewScorer(enc, p)
}
