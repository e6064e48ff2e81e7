package pgdsn

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	cases := map[string]string{
		"postgres://postgres:s3cr:et@db:5432/x":                       "postgres://postgres:***@db:5432/x",
		"postgres://postgres:p%40ss%40word@db/x":                      "postgres://postgres:***@db/x",
		"postgres://127.0.0.1:5432/test?password=p%40ss&sslmode=x":    "postgres://127.0.0.1:5432/test?password=***&sslmode=x",
		"postgres://u@h/db":                                           "postgres://u@h/db",
		"host=127.0.0.1 password='correct horse battery' dbname=test": "host=127.0.0.1 password=*** dbname=test",
		`host=h password=a\ b dbname=d`:                               "host=h password=*** dbname=d",
		"host=h password='unterminated":                               "***",
		"postgres://u:pw@[bad":                                        "***",
	}
	for in, want := range cases {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
		for _, secret := range []string{"s3cr", "p%40ss", "horse", "pw@", `a\ b`} {
			if strings.Contains(in, secret) && strings.Contains(Redact(in), secret) {
				t.Errorf("Redact(%q) leaks %q", in, secret)
			}
		}
	}
}
