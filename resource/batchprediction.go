package resource

import "github.com/slipway-ml/slipway/value"

// KindBatchPrediction is a batch prediction: on schedule or on demand, it
// scores every entity of a source or transformation with the version one
// alias of a model points at, from the entities' feature values as of the
// run's time (the training set's point-in-time join), appends the scores to
// a table of the offline store and serves them online.
//
// Its table has PredictionColumns, like an endpoint's prediction log. Its
// first run registers, with the batch prediction's variant, a source named
// after it over that table (so SQL can read the predictions) and a feature
// of the same name over the source (so the online-features API serves the
// newest prediction per entity); every run materializes that feature. docs/design/batch-predictions.md explains the choices.
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

// PredictionColumns are the columns, in order, of every table of
// predictions Slipway writes: an endpoint's prediction log and a batch
// prediction's table. One shape, so SQL over predictions (labels joined
// with feedback, monitoring) reads them alike:
//
//	prediction_id     text       a UUIDv7, unique
//	predicted_at      timestamp  when it was made (UTC): the table's time
//	endpoint          text       the endpoint that answered (name:variant), or null
//	batch_prediction  text       the batch prediction that scored (name:variant), or null
//	model             text
//	model_version     int64
//	experiment, arm   text       the experiment arm that answered, or null
//	entity            text       the entity key
//	prediction        float64    the probability of class 1 (binary
//	                             classification), the value (regression), or
//	                             the probability of the predicted class (multiclass)
//	class             int64      the predicted class; null for regression
//	output            text       JSON: the outputs as the predict API gives them
//	features          text       JSON: each input feature's value as scored
//	statuses          text       JSON: the features not found, with how each
//	                             was had (not_found, outside_max_age,
//	                             override); one left out was found
//	encoded           text       JSON: the vector the model scored (null: missing)
//	write_batch       text       the write it came in: a retried write
//	                             replaces its own rows, so no prediction is
//	                             written twice
var PredictionColumns = []Column{
	{Name: "prediction_id", Type: value.String},
	{Name: PredictedAtColumn, Type: value.Timestamp},
	{Name: "endpoint", Type: value.String},
	{Name: "batch_prediction", Type: value.String},
	{Name: "model", Type: value.String},
	{Name: "model_version", Type: value.Int64},
	{Name: "experiment", Type: value.String},
	{Name: "arm", Type: value.String},
	{Name: PredictionEntityColumn, Type: value.String},
	{Name: PredictionColumn, Type: value.Float64},
	{Name: PredictionClassColumn, Type: value.Int64},
	{Name: "output", Type: value.String},
	{Name: "features", Type: value.String},
	{Name: "statuses", Type: value.String},
	{Name: "encoded", Type: value.String},
	{Name: WriteBatchColumn, Type: value.String},
}

// Names of PredictionColumns that code refers to.
const (
	PredictedAtColumn      = "predicted_at"
	PredictionEntityColumn = "entity"
	PredictionColumn       = "prediction"
	PredictionClassColumn  = "class"
	WriteBatchColumn       = "write_batch"
)

// BatchPredictionSource is the ID of the source a batch prediction's runs
// register over its table; the feature they register has the same name
// and variant.
func BatchPredictionSource(bp ID) ID {
	return ID{Kind: KindSource, Name: bp.Name, Variant: bp.Variant}
}
