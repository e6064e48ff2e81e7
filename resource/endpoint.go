package resource

// KindEndpoint is a live prediction endpoint: it serves the version one
// alias of a model points at (package serving answers its requests).
//
// An endpoint names a model by name, not by name:variant: versions and
// aliases belong to the model's name, shared by its definitions, and a
// model registered from a file has versions without any definition. So an
// endpoint has no resource dependency (Dependencies returns none): its
// lineage runs through the model name to the alias and the version it
// serves, which the registry's ModelStore records.
// docs/design/serving-models.md explains the choice.
const KindEndpoint Kind = "endpoint"

// EndpointSpec says what an endpoint serves.
type EndpointSpec struct {
	// Model is the model's name (ValidateName): a model defined under
	// models: (any variant) or registered with `slipway models register`.
	Model string `json:"model"`
	// Alias is the alias whose version is served (DefaultModelAlias when
	// the definition names none; the loader fills it in, so the stored
	// definition is explicit).
	Alias string `json:"alias"`
}

// PredictionsSuffix ends the name of the source an endpoint's prediction
// log is registered as.
const PredictionsSuffix = "_predictions"

// EndpointPredictions is the source an endpoint's prediction log is
// registered as (package predictionlog ships it): NAME_predictions, with
// the endpoint's variant. An endpoint's name leaves room for the suffix.
func EndpointPredictions(endpoint Ref) ID {
	return ID{Kind: KindSource, Name: endpoint.Name + PredictionsSuffix, Variant: endpoint.Variant}
}

// FeedbackSource is the name of the source Slipway registers over the
// feedback events posted to /v1/feedback (package feedback); no definition
// may take it for a source or a transformation.
const FeedbackSource = "feedback"
