package cli

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
)

func (a *app) listCmd() *cobra.Command {
	var asJSON, all bool
	cmd := &cobra.Command{
		Use:   "list [KIND]",
		Short: "List registered resources (entities, sources, transformations, features, labels, training-sets, models, endpoints, batch-predictions, experiments, monitors)",
		Long: `List shows the registered resources of one kind, or of every kind, with
their status and owner. Deprecated and deleted resources are left out;
--all lists them too, their status saying "(deprecated)" or "deleted".

'slipway list experiments' shows each experiment's endpoint, state (running,
or ended once concluded or stopped: --all lists ended ones), arms (name,
MODEL@ALIAS or MODEL@VERSION, weight), metric (kind, feedback, window) and
min_samples.

'slipway list monitors' shows each monitor's endpoint, checks, schedule
and how many webhooks it notifies.

--json prints {"resources": [...]}, each resource as 'slipway show --json'
prints it (without dependents): the shape of the HTTP API's
GET /v1/resources/{kind}.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var kind resource.Kind
			if len(args) == 1 {
				k, err := resource.ParseKind(args[0])
				if err != nil {
					return err
				}
				kind = k
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			rs, err := api.List(cmd.Context(), &registry.ListParams{Kind: kind, NotDeprecated: !all, Deleted: all})
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]server.ResourceBody, len(rs))
				for i, r := range rs {
					out[i] = server.NewResourceBody(r, nil)
				}
				return printJSON(a, map[string]any{"resources": out})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			if kind == resource.KindExperiment {
				fmt.Fprintln(tw, "NAME:VARIANT\tENDPOINT\tSTATE\tARMS\tMETRIC\tMIN SAMPLES\tOWNER")
				for _, r := range rs {
					x := r.Experiment
					arms := make([]string, len(x.Arms))
					for i, arm := range x.Arms {
						arms[i] = fmt.Sprintf("%s %s %s", arm.Name, armModel(arm), strconv.FormatFloat(arm.Weight, 'g', -1, 64))
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %s %s\t%d\t%s\n", r.Ref(), x.Endpoint.Ref(), experimentState(r.State), strings.Join(arms, ", "),
						x.Metric.Kind, x.Metric.Feedback, x.Metric.Window, x.MinSamples, r.Owner)
				}
				return tw.Flush()
			}
			if kind == resource.KindMonitor {
				fmt.Fprintln(tw, "NAME:VARIANT\tENDPOINT\tCHECKS\tSCHEDULE\tWEBHOOKS\tOWNER")
				for _, r := range rs {
					m := r.Monitor
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", r.Ref(), m.Endpoint.Ref(), strings.Join(m.Checks, ", "), m.Schedule, len(m.Notify), r.Owner)
				}
				return tw.Flush()
			}
			fmt.Fprintln(tw, "KIND\tNAME:VARIANT\tSTATUS\tOWNER\tDESCRIPTION")
			for _, r := range rs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Kind, r.Ref(), lifecycleNote(r.State), r.Owner, short(r.Description))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&all, "all", false, "also list deprecated and deleted resources")
	return cmd
}

func (a *app) showCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show KIND NAME[:VARIANT]",
		Short: "Show one resource: definition, status, schema, dependencies and dependents",
		Long: `Show prints one resource: its definition, status, last error, schema, the
resources it depends on and those that depend on it. A deleted resource is
shown with who deleted it and when.

--json prints the resource as the HTTP API's GET /v1/resources/{kind}/{ref}
does: its definition fields, created_at, updated_at, status, error, schema,
deprecated, deleted, source_file, dir (a model's) and dependents.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, api, err := a.openTarget(cmd.Context(), args)
			if err != nil {
				return err
			}
			defer api.Close()
			shown, err := api.Show(cmd.Context(), id)
			if err != nil {
				return err
			}
			r, deps := shown.Resource, shown.Dependents
			if asJSON {
				return printJSON(a, server.NewResourceBody(r, deps))
			}
			w := a.stdout
			fmt.Fprintf(w, "%s\n", r.ID)
			field := func(k, v string) {
				if v != "" {
					fmt.Fprintf(w, "  %-12s %s\n", k+":", v)
				}
			}
			field("description", r.Description)
			field("owner", r.Owner)
			field("tags", strings.Join(r.Tags, ", "))
			field("created", r.State.CreatedAt.Format("2006-01-02 15:04:05 UTC"))
			field("status", lifecycleNote(r.State))
			if m := r.State.Deprecated; m != nil {
				field("deprecated", registry.DescribeMark(m))
			}
			if m := r.State.Deleted; m != nil {
				field("deleted", registry.DescribeMark(m))
			}
			field("last error", r.State.Error)
			switch {
			case r.Source != nil:
				file := r.Source.File
				if file != "" && !filepath.IsAbs(file) {
					file += " (relative to the YAML file that defines it)"
				}
				field("file", file)
				if sf := r.State.SourceFile; sf != nil {
					field("read from", fmt.Sprintf("%s (%d bytes, modified %s, at the last apply)", sf.Path, sf.Size, sf.ModTime.UTC().Format("2006-01-02 15:04:05 UTC")))
				}
				field("format", r.Source.Format)
				field("table", r.Source.Table)
				field("timestamp", r.Source.TimestampColumn)
				if len(r.Source.Columns) > 0 {
					names := slices.Sorted(maps.Keys(r.Source.Columns))
					decl := make([]string, len(names))
					for i, n := range names {
						decl[i] = n + ": " + string(r.Source.Columns[n])
					}
					field("columns", strings.Join(decl, ", ")+" (declared)")
				}
			case r.Transformation != nil:
				fmt.Fprintf(w, "  sql:\n")
				for _, line := range strings.Split(strings.TrimRight(r.Transformation.SQL, "\n"), "\n") {
					fmt.Fprintf(w, "    %s\n", line)
				}
			case r.Feature != nil:
				f := r.Feature
				field("entity", f.Entity)
				field("source", f.Source.String())
				field("columns", fmt.Sprintf("entity %s, value %s, timestamp %s", f.EntityColumn, f.ValueColumn, orDash(f.TimestampColumn)))
				field("type", string(f.Type))
				if f.MaxAge > 0 {
					field("max age", f.MaxAge.String())
				}
			case r.Label != nil:
				l := r.Label
				field("entity", l.Entity)
				field("source", l.Source.String())
				field("columns", fmt.Sprintf("entity %s, value %s, timestamp %s", l.EntityColumn, l.ValueColumn, orDash(l.TimestampColumn)))
				field("type", string(l.Type))
			case r.Model != nil:
				m := r.Model
				field("trains on", m.TrainingSet.String())
				field("task", m.Task)
				if m.Trainer.Builtin != "" {
					field("trainer", "built-in "+m.Trainer.Builtin)
				} else {
					field("trainer", "command "+strings.Join(m.Trainer.Command, " "))
					field("runs in", r.State.Dir+" (the YAML file's directory, at the last apply)")
				}
				field("validation", fmt.Sprintf("holdout %s%% (the newest label rows), metric %s", strconv.FormatFloat(m.Validation.HoldoutPercent, 'g', -1, 64), m.Validation.Metric))
				field("promote", fmt.Sprintf("alias %s, when %s", m.Promote.Alias, m.Promote.When))
				field("schedule", m.Schedule)
			case r.Endpoint != nil:
				field("serves", fmt.Sprintf("model %s, the version its %s alias points at", r.Endpoint.Model, r.Endpoint.Alias))
			case r.Experiment != nil:
				x := r.Experiment
				field("endpoint", x.Endpoint.Ref().String())
				field("state", experimentState(r.State))
				total := 0.0
				for _, arm := range x.Arms {
					total += arm.Weight
				}
				fmt.Fprintf(w, "  arms:\n")
				for i, arm := range x.Arms {
					role := ""
					if i == 0 {
						role = "  (control)"
					}
					fmt.Fprintf(w, "    %-16s %-32s weight %s (%.4g%%)%s\n", arm.Name, armModel(arm), strconv.FormatFloat(arm.Weight, 'g', -1, 64), 100*arm.Weight/total, role)
				}
				field("metric", fmt.Sprintf("%s of feedback %s within %s of an entity's first exposure", x.Metric.Kind, x.Metric.Feedback, x.Metric.Window))
				field("min samples", fmt.Sprintf("%d exposed entities per arm before a winner may be called", x.MinSamples))
			case r.Monitor != nil:
				showMonitor(r, field)
			case r.BatchPrediction != nil:
				b := r.BatchPrediction
				field("scores", fmt.Sprintf("the %s of %s with model %s, the version its %s alias points at", b.EntityColumn, b.Entities, b.Model, b.Alias))
				field("writes", fmt.Sprintf("source %s (a row per entity and run), feature %s (the newest prediction)", resource.BatchPredictionSource(r.ID).Ref(), r.Ref()))
				field("schedule", b.Schedule)
			}
			if len(r.State.Schema) > 0 {
				fmt.Fprintf(w, "  schema:\n")
				for _, c := range r.State.Schema {
					fmt.Fprintf(w, "    %-24s %-12s %s\n", c.Name, c.EngineType, c.Type)
				}
			}
			if d := r.Dependencies(); len(d) > 0 {
				fmt.Fprintf(w, "  depends on:\n")
				for _, id := range d {
					fmt.Fprintf(w, "    %s\n", id)
				}
			}
			if len(deps) > 0 {
				fmt.Fprintf(w, "  used by:\n")
				for _, id := range deps {
					fmt.Fprintf(w, "    %s\n", id)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// showMonitor prints a monitor's definition as show's fields.
func showMonitor(r *resource.Resource, field func(name, value string)) {
	m := r.Monitor
	g := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	field("endpoint", m.Endpoint.Ref().String())
	field("checks", strings.Join(m.Checks, ", "))
	field("schedule", m.Schedule)
	for _, n := range m.Notify {
		field("notifies", n.Webhook)
	}
	if m.Runs(resource.CheckDrift) {
		d, t := m.Drift, m.Drift.Thresholds
		field("drift", fmt.Sprintf("window %s, min rows %d, dataset drift from a share of %s, method %s; thresholds ks %s, chisquare %s, ztest %s, wasserstein %s, jensenshannon %s, psi %s",
			d.Window, d.MinRows, g(d.Share), d.Method, g(t.KS), g(t.ChiSquare), g(t.ZTest), g(t.Wasserstein), g(t.JensenShannon), g(t.PSI)))
	}
	if m.Runs(resource.CheckFreshness) {
		field("freshness", fmt.Sprintf("grace %s", m.Freshness.Grace))
	}
	if m.Runs(resource.CheckPerformance) {
		p := m.Performance
		field("performance", fmt.Sprintf("feedback %s, window %s, min samples %d, max drop %s", p.Feedback, p.Window, p.MinSamples, g(p.MaxDrop)))
	}
	if m.Runs(resource.CheckSkew) {
		field("skew", fmt.Sprintf("sample %d, max share %s", m.Skew.Sample, g(m.Skew.MaxShare)))
	}
	field("report", "slipway monitor report "+r.Ref().String())
}

// armModel is an experiment arm's model version as definitions write it:
// MODEL@ALIAS or MODEL@VERSION.
func armModel(a resource.ExperimentArm) string {
	if a.Version > 0 {
		return fmt.Sprintf("%s@%d", a.Model, a.Version)
	}
	return a.Model + "@" + a.Alias
}

// experimentState says whether an experiment runs: it ends, concluded or
// stopped, when it is deprecated (the mark's reason says how).
func experimentState(st resource.State) string {
	switch {
	case st.Deleted != nil:
		return "deleted"
	case st.Deprecated != nil:
		return "ended " + registry.DescribeMark(st.Deprecated)
	}
	return "running"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (a *app) lineageCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "lineage KIND NAME[:VARIANT]",
		Short: "Show everything a resource depends on and everything that uses it, transitively",
		Long: `Lineage walks the registry's graph from one resource: upstream, every resource
it depends on (a training set's features and label, their sources and
transformations, the sources those read...), and downstream, every resource
that uses it, down to the model versions trained on it. "Which models use
this column?" is 'slipway lineage source NAME' (or the transformation that
selects the column). Deleted resources are included, as their tombstones
keep their lineage.

Each line is an edge "FROM -> TO": TO uses FROM. The model versions are
those trained on a training set among them (the resource itself or one
downstream) and, for a model, its versions, with the aliases that point at
them now.

--json prints {"id", "upstream", "downstream", "model_versions"}: lists of
edges {"from", "to"}, and of {"training_set", "model", "version",
"aliases"}: the shape of the HTTP API's
GET /v1/resources/{kind}/{ref}/lineage.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, api, err := a.openTarget(cmd.Context(), args)
			if err != nil {
				return err
			}
			defer api.Close()
			l, err := api.Lineage(cmd.Context(), id)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a, l)
			}
			fmt.Fprintf(a.stdout, "%s\n", l.ID)
			for _, part := range []struct {
				name  string
				edges []platform.Edge
			}{{"upstream (what it depends on)", l.Upstream}, {"downstream (what uses it)", l.Downstream}} {
				fmt.Fprintf(a.stdout, "  %s:\n", part.name)
				if len(part.edges) == 0 {
					fmt.Fprintln(a.stdout, "    none")
				}
				for _, e := range part.edges {
					fmt.Fprintf(a.stdout, "    %s -> %s\n", e.From, e.To)
				}
			}
			fmt.Fprintf(a.stdout, "  model versions (trained on it, or on what uses it):\n")
			if len(l.ModelVersions) == 0 {
				fmt.Fprintln(a.stdout, "    none")
			}
			for _, v := range l.ModelVersions {
				aliases := ""
				if len(v.Aliases) > 0 {
					aliases = " (" + strings.Join(v.Aliases, ", ") + ")"
				}
				fmt.Fprintf(a.stdout, "    %s -> model %s version %d%s\n", v.TrainingSet, v.Model, v.Version, aliases)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
