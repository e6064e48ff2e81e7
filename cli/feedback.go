package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/feedback"
	"github.com/slipway-ml/slipway/internal/textfmt"
)

func (a *app) feedbackCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "feedback",
		Short: "Record feedback about predictions, and see how it matches them",
		Long: `Feedback is what a product reports about predictions: a click, an answer to
"was this relevant?", an order. Products post it to POST /v1/feedback (a web
page may too, from an origin in slipway.yaml's cors: allowed_origins);
these commands send it from files and report on it.

Every event is kept in the offline store as the source feedback (each id
once), which SQL reads as {{ feedback }} beside the endpoints' prediction
logs ({{ ENDPOINT_predictions }}) to define labels.`,
	}
	cmd.AddCommand(a.feedbackSendCmd(), a.feedbackStatusCmd())
	return cmd
}

func (a *app) feedbackSendCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "send --file EVENTS",
		Short: "Record feedback events from a file (JSON lines, or a JSON array)",
		Long: `Send records the feedback events of a file, as POST /v1/feedback does: one
JSON object per line, or one JSON array of them ("-" reads standard input).
An event names its prediction by prediction_id (from the predict answer), or
by endpoint and entity (and time, when the prediction was made); says what
was observed (name: clicked, relevant, purchased) and its value (true or
false, or a number); and may give event_time (default now) and id (events
with one id count once, so sending a file twice is harmless).

A file with an invalid event records nothing, and the error names the
event. Up to 10,000 events per file.

Example:
  echo '{"prediction_id": "0193…", "name": "purchased", "value": true}' | slipway feedback send --file -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return errors.New("--file: give the file of events (JSON lines or a JSON array), or - for standard input")
			}
			events, err := readEvents(file)
			if err != nil {
				return err
			}
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			res, err := api.RecordFeedback(cmd.Context(), events)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "recorded %d feedback events; they reach the source %s within a few seconds\n", len(res.IDs), feedback.Source.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "the events: JSON lines or a JSON array; - for standard input")
	return cmd
}

// readEvents reads feedback events from a file of JSON lines or a JSON array.
func readEvents(file string) ([]feedback.Event, error) {
	var r io.Reader = os.Stdin
	name := "standard input"
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("--file: %w", err)
		}
		defer f.Close()
		r, name = f, file
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	text := strings.TrimSpace(string(b))
	var events []feedback.Event
	if strings.HasPrefix(text, "[") {
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&events); err != nil {
			return nil, fmt.Errorf("%s: not a JSON array of feedback events: %v", name, err)
		}
		return events, nil
	}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var e feedback.Event
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("%s line %d: not a feedback event: %v", name, i+1, err)
		}
		events = append(events, e)
	}
	return events, nil
}

func (a *app) feedbackStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Count the feedback by name, matched and unmatched to logged predictions",
		Long: `Status counts the feedback in the offline store (each id once) by name, and
how much of it matches a logged prediction: by prediction_id, or, for events
without one, a prediction of the same endpoint and entity at or before the
event. Feedback may arrive before its prediction is shipped (within the
prediction log's ship interval): it counts as unmatched until then, and
matches once the prediction arrives. Events sent within the last ship
interval are not counted yet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := a.connect(cmd.Context(), how{})
			if err != nil {
				return err
			}
			defer api.Close()
			st, err := api.FeedbackStatus(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a, st)
			}
			if len(st.Names) == 0 {
				fmt.Fprintln(a.stdout, "no feedback recorded yet (POST /v1/feedback, or slipway feedback send)")
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tEVENTS\tMATCHED\tUNMATCHED")
			for _, n := range st.Names {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.Name, textfmt.Count(n.Events), textfmt.Count(n.Matched), textfmt.Count(n.Unmatched))
			}
			tw.Flush()
			fmt.Fprintf(a.stdout, "matched against %d table(s) of predictions\n", len(st.PredictionTables))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the counts as JSON (the HTTP API's answer)")
	return cmd
}
