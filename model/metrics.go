package model

import (
	"fmt"
	"math"
	"slices"
)

// The validation metrics, defined as scikit-learn 1.2 defines them (the
// version Debian 12 ships, which the tests compare with to 1e-9).

// logLossEps is where LogLoss clips probabilities: scikit-learn's
// eps="auto", the machine epsilon of float64.
const logLossEps = 0x1p-52

// AUC is the area under the ROC curve of scores for binary labels (0 or 1),
// as scikit-learn's roc_auc_score: tied scores count half, which is the
// trapezoid under the curve through the distinct thresholds. Both classes
// must be present.
func AUC(labels, scores []float64) (float64, error) {
	if err := checkBinary("AUC", labels, scores); err != nil {
		return 0, err
	}
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		// Descending by score.
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	// Walk groups of equal scores from the highest: each negative in a group
	// is outranked by every positive seen before the group and ties with
	// the group's positives (half each). Counts are integers, exact in
	// float64 far beyond any training set.
	var area, posBefore, pos, neg float64
	for i := 0; i < len(order); {
		var gp, gn float64
		j := i
		for ; j < len(order) && scores[order[j]] == scores[order[i]]; j++ {
			if labels[order[j]] == 1 {
				gp++
			} else {
				gn++
			}
		}
		area += gn * (posBefore + gp/2)
		posBefore += gp
		pos += gp
		neg += gn
		i = j
	}
	if pos == 0 || neg == 0 {
		return 0, fmt.Errorf("AUC: all %d labels are %v: the AUC needs both classes", len(labels), labels[0])
	}
	return area / (pos * neg), nil
}

// LogLoss is the mean negative log-likelihood of binary labels (0 or 1)
// under probabilities of class 1, as scikit-learn's log_loss: each
// probability is clipped to [eps, 1−eps] with eps the float64 machine
// epsilon, and the pair (1−p, p) renormalized. Both classes must be present,
// as scikit-learn requires.
func LogLoss(labels, probs []float64) (float64, error) {
	if err := checkBinary("log loss", labels, probs); err != nil {
		return 0, err
	}
	if err := checkProbs("log loss", probs); err != nil {
		return 0, err
	}
	var sum float64
	var pos int
	for i, p := range probs {
		p = min(max(p, logLossEps), 1-logLossEps)
		q := 1 - p
		total := q + p
		if labels[i] == 1 {
			pos++
			sum -= math.Log(p / total)
		} else {
			sum -= math.Log(q / total)
		}
	}
	if pos == 0 || pos == len(labels) {
		return 0, fmt.Errorf("log loss: all %d labels are %v: the log loss needs both classes", len(labels), labels[0])
	}
	return sum / float64(len(probs)), nil
}

// Accuracy is the share of binary labels (0 or 1) predicted right when a
// probability above 0.5 predicts class 1 (as scikit-learn's
// LogisticRegression.predict: exactly 0.5 predicts 0).
func Accuracy(labels, probs []float64) (float64, error) {
	if err := checkBinary("accuracy", labels, probs); err != nil {
		return 0, err
	}
	if err := checkProbs("accuracy", probs); err != nil {
		return 0, err
	}
	var right int
	for i, p := range probs {
		if (p > 0.5) == (labels[i] == 1) {
			right++
		}
	}
	return float64(right) / float64(len(labels)), nil
}

// RMSE is the root mean squared error of predictions of targets.
func RMSE(targets, preds []float64) (float64, error) {
	if err := checkRegression("RMSE", targets, preds); err != nil {
		return 0, err
	}
	var sum float64
	for i, p := range preds {
		d := targets[i] - p
		sum += d * d
	}
	return math.Sqrt(sum / float64(len(preds))), nil
}

// MAE is the mean absolute error of predictions of targets.
func MAE(targets, preds []float64) (float64, error) {
	if err := checkRegression("MAE", targets, preds); err != nil {
		return 0, err
	}
	var sum float64
	for i, p := range preds {
		sum += math.Abs(targets[i] - p)
	}
	return sum / float64(len(preds)), nil
}

func checkLengths(metric string, labels, preds []float64) error {
	if len(labels) != len(preds) {
		return fmt.Errorf("%s: %d labels but %d predictions", metric, len(labels), len(preds))
	}
	if len(labels) == 0 {
		return fmt.Errorf("%s: no rows", metric)
	}
	return nil
}

func checkBinary(metric string, labels, preds []float64) error {
	if err := checkLengths(metric, labels, preds); err != nil {
		return err
	}
	for i, y := range labels {
		if y != 0 && y != 1 {
			return fmt.Errorf("%s: label %d is %v, want 0 or 1", metric, i, y)
		}
		if math.IsNaN(preds[i]) {
			return fmt.Errorf("%s: prediction %d is NaN", metric, i)
		}
	}
	return nil
}

func checkProbs(metric string, probs []float64) error {
	for i, p := range probs {
		if p < 0 || p > 1 {
			return fmt.Errorf("%s: prediction %d is %v, not a probability", metric, i, p)
		}
	}
	return nil
}

func checkRegression(metric string, targets, preds []float64) error {
	if err := checkLengths(metric, targets, preds); err != nil {
		return err
	}
	for i := range targets {
		if !finite(targets[i]) || !finite(preds[i]) {
			return fmt.Errorf("%s: row %d has target %v and prediction %v; both must be finite", metric, i, targets[i], preds[i])
		}
	}
	return nil
}
