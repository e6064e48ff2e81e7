// Command expdata fills a data directory with an experiment and a
// prediction log and feedback generated inside the offline engine (SQL, no
// rows through Go), for bench/experiment_report.sh: endpoint purchase,
// experiment purchase_test (control m@production, treatment m@2, 50/50,
// conversion on "purchased" within 7 days), N logged predictions of E
// entities (each entity in one arm), and one feedback event per ten
// predictions, half by prediction id and half by endpoint and entity, a
// third of them purchases.
//
//	expdata -data-dir DIR [-config slipway.yaml] [-predictions 10000000] [-entities 2000000]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/feedback"
	"github.com/slipway-ml/slipway/internal/backends"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

func main() {
	dataDir := flag.String("data-dir", "", "the data directory to fill (created)")
	configFile := flag.String("config", "", "slipway.yaml (default: the embedded stores)")
	n := flag.Int64("predictions", 10_000_000, "logged predictions")
	e := flag.Int64("entities", 2_000_000, "distinct entities")
	flag.Parse()
	if err := run(context.Background(), *dataDir, *configFile, *n, *e); err != nil {
		fmt.Fprintln(os.Stderr, "expdata:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dataDir, configFile string, n, entities int64) error {
	cfg, err := config.Load(configFile, backends.Sections())
	if err != nil {
		return err
	}
	p, err := platform.Open(ctx, platform.Options{DataDir: dataDir, Config: cfg, Backends: backends.All(), Create: true})
	if err != nil {
		return err
	}
	defer p.Close()
	reg, err := p.Registry(ctx)
	if err != nil {
		return err
	}
	off, err := p.Offline(ctx)
	if err != nil {
		return err
	}
	for range 2 {
		if _, err := reg.CreateModelVersion(ctx, &registry.CreateModelVersionParams{Model: "m", Artifact: registry.Artifact{Format: "linear", Bytes: []byte("{}")},
			TrainingSet: resource.ID{Kind: resource.KindTrainingSet, Name: "ts", Variant: resource.DefaultVariant}, Trainer: "registered"}); err != nil {
			return err
		}
	}
	if _, err := reg.SetModelAlias(ctx, &registry.SetModelAliasParams{Model: "m", Alias: "production", Version: 1, By: "expdata"}); err != nil {
		return err
	}
	ep := resource.ID{Kind: resource.KindEndpoint, Name: "purchase", Variant: resource.DefaultVariant}
	spec := &resource.ExperimentSpec{Endpoint: ep,
		Arms:   []resource.ExperimentArm{{Name: "control", Model: "m", Alias: "production", Weight: 50}, {Name: "treatment", Model: "m", Version: 2, Weight: 50}},
		Metric: resource.ExperimentMetric{Feedback: "purchased", Kind: resource.MetricConversion, Window: resource.DefaultExperimentWindow}, MinSamples: 1000}
	if _, err := reg.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{{ID: ep, Endpoint: &resource.EndpointSpec{Model: "m", Alias: "production"}},
		{ID: resource.ID{Kind: resource.KindExperiment, Name: "purchase_test", Variant: resource.DefaultVariant}, Experiment: spec}}}); err != nil {
		return err
	}

	// The rows' numbers, from the engine's own generator.
	gen := func(count int64) string {
		if cfg.Offline.Type == config.DuckDB {
			return "(SELECT range AS i FROM range(" + strconv.FormatInt(count, 10) + ")) g"
		}
		return "(SELECT i FROM generate_series(CAST(0 AS BIGINT), " + strconv.FormatInt(count-1, 10) + ") AS s(i)) g"
	}
	E := strconv.FormatInt(entities, 10)
	t0 := "TIMESTAMP '2026-11-01 00:00:00'"
	// The entity of prediction i is i % E; its arm, the entity's parity.
	predicted := func(i string) string { return t0 + " + (" + i + " % 1000000) * INTERVAL '1 second'" }
	start := time.Now()
	table := offline.PredictionLogTable(ep.Ref())
	preds := `SELECT 'p' || CAST(i AS TEXT) AS prediction_id, ` + predicted("i") + ` AS predicted_at,
  'purchase:default' AS endpoint, CAST(NULL AS TEXT) AS batch_prediction, 'm' AS model,
  CAST(1 + (i % ` + E + `) % 2 AS BIGINT) AS model_version, 'purchase_test' AS experiment,
  CASE WHEN (i % ` + E + `) % 2 = 0 THEN 'control' ELSE 'treatment' END AS arm,
  'sub_' || CAST(i % ` + E + ` AS TEXT) AS entity, CAST(0.5 AS DOUBLE PRECISION) AS prediction,
  CAST(NULL AS BIGINT) AS class, '{}' AS output, '{}' AS features, '{}' AS statuses, '[]' AS encoded, 'gen' AS write_batch
FROM ` + gen(n)
	if _, err := off.CreateTable(ctx, &offline.CreateTableParams{Table: table, SQL: preds}); err != nil {
		return fmt.Errorf("generating predictions: %w", err)
	}
	// Event i is about prediction j = 7919i mod N (spread over the log;
	// j has i's parity, so i's parity is the arm): by its id when i % 4 is
	// 0 or 1, else by the endpoint and its entity. Purchases: one in five in
	// the control, and a seventh more in the treatment.
	N := strconv.FormatInt(n, 10)
	j := "((i * 7919) % " + N + ")"
	events := `SELECT 'f' || CAST(i AS TEXT) AS feedback_id,
  CASE WHEN i % 4 < 2 THEN 'p' || CAST(` + j + ` AS TEXT) END AS prediction_id,
  CASE WHEN i % 4 >= 2 THEN 'purchase:default' END AS endpoint,
  CASE WHEN i % 4 >= 2 THEN 'sub_' || CAST(` + j + ` % ` + E + ` AS TEXT) END AS entity,
  CAST(NULL AS TIMESTAMP) AS prediction_time, 'purchased' AS name,
  CAST(CASE WHEN i % 5 = 0 OR (i % 2 = 1 AND i % 7 = 0) THEN 1 ELSE 0 END AS DOUBLE PRECISION) AS value, TRUE AS is_bool,
  ` + predicted(j) + ` + INTERVAL '1 hour' AS event_time,
  ` + predicted(j) + ` + INTERVAL '1 hour' AS received_at, 'gen' AS write_batch
FROM ` + gen(n/10)
	if _, err := off.CreateTable(ctx, &offline.CreateTableParams{Table: feedback.Table, SQL: events}); err != nil {
		return fmt.Errorf("generating feedback: %w", err)
	}
	d, err := feedback.Records{Offline: off}.Destination(ctx, "")
	if err != nil {
		return err
	}
	if err := d.Prepare(ctx); err != nil {
		return err
	}
	c := &coordinator.Coordinator{Registry: reg, Offline: off}
	src := &resource.Resource{ID: resource.EndpointPredictions(ep.Ref()), Source: &resource.SourceSpec{Table: table, TimestampColumn: resource.PredictedAtColumn}}
	if _, err := c.RegisterOutputs(ctx, append([]*resource.Resource{src}, d.Sources...)); err != nil {
		return err
	}
	fmt.Printf("generated %d predictions of %d entities and %d feedback events in %.1fs\n", n, entities, n/10, time.Since(start).Seconds())
	return nil
}
