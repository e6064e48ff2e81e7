package cli

// slipway models profile: a version's baseline profile.

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/internal/textfmt"
	"github.com/slipway-ml/slipway/platform"
)

func (a *app) modelsProfileCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "profile MODEL[@VERSION|@ALIAS]",
		Short: "Show what a model version was trained on: its features' and predictions' profile",
		Long: `Profile shows the baseline profile recorded with a model version when it
was trained or registered: per feature of the rows it was trained on, the
rows, nulls (and their share), and for numbers the mean, standard
deviation, minimum, 5th, 50th and 95th percentiles and maximum (exact up to
1,000 values, else within 0.5%), for strings and booleans the distinct
values and the most frequent ones; then the same for the version's own
predictions on the holdout. Monitors compare what the endpoint is asked
about, and answers, with it.

Without @, the version the alias production points at.

--json prints the HTTP API's answer
(GET /v1/models/MODEL/versions/VERSION/profile).

Example:
  slipway models profile purchase_model@1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := platform.ParseModelRef(args[0])
			if err != nil {
				return err
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			p, err := api.ModelProfile(cmd.Context(), ref)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a, p)
			}
			fmt.Fprintf(a.stdout, "model %s version %d\n", p.Model, p.Version)
			fmt.Fprintf(a.stdout, "  features of the %s rows it was trained on:\n", textfmt.Count(p.TrainingRows))
			if err := printColumns(a.stdout, p.Features); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "  its predictions on the %s holdout rows:\n", textfmt.Count(p.HoldoutRows))
			return printColumns(a.stdout, p.Predictions)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// printColumns writes column summaries as a table, numbers and
// categories in columns of their own.
func printColumns(w io.Writer, cols []platform.ColumnSummary) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "    NAME\tKIND\tROWS\tNULLS\tMEAN\tSTD\tMIN\tP05\tP50\tP95\tMAX\tDISTINCT\tTOP")
	for _, c := range cols {
		nulls := fmt.Sprintf("%s (%.1f%%)", textfmt.Count(c.Nulls), 100*c.NullRate)
		distinct := "-"
		var top []string
		if c.Kind != "numeric" {
			distinct = strconv.FormatUint(c.Distinct, 10)
			for _, it := range c.Top[:min(len(c.Top), 3)] {
				top = append(top, fmt.Sprintf("%s=%s", it.Value, textfmt.Count(it.Count)))
			}
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Kind, textfmt.Count(c.Rows), nulls,
			num(c.Mean), num(c.Std), num(c.Min), num(c.P05), num(c.P50), num(c.P95), num(c.Max), distinct, orDash(strings.Join(top, ", ")))
	}
	return tw.Flush()
}

// num writes a number of a summary with 4 significant digits; "-" when
// absent.
func num(x *float64) string {
	if x == nil {
		return "-"
	}
	return strconv.FormatFloat(*x, 'g', 4, 64)
}
