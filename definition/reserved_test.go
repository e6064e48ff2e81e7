package definition_test

import (
	"strings"
	"testing"
)

// TestReservedNames: the name of the feedback events' source is Slipway's,
// and a batch prediction may not take an endpoint's prediction-log source.
func TestReservedNames(t *testing.T) {
	cases := map[string]struct{ file, yaml, want string }{
		"FeedbackSource": {"more.yaml", "sources:\n  - name: feedback\n    file: events.csv\n",
			"more.yaml:2: name: the name feedback is kept for the source of feedback events (POST /v1/feedback), which SQL reads as {{ feedback }}; rename this source"},
		"FeedbackTransformation": {"more.yaml", "transformations:\n  - name: feedback\n    variant: v2\n    sql: SELECT * FROM {{ events }}\n",
			"more.yaml:2: name: the name feedback is kept"},
		"BatchPredictionTakesAnEndpointsLog": {"more.yaml", endpointYAML + "batch_predictions:\n  - name: big_predictions\n    model: big_model\n    entities: events\n",
			"more.yaml:7: name: endpoint big:default logs its predictions as the source big_predictions:default, which this batch prediction's source would take"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := modelEnv(t, modelYAML)
			write(t, e.dir, tc.file, tc.yaml)
			_, err := e.plan(t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("plan: %v\nwant %q", err, tc.want)
			}
		})
	}
}
