package definition_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/demo"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// trainingYAML adds, to baseYAML, labels of each type a task can train on
// and a training set over each.
const trainingYAML = `transformations:
  - name: bought
    sql: SELECT user_id, ts, amount > 1 AS big, amount, 1 AS cls FROM {{ events }}
labels:
  - name: big
    entity: user
    source: bought
    entity_column: user_id
    value_column: big
    timestamp_column: ts
    type: bool
  - name: amount
    entity: user
    source: bought
    entity_column: user_id
    value_column: amount
    timestamp_column: ts
    type: float64
training_sets:
  - name: ts_big
    label: big
    features: [n_daily]
  - name: ts_amount
    label: amount
    features: [n_daily]
`

const modelYAML = `models:
  - name: big_model
    description: Who buys big.
    owner: growth
    tags: [email]
    training_set: ts_big
    task: binary_classification
    trainer:
      builtin: logistic_regression
`

// modelEnv is an environment whose project holds baseYAML, trainingYAML
// and models.yaml with the given content.
func modelEnv(t *testing.T, models string) *env {
	t.Helper()
	e := newEnv(t)
	write(t, e.dir, "defs.yaml", baseYAML)
	write(t, e.dir, "training.yaml", trainingYAML)
	write(t, e.dir, "models.yaml", models)
	return e
}

func planItem(t *testing.T, plan *definition.Plan, id resource.ID) *definition.Item {
	t.Helper()
	for _, it := range plan.Items {
		if it.Resource.ID == id {
			return it
		}
	}
	t.Fatalf("plan has no %s", id)
	return nil
}

var bigModel = resource.ID{Kind: resource.KindModel, Name: "big_model", Variant: resource.DefaultVariant}

// TestModelDefinition checks that a model is read with every default filled
// in, planned after its training set, registered as read (with its
// directory), unchanged when applied again, and unchanged when the
// defaults are written out.
func TestModelDefinition(t *testing.T) {
	e := modelEnv(t, modelYAML)
	ctx := context.Background()
	plan, err := e.apply(t)
	if err != nil {
		t.Fatal(err)
	}
	want := &resource.ModelSpec{
		TrainingSet: resource.ID{Kind: resource.KindTrainingSet, Name: "ts_big", Variant: resource.DefaultVariant},
		Task:        "binary_classification",
		Trainer:     resource.ModelTrainer{Builtin: "logistic_regression"},
		Validation:  resource.ModelValidation{HoldoutPercent: 20, Metric: "auc"},
		Promote:     resource.ModelPromote{Alias: "production", When: "better"},
	}
	it := planItem(t, plan, bigModel)
	if it.Action != definition.Create || !reflect.DeepEqual(it.Resource.Model, want) {
		t.Fatalf("plan: %s %+v, want create %+v", it.Action, it.Resource.Model, want)
	}
	if last := plan.Items[len(plan.Items)-1]; last != it {
		t.Errorf("the model is planned before %s; models come last", last.Resource.ID)
	}
	reg, err := e.s.Registry.Get(ctx, bigModel)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reg.Model, want) || reg.Description != "Who buys big." || reg.Owner != "growth" || !reflect.DeepEqual(reg.Tags, []string{"email"}) {
		t.Errorf("registered %+v %+v, want %+v", reg, reg.Model, want)
	}
	if dir, _ := filepath.Abs(e.dir); reg.State.Dir != dir {
		t.Errorf("registered dir %q, want the YAML file's directory %q", reg.State.Dir, dir)
	}
	if reg.State.Status != resource.StatusPending {
		t.Errorf("status %s, want pending (no version trained yet)", reg.State.Status)
	}
	deps, err := e.s.Registry.Dependents(ctx, want.TrainingSet)
	if err != nil || !reflect.DeepEqual(deps, []resource.ID{bigModel}) {
		t.Errorf("Dependents(ts_big) = %v, %v; want the model", deps, err)
	}

	explicit := strings.Replace(modelYAML, "      builtin: logistic_regression\n", `      builtin: logistic_regression
    validation: {holdout: 20%, metric: auc}
    promote:
      alias: production
      when: better
`, 1)
	for name, y := range map[string]string{"again": modelYAML, "defaults written out": explicit,
		"holdout as a number": strings.Replace(explicit, "holdout: 20%", "holdout: 20", 1)} {
		write(t, e.dir, "models.yaml", y)
		plan, err := e.plan(t)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if it := planItem(t, plan, bigModel); it.Action != definition.Unchanged {
			t.Errorf("%s: %s %v, want unchanged", name, it.Action, it.Diffs)
		}
	}
}

// TestModelChangeIsAConflict: a registered model never changes; a changed
// definition needs a new variant, as for every kind.
func TestModelChangeIsAConflict(t *testing.T) {
	e := modelEnv(t, modelYAML)
	if _, err := e.apply(t); err != nil {
		t.Fatal(err)
	}
	write(t, e.dir, "models.yaml", modelYAML+"    promote: {when: never}\n    validation: {holdout: 10%}\n")
	plan, err := e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	it := planItem(t, plan, bigModel)
	want := []resource.FieldDiff{
		{Field: "model.promote.when", Registered: "better", Proposed: "never"},
		{Field: "model.validation.holdout_percent", Registered: "20", Proposed: "10"},
	}
	if it.Action != definition.Conflict || !reflect.DeepEqual(it.Diffs, want) {
		t.Fatalf("changed model: %s %+v, want conflict %+v", it.Action, it.Diffs, want)
	}
	err = plan.ConflictError()
	if err == nil || !strings.Contains(err.Error(), "models.yaml:2: model big_model:default is already registered with a different definition") ||
		!strings.Contains(err.Error(), "new variant") {
		t.Errorf("conflict error = %v", err)
	}
	write(t, e.dir, "models.yaml", strings.Replace(modelYAML, "big_model\n", "big_model\n    variant: v2\n", 1)+"    promote: {when: never}\n")
	if plan, err := e.plan(t); err != nil || len(plan.Conflicts()) != 0 {
		t.Fatalf("the change as a new variant: %v %v", err, plan.ConflictError())
	}
}

// TestModelDirFollowsTheLastApply: a model applied unchanged from another
// checkout runs its command trainer there from then on.
func TestModelDirFollowsTheLastApply(t *testing.T) {
	e := modelEnv(t, modelYAML)
	ctx := context.Background()
	if _, err := e.apply(t); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "checkout")
	write(t, other, "events.csv", eventsCSV)
	write(t, other, "defs.yaml", baseYAML)
	write(t, other, "training.yaml", trainingYAML)
	write(t, other, "ml/models.yaml", modelYAML)
	defs, err := definition.LoadDir(other)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := definition.MakePlan(ctx, defs, e.s)
	if err != nil {
		t.Fatal(err)
	}
	if it := planItem(t, plan, bigModel); it.Action != definition.Unchanged {
		t.Fatalf("model from another checkout: %s %v, want unchanged", it.Action, it.Diffs)
	}
	if _, err := e.c.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	reg, err := e.s.Registry.Get(ctx, bigModel)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(other, "ml"); reg.State.Dir != want {
		t.Errorf("dir after an apply from another checkout = %q, want %q", reg.State.Dir, want)
	}
}

// TestModelWarnsAboutADeprecatedTrainingSet, like any other reference.
func TestModelWarnsAboutADeprecatedTrainingSet(t *testing.T) {
	e := modelEnv(t, modelYAML)
	if _, err := e.apply(t); err != nil {
		t.Fatal(err)
	}
	ts := resource.ID{Kind: resource.KindTrainingSet, Name: "ts_big", Variant: resource.DefaultVariant}
	if _, err := e.s.Registry.Deprecate(context.Background(), &registry.DeprecateParams{ID: ts, By: "ana", Reason: "use ts_big:v2"}); err != nil {
		t.Fatal(err)
	}
	plan, err := e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0].Error(),
		"models.yaml:6: training_set: model big_model:default refers to training_set ts_big:default, deprecated at") {
		t.Errorf("warnings = %v", plan.Warnings)
	}
}

// TestModelTasksAndTrainers: every task with a training set whose label
// fits it, a command trainer, a training set named with its variant.
func TestModelTasksAndTrainers(t *testing.T) {
	e := modelEnv(t, `models:
  - name: amount_model
    training_set: ts_amount:default
    task: regression
    trainer: {builtin: linear_regression}
    validation: {holdout: 12.5%, metric: mae}
    promote: {alias: staging, when: always}
    schedule: "@weekly"
  - name: class_model
    training_set: ts_class
    task: multiclass
    trainer:
      command: [python3, train.py, --max-depth, "6"]
  - name: big_xgb
    training_set: ts_big
    task: binary_classification
    trainer: {command: [python3, train.py]}
    validation: {holdout: 0.5%, metric: log_loss}
`)
	write(t, e.dir, "class.yaml", `labels:
  - name: cls
    entity: user
    source: bought
    entity_column: user_id
    value_column: cls
    timestamp_column: ts
    type: int64
training_sets:
  - name: ts_class
    label: cls
    features: [n_daily]
`)
	plan, err := e.apply(t)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*resource.ModelSpec{}
	for _, it := range plan.Items {
		if it.Resource.Model != nil {
			got[it.Resource.Name] = it.Resource.Model
		}
	}
	want := map[string]*resource.ModelSpec{
		"amount_model": {TrainingSet: resource.ID{Kind: resource.KindTrainingSet, Name: "ts_amount", Variant: "default"}, Task: "regression",
			Trainer: resource.ModelTrainer{Builtin: "linear_regression"}, Validation: resource.ModelValidation{HoldoutPercent: 12.5, Metric: "mae"},
			Promote: resource.ModelPromote{Alias: "staging", When: "always"}, Schedule: "@weekly"},
		"class_model": {TrainingSet: resource.ID{Kind: resource.KindTrainingSet, Name: "ts_class", Variant: "default"}, Task: "multiclass",
			Trainer: resource.ModelTrainer{Command: []string{"python3", "train.py", "--max-depth", "6"}}, Validation: resource.ModelValidation{HoldoutPercent: 20, Metric: "log_loss"},
			Promote: resource.ModelPromote{Alias: "production", When: "better"}},
		"big_xgb": {TrainingSet: resource.ID{Kind: resource.KindTrainingSet, Name: "ts_big", Variant: "default"}, Task: "binary_classification",
			Trainer: resource.ModelTrainer{Command: []string{"python3", "train.py"}}, Validation: resource.ModelValidation{HoldoutPercent: 0.5, Metric: "log_loss"},
			Promote: resource.ModelPromote{Alias: "production", When: "better"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("models =\n %+v\nwant\n %+v", got, want)
	}
}

// badModels are model definitions that plan must refuse, each with the
// file:line: field: message it must give.
var badModels = []struct {
	name, yaml string
	want       []string
}{
	{"UnknownTask", "task: ranking\n    trainer: {builtin: logistic_regression}\n",
		[]string{`models.yaml:4: task: unknown task "ranking": use one of binary_classification, regression, multiclass`}},
	{"MissingTask", "trainer: {builtin: logistic_regression}\n",
		[]string{"models.yaml:2: task: missing; a model needs it"}},
	{"MissingTrainer", "task: regression\n",
		[]string{"models.yaml:2: trainer: missing; a model needs it: trainer: {builtin: logistic_regression}"}},
	{"EmptyTrainer", "task: regression\n    trainer:\n",
		[]string{"models.yaml:5: trainer: is empty: write trainer: {builtin: logistic_regression}"}},
	{"TrainerAsAString", "task: regression\n    trainer: linear_regression\n",
		[]string{"models.yaml:5: trainer: expected a mapping: write trainer: {builtin: linear_regression}"}},
	{"BuiltinAndCommand", "task: regression\n    trainer: {builtin: linear_regression, command: [python3, t.py]}\n",
		[]string{"models.yaml:5: trainer: give either builtin or command, not both"}},
	{"NoBuiltinNorCommand", "task: regression\n    trainer: {}\n",
		[]string{"models.yaml:5: trainer: needs builtin: (logistic_regression or linear_regression) or command:"}},
	{"UnknownBuiltin", "task: regression\n    trainer: {builtin: xgboost}\n",
		[]string{`models.yaml:5: trainer.builtin: unknown built-in trainer "xgboost": use logistic_regression (binary_classification) or linear_regression (regression), or a command trainer`}},
	{"BuiltinNotFittingTheTask", "task: binary_classification\n    trainer: {builtin: linear_regression}\n",
		[]string{"models.yaml:5: trainer.builtin: built-in trainer linear_regression fits regression models, not binary_classification: use logistic_regression, or a command trainer"}},
	{"CommandAsAString", "task: regression\n    trainer:\n      command: python3 train.py --out model.json\n",
		[]string{"models.yaml:6: trainer.command: expected a list of arguments, like command: [python3, train.py, --out, model.json]: the command is run directly, not by a shell"}},
	{"EmptyCommand", "task: regression\n    trainer: {command: []}\n",
		[]string{"models.yaml:5: trainer.command: expected the program and its arguments as a non-empty list"}},
	{"UnknownTrainerKey", "task: regression\n    trainer:\n      builtin: linear_regression\n      max_iter: 100\n",
		[]string{"models.yaml:7: trainer.max_iter: unknown field of trainer; allowed: builtin, command"}},
	{"MetricNotOfTheTask", "task: regression\n    trainer: {builtin: linear_regression}\n    validation: {metric: auc}\n",
		[]string{`models.yaml:6: validation.metric: metric "auc" is not one of a regression model's: use rmse, mae`}},
	{"HoldoutOutOfRange", "task: regression\n    trainer: {builtin: linear_regression}\n    validation:\n      holdout: 100%\n",
		[]string{"models.yaml:7: validation.holdout: 100% is out of range: the holdout is a share of the label rows (the newest by time) above 0% and below 100%"}},
	{"HoldoutZero", "task: regression\n    trainer: {builtin: linear_regression}\n    validation: {holdout: 0}\n",
		[]string{"models.yaml:6: validation.holdout: 0% is out of range"}},
	{"HoldoutAsAFraction", "task: regression\n    trainer: {builtin: linear_regression}\n    validation: {holdout: 0.2}\n",
		[]string{"models.yaml:6: validation.holdout: 0.2 is a percentage, so it would hold out 0.2% of the label rows: write 20% for a fifth of them, or 0.2% if you mean it"}},
	{"HoldoutNotANumber", "task: regression\n    trainer: {builtin: linear_regression}\n    validation: {holdout: a fifth}\n",
		[]string{`models.yaml:6: validation.holdout: "a fifth" is not a percentage`}},
	{"UnknownValidationKey", "task: regression\n    trainer: {builtin: linear_regression}\n    validation: {holdout: 20%, folds: 5}\n",
		[]string{"models.yaml:6: validation.folds: unknown field of validation; allowed: holdout, metric"}},
	{"InvalidAlias", "task: regression\n    trainer: {builtin: linear_regression}\n    promote: {alias: Production}\n",
		[]string{`models.yaml:6: promote.alias: invalid name "Production"`, "an alias is named like a resource"}},
	{"UnknownWhen", "task: regression\n    trainer: {builtin: linear_regression}\n    promote: {when: sometimes}\n",
		[]string{`models.yaml:6: promote.when: unknown "sometimes": use better`}},
	{"UnknownPromoteKey", "task: regression\n    trainer: {builtin: linear_regression}\n    promote:\n      alias: production\n      after: 1d\n",
		[]string{"models.yaml:8: promote.after: unknown field of promote; allowed: alias, when"}},
	{"ValidationNotAMapping", "task: regression\n    trainer: {builtin: linear_regression}\n    validation: 20%\n",
		[]string{"models.yaml:6: validation: expected a mapping, like validation: {holdout: 20%, metric: auc}"}},
	{"BadSchedule", "task: regression\n    trainer: {builtin: linear_regression}\n    schedule: weekly\n",
		[]string{`models.yaml:6: schedule: schedule "weekly"`}},
	{"UnknownField", "task: regression\n    trainer: {builtin: linear_regression}\n    label: amount\n",
		[]string{"models.yaml:6: label: unknown field for a model; allowed: name, variant, description, owner, tags, training_set, task, trainer, validation, promote, schedule"}},
}

// TestModelBadInput checks that every bad model definition is reported
// with file, line, field and what to do, and nothing is registered.
func TestModelBadInput(t *testing.T) {
	for _, tc := range badModels {
		t.Run(tc.name, func(t *testing.T) {
			e := modelEnv(t, "models:\n  - name: m\n    training_set: ts_amount\n    "+tc.yaml)
			_, err := e.apply(t)
			if err == nil {
				t.Fatal("plan succeeded; want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if n := e.registered(t); n != 0 {
				t.Errorf("%d resources registered after a failed plan", n)
			}
		})
	}
}

// TestModelTrainingSetProblems: the training set must exist, be a
// training set, and have a label that fits the task.
func TestModelTrainingSetProblems(t *testing.T) {
	cases := []struct{ name, ts, task, want string }{
		{"Unknown", "ts_nope", "regression", "models.yaml:3: training_set: unknown training_set ts_nope:default: define it or fix the reference"},
		{"UnknownVariant", "ts_amount:v9", "regression", "models.yaml:3: training_set: unknown training_set ts_amount:v9"},
		{"ALabel", "amount", "regression", "models.yaml:3: training_set: amount:default is a label, not a training set: a model trains on a training set (defined under training_sets:), and predicts its label"},
		{"AStringLabel", "ts1", "regression", "models.yaml:3: training_set: training set ts1:default has label kind_label:default of type string, but a regression model needs an int64 or float64 label"},
		{"AFloatLabelForClassification", "ts_amount", "binary_classification", "models.yaml:3: training_set: training set ts_amount:default has label amount:default of type float64, but a binary_classification model needs a bool label, or an int64 one holding 0 and 1"},
		{"ABoolLabelForMulticlass", "ts_big", "multiclass", "needs an int64 label holding the classes 0, 1, …, K-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := modelEnv(t, "models:\n  - name: m\n    training_set: "+tc.ts+"\n    task: "+tc.task+"\n    trainer: {command: [python3, train.py]}\n")
			_, err := e.apply(t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant %q", err, tc.want)
			}
			if n := e.registered(t); n != 0 {
				t.Errorf("%d resources registered after a failed plan", n)
			}
		})
	}
}

// TestDocsModelExamplePlans plans the Models example of docs/definitions.md,
// as it is, next to the demo project it refers to.
func TestDocsModelExamplePlans(t *testing.T) {
	block := docsYAML(t, "Models")
	e := newEnv(t)
	root := demoBeside(t, e)
	// The example stands for the demo's own models.
	if err := os.RemoveAll(filepath.Join(root, "definitions", "models.yaml")); err != nil {
		t.Fatal(err)
	}
	write(t, root, "definitions/ml/models.yaml", block)
	defs, err := definition.LoadDir(filepath.Join(root, "definitions"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := definition.MakePlan(context.Background(), defs, e.s)
	if err != nil {
		t.Fatalf("the docs' model example does not plan:\n%v", err)
	}
	var models []string
	for _, it := range plan.Items {
		if it.Resource.Kind == resource.KindModel {
			models = append(models, it.Resource.Name)
			if it.Resource.State.Dir != filepath.Join(root, "definitions", "ml") {
				t.Errorf("%s: dir %q, want the YAML file's", it.Resource.ID, it.Resource.State.Dir)
			}
		}
	}
	if !reflect.DeepEqual(models, []string{"purchase_model", "purchase_xgb"}) {
		t.Errorf("models planned: %v", models)
	}
}

// docsYAML returns the first yaml block of a section ("## NAME") of
// docs/definitions.md.
func docsYAML(t *testing.T, section string) string {
	t.Helper()
	b, err := os.ReadFile("../docs/definitions.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n## "+section+"\n")
	_, block, ok2 := strings.Cut(after, "```yaml\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatalf(`docs/definitions.md has no "## %s" section with a yaml block`, section)
	}
	return block
}

// demoBeside writes the demo project and a small demo data set in the
// directory holding e's definitions directory, and returns that directory.
func demoBeside(t *testing.T, e *env) string {
	t.Helper()
	root := filepath.Dir(e.dir)
	if _, err := demo.WriteProject(root); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Generate(context.Background(), filepath.Join(root, "data"), demo.Options{Scale: 0.1}); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestSchemaDocumentsModels checks docs/definitions.schema.json against
// what the loader accepts: the model's fields, the keys of its mappings and
// the values of its enums.
func TestSchemaDocumentsModels(t *testing.T) {
	b, err := os.ReadFile("../docs/definitions.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	type object struct {
		Properties map[string]*object `json:"properties"`
		Enum       []string           `json:"enum"`
		Items      *object            `json:"items"`
		Ref        string             `json:"$ref"`
	}
	var schema struct {
		Properties map[string]*object `json:"properties"`
		Defs       map[string]*object `json:"$defs"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	if top := schema.Properties["models"]; top == nil || top.Items == nil || top.Items.Ref != "#/$defs/model" {
		t.Fatal("the schema has no models key holding $defs/model items")
	}
	m := schema.Defs["model"]
	if m == nil {
		t.Fatal("the schema has no $defs/model")
	}
	keys := func(o *object) []string { return slices.Sorted(maps.Keys(o.Properties)) }
	sorted := func(s ...string) []string { return slices.Sorted(slices.Values(s)) }
	checks := []struct {
		what      string
		got, want []string
	}{
		{"model fields", keys(m), sorted("name", "variant", "description", "owner", "tags", "training_set", "task", "trainer", "validation", "promote", "schedule", "retrain")},
		{"trainer keys", keys(m.Properties["trainer"]), []string{"builtin", "command"}},
		{"validation keys", keys(m.Properties["validation"]), []string{"holdout", "metric"}},
		{"promote keys", keys(m.Properties["promote"]), []string{"alias", "experiment", "when"}},
		{"promote.experiment keys", keys(m.Properties["promote"].Properties["experiment"]), []string{"endpoint", "metric", "min_samples", "traffic"}},
		{"retrain keys", keys(m.Properties["retrain"]), []string{"feedback", "new_feedback", "schedule"}},
		{"tasks", sorted(m.Properties["task"].Enum...), sorted(model.Tasks...)},
		{"built-in trainers", sorted(m.Properties["trainer"].Properties["builtin"].Enum...), sorted(model.BuiltinLogistic, model.BuiltinLinear)},
		{"promote.when", sorted(m.Properties["promote"].Properties["when"].Enum...), sorted(resource.PromoteWhens...)},
	}
	var metrics []string
	for _, task := range model.Tasks {
		for _, mt := range model.TaskMetrics(task) {
			if !slices.Contains(metrics, mt) {
				metrics = append(metrics, mt)
			}
		}
	}
	checks = append(checks, struct {
		what      string
		got, want []string
	}{"metrics", sorted(m.Properties["validation"].Properties["metric"].Enum...), sorted(metrics...)})
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("schema %s = %v; the loader accepts %v", c.what, c.got, c.want)
		}
	}
}
