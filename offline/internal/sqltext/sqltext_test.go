package sqltext

import (
	"testing"
	"time"

	"github.com/slipway-ml/slipway/offline"
)

func TestText(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 6999, time.FixedZone("x", 3600))
	cases := map[string]struct{ got, want string }{
		"QuoteQualified":     {QuoteQualified(`s.t"x`), `"s"."t""x"`},
		"TimestampTZLiteral": {TimestampTZLiteral(at), "TIMESTAMP WITH TIME ZONE '2024-01-02 02:04:05.000006+00'"},
		"TrainingSetOrder":   {TrainingSetOrder(&offline.TrainingSetParams{Features: make([]offline.FeatureColumn, 2)}), "ORDER BY 1 NULLS LAST, 2 NULLS LAST, 5 NULLS LAST"},
	}
	for name, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %s, want %s", name, c.got, c.want)
		}
	}
}
