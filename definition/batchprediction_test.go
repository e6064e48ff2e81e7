package definition_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

const batchYAML = `batch_predictions:
  - name: big_scores
    description: Who buys big, scored nightly.
    owner: growth
    model: big_model
    entities: events
`

var bigScores = resource.ID{Kind: resource.KindBatchPrediction, Name: "big_scores", Variant: resource.DefaultVariant}

// batchEnv is modelEnv with batch.yaml holding batch predictions.
func batchEnv(t *testing.T, models, batch string) *env {
	t.Helper()
	e := modelEnv(t, models)
	write(t, e.dir, "batch.yaml", batch)
	return e
}

// TestBatchPredictionDefinition: a batch prediction is read with its
// alias's default, planned with the entity column of its model's label
// filled in, registered pending (a run makes it ready), and unchanged when
// applied again or with the defaults written out.
func TestBatchPredictionDefinition(t *testing.T) {
	e := batchEnv(t, modelYAML, batchYAML)
	ctx := context.Background()
	plan, err := e.apply(t)
	if err != nil {
		t.Fatal(err)
	}
	// big_model's training set ts_big has the label big, whose entity column is user_id.
	want := &resource.BatchPredictionSpec{Model: "big_model", Alias: "production",
		Entities: resource.ID{Kind: resource.KindSource, Name: "events", Variant: "default"}, EntityColumn: "user_id"}
	it := planItem(t, plan, bigScores)
	if it.Action != definition.Create || !reflect.DeepEqual(it.Resource.BatchPrediction, want) {
		t.Fatalf("plan: %s %+v, want create %+v", it.Action, it.Resource.BatchPrediction, want)
	}
	reg, err := e.s.Registry.Get(ctx, bigScores)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reg.BatchPrediction, want) || reg.Description != "Who buys big, scored nightly." || reg.Owner != "growth" {
		t.Errorf("registered %+v %+v, want %+v", reg, reg.BatchPrediction, want)
	}
	if reg.State.Status != resource.StatusPending {
		t.Errorf("status %s, want pending until its first run", reg.State.Status)
	}
	// It depends on its entities, not on the model definition.
	if deps, err := e.s.Registry.Dependents(ctx, bigModel); err != nil || len(deps) != 0 {
		t.Errorf("Dependents(big_model) = %v, %v; want none", deps, err)
	}
	deps, err := e.s.Registry.Dependents(ctx, want.Entities)
	if err != nil || !slices.Contains(deps, bigScores) {
		t.Errorf("Dependents(events) = %v, %v; want big_scores among them", deps, err)
	}

	for name, y := range map[string]string{
		"again":                 batchYAML,
		"defaults written out":  batchYAML + "    alias: production\n    entity_column: user_id\n",
		"entities with variant": strings.Replace(batchYAML, "entities: events", "entities: events:default", 1),
	} {
		write(t, e.dir, "batch.yaml", y)
		plan, err := e.plan(t)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if it := planItem(t, plan, bigScores); it.Action != definition.Unchanged {
			t.Errorf("%s: %s %v, want unchanged", name, it.Action, it.Diffs)
		}
	}
	// Another alias or schedule is another definition: a conflict.
	for field, y := range map[string]string{
		"batch_prediction.alias":    batchYAML + "    alias: staging\n",
		"batch_prediction.schedule": batchYAML + "    schedule: \"@daily\"\n",
	} {
		write(t, e.dir, "batch.yaml", y)
		plan, err := e.plan(t)
		if err != nil {
			t.Fatal(err)
		}
		it := planItem(t, plan, bigScores)
		if it.Action != definition.Conflict || len(it.Diffs) != 1 || it.Diffs[0].Field != field {
			t.Errorf("changed %s: %s %+v, want a conflict on it", field, it.Action, it.Diffs)
		}
	}
}

// TestBatchPredictionEntityColumnWithoutDefinition: a model with versions
// registered from a file and no definition has no label to take the entity
// column from, so the definition must name it.
func TestBatchPredictionEntityColumnWithoutDefinition(t *testing.T) {
	ctx := context.Background()
	noDef := strings.Replace(batchYAML, "big_model", "notebook_model", 1)
	e := batchEnv(t, "", noDef)
	if _, err := e.s.Registry.CreateModelVersion(ctx, &registry.CreateModelVersionParams{Model: "notebook_model",
		Artifact: registry.Artifact{Format: "slipway-linear", Bytes: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	_, err := e.plan(t)
	if err == nil || !strings.Contains(err.Error(), "batch.yaml:2: entity_column: missing, and model notebook_model has no definition") {
		t.Fatalf("plan without entity_column: %v; want it asked for at batch.yaml:2", err)
	}
	write(t, e.dir, "batch.yaml", noDef+"    entity_column: user_id\n")
	plan, err := e.plan(t)
	if err != nil {
		t.Fatalf("plan with entity_column: %v", err)
	}
	if got := planItem(t, plan, bigScores).Resource.BatchPrediction.EntityColumn; got != "user_id" {
		t.Errorf("entity column %q, want user_id", got)
	}
}

// TestBatchPredictionBadInput: each problem with its file, line and field,
// and nothing registered.
func TestBatchPredictionBadInput(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"NoModel", "  - name: big_scores\n    entities: events\n", "batch.yaml:2: model: missing"},
		{"NoEntities", "  - name: big_scores\n    model: big_model\n", "batch.yaml:2: entities: missing"},
		{"UnknownModel", "  - name: big_scores\n    model: nope\n    entities: events\n", `batch.yaml:3: model: unknown model "nope"`},
		{"ModelWithVariant", "  - name: big_scores\n    model: big_model:v2\n    entities: events\n", `batch.yaml:3: model: invalid name "big_model:v2"`},
		{"BadAlias", "  - name: big_scores\n    model: big_model\n    entities: events\n    alias: Prod\n", `batch.yaml:5: alias: invalid name "Prod"`},
		{"UnknownEntities", "  - name: big_scores\n    model: big_model\n    entities: nobody\n", "batch.yaml:4: entities: unknown source or transformation nobody:default"},
		{"NoSuchEntityColumn", "  - name: big_scores\n    model: big_model\n    entities: events\n    entity_column: nope\n", `batch.yaml:5: entity_column:`},
		{"BadSchedule", "  - name: big_scores\n    model: big_model\n    entities: events\n    schedule: sometimes\n", `batch.yaml:5: schedule:`},
		{"UnknownField", "  - name: big_scores\n    model: big_model\n    entities: events\n    version: 3\n",
			"batch.yaml:5: version: unknown field for a batch_prediction; allowed: name, variant, description, owner, tags, model, alias, entities, entity_column, schedule"},
		{"NameOfAFeature", "  - name: n_daily\n    model: big_model\n    entities: events\n", "feature n_daily:default is also defined in these files"},
		{"NameOfASource", "  - name: events\n    model: big_model\n    entities: daily\n", "source events:default is also defined in these files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := batchEnv(t, modelYAML, "batch_predictions:\n"+tc.yaml)
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

// TestBatchPredictionNameTaken: a registered source, transformation or
// feature of the batch prediction's name and variant is refused, but for
// the source and feature its own runs register.
func TestBatchPredictionNameTaken(t *testing.T) {
	ctx := context.Background()
	e := modelEnv(t, modelYAML)
	if _, err := e.apply(t); err != nil {
		t.Fatal(err)
	}
	// Only the registry knows daily now.
	os.Remove(filepath.Join(e.dir, "training.yaml"))
	os.Remove(filepath.Join(e.dir, "models.yaml"))
	write(t, e.dir, "defs.yaml", "entities:\n  - name: user\n")
	taken := strings.Replace(batchYAML, "big_scores", "daily", 1)
	write(t, e.dir, "batch.yaml", taken)
	if _, err := e.plan(t); err == nil || !strings.Contains(err.Error(), "batch.yaml:2: name: transformation daily:default is already registered") {
		t.Fatalf("a batch prediction named like a registered transformation: %v", err)
	}

	// What its runs register (the coordinator's registerBatchOutputs) is its own.
	write(t, e.dir, "batch.yaml", batchYAML)
	own := resource.BatchPredictionSource(bigScores)
	source := &resource.Resource{ID: own, Source: &resource.SourceSpec{Table: offline.TableName(bigScores), TimestampColumn: "scored_at"}}
	feature := &resource.Resource{ID: resource.ID{Kind: resource.KindFeature, Name: own.Name, Variant: own.Variant},
		Feature: &resource.FeatureSpec{Entity: "user", Source: own, EntityColumn: "user_id", ValueColumn: "prediction", TimestampColumn: "scored_at", Type: value.Float64}}
	if _, err := e.s.Registry.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{source, feature}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.plan(t); err != nil {
		t.Errorf("a batch prediction beside the source and feature of its own table: %v", err)
	}
	// A source of that name over another table is someone else's.
	other := strings.Replace(batchYAML, "big_scores", "other_scores", 1)
	write(t, e.dir, "batch.yaml", other)
	someone := &resource.Resource{ID: resource.ID{Kind: resource.KindSource, Name: "other_scores", Variant: "default"},
		Source: &resource.SourceSpec{Table: "analytics.scores"}}
	if _, err := e.s.Registry.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{someone}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.plan(t); err == nil || !strings.Contains(err.Error(), "source other_scores:default is already registered") {
		t.Errorf("a batch prediction named like another table's source: %v", err)
	}
}

// TestDocsBatchPredictionExamplePlans plans the Batch predictions example
// of docs/definitions.md, as it is, next to the demo project whose model
// scores.
func TestDocsBatchPredictionExamplePlans(t *testing.T) {
	block := docsYAML(t, "Batch predictions")
	e := newEnv(t)
	root := demoBeside(t, e)
	write(t, root, "definitions/docs_batch_predictions.yaml", block)
	defs, err := definition.LoadDir(filepath.Join(root, "definitions"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := definition.MakePlan(context.Background(), defs, e.s)
	if err != nil {
		t.Fatalf("the docs' batch prediction example does not plan:\n%v", err)
	}
	id := resource.ID{Kind: resource.KindBatchPrediction, Name: "purchase_scores", Variant: "default"}
	want := &resource.BatchPredictionSpec{Model: "purchase_model", Alias: "production",
		Entities: resource.ID{Kind: resource.KindSource, Name: "subscribers", Variant: "default"}, EntityColumn: "subscriber_id", Schedule: "0 3 * * *"}
	if got := planItem(t, plan, id).Resource.BatchPrediction; !reflect.DeepEqual(got, want) {
		t.Errorf("planned %+v, want %+v", got, want)
	}
}

// loadError returns the error of loading one definition file.
func loadError(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	write(t, dir, "defs.yaml", yaml)
	_, err := definition.LoadDir(dir)
	if err == nil {
		t.Fatalf("loading %q: no error", yaml)
	}
	return err.Error()
}

// listAfter splits the comma (and "or") separated list following marker
// in an error message.
func listAfter(t *testing.T, msg, marker string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(msg, marker)
	if !ok {
		t.Fatalf("%q does not say %q", msg, marker)
	}
	rest, _, _ = strings.Cut(rest, "\n")
	rest = strings.ReplaceAll(rest, " or ", ", ")
	var out []string
	for _, f := range strings.Split(rest, ",") {
		out = append(out, strings.TrimSpace(f))
	}
	slices.Sort(out)
	return out
}

// TestSchemaDocumentsBatchPredictions checks docs/definitions.schema.json's
// batch_predictions key against what the loader accepts: its top-level
// keys, a batch prediction's fields and the fields it requires.
func TestSchemaDocumentsBatchPredictions(t *testing.T) {
	b, err := os.ReadFile("../docs/definitions.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties map[string]struct {
			Items struct {
				Ref string `json:"$ref"`
			} `json:"items"`
		} `json:"properties"`
		Defs map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	if schema.Properties["batch_predictions"].Items.Ref != "#/$defs/batch_prediction" {
		t.Fatal("the schema has no batch_predictions key holding $defs/batch_prediction items")
	}
	var keys []string
	for k := range schema.Properties {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := listAfter(t, loadError(t, "surprises: []\n"), "unknown top-level key: use "); !reflect.DeepEqual(keys, want) {
		t.Errorf("schema top-level keys %v; the loader accepts %v", keys, want)
	}

	var fields []string
	for f := range schema.Defs["batch_prediction"].Properties {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	msg := loadError(t, "batch_predictions:\n  - name: x\n    model: m\n    entities: e\n    surprise: 1\n")
	if want := listAfter(t, msg, "allowed: "); !reflect.DeepEqual(fields, want) {
		t.Errorf("schema batch_prediction fields %v; the loader accepts %v", fields, want)
	}

	// The loader reports each required field missing from an item with only a name.
	msg = loadError(t, "batch_predictions:\n  - name: x\n")
	required := []string{"name"}
	for _, f := range fields {
		if strings.Contains(msg, ": "+f+": missing") {
			required = append(required, f)
		}
	}
	req := slices.Clone(schema.Defs["batch_prediction"].Required)
	slices.Sort(req)
	slices.Sort(required)
	if !reflect.DeepEqual(req, required) {
		t.Errorf("schema batch_prediction requires %v; the loader requires %v", req, required)
	}
}
