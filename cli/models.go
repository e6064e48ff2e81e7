package cli

// The model commands: train, models (list, show, register, promote,
// rollback) and score.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/internal/textfmt"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
)

// TrainBody is what 'slipway train --json' prints: the training job as the
// API shows it and its result (nil unless it succeeded).
type TrainBody = JobsBody[coordinator.TrainResult]

func (a *app) trainCmd() *cobra.Command {
	var detach, asJSON bool
	var by string
	cmd := &cobra.Command{
		Use:   "train MODEL[:VARIANT]",
		Short: "Train a model definition: validate it on a holdout, record a version, promote it as defined",
		Long: `Train trains a model definition (the models: section of the definition
files) on its training set. The newest label rows (validation.holdout, by
label time) are held out; the trainer (built-in, or your command) fits a
candidate on the rest; Slipway scores the holdout with the candidate and
with the model its alias (promote.alias, default production) points at, with
its own inference, records the candidate as a new version with its metrics,
and moves the alias when promote.when says so (better: only when the
candidate's validation metric beats the current version's; always; never).

Training is a durable job (see 'slipway jobs'), after the builds its
training set needs. It runs here with progress shown, unless --detach
leaves it to a 'slipway worker'. A command trainer's output is in the job's
log ('slipway jobs logs ID').

Prints the new version, its holdout metrics, and whether it was promoted
and why. --json prints {"jobs": [...], "result": {"model", "version",
"metrics", "alias", "promoted", "reason"}}.

Example:
  slipway train purchase_model
  slipway models show purchase_model`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := parseIDs(resource.KindModel, args)
			if err != nil {
				return err
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			jobs, err := api.Train(cmd.Context(), &platform.TrainParams{Model: ids[0], By: by, Detach: detach})
			if err != nil {
				return err
			}
			// Detached, it says how the jobs will run (unless --json lists
			// them); otherwise it shows their progress.
			res, ended, printed, err := runJobs[coordinator.TrainResult](cmd.Context(), a, api, jobs, coordinator.JobTrain, detach, asJSON)
			if err != nil || printed || detach {
				return err
			}
			if res == nil {
				return fmt.Errorf("training job %d left no result", ended[len(ended)-1].ID)
			}
			fmt.Fprintf(a.stdout, "trained %s version %d\n", res.Model, res.Version)
			fmt.Fprintf(a.stdout, "  holdout: %s\n", formatMetrics(res.Metrics))
			if res.Promoted {
				fmt.Fprintf(a.stdout, "  promoted to %s: %s\n", res.Alias, res.Reason)
			} else {
				fmt.Fprintf(a.stdout, "  not promoted to %s: %s\n", res.Alias, res.Reason)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&detach, "detach", false, "queue the jobs and return; a 'slipway worker' runs them")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&by, "by", currentUser(), "who trains it, recorded with the version and any promotion")
	return cmd
}

// formatMetrics writes metrics as "auc 0.8123, log_loss 0.4012", by name.
func formatMetrics(m map[string]float64) string {
	if len(m) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+" "+strconv.FormatFloat(m[k], 'f', 4, 64))
	}
	return strings.Join(parts, ", ")
}

func (a *app) modelsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "models",
		Aliases: []string{"model"},
		Short:   "Model versions and aliases: list, show, profile, register, promote, rollback",
		Long: `A model has numbered, immutable versions (each one training run or
registration: its artifact, the training set it was trained on, its holdout
metrics and feature encoding) and aliases (production, staging, any name),
movable pointers to a version whose every move is recorded (who, when,
from, to).

Train versions with 'slipway train', or register a model trained elsewhere
with 'slipway models register'; score files with 'slipway score'.`,
	}
	cmd.AddCommand(a.modelsListCmd(), a.modelsShowCmd(), a.modelsProfileCmd(), a.modelsRegisterCmd(), a.modelsPromoteCmd(), a.modelsRollbackCmd())
	return cmd
}

func (a *app) modelsListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List models: their definitions, newest version and aliases",
		Long: `List shows every model that is defined or has versions: its definitions
(variants), its newest version and where its aliases point.

--json prints {"models": [...]}: the shape of the HTTP API's GET /v1/models.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			ms, err := api.ListModels(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a, server.NewModelsBody(ms))
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "MODEL\tDEFINITIONS\tLATEST\tALIASES")
			for _, m := range ms {
				defs := make([]string, len(m.Definitions))
				for i, d := range m.Definitions {
					defs[i] = d.Variant
				}
				var aliases []string
				for _, al := range m.Aliases {
					aliases = append(aliases, fmt.Sprintf("%s=%d", al.Alias, al.Version))
				}
				latest := "-"
				if m.LatestVersion > 0 {
					latest = strconv.Itoa(m.LatestVersion)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Model, orDash(strings.Join(defs, ", ")), latest, orDash(strings.Join(aliases, ", ")))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// timeOf writes a time as the CLI shows them; "-" for the zero time.
func timeOf(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func (a *app) modelsShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a model: definitions, versions with their metrics, aliases with every move",
		Long: `Show prints a model's definitions, its versions (newest first, at most
100: number, when, by whom, trainer, training set and rows, holdout
metrics) and its aliases with the full history of their moves (when, who,
from which version to which).

--json prints {"model", "definitions", "versions", "aliases"}: the shape of
the HTTP API's GET /v1/models/{model}.

Example:
  slipway models show purchase_model`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			d, err := api.ShowModel(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a, server.NewModelDetailBody(d))
			}
			w := a.stdout
			fmt.Fprintf(w, "model %s\n", d.Model)
			if len(d.Definitions) > 0 {
				fmt.Fprintln(w, "  definitions:")
				for _, r := range d.Definitions {
					line := "    " + r.Ref().String()
					if m := r.Model; m != nil {
						line = fmt.Sprintf("    %s: %s on %s, ", r.Ref(), m.Task, m.TrainingSet.Ref())
						if m.Trainer.Builtin != "" {
							line += "built-in " + m.Trainer.Builtin
						} else {
							line += "command " + strings.Join(m.Trainer.Command, " ")
						}
						line += fmt.Sprintf(", promotes %s when %s", m.Promote.Alias, m.Promote.When)
					}
					fmt.Fprintln(w, line)
				}
			}
			fmt.Fprintln(w, "  versions:")
			if len(d.Versions) == 0 {
				fmt.Fprintf(w, "    none yet: train one with `slipway train %s`\n", d.Model)
			} else {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "    VERSION\tCREATED\tBY\tTRAINER\tTRAINING SET\tROWS\tMETRICS")
				for _, v := range d.Versions {
					ts := "-"
					if v.TrainingSet != (resource.ID{}) {
						ts = v.TrainingSet.Ref().String()
					}
					fmt.Fprintf(tw, "    %d\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Version, timeOf(v.CreatedAt), orDash(v.CreatedBy), orDash(v.Trainer), ts,
						textfmt.Count(v.TrainingRows), formatMetrics(v.Metrics))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			fmt.Fprintln(w, "  aliases:")
			if len(d.Aliases) == 0 {
				fmt.Fprintf(w, "    none: point one at a version with `slipway models promote %s VERSION`\n", d.Model)
			}
			for _, al := range d.Aliases {
				fmt.Fprintf(w, "    %s -> version %d (moved %s by %s)\n", al.Alias, al.Version, timeOf(al.UpdatedAt), orDash(al.UpdatedBy))
				for _, m := range al.History {
					from := "(created)"
					if m.From > 0 {
						from = "version " + strconv.Itoa(m.From)
					}
					fmt.Fprintf(w, "      %s  %-12s %s -> version %d\n", timeOf(m.At), orDash(m.By), from, m.To)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) modelsRegisterCmd() *cobra.Command {
	var asJSON bool
	var file, format, trainingSet, schema, by string
	cmd := &cobra.Command{
		Use:   "register NAME --file MODEL_FILE --training-set NAME[:VARIANT]",
		Short: "Register a model trained elsewhere (a notebook) as a new version, after validating it",
		Long: `Register records a model trained outside Slipway as a new version of model
NAME. Slipway loads it (--format, or detected from the file: xgboost-json
as XGBoost's save_model("model.json") writes it, or slipway-linear), checks
it reads as many features as the training set's encoding gives, scores the
training set's holdout (its newest label rows) and records the metrics. It
moves no alias: promote the version with 'slipway models promote'.

Train the model on 'slipway training-set export NAME --encoded --out
FILE.csv' and give the schema file written next to it with --schema: the
version then keeps the exact encoding the model was trained with. Without
--schema the encoding is built from the training set as it is now.

Model files are at most 256 MiB (the registry's limit).

A model served elsewhere (KServe, MLServer, Triton: the Open Inference
Protocol v2) is registered with --format oip-v2 and a JSON file naming it,
{"url": "http://HOST/v2/models/NAME", "task": "binary_classification",
"features": N, "timeout": "2s"}: Slipway sends it the encoded rows, at
registration (the holdout) and when an endpoint serves it
(docs/design/models.md, "External models").

--json prints the version as the HTTP API's
GET /v1/models/{model}/versions/{version} does.

Example:
  slipway training-set export purchase_propensity --encoded --out ps.csv
  python3 train.py ps.csv model.json     # XGBoost: booster.save_model("model.json")
  slipway models register purchase_model --file model.json --format xgboost-json \
      --training-set purchase_propensity --schema ps.schema.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return errors.New("--file: name the model file to register")
			}
			if trainingSet == "" {
				return errors.New("--training-set: name the training set the model was trained on (NAME or NAME:VARIANT)")
			}
			ts, err := parseIDs(resource.KindTrainingSet, []string{trainingSet})
			if err != nil {
				return fmt.Errorf("--training-set: %w", err)
			}
			if format != "" && !slices.Contains(model.Formats, format) {
				return fmt.Errorf("unknown --format %q: use one of %s (or leave it out to detect it)", format, strings.Join(model.Formats, ", "))
			}
			artifact, err := readModelFile("--file", file, registry.MaxArtifactBytes)
			if err != nil {
				return err
			}
			var schemaBytes []byte
			if schema != "" {
				if schemaBytes, err = readModelFile("--schema", schema, server.MaxModelUploadBytes-registry.MaxArtifactBytes); err != nil {
					return err
				}
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			v, err := api.RegisterModel(cmd.Context(), &platform.RegisterModelParams{Model: args[0], Format: format, Artifact: artifact,
				TrainingSet: ts[0], Schema: schemaBytes, By: by})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a, server.NewModelVersionBody(v))
			}
			fmt.Fprintf(a.stdout, "registered %s version %d (%s, %s bytes, sha256 %s)\n", v.Model, v.Version, v.Artifact.Format, textfmt.Count(v.Artifact.Size), v.Artifact.SHA256)
			fmt.Fprintf(a.stdout, "  holdout of %s: %s\n", v.TrainingSet.Ref(), formatMetrics(v.Metrics))
			fmt.Fprintf(a.stdout, "  promote it with: slipway models promote %s %d\n", v.Model, v.Version)
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "the model file (required)")
	cmd.Flags().StringVar(&format, "format", "", "the model format: "+strings.Join(model.Formats, " or ")+" (default: detected from the file)")
	cmd.Flags().StringVar(&trainingSet, "training-set", "", "the training set NAME[:VARIANT] it was trained on (required)")
	cmd.Flags().StringVar(&schema, "schema", "", "the schema file 'training-set export --encoded' wrote with the rows it was trained on")
	cmd.Flags().StringVar(&by, "by", currentUser(), "who registers it, recorded with the version")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// readModelFile reads a file of at most limit bytes.
func readModelFile(flag, path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > limit {
		return nil, fmt.Errorf("%s %s: %w: %d bytes is over the limit of %d bytes", flag, path, registry.ErrArtifactTooLarge, fi.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", flag, path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s %s: %w: it is over the limit of %d bytes", flag, path, registry.ErrArtifactTooLarge, limit)
	}
	return b, nil
}

// printAlias prints where an alias points after a move.
func (a *app) printAlias(al *registry.ModelAlias, asJSON bool) error {
	if asJSON {
		return printJSON(a, server.NewModelAliasBody(al, nil))
	}
	fmt.Fprintf(a.stdout, "%s of %s -> version %d\n", al.Alias, al.Model, al.Version)
	return nil
}

func (a *app) modelsPromoteCmd() *cobra.Command {
	var asJSON bool
	var alias, by string
	cmd := &cobra.Command{
		Use:   "promote NAME VERSION",
		Short: "Point an alias (default production) at a version",
		Long: `Promote points an alias of a model at one of its versions, creating the
alias if it has none yet. The move is recorded (who, when, from which
version): 'slipway models show' lists every move, and 'slipway models
rollback' undoes the last one.

--json prints the alias as {"model", "alias", "version", "updated_by",
"updated_at"}.

Example:
  slipway models promote purchase_model 3
  slipway models promote purchase_model 4 --alias staging`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			version, err := strconv.Atoi(args[1])
			if err != nil || version < 1 {
				return fmt.Errorf("version %q: give a version number (from 1; `slipway models show %s` lists them)", args[1], args[0])
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			al, err := api.PromoteModel(cmd.Context(), &platform.PromoteParams{Model: args[0], Version: version, Alias: alias, By: by})
			if err != nil {
				return err
			}
			return a.printAlias(al, asJSON)
		},
	}
	cmd.Flags().StringVar(&alias, "alias", resource.DefaultModelAlias, "the alias to move")
	cmd.Flags().StringVar(&by, "by", currentUser(), "who moves it, recorded in the alias's history")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) modelsRollbackCmd() *cobra.Command {
	var asJSON bool
	var alias, by string
	cmd := &cobra.Command{
		Use:   "rollback NAME",
		Short: "Move an alias (default production) back to the version it pointed at before its last move",
		Long: `Rollback moves an alias back to the version it pointed at before its last
move (a promotion, by hand or by training, or another rollback). The
rollback is itself a recorded move, so rolling back twice returns to where
it was.

--json prints the alias as 'slipway models promote --json' does.

Example:
  slipway models rollback purchase_model`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			al, err := api.RollbackModel(cmd.Context(), &platform.RollbackParams{Model: args[0], Alias: alias, By: by})
			if err != nil {
				return err
			}
			return a.printAlias(al, asJSON)
		},
	}
	cmd.Flags().StringVar(&alias, "alias", resource.DefaultModelAlias, "the alias to move back")
	cmd.Flags().StringVar(&by, "by", currentUser(), "who moves it, recorded in the alias's history")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// ScoreBody is what 'slipway score --json' prints.
type ScoreBody struct {
	Model   string `json:"model"`
	Version int    `json:"version"`
	Rows    int64  `json:"rows"`
	Out     string `json:"out"`
}

func (a *app) scoreCmd() *cobra.Command {
	var asJSON bool
	var in, out string
	cmd := &cobra.Command{
		Use:   "score MODEL[@VERSION|@ALIAS] --in FILE.csv --out FILE.csv",
		Short: "Score a CSV file with a model version, offline, with Slipway's own inference",
		Long: `Score reads a CSV file, scores each row with a version of a model (MODEL is
its production alias, MODEL@3 version 3, MODEL@staging another alias) and
writes the input's columns followed by the prediction: "prediction" (the
probability of class 1, or the predicted value), or one column per class.

The input is either raw, as 'slipway training-set export --format csv'
writes it (one column per feature, named after it), or encoded, as
'slipway training-set export --encoded' writes it; the header decides.
Rows are encoded with the version's own stored encoding, exactly as at
training: a string value the training rows never had is missing. Other
columns (entity, timestamp, label) are copied through. An encoded file must
be in the version's own encoding: an --encoded export (recognised by the
schema file next to it) is scored by a version registered with that
export's schema, and refused by any other version; the built-in trainers
encode strings one-hot, unlike the export, so score a raw export with
their versions.

The model is fetched from the registry (or the server) and run here, in
pure Go: no Python. --out is written to a temporary file renamed into
place once every row is scored.

--json prints {"model", "version", "rows", "out"}.

Example:
  slipway training-set export purchase_propensity --format csv --out ps.csv
  slipway score purchase_model --in ps.csv --out scores.csv
  slipway score purchase_model@2 --in ps.csv --out scores_v2.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := platform.ParseModelRef(args[0])
			if err != nil {
				return err
			}
			if in == "" || out == "" {
				return errors.New("give --in FILE.csv (the rows to score) and --out FILE.csv (where the scores go)")
			}
			if abs(in) == abs(out) {
				return fmt.Errorf("--in and --out are the same file %s: write the scores to another file", in)
			}
			if err := coordinator.CheckOutputPath(out); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			src, err := os.Open(in)
			if err != nil {
				return fmt.Errorf("--in: %w", err)
			}
			defer src.Close()
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			v, err := api.GetModelVersion(cmd.Context(), ref)
			if err != nil {
				return err
			}
			scorer, err := model.OpenScorer(v.Artifact.Format, v.Artifact.Bytes, v.Encoding)
			if err != nil {
				return fmt.Errorf("version %d of %s: %w", v.Version, v.Model, err)
			}
			input, err := scoreInput(in, v, scorer)
			if err != nil {
				return err
			}
			rows, err := scoreFile(cmd.Context(), scorer, src, in, out, input)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a, ScoreBody{Model: v.Model, Version: v.Version, Rows: rows, Out: out})
			}
			fmt.Fprintf(a.stdout, "scored %s rows with %s version %d into %s\n", textfmt.Count(rows), v.Model, v.Version, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "the CSV file to score (raw or encoded export)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "the CSV file to write the scores to")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// scoreInput says how to read the file to score: an encoded export has its
// schema file next to it, and is read as encoded when the schema's encoding
// is the version's; in another encoding it is refused, since its columns
// would be read as raw values (an ordinal code as an unknown category).
// Any other file is told apart by its header (model.ScoreCSV).
func scoreInput(in string, v *registry.ModelVersion, s *model.Scorer) (model.CSVInput, error) {
	path := coordinator.SchemaPath(in)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return model.CSVAuto, nil
	}
	if err != nil {
		return "", err
	}
	schema, err := model.ParseSchema(b)
	if err != nil {
		return "", fmt.Errorf("%s, the schema of %s: %w", path, in, err)
	}
	mine, err := json.Marshal(s.Encoding())
	if err != nil {
		return "", err
	}
	theirs, err := json.Marshal(schema.Encoding)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(mine, theirs) {
		return "", fmt.Errorf("%s is an encoded export (its schema is %s) in another encoding than %s version %d's, which reads only its own: "+
			"score a plain export instead (slipway training-set export %s --format csv --out FILE.csv), which every version reads",
			in, path, v.Model, v.Version, strings.SplitN(schema.TrainingSet, ":", 2)[0])
	}
	return model.CSVEncoded, nil
}

// scoreFile scores src into a temporary file next to out, renamed into
// place when every row is scored.
func scoreFile(ctx context.Context, s *model.Scorer, src io.Reader, in, out string, input model.CSVInput) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.partial")
	if err != nil {
		return 0, fmt.Errorf("--out: %w", err)
	}
	defer os.Remove(tmp.Name())
	rows, err := model.ScoreCSVWith(ctx, s, src, tmp, &model.ScoreCSVParams{Input: input})
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing %s: %w", out, cerr)
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", in, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return 0, fmt.Errorf("writing %s: %w", out, err)
	}
	return rows, nil
}
