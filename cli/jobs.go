package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/internal/textfmt"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
)

func (a *app) jobsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "jobs",
		Aliases: []string{"job"},
		Short:   "List, inspect, retry and cancel durable jobs",
		Long: `Every run of a transformation, a materialization or a training-set export is
a durable job recorded in the registry: its status (queued, running,
succeeded, failed, cancelled), attempts, times, rows processed, error and
log. Jobs run in the command that queued them, or in 'slipway worker' and
'slipway serve --workers N' processes sharing the registry.`,
	}
	cmd.AddCommand(a.jobsListCmd(), a.jobsShowCmd(), a.jobsLogsCmd(), a.jobsRetryCmd(), a.jobsCancelCmd())
	return cmd
}

func (a *app) jobsListCmd() *cobra.Command {
	var statuses []string
	var kind string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List jobs, newest first",
		Long: `List shows jobs, newest first: status, kind, resource, attempts, rows,
when it was created, how long it ran and its error.

--json prints {"jobs": [...]}, each job as 'slipway jobs show --json'
prints it: the shape of the HTTP API's GET /v1/jobs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if kind != "" && !slices.Contains(jobKinds, kind) {
				return fmt.Errorf("unknown --kind %q: use %s", kind, strings.Join(jobKinds, ", "))
			}
			p := &registry.ListJobsParams{Kind: kind, Limit: limit}
			for _, s := range statuses {
				st := registry.JobStatus(s)
				if !st.Valid() {
					return fmt.Errorf("unknown --status %q: use one of %s", s, joinStatuses())
				}
				p.Statuses = append(p.Statuses, st)
			}
			if limit < 1 || limit > 1000 {
				return fmt.Errorf("--limit %d: give 1 to 1000", limit)
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			jobs, err := api.ListJobs(cmd.Context(), p)
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]server.JobBody, len(jobs))
				for i, j := range jobs {
					out[i] = server.NewJobBody(j)
				}
				return printJSON(a, map[string]any{"jobs": out})
			}
			if len(jobs) == 0 {
				fmt.Fprintln(a.stdout, "no jobs")
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tKIND\tRESOURCE\tATTEMPTS\tROWS\tCREATED\tDURATION\tERROR")
			for _, j := range jobs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\n", j.ID, j.Status, j.Kind, j.Resource.Ref(), j.Attempts, j.MaxAttempts,
					textfmt.Count(j.Rows), j.CreatedAt.Local().Format("2006-01-02 15:04:05"), duration(j), orDash(truncate(textfmt.FirstLine(j.Error), 60)))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringSliceVar(&statuses, "status", nil, "only jobs with this status (repeatable): "+joinStatuses())
	cmd.Flags().StringVar(&kind, "kind", "", "only jobs of this kind: "+strings.Join(jobKinds, ", "))
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many jobs (1 to 1000)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

var jobKinds = []string{coordinator.JobTransformation, coordinator.JobMaterialize, coordinator.JobExport, coordinator.JobTrain,
	coordinator.JobBatchPredict, coordinator.JobExperimentReview, coordinator.JobSkew, coordinator.JobMonitor}

func joinStatuses() string {
	s := make([]string, len(registry.JobStatuses))
	for i, st := range registry.JobStatuses {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}

// duration is how long a job ran (so far), or "-" before it started.
func duration(j *registry.Job) string {
	switch {
	case j.StartedAt.IsZero():
		return "-"
	case j.EndedAt.IsZero():
		return time.Since(j.StartedAt).Round(time.Second).String()
	}
	return j.EndedAt.Sub(j.StartedAt).Round(time.Millisecond).String()
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// jobID parses a job subcommand's ID argument.
func jobID(arg string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("job id %q is not a job number (see 'slipway jobs list')", arg)
	}
	return id, nil
}

// openJob parses a job subcommand's ID argument and connects.
func (a *app) openJob(ctx context.Context, arg string) (int64, platform.API, error) {
	id, err := jobID(arg)
	if err != nil {
		return 0, nil, err
	}
	api, err := a.connect(ctx, how{})
	if err != nil {
		return 0, nil, err
	}
	return id, api, nil
}

func (a *app) jobsShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one job with its last log lines",
		Long: `Show prints one job: kind, resource, status, attempts, rows, times, worker,
the jobs it waits for or was ended by, its error and its last 10 log lines.

--json prints the job (without its log) as the HTTP API's GET /v1/jobs/{id}
does: id, kind, resource, args, status, attempts, max_attempts, depends_on,
blocked_by, created_at, run_after, started_at, ended_at, worker, lease_until,
cancel_requested, rows and error; times in RFC 3339, UTC.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, api, err := a.openJob(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer api.Close()
			j, err := api.GetJob(cmd.Context(), id)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a, server.NewJobBody(j))
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			field := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
			field("job", fmt.Sprint(j.ID))
			field("kind", j.Kind)
			field("resource", j.Resource.String())
			if feats := coordinator.JobFeatures(j); len(feats) > 1 {
				field("features", refs(feats))
			}
			if part := coordinator.JobPart(j); part != "" {
				field("part", part)
			}
			field("status", string(j.Status)+cancelNote(j))
			field("attempts", fmt.Sprintf("%d of %d", j.Attempts, j.MaxAttempts))
			field("rows", textfmt.Count(j.Rows))
			field("created", stamp(j.CreatedAt))
			if j.Status == registry.JobQueued && j.RunAfter.After(j.CreatedAt) {
				field("runs after", stamp(j.RunAfter))
			}
			field("started", stamp(j.StartedAt))
			field("ended", stamp(j.EndedAt))
			field("duration", duration(j))
			switch {
			case j.Status == registry.JobRunning:
				field("worker", fmt.Sprintf("%s (lease until %s)", j.Worker, stamp(j.LeaseUntil)))
			case j.Worker != "":
				field("worker", j.Worker)
			}
			if len(j.DependsOn) > 0 {
				field("waits for jobs", joinIDs(j.DependsOn))
			}
			if j.BlockedBy != 0 {
				field("ended by job", fmt.Sprint(j.BlockedBy))
			}
			field("error", orDash(j.Error))
			if err := tw.Flush(); err != nil {
				return err
			}
			var lines []registry.JobLogLine // the last 10
			var total int
			_, err = eachLogLine(cmd.Context(), api, id, 0, func(l registry.JobLogLine) {
				total++
				lines = append(lines[max(0, len(lines)-9):], l)
			})
			if err != nil {
				return err
			}
			if total > 10 {
				fmt.Fprintf(a.stdout, "log (last 10 of %d lines; 'slipway jobs logs %d' for all):\n", total, id)
			} else if total > 0 {
				fmt.Fprintln(a.stdout, "log:")
			}
			for _, l := range lines {
				fmt.Fprintf(a.stdout, "  %s  %s\n", l.Time.Local().Format("15:04:05.000"), l.Line)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func cancelNote(j *registry.Job) string {
	if j.CancelRequested && j.Status == registry.JobRunning {
		return " (cancel requested)"
	}
	return ""
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05.000")
}

func refs(ids []resource.ID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.Ref().String()
	}
	return strings.Join(s, ", ")
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ", ")
}

// eachLogLine calls fn for each line of job id's log after sequence number
// after, page by page, and returns the last sequence number seen.
func eachLogLine(ctx context.Context, api platform.API, id, after int64, fn func(registry.JobLogLine)) (int64, error) {
	for {
		page, err := api.JobLogs(ctx, &registry.JobLogsParams{ID: id, After: after})
		if err != nil || len(page) == 0 {
			return after, err
		}
		for _, l := range page {
			fn(l)
			after = l.Seq
		}
	}
}

func (a *app) jobsLogsCmd() *cobra.Command {
	var follow, asJSON bool
	cmd := &cobra.Command{
		Use:   "logs ID",
		Short: "Print a job's log",
		Long: `Logs prints a job's log lines with their times; --follow keeps printing
new lines until the job ends.

--json prints {"lines": [{"seq", "time", "line"}, ...]}, every line of the
log: the shape of the HTTP API's GET /v1/jobs/{id}/logs.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if follow && asJSON {
				return errors.New("--follow and --json: give one (--json prints the log as it is now)")
			}
			id, api, err := a.openJob(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer api.Close()
			ctx := cmd.Context()
			if _, err := api.GetJob(ctx, id); err != nil {
				return err
			}
			if asJSON {
				lines := []server.JobLogLineBody{}
				_, err := eachLogLine(ctx, api, id, 0, func(l registry.JobLogLine) {
					lines = append(lines, server.NewJobLogLineBody(l))
				})
				if err != nil {
					return err
				}
				return printJSON(a, map[string]any{"lines": lines})
			}
			var after int64
			print := func(l registry.JobLogLine) {
				fmt.Fprintf(a.stdout, "%s  %s\n", l.Time.Local().Format("2006-01-02 15:04:05.000"), l.Line)
			}
			for {
				// Read the status first: the lines written before it ended are then all there.
				j, err := api.GetJob(ctx, id)
				if err != nil {
					return err
				}
				if after, err = eachLogLine(ctx, api, id, after, print); err != nil {
					return err
				}
				if !follow || j.Status.Ended() {
					return nil
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(500 * time.Millisecond):
				}
			}
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until the job ends")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) jobsRetryCmd() *cobra.Command {
	var detach bool
	cmd := &cobra.Command{
		Use:   "retry ID",
		Short: "Queue a failed or cancelled job again, with the jobs it ended",
		Long: `Retry queues a failed or cancelled job again with all its attempts, together
with the jobs that ended because of it, and (unless --detach) runs them in
this process. A job ended by its upstream is retried through that upstream.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, api, err := a.openJob(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer api.Close()
			jobs, err := api.RetryJob(cmd.Context(), &platform.RetryJobParams{ID: id, Detach: detach})
			if err != nil {
				return err
			}
			ended, err := a.follow(cmd.Context(), api, jobs, detach, a.stderr)
			if !detach {
				a.summary(ended)
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&detach, "detach", false, "queue the jobs and return; a 'slipway worker' runs them")
	return cmd
}

func (a *app) jobsCancelCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a queued or running job",
		Long: `Cancel ends a queued job at once, with the jobs waiting for it. A running job
is asked to stop: its worker cancels it within a heartbeat (about a second)
and the job ends as cancelled. A running job whose worker died (its lease
expired) is cancelled at once; a cancelled job is never run again. A
transformation's table is replaced
atomically, so a cancelled build leaves the previous table; a cancelled
materialization keeps the batches it wrote (newer-wins, so never an older
value over a newer one) and leaves the watermark where it was.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, api, err := a.openJob(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer api.Close()
			j, err := api.CancelJob(cmd.Context(), id)
			if err != nil {
				return err
			}
			if j.Status == registry.JobRunning {
				fmt.Fprintf(a.stdout, "job %d: cancel requested; worker %s stops it at its next heartbeat\n", j.ID, j.Worker)
				return nil
			}
			fmt.Fprintf(a.stdout, "job %d: %s\n", j.ID, j.Status)
			return nil
		},
	}
}

// sayRecovered says on stderr what opening the registry did with the
// jobs whose process died (platform.Platform.Recovered).
func (a *app) sayRecovered(p *platform.Platform) {
	for _, j := range p.Recovered() {
		what := fmt.Sprintf("job %d (%s %s): its worker stopped renewing its lease (its process died or was killed)", j.ID, j.Kind, j.Resource.Ref())
		switch j.Status {
		case registry.JobQueued:
			fmt.Fprintf(a.stderr, "%s; queued again for attempt %d of %d: 'slipway worker' runs it, 'slipway jobs cancel %d' drops it\n",
				what, j.Attempts+1, j.MaxAttempts, j.ID)
		case registry.JobFailed:
			fmt.Fprintf(a.stderr, "%s; failed after %d attempts\n", what, j.Attempts)
		default:
			fmt.Fprintf(a.stderr, "%s; %s as asked\n", what, j.Status)
		}
	}
}

func (a *app) workerCmd() *cobra.Command {
	var concurrency int
	var lease time.Duration
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run queued and scheduled jobs until interrupted",
		Long: `Worker takes jobs from the registry's queue and runs them, --concurrency at a
time, and queues the runs of scheduled transformations and features, until
interrupted. Several workers (on PostgreSQL, on several machines) share one
queue: each job runs under a lease renewed every second, and a job whose
worker died is taken by another once its lease (--lease) expires. Each
firing of a schedule is queued once however many workers run. On Ctrl-C or
SIGTERM the jobs still running are queued again.

Defaults come from the jobs: section of slipway.yaml (concurrency, lease),
else 2 and 30s.

The embedded stores (DuckDB, the embedded online store) are held by one
process at a time: on a laptop, commands run their jobs themselves, and a
worker is needed only for schedules.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("concurrency") && concurrency < 1 {
				return fmt.Errorf("--concurrency %d: give at least 1", concurrency)
			}
			if cmd.Flags().Changed("lease") && lease < 2*coordinator.DefaultHeartbeat {
				return fmt.Errorf("--lease %s: give at least %s (twice the heartbeat)", lease, 2*coordinator.DefaultHeartbeat)
			}
			p, err := a.openLocal(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer p.Close()
			if _, err := p.Offline(cmd.Context()); err != nil {
				return err
			}
			if _, err := p.Online(cmd.Context()); err != nil {
				return err
			}
			a.sayRecovered(p)
			fmt.Fprintln(a.stdout, "worker running (Ctrl-C to stop)")
			err = p.RunWorkers(cmd.Context(), &platform.WorkersParams{Concurrency: concurrency, Lease: lease, Progress: a.stderr})
			fmt.Fprintln(a.stdout, "stopped")
			return err
		},
	}
	cmd.Flags().IntVar(&concurrency, "concurrency", 0, "jobs run at once (default: jobs.concurrency in slipway.yaml, else 2)")
	cmd.Flags().DurationVar(&lease, "lease", 0, "how long a job stays a silent worker's before another takes it (default: jobs.lease, else 30s)")
	return cmd
}
