package model

import (
	"fmt"
	"slices"
	"strings"
)

// The tasks a model can be trained for, as a model definition names them.
const (
	// TaskBinaryClassification predicts the probability of class 1 of a 0/1 label.
	TaskBinaryClassification = "binary_classification"
	// TaskRegression predicts a number.
	TaskRegression = "regression"
	// TaskMulticlass predicts one probability per class of a label whose
	// classes are 0, 1, …, K-1.
	TaskMulticlass = "multiclass"
)

// Tasks lists every task.
var Tasks = []string{TaskBinaryClassification, TaskRegression, TaskMulticlass}

// The validation metrics, as model definitions and recorded versions name them.
const (
	MetricAUC      = "auc"
	MetricLogLoss  = "log_loss"
	MetricAccuracy = "accuracy"
	MetricRMSE     = "rmse"
	MetricMAE      = "mae"
)

// taskMetrics lists each task's metrics, its default (the one a promotion
// compares when the definition names none) first.
var taskMetrics = map[string][]string{
	TaskBinaryClassification: {MetricAUC, MetricLogLoss, MetricAccuracy},
	TaskRegression:           {MetricRMSE, MetricMAE},
	TaskMulticlass:           {MetricLogLoss, MetricAccuracy},
}

// CheckTask reports a task that is not one of Tasks.
func CheckTask(task string) error {
	if _, ok := taskMetrics[task]; !ok {
		return fmt.Errorf("unknown task %q: use one of %s", task, strings.Join(Tasks, ", "))
	}
	return nil
}

// TaskMetrics returns the metrics validation records for a task, its
// default metric first; nil for an unknown task.
func TaskMetrics(task string) []string { return slices.Clone(taskMetrics[task]) }

// DefaultMetric is the metric a promotion compares when the model's
// definition names none.
func DefaultMetric(task string) string {
	if m := taskMetrics[task]; len(m) > 0 {
		return m[0]
	}
	return ""
}

// CheckMetric reports a metric that the task does not record.
func CheckMetric(task, metric string) error {
	if err := CheckTask(task); err != nil {
		return err
	}
	if !slices.Contains(taskMetrics[task], metric) {
		return fmt.Errorf("metric %q is not one of a %s model's: use %s", metric, task, strings.Join(taskMetrics[task], ", "))
	}
	return nil
}

// HigherIsBetter reports whether a larger value of the metric is a better
// model (AUC, accuracy) rather than a smaller one (log loss, RMSE, MAE).
func HigherIsBetter(metric string) bool {
	return metric == MetricAUC || metric == MetricAccuracy
}

// The built-in trainers, as a model definition's trainer.builtin names them.
const (
	BuiltinLogistic = "logistic_regression"
	BuiltinLinear   = "linear_regression"
)

// builtinTasks is the task each built-in trainer fits.
var builtinTasks = map[string]string{BuiltinLogistic: TaskBinaryClassification, BuiltinLinear: TaskRegression}

// CheckBuiltin reports a built-in trainer that does not exist or does not
// fit the task.
func CheckBuiltin(name, task string) error {
	t, ok := builtinTasks[name]
	switch {
	case !ok:
		return fmt.Errorf("unknown built-in trainer %q: use %s (binary_classification) or %s (regression), or a command trainer", name, BuiltinLogistic, BuiltinLinear)
	case t != task:
		for other, ot := range builtinTasks {
			if ot == task {
				return fmt.Errorf("built-in trainer %s fits %s models, not %s: use %s, or a command trainer", name, t, task, other)
			}
		}
		return fmt.Errorf("built-in trainer %s fits %s models, not %s: no built-in trainer fits %s, so use a command trainer", name, t, task, task)
	}
	return nil
}
