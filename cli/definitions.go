package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/platform"
)

func (a *app) planCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "plan DIR",
		Short: "Show what apply would do with the definitions in DIR",
		Long: `Plan reads every *.yaml/*.yml file under DIR, resolves references, checks SQL,
columns and types in the offline engine, and compares each definition with
the registry. Each resource is shown as create, unchanged or conflict; a
conflict lists the changed fields: changed SQL as a unified diff, a changed
list (a training set's features, tags) as the entries added and removed.

Nothing is written, not even the data directory. Each embedded store whose
file does not exist yet (registry.db, offline.duckdb, or the path: in
slipway.yaml) is planned against as an empty one that is removed afterwards,
whatever else the data directory holds: with no registry file every
definition is create. When the registry exists but the offline store file does
not, registered sources and transformations are described from their
definitions (a source from the file its last apply found), not read from
their views and tables. An existing SQLite registry is opened as other
commands open it, so a newer slipway upgrades its schema there (SQLite's
read-only mode would leave -wal and -shm files behind).

File sources are read whole, so a value past the rows the engine samples to
infer a CSV column's type (DuckDB: 20,480), an empty or header-only file, or a
timestamp column that does not parse is an error here, naming the file, line
and column (declare a column's type with columns: on the source). A source's
file: is relative to the YAML file that names it and is recorded as written,
so the same files plan the same whichever DIR (the project, a directory above
it, a team's subdirectory) or checkout they are planned from.

Names are checked against the registry too: a new source or transformation
may not take a name registered as the other kind, and a deleted name:variant
is never registered again. A definition that refers to a deprecated resource
is shown with a warning (who deprecated it, and why); it does not stop apply.

--json prints {"items", "warnings", "errors"}: each item with its action
(create, unchanged, conflict), kind, id (name:variant), file, line and, for a
conflict, diffs (field, registered, proposed, and added/removed for a list);
each warning and error with file, line, field and message. Errors in the
definitions are printed there (with no items); the exit status is the same.

Exit status is 1 when a definition has an error or a conflict.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			defs, err := definition.ReadFiles(args[0])
			if err != nil {
				return err
			}
			api, err := a.connect(cmd.Context(), how{readOnly: true})
			if err != nil {
				return err
			}
			defer api.Close()
			plan, err := api.Plan(cmd.Context(), defs)
			if asJSON && plan != nil {
				if err := printJSON(a, plan); err != nil {
					return err
				}
			}
			if err != nil {
				return err
			}
			if !asJSON {
				printPlan(a.stdout, plan)
			}
			if len(plan.Conflicts()) > 0 {
				return &platform.ConflictError{What: "apply would be refused", Plan: plan}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) applyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "apply DIR",
		Short: "Register the definitions in DIR (all or nothing)",
		Long: `Apply checks the definitions exactly like plan and then registers every new
resource in one transaction. Re-applying the same definitions changes nothing.
Changing a registered name:variant is refused with a field-by-field diff:
give the changed definition a new variant instead.

Sources become queryable views in the offline store, over the files as found
from DIR: later commands read them from any working directory, and applying
from another checkout (or a moved project) points the views at its files.
Transformations are
registered as pending; build them with 'slipway run' (materialize and
training-set export build what they need on their own).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.apply(cmd.Context(), args[0], a.stdout)
		},
	}
}

// apply applies the definitions in dir, printing the plan and what was done.
func (a *app) apply(ctx context.Context, dir string, out io.Writer) error {
	defs, err := definition.ReadFiles(dir)
	if err != nil {
		return err
	}
	api, err := a.connect(ctx, how{create: true})
	if err != nil {
		return err
	}
	defer api.Close()
	return applyWith(ctx, api, defs, out)
}

func applyWith(ctx context.Context, api platform.API, defs *definition.Files, out io.Writer) error {
	res, err := api.Apply(ctx, defs)
	if res != nil && res.Plan != nil {
		printPlan(out, res.Plan)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "applied: %d created, %d unchanged\n", res.Created, res.Unchanged)
	return nil
}

// printPlan lists each resource with its action, and under a conflict each
// changed field (resource.FieldDiff.Lines: SQL as a unified diff, lists as
// the elements added and removed).
func printPlan(w io.Writer, plan *platform.PlanResult) {
	for _, it := range plan.Items {
		fmt.Fprintf(w, "  %-9s %-14s %s\n", it.Action, it.Kind, it.ID)
		for _, d := range it.Diffs {
			for i, line := range d.Lines() {
				indent := "              "
				if i > 0 {
					indent += "  "
				}
				fmt.Fprintln(w, strings.TrimRight(indent+line, " "))
			}
		}
	}
	for _, x := range platform.DefinitionErrors(plan.Warnings) {
		fmt.Fprintf(w, "warning: %v\n", x)
	}
}

// short puts s on one line of at most 80 characters.
func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
