package offline

import (
	"strconv"
	"strings"
	"time"
)

// Helpers shared by the SQL offline stores (offlineduckdb, offlinepg).
// They only build text; dialect-specific parts stay in each store.

// QuoteLiteral quotes s as a standard SQL string literal ('it”s').
func QuoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// QuoteQualified quotes a possibly qualified table name: "a.b" becomes "a"."b".
// Names are split on every dot, so a name part cannot itself contain a dot.
func QuoteQualified(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = QuoteIdent(p)
	}
	return strings.Join(parts, ".")
}

// TrimSQL removes surrounding space and trailing semicolons from a query so it
// can be nested as a subquery.
func TrimSQL(sql string) string {
	return strings.TrimRight(strings.TrimSpace(sql), "; \t\r\n")
}

// IntervalLiteral writes d as an interval literal both DuckDB and PostgreSQL
// read: INTERVAL '90000000 microseconds'.
func IntervalLiteral(d time.Duration) string {
	return "INTERVAL '" + strconv.FormatInt(d.Microseconds(), 10) + " microseconds'"
}
