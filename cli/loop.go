package cli

// The feedback loop's command: loop status.

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/internal/textfmt"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/resource"
)

func (a *app) loopCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "loop",
		Short: "The feedback loop around a model: where each step stands",
		Long: `A model's feedback loop retrains it on its retrain: policy (a schedule, or
enough new feedback since its newest version), validates the new version on
the holdout against the alias's, and promotes it or tests it in an
experiment that concludes by itself and moves the alias to the winner.
Every step runs as an ordinary job: 'slipway jobs list' shows them and
'slipway jobs logs ID' their logs.`,
	}
	cmd.AddCommand(a.loopStatusCmd())
	return cmd
}

func (a *app) loopStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status MODEL",
		Short: "Show where each step of a model's feedback loop stands, with the job to look at",
		Long: `Status shows where each step of a model's feedback loop stands: the new
feedback counted against the retrain policy, the schedule's next firing,
the last training (queued, running or how it ended, and who queued it: the
schedule, the retrain policy or a person), what validation decided about
the version it made (promoted, not, or tested in an experiment), the
experiment running on the model (exposures per arm against min_samples,
its verdict, its next review) or how the last one ended, and the version
the alias points at with the endpoints serving it. A step that ran names
its job: 'slipway jobs logs ID' shows what it did.

Below the steps: the last trainings, the experiments with an arm of the
model, and the alias's last moves. A model registered from files, with no
definition, shows its aliases and experiments.

--json prints the HTTP API's answer (GET /v1/models/MODEL/loop).

Example:
  slipway loop status purchase_model`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := resource.ValidateName(args[0]); err != nil {
				return fmt.Errorf("%w: model %v", platform.ErrInvalid, err)
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			st, err := api.LoopStatus(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a, st)
			}
			printLoopStatus(a.stdout, st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON (the HTTP API's answer)")
	return cmd
}

// printLoopStatus writes the steps as a table, then the policies,
// trainings, experiments and aliases behind them.
func printLoopStatus(w io.Writer, st *platform.LoopStatus) {
	fmt.Fprintf(w, "model %s: %s, at %s\n", st.Model, latestText(st.LatestVersion), timeOf(st.At))
	for _, d := range st.Definitions {
		fmt.Fprintf(w, "definition %s: %s\n", d.ID.Ref(), policyText(d))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATE\tJOB\tWHERE IT STANDS")
	for _, s := range st.Steps {
		job := "-"
		if s.Job != 0 {
			job = strconv.FormatInt(s.Job, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Step, s.State, job, s.Summary)
	}
	tw.Flush()

	if len(st.Trainings) > 0 {
		fmt.Fprintln(w, "\ntrainings (newest first):")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JOB\tSTATUS\tBY\tQUEUED\tVERSION\tPROMOTED\tEXPERIMENT")
		for _, t := range st.Trainings {
			version, promoted, exp := "-", "-", "-"
			if r := t.Result; r != nil {
				version, promoted = strconv.Itoa(r.Version), map[bool]string{true: "yes", false: "no"}[r.Promoted]
				if r.Experiment != "" {
					exp = r.Experiment
				}
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Job, t.Status, orDash(t.By), timeOf(t.CreatedAt), version, promoted, exp)
		}
		tw.Flush()
	}

	if len(st.Experiments) > 0 {
		fmt.Fprintln(w, "\nexperiments:")
		for _, e := range st.Experiments {
			fmt.Fprintf(w, "  %s on endpoint %s: %s", e.ID.Name, e.Endpoint.Ref(), e.State)
			if e.Ended != nil {
				fmt.Fprintf(w, " at %s (%s)", timeOf(e.Ended.At), e.Ended.Reason)
			}
			fmt.Fprintln(w)
			if len(e.Arms) > 0 {
				var arms []string
				for _, ar := range e.Arms {
					arms = append(arms, fmt.Sprintf("%s %s (%s) %s exposures", ar.Name, ar.Model, versionText(ar.Resolved), textfmt.Count(ar.N)))
				}
				fmt.Fprintf(w, "    arms: %s; min_samples %s\n", strings.Join(arms, ", "), textfmt.Count(e.MinSamples))
			}
			if e.Verdict != "" {
				fmt.Fprintf(w, "    verdict: %s\n", e.Verdict)
			}
			if e.ReportError != "" {
				fmt.Fprintf(w, "    report: %s\n", e.ReportError)
			}
			if r := e.LastReview; r != nil {
				fmt.Fprintf(w, "    last review: job %d %s at %s", r.Job, r.Status, timeOf(r.CreatedAt))
				if r.Result != nil {
					fmt.Fprintf(w, " (%s)", r.Result.Outcome)
				}
				fmt.Fprintln(w)
			}
		}
	}

	for _, al := range st.Aliases {
		fmt.Fprintf(w, "\nalias %s -> %s", al.Alias, versionText(al.Version))
		if len(al.Moves) > 0 {
			fmt.Fprint(w, "; last moves:")
		}
		fmt.Fprintln(w)
		for _, m := range al.Moves {
			from := "created"
			if m.From != 0 {
				from = strconv.Itoa(m.From)
			}
			fmt.Fprintf(w, "  %s -> %d by %s at %s\n", from, m.To, m.By, timeOf(m.At))
		}
	}
}

// latestText is "newest version N", or "no version yet".
func latestText(v int) string {
	if v == 0 {
		return "no version yet"
	}
	return "newest version " + strconv.Itoa(v)
}

// policyText says a definition's loop policy in a line.
func policyText(d platform.LoopDefinition) string {
	var parts []string
	if d.Retrain != nil {
		parts = append(parts, fmt.Sprintf("retrains after %s new %s events", textfmt.Count(d.Retrain.NewFeedback), d.Retrain.Feedback))
	}
	if d.Schedule != "" {
		parts = append(parts, fmt.Sprintf("retrains on schedule %q", d.Schedule))
	}
	if len(parts) == 0 {
		parts = append(parts, "trained by hand (no schedule or retrain policy)")
	}
	pr := d.Promote
	promote := fmt.Sprintf("promotes to %s when %s", pr.Alias, pr.When)
	if pe := pr.Experiment; pr.When == resource.PromoteExperiment && pe != nil {
		promote = fmt.Sprintf("tests a better version on %s in an experiment (%.4g%% of endpoint %s, min_samples %s) before promoting it",
			pr.Alias, pe.Traffic, pe.Endpoint.Ref(), textfmt.Count(pe.MinSamples))
	}
	return strings.Join(append(parts, promote), "; ")
}
