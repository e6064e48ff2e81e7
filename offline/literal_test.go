package offline

import (
	"testing"
	"time"
)

func TestLiterals(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 6999, time.FixedZone("x", 3600))
	cases := map[string]struct{ got, want string }{
		"QuoteLiteral":     {QuoteLiteral("it's"), `'it''s'`},
		"IntervalLiteral":  {IntervalLiteral(25*time.Hour + time.Microsecond), "INTERVAL '90000000001 microseconds'"},
		"TimestampLiteral": {TimestampLiteral(at), "TIMESTAMP '2024-01-02 02:04:05.000006'"},
	}
	for name, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %s, want %s", name, c.got, c.want)
		}
	}
}
