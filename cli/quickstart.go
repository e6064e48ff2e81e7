package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/demo"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/serving"
)

// quickstartTrainingSet is the training set the demo project defines.
const (
	quickstartTrainingSet = "purchase_propensity"
	quickstartModel       = "purchase_model"
	// quickstartEndpoint is the demo's endpoint over quickstartModel.
	quickstartEndpoint = "purchase"
	// quickstartBatch is the demo's batch prediction over quickstartModel.
	quickstartBatch = "nightly_purchase_scores"
)

func (a *app) quickstartCmd() *cobra.Command {
	var dir string
	var scale float64
	var seed uint64
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Generate demo data and example definitions, then apply, run, export and materialize them",
		Long: `Quickstart builds a complete example project in --dir (default: the current
directory) from the email-marketing demo domain:

  data/          generated CSV files (shops, subscribers, campaigns, email events, orders)
  definitions/   example entities, sources, transformations, features, labels, training sets,
                 models, the endpoint purchase and the batch prediction
                 nightly_purchase_scores
  .slipway/      the data directory (unless --data-dir is given)

then applies the definitions, builds the transformations, exports the training
set to training_set.parquet, trains the model purchase_model with the built-in
logistic regression (no Python needed), materializes the features, runs
the batch prediction (every subscriber scored, the scores served as the
online feature nightly_purchase_scores), reads one entity's features back
from the online store and asks the endpoint purchase for its prediction, as
'slipway predict' and POST /v1/endpoints/purchase/predict do. Nothing keeps running afterwards. The data covers the 90 days up to today. Running it again
regenerates the data (the same on the same day for the same --seed) and
registers no new definitions; the training records a new model version,
promoted only if it is better than the production one.

Quickstart never overwrites files it did not write: it refuses a directory
that already holds other files (it marks its own with a file named
` + quickstartMarker + `), and keeps definitions you edited.

The subscriber it reads back is the one with the most email opens in the
last 30 days of data, with the counts the generator wrote, so the online
values can be checked against data/email_events.csv.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("data-dir") && os.Getenv(DataDirEnv) == "" {
				a.dataDir = filepath.Join(dir, ".slipway")
			}
			// The data ends today, so online max ages (measured from now) behave as in production.
			days := demo.DefaultDays
			start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -days)
			return a.quickstart(cmd.Context(), dir, demo.Options{Scale: scale, Seed: seed, Start: start, Days: days})
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "directory to create the example project in")
	cmd.Flags().Float64Var(&scale, "scale", 1, "demo data size (1 ≈ 6k subscribers; row counts grow linearly)")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed; the same seed gives the same data")
	return cmd
}

func (a *app) quickstart(ctx context.Context, dir string, opts demo.Options) error {
	start := time.Now()
	w := a.stdout
	step := func(n int, format string, args ...any) {
		fmt.Fprintf(w, "\n[%d/7] %s\n", n, fmt.Sprintf(format, args...))
	}
	if err := claimQuickstartDir(dir); err != nil {
		return err
	}
	step(1, "generating demo data (scale %g, seed %d)", orOne(opts.Scale), opts.Seed)
	sum, err := demo.Generate(ctx, filepath.Join(dir, "data"), opts)
	if err != nil {
		return fmt.Errorf("generating demo data: %w", err)
	}
	for _, f := range sum.Files {
		fmt.Fprintf(w, "  %-18s %9d rows\n", f.Name, f.Rows)
	}
	defDir := filepath.Join(dir, "definitions")
	kept, err := demo.WriteProject(dir)
	if err != nil {
		return fmt.Errorf("writing example definitions: %w", err)
	}
	for _, f := range kept {
		fmt.Fprintf(w, "  kept your edited %s (delete it to get the example back)\n", f)
	}

	if info, err := readServerFile(a.dataDir); err != nil || info != nil {
		if err == nil {
			err = fmt.Errorf("a slipway server (pid %d, %s) holds the data directory %s: stop it, then run quickstart again", info.PID, info.URL, a.dataDir)
		}
		return err
	}
	p, err := a.openLocal(ctx, how{create: true})
	if err != nil {
		return err
	}
	defer p.Close()

	step(2, "applying definitions in %s", defDir)
	defs, err := definition.ReadFiles(defDir)
	if err != nil {
		return err
	}
	if err := applyWith(ctx, p, defs, w); err != nil {
		return err
	}

	step(3, "building transformations in DuckDB")
	if _, err := a.work(ctx, p, w, func() ([]*registry.Job, error) {
		return p.Run(ctx, &platform.RunParams{Rebuild: true})
	}); err != nil {
		return err
	}

	step(4, "exporting training set %s (point-in-time join)", quickstartTrainingSet)
	out := filepath.Join(dir, "training_set.parquet")
	tsID := resource.ID{Kind: resource.KindTrainingSet, Name: quickstartTrainingSet, Variant: resource.DefaultVariant}
	if _, err := a.work(ctx, p, w, func() ([]*registry.Job, error) {
		return p.Export(ctx, &platform.ExportParams{TrainingSet: tsID, Format: "parquet", Path: out})
	}); err != nil {
		return err
	}

	step(5, "training model %s (built-in logistic regression, no Python)", quickstartModel)
	modelID := resource.ID{Kind: resource.KindModel, Name: quickstartModel, Variant: resource.DefaultVariant}
	trained, err := a.work(ctx, p, w, func() ([]*registry.Job, error) {
		return p.Train(ctx, &platform.TrainParams{Model: modelID, By: "quickstart"})
	})
	if err != nil {
		return err
	}
	var tr coordinator.TrainResult
	if err := json.Unmarshal(trained[len(trained)-1].Result, &tr); err != nil {
		return fmt.Errorf("reading the training's result: %w", err)
	}
	prod, err := p.GetModelVersion(ctx, platform.ModelRef{Model: quickstartModel, Alias: tr.Alias})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  version %d, holdout AUC %.3f; %s is version %d\n", tr.Version, tr.Metrics[model.MetricAUC], tr.Alias, prod.Version)

	step(6, "materializing features to the online store, and scoring every subscriber (batch prediction %s)", quickstartBatch)
	ended, err := a.work(ctx, p, w, func() ([]*registry.Job, error) {
		return p.Materialize(ctx, &platform.MaterializeParams{})
	})
	if err != nil {
		return err
	}
	features := map[resource.ID]bool{}
	for _, j := range ended {
		if j.Kind == coordinator.JobMaterialize {
			for _, f := range coordinator.JobFeatures(j) {
				features[f] = true
			}
		}
	}
	fmt.Fprintf(w, "  %d features, %d values\n", len(features), materializedValues(ended))
	bpID := resource.ID{Kind: resource.KindBatchPrediction, Name: quickstartBatch, Variant: resource.DefaultVariant}
	scored, err := a.work(ctx, p, w, func() ([]*registry.Job, error) {
		return p.Run(ctx, &platform.RunParams{BatchPredictions: []resource.ID{bpID}})
	})
	if err != nil {
		return err
	}
	a.batchPredictions(scored)

	step(7, "reading subscriber %s's features from the online store, and its prediction", sum.Sample.Subscriber)
	sample, err := a.sampleRead(ctx, p, w, sum)
	if err != nil {
		return err
	}
	predictBody, err := samplePredict(ctx, p, w, sum.Sample.Subscriber)
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "\ndone in %s. Try next:\n", time.Since(start).Round(100*time.Millisecond))
	dd := a.dataDir
	fmt.Fprintf(w, `  slipway --data-dir %[1]s list features
  slipway --data-dir %[1]s show feature opens_30d:v1
  slipway --data-dir %[1]s jobs list
  slipway --data-dir %[1]s training-set export %[2]s --format csv | head
  slipway --data-dir %[1]s models show %[5]s
  slipway --data-dir %[1]s training-set export %[2]s --format csv --out %[2]s.csv
  slipway --data-dir %[1]s score %[5]s --in %[2]s.csv --out scores.csv
  slipway --data-dir %[1]s predict %[6]s %[8]s
  slipway --data-dir %[1]s run %[9]s
  slipway --data-dir %[1]s serve
  curl -s localhost:8080/v1/online-features -d '%[4]s'
  curl -s localhost:8080/v1/endpoints/%[6]s/predict -d '%[7]s'
  edit %[3]s and run: slipway --data-dir %[1]s plan %[3]s
`, dd, quickstartTrainingSet, defDir, sample, quickstartModel, quickstartEndpoint, predictBody, sum.Sample.Subscriber, quickstartBatch)
	return nil
}

// work starts jobs on p and follows them until they end, their progress
// going to out.
func (a *app) work(ctx context.Context, p *platform.Platform, out io.Writer, start func() ([]*registry.Job, error)) ([]*registry.Job, error) {
	jobs, err := start()
	if err != nil {
		return nil, err
	}
	return a.follow(ctx, p, jobs, false, out)
}

func orOne(f float64) float64 {
	if f == 0 {
		return 1
	}
	return f
}

// sampleRead shows the sample subscriber's features as the HTTP API would
// serve them now, with the counts the generator wrote for the same 30 days,
// and returns the equivalent request body for the HTTP API.
func (a *app) sampleRead(ctx context.Context, p *platform.Platform, w io.Writer, sum *demo.Summary) (string, error) {
	feats, err := p.List(ctx, &registry.ListParams{Kind: resource.KindFeature})
	if err != nil {
		return "", err
	}
	var names []string
	for _, f := range feats {
		if f.Feature.Entity == "subscriber" {
			names = append(names, f.Ref().String())
		}
	}
	if len(names) == 0 {
		return "", errors.New("the demo definitions register no subscriber features")
	}
	entity := sum.Sample.Subscriber
	reg, err := p.Registry(ctx)
	if err != nil {
		return "", err
	}
	on, err := p.Online(ctx)
	if err != nil {
		return "", err
	}
	svc := &serving.Service{Registry: reg, Online: on}
	resp, err := svc.OnlineFeatures(ctx, &serving.Request{Features: names, Entities: []string{entity}})
	if err != nil {
		return "", err
	}
	row := resp.Rows[0]
	for j, name := range resp.Features {
		fmt.Fprintf(w, "    %-32s %-12s %s\n", name, row.Values[j], row.Statuses[j])
	}
	from, to := sum.End.AddDate(0, 0, -demo.SampleWindowDays), sum.End.AddDate(0, 0, -1)
	fmt.Fprintf(w, "  check: %s has %d open and %d click events for %s from %s to %s:\n    the 30 whole days before today, which opens_30d and clicks_30d count as of now\n",
		filepath.Join(sum.Dir, demo.EmailEventsFile), sum.Sample.Opens, sum.Sample.Clicks, entity,
		from.Format(time.DateOnly), to.Format(time.DateOnly))
	body, err := json.Marshal(map[string]any{"features": names[:min(2, len(names))], "entities": []string{entity}})
	return string(body), err
}

// samplePredict asks the demo's endpoint for the sample subscriber's
// prediction, shows it, and returns the equivalent request body for the
// HTTP API.
func samplePredict(ctx context.Context, p *platform.Platform, w io.Writer, entity string) (string, error) {
	resp, err := p.Predict(ctx, &serving.PredictRequest{Endpoint: quickstartEndpoint, Entities: []string{entity}})
	if err != nil {
		return "", fmt.Errorf("asking endpoint %s for %s's prediction: %w", quickstartEndpoint, entity, err)
	}
	pr := resp.Predictions[0]
	fmt.Fprintf(w, "  endpoint %s (%s@%s, version %d): ", quickstartEndpoint, resp.Model, resp.Alias, resp.Version)
	switch {
	case pr.Probability != nil:
		fmt.Fprintf(w, "probability of an order within 7 days %.4f", *pr.Probability)
	case pr.Value != nil:
		fmt.Fprintf(w, "value %.4f", *pr.Value)
	}
	if len(pr.Missing) > 0 {
		fmt.Fprintf(w, "; missing: %s", strings.Join(pr.Missing, ", "))
	}
	if len(pr.OutsideMaxAge) > 0 {
		fmt.Fprintf(w, "; outside max age: %s", strings.Join(pr.OutsideMaxAge, ", "))
	}
	fmt.Fprintln(w)
	body, err := json.Marshal(map[string]any{"entities": []string{entity}})
	return string(body), err
}

// quickstartMarker marks a directory quickstart wrote, so running it again
// there may replace its own files.
const quickstartMarker = ".slipway-quickstart"

// claimQuickstartDir makes sure quickstart may write into dir: a new or
// empty directory, or one quickstart wrote before. Anything else holds
// someone's files, which quickstart must not overwrite.
func claimQuickstartDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	if len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, quickstartMarker)); err != nil {
			var names []string
			for _, e := range entries[:min(3, len(entries))] {
				names = append(names, e.Name())
			}
			abs, _ := filepath.Abs(dir)
			return fmt.Errorf("%s already holds files quickstart did not write (%s…); quickstart never overwrites them: run it with --dir NEW_DIR, for example --dir slipway-demo", abs, strings.Join(names, ", "))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return os.WriteFile(filepath.Join(dir, quickstartMarker), []byte("written by slipway quickstart; it may replace the files here when run again\n"), 0o644)
}
