package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// parseTarget reads the KIND NAME[:VARIANT] arguments of show, deprecate and delete.
func parseTarget(args []string) (resource.ID, error) {
	kind, err := resource.ParseKind(args[0])
	if err != nil {
		return resource.ID{}, err
	}
	ref, err := resource.ParseRef(args[1])
	if err != nil {
		return resource.ID{}, err
	}
	return resource.NewID(kind, ref), nil
}

// openTarget parses the KIND NAME[:VARIANT] arguments and connects.
func (a *app) openTarget(ctx context.Context, args []string) (resource.ID, platform.API, error) {
	id, err := parseTarget(args)
	if err != nil {
		return resource.ID{}, nil, err
	}
	api, err := a.connect(ctx, how{})
	return id, api, err
}

// currentUser names who runs the command, for the registry's lifecycle marks.
func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

func (a *app) deprecateCmd() *cobra.Command {
	var by, reason string
	var undo bool
	cmd := &cobra.Command{
		Use:   "deprecate KIND NAME[:VARIANT]",
		Short: "Mark a resource deprecated: still usable, hidden from list, warned about at plan",
		Long: `Deprecate marks a registered resource as on its way out. It stays readable
and usable: it is still built, materialized, served and exported. But
'slipway list' hides it (--all shows it), 'slipway show' marks it, and plan
and apply warn about every definition that refers to it.

The registry records who deprecated it (--by, default the current user),
when, and why (--reason). --undo takes the deprecation back.

Example:
  slipway deprecate feature opens_30d:v1 --reason "use opens_30d:v2"`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, api, err := a.openTarget(cmd.Context(), args)
			if err != nil {
				return err
			}
			defer api.Close()
			r, err := api.Deprecate(cmd.Context(), &registry.DeprecateParams{ID: id, By: by, Reason: reason, Undo: undo})
			if err != nil {
				return err
			}
			if r.State.Deprecated == nil {
				fmt.Fprintf(a.stdout, "%s is not deprecated\n", id)
				return nil
			}
			fmt.Fprintf(a.stdout, "%s is deprecated %s\n", id, registry.DescribeMark(r.State.Deprecated))
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", currentUser(), "who deprecates it, recorded in the registry")
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded in the registry (say what to use instead)")
	cmd.Flags().BoolVar(&undo, "undo", false, "take a deprecation back")
	return cmd
}

func (a *app) deleteCmd() *cobra.Command {
	var by, reason string
	cmd := &cobra.Command{
		Use:   "delete KIND NAME[:VARIANT]",
		Short: "Delete a resource and its data (refused while anything depends on it)",
		Long: `Delete removes a registered resource and what it holds: a source's view or a
transformation's table in the offline store, a feature's values in the
online store (for every entity; on Redis this scans every key, see
docs/design/online-redis.md). Training-set files already exported are left
alone.

It is refused while resources that are not deleted depend on it (they are
named: delete them first, or keep this one deprecated), and while a queued
or running job works on it.

The registry keeps the deleted resource as a tombstone: who deleted it
(--by, default the current user), when and why (--reason), its definition
and its lineage stay queryable ('slipway list --all', 'slipway show'). A
deleted name:variant is never registered again: apply refuses it, whatever
the definition, so give a replacement a new variant.

If the data cannot be removed (a store is down), the deletion stays
recorded: run delete again to finish removing the data.

Example:
  slipway delete training-set churn:v1 --reason "replaced by churn:v2"`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, api, err := a.openTarget(cmd.Context(), args)
			if err != nil {
				return err
			}
			defer api.Close()
			res, err := api.Delete(cmd.Context(), &registry.DeleteParams{ID: id, By: by, Reason: reason})
			if res != nil && res.Resource != nil {
				printDeleted(a.stdout, res)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&by, "by", currentUser(), "who deletes it, recorded in the registry")
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded in the registry")
	return cmd
}

func printDeleted(w io.Writer, res *coordinator.DeleteResult) {
	r := res.Resource
	if res.Again {
		fmt.Fprintf(w, "%s was already deleted %s; its data was removed again\n", r.ID, registry.DescribeMark(r.State.Deleted))
	} else {
		fmt.Fprintf(w, "deleted %s %s\n", r.ID, registry.DescribeMark(r.State.Deleted))
	}
	if res.Table != "" {
		fmt.Fprintf(w, "  dropped offline table %s\n", res.Table)
	}
	if res.OnlineFeature != "" {
		fmt.Fprintf(w, "  deleted the online values of %s\n", res.OnlineFeature)
	}
}

// lifecycleNote is what list and show add to a status: deprecated or deleted.
func lifecycleNote(st resource.State) string {
	switch {
	case st.Deleted != nil:
		return "deleted"
	case st.Deprecated != nil:
		return string(st.Status) + " (deprecated)"
	}
	return string(st.Status)
}
