package model

import (
	"errors"
	"fmt"
	"math"

	"github.com/slipway-ml/slipway/value"
)

// Evaluate computes the validation metrics of a task, exactly TaskMetrics(task),
// from the holdout's labels and a model's outputs for those rows (what a
// Scorer returns):
//
//   - binary_classification: one output per row, the probability of class 1;
//     labels 0 or 1 with both present. AUC, log loss and accuracy (p > 0.5
//     predicts 1), as AUC, LogLoss and Accuracy.
//   - regression: one output per row; RMSE and MAE.
//   - multiclass: K outputs per row (K = len(outputs)/len(labels), at least
//     2), the class probabilities; labels are the integers 0…K-1. Log loss as
//     scikit-learn 1.2's log_loss(labels, outputs, labels=range(K)): each
//     probability clipped to [ε, 1−ε] (ε the float64 machine epsilon), each
//     row renormalized to sum 1, the mean of −log of the true class's
//     probability. Accuracy predicts the class of the largest probability
//     (the first on ties, as numpy's argmax).
//
// A label the task cannot have, a single class in a binary holdout (the AUC
// needs both), or outputs that are not whole rows are errors saying which row
// and value, and what to do.
func Evaluate(task string, labels, outputs []float64) (map[string]float64, error) {
	if err := CheckTask(task); err != nil {
		return nil, err
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("evaluating a %s model: the holdout has no rows: use a larger training set or holdout", task)
	}
	switch task {
	case TaskBinaryClassification:
		return evaluateBinary(labels, outputs)
	case TaskRegression:
		if len(outputs) != len(labels) {
			return nil, fmt.Errorf("evaluating a regression model: %d outputs for %d labels: a regression model gives one output per row", len(outputs), len(labels))
		}
		for i, y := range labels {
			if !finite(y) {
				return nil, fmt.Errorf("evaluating a regression model: holdout row %d has label %v: a regression label must be a finite number; filter such rows out of the label", i, y)
			}
		}
		rmse, err := RMSE(labels, outputs)
		if err != nil {
			return nil, err
		}
		mae, err := MAE(labels, outputs)
		if err != nil {
			return nil, err
		}
		return map[string]float64{MetricRMSE: rmse, MetricMAE: mae}, nil
	}
	return evaluateMulticlass(labels, outputs)
}

func evaluateBinary(labels, probs []float64) (map[string]float64, error) {
	if len(probs) != len(labels) {
		return nil, fmt.Errorf("evaluating a binary_classification model: %d outputs for %d labels: a binary model gives one probability per row", len(probs), len(labels))
	}
	var pos int
	for i, y := range labels {
		switch y {
		case 1:
			pos++
		case 0:
		default:
			return nil, fmt.Errorf("evaluating a binary_classification model: holdout row %d has label %v: a binary label must be 0 or 1 (false or true); use a regression or multiclass model for other labels", i, y)
		}
	}
	if pos == 0 || pos == len(labels) {
		return nil, fmt.Errorf("evaluating a binary_classification model: all %d holdout labels are %v, so the AUC cannot be computed: it needs both classes; use a larger holdout, or check that the label takes both values", len(labels), labels[0])
	}
	auc, err := AUC(labels, probs)
	if err != nil {
		return nil, err
	}
	ll, err := LogLoss(labels, probs)
	if err != nil {
		return nil, err
	}
	acc, err := Accuracy(labels, probs)
	if err != nil {
		return nil, err
	}
	return map[string]float64{MetricAUC: auc, MetricLogLoss: ll, MetricAccuracy: acc}, nil
}

func evaluateMulticlass(labels, probs []float64) (map[string]float64, error) {
	n := len(labels)
	if len(probs)%n != 0 || len(probs)/n < 2 {
		return nil, fmt.Errorf("evaluating a multiclass model: %d outputs for %d labels: a multiclass model gives one probability per class, at least 2 per row", len(probs), n)
	}
	k := len(probs) / n
	for i, y := range labels {
		if y != math.Trunc(y) || y < 0 || y >= float64(k) {
			return nil, fmt.Errorf("evaluating a multiclass model: holdout row %d has label %v: the model has %d classes, so labels must be the integers 0 to %d; encode the classes as 0…%d", i, y, k, k-1, k-1)
		}
	}
	var loss float64
	var right int
	for i, y := range labels {
		row := probs[i*k : (i+1)*k]
		var sum float64
		best := 0
		for c, p := range row {
			if !(p >= 0 && p <= 1) {
				return nil, fmt.Errorf("evaluating a multiclass model: row %d's probability of class %d is %v, not a probability", i, c, p)
			}
			sum += min(max(p, logLossEps), 1-logLossEps)
			if p > row[best] {
				best = c
			}
		}
		py := min(max(row[int(y)], logLossEps), 1-logLossEps)
		loss -= math.Log(py / sum)
		if best == int(y) {
			right++
		}
	}
	return map[string]float64{
		MetricLogLoss:  loss / float64(n),
		MetricAccuracy: float64(right) / float64(n),
	}, nil
}

// Better reports whether a candidate's value of a metric is strictly better
// than the current model's: larger for AUC and accuracy, smaller for the
// others (HigherIsBetter). A NaN candidate is never better; any other
// candidate is better than a NaN current value.
func Better(metric string, candidate, current float64) bool {
	switch {
	case math.IsNaN(candidate):
		return false
	case math.IsNaN(current):
		return true
	case HigherIsBetter(metric):
		return candidate > current
	}
	return candidate < current
}

// LabelValue turns a label value into the number Evaluate and the trainers
// take: a bool is 0 or 1 (as the encoding writes it), an int64 or float64 is
// its value. A null label or one of another type is an error saying what to
// do; the caller adds where the row is.
func LabelValue(v value.Value) (float64, error) {
	switch v.Type() {
	case value.Bool:
		if v.Bool() {
			return 1, nil
		}
		return 0, nil
	case value.Int64:
		return float64(v.Int64()), nil
	case value.Float64:
		return v.Float64(), nil
	case value.Null:
		return 0, errors.New("the label is null: a model needs a label on every training row; filter such rows out in the label's SQL")
	}
	return 0, fmt.Errorf("the label %q is %s: a model's label must be bool, int64 or float64", v.String(), v.Type())
}
