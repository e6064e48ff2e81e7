package cli

// slipway predict: an endpoint's live predictions for entity keys.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

func (a *app) predictCmd() *cobra.Command {
	var sets []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "predict ENDPOINT[:VARIANT] KEY...",
		Short: "Print an endpoint's predictions for entity keys, from their online features",
		Long: `Predict asks an endpoint (the endpoints: of the definitions) for predictions:
the model version its alias points at scores each entity's features as the
online store serves them now (one read for all the keys), encoded as the
version was trained. It is what POST /v1/endpoints/{name}/predict answers,
and goes through the server when one runs, as every command does.

--set FEATURE=VALUE gives a feature's value for every key instead of the
stored one (or where none is stored), by the feature's name in the model's
encoding or by name:variant. VALUE is read as a number when it is one, as
true, false or null, else as a string (an RFC 3339 string for a timestamp
feature); an integer serves a float64 feature, a whole number an int64 one.

Prints per key the prediction (the probability of class 1 and the class, the
class probabilities and the class, or the value), and the features read as
missing (not stored, stored null) or outside their max age. --json prints
the API's answer, with each prediction's id.

Example:
  slipway predict purchase sub_1036 sub_2
  slipway predict purchase sub_1036 --set opens_30d=12 --json`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &serving.PredictRequest{Endpoint: args[0], Entities: args[1:]}
			if len(sets) > 0 {
				o := map[string]value.Value{}
				for _, s := range sets {
					name, text, ok := strings.Cut(s, "=")
					if !ok || name == "" {
						return fmt.Errorf("--set %q: give FEATURE=VALUE, like --set opens_30d=3", s)
					}
					if _, dup := o[name]; dup {
						return fmt.Errorf("--set %s is given twice", name)
					}
					o[name] = parseSetValue(text)
				}
				req.Overrides = make([]map[string]value.Value, len(req.Entities))
				for i := range req.Overrides {
					req.Overrides[i] = o
				}
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			resp, err := api.Predict(cmd.Context(), req)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a, resp)
			}
			printPredictions(a, resp)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "FEATURE=VALUE: use this value of the feature for every key (repeatable)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON answer")
	return cmd
}

// parseSetValue reads --set's VALUE: null, true, false, an integer, a
// finite decimal number, else the text as a string.
func parseSetValue(s string) value.Value {
	switch s {
	case "null":
		return value.NullValue()
	case "true", "false":
		return value.FromBool(s == "true")
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return value.FromInt64(i)
	}
	// ParseFloat also reads "inf" and "nan", which are names, not numbers.
	if s != "" && strings.ContainsAny(s[:1], "0123456789-+.") {
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return value.FromFloat64(f)
		}
	}
	return value.FromString(s)
}

// printPredictions writes the answer as a table, one row per entity.
func printPredictions(a *app, resp *serving.PredictResponse) {
	fmt.Fprintf(a.stdout, "endpoint %s: model %s@%s, version %d (%s)\n", resp.Endpoint, resp.Model, resp.Alias, resp.Version, resp.Task)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	var head []string
	if len(resp.Predictions) > 0 {
		head = outputColumns(resp.Predictions[0])
	}
	fmt.Fprintln(tw, "ENTITY\t"+strings.Join(head, "\t")+"\tMISSING\tOUTSIDE MAX AGE")
	for _, p := range resp.Predictions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Entity, strings.Join(outputs(p), "\t"), orDash(strings.Join(p.Missing, ",")), orDash(strings.Join(p.OutsideMaxAge, ",")))
	}
	tw.Flush()
}

// outputColumns names the outputs a prediction has, as outputs writes them.
func outputColumns(p serving.Prediction) []string {
	var cols []string
	if p.Probability != nil {
		cols = append(cols, "PROBABILITY")
	}
	if p.Probabilities != nil {
		cols = append(cols, "PROBABILITIES")
	}
	if p.Class != nil {
		cols = append(cols, "CLASS")
	}
	if p.Value != nil {
		cols = append(cols, "VALUE")
	}
	return cols
}

func outputs(p serving.Prediction) []string {
	var out []string
	if p.Probability != nil {
		out = append(out, strconv.FormatFloat(*p.Probability, 'f', 6, 64))
	}
	if p.Probabilities != nil {
		ps := make([]string, len(p.Probabilities))
		for i, x := range p.Probabilities {
			ps[i] = strconv.FormatFloat(x, 'f', 4, 64)
		}
		out = append(out, strings.Join(ps, ","))
	}
	if p.Class != nil {
		out = append(out, strconv.Itoa(*p.Class))
	}
	if p.Value != nil {
		out = append(out, strconv.FormatFloat(*p.Value, 'g', 8, 64))
	}
	return out
}
