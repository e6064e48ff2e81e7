package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// LinearFormat is the value of the "format" field of a linear model file.
const LinearFormat = "slipway-linear"

// LinearVersion is the version of the slipway-linear format this package
// writes and the only one it reads.
const LinearVersion = 1

// MissingMean is the only missing-value rule of format version 1: a NaN
// input is replaced by its column's training mean, stored in the model.
const MissingMean = "mean"

// Linear is a linear or logistic model over the encoded feature vector, as
// the built-in trainers write it (format "slipway-linear", see
// docs/design/models.md). For regression a prediction is
// intercept + Σ coefficient·x; for binary classification it is the
// probability of class 1, the logistic sigmoid of that sum. A NaN input is
// replaced by its column's training mean before the sum.
type Linear struct {
	task      string
	intercept float64
	coef      []float64
	means     []float64
	columns   []string
	trainer   *LinearTrainer
}

// LinearTrainer records how a linear model was trained; it is informational
// and plays no part in prediction.
type LinearTrainer struct {
	Name       string  `json:"name"`                 // logistic_regression | linear_regression
	C          float64 `json:"c,omitempty"`          // logistic: inverse L2 strength, as scikit-learn's C
	Alpha      float64 `json:"alpha,omitempty"`      // linear: ridge strength (0 = ordinary least squares)
	Rows       int     `json:"rows"`                 // training rows
	Iterations int     `json:"iterations,omitempty"` // Newton iterations (logistic)
}

type linearFile struct {
	Format    string         `json:"format"`
	Version   int            `json:"version"`
	Task      string         `json:"task"`
	Missing   string         `json:"missing"`
	Intercept *float64       `json:"intercept"`
	Columns   []linearColumn `json:"columns"`
	Trainer   *LinearTrainer `json:"trainer,omitempty"`
}

type linearColumn struct {
	Name        string   `json:"name"`
	Coefficient *float64 `json:"coefficient"`
	Mean        *float64 `json:"mean"`
}

// NewLinear builds a linear model from its parts; coefficients, means and
// columns are aligned with the encoded feature vector and copied. It checks
// what ParseLinear checks.
func NewLinear(task string, intercept float64, coefficients, means []float64, columns []string, trainer *LinearTrainer) (*Linear, error) {
	if len(coefficients) != len(columns) || len(means) != len(columns) {
		return nil, fmt.Errorf("linear model: %d coefficients, %d means and %d columns: they must be aligned", len(coefficients), len(means), len(columns))
	}
	m := &Linear{
		task:      task,
		intercept: intercept,
		coef:      append([]float64(nil), coefficients...),
		means:     append([]float64(nil), means...),
		columns:   append([]string(nil), columns...),
	}
	if trainer != nil {
		t := *trainer
		m.trainer = &t
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("linear model: %w", err)
	}
	return m, nil
}

func (m *Linear) check() error {
	if m.task != TaskBinaryClassification && m.task != TaskRegression {
		return fmt.Errorf("task %q is not supported (supported: %s, %s)", m.task, TaskBinaryClassification, TaskRegression)
	}
	if !finite(m.intercept) {
		return fmt.Errorf("intercept %v is not a finite number", m.intercept)
	}
	seen := make(map[string]int, len(m.columns))
	for i, name := range m.columns {
		if name == "" {
			return fmt.Errorf("column %d has no name", i)
		}
		if j, ok := seen[name]; ok {
			return fmt.Errorf("columns %d and %d are both named %q", j, i, name)
		}
		seen[name] = i
		if !finite(m.coef[i]) {
			return fmt.Errorf("column %d (%q): coefficient %v is not a finite number", i, name, m.coef[i])
		}
		if !finite(m.means[i]) {
			return fmt.Errorf("column %d (%q): mean %v is not a finite number", i, name, m.means[i])
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// LoadLinear reads a model in the slipway-linear JSON format.
func LoadLinear(r io.Reader) (*Linear, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading slipway-linear model: %w", err)
	}
	return ParseLinear(data)
}

// ParseLinear is LoadLinear on a model already in memory. A corrupt,
// truncated or incomplete file is an error saying what is wrong and where.
func ParseLinear(data []byte) (*Linear, error) {
	m, err := parseLinear(data)
	if err != nil {
		return nil, fmt.Errorf("reading slipway-linear model: %w", err)
	}
	return m, nil
}

func parseLinear(data []byte) (*Linear, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("the file is empty")
	}
	var f linearFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, errors.New("the JSON ends early: the file is truncated")
		case errors.As(err, &syn):
			return nil, fmt.Errorf("not valid JSON at byte %d: %v", syn.Offset, err)
		case errors.As(err, &typ):
			return nil, fmt.Errorf("field %s at byte %d: %s where the format has %s", typ.Field, typ.Offset, typ.Value, typ.Type)
		}
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the model's JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the model's JSON object")
	}
	if f.Format != LinearFormat {
		return nil, fmt.Errorf("format is %q, want %q (is this a linear model written by Slipway?)", f.Format, LinearFormat)
	}
	if f.Version != LinearVersion {
		return nil, fmt.Errorf("format version %d is not supported (this Slipway reads version %d; upgrade Slipway for newer files)", f.Version, LinearVersion)
	}
	if f.Missing != MissingMean {
		return nil, fmt.Errorf("missing is %q, want %q (NaN inputs replaced by the column's training mean)", f.Missing, MissingMean)
	}
	if f.Intercept == nil {
		return nil, errors.New(`no "intercept"`)
	}
	if f.Columns == nil {
		return nil, errors.New(`no "columns" list (an empty list [] for a model without inputs)`)
	}
	m := &Linear{
		task:      f.Task,
		intercept: *f.Intercept,
		coef:      make([]float64, len(f.Columns)),
		means:     make([]float64, len(f.Columns)),
		columns:   make([]string, len(f.Columns)),
		trainer:   f.Trainer,
	}
	for i, c := range f.Columns {
		if c.Coefficient == nil || c.Mean == nil {
			return nil, fmt.Errorf("column %d (%q) needs both \"coefficient\" and \"mean\"", i, c.Name)
		}
		m.columns[i], m.coef[i], m.means[i] = c.Name, *c.Coefficient, *c.Mean
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

// MarshalJSON writes the model in the slipway-linear format, which
// ParseLinear reads back to an equal model (floats round-trip exactly).
func (m *Linear) MarshalJSON() ([]byte, error) {
	f := linearFile{
		Format:    LinearFormat,
		Version:   LinearVersion,
		Task:      m.task,
		Missing:   MissingMean,
		Intercept: &m.intercept,
		Columns:   make([]linearColumn, len(m.columns)),
		Trainer:   m.trainer,
	}
	for i := range m.columns {
		f.Columns[i] = linearColumn{Name: m.columns[i], Coefficient: &m.coef[i], Mean: &m.means[i]}
	}
	return json.MarshalIndent(f, "", "  ")
}

// Task is TaskBinaryClassification or TaskRegression.
func (m *Linear) Task() string { return m.task }

// NumFeatures is the length of the feature vector the model expects.
func (m *Linear) NumFeatures() int { return len(m.coef) }

// NumOutputs is the length of a prediction: always 1.
func (m *Linear) NumOutputs() int { return 1 }

// Intercept is the constant term, in margin (log-odds) space for binary
// classification.
func (m *Linear) Intercept() float64 { return m.intercept }

// Coefficients are the weights of the encoded columns, in column order.
func (m *Linear) Coefficients() []float64 { return append([]float64(nil), m.coef...) }

// Means are the training means that replace NaN inputs, in column order.
func (m *Linear) Means() []float64 { return append([]float64(nil), m.means...) }

// Columns are the names of the encoded columns the model was trained on, as
// [Encoding.Columns] gives them.
func (m *Linear) Columns() []string { return append([]string(nil), m.columns...) }

// Trainer says how the model was trained, or nil when the file does not.
func (m *Linear) Trainer() *LinearTrainer {
	if m.trainer == nil {
		return nil
	}
	t := *m.trainer
	return &t
}

// Predict scores one feature vector, with NaN for a missing value (replaced
// by the column's training mean): the probability of class 1 for binary
// classification, the value for regression. The result is written into out
// when it has room (so a reused out allocates nothing) and returned.
// features must have NumFeatures values; ±Inf is an error.
func (m *Linear) Predict(features, out []float64) ([]float64, error) {
	out, err := m.PredictMargin(features, out)
	if err != nil {
		return nil, err
	}
	if m.task == TaskBinaryClassification {
		out[0] = logistic(out[0])
	}
	return out, nil
}

// PredictMargin is Predict before the sigmoid: intercept + Σ coefficient·x,
// the log-odds for binary classification (scikit-learn's
// decision_function).
func (m *Linear) PredictMargin(features, out []float64) ([]float64, error) {
	if len(features) != len(m.coef) {
		return nil, fmt.Errorf("feature vector has %d values but the linear model expects %d", len(features), len(m.coef))
	}
	if cap(out) >= 1 {
		out = out[:1]
	} else {
		out = make([]float64, 1)
	}
	sum := m.intercept
	for j, x := range features {
		if x != x { // NaN: missing
			x = m.means[j]
		} else if math.IsInf(x, 0) {
			return nil, fmt.Errorf("feature vector value %d (column %q) is infinite", j, m.columns[j])
		}
		sum += m.coef[j] * x
	}
	out[0] = sum
	return out, nil
}

// logistic is the sigmoid 1/(1+e^-z), computed without overflow.
func logistic(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}
