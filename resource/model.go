package resource

import "fmt"

// KindModel is a model: how a model is trained and validated from a
// training set, and when a trained version is promoted. Its versions and
// aliases are recorded by the registry's ModelStore, not as resources.
const KindModel Kind = "model"

// The promotion policies of a model (ModelPromote.When).
const (
	// PromoteBetter moves the alias to a new version when the version's
	// validation metric is better than that of the alias's version (or the
	// alias points nowhere yet).
	PromoteBetter = "better"
	// PromoteAlways moves the alias to every new version.
	PromoteAlways = "always"
	// PromoteNever leaves the alias to be moved by hand.
	PromoteNever = "never"
	// PromoteExperiment starts an experiment (ModelPromote.Experiment)
	// between the alias's version and a new version whose validation
	// metric is better, and moves the alias when the new version wins it.
	PromoteExperiment = "experiment"
)

// PromoteWhens lists the promotion policies, the default first.
var PromoteWhens = []string{PromoteBetter, PromoteAlways, PromoteNever, PromoteExperiment}

// DefaultModelAlias is the alias a model's promotion moves when its
// definition names none.
const DefaultModelAlias = "production"

// DefaultHoldoutPercent is the share of a training set's label rows, the
// newest by time, that validation holds out when the definition gives none.
const DefaultHoldoutPercent = 20

// ModelSpec says how a model is trained from a training set, validated and
// promoted. The definition loader fills in every default, so the stored
// definition is explicit: one that writes a default equals one that omits it.
type ModelSpec struct {
	// TrainingSet is the training set the model is trained on.
	TrainingSet ID `json:"training_set"`
	// Task is model.TaskBinaryClassification, model.TaskRegression or
	// model.TaskMulticlass (package model checks it; resource does not
	// import it).
	Task       string          `json:"task"`
	Trainer    ModelTrainer    `json:"trainer"`
	Validation ModelValidation `json:"validation"`
	Promote    ModelPromote    `json:"promote"`
	// Schedule, a cron expression (ParseSchedule), retrains the model on
	// schedule (the definition's retrain.schedule, or schedule).
	Schedule string `json:"schedule,omitempty"`
	// Retrain, when set, also retrains the model once enough new feedback
	// has arrived.
	Retrain *ModelRetrain `json:"retrain,omitempty"`
}

// ModelRetrain retrains a model when at least NewFeedback events of the
// feedback named Feedback were received since its newest version was
// trained (or registered).
type ModelRetrain struct {
	Feedback    string `json:"feedback"`
	NewFeedback int64  `json:"new_feedback"`
}

// ModelTrainer is what trains a model: exactly one of a built-in trainer
// and a command.
type ModelTrainer struct {
	// Builtin is a built-in trainer: model.BuiltinLogistic or model.BuiltinLinear.
	Builtin string `json:"builtin,omitempty"`
	// Command is the argv of a command that trains the model, run in the
	// model's State.Dir (the directory of the YAML file that defines it).
	Command []string `json:"command,omitempty"`
}

// ModelValidation is how a trained model is validated before promotion.
type ModelValidation struct {
	// HoldoutPercent, in (0, 100), is the share of the training set's label
	// rows, the newest by time, held out from training and scored.
	HoldoutPercent float64 `json:"holdout_percent"`
	// Metric is the metric promotion compares (model.DefaultMetric of the
	// task when the definition names none).
	Metric string `json:"metric"`
}

// ModelPromote is when a new version of a model becomes the version of an alias.
type ModelPromote struct {
	// Alias is the alias promotion moves (DefaultModelAlias when the
	// definition names none).
	Alias string `json:"alias"`
	// When is PromoteBetter (the default), PromoteAlways, PromoteNever or
	// PromoteExperiment.
	When string `json:"when"`
	// Experiment is, for PromoteExperiment, the experiment a better new
	// version is tested in.
	Experiment *PromoteExperimentSpec `json:"experiment,omitempty"`
}

// PromoteExperimentSpec is the experiment a model's training starts for a
// better new version (the challenger) against the version of the alias
// (the control): on Endpoint, which serves the alias, with Traffic percent
// of its entities assigned to the challenger. It is concluded by itself
// (ExperimentSpec.AutoConclude): the alias moves to the challenger when
// it wins.
type PromoteExperimentSpec struct {
	Endpoint ID `json:"endpoint"`
	// Traffic is the challenger's share of the entities, in percent (0, 100).
	Traffic    float64          `json:"traffic"`
	Metric     ExperimentMetric `json:"metric"`
	MinSamples int64            `json:"min_samples"`
}

// DefaultChallengerTraffic is PromoteExperimentSpec.Traffic's default.
const DefaultChallengerTraffic = 50

// ChallengerExperiment is the name of the experiment a training of model
// starts for its version: MODEL_vVERSION.
func ChallengerExperiment(model string, version int) string {
	return fmt.Sprintf("%s_v%d", model, version)
}
