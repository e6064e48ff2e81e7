package offlinepg

import (
	"fmt"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/internal/sqltext"
	"github.com/slipway-ml/slipway/value"
)

// This file generates the SQL of the point-in-time join and of ReadLatest for
// PostgreSQL. It follows offlineduckdb/sql.go step for step (see
// docs/design/sql-dialects.md); what differs:
//   - no ASOF join: each timestamped feature is pre-aggregated into a
//     temporary table indexed on (k, t), and the label rows probe it with
//     LEFT JOIN LATERAL (… WHERE k = l.k AND t <= l.t ORDER BY t DESC LIMIT 1).
//     A CTE cannot be indexed, so a LATERAL probe of a CTE scans it whole for
//     every label row (quadratic; see bench_test.go);
//   - no QUALIFY and no max(boolean): the join's tie rule is written as
//     DISTINCT ON (…) ORDER BY …, v DESC NULLS LAST, which works for every
//     orderable type; ReadLatest of several columns aggregates with
//     bool_or for booleans (latestAggregate);
//   - the text type is "text".

// datasetTypes holds the engine types of a dataset's columns, found by
// describing the dataset before the query is generated.
type datasetTypes struct {
	Entity    string   // engine type of the entity column
	Timestamp string   // engine type of the timestamp column; "" for static datasets
	Values    []string // engine types of the value columns described with them
}

// timestampExpr returns a dataset's timestamp column as a timestamp (without
// time zone). TIMESTAMPTZ converts through the session time zone, which New
// sets to UTC; DATE and text are cast.
func timestampExpr(col, engineType string) string {
	if strings.EqualFold(engineType, "TIMESTAMP") {
		return col
	}
	return "CAST(" + col + " AS timestamp)"
}

// entityKeys returns the expressions that compare a label entity with a
// feature entity: as they are when the types are equal, as bigint when both
// are integers, else as text.
func entityKeys(labelCol, labelType, featureCol, featureType string) (string, string) {
	switch {
	case strings.EqualFold(labelType, featureType):
		return labelCol, featureCol
	case offline.ColumnType(labelType) == value.Int64 && offline.ColumnType(featureType) == value.Int64:
		return "CAST(" + labelCol + " AS bigint)", "CAST(" + featureCol + " AS bigint)"
	}
	return "CAST(" + labelCol + " AS text)", "CAST(" + featureCol + " AS text)"
}

// trainingSet is a point-in-time join: statements that build its temporary
// tables (run first, in the same transaction), then the query.
type trainingSet struct {
	Setup []string
	Query string
}

// tempTable names the temporary table of timestamped feature i. Temporary
// tables are private to the session and dropped at the end of the
// transaction, so concurrent joins on other connections do not clash.
func tempTable(i int) string { return fmt.Sprintf("pg_temp.slipway_pit_f%d", i) }

// trainingSetSQL generates the join. Shape:
//
//	-- setup, per timestamped feature i:
//	CREATE TEMP TABLE fi ON COMMIT DROP AS
//	  SELECT DISTINCT ON (k, t) k, t, v FROM (feature rows with non-null k and t)
//	  ORDER BY k, t, v DESC NULLS LAST;            -- tie rule: one row per (k, t)
//	CREATE INDEX ON fi (k, t); ANALYZE fi;
//	-- query:
//	WITH si AS (static feature i: DISTINCT ON (k) … ORDER BY k, v DESC NULLS LAST)
//	SELECT l.e, l.t, fi.v, si.v, …, l.label
//	FROM (label rows, every one) l
//	LEFT JOIN LATERAL (SELECT t, v FROM fi WHERE fi.k = l.e AND fi.t <= l.t
//	                   ORDER BY fi.t DESC LIMIT 1) fi ON true
//	LEFT JOIN si ON si.k = l.e
//	ORDER BY entity, timestamp, label   -- sqltext.TrainingSetOrder
//
// A null label timestamp or entity compares as null, so it matches nothing.
// Max age is a CASE on the matched timestamp, as in DuckDB.
func trainingSetSQL(p *offline.TrainingSetParams, labelTypes datasetTypes, featureTypes []datasetTypes) trainingSet {
	q := offline.QuoteIdent
	var ts trainingSet
	var with, cols, joins []string
	for i, f := range p.Features {
		alias := fmt.Sprintf("f%d", i)
		lkey, fkey := entityKeys("l.e", labelTypes.Entity, q(f.EntityColumn), featureTypes[i].Entity)
		table := sqltext.QuoteQualified(f.Table)
		if f.TimestampColumn == "" {
			with = append(with, fmt.Sprintf("%s AS (\n  SELECT DISTINCT ON (k) k, v\n  FROM (SELECT %s AS k, %s AS v FROM %s WHERE %s IS NOT NULL) AS s\n  ORDER BY k, v DESC NULLS LAST\n)",
				alias, fkey, q(f.ValueColumn), table, q(f.EntityColumn)))
			joins = append(joins, fmt.Sprintf("LEFT JOIN %s ON %s.k = %s", alias, alias, lkey))
			cols = append(cols, castTo(alias+".v", f.Type))
			continue
		}
		tmp := tempTable(i)
		ts.Setup = append(ts.Setup,
			fmt.Sprintf("CREATE TEMP TABLE %s ON COMMIT DROP AS\nSELECT DISTINCT ON (k, t) k, t, v\nFROM (\n  SELECT %s AS k, %s AS t, %s AS v\n  FROM %s\n  WHERE %s IS NOT NULL AND %s IS NOT NULL\n) AS s\nORDER BY k, t, v DESC NULLS LAST",
				strings.TrimPrefix(tmp, "pg_temp."), fkey, timestampExpr(q(f.TimestampColumn), featureTypes[i].Timestamp), q(f.ValueColumn),
				table, q(f.EntityColumn), q(f.TimestampColumn)),
			fmt.Sprintf("CREATE INDEX ON %s (k, t)", tmp),
			"ANALYZE "+tmp)
		joins = append(joins, fmt.Sprintf("LEFT JOIN LATERAL (\n  SELECT x.t, x.v FROM %s AS x\n  WHERE x.k = %s AND x.t <= l.t\n  ORDER BY x.t DESC\n  LIMIT 1\n) AS %s ON true", tmp, lkey, alias))
		col := castTo(alias+".v", f.Type)
		if f.MaxAge > 0 {
			col = fmt.Sprintf("CASE WHEN %s.t >= l.t - %s THEN %s END", alias, offline.IntervalLiteral(f.MaxAge), col)
		}
		cols = append(cols, col)
	}

	var b strings.Builder
	if len(with) > 0 {
		b.WriteString("WITH " + strings.Join(with, ",\n") + "\n")
	}
	fmt.Fprintf(&b, "SELECT l.e AS %s, l.t AS %s", q(p.EntityName), q("timestamp"))
	for i, f := range p.Features {
		fmt.Fprintf(&b, ",\n  %s AS %s", cols[i], q(f.Name))
	}
	lab := p.Label
	fmt.Fprintf(&b, ",\n  %s AS %s\nFROM (\n  SELECT %s AS e, %s AS t, %s AS label FROM %s\n) AS l",
		castTo("l.label", p.LabelType), q(p.LabelName), q(lab.EntityColumn), timestampExpr(q(lab.TimestampColumn), labelTypes.Timestamp), q(lab.ValueColumn),
		sqltext.QuoteQualified(lab.Table))
	for _, j := range joins {
		b.WriteString("\n" + j)
	}
	b.WriteString("\n" + sqltext.TrainingSetOrder(p))
	ts.Query = b.String()
	return ts
}

// latestQuery generates ReadLatest's query. For several value columns it has
// the shape of DuckDB's (see offlineduckdb/sql.go):
//
//	SELECT entity, "timestamp", v0 AS "col0", …
//	FROM (
//	  SELECT CAST(e AS text) AS entity, t AS "timestamp", max(v0) AS v0, bool_or(v1) AS v1, …
//	  FROM (
//	    SELECT entity AS e, ts AS t, col0 AS v0, …, max(ts) OVER (PARTITION BY entity) AS newest
//	    FROM table WHERE entity IS NOT NULL AND ts IS NOT NULL [AND ts > since] [AND part(entity) = p]
//	  ) AS s
//	  WHERE t = newest
//	  GROUP BY e, t
//	) AS l
//
// with latestAggregate for the types max does not take. For one value column
// it keeps DISTINCT ON (e) … ORDER BY e, t DESC, v DESC NULLS LAST, the same
// tie rule for any orderable type: one sort, which PostgreSQL runs in
// parallel workers (its window functions run in one process), 1.5 times as
// fast as the window on 1M rows. Static datasets group by entity alone and
// give a null timestamp. In both forms the inner queries name their columns
// e, t, v…, and only the outer one gives the value columns their names:
// ORDER BY and DISTINCT ON read a bare name as an output column first, so a
// value column called t must not be an output name there.
//
// Both forms share the innermost WHERE, where AsOf, Since and Partitions
// drop rows before the window, the sort and the grouping see them, so the
// newest row is the newest at or before AsOf and after Since, and a part
// keeps whole entities; the ordering
// on (e, t) both forms rely on is unchanged. CheckReadLatest has validated p.
func latestQuery(p *offline.ReadLatestParams, types datasetTypes) string {
	q := offline.QuoteIdent
	e := q(p.EntityColumn)
	table := sqltext.QuoteQualified(p.Table)
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
	if p.TimestampColumn != "" && len(p.ValueColumns) == 1 {
		ts := q(p.TimestampColumn)
		return fmt.Sprintf("SELECT entity, %s, v AS %s\nFROM (\n  SELECT DISTINCT ON (e) CAST(e AS text) AS entity, t AS %s, v\n  FROM (\n    SELECT %s AS e, %s AS t, %s AS v\n    FROM %s\n    WHERE %s\n  ) AS s\n  ORDER BY e, t DESC, v DESC NULLS LAST\n) AS l",
			q("timestamp"), q(p.ValueColumns[0]), q("timestamp"), e, timestampExpr(ts, types.Timestamp), q(p.ValueColumns[0]), table, where)
	}
	inner := []string{e + " AS e"}
	aggs := []string{"CAST(e AS text) AS entity"}
	outer := []string{"entity", q("timestamp")}
	if p.TimestampColumn != "" {
		inner = append(inner, timestampExpr(q(p.TimestampColumn), types.Timestamp)+" AS t")
		aggs = append(aggs, "t AS "+q("timestamp"))
	} else {
		aggs = append(aggs, "CAST(NULL AS timestamp) AS "+q("timestamp"))
	}
	for i, c := range p.ValueColumns {
		v := fmt.Sprintf("v%d", i)
		inner = append(inner, q(c)+" AS "+v)
		aggs = append(aggs, latestAggregate(v, types.Values[i])+" AS "+v)
		outer = append(outer, v+" AS "+q(c))
	}
	filter := "GROUP BY e"
	if p.TimestampColumn != "" {
		inner = append(inner, "max("+timestampExpr(q(p.TimestampColumn), types.Timestamp)+") OVER (PARTITION BY "+e+") AS newest")
		filter = "WHERE t = newest\n  GROUP BY e, t"
	}
	return fmt.Sprintf("SELECT %s\nFROM (\n  SELECT %s\n  FROM (\n    SELECT %s\n    FROM %s\n    WHERE %s\n  ) AS s\n  %s\n) AS l",
		strings.Join(outer, ", "), strings.Join(aggs, ", "), strings.Join(inner, ", "), table, where, filter)
}

// timeCondition keeps the rows of timestamp column col (of the given engine
// type) that compare to at by op ("<=" for AsOf, ">" for Since). A
// timestamp or timestamptz column is compared as it is, with a literal of
// its own type (the same instant: the session is in UTC), so the planner
// sees a plain range on the column: an index on it serves the condition
// when Since keeps few rows (a bitmap scan on 1M rows keeping
// 2.5%), and the rows reach the sort on (e, t) of either form as before.
// Other types compare as timestampExpr casts them.
func timeCondition(col, engineType, op string, at time.Time) string {
	switch strings.ToUpper(engineType) {
	case "TIMESTAMP":
		return col + " " + op + " " + offline.TimestampLiteral(at)
	case "TIMESTAMPTZ":
		return col + " " + op + " " + sqltext.TimestampTZLiteral(at)
	}
	return timestampExpr(col, engineType) + " " + op + " " + offline.TimestampLiteral(at)
}

// partitionCondition keeps the entities of part part of parts. PostgreSQL
// has no hash of any type, so the entity is hashed as the text ReadLatest
// returns, with hashtextextended (seed 0), the function hash partitioning
// uses for text. Its result is a signed bigint: clearing the sign bit makes
// it non-negative before the remainder (a negative remainder would match no
// part, and its entities would be read by none). As with DuckDB, a part only
// needs to be the same within one chunked read.
func partitionCondition(col string, part, parts int) string {
	return fmt.Sprintf("(hashtextextended(CAST(%s AS text), 0) & 9223372036854775807) %% %d = %d", col, parts, part)
}

// latestAggregate is the greatest non-null value of column v of the given
// engine type. PostgreSQL has no max(boolean): bool_or is the same with
// false < true. It has no max(uuid) either: the text form in byte order
// ("C") orders as the uuid does, and rows read a uuid as that text anyway.
// Other types go to max (types it does not take, such as jsonb or bytea,
// have no value type in Slipway).
func latestAggregate(v, engineType string) string {
	switch strings.ToUpper(engineType) {
	case "BOOLEAN":
		return "bool_or(" + v + ")"
	case "UUID":
		return "max(CAST(" + v + ` AS text) COLLATE "C")`
	}
	return "max(" + v + ")"
}

// describeQuery wraps sql with inputs as common table expressions, to be
// prepared (not run) by Describe. The closing parenthesis goes on its own
// line so a trailing "-- comment" in sql cannot swallow it.
func describeQuery(sql string, with []offline.Input) string {
	var b strings.Builder
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

// rfc3339 formats a timestamp like the DuckDB export: 2026-01-02T03:04:05.000006Z
// (TIMESTAMPTZ in the session time zone, which is UTC).
const rfc3339 = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`

// exportQuery selects the columns of query with timestamps formatted as RFC 3339
// and (in CSV) booleans as true/false, so files match the DuckDB export.
func exportQuery(query string, cols []field, csv bool) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		name := offline.QuoteIdent(c.Name)
		switch c.Type {
		case "TIMESTAMP", "TIMESTAMPTZ":
			fmt.Fprintf(&b, "to_char(q.%s, %s) AS %s", name, rfc3339, name)
		case "BOOLEAN":
			if !csv {
				b.WriteString("q." + name) // JSON has its own true/false
				break
			}
			// COPY writes booleans as t/f; text gives true/false, as DuckDB does.
			fmt.Fprintf(&b, "CAST(q.%s AS text) AS %s", name, name)
		default:
			b.WriteString("q." + name)
		}
	}
	b.WriteString("\nFROM (\n" + query + "\n) AS q")
	return b.String()
}

// castTo casts a float64 value to double precision, so an integer or numeric
// column declared float64 exports as it is served online (see offline.FeatureColumn.Type).
func castTo(expr string, t value.Type) string {
	if t == value.Float64 {
		return "CAST(" + expr + " AS double precision)"
	}
	return expr
}
