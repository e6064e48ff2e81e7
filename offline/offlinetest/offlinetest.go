// Package offlinetest is the conformance suite every offline.Store runs:
//
//	func TestStore(t *testing.T) {
//		offlinetest.Exercise(t, func(t *testing.T) offline.Store { … })
//	}
//
// Each behaviour is a named subtest (PointInTimeJoin/NoFutureLeakage, …) that
// gets a fresh store. Input tables are created through the store itself with
// CreateTable from portable SQL (SELECT … FROM (VALUES …)), so the suite
// stays backend-neutral. The point-in-time cases are data files under
// testdata/pit, embedded so every backend's tests read the same ones; their
// format is documented on pitCase.
package offlinetest

import (
	"bufio"
	"context"
	"embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/value"
)

//go:embed testdata/pit/*.txt
var pitFiles embed.FS

// SeedEnv names the environment variable that fixes the seed of
// PointInTimeJoin/RandomizedMatchesReference, to replay a failure.
const SeedEnv = "SLIPWAY_TEST_SEED"

// Exercise runs the conformance suite. newStore returns a fresh, empty store
// and registers its cleanup with t.Cleanup.
func Exercise(t *testing.T, newStore func(t *testing.T) offline.Store) {
	t.Helper()
	group := func(name string, cases map[string]func(t *testing.T, s offline.Store)) {
		t.Run(name, func(t *testing.T) {
			names := make([]string, 0, len(cases))
			for n := range cases {
				names = append(names, n)
			}
			slices.Sort(names)
			for _, n := range names {
				t.Run(n, func(t *testing.T) { cases[n](t, newStore(t)) })
			}
		})
	}

	group("Describe", map[string]func(*testing.T, offline.Store){
		"Columns":                    testDescribeColumns,
		"With":                       testDescribeWith,
		"BadSQLNamesTheProblem":      testDescribeBadSQL,
		"ErrorLineIsTheUsersLine":    testDescribeErrorLine,
		"DoesNotRunTheQuery":         testDescribeDoesNotRun,
		"TrailingSemicolonOrComment": testDescribeTrailing,
	})
	group("CreateTable", map[string]func(*testing.T, offline.Store){
		"ReplacesAtomically":         testCreateTableReplaces,
		"FailedReplaceKeepsOldTable": testCreateTableFailedReplace,
		"View":                       testCreateTableView,
		"ConcurrentReplaces":         testCreateTableConcurrent,
	})
	group("DropTable", dropCases)
	group("WriteRows", writeCases) // write.go
	group("Query", queryCases)     // query.go
	group("SourceQuery", map[string]func(*testing.T, offline.Store){
		"Table":   testSourceQueryTable,
		"CSV":     testSourceQueryCSV,
		"Parquet": testSourceQueryParquet,
	})
	group("CheckSource", sourceCases) // source.go
	group("ReadLatest", map[string]func(*testing.T, offline.Store){
		"TieRule":        testReadLatestTieRule,
		"Static":         testReadLatestStatic,
		"SeveralColumns": testReadLatestSeveralColumns,
		// Since and Partitions: latest.go.
		"AsOf":                testReadLatestAsOf,
		"EqualsTrainingSet":   testReadLatestEqualsTrainingSet,
		"NeedsAsOf":           testReadLatestNeedsAsOf,
		"Since":               testReadLatestSince,
		"SinceNeedsTimestamp": testReadLatestSinceNeedsTimestamp,
		"PartitionsCoverAll":  testReadLatestPartitionsCoverAll,
		"InvalidPartition":    testReadLatestInvalidPartition,
	})

	t.Run("Claim", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		if err := s.Claim(ctx, &offline.ClaimParams{RegistryID: "registry-a"}); err != nil {
			t.Fatalf("first claim: %v", err)
		}
		if err := s.Claim(ctx, &offline.ClaimParams{RegistryID: "registry-a"}); err != nil {
			t.Fatalf("claim by the same registry: %v", err)
		}
		err := s.Claim(ctx, &offline.ClaimParams{RegistryID: "registry-b"})
		if !errors.Is(err, offline.ErrClaimed) || !strings.Contains(err.Error(), "registry-a") {
			t.Fatalf("claim by another registry: %v; want ErrClaimed naming registry-a", err)
		}
	})
	t.Run("PointInTimeJoin", func(t *testing.T) {
		files, err := pitFiles.ReadDir("testdata/pit")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			name := path.Join("testdata/pit", f.Name())
			text, err := pitFiles.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			c, err := parsePITCase(name, string(text))
			if err != nil {
				t.Fatal(err)
			}
			t.Run(testName(f.Name()), func(t *testing.T) {
				if d := diffRows(reference(c), c.Expect); d != "" {
					t.Fatalf("%s: expected rows disagree with the reference implementation (fix the file):\n%s", name, d)
				}
				s := newStore(t)
				if d := runPITCase(t, s, c); d != "" {
					t.Errorf("%s:\n%s", name, d)
				}
			})
		}
		t.Run("RandomizedMatchesReference", func(t *testing.T) { testRandomized(t, newStore(t)) })
		t.Run("ColumnOrder", func(t *testing.T) { testColumnOrder(t, newStore(t)) })
		t.Run("DeclaredFloatCastsIntegers", func(t *testing.T) { testDeclaredFloat(t, newStore(t)) })
		t.Run("MissingColumnIsAnError", func(t *testing.T) { testMissingColumn(t, newStore(t)) })
		t.Run("CancelledContext", func(t *testing.T) { testCancelled(t, newStore(t)) })
		t.Run("RowOrder", func(t *testing.T) { testRowOrder(t, newStore(t)) }) // order.go
	})

	group("Export", map[string]func(*testing.T, offline.Store){
		"CSV":           func(t *testing.T, s offline.Store) { testExport(t, s, "csv") },
		"JSONL":         func(t *testing.T, s offline.Store) { testExport(t, s, "jsonl") },
		"Parquet":       func(t *testing.T, s offline.Store) { testExport(t, s, "parquet") },
		"UnknownFormat": testExportUnknownFormat,
		// Byte-identical exports: order.go.
		"DeterministicCSV":     func(t *testing.T, s offline.Store) { testExportDeterministic(t, s, "csv") },
		"DeterministicJSONL":   func(t *testing.T, s offline.Store) { testExportDeterministic(t, s, "jsonl") },
		"DeterministicParquet": func(t *testing.T, s offline.Store) { testExportDeterministic(t, s, "parquet") },
	})
}

// testName turns "no_future_leakage.txt" into "NoFutureLeakage".
func testName(file string) string {
	var b strings.Builder
	for _, w := range strings.Split(strings.TrimSuffix(file, ".txt"), "_") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

// column is one column of a test table.
type column struct {
	Name string
	Type value.Type
}

// sqlType is the portable SQL type of a value type.
func sqlType(t value.Type) string {
	switch t {
	case value.Int64:
		return "BIGINT"
	case value.Float64:
		return "DOUBLE PRECISION"
	case value.Bool:
		return "BOOLEAN"
	case value.Timestamp:
		return "TIMESTAMP"
	}
	return "VARCHAR"
}

// literal writes v as a typed SQL literal; every value is cast so that the
// column types do not depend on the engine's inference.
func literal(v value.Value, t value.Type) string {
	var s string
	switch {
	case v.IsNull():
		s = "NULL"
	case t == value.Int64:
		s = strconv.FormatInt(v.Int64(), 10)
	case t == value.Float64:
		s = offline.QuoteLiteral(strconv.FormatFloat(v.Float64(), 'g', -1, 64))
	case t == value.Bool:
		s = strings.ToUpper(strconv.FormatBool(v.Bool()))
	case t == value.Timestamp:
		s = offline.QuoteLiteral(v.Time().Format("2006-01-02 15:04:05.000000"))
	default:
		s = offline.QuoteLiteral(v.String())
	}
	return "CAST(" + s + " AS " + sqlType(t) + ")"
}

// valuesSQL selects rows as a table with the given columns.
func valuesSQL(cols []column, rows [][]value.Value) string {
	var b strings.Builder
	if len(rows) == 0 {
		b.WriteString("SELECT ")
		for i, c := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(literal(value.NullValue(), c.Type) + " AS " + offline.QuoteIdent(c.Name))
		}
		b.WriteString(" WHERE 1 = 0")
		return b.String()
	}
	b.WriteString("SELECT * FROM (VALUES\n")
	for i, r := range rows {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString("  (")
		for j, c := range cols {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(literal(r[j], c.Type))
		}
		b.WriteString(")")
	}
	b.WriteString("\n) AS v(")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(offline.QuoteIdent(c.Name))
	}
	b.WriteString(")")
	return b.String()
}

func loadTable(t *testing.T, s offline.Store, table string, cols []column, rows [][]value.Value) {
	t.Helper()
	if _, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: table, SQL: valuesSQL(cols, rows)}); err != nil {
		t.Fatalf("loading %s: %v", table, err)
	}
}

// readAll reads every row of rs, checking Err and closing it.
func readAll(t *testing.T, rs offline.Rows) [][]value.Value {
	t.Helper()
	defer rs.Close()
	var out [][]value.Value
	for rs.Next() {
		out = append(out, slices.Clone(rs.Values()))
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("reading rows: %v", err)
	}
	if err := rs.Close(); err != nil {
		t.Fatalf("closing rows: %v", err)
	}
	return out
}

// readTable reads (entity, timestamp, value) of every row of a table through
// a training set without features: the store interface has no plain table read.
func readTable(t *testing.T, s offline.Store, table, entityCol, tsCol, valueCol string) [][]value.Value {
	t.Helper()
	rs, err := s.ReadTrainingSet(t.Context(), &offline.TrainingSetParams{
		Label:      offline.Dataset{Table: table, EntityColumn: entityCol, ValueColumn: valueCol, TimestampColumn: tsCol},
		LabelName:  "value",
		EntityName: "entity",
	})
	if err != nil {
		t.Fatalf("reading %s: %v", table, err)
	}
	return readAll(t, rs)
}

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func ts(hours int) value.Value { return value.FromTime(t0.Add(time.Duration(hours) * time.Hour)) }

func str(s string) value.Value { return value.FromString(s) }

func i64(i int64) value.Value { return value.FromInt64(i) }

func f64(f float64) value.Value { return value.FromFloat64(f) }

var null = value.NullValue()

var yes, no = value.FromBool(true), value.FromBool(false)

// sampleCols and sampleRows make a small table of every type.
var sampleCols = []column{{"id", value.String}, {"ts", value.Timestamp}, {"n", value.Int64}, {"x", value.Float64}, {"ok", value.Bool}}

var sampleRows = [][]value.Value{
	{str("a"), ts(1), i64(1), f64(0.5), value.FromBool(true)},
	{str("b"), ts(2), i64(2), f64(1.5), value.FromBool(false)},
	{str("c"), null, null, null, null},
}

func testDescribeColumns(t *testing.T, s offline.Store) {
	loadTable(t, s, "sample", sampleCols, sampleRows)
	cols, err := s.Describe(t.Context(), &offline.DescribeParams{SQL: "SELECT id, ts, n, x, ok, n * 2 AS n2, id || 'x' AS label FROM sample"})
	if err != nil {
		t.Fatal(err)
	}
	want := []column{{"id", value.String}, {"ts", value.Timestamp}, {"n", value.Int64}, {"x", value.Float64}, {"ok", value.Bool}, {"n2", value.Int64}, {"label", value.String}}
	if len(cols) != len(want) {
		t.Fatalf("got %d columns %v, want %d", len(cols), cols, len(want))
	}
	for i, w := range want {
		if cols[i].Name != w.Name || cols[i].Type != w.Type || cols[i].EngineType == "" {
			t.Errorf("column %d = %+v, want name %s type %s and an engine type", i, cols[i], w.Name, w.Type)
		}
		if got := offline.ColumnType(cols[i].EngineType); got != cols[i].Type {
			t.Errorf("column %s: Type %s but ColumnType(%q) = %s", cols[i].Name, cols[i].Type, cols[i].EngineType, got)
		}
	}
}

func testDescribeWith(t *testing.T, s offline.Store) {
	loadTable(t, s, "sample", sampleCols, sampleRows)
	cols, err := s.Describe(t.Context(), &offline.DescribeParams{
		SQL: "SELECT a.id, b.total FROM step_a AS a JOIN step_b AS b ON a.id = b.id",
		With: []offline.Input{
			{Name: "step_a", SQL: "SELECT id FROM sample"},
			{Name: "step_b", SQL: "SELECT id, sum(x) AS total FROM sample GROUP BY id"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) != 2 || cols[0].Name != "id" || cols[1].Name != "total" || cols[1].Type != value.Float64 {
		t.Fatalf("got %+v, want id (string) and total (float64)", cols)
	}
}

func testDescribeBadSQL(t *testing.T, s offline.Store) {
	loadTable(t, s, "sample", sampleCols, sampleRows)
	for _, tc := range []struct{ sql, mention string }{
		{"SELECT no_such_column FROM sample", "no_such_column"},
		{"SELECT id FROM no_such_table", "no_such_table"},
	} {
		_, err := s.Describe(t.Context(), &offline.DescribeParams{SQL: tc.sql})
		if err == nil {
			t.Errorf("Describe(%q) succeeded, want an error", tc.sql)
			continue
		}
		if !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("Describe(%q) error %q does not mention %s", tc.sql, err, tc.mention)
		}
	}
}

// testDescribeDoesNotRun describes a query that binds but fails when run
// (casting the text ids to integers): describing must not run it.
// testDescribeErrorLine checks that an engine error points at a line of the
// caller's SQL, not of the query the store wraps it in.
func testDescribeErrorLine(t *testing.T, s offline.Store) {
	_, err := s.Describe(t.Context(), &offline.DescribeParams{
		SQL:  "\nSELECT x,\n  y\nFROM (SELECT 1 AS x) AS q",
		With: []offline.Input{{Name: "unused", SQL: "SELECT 1 AS a,\n 2 AS b"}},
	})
	var qe *offline.QueryError
	if !errors.As(err, &qe) {
		t.Fatalf("Describe error %v is not an *offline.QueryError", err)
	}
	if qe.Line != 3 {
		t.Errorf("QueryError.Line = %d, want 3 (the line of y in the caller's SQL); error: %v", qe.Line, err)
	}
}

func testDescribeDoesNotRun(t *testing.T, s offline.Store) {
	loadTable(t, s, "sample", sampleCols, sampleRows)
	cols, err := s.Describe(t.Context(), &offline.DescribeParams{SQL: "SELECT CAST(id AS BIGINT) AS n FROM sample"})
	if err != nil {
		t.Fatalf("Describe ran the query (or cannot describe a cast): %v", err)
	}
	if len(cols) != 1 || cols[0].Type != value.Int64 {
		t.Fatalf("got %+v, want one int64 column", cols)
	}
}

// testDescribeTrailing describes queries ending the way a user's SQL file
// does: semicolons, a line comment, blank lines. (A comment after the
// semicolon is not supported: TrimSQL would have to lex the query.)
func testDescribeTrailing(t *testing.T, s offline.Store) {
	loadTable(t, s, "sample", sampleCols, sampleRows)
	for _, sql := range []string{
		"SELECT id FROM sample;",
		"SELECT id FROM sample;;\n\n",
		"SELECT id FROM sample -- the ids",
		"SELECT id FROM sample -- the ids\n;\n\n",
	} {
		cols, err := s.Describe(t.Context(), &offline.DescribeParams{SQL: sql})
		if err != nil {
			t.Errorf("Describe(%q): %v", sql, err)
			continue
		}
		if len(cols) != 1 || cols[0].Name != "id" {
			t.Errorf("Describe(%q) = %+v, want one column id", sql, cols)
		}
	}
}

func testCreateTableReplaces(t *testing.T, s offline.Store) {
	ctx := t.Context()
	res, err := s.CreateTable(ctx, &offline.CreateTableParams{Table: "t", SQL: valuesSQL(sampleCols[:3], [][]value.Value{{str("a"), ts(1), i64(1)}})})
	if err != nil {
		t.Fatal(err)
	}
	if cols := res.Columns; len(cols) != 3 || cols[2].Name != "n" || cols[2].Type != value.Int64 {
		t.Fatalf("CreateTable returned %+v, want id, ts, n", cols)
	}
	if res.Rows != 1 {
		t.Errorf("CreateTable returned %d rows, want 1", res.Rows)
	}
	// Replace with another schema and other rows.
	newCols := []column{{"id", value.String}, {"ts", value.Timestamp}, {"score", value.Float64}}
	res, err = s.CreateTable(ctx, &offline.CreateTableParams{Table: "t", SQL: valuesSQL(newCols, [][]value.Value{
		{str("x"), ts(5), f64(2.5)}, {str("y"), ts(6), f64(3.5)},
	})})
	if err != nil {
		t.Fatal(err)
	}
	if cols := res.Columns; len(cols) != 3 || cols[2].Name != "score" || cols[2].Type != value.Float64 {
		t.Fatalf("CreateTable returned %+v, want id, ts, score", cols)
	}
	if res.Rows != 2 {
		t.Errorf("replacing CreateTable returned %d rows, want 2 (the new table's)", res.Rows)
	}
	got := readTable(t, s, "t", "id", "ts", "score")
	want := [][]value.Value{{str("x"), ts(5), f64(2.5)}, {str("y"), ts(6), f64(3.5)}}
	if d := diffRows(got, want); d != "" {
		t.Fatalf("after replace:\n%s", d)
	}
	// A table may replace a view and the reverse.
	if _, err := s.CreateTable(ctx, &offline.CreateTableParams{Table: "t", SQL: "SELECT id, ts, score + 1 AS score FROM (" + valuesSQL(newCols, want) + ") AS q", View: true}); err != nil {
		t.Fatalf("replacing a table by a view: %v", err)
	}
	if _, err := s.CreateTable(ctx, &offline.CreateTableParams{Table: "t", SQL: valuesSQL(newCols, want[:1])}); err != nil {
		t.Fatalf("replacing a view by a table: %v", err)
	}
	if got := readTable(t, s, "t", "id", "ts", "score"); len(got) != 1 {
		t.Fatalf("got %d rows, want 1", len(got))
	}
}

// testCreateTableConcurrent replaces one table from several goroutines at
// once (two runs of one transformation): every replace succeeds, one after
// the other, and the table ends as one of them wrote it.
func testCreateTableConcurrent(t *testing.T, s offline.Store) {
	const writers = 4
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			_, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: "contested", SQL: valuesSQL(sampleCols[:3], [][]value.Value{{str("a"), ts(1), i64(int64(i))}})})
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Errorf("concurrent CreateTable of one table: %v", err)
		}
	}
	got := readTable(t, s, "contested", "id", "ts", "n")
	if len(got) != 1 || got[0][2].Int64() < 0 || got[0][2].Int64() >= writers {
		t.Errorf("table after concurrent replaces: %v; want one writer's single row", got)
	}
}

func testCreateTableFailedReplace(t *testing.T, s offline.Store) {
	loadTable(t, s, "sample", sampleCols, sampleRows)
	_, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: "sample", SQL: "SELECT no_such_column FROM sample"})
	if err == nil {
		t.Fatal("CreateTable with bad SQL succeeded")
	}
	if !strings.Contains(err.Error(), "no_such_column") {
		t.Errorf("error %q does not mention the missing column", err)
	}
	// The old table is intact: the drop was rolled back with the failed create.
	got := readTable(t, s, "sample", "id", "ts", "n")
	if d := diffRows(got, [][]value.Value{{str("a"), ts(1), i64(1)}, {str("b"), ts(2), i64(2)}, {str("c"), null, null}}); d != "" {
		t.Fatalf("after failed replace:\n%s", d)
	}
}

func testCreateTableView(t *testing.T, s offline.Store) {
	ctx := t.Context()
	loadTable(t, s, "base", sampleCols, sampleRows)
	res, err := s.CreateTable(ctx, &offline.CreateTableParams{Table: "v", SQL: "SELECT id, ts, n * 10 AS n10 FROM base", View: true})
	if err != nil {
		t.Fatal(err)
	}
	if cols := res.Columns; len(cols) != 3 || cols[2].Name != "n10" || cols[2].Type != value.Int64 {
		t.Fatalf("got %+v, want id, ts, n10 (int64)", cols)
	}
	if res.Rows != 0 {
		t.Errorf("CreateTable of a view returned %d rows, want 0 (a view holds none)", res.Rows)
	}
	// A view reads its input when queried: replacing the base table shows through.
	loadTable(t, s, "base", sampleCols, sampleRows[:1])
	got := readTable(t, s, "v", "id", "ts", "n10")
	if d := diffRows(got, [][]value.Value{{str("a"), ts(1), i64(10)}}); d != "" {
		t.Fatalf("view after replacing its base table:\n%s", d)
	}
}

func testSourceQueryTable(t *testing.T, s offline.Store) {
	loadTable(t, s, "sample", sampleCols, sampleRows)
	q, err := s.SourceQuery(&offline.SourceQueryParams{Table: "sample"})
	if err != nil {
		t.Fatal(err)
	}
	cols, err := s.Describe(t.Context(), &offline.DescribeParams{SQL: q})
	if err != nil {
		t.Fatalf("describing %q: %v", q, err)
	}
	if len(cols) != len(sampleCols) {
		t.Fatalf("got %+v, want the %d sample columns", cols, len(sampleCols))
	}
	if _, err := s.SourceQuery(&offline.SourceQueryParams{}); err == nil {
		t.Error("SourceQuery without file or table succeeded")
	}
}

func testSourceQueryCSV(t *testing.T, s offline.Store) {
	if !s.Capabilities().FileSources {
		t.Skip("store does not read files")
	}
	// The file name has a quote and a space, which the query must quote.
	file := filepath.Join(t.TempDir(), "it's events.csv")
	csv := "user_id,event_time,amount,channel\n" +
		"u1,2024-01-01 10:00:00,12.5,email\n" +
		"u2,2024-01-02 11:30:00,7.25,web\n" +
		"u1,2024-01-03 09:15:00,3,email\n"
	if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	q, err := s.SourceQuery(&offline.SourceQueryParams{File: file, Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: "events", SQL: q, View: true})
	if err != nil {
		t.Fatalf("creating a view over %q: %v", q, err)
	}
	cols := res.Columns
	wantTypes := []value.Type{value.String, value.Timestamp, value.Float64, value.String}
	if len(cols) != len(wantTypes) {
		t.Fatalf("got columns %+v, want 4", cols)
	}
	for i, w := range wantTypes {
		if cols[i].Type != w {
			t.Errorf("column %s: type %s (%s), want %s", cols[i].Name, cols[i].Type, cols[i].EngineType, w)
		}
	}
	got := readTable(t, s, "events", "user_id", "event_time", "amount")
	at := func(s string) value.Value { v, _ := parseValue(s, value.Timestamp); return v }
	want := [][]value.Value{
		{str("u1"), at("2024-01-01T10:00"), f64(12.5)},
		{str("u2"), at("2024-01-02T11:30"), f64(7.25)},
		{str("u1"), at("2024-01-03T09:15"), f64(3)},
	}
	if d := diffRows(got, want); d != "" {
		t.Fatal(d)
	}
	if _, err := s.SourceQuery(&offline.SourceQueryParams{File: file, Format: "xlsx"}); !errors.Is(err, offline.ErrUnsupported) {
		t.Errorf("SourceQuery with format xlsx: got %v, want ErrUnsupported", err)
	}
}

// testSourceQueryParquet writes a Parquet file with the store's own export.
func testSourceQueryParquet(t *testing.T, s offline.Store) {
	if !s.Capabilities().FileSources || !slices.Contains(s.Capabilities().ExportFormats, "parquet") {
		t.Skip("store does not read files or export Parquet")
	}
	loadTable(t, s, "sample", sampleCols, sampleRows)
	file := filepath.Join(t.TempDir(), "sample.parquet")
	n, err := s.ExportTrainingSet(t.Context(), &offline.ExportParams{Format: "parquet", Path: file, TrainingSet: &offline.TrainingSetParams{
		Label: offline.Dataset{Table: "sample", EntityColumn: "id", ValueColumn: "x", TimestampColumn: "ts"}, LabelName: "x", EntityName: "id",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("exported %d rows, want 3", n)
	}
	q, err := s.SourceQuery(&offline.SourceQueryParams{File: file, Format: "parquet"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: "from_parquet", SQL: q, View: true}); err != nil {
		t.Fatal(err)
	}
	got := readTable(t, s, "from_parquet", "id", "timestamp", "x")
	want := [][]value.Value{{str("a"), ts(1), f64(0.5)}, {str("b"), ts(2), f64(1.5)}, {str("c"), null, null}}
	if d := diffRows(got, want); d != "" {
		t.Fatal(d)
	}
}

func testReadLatestTieRule(t *testing.T, s offline.Store) {
	cols := []column{{"shop", value.Int64}, {"at", value.Timestamp}, {"orders", value.Int64}}
	loadTable(t, s, "orders", cols, [][]value.Value{
		{i64(1), ts(5), i64(3)},
		{i64(1), ts(9), i64(4)}, // newest, tied: greatest wins
		{i64(1), ts(9), i64(8)},
		{i64(1), ts(9), null},
		{i64(1), ts(2), i64(100)}, // older but greater: does not count
		{i64(1), null, i64(1000)}, // no timestamp: ignored
		{i64(2), ts(3), i64(5)},
		{i64(2), ts(7), null}, // newest is null: null
		{i64(3), ts(1), null}, // all tied values null
		{i64(3), ts(1), null},
		{null, ts(20), i64(7)}, // no entity: ignored
	})
	rs, err := s.ReadLatest(t.Context(), &offline.ReadLatestParams{Table: "orders", EntityColumn: "shop", TimestampColumn: "at", AsOf: asOfAll, ValueColumns: []string{"orders"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := rs.Columns(); !slices.Equal(got, []string{"entity", "timestamp", "orders"}) {
		t.Errorf("columns %v, want entity, timestamp, orders", got)
	}
	got := readAll(t, rs)
	want := [][]value.Value{
		{str("1"), ts(9), i64(8)},
		{str("2"), ts(7), null},
		{str("3"), ts(1), null},
	}
	if d := diffRows(got, want); d != "" {
		t.Fatal(d)
	}
}

func testReadLatestStatic(t *testing.T, s offline.Store) {
	cols := []column{{"shop", value.String}, {"country", value.String}, {"open", value.Bool}}
	loadTable(t, s, "shops", cols, [][]value.Value{
		{str("s1"), str("fr"), no},
		{str("s1"), str("de"), yes}, // each column on its own: fr and true
		{str("s1"), null, no},
		{str("s2"), null, no},
		{str("s2"), str("it"), null},
		{str("s3"), null, null},
		{null, str("zz"), yes},
	})
	rs, err := s.ReadLatest(t.Context(), &offline.ReadLatestParams{Table: "shops", EntityColumn: "shop", ValueColumns: []string{"country", "open"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := rs.Columns(); !slices.Equal(got, []string{"entity", "timestamp", "country", "open"}) {
		t.Errorf("columns %v, want entity, timestamp, country, open", got)
	}
	got := readAll(t, rs)
	want := [][]value.Value{
		{str("s1"), null, str("fr"), yes},
		{str("s2"), null, str("it"), no},
		{str("s3"), null, null, null},
	}
	if d := diffRows(got, want); d != "" {
		t.Fatal(d)
	}
}

// testReadLatestSeveralColumns reads three value columns of mixed types at
// once: each column applies the tie rule on its own, so one entity's values
// may come from different rows at its newest time. The integer column is
// named t, a name a generator might use internally.
func testReadLatestSeveralColumns(t *testing.T, s offline.Store) {
	cols := []column{{"user", value.String}, {"at", value.Timestamp}, {"t", value.Int64}, {"label", value.String}, {"ok", value.Bool}}
	loadTable(t, s, "visits", cols, [][]value.Value{
		{str("u1"), ts(1), i64(100), str("zz"), yes}, // older, greater: does not count
		{str("u1"), ts(5), i64(3), str("b"), no},
		{str("u1"), ts(5), i64(7), null, no},         // greatest t
		{str("u1"), ts(5), null, str("c"), null},     // greatest label
		{str("u1"), ts(5), i64(2), str("a"), yes},    // true > false
		{str("u1"), null, i64(999), str("zzz"), yes}, // no timestamp: ignored
		{str("u2"), ts(3), i64(4), str("x"), yes},
		{str("u2"), ts(8), null, null, null}, // newest row all null: all null
		{str("u3"), ts(2), i64(1), str("ab"), no},
		{str("u3"), ts(2), i64(1), str("b"), null}, // "b" > "ab"
		{str("u3"), ts(2), null, str("a"), no},     // only false and null: false
		{str("u4"), ts(4), null, str("only"), null},
		{str("u5"), null, i64(5), str("q"), yes},    // only rows without a timestamp: absent
		{null, ts(20), i64(1000), str("zzzz"), yes}, // no entity: ignored
	})
	rs, err := s.ReadLatest(t.Context(), &offline.ReadLatestParams{Table: "visits", EntityColumn: "user", TimestampColumn: "at", AsOf: asOfAll,
		ValueColumns: []string{"ok", "t", "label"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := rs.Columns(); !slices.Equal(got, []string{"entity", "timestamp", "ok", "t", "label"}) {
		t.Errorf("columns %v, want entity, timestamp, ok, t, label", got)
	}
	got := readAll(t, rs)
	want := [][]value.Value{
		{str("u1"), ts(5), yes, i64(7), str("c")},
		{str("u2"), ts(8), null, null, null},
		{str("u3"), ts(2), no, i64(1), str("b")},
		{str("u4"), ts(4), null, null, str("only")},
	}
	if d := diffRows(got, want); d != "" {
		t.Fatal(d)
	}
	// Each column read alone gives the same values (a store may read one
	// column another way).
	for i, c := range []string{"ok", "t", "label"} {
		rs, err := s.ReadLatest(t.Context(), &offline.ReadLatestParams{Table: "visits", EntityColumn: "user", TimestampColumn: "at", AsOf: asOfAll,
			ValueColumns: []string{c}})
		if err != nil {
			t.Fatal(err)
		}
		if got := rs.Columns(); !slices.Equal(got, []string{"entity", "timestamp", c}) {
			t.Errorf("%s alone: columns %v, want entity, timestamp, %s", c, got, c)
		}
		got := readAll(t, rs)
		one := make([][]value.Value, len(want))
		for j, r := range want {
			one[j] = []value.Value{r[0], r[1], r[2+i]}
		}
		if d := diffRows(got, one); d != "" {
			t.Errorf("%s alone:\n%s", c, d)
		}
	}
}

// Table and column names the PIT runner uses; deliberately not the output names.
const (
	labelTable = "label_rows"
	entityName = "user"
	labelName  = "target"
)

// pitParams loads a case's tables into s and returns the training set's parameters.
func pitParams(t *testing.T, s offline.Store, c *pitCase) *offline.TrainingSetParams {
	t.Helper()
	lrows := make([][]value.Value, len(c.Label))
	for i, r := range c.Label {
		lrows[i] = []value.Value{r.Entity, r.TS, r.Value}
	}
	loadTable(t, s, labelTable, []column{{"user_id", c.EntityType}, {"event_time", value.Timestamp}, {"outcome", c.LabelType}}, lrows)
	p := &offline.TrainingSetParams{
		Label:      offline.Dataset{Table: labelTable, EntityColumn: "user_id", ValueColumn: "outcome", TimestampColumn: "event_time"},
		LabelName:  labelName,
		EntityName: entityName,
	}
	for _, f := range c.Features {
		table := "feature_" + f.Name
		cols := []column{{"entity_id", f.EntityType}, {"ts", value.Timestamp}, {"val", f.Type}}
		rows := make([][]value.Value, len(f.Rows))
		for i, r := range f.Rows {
			rows[i] = []value.Value{r.Entity, r.TS, r.Value}
		}
		d := offline.Dataset{Table: table, EntityColumn: "entity_id", ValueColumn: "val", TimestampColumn: "ts"}
		if f.Static {
			cols = slices.Delete(cols, 1, 2)
			for i := range rows {
				rows[i] = slices.Delete(rows[i], 1, 2)
			}
			d.TimestampColumn = ""
		}
		loadTable(t, s, table, cols, rows)
		p.Features = append(p.Features, offline.FeatureColumn{Dataset: d, Name: f.Name, MaxAge: f.MaxAge})
	}
	return p
}

// runPITCase loads c, reads the training set and returns how it differs from c.Expect.
func runPITCase(t *testing.T, s offline.Store, c *pitCase) string {
	t.Helper()
	p := pitParams(t, s, c)
	rs, err := s.ReadTrainingSet(t.Context(), p)
	if err != nil {
		t.Fatalf("ReadTrainingSet: %v", err)
	}
	wantCols := []string{entityName, "timestamp"}
	for _, f := range c.Features {
		wantCols = append(wantCols, f.Name)
	}
	wantCols = append(wantCols, labelName)
	if got := rs.Columns(); !slices.Equal(got, wantCols) {
		rs.Close()
		return fmt.Sprintf("columns %v, want %v", got, wantCols)
	}
	return diffRows(readAll(t, rs), c.Expect)
}

func testColumnOrder(t *testing.T, s offline.Store) {
	// Features named so that alphabetical or table order would differ from the requested order.
	c := &pitCase{EntityType: value.String, LabelType: value.Int64,
		Label: []pitRow{{str("a"), ts(10), i64(1)}},
		Features: []pitFeature{
			{Name: "zeta", Type: value.Int64, EntityType: value.String, Rows: []pitRow{{str("a"), ts(1), i64(26)}}},
			{Name: "alpha", Type: value.Int64, EntityType: value.String, Static: true, Rows: []pitRow{{str("a"), null, i64(1)}}},
			{Name: "mid", Type: value.Int64, EntityType: value.String, Rows: []pitRow{{str("a"), ts(2), i64(13)}}},
		},
		Expect: [][]value.Value{{str("a"), ts(10), i64(26), i64(1), i64(13), i64(1)}},
	}
	if d := runPITCase(t, s, c); d != "" {
		t.Fatal(d)
	}
}

// testDeclaredFloat checks that integer columns declared float64 come out as
// float64 (the type online serving uses), for timestamped and static features and the label.
func testDeclaredFloat(t *testing.T, s offline.Store) {
	c := &pitCase{EntityType: value.String, LabelType: value.Int64,
		Label: []pitRow{{str("a"), ts(10), i64(1)}},
		Features: []pitFeature{
			{Name: "timed", Type: value.Int64, EntityType: value.String, Rows: []pitRow{{str("a"), ts(1), i64(26)}}},
			{Name: "static", Type: value.Int64, EntityType: value.String, Static: true, Rows: []pitRow{{str("a"), null, i64(3)}}},
		},
	}
	p := pitParams(t, s, c)
	p.LabelType = value.Float64
	for i := range p.Features {
		p.Features[i].Type = value.Float64
	}
	rs, err := s.ReadTrainingSet(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, rs)
	want := [][]value.Value{{str("a"), ts(10), f64(26), f64(3), f64(1)}}
	if d := diffRows(got, want); d != "" {
		t.Fatal(d)
	}
}

func testMissingColumn(t *testing.T, s offline.Store) {
	c := &pitCase{EntityType: value.String, LabelType: value.Int64,
		Label:    []pitRow{{str("a"), ts(10), i64(1)}},
		Features: []pitFeature{{Name: "f", Type: value.Int64, EntityType: value.String, Rows: []pitRow{{str("a"), ts(1), i64(2)}}}},
	}
	p := pitParams(t, s, c)
	p.Features[0].ValueColumn = "no_such_value"
	_, err := s.ReadTrainingSet(t.Context(), p)
	if err == nil {
		t.Fatal("ReadTrainingSet with a missing feature column succeeded")
	}
	if !strings.Contains(err.Error(), "no_such_value") {
		t.Errorf("error %q does not name the missing column", err)
	}
}

func testCancelled(t *testing.T, s offline.Store) {
	c := &pitCase{EntityType: value.String, LabelType: value.Int64, Label: []pitRow{{str("a"), ts(10), i64(1)}}}
	p := pitParams(t, s, c)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rs, err := s.ReadTrainingSet(ctx, p)
	if err == nil {
		for rs.Next() {
		}
		err = rs.Err()
		rs.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadTrainingSet with a cancelled context: %v; want an error wrapping context.Canceled", err)
	}
}

// testRandomized compares the store with the reference implementation on
// random data full of awkward cases. The seed is printed on failure; set
// SLIPWAY_TEST_SEED to replay it.
func testRandomized(t *testing.T, s offline.Store) {
	seed := uint64(time.Now().UnixNano())
	if env := os.Getenv(SeedEnv); env != "" {
		var err error
		if seed, err = strconv.ParseUint(env, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", SeedEnv, env, err)
		}
	}
	const rounds = 12
	for round := range uint64(rounds) {
		r := rand.New(rand.NewPCG(seed, round))
		c := randomCase(r)
		c.Expect = reference(c)
		if d := runPITCase(t, s, c); d != "" {
			t.Fatalf("seed %d round %d (replay with %s=%d):\n%s\ncase:\n%s", seed, round, SeedEnv, seed, d, formatCase(c))
		}
	}
}

// randomCase generates a case with exact matches, future rows, entities
// without history, duplicate label rows, nulls, ties, max ages, a static
// feature and a feature keyed by text while labels are keyed by integers.
func randomCase(r *rand.Rand) *pitCase {
	const entities = 8 // label entities 0..9: 8 and 9 never have feature rows
	when := func() value.Value {
		if r.IntN(25) == 0 {
			return null
		}
		v := t0.Add(time.Duration(r.IntN(30)) * time.Hour)
		if r.IntN(8) == 0 {
			v = v.Add(time.Duration(r.IntN(3)-1) * time.Microsecond) // just before / at / after
		}
		return value.FromTime(v)
	}
	entity := func(n int) value.Value {
		if r.IntN(30) == 0 {
			return null
		}
		return i64(int64(r.IntN(n)))
	}
	c := &pitCase{EntityType: value.Int64, LabelType: value.Int64}
	for range 40 + r.IntN(80) { // often above 64, where engines switch join algorithms
		if len(c.Label) > 0 && r.IntN(8) == 0 {
			c.Label = append(c.Label, c.Label[r.IntN(len(c.Label))]) // duplicate
			continue
		}
		c.Label = append(c.Label, pitRow{entity(entities + 2), when(), i64(int64(r.IntN(2)))})
	}
	values := map[value.Type]func() value.Value{
		value.Int64:     func() value.Value { return i64(int64(r.IntN(6) - 2)) },
		value.Float64:   func() value.Value { return f64(float64(r.IntN(12)) / 4) },
		value.String:    func() value.Value { return str(string(rune('a'+r.IntN(5))) + string(rune('a'+r.IntN(3)))) },
		value.Bool:      func() value.Value { return value.FromBool(r.IntN(2) == 0) },
		value.Timestamp: func() value.Value { return ts(r.IntN(100)) },
	}
	maxAge := func() time.Duration {
		if r.IntN(2) == 0 {
			return 0
		}
		return time.Duration(1+r.IntN(8)) * time.Hour
	}
	specs := []pitFeature{
		{Name: "f_int", Type: value.Int64, MaxAge: maxAge()},
		{Name: "f_float", Type: value.Float64, MaxAge: maxAge()},
		{Name: "f_text", Type: value.String},
		{Name: "f_bool", Type: value.Bool, MaxAge: maxAge()},
		{Name: "f_time", Type: value.Timestamp},
		{Name: "f_static", Type: value.String, Static: true},
	}
	for i, f := range specs {
		f.EntityType = value.Int64
		if i == 2 {
			f.EntityType = value.String // compared with the integer label entities as text
		}
		for range r.IntN(50) {
			e := entity(entities)
			if f.EntityType == value.String && !e.IsNull() {
				e = str(e.String())
			}
			row := pitRow{Entity: e, Value: values[f.Type]()}
			if r.IntN(8) == 0 {
				row.Value = null
			}
			if !f.Static {
				row.TS = when()
			}
			f.Rows = append(f.Rows, row)
			if r.IntN(6) == 0 { // a tie: same entity and time, another value
				tie := row
				tie.Value = values[f.Type]()
				f.Rows = append(f.Rows, tie)
			}
		}
		r.Shuffle(len(f.Rows), func(i, j int) { f.Rows[i], f.Rows[j] = f.Rows[j], f.Rows[i] })
		c.Features = append(c.Features, f)
	}
	return c
}

// formatCase writes a case in the testdata format, to turn a failure into a file.
func formatCase(c *pitCase) string {
	var b strings.Builder
	field := func(v value.Value) string {
		switch {
		case v.IsNull():
			return "null"
		case v.Type() == value.Timestamp:
			return v.Time().Format("2006-01-02T15:04:05.999999")
		case v.Type() == value.String:
			return strconv.Quote(v.Str())
		}
		return v.String()
	}
	fmt.Fprintf(&b, "entity %s\nlabel %s\n", c.EntityType, c.LabelType)
	for _, r := range c.Label {
		fmt.Fprintf(&b, "%s %s %s\n", field(r.Entity), field(r.TS), field(r.Value))
	}
	for _, f := range c.Features {
		fmt.Fprintf(&b, "\nfeature %s %s entity=%s", f.Name, f.Type, f.EntityType)
		if f.MaxAge > 0 {
			fmt.Fprintf(&b, " max_age=%s", f.MaxAge)
		}
		if f.Static {
			b.WriteString(" static")
		}
		b.WriteString("\n")
		for _, r := range f.Rows {
			if f.Static {
				fmt.Fprintf(&b, "%s %s\n", field(r.Entity), field(r.Value))
			} else {
				fmt.Fprintf(&b, "%s %s %s\n", field(r.Entity), field(r.TS), field(r.Value))
			}
		}
	}
	b.WriteString("\nexpect\n")
	for _, row := range c.Expect {
		parts := make([]string, len(row))
		for i, v := range row {
			parts[i] = field(v)
		}
		b.WriteString(strings.Join(parts, " ") + "\n")
	}
	return b.String()
}

// exportCase is the training set the Export tests write: every value type, nulls, a static feature.
func exportCase(t *testing.T) *pitCase {
	t.Helper()
	text, err := pitFiles.ReadFile("testdata/pit/several_features.txt")
	if err != nil {
		t.Fatal(err)
	}
	c, err := parsePITCase("several_features.txt", string(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testExport(t *testing.T, s offline.Store, format string) {
	if !slices.Contains(s.Capabilities().ExportFormats, format) {
		t.Skipf("store does not export %s", format)
	}
	c := exportCase(t)
	p := pitParams(t, s, c)
	file := filepath.Join(t.TempDir(), "out", "training."+format)
	n, err := s.ExportTrainingSet(t.Context(), &offline.ExportParams{TrainingSet: p, Format: format, Path: file})
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(c.Expect)) {
		t.Errorf("ExportTrainingSet returned %d rows, want %d", n, len(c.Expect))
	}
	names := []string{entityName, "timestamp"}
	for _, f := range c.Features {
		names = append(names, f.Name)
	}
	names = append(names, labelName)

	switch format {
	case "jsonl":
		checkJSONL(t, file, names, c.Expect)
		return
	case "csv":
		checkCSV(t, file, names, c.Expect)
		return
	}
	if !s.Capabilities().FileSources {
		t.Fatalf("the suite cannot read back a %s export without FileSources: add a check for the format", format)
	}
	// Read the file back through the store, one column at a time as the
	// label of a training set keyed by entity and timestamp.
	q, err := s.SourceQuery(&offline.SourceQueryParams{File: file, Format: format})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: "exported", SQL: q, View: true}); err != nil {
		t.Fatal(err)
	}
	for i := 2; i < len(names); i++ {
		got := readTable(t, s, "exported", entityName, "timestamp", names[i])
		want := make([][]value.Value, len(c.Expect))
		for j, row := range c.Expect {
			want[j] = []value.Value{row[0], row[1], row[i]}
		}
		// Text formats lose types (1.0 may read back as an integer): compare as the expected type.
		alignTypes(got, want)
		if d := diffRows(got, want); d != "" {
			t.Errorf("column %s read back from %s:\n%s", names[i], format, d)
		}
	}
}

// alignTypes converts got values to the type of the expected values in the
// same column, when that conversion is lossless (int64 read back for a
// float64, anything for a string).
func alignTypes(got, want [][]value.Value) {
	colType := map[int]value.Type{}
	for _, row := range want {
		for k, v := range row {
			if !v.IsNull() {
				colType[k] = v.Type()
			}
		}
	}
	for _, row := range got {
		for k, v := range row {
			if t, ok := colType[k]; ok && !v.IsNull() && v.Type() != t {
				if conv, err := value.Convert(v, t); err == nil {
					row[k] = conv
				}
			}
		}
	}
}

// checkJSONL reads newline-delimited JSON and compares it loosely (JSON has
// only numbers, strings and booleans; timestamps are strings).
func checkJSONL(t *testing.T, file string, names []string, want [][]value.Value) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got [][]value.Value
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Fatalf("line %d of %s is not a JSON object: %v", len(got)+1, file, err)
		}
		if len(obj) != len(names) {
			t.Fatalf("line %d has keys %v, want %v", len(got)+1, obj, names)
		}
		row := make([]value.Value, len(names))
		for i, n := range names {
			x, ok := obj[n]
			if !ok {
				t.Fatalf("line %d has no key %q: %v", len(got)+1, n, obj)
			}
			row[i] = fromJSON(x, want, i)
		}
		got = append(got, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if d := diffRows(got, want); d != "" {
		t.Fatalf("read back from JSON lines:\n%s", d)
	}
}

// checkCSV reads a CSV export: a header naming the columns in order, then
// one record per row, every value exactly the expected one read as its
// column's type (an empty field is null).
func checkCSV(t *testing.T, file string, names []string, want [][]value.Value) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s is not CSV: %v", file, err)
	}
	if len(records) == 0 || !slices.Equal(records[0], names) {
		t.Fatalf("CSV header %q, want %q", records[:min(1, len(records))], names)
	}
	var got [][]value.Value
	for n, rec := range records[1:] {
		row := make([]value.Value, len(names))
		for i, field := range rec {
			v, err := fromText(field, columnType(want, i))
			if err != nil {
				t.Fatalf("CSV record %d column %s: %v", n+2, names[i], err)
			}
			row[i] = v
		}
		got = append(got, row)
	}
	if d := diffRows(got, want); d != "" {
		t.Fatalf("read back from CSV:\n%s", d)
	}
}

// fromText parses a CSV field as a value of type typ.
func fromText(field string, typ value.Type) (value.Value, error) {
	if field == "" {
		return null, nil
	}
	switch typ {
	case value.Int64:
		n, err := strconv.ParseInt(field, 10, 64)
		return i64(n), err
	case value.Float64:
		x, err := strconv.ParseFloat(field, 64)
		return f64(x), err
	case value.Bool:
		b, err := strconv.ParseBool(field)
		return value.FromBool(b), err
	case value.Timestamp:
		if tm, ok := parseTime(field); ok {
			return value.FromTime(tm), nil
		}
		return null, fmt.Errorf("%q is not a timestamp", field)
	}
	return str(field), nil
}

// parseTime reads a timestamp as the stores write them in text exports.
func parseTime(s string) (time.Time, bool) {
	for _, l := range []string{"2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999Z07:00", "2006-01-02 15:04:05.999999Z07", "2006-01-02T15:04:05.999999"} {
		if tm, err := time.Parse(l, s); err == nil {
			return tm, true
		}
	}
	return time.Time{}, false
}

// columnType is the type of the non-null values of column i of rows.
func columnType(rows [][]value.Value, i int) value.Type {
	var typ value.Type
	for _, row := range rows {
		if !row[i].IsNull() {
			typ = row[i].Type()
		}
	}
	return typ
}

// fromJSON turns a decoded JSON value into the type of column i of want.
func fromJSON(x any, want [][]value.Value, i int) value.Value {
	typ := columnType(want, i)
	switch v := x.(type) {
	case nil:
		return null
	case float64:
		if typ == value.Int64 {
			return i64(int64(v))
		}
		return f64(v)
	case bool:
		return value.FromBool(v)
	case string:
		if typ == value.Timestamp {
			if tm, ok := parseTime(v); ok {
				return value.FromTime(tm)
			}
		}
		return str(v)
	}
	return str(fmt.Sprint(x))
}

func testExportUnknownFormat(t *testing.T, s offline.Store) {
	c := exportCase(t)
	p := pitParams(t, s, c)
	_, err := s.ExportTrainingSet(t.Context(), &offline.ExportParams{TrainingSet: p, Format: "xlsx", Path: filepath.Join(t.TempDir(), "x.xlsx")})
	if !errors.Is(err, offline.ErrUnsupported) {
		t.Fatalf("exporting as xlsx: got %v, want ErrUnsupported", err)
	}
}
