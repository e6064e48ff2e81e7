package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/internal/textfmt"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

func parseIDs(kind resource.Kind, args []string) ([]resource.ID, error) {
	var ids []resource.ID
	for _, a := range args {
		ref, err := resource.ParseRef(a)
		if err != nil {
			return nil, err
		}
		ids = append(ids, resource.NewID(kind, ref))
	}
	return ids, nil
}

func (a *app) runCmd() *cobra.Command {
	var rebuild, detach bool
	cmd := &cobra.Command{
		Use:   "run [NAME[:VARIANT]...]",
		Short: "Build transformations in dependency order, or run batch predictions",
		Long: `Run builds transformations that are not ready yet (all of them, or the named
ones with whatever they need upstream), in dependency order, inside the
offline engine. Every variant has its own table, replaced atomically, so a
failed run never leaves a half-written table. A transformation already built
is not built again when its source gains rows: --rebuild (or the
transformation's schedule:) builds it again from what its source holds now.

A name may also be a batch prediction's: run scores its entities now with
the version its model's alias points at (after building what it reads that
is not ready; --rebuild builds that again), appends the predictions to its
table and materializes them into its online feature. Batch predictions run
only when named here, or on their schedule under 'slipway serve' or
'slipway worker'.

Each build or run is a durable job (see 'slipway jobs'): it runs in this
process, showing progress, unless --detach leaves it to a 'slipway worker'.
A job failing for a transient reason (connection refused, timeout) is
retried with backoff; any other failure fails it at once, and the jobs
waiting for it fail with that reason. Ctrl-C cancels the jobs that have not
ended.

Examples:
  slipway run                              # build every transformation not ready
  slipway run recent_orders --rebuild      # rebuild one, and what it needs
  slipway run nightly_purchase_scores      # score a batch prediction's entities now`,
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			rp := &platform.RunParams{Rebuild: rebuild, Detach: detach}
			if rp.Transformations, rp.BatchPredictions, err = runTargets(cmd.Context(), api, args); err != nil {
				return err
			}
			jobs, err := api.Run(cmd.Context(), rp)
			if err != nil {
				return err
			}
			if len(jobs) == 0 {
				fmt.Fprintln(a.stdout, "every selected transformation is ready (--rebuild builds them again)")
				return nil
			}
			ended, err := a.follow(cmd.Context(), api, jobs, detach, a.stderr)
			if !detach {
				a.batchPredictions(ended)
				a.summary(ended)
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&rebuild, "rebuild", false, "rebuild the selected transformations (or what the batch predictions read) even when ready")
	cmd.Flags().BoolVar(&detach, "detach", false, "queue the jobs and return; a 'slipway worker' runs them")
	return cmd
}

// runTargets sorts run's arguments into transformations and batch
// predictions (a plan never lets the two share a name), refusing a name
// that is neither.
func runTargets(ctx context.Context, api platform.API, args []string) (tfs, bps []resource.ID, err error) {
	if len(args) == 0 {
		return nil, nil, nil
	}
	registered := map[resource.ID]bool{}
	for _, kind := range []resource.Kind{resource.KindTransformation, resource.KindBatchPrediction} {
		rs, err := api.List(ctx, &registry.ListParams{Kind: kind})
		if err != nil {
			return nil, nil, err
		}
		for _, r := range rs {
			registered[r.ID] = true
		}
	}
	for _, arg := range args {
		ref, err := resource.ParseRef(arg)
		if err != nil {
			return nil, nil, err
		}
		tf, bp := resource.NewID(resource.KindTransformation, ref), resource.NewID(resource.KindBatchPrediction, ref)
		switch {
		case registered[bp]:
			bps = append(bps, bp)
		case registered[tf]:
			tfs = append(tfs, tf)
		default:
			return nil, nil, fmt.Errorf("%s is neither a transformation nor a batch prediction (slipway list transformations, slipway list batch-predictions show them)", ref)
		}
	}
	return tfs, bps, nil
}

// batchPredictions prints what each succeeded batch prediction job wrote.
func (a *app) batchPredictions(jobs []*registry.Job) {
	for _, j := range jobs {
		if j.Kind != coordinator.JobBatchPredict || j.Status != registry.JobSucceeded || len(j.Result) == 0 {
			continue
		}
		var res coordinator.BatchPredictResult
		if json.Unmarshal(j.Result, &res) != nil {
			continue
		}
		fmt.Fprintf(a.stdout, "%s: scored %s entities with %s version %d (alias %s) as of %s\n", j.Resource.Ref(), textfmt.Count(res.Rows), res.Model, res.Version, res.Alias, res.ScoredAt.Format(time.RFC3339))
		fmt.Fprintf(a.stdout, "  rows appended to source %s; newest per entity served as feature %s\n", res.Source.Ref(), res.Feature.Ref())
	}
}

// summary prints how the jobs ended: one line, then one per job that did not succeed.
func (a *app) summary(jobs []*registry.Job) {
	by := map[registry.JobStatus]int{}
	var rows int64
	for _, j := range jobs {
		by[j.Status]++
		rows += j.Rows
	}
	var parts []string
	for _, st := range registry.JobStatuses {
		if by[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", by[st], st))
		}
	}
	line := "jobs: " + strings.Join(parts, ", ")
	if rows > 0 {
		line += "; " + textfmt.Count(rows) + " rows"
	}
	fmt.Fprintln(a.stdout, line)
}

func (a *app) materializeCmd() *cobra.Command {
	var detach, full bool
	var chunks int
	cmd := &cobra.Command{
		Use:   "materialize [FEATURE[:VARIANT]...]",
		Short: "Write each entity's value as of now of features to the online store",
		Long: `Materialize reads the value as of now per entity of every feature (or the
named ones) from the offline store, the value a training set gives for a label
at this time, and writes it to the online store, streaming in batches. Rows
dated in the future are not written yet: the first run after their time
writes them. Transformations the features need are built first. Writes are
newer-wins, so rerunning never moves a value back in time.

After the first run, materialization is incremental: it reads only the rows
newer than the feature's watermark (the newest timestamp read last time),
less its lookback (default 1d) to pick up late-arriving rows. --full reads
everything again, as after emptying or replacing the online store, or once
after upgrading from a version that wrote rows dated in the future.

Features reading one source (or transformation) are one durable job (see
'slipway jobs'), or with --chunks N, N jobs over disjoint parts of the
entities that several workers can share, and a commit job recording the
watermark. They run in this process with progress shown, unless --detach
leaves them to a 'slipway worker'. Ctrl-C cancels the jobs that have not
ended.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := parseIDs(resource.KindFeature, args)
			if err != nil {
				return err
			}
			if chunks < 1 || chunks > platform.MaxChunks {
				return fmt.Errorf("--chunks %d: give 1 to %d", chunks, platform.MaxChunks)
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			start := time.Now()
			jobs, err := api.Materialize(cmd.Context(), &platform.MaterializeParams{Features: ids, Full: full, Chunks: chunks, Detach: detach})
			if err != nil {
				return err
			}
			if len(jobs) == 0 {
				fmt.Fprintln(a.stdout, "no features to materialize")
				return nil
			}
			ended, err := a.follow(cmd.Context(), api, jobs, detach, a.stderr)
			if !detach {
				fmt.Fprintf(a.stdout, "materialized %d values in %s\n", materializedValues(ended), time.Since(start).Round(time.Millisecond))
				a.summary(ended)
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&detach, "detach", false, "queue the jobs and return; a 'slipway worker' runs them")
	cmd.Flags().BoolVar(&full, "full", false, "read every row, ignoring the watermarks")
	cmd.Flags().IntVar(&chunks, "chunks", 1, "split the entities of each source the features read into this many jobs")
	return cmd
}

// materializedValues counts the values the succeeded materialize jobs wrote.
func materializedValues(jobs []*registry.Job) int64 {
	var values int64
	for _, j := range jobs {
		if j.Kind == coordinator.JobMaterialize && j.Status == registry.JobSucceeded {
			values += j.Rows
		}
	}
	return values
}

// exportFormat checks --format against the --out extension; "" leaves the
// choice to the platform (the extension's format, else the offline store's
// preferred one).
func exportFormat(format, out string) (string, error) {
	ext := platform.FormatOf(out)
	switch {
	case format != "" && !slices.Contains(platform.ExportFormats, format):
		return "", fmt.Errorf("unknown --format %q: use parquet, csv or jsonl", format)
	case format != "" && ext != "" && ext != format:
		return "", fmt.Errorf("--format %s does not match --out %s; make them agree", format, out)
	case format == "":
		return ext, nil
	}
	return format, nil
}

func (a *app) trainingSetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "training-set",
		Aliases: []string{"training-sets", "ts"},
		Short:   "Work with training sets",
	}
	var format, out string
	var encoded bool
	export := &cobra.Command{
		Use:   "export NAME[:VARIANT]",
		Short: "Export a point-in-time correct training set",
		Long: `Export joins the training set's label with its features point-in-time inside
the offline engine and writes the result: for each label row (entity, t),
each feature takes the newest value with timestamp ≤ t (and ≥ t − max_age);
none gives null. Ties on equal timestamps: the greatest non-null value wins.

Columns: the entity, "timestamp" (the label time), one column per feature,
then the label. With --out the file is written by the engine (streaming,
bounded memory); without it the file is written to standard output. The
format is --format, else the one --out's extension names, else parquet, or
csv where the offline store writes no Parquet (PostgreSQL). Through a
server (--server, or the server holding --data-dir), the server writes the
file and streams it back here.

The --out directory must exist and be writable; a path that cannot be
written is refused before anything runs, and does not mark the training set
failed. The engine writes a temporary file next to it (.NAME.*.partial) and
renames it into place, so readers never see half a file; it is removed if
the export fails or is cancelled, and by the next slipway command if the
process was killed.

--encoded writes the model-ready matrix instead, as CSV: the entity,
"timestamp", the label, then the feature vector exactly as Slipway encodes
it for its models at training and at serving (numbers as they are, bools
0/1, timestamps as seconds since 1970, strings as the index of the value in
a vocabulary taken from the rows; missing values empty). Next to --out it
writes the schema file (FILE.schema.json for FILE.csv) holding the
encoding: give it to 'slipway models register --schema' with the model you
train on the matrix, so nobody re-implements the encoding in a notebook.

Example:
  slipway training-set export purchase_propensity --encoded --out ps.csv
  # train on ps.csv (pandas, XGBoost, ...), save the model as model.json, then
  slipway models register purchase_model --file model.json \
      --training-set purchase_propensity --schema ps.schema.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if encoded {
				if format != "" && format != "csv" || out != "" && platform.FormatOf(out) != "" && platform.FormatOf(out) != "csv" {
					return fmt.Errorf("--encoded writes a csv file: leave out --format, and give --out a .csv name")
				}
				if out == "" {
					return fmt.Errorf("--encoded writes two files, the matrix and its schema: give --out FILE.csv (the schema goes to FILE.schema.json)")
				}
				format = "csv"
			}
			format, err := exportFormat(format, out)
			if err != nil {
				return err
			}
			ids, err := parseIDs(resource.KindTrainingSet, args)
			if err != nil {
				return err
			}
			if out != "" {
				if fi, err := os.Stat(out); err == nil && fi.IsDir() {
					return fmt.Errorf("--out %s is a directory; give a file name such as %s", out, filepath.Join(out, ids[0].Name+"."+format))
				}
				// Before anything is opened or queued; the job checks again.
				if err := coordinator.CheckOutputPath(out); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			return a.export(cmd.Context(), api, &platform.ExportParams{TrainingSet: ids[0], Format: format, Encoded: encoded}, out)
		},
	}
	export.Flags().BoolVar(&encoded, "encoded", false, "write the model-ready matrix (csv) and its schema file (FILE.schema.json), encoded as Slipway's models read it")
	export.Flags().StringVar(&format, "format", "", "output format: parquet, csv or jsonl (default: from the --out extension, else parquet where the offline store writes it, else csv)")
	export.Flags().StringVarP(&out, "out", "o", "", "output file (default: standard output)")
	cmd.AddCommand(export)
	return cmd
}

// export queues an export, follows its jobs, and puts the file at out (or
// on standard output when out is ""). Working here on the stores, the
// engine writes out itself (streaming, bounded memory); through a server,
// or to standard output, the file is copied from the platform
// (ExportFile), to a temporary file next to out renamed into place.
func (a *app) export(ctx context.Context, api platform.API, p *platform.ExportParams, out string) error {
	_, local := api.(*platform.Platform)
	direct := local && out != ""
	if direct {
		p.Path = out
	}
	jobs, err := api.Export(ctx, p)
	if err != nil {
		return err
	}
	ended, err := a.follow(ctx, api, jobs, false, a.stderr)
	if err != nil {
		return err
	}
	last := ended[len(ended)-1]
	if direct {
		if p.Encoded {
			fmt.Fprintf(a.stderr, "wrote %d rows to %s and its schema to %s\n", last.Rows, out, coordinator.SchemaPath(out))
			return nil
		}
		fmt.Fprintf(a.stderr, "wrote %d rows to %s\n", last.Rows, out)
		return nil
	}
	if p.Encoded {
		// The schema first: fetching the file removes both from the platform.
		schema, err := api.ExportSchema(ctx, last.ID)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(coordinator.SchemaPath(out), bytes.NewReader(schema)); err != nil {
			return err
		}
	}
	f, err := api.ExportFile(ctx, last.ID)
	if err != nil {
		return err
	}
	defer f.Close()
	if out == "" {
		if _, err := io.Copy(a.stdout, f); err != nil {
			return fmt.Errorf("writing to standard output: %w", err)
		}
		fmt.Fprintf(a.stderr, "wrote %d rows\n", last.Rows)
		return nil
	}
	if err := writeFileAtomic(out, f); err != nil {
		return err
	}
	if p.Encoded {
		fmt.Fprintf(a.stderr, "wrote %d rows to %s and its schema to %s\n", last.Rows, out, coordinator.SchemaPath(out))
		return nil
	}
	fmt.Fprintf(a.stderr, "wrote %d rows to %s\n", last.Rows, out)
	return nil
}

// writeFileAtomic writes r to a temporary file next to path and renames it
// into place, so readers never see half a file.
func writeFileAtomic(path string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.partial")
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	_, err = io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
