package offlinetest

// The cases of Query: read-only SQL whose small results (feedback status,
// experiment reports, monitoring) are read back in Go.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// queryCases are the Query behaviours.
var queryCases = map[string]func(*testing.T, offline.Store){
	"Aggregates":            testQueryAggregates,
	"TypesMapped":           testQueryTypesMapped,
	"WritesAreRefused":      testQueryWritesAreRefused,
	"BadSQLIsQueryError":    testQueryBadSQL,
	"UnsupportedColumnType": testQueryUnsupportedColumnType,
	"Streams":               testQueryStreams,
	"Cancel":                testQueryCancel,
	"CloseReleases":         testQueryCloseReleases,
}

// query runs sql and reads every row.
func query(t *testing.T, s offline.Store, sql string, args ...value.Value) [][]value.Value {
	t.Helper()
	rs, err := s.Query(t.Context(), &offline.QueryParams{SQL: sql, Args: args})
	if err != nil {
		t.Fatalf("Query(%q): %v", sql, err)
	}
	return readAll(t, rs)
}

// requireValues compares rows value by value, types included.
func requireValues(t *testing.T, got, want [][]value.Value, what string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d:\ngot  %v\nwant %v", what, len(got), len(want), got, want)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("%s: row %d has %d values, want %d", what, i+1, len(got[i]), len(want[i]))
		}
		for j := range want[i] {
			if !got[i][j].Equal(want[i][j]) {
				t.Errorf("%s: row %d value %d is %v (%s), want %v (%s)", what, i+1, j+1, got[i][j], got[i][j].Type(), want[i][j], want[i][j].Type())
			}
		}
	}
}

// testQueryAggregates counts and sums, with parameters, over a table
// written with WriteRows, and matches feedback to predictions with a join
// over tables made with CreateTable, the shape of `slipway feedback status`.
func testQueryAggregates(t *testing.T, s offline.Store) {
	cols := []resource.Column{{Name: "id", Type: value.String}, {Name: "kind", Type: value.String}, {Name: "n", Type: value.Int64}}
	kinds := []string{"click", "open", "sent"}
	var rows [][]value.Value
	for i := range 1000 {
		rows = append(rows, []value.Value{str(fmt.Sprintf("e%d", i)), str(kinds[i%3]), i64(int64(i))})
	}
	write(t, s, "events", cols, rows, nil)

	const min, skip = 100, "open"
	count, sum := map[string]int64{}, map[string]int64{}
	for i := range 1000 {
		if k := kinds[i%3]; i >= min && k != skip {
			count[k]++
			sum[k] += int64(i)
		}
	}
	got := query(t, s, "SELECT kind, CAST(count(*) AS BIGINT) AS events, CAST(sum(n) AS BIGINT) AS total\n"+
		"FROM events WHERE n >= $1 AND kind <> $2 GROUP BY kind ORDER BY kind", i64(min), str(skip))
	want := [][]value.Value{
		{str("click"), i64(count["click"]), i64(sum["click"])},
		{str("sent"), i64(count["sent"]), i64(sum["sent"])},
	}
	requireValues(t, got, want, "count and sum by kind")

	// Feedback matched and unmatched to logged predictions.
	loadTable(t, s, "predictions", []column{{"prediction_id", value.String}}, [][]value.Value{{str("p1")}, {str("p2")}, {str("p3")}})
	loadTable(t, s, "feedback", []column{{"prediction_id", value.String}, {"name", value.String}}, [][]value.Value{
		{str("p1"), str("clicked")}, {str("p2"), str("clicked")}, {str("p9"), str("clicked")}, {str("p8"), str("clicked")}, {str("p7"), str("clicked")}, {str("p3"), str("bought")},
	})
	got = query(t, s, `WITH f AS (SELECT * FROM feedback WHERE name = $1)
SELECT CAST(count(p.prediction_id) AS BIGINT) AS matched,
       CAST(count(*) - count(p.prediction_id) AS BIGINT) AS unmatched
FROM f LEFT JOIN predictions p ON p.prediction_id = f.prediction_id`, str("clicked"))
	requireValues(t, got, [][]value.Value{{i64(2), i64(3)}}, "feedback matched and unmatched")
}

// testQueryTypesMapped reads every value type and null back, from a table
// and from parameters.
func testQueryTypesMapped(t *testing.T, s offline.Store) {
	loadTable(t, s, "sample", sampleCols, sampleRows)
	rs, err := s.Query(t.Context(), &offline.QueryParams{SQL: "SELECT id, ts, n, x, ok FROM sample ORDER BY id"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rs.Columns(), ","); got != "id,ts,n,x,ok" {
		t.Errorf("columns %s, want id,ts,n,x,ok", got)
	}
	requireValues(t, readAll(t, rs), sampleRows, "sample table")

	// Each type as a parameter, compared in the engine and returned.
	got := query(t, s, "SELECT id, n FROM sample WHERE ts = $1 AND ok = $2 AND x = $3 AND id = $4", ts(2), no, f64(1.5), str("b"))
	requireValues(t, got, [][]value.Value{{str("b"), i64(2)}}, "parameters of every type")
	got = query(t, s, "SELECT count(*) AS n FROM sample WHERE n IS NOT DISTINCT FROM $1", null)
	requireValues(t, got, [][]value.Value{{i64(1)}}, "a null parameter")

	// SQL as a file ends it: a semicolon, a comment.
	got = query(t, s, "SELECT count(*) AS n FROM sample;\n-- the end\n")
	requireValues(t, got, [][]value.Value{{i64(3)}}, "a trailing semicolon and comment")

	// A UUID reads as its text, lowercase, as both engines print it.
	got = query(t, s, "SELECT CAST('019A24A8-E968-7933-8A9A-4D4828FB3E44' AS UUID) AS u")
	requireValues(t, got, [][]value.Value{{str("019a24a8-e968-7933-8a9a-4d4828fb3e44")}}, "a UUID")

	// A column of only nulls, typed or not, reads as nulls.
	got = query(t, s, "SELECT CAST(NULL AS BIGINT) AS a, NULL AS b")
	requireValues(t, got, [][]value.Value{{null, null}}, "null columns")
}

// testQueryWritesAreRefused sends statements that would write through
// Query: each fails, and the table and the catalog are unchanged.
func testQueryWritesAreRefused(t *testing.T, s offline.Store) {
	loadTable(t, s, "sample", sampleCols, sampleRows)
	for _, sql := range []string{
		"INSERT INTO sample (id) VALUES ('z')",
		"INSERT INTO sample (id) VALUES ('z') RETURNING id",
		"UPDATE sample SET n = 0",
		"DELETE FROM sample",
		"DELETE FROM sample RETURNING id",
		"CREATE TABLE other AS SELECT * FROM sample",
		"CREATE VIEW other AS SELECT * FROM sample",
		"DROP TABLE sample",
		"ALTER TABLE sample RENAME TO other",
		"WITH gone AS (DELETE FROM sample RETURNING id) SELECT count(*) AS n FROM gone",
		"SELECT 1 AS one; DROP TABLE sample",
		"DROP TABLE sample; SELECT 1 AS one",
		"SELECT 1 AS one; CREATE TABLE other (a INTEGER)",
		"CREATE TABLE other (a INTEGER); SELECT 1 AS one",
	} {
		if err := runQuery(t.Context(), s, sql); err == nil {
			t.Errorf("Query(%q) succeeded, want an error", sql)
		}
		if n, ids := countRows(t, s, "sample"); n != 3 || ids != 3 {
			t.Fatalf("after Query(%q) sample has %d rows of %d ids, want 3 of 3", sql, n, ids)
		}
		if _, err := s.Describe(t.Context(), &offline.DescribeParams{SQL: "SELECT * FROM other"}); err == nil {
			t.Fatalf("after Query(%q) table other exists", sql)
		}
	}
	requireValues(t, query(t, s, "SELECT id, ts, n, x, ok FROM sample ORDER BY id"), sampleRows, "sample after the refused writes")
}

// runQuery runs sql and reads its rows, returning the first error.
func runQuery(ctx context.Context, s offline.Store, sql string) error {
	rs, err := s.Query(ctx, &offline.QueryParams{SQL: sql})
	if err != nil {
		return err
	}
	for rs.Next() {
	}
	err = rs.Err()
	if cerr := rs.Close(); err == nil {
		err = cerr
	}
	return err
}

// testQueryBadSQL checks that SQL the engine rejects is a *QueryError
// naming the problem at the line of the caller's SQL.
func testQueryBadSQL(t *testing.T, s offline.Store) {
	loadTable(t, s, "sample", sampleCols, sampleRows)
	for _, tc := range []struct {
		sql, mention string
		line         int
	}{
		{"\nSELECT id,\n  no_such_column\nFROM sample", "no_such_column", 3},
		{"SELECT id\nFROM no_such_table", "no_such_table", 2},
	} {
		_, err := s.Query(t.Context(), &offline.QueryParams{SQL: tc.sql})
		var qe *offline.QueryError
		if !errors.As(err, &qe) {
			t.Errorf("Query(%q) error %v is not an *offline.QueryError", tc.sql, err)
			continue
		}
		if qe.Line != tc.line || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("Query(%q): line %d, error %q; want line %d and a mention of %s", tc.sql, qe.Line, err, tc.line, tc.mention)
		}
	}
	_, err := s.Query(t.Context(), &offline.QueryParams{SQL: "SELECT FROM WHERE"})
	var qe *offline.QueryError
	if !errors.As(err, &qe) {
		t.Errorf("a syntax error %v is not an *offline.QueryError", err)
	}
}

// testQueryUnsupportedColumnType reads a list column: an error naming it,
// before any row.
func testQueryUnsupportedColumnType(t *testing.T, s offline.Store) {
	loadTable(t, s, "sample", sampleCols, sampleRows)
	rs, err := s.Query(t.Context(), &offline.QueryParams{SQL: "SELECT id, ARRAY[n, n] AS pair FROM sample"})
	if err == nil {
		defer rs.Close()
		if rs.Next() {
			t.Fatalf("read a row %v of a list column, want an error before any row", rs.Values())
		}
		err = rs.Err()
	}
	if err == nil || !strings.Contains(err.Error(), "pair") {
		t.Fatalf("reading a list column: error %v, want one naming column pair", err)
	}
}

const streamRows = 100_000

// loadBig makes a table of streamRows rows, i from 1.
func loadBig(t *testing.T, s offline.Store) {
	t.Helper()
	_, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: "big",
		SQL: fmt.Sprintf("SELECT CAST(g AS BIGINT) AS i, CAST(g AS VARCHAR) AS label FROM generate_series(1, %d) AS s(g)", streamRows)})
	if err != nil {
		t.Fatalf("creating big: %v", err)
	}
}

// testQueryStreams reads 100k rows one at a time without keeping them.
func testQueryStreams(t *testing.T, s offline.Store) {
	loadBig(t, s)
	rs, err := s.Query(t.Context(), &offline.QueryParams{SQL: "SELECT i, label FROM big"})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var n, sum int64
	for rs.Next() {
		v := rs.Values()
		if v[1].Str() != fmt.Sprint(v[0].Int64()) {
			t.Fatalf("row %v: label is not i", v)
		}
		n++
		sum += v[0].Int64()
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	if want := int64(streamRows) * (streamRows + 1) / 2; n != streamRows || sum != want {
		t.Fatalf("read %d rows summing to %d, want %d summing to %d", n, sum, streamRows, want)
	}
}

// testQueryCancel cancels ctx mid-stream: the rows stop with an error that
// is context.Canceled, and the store still answers.
func testQueryCancel(t *testing.T, s offline.Store) {
	loadBig(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rs, err := s.Query(ctx, &offline.QueryParams{SQL: "SELECT i, label FROM big"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for n < 10 && rs.Next() {
		n++
	}
	cancel()
	for rs.Next() {
		n++
	}
	if n >= streamRows {
		t.Errorf("read all %d rows after the cancel", n)
	}
	if err := rs.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err after the cancel is %v, want context.Canceled", err)
	}
	rs.Close()
	if _, err := s.Query(ctx, &offline.QueryParams{SQL: "SELECT i FROM big"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Query with a cancelled ctx: %v, want context.Canceled", err)
	}
	got := query(t, s, "SELECT CAST(count(*) AS BIGINT) AS n FROM big")
	requireValues(t, got, [][]value.Value{{i64(streamRows)}}, "a query after the cancel")
}

// testQueryCloseReleases closes many results early, unread or half read:
// each gives its connection back (a store with a small pool would block
// otherwise) and later queries answer.
func testQueryCloseReleases(t *testing.T, s offline.Store) {
	loadBig(t, s)
	ctx, cancel := context.WithTimeout(t.Context(), 60e9)
	defer cancel()
	for i := range 20 {
		rs, err := s.Query(ctx, &offline.QueryParams{SQL: "SELECT i FROM big"})
		if err != nil {
			t.Fatalf("query %d: %v", i+1, err)
		}
		if i%2 == 0 && !rs.Next() {
			t.Fatalf("query %d read no row: %v", i+1, rs.Err())
		}
		if err := rs.Close(); err != nil {
			t.Fatalf("closing query %d early: %v", i+1, err)
		}
	}
	got := query(t, s, "SELECT CAST(count(*) AS BIGINT) AS n FROM big WHERE i > $1", i64(streamRows-5))
	requireValues(t, got, [][]value.Value{{i64(5)}}, "a query after closing early")
}
