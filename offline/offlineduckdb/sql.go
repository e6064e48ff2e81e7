package offlineduckdb

import (
	"fmt"
	"strings"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/value"
)

// This file generates the SQL of the point-in-time join and of ReadLatest.
// The structure is meant to be shared with a PostgreSQL store; what differs
// per dialect is marked "Dialect:" in the comments. In short:
//   - DuckDB has ASOF LEFT JOIN; PostgreSQL uses
//     LEFT JOIN LATERAL (SELECT … WHERE k = l.k AND t <= l.t ORDER BY t DESC LIMIT 1) ON true
//     over the same pre-aggregated feature CTE;
//   - DuckDB has QUALIFY; PostgreSQL uses DISTINCT ON (k) … ORDER BY k, t DESC, v DESC NULLS LAST;
//   - type names (VARCHAR / text, TIMESTAMP / timestamp) and GROUP BY ALL (PostgreSQL: GROUP BY 1, 2).

// datasetTypes holds the engine types of a dataset's key columns, found by
// describing the dataset before the query is generated.
type datasetTypes struct {
	Entity    string // engine type of the entity column
	Timestamp string // engine type of the timestamp column; "" for static datasets
}

// timestampExpr returns the expression of a dataset's timestamp column as a
// TIMESTAMP. Columns already of that type are used as they are, so the engine
// keeps its statistics and sort order; DATE, TIMESTAMPTZ, TIMESTAMP_NS and text
// are cast (TIMESTAMPTZ through the session time zone, which New sets to UTC).
func timestampExpr(col, engineType string) string {
	if strings.EqualFold(engineType, "TIMESTAMP") {
		return col
	}
	return "CAST(" + col + " AS TIMESTAMP)"
}

// entityKeys returns the expressions that compare a label entity with a
// feature entity. Equal types compare as they are; two integer types compare
// as BIGINT; anything else compares as text, so an INTEGER label entity still
// finds its VARCHAR feature rows.
//
// Dialect: PostgreSQL names the text type "text".
func entityKeys(labelCol, labelType, featureCol, featureType string) (string, string) {
	switch {
	case strings.EqualFold(labelType, featureType):
		return labelCol, featureCol
	case offline.ColumnType(labelType) == value.Int64 && offline.ColumnType(featureType) == value.Int64:
		return "CAST(" + labelCol + " AS BIGINT)", "CAST(" + featureCol + " AS BIGINT)"
	}
	return "CAST(" + labelCol + " AS VARCHAR)", "CAST(" + featureCol + " AS VARCHAR)"
}

// castTo casts a float64 value to DOUBLE, so an integer or decimal column
// declared float64 exports as it is served online. Other declared types match
// their column's type already (planning checks that).
//
// Dialect: PostgreSQL says double precision.
func castTo(expr string, t value.Type) string {
	if t == value.Float64 {
		return "CAST(" + expr + " AS DOUBLE)"
	}
	return expr
}

// trainingSetQuery generates the single statement that builds a training set.
// labelTypes and featureTypes come from describing the datasets.
//
// Shape:
//
//	WITH l AS (label rows, every one, projected to entity / timestamp / value),
//	     f0 AS (feature 0 pre-aggregated: one row per (entity, timestamp), max(value)),
//	     f1 AS (static feature 1: one row per entity, max(value)), …
//	SELECT l.entity, l.t, f0.v, f1.v, …, l.label
//	FROM l
//	ASOF LEFT JOIN f0 ON l.entity = f0.k AND l.t >= f0.t   -- newest f0 row at or before t
//	LEFT JOIN f1 ON l.entity = f1.k                       -- static
//
// The pre-aggregation implements the tie rule (greatest non-null value among
// rows of equal entity and timestamp; max ignores nulls) and makes the ASOF
// match unique, so the result does not depend on the engine's choice among
// equal timestamps. Feature rows with a null entity or timestamp are dropped
// there; label rows are never filtered, so a null label timestamp or entity
// matches nothing. Max age is a CASE on the matched timestamp: if the newest
// row at or before t is older than t − max age, every older row is too.
func trainingSetQuery(p *offline.TrainingSetParams, labelTypes datasetTypes, featureTypes []datasetTypes) string {
	q := offline.QuoteIdent
	var b strings.Builder
	lab := p.Label
	// ek is the entity as the ASOF joins' key: null for a label row without a
	// timestamp (see the DuckDB note below). Computing it once here, rather
	// than in every join condition, keeps the joins on plain columns.
	ts := timestampExpr(q(lab.TimestampColumn), labelTypes.Timestamp)
	fmt.Fprintf(&b, "WITH l AS (\n  SELECT %s AS entity, %s AS t, CASE WHEN %s IS NOT NULL THEN %s END AS ek, %s AS label\n  FROM %s\n)",
		q(lab.EntityColumn), ts, ts, q(lab.EntityColumn), q(lab.ValueColumn), offline.QuoteQualified(lab.Table))

	joins := make([]string, len(p.Features))
	cols := make([]string, len(p.Features))
	for i, f := range p.Features {
		alias := fmt.Sprintf("f%d", i)
		lkey, fkey := entityKeys("l.entity", labelTypes.Entity, q(f.EntityColumn), featureTypes[i].Entity)
		if f.TimestampColumn == "" {
			// Static feature: the greatest non-null value of the entity.
			fmt.Fprintf(&b, ",\n%s AS (\n  SELECT %s AS k, max(%s) AS v\n  FROM %s\n  WHERE %s IS NOT NULL\n  GROUP BY ALL\n)",
				alias, fkey, q(f.ValueColumn), offline.QuoteQualified(f.Table), q(f.EntityColumn))
			joins[i] = fmt.Sprintf("LEFT JOIN %s ON %s = %s.k", alias, lkey, alias)
			cols[i] = castTo(alias+".v", f.Type)
		} else {
			// Dialect: PostgreSQL writes GROUP BY 1, 2.
			fmt.Fprintf(&b, ",\n%s AS (\n  SELECT %s AS k, %s AS t, max(%s) AS v\n  FROM %s\n  WHERE %s IS NOT NULL AND %s IS NOT NULL\n  GROUP BY ALL\n)",
				alias, fkey, timestampExpr(q(f.TimestampColumn), featureTypes[i].Timestamp), q(f.ValueColumn),
				offline.QuoteQualified(f.Table), q(f.EntityColumn), q(f.TimestampColumn))
			// The key is null for a label row without a timestamp, so such a
			// row matches nothing. The inequality alone should do that, but
			// DuckDB 1.5.5's ASOF LEFT JOIN matches a NULL probe timestamp with
			// the entity's newest row once the probe side has 64 rows or more
			// (testdata/pit/null_label_timestamp_many_rows.txt). A null key is
			// cheaper than re-checking the timestamp in the output, which
			// would carry every feature's timestamp through the later joins.
			//
			// Dialect: PostgreSQL has no ASOF join; see the file comment.
			key := "l.ek"
			if lkey != "l.entity" {
				key = "(CASE WHEN l.t IS NOT NULL THEN " + lkey + " END)"
			}
			joins[i] = fmt.Sprintf("ASOF LEFT JOIN %s ON %s = %s.k AND l.t >= %s.t", alias, key, alias, alias)
			cols[i] = castTo(alias+".v", f.Type)
			if f.MaxAge > 0 {
				cols[i] = fmt.Sprintf("CASE WHEN %s.t >= l.t - %s THEN %s END", alias, offline.IntervalLiteral(f.MaxAge), cols[i])
			}
		}
	}

	fmt.Fprintf(&b, "\nSELECT l.entity AS %s, l.t AS %s", q(p.EntityName), q("timestamp"))
	for i, f := range p.Features {
		fmt.Fprintf(&b, ",\n  %s AS %s", cols[i], q(f.Name))
	}
	fmt.Fprintf(&b, ",\n  %s AS %s\nFROM l", castTo("l.label", p.LabelType), q(p.LabelName))
	for _, j := range joins {
		b.WriteString("\n" + j)
	}
	return b.String()
}

// latestQuery generates ReadLatest's query: per entity the row with the newest
// timestamp, among those the greatest non-null value — the tie rule of the
// training set, so online values equal what a training set sees at the newest
// timestamp. Static datasets give max(value) and a null timestamp.
//
// Dialect: PostgreSQL uses DISTINCT ON (entity) with the same ORDER BY instead
// of QUALIFY, and text instead of VARCHAR.
func latestQuery(d offline.Dataset, types datasetTypes) string {
	q := offline.QuoteIdent
	table := offline.QuoteQualified(d.Table)
	e, v := q(d.EntityColumn), q(d.ValueColumn)
	if d.TimestampColumn == "" {
		return fmt.Sprintf("SELECT CAST(%s AS VARCHAR) AS entity, max(%s) AS value, CAST(NULL AS TIMESTAMP) AS %s\nFROM %s\nWHERE %s IS NOT NULL\nGROUP BY %s",
			e, v, q("timestamp"), table, e, e)
	}
	ts := q(d.TimestampColumn)
	return fmt.Sprintf("SELECT CAST(e AS VARCHAR) AS entity, v AS value, t AS %s\nFROM (\n  SELECT %s AS e, %s AS v, %s AS t\n  FROM %s\n  WHERE %s IS NOT NULL AND %s IS NOT NULL\n)\nQUALIFY row_number() OVER (PARTITION BY e ORDER BY t DESC, v DESC NULLS LAST) = 1",
		q("timestamp"), e, v, timestampExpr(ts, types.Timestamp), table, e, ts)
}

// describeQuery wraps sql so that DESCRIBE reports its columns, with inputs
// visible as common table expressions. The closing parenthesis goes on its own
// line so a trailing "-- comment" in sql cannot swallow it.
//
// Dialect: PostgreSQL has no DESCRIBE; it prepares the statement and reads the
// result description instead.
func describeQuery(sql string, with []offline.Input) string {
	var b strings.Builder
	b.WriteString("DESCRIBE ")
	for i, in := range with {
		if i == 0 {
			b.WriteString("WITH ")
		} else {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "%s AS (\n%s\n)", offline.QuoteIdent(in.Name), offline.TrimSQL(in.SQL))
	}
	fmt.Fprintf(&b, "\nSELECT * FROM (\n%s\n) AS q", offline.TrimSQL(sql))
	return b.String()
}
