package cli

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
)

func (a *app) listCmd() *cobra.Command {
	var asJSON, all bool
	cmd := &cobra.Command{
		Use:   "list [KIND]",
		Short: "List registered resources (entities, sources, transformations, features, labels, training-sets)",
		Long: `List shows the registered resources of one kind, or of every kind, with
their status and owner. Deprecated and deleted resources are left out;
--all lists them too, their status saying "(deprecated)" or "deleted".

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
			s, err := a.open(cmd.Context(), need{})
			if err != nil {
				return err
			}
			defer s.Close()
			rs, err := s.registry.List(cmd.Context(), &registry.ListParams{Kind: kind, NotDeprecated: !all, Deleted: all})
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
deprecated, deleted, source_file and dependents.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseTarget(args)
			if err != nil {
				return err
			}
			s, err := a.open(cmd.Context(), need{})
			if err != nil {
				return err
			}
			defer s.Close()
			r, err := s.registry.Get(cmd.Context(), id)
			var deleted *registry.DeletedError
			switch {
			case errors.As(err, &deleted):
				r = deleted.Resource // the tombstone: shown, marked deleted
			case err != nil:
				return fmt.Errorf("%s: %w (`slipway list %s` shows what is registered)", id, err, id.Kind)
			}
			deps, err := s.registry.Dependents(cmd.Context(), id)
			if err != nil {
				return err
			}
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
				field("source", f.Dataset.String())
				field("columns", fmt.Sprintf("entity %s, value %s, timestamp %s", f.EntityColumn, f.ValueColumn, orDash(f.TimestampColumn)))
				field("type", string(f.Type))
				if f.MaxAge > 0 {
					field("max age", f.MaxAge.String())
				}
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

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
