package resource

import (
	"reflect"
	"testing"
)

func newModel() *Resource {
	return &Resource{
		ID: ID{KindModel, "purchase_model", DefaultVariant}, Owner: "growth",
		Model: &ModelSpec{
			TrainingSet: ID{KindTrainingSet, "purchase_propensity", "v2"},
			Task:        "binary_classification",
			Trainer:     ModelTrainer{Builtin: "logistic_regression"},
			Validation:  ModelValidation{HoldoutPercent: 20, Metric: "auc"},
			Promote:     ModelPromote{Alias: DefaultModelAlias, When: PromoteBetter},
			Schedule:    "@weekly",
		},
	}
}

func TestModelDependencies(t *testing.T) {
	m := newModel()
	if deps := m.Dependencies(); !reflect.DeepEqual(deps, []ID{{KindTrainingSet, "purchase_propensity", "v2"}}) {
		t.Errorf("Dependencies = %v; want the training set", deps)
	}
}

func TestModelDefinition(t *testing.T) {
	m := newModel()
	m.State = State{Status: StatusReady, Dir: "/home/ana/project"}
	want := `{"kind":"model","name":"purchase_model","variant":"default","owner":"growth","model":{` +
		`"training_set":{"kind":"training_set","name":"purchase_propensity","variant":"v2"},"task":"binary_classification",` +
		`"trainer":{"builtin":"logistic_regression"},"validation":{"holdout_percent":20,"metric":"auc"},` +
		`"promote":{"alias":"production","when":"better"},"schedule":"@weekly"}}`
	if got := string(m.Definition()); got != want {
		t.Errorf("Definition =\n %s\nwant\n %s", got, want)
	}
	// The directory is state: the same model applied from another checkout is the same definition.
	other := newModel()
	other.State.Dir = "/home/bo/checkout"
	if d := Diff(m, other); len(d) != 0 {
		t.Errorf("models differing only in State.Dir gave diffs %v", d)
	}
}

func TestModelDiff(t *testing.T) {
	a, b := newModel(), newModel()
	b.Model.TrainingSet.Variant = "v3"
	b.Model.Trainer = ModelTrainer{Command: []string{"python3", "train.py"}}
	b.Model.Validation.HoldoutPercent = 25
	b.Model.Promote.When = PromoteAlways
	want := []FieldDiff{
		{Field: "model.promote.when", Registered: "better", Proposed: "always"},
		{Field: "model.trainer.builtin", Registered: "logistic_regression", Proposed: ""},
		{Field: "model.trainer.command", Registered: "", Proposed: "python3, train.py", Added: []string{"python3", "train.py"}, Removed: []string{}},
		{Field: "model.training_set", Registered: "training_set purchase_propensity:v2", Proposed: "training_set purchase_propensity:v3"},
		{Field: "model.validation.holdout_percent", Registered: "20", Proposed: "25"},
	}
	if d := Diff(a, b); !reflect.DeepEqual(d, want) {
		t.Errorf("Diff =\n %+v\nwant\n %+v", d, want)
	}
}
