package platform_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// TestModelLifecycle: train, show, register, promote, roll back and trace
// a model through the platform API, on the demo.
func TestModelLifecycle(t *testing.T) {
	p, _ := demoPlatform(t) // the demo defines purchase_model
	ctx := t.Context()
	id := resource.ID{Kind: resource.KindModel, Name: "purchase_model", Variant: resource.DefaultVariant}
	jobs, err := p.Train(ctx, &platform.TrainParams{Model: id, By: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	ended := wait(t, p, jobs)
	last := ended[len(ended)-1]
	if last.Status != registry.JobSucceeded || last.Kind != coordinator.JobTrain {
		t.Fatalf("training job %+v", last)
	}
	v1, err := p.GetModelVersion(ctx, platform.ModelRef{Model: "purchase_model", Alias: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != 1 || len(v1.Artifact.Bytes) == 0 || v1.Metrics["auc"] <= 0.5 || v1.TrainingSet != purchase {
		t.Fatalf("production: version %d, %d bytes, metrics %v, training set %s", v1.Version, len(v1.Artifact.Bytes), v1.Metrics, v1.TrainingSet)
	}

	// A model of the wrong width is refused, and nothing is recorded.
	_, err = p.RegisterModel(ctx, &platform.RegisterModelParams{Model: "purchase_model", Artifact: v1.Artifact.Bytes, TrainingSet: purchase})
	if err == nil || !strings.Contains(err.Error(), "columns") {
		t.Fatalf("registering a one-hot model against the ordinal encoding: %v; want a width error", err)
	}

	// Register a model trained elsewhere on the encoded export, with its schema.
	out := filepath.Join(t.TempDir(), "purchase.csv")
	if jobs, err = p.Export(ctx, &platform.ExportParams{TrainingSet: purchase, Path: out, Encoded: true}); err != nil {
		t.Fatal(err)
	}
	if ended := wait(t, p, jobs); ended[len(ended)-1].Status != registry.JobSucceeded {
		t.Fatalf("encoded export: %+v", ended[len(ended)-1])
	}
	schemaBytes, err := os.ReadFile(coordinator.SchemaPath(out))
	if err != nil {
		t.Fatal(err)
	}
	schema, err := model.ParseSchema(schemaBytes)
	if err != nil {
		t.Fatal(err)
	}
	coef := make([]float64, len(schema.Features))
	coef[0] = 0.1 // opens_30d
	lin, err := model.NewLinear(model.TaskBinaryClassification, -1, coef, make([]float64, len(coef)), schema.Features, nil)
	if err != nil {
		t.Fatal(err)
	}
	artifact, err := lin.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	v2, err := p.RegisterModel(ctx, &platform.RegisterModelParams{Model: "purchase_model", Artifact: artifact, TrainingSet: purchase, Schema: schemaBytes, By: "bo"})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || v2.Trainer != "registered" || v2.Artifact.Format != model.FormatLinear || len(v2.Metrics) != 3 {
		t.Errorf("registered version %+v", v2)
	}
	if v, _ := p.GetModelVersion(ctx, platform.ModelRef{Model: "purchase_model"}); v.Version != 1 {
		t.Errorf("registering moved production to %d; it moves no alias", v.Version)
	}

	// Promote by hand, roll back, and see every move.
	if _, err := p.PromoteModel(ctx, &platform.PromoteParams{Model: "purchase_model", Version: 2, By: "bo"}); err != nil {
		t.Fatal(err)
	}
	a, err := p.RollbackModel(ctx, &platform.RollbackParams{Model: "purchase_model", By: "cy"})
	if err != nil || a.Version != 1 {
		t.Fatalf("rollback: %+v, %v; want production back at version 1", a, err)
	}
	if _, err := p.PromoteModel(ctx, &platform.PromoteParams{Model: "purchase_model", Version: 9}); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("promoting a missing version: %v; want not found", err)
	}
	d, err := p.ShowModel(ctx, "purchase_model")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Definitions) != 1 || len(d.Versions) != 2 || len(d.Aliases) != 1 {
		t.Fatalf("show: %d definitions, %d versions, %d aliases", len(d.Definitions), len(d.Versions), len(d.Aliases))
	}
	var moves []string
	for _, m := range d.Aliases[0].History {
		moves = append(moves, m.By+":"+string(rune('0'+m.From))+"→"+string(rune('0'+m.To)))
	}
	if want := []string{"ana:0→1", "bo:1→2", "cy:2→1"}; !slices.Equal(moves, want) {
		t.Errorf("production's moves %v; want %v", moves, want)
	}
	models, err := p.ListModels(ctx)
	if err != nil || len(models) != 2 || models[0].Model != "purchase_model" || models[0].LatestVersion != 2 || len(models[0].Aliases) != 1 || models[0].Aliases[0].Version != 1 {
		t.Errorf("list: %+v, %v; want purchase_model at version 2 with production at 1", models[0], err)
	}
	if len(models) == 2 && (models[1].Model != "spend_model" || models[1].LatestVersion != 0 || len(models[1].Definitions) != 1) {
		t.Errorf("list: %+v; want spend_model defined, with no version", models[1])
	}

	// "Which models use this column?": from the source the label reads, to
	// the model definition and both versions.
	lin2, err := p.Lineage(ctx, resource.ID{Kind: resource.KindSource, Name: "email_events", Variant: resource.DefaultVariant})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(lin2.Downstream, func(e platform.Edge) bool { return e.To == id }) {
		t.Errorf("lineage downstream %v; want the model definition", lin2.Downstream)
	}
	var versions []int
	for _, v := range lin2.ModelVersions {
		versions = append(versions, v.Version)
	}
	if !slices.Equal(versions, []int{1, 2}) || !slices.Equal(lin2.ModelVersions[0].Aliases, []string{"production"}) {
		t.Errorf("lineage model versions %+v; want versions 1 (production) and 2", lin2.ModelVersions)
	}
}
