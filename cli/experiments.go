package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/experiment"
	"github.com/slipway-ml/slipway/internal/textfmt"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
)

func (a *app) experimentsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "experiments",
		Aliases: []string{"experiment"},
		Short:   "A/B experiments between model versions: report, conclude, stop",
		Long: `An experiment (defined under experiments:) splits an endpoint's traffic
between versions of its model: each entity is assigned to an arm by a hash of
the experiment's name and its key, and the arm's version answers it. The
prediction log records the experiment and arm of every answer; feedback on
those predictions is the experiment's metric.

'slipway experiments report' compares the arms; 'conclude --winner ARM'
moves the endpoint's alias to the winner's version and ends the experiment;
'stop' ends it without a change. docs/design/experiments.md explains how
exposures, windows and metrics are defined, and the statistics.`,
	}
	cmd.AddCommand(a.experimentsReportCmd(), a.experimentsConcludeCmd(), a.experimentsStopCmd())
	return cmd
}

// experimentRef reads NAME or NAME:VARIANT.
func experimentRef(s string) (resource.Ref, error) {
	ref, err := resource.ParseRef(s)
	if err != nil {
		return resource.Ref{}, fmt.Errorf("%w: experiment %q: %v", platform.ErrInvalid, s, err)
	}
	return ref, nil
}

func (a *app) experimentsReportCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "report NAME",
		Short: "Compare an experiment's arms: exposures, metric, lift, p-value, and a verdict",
		Long: `Report shows an experiment's state (running, or how it ended), and per arm:
the model version it answers with now, its exposures (the distinct entities
it answered), its metric with a 95% interval (a conversion rate with Wilson's
interval, or a mean per exposed entity with the t interval), the relative
lift over the control (the first arm) with its 95% interval, and the p-value
against the control (the two-proportion z-test for a conversion, Welch's
t-test for a mean). Then the sample-ratio-mismatch check (a chi-square test
of the exposures against the weights, flagged at p < 0.001) and a verdict in
plain language, which calls a winner only when every arm has min_samples
exposures, the split is sound, and a treatment is significantly better
(at 0.05 divided by the number of treatments).

An entity's feedback counts when it is about one of its predictions in the
experiment and happened within the metric's window of its first exposure.

--json prints the HTTP API's answer (GET /v1/experiments/NAME/report).

Example:
  slipway experiments report purchase_v2_test`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := experimentRef(args[0])
			if err != nil {
				return err
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			rep, err := api.ExperimentReport(cmd.Context(), ref)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a, server.NewExperimentReportBody(rep))
			}
			printExperimentReport(a.stdout, rep)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON (the HTTP API's answer)")
	return cmd
}

// printExperimentReport writes a report as a table per arm, the
// sample-ratio check and the verdict.
func printExperimentReport(w io.Writer, rep *platform.ExperimentReport) {
	spec := rep.Experiment.Experiment
	state := rep.State
	if rep.Ended != nil {
		state += " at " + timeOf(rep.Ended.At)
		if rep.Ended.By != "" {
			state += " by " + rep.Ended.By
		}
		state += " (" + rep.Ended.Reason + ")"
	}
	ep := rep.Endpoint
	fmt.Fprintf(w, "experiment %s: %s\n", rep.Experiment.Ref(), state)
	fmt.Fprintf(w, "endpoint %s: model %s, alias %s -> %s\n", ep.Endpoint.Ref(), ep.Model, ep.Alias, versionText(ep.Version))
	fmt.Fprintf(w, "metric: %s of feedback %q within %s of an entity's first exposure; min_samples %s per arm\n",
		spec.Metric.Kind, spec.Metric.Feedback, spec.Metric.Window, textfmt.Count(spec.MinSamples))
	fmt.Fprintf(w, "exposures count once their %s window has ended\n\n", spec.Metric.Window)

	conversion := rep.Report.Kind == experiment.KindConversion
	metric := func(x float64) string {
		if conversion {
			return fmt.Sprintf("%.2f%%", 100*x)
		}
		return strconv.FormatFloat(x, 'g', 6, 64)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ARM\tMODEL\tWEIGHT\tEXPOSURES\tMETRIC\t95% CI\tLIFT\tLIFT 95% CI\tP")
	for i, ar := range rep.Report.Arms {
		model := "-"
		if i < len(rep.Arms) {
			av := rep.Arms[i]
			model = av.Named()
			if av.Alias != "" {
				model += " (" + versionText(av.Resolved) + ")"
			}
		}
		weight := "-"
		if i < len(spec.Arms) {
			weight = strconv.FormatFloat(spec.Arms[i].Weight, 'g', -1, 64)
		}
		m, ci := "-", "-"
		if ar.CI != (experiment.Interval{}) || ar.Metric != 0 {
			m, ci = metric(ar.Metric), "["+metric(ar.CI.Low)+", "+metric(ar.CI.High)+"]"
		}
		lift, liftCI, p := "-", "-", "-"
		if i == 0 {
			lift = "(control)"
		}
		if ar.Lift != nil {
			lift = fmt.Sprintf("%+.2f%%", 100**ar.Lift)
		}
		if ar.LiftCI != nil {
			liftCI = fmt.Sprintf("[%+.2f%%, %+.2f%%]", 100*ar.LiftCI.Low, 100*ar.LiftCI.High)
		}
		if ar.P != nil {
			p = strconv.FormatFloat(*ar.P, 'g', 4, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ar.Name, model, weight, textfmt.Count(ar.N), m, ci, lift, liftCI, p)
	}
	tw.Flush()
	srm := "ok"
	if rep.Report.SRM.Flagged {
		srm = "MISMATCH: the split is not what the weights say"
	}
	fmt.Fprintf(w, "\nsample ratio: chi2 %.3f, p %s (%s; flagged below %g)\n", rep.Report.SRM.Chi2, strconv.FormatFloat(rep.Report.SRM.P, 'g', 4, 64), srm, experiment.SRMThreshold)
	fmt.Fprintf(w, "verdict: %s\n", rep.Report.Verdict)
}

// versionText is "version N", or "no version" for 0.
func versionText(v int) string {
	if v == 0 {
		return "no version"
	}
	return "version " + strconv.Itoa(v)
}

func (a *app) experimentsConcludeCmd() *cobra.Command {
	var asJSON bool
	var winner, by string
	cmd := &cobra.Command{
		Use:   "conclude NAME --winner ARM",
		Short: "End an experiment with a winner: move the endpoint's alias to the winner's version",
		Long: `Conclude ends an experiment with the arm you name as the winner. It points the
endpoint's alias at the winner's version (a recorded move, as 'slipway models
promote' makes, by "YOU (experiment NAME)"; 'slipway models rollback' undoes
it), unless the alias points there already (the control won), then marks the
experiment deprecated with the reason "concluded: winner ARM (model M
version V)". The endpoint then answers every entity with its alias again.

The winner is yours to choose: conclude prints the report's verdict first and
warns when it does not call your winner, but does not refuse. A conclusion
interrupted between the move and the end can be run again. An ended
experiment is refused.

Example:
  slipway experiments conclude purchase_v2_test --winner treatment`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := experimentRef(args[0])
			if err != nil {
				return err
			}
			if winner == "" {
				return fmt.Errorf("%w: name the winning arm with --winner ARM (`slipway experiments report %s` lists the arms)", platform.ErrInvalid, args[0])
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			rep, err := api.ExperimentReport(cmd.Context(), ref)
			if err != nil {
				return err
			}
			if rep.State == platform.ExperimentRunning && !asJSON {
				fmt.Fprintf(a.stdout, "verdict: %s\n", rep.Report.Verdict)
			}
			if rep.State == platform.ExperimentRunning && rep.Report.Winner != winner {
				called := "calls no winner"
				if rep.Report.Winner != "" {
					called = "calls " + rep.Report.Winner + " the winner"
				}
				fmt.Fprintf(a.stderr, "warning: the report %s, not %s; concluding with %s as you asked\n", called, winner, winner)
			}
			res, err := api.ConcludeExperiment(cmd.Context(), &platform.ConcludeExperimentParams{Experiment: ref, Winner: winner, By: by})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a, server.ConcludeBody{Experiment: server.NewResourceBody(res.Experiment, nil), Winner: res.Winner,
					Alias: server.NewModelAliasBody(res.Alias, nil), Moved: res.Moved, From: res.From})
			}
			fmt.Fprintf(a.stdout, "experiment %s %s\n", res.Experiment.Ref(), res.Experiment.State.Deprecated.Reason)
			if res.Moved {
				fmt.Fprintf(a.stdout, "%s of %s -> version %d (was %s)\n", res.Alias.Alias, res.Alias.Model, res.Alias.Version, versionText(res.From))
			} else {
				fmt.Fprintf(a.stdout, "%s of %s stays at version %d\n", res.Alias.Alias, res.Alias.Model, res.Alias.Version)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&winner, "winner", "", "the winning arm's name (required)")
	cmd.Flags().StringVar(&by, "by", currentUser(), "who concludes it, recorded with the alias's move and the experiment's end")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the HTTP API's answer (POST /v1/experiments/NAME/conclude)")
	return cmd
}

func (a *app) experimentsStopCmd() *cobra.Command {
	var asJSON bool
	var reason, by string
	cmd := &cobra.Command{
		Use:   "stop NAME",
		Short: "End an experiment without a change",
		Long: `Stop ends an experiment without moving any alias: it is marked deprecated
with the reason "stopped" ("stopped: REASON" with --reason), and the endpoint
answers every entity with its alias again. Use it when an arm misbehaves, the
split is broken (a sample-ratio mismatch), or the question no longer matters.
An ended experiment is refused.

Example:
  slipway experiments stop purchase_v2_test --reason "the treatment breaks checkout"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := experimentRef(args[0])
			if err != nil {
				return err
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			r, err := api.StopExperiment(cmd.Context(), &platform.StopExperimentParams{Experiment: ref, Reason: reason, By: by})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a, server.NewResourceBody(r, nil))
			}
			fmt.Fprintf(a.stdout, "experiment %s %s\n", r.Ref(), strings.TrimSpace(r.State.Deprecated.Reason))
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why it stops, recorded with its end")
	cmd.Flags().StringVar(&by, "by", currentUser(), "who stops it, recorded with its end")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the experiment as JSON (the HTTP API's answer)")
	return cmd
}
