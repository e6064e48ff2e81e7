package resource

// KindBatchPrediction is a batch prediction: on schedule or on demand, it
// scores every entity of a source or transformation with the version one
// alias of a model points at, from the entities' feature values as of the
// run's time (the training set's point-in-time join), appends the scores to
// a table of the offline store and serves them online.
//
// Its first run registers, with the batch prediction's variant, a source
// named after it over that table (so SQL can read the predictions) and a
// feature of the same name over the source (so the online-features API
// serves the newest prediction per entity); every run materializes that
// feature. docs/design/batch-predictions.md explains the choices.
//
// Like an endpoint, it names its model by name: its dependency is the
// entities' source or transformation only.
const KindBatchPrediction Kind = "batch_prediction"

// BatchPredictionSpec says what a batch prediction scores.
type BatchPredictionSpec struct {
	// Model is the model's name (ValidateName), as an endpoint names it.
	Model string `json:"model"`
	// Alias is the alias whose version scores (DefaultModelAlias when the
	// definition names none; the loader fills it in).
	Alias string `json:"alias"`
	// Entities is the source or transformation whose EntityColumn lists
	// the entities to score (each distinct non-null value once).
	Entities ID `json:"entities"`
	// EntityColumn is the column of Entities holding the entity keys. When
	// the definition names none, the plan fills in the entity column of the
	// label of the model's training set.
	EntityColumn string `json:"entity_column"`
	// Schedule, a cron expression (ParseSchedule), runs it on schedule.
	Schedule string `json:"schedule,omitempty"`
}

// The columns of a batch prediction's table, after the entity column
// (named as BatchPredictionSpec.EntityColumn).
const (
	// BatchPredictionColumn is the prediction: the probability of class 1
	// (binary classification), the value (regression) or the probability
	// of the predicted class (multiclass).
	BatchPredictionColumn = "prediction"
	// BatchClassColumn is the predicted class (classification; null for
	// regression).
	BatchClassColumn = "class"
	// BatchScoredAtColumn is the run's time: the time the entities'
	// feature values were read as of, and the table's timestamp column.
	BatchScoredAtColumn = "scored_at"
)

// BatchPredictionSource is the ID of the source a batch prediction's runs
// register over its table; the feature they register has the same name
// and variant.
func BatchPredictionSource(bp ID) ID {
	return ID{Kind: KindSource, Name: bp.Name, Variant: bp.Variant}
}
