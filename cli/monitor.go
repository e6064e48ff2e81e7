package cli

// slipway monitor run|report: a monitor's run now, and what its checks found.

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

func (a *app) monitorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "monitor",
		Aliases: []string{"monitors"},
		Short:   "Monitors: run one now, report what its checks found",
		Long: `A monitor (defined under monitors:) checks an endpoint on its schedule, as a
job: drift of its inputs and predictions, freshness of its features,
performance from feedback, measured train/serve skew. Every run records a
result per check and subject (pass, warn or fail, with the number and the
threshold), and each webhook the monitor notifies gets a JSON alert when a
subject enters fail or leaves it.

'slipway monitor run NAME' runs it now; 'slipway monitor report NAME' shows
the latest state of each check and subject, since when, and the runs.`,
	}
	cmd.AddCommand(a.monitorRunCmd(), a.monitorReportCmd())
	return cmd
}

// monitorRef reads NAME or NAME:VARIANT.
func monitorRef(s string) (resource.Ref, error) {
	ref, err := resource.ParseRef(s)
	if err != nil {
		return resource.Ref{}, fmt.Errorf("%w: monitor %q: %v", platform.ErrInvalid, s, err)
	}
	return ref, nil
}

// MonitorRunBody is what `slipway monitor run --json` prints: the job and
// what the run found (nil until it succeeded).
type MonitorRunBody = JobsBody[coordinator.MonitorRunResult]

func (a *app) monitorRunCmd() *cobra.Command {
	var by string
	var detach, asJSON bool
	cmd := &cobra.Command{
		Use:   "run NAME",
		Short: "Run a monitor's checks now, as a job, and wait for it",
		Long: `Run queues a run of the monitor's checks (a job, like the runs its schedule
queues) and waits for it: the results are recorded, and alerts posted, as
on schedule. It prints how many results passed, warned and failed;
'slipway monitor report NAME' shows them. --detach queues the job and
returns (a 'slipway worker' runs it).

--json prints {"jobs": [...], "result": {"monitor", "run", "pass", "warn",
"fail", "alerts", "alerts_failed"}}.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := monitorRef(args[0])
			if err != nil {
				return err
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			jobs, err := api.RunMonitor(cmd.Context(), &platform.MonitorRunParams{Monitor: ref, By: by, Detach: detach})
			if err != nil {
				return err
			}
			res, ended, printed, err := runJobs[coordinator.MonitorRunResult](cmd.Context(), a, api, jobs, coordinator.JobMonitor, detach, asJSON)
			if err != nil || printed || detach {
				return err
			}
			if res == nil {
				return fmt.Errorf("monitor job %d left no result", ended[len(ended)-1].ID)
			}
			fmt.Fprintf(a.stdout, "monitor %s: run %d: %d pass, %d warn, %d fail", ref.Name, res.Run, res.Pass, res.Warn, res.Fail)
			if res.Alerts+res.AlertsFailed > 0 {
				fmt.Fprintf(a.stdout, "; %d alert(s) sent, %d not delivered (see slipway jobs logs %d)", res.Alerts, res.AlertsFailed, ended[len(ended)-1].ID)
			}
			fmt.Fprintf(a.stdout, "\nsee slipway monitor report %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", currentUser(), "who asks, recorded with the job")
	cmd.Flags().BoolVar(&detach, "detach", false, "queue the job and return; a 'slipway worker' runs it")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) monitorReportCmd() *cobra.Command {
	var runs int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "report NAME",
		Short: "What a monitor's checks found: the latest state of each check and subject, and the runs",
		Long: `Report shows, per check (in the monitor's order) and subject, the state of
its newest result (pass, warn or fail), since when the subject has been in
that state (the first run of the streak), the number measured against its
threshold and what was found. A subject the last run did not report (its
check could not run) is shown with the time of the run that last did.

Then the history: the newest runs (--runs, default 20), each with its time,
its counts of pass, warn and fail, the failing subjects and its job ('slipway
jobs logs JOB' shows what the run did, alerts included).

--json prints the report as GET /v1/monitors/{name}/report answers.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := monitorRef(args[0])
			if err != nil {
				return err
			}
			if runs < 1 {
				return fmt.Errorf("%w: --runs %d: give how many runs to list, 1 or more", platform.ErrInvalid, runs)
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			rep, err := api.MonitorReport(cmd.Context(), &platform.MonitorReportParams{Monitor: ref, Runs: runs})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a, rep)
			}
			return printMonitorReport(a, rep)
		},
	}
	cmd.Flags().IntVar(&runs, "runs", registry.DefaultMonitorRunLimit, "how many runs to list")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printMonitorReport(a *app, rep *platform.MonitorReport) error {
	w := a.stdout
	name := rep.Monitor
	if rep.Variant != resource.DefaultVariant {
		name += ":" + rep.Variant
	}
	fmt.Fprintf(w, "monitor %s on endpoint %s: checks %s, schedule %s, %d webhook(s)\n", name, rep.Endpoint, strings.Join(rep.Checks, ", "), rep.Schedule, rep.Webhooks)
	if len(rep.Runs) == 0 {
		fmt.Fprintf(w, "no runs yet: it runs %s, or now with slipway monitor run %s\n", rep.Schedule, name)
		return nil
	}
	lastRun := rep.Runs[0].Run
	fmt.Fprintf(w, "\nlatest state:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  CHECK\tSUBJECT\tSTATE\tSINCE\tVALUE\tTHRESHOLD\tMESSAGE")
	for _, r := range rep.Latest {
		state := r.State
		if r.Run != lastRun {
			state += " (as of " + utcStamp(r.At) + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Check, r.Subject, state, utcStamp(r.Since), number(r.Method, r.Value), number("", r.Threshold), r.Message)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nruns (newest first):\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  RUN\tAT\tPASS\tWARN\tFAIL\tJOB\tFAILING")
	for _, r := range rep.Runs {
		job := "-"
		if r.Job > 0 {
			job = strconv.FormatInt(r.Job, 10)
		}
		fmt.Fprintf(tw, "  %d\t%s\t%d\t%d\t%d\t%s\t%s\n", r.Run, utcStamp(r.At), r.Pass, r.Warn, r.Fail, job, orDash(strings.Join(r.Failing, ", ")))
	}
	return tw.Flush()
}

// utcStamp writes a time to the second in UTC.
func utcStamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// number writes a measure as METHOD VALUE, or "-" when there is none.
func number(method string, v *float64) string {
	if v == nil {
		return "-"
	}
	s := strconv.FormatFloat(*v, 'g', 4, 64)
	if method != "" {
		s = method + " " + s
	}
	return s
}
