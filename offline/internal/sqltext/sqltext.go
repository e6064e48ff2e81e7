// Package sqltext builds the SQL text the SQL offline stores (offlineduckdb,
// offlinepg) share: literals both engines read, quoted qualified names, the
// training set's ORDER BY. It only builds text; what differs between the
// dialects stays in each store, and what callers of offline.Store need
// (offline.QuoteIdent and the literals, offline.TrimSQL with
// offline.UserLine, offline.CheckReadLatest) stays in package offline.
package sqltext

import (
	"fmt"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/offline"
)

// QuoteQualified quotes a possibly qualified table name: "a.b" becomes "a"."b".
// Names are split on every dot, so a name part cannot itself contain a dot.
func QuoteQualified(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = offline.QuoteIdent(p)
	}
	return strings.Join(parts, ".")
}

// TimestampTZLiteral writes t like TimestampLiteral, as a literal of the
// time-zoned type: TIMESTAMP WITH TIME ZONE '2024-01-02 03:04:05.000006+00'.
func TimestampTZLiteral(t time.Time) string {
	return "TIMESTAMP WITH TIME ZONE '" + t.UTC().Format("2006-01-02 15:04:05.000000") + "+00'"
}

// TrainingSetOrder is the ORDER BY clause that ends a training set's query,
// in the order offline.TrainingSetParams documents: entity, label time,
// label value, each ascending with nulls last. Columns are named by
// position, so the clause holds whatever the output columns are called.
func TrainingSetOrder(p *offline.TrainingSetParams) string {
	return fmt.Sprintf("ORDER BY 1 NULLS LAST, 2 NULLS LAST, %d NULLS LAST", len(p.Features)+3)
}
