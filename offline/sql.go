package offline

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Helpers shared by the SQL offline stores (offlineduckdb, offlinepg).
// They only build text, or check the parameters text is built from;
// dialect-specific parts stay in each store.

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

// TimestampLiteral writes t in UTC, cut to microseconds, as a literal of the
// zone-less timestamp type both DuckDB and PostgreSQL read:
// TIMESTAMP '2024-01-02 03:04:05.000006'. Cutting (not rounding) keeps
// "t > since" exact for microsecond timestamps: such a t is after since
// exactly when it is after since cut to the microsecond.
func TimestampLiteral(t time.Time) string {
	return "TIMESTAMP '" + t.UTC().Format("2006-01-02 15:04:05.000000") + "'"
}

// TimestampTZLiteral writes t like TimestampLiteral, as a literal of the
// time-zoned type: TIMESTAMP WITH TIME ZONE '2024-01-02 03:04:05.000006+00'.
func TimestampTZLiteral(t time.Time) string {
	return "TIMESTAMP WITH TIME ZONE '" + t.UTC().Format("2006-01-02 15:04:05.000000") + "+00'"
}

// CheckReadLatest returns the error of parameters no ReadLatest query can
// answer: no value columns, Since without a timestamp column, a timestamp
// column without AsOf, or a partition
// outside 0 ≤ Partition < Partitions (Partition must be 0 when Partitions is
// 0 or 1, which read everything). Stores wrap it with the table's name.
func CheckReadLatest(p *ReadLatestParams) error {
	switch {
	case len(p.ValueColumns) == 0:
		return errors.New("no value columns")
	case !p.Since.IsZero() && p.TimestampColumn == "":
		return errors.New("a Since time needs a timestamp column, and the dataset has none (static values)")
	case p.AsOf.IsZero() && p.TimestampColumn != "":
		return errors.New("no AsOf time: a read of timestamped values must say as of when (rows dated later are not read)")
	case p.Partitions < 0:
		return fmt.Errorf("%d partitions: want 0 or 1 (no split) or more", p.Partitions)
	case p.Partitions <= 1 && p.Partition != 0:
		return fmt.Errorf("partition %d without a split (%d partitions): want partition 0", p.Partition, p.Partitions)
	case p.Partitions > 1 && (p.Partition < 0 || p.Partition >= p.Partitions):
		return fmt.Errorf("partition %d of %d: want 0 ≤ partition < %d", p.Partition, p.Partitions, p.Partitions)
	}
	return nil
}

// TrainingSetOrder is the ORDER BY clause that ends a training set's query,
// in the order TrainingSetParams documents: entity, label time, label
// value, each ascending with nulls last. Columns are named by position, so
// the clause holds whatever the output columns are called.
func TrainingSetOrder(p *TrainingSetParams) string {
	return fmt.Sprintf("ORDER BY 1 NULLS LAST, 2 NULLS LAST, %d NULLS LAST", len(p.Features)+3)
}
