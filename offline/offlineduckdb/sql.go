package offlineduckdb

import (
	"fmt"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/internal/sqltext"
	"github.com/slipway-ml/slipway/value"
)

// This file generates the SQL of the point-in-time join and of ReadLatest.
// The structure is meant to be shared with a PostgreSQL store; what differs
// per dialect is marked "Dialect:" in the comments. In short:
//   - DuckDB has ASOF LEFT JOIN; PostgreSQL uses
//     LEFT JOIN LATERAL (SELECT … WHERE k = l.k AND t <= l.t ORDER BY t DESC LIMIT 1) ON true
//     over the same pre-aggregated feature CTE;
//   - DuckDB's max takes BOOLEAN; PostgreSQL's ReadLatest uses bool_or;
//   - type names (VARCHAR / text, TIMESTAMP / timestamp) and GROUP BY ALL (PostgreSQL: GROUP BY 1, 2).

// datasetTypes holds the engine types of a dataset's columns, found by
// describing the dataset before the query is generated.
type datasetTypes struct {
	Entity    string   // engine type of the entity column
	Timestamp string   // engine type of the timestamp column; "" for static datasets
	Values    []string // engine types of the value columns described with them
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
//	ORDER BY entity, timestamp, label                     -- sqltext.TrainingSetOrder
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
		q(lab.EntityColumn), ts, ts, q(lab.EntityColumn), q(lab.ValueColumn), sqltext.QuoteQualified(lab.Table))

	joins := make([]string, len(p.Features))
	cols := make([]string, len(p.Features))
	for i, f := range p.Features {
		alias := fmt.Sprintf("f%d", i)
		lkey, fkey := entityKeys("l.entity", labelTypes.Entity, q(f.EntityColumn), featureTypes[i].Entity)
		if f.TimestampColumn == "" {
			// Static feature: the greatest non-null value of the entity.
			fmt.Fprintf(&b, ",\n%s AS (\n  SELECT %s AS k, max(%s) AS v\n  FROM %s\n  WHERE %s IS NOT NULL\n  GROUP BY ALL\n)",
				alias, fkey, q(f.ValueColumn), sqltext.QuoteQualified(f.Table), q(f.EntityColumn))
			joins[i] = fmt.Sprintf("LEFT JOIN %s ON %s = %s.k", alias, lkey, alias)
			cols[i] = castTo(alias+".v", f.Type)
		} else {
			// Dialect: PostgreSQL writes GROUP BY 1, 2.
			fmt.Fprintf(&b, ",\n%s AS (\n  SELECT %s AS k, %s AS t, max(%s) AS v\n  FROM %s\n  WHERE %s IS NOT NULL AND %s IS NOT NULL\n  GROUP BY ALL\n)",
				alias, fkey, timestampExpr(q(f.TimestampColumn), featureTypes[i].Timestamp), q(f.ValueColumn),
				sqltext.QuoteQualified(f.Table), q(f.EntityColumn), q(f.TimestampColumn))
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
	b.WriteString("\n" + sqltext.TrainingSetOrder(p))
	return b.String()
}

// latestQuery generates ReadLatest's query, one for all value columns:
//
//	SELECT entity, "timestamp", v0 AS "col0", v1 AS "col1", …
//	FROM (
//	  SELECT CAST(e AS VARCHAR) AS entity, t AS "timestamp", max(v0) AS v0, max(v1) AS v1, …
//	  FROM (
//	    SELECT entity AS e, ts AS t, col0 AS v0, col1 AS v1, …, max(ts) OVER (PARTITION BY entity) AS newest
//	    FROM table WHERE entity IS NOT NULL AND ts IS NOT NULL [AND ts > since] [AND part(entity) = p]
//	  )
//	  WHERE t = newest
//	  GROUP BY e, t
//	)
//
// The window keeps each entity's rows at its newest time; grouping them is
// the training set's tie rule per column (max ignores nulls and orders
// BOOLEAN false < true). Filtering before grouping aggregates only the newest
// rows: on 1M rows it is several times faster than grouping every
// (entity, timestamp) first and keeping the newest group. Static datasets
// group by entity alone and give a null timestamp. The inner queries name
// their columns e, t, v0…, and only the outer one gives the value columns
// their names, so a value column called e, t or newest cannot be mistaken
// for another column.
//
// AsOf, Since and Partitions are conditions of the innermost WHERE, so they
// drop rows before the window and the grouping see them: the window's newest
// is then the newest row at or before AsOf and after Since (timeCondition),
// and a part keeps whole
// entities (partitionCondition), so the tie rule applies unchanged to the
// rows that remain. CheckReadLatest has validated p.
//
// Dialect: PostgreSQL has no max(boolean); see offlinepg.
func latestQuery(p *offline.ReadLatestParams, types datasetTypes) string {
	q := offline.QuoteIdent
	e := q(p.EntityColumn)
	where := e + " IS NOT NULL"
	if p.TimestampColumn != "" {
		where += " AND " + q(p.TimestampColumn) + " IS NOT NULL"
		where += " AND " + timeCondition(q(p.TimestampColumn), types.Timestamp, "<=", p.AsOf)
		if !p.Since.IsZero() {
			where += " AND " + timeCondition(q(p.TimestampColumn), types.Timestamp, ">", p.Since)
		}
	}
	if p.Partitions > 1 {
		where += " AND " + partitionCondition(e, p.Partition, p.Partitions)
	}
	inner := []string{e + " AS e"}
	aggs := []string{"CAST(e AS VARCHAR) AS entity"}
	outer := []string{"entity", q("timestamp")}
	if p.TimestampColumn != "" {
		inner = append(inner, timestampExpr(q(p.TimestampColumn), types.Timestamp)+" AS t")
		aggs = append(aggs, "t AS "+q("timestamp"))
	} else {
		aggs = append(aggs, "CAST(NULL AS TIMESTAMP) AS "+q("timestamp"))
	}
	for i, c := range p.ValueColumns {
		v := fmt.Sprintf("v%d", i)
		inner = append(inner, q(c)+" AS "+v)
		aggs = append(aggs, "max("+v+") AS "+v)
		outer = append(outer, v+" AS "+q(c))
	}
	filter := "GROUP BY e"
	if p.TimestampColumn != "" {
		inner = append(inner, "max("+timestampExpr(q(p.TimestampColumn), types.Timestamp)+") OVER (PARTITION BY "+e+") AS newest")
		filter = "WHERE t = newest\n  GROUP BY e, t"
	}
	return fmt.Sprintf("SELECT %s\nFROM (\n  SELECT %s\n  FROM (\n    SELECT %s\n    FROM %s\n    WHERE %s\n  )\n  %s\n)",
		strings.Join(outer, ", "), strings.Join(aggs, ", "), strings.Join(inner, ", "),
		sqltext.QuoteQualified(p.Table), where, filter)
}

// timeCondition keeps the rows of timestamp column col (of the given engine
// type) that compare to at by op ("<=" for AsOf, ">" for Since). A
// TIMESTAMP or TIMESTAMP WITH TIME ZONE column is
// compared as it is, with a literal of its own type (the same instant: the
// session is in UTC), so DuckDB pushes the filter into the table scan and
// skips row groups by their min/max; other types compare as timestampExpr
// casts them, as every other read of the column does (TIMESTAMP_NS is cut to
// microseconds first).
//
// Dialect: PostgreSQL names the time-zoned type TIMESTAMPTZ.
func timeCondition(col, engineType, op string, at time.Time) string {
	switch strings.ToUpper(engineType) {
	case "TIMESTAMP":
		return col + " " + op + " " + offline.TimestampLiteral(at)
	case "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ":
		return col + " " + op + " " + sqltext.TimestampTZLiteral(at)
	}
	return timestampExpr(col, engineType) + " " + op + " " + offline.TimestampLiteral(at)
}

// partitionCondition keeps the entities of part part of parts:
// hash(entity) % parts = part. DuckDB's hash takes any type and returns a
// UBIGINT, so the remainder is never negative; integers of every width hash
// alike. The entity is hashed as it is, not as the text ReadLatest returns:
// casting 1M BIGINT entities to text doubled the time of each part (45 ms
// against 20 ms, 100,000 entities), and a part only needs to be the same
// within one chunked read. DuckDB does not promise the same hash across
// versions, so parts are not to be stored.
//
// Dialect: PostgreSQL has no hash of any type; it hashes the text form with
// hashtextextended, a signed bigint.
func partitionCondition(col string, part, parts int) string {
	return fmt.Sprintf("hash(%s) %% %d = %d", col, parts, part)
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
