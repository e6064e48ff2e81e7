package cli

// freshness: how fresh each feature's online values are.

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/resource"
)

func (a *app) freshnessCmd() *cobra.Command {
	var asJSON bool
	var at string
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "freshness [FEATURE...]",
		Short: "Show how fresh each feature's online values are: fresh, stale or never materialized",
		Long: `Freshness shows, per feature (every feature when none is named), the newest
event time of its values in the online store, when its last successful
materialization ended and by which job, its schedule (its own, or that of
the batch prediction whose predictions it serves) with the next run due,
and a status with the reason:

  fresh               nothing below applies
  stale               the newest value online is older than the feature's
                      max_age (newest event time before now - max_age), or
                      a scheduled run is overdue: no materialization
                      succeeded by the first firing after the last one plus
                      the grace
  never_materialized  no materialization of the feature ever succeeded

The grace defaults to the schedule's interval at that firing (until the
next one), at least 10 minutes: a feature is overdue once a whole firing
passed without a successful run. --grace sets it.

Everything is read from the registry: the coordinator records the newest
event time it wrote and the job with every successful materialization.
The exit code is 0 whatever the statuses; --json prints the HTTP API's
answer (GET /v1/freshness), with ages in seconds, for scripts and monitors.

Examples:
  slipway freshness
  slipway freshness opens_30d:v1 orders_count --json
  slipway freshness --at 2026-04-10T00:00:00Z`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p := &platform.FreshnessParams{Grace: grace}
			for _, arg := range args {
				ref, err := resource.ParseRef(arg)
				if err != nil {
					return fmt.Errorf("%w: feature %q: %v", platform.ErrInvalid, arg, err)
				}
				p.Features = append(p.Features, resource.NewID(resource.KindFeature, ref))
			}
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return fmt.Errorf("%w: --at %q is not an RFC 3339 time such as 2026-04-10T00:00:00Z", platform.ErrInvalid, at)
				}
				p.Now = t
			}
			if grace < 0 {
				return fmt.Errorf("%w: --grace %s is negative: give a duration such as 10m, or 0 for the default", platform.ErrInvalid, grace)
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			rep, err := api.Freshness(cmd.Context(), p)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a, rep)
			}
			printFreshness(a.stdout, rep)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON (the HTTP API's answer)")
	cmd.Flags().StringVar(&at, "at", "", "measure ages at this time (RFC 3339) instead of now")
	cmd.Flags().DurationVar(&grace, "grace", 0, "how long after a scheduled firing a run may still succeed (default: the schedule's interval, at least 10m)")
	return cmd
}

// printFreshness writes one line per feature, then the counts.
func printFreshness(w io.Writer, rep *platform.FreshnessReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FEATURE\tSTATUS\tNEWEST EVENT\tMATERIALIZED\tJOB\tSCHEDULE\tREASON")
	for _, f := range rep.Features {
		job := "-"
		if f.LastMaterializationJob != 0 {
			job = strconv.FormatInt(f.LastMaterializationJob, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Feature, f.Status, timeOf(f.NewestEventTime), timeOf(f.LastMaterializedAt), job, orDash(f.Schedule), f.Reason)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d fresh, %d stale, %d never materialized, at %s\n", rep.Fresh, rep.Stale, rep.NeverMaterialized, timeOf(rep.At))
}
