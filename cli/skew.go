package cli

// slipway skew: measured train/serve skew of a model.

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/internal/textfmt"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/resource"
)

// SkewBody is what `slipway skew --json` prints: the jobs and the report.
type SkewBody = JobsBody[coordinator.SkewReport]

func (a *app) skewCmd() *cobra.Command {
	var version, sample int
	var from, to, by string
	var detach, asJSON bool
	cmd := &cobra.Command{
		Use:   "skew MODEL",
		Short: "Measure train/serve skew: served features against the training join at the same instant",
		Long: `Skew samples predictions the model's endpoints logged and recomputes each
one's features point-in-time at its prediction time, from the offline store,
with the very join training sets use (the sample stands in for the label).
It then compares, value by value, what was served with what training would
have seen, and reports per feature the share of values that differ, with
examples. Request-time overrides are left out (they differ by design).

Nonzero skew means serving and training disagree: an online store that was
not materialized since its sources changed, a transformation changed
between the two, a feature read from somewhere else. It runs as a job in
the offline engine; the sample is chosen by a hash of the prediction ids,
so a rerun over the same log samples the same predictions.

--json prints {"jobs": [...], "result": {...}}: the job, and the report.

Example:
  slipway skew purchase_model --sample 2000`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := resource.ValidateName(args[0]); err != nil {
				return fmt.Errorf("%w: model %v", platform.ErrInvalid, err)
			}
			p := &platform.SkewParams{Model: args[0], Version: version, Sample: sample, By: by, Detach: detach}
			for _, t := range []struct {
				flag, text string
				into       *time.Time
			}{{"--from", from, &p.From}, {"--to", to, &p.To}} {
				if t.text == "" {
					continue
				}
				at, err := time.Parse(time.RFC3339, t.text)
				if err != nil {
					return fmt.Errorf("%s %q: write a time like 2026-12-01T00:00:00Z", t.flag, t.text)
				}
				*t.into = at
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			jobs, err := api.Skew(cmd.Context(), p)
			if err != nil {
				return err
			}
			rep, ended, printed, err := runJobs[coordinator.SkewReport](cmd.Context(), a, api, jobs, coordinator.JobSkew, detach, asJSON)
			if err != nil || printed || detach {
				return err
			}
			if rep == nil {
				return fmt.Errorf("skew job %d left no report", ended[len(ended)-1].ID)
			}
			return printSkew(a, rep)
		},
	}
	cmd.Flags().IntVar(&version, "version", 0, "only predictions of this version (default: every version)")
	cmd.Flags().IntVar(&sample, "sample", coordinator.DefaultSkewSample, "how many logged predictions to compare")
	cmd.Flags().StringVar(&from, "from", "", "only predictions made at or after this time (RFC 3339)")
	cmd.Flags().StringVar(&to, "to", "", "only predictions made before this time (RFC 3339)")
	cmd.Flags().StringVar(&by, "by", currentUser(), "who asks, recorded with the job")
	cmd.Flags().BoolVar(&detach, "detach", false, "queue the job and return; a 'slipway worker' runs it")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printSkew(a *app, rep *coordinator.SkewReport) error {
	w := a.stdout
	if rep.Sampled == 0 {
		fmt.Fprintf(w, "model %s: no logged predictions to compare yet (its endpoints log every answer; ship the log, or ask again later)\n", rep.Model)
		return nil
	}
	fmt.Fprintf(w, "model %s: %s predictions sampled (versions %v); %s values differ\n", rep.Model, textfmt.Count(int64(rep.Sampled)), rep.Versions, textfmt.Count(int64(rep.Differing)))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  FEATURE\tCOMPARED\tDIFFER\tSHARE\tOVERRIDDEN")
	for _, f := range rep.Features {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%.2f%%\t%s\n", f.Feature, textfmt.Count(int64(f.Compared)), textfmt.Count(int64(f.Differing)), 100*f.Share, textfmt.Count(int64(f.Overridden)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range rep.Features {
		for _, e := range f.Examples {
			fmt.Fprintf(w, "  %s: entity %s at %s: served %v, training join %v (prediction %s)\n", f.Feature, e.Entity, e.At.Format(time.RFC3339), jsonText(e.Served), jsonText(e.Offline), e.PredictionID)
		}
	}
	return nil
}

// jsonText writes a value as JSON (null, a number, a quoted string).
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
