package offlinetest

// The cases of WriteRows: rows computed in Go (batch predictions, the
// prediction log) appended to a table, all or nothing.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// writeCases are the WriteRows behaviours.
var writeCases = map[string]func(*testing.T, offline.Store){
	"CreatesAndAppends":             testWriteCreatesAndAppends,
	"ReplaceDeletesMatchingRows":    testWriteReplace,
	"FailedRowsLeaveTableUnchanged": testWriteFailedRows,
	"ColumnMismatchIsRefused":       testWriteColumnMismatch,
	"TableReplacedBetweenWrites":    testWriteTableReplaced,
	"EmptyCreatesTable":             testWriteEmpty,
	"Concurrent":                    testWriteConcurrent,
	"LargeStream":                   testWriteLargeStream,
}

// sliceSource is a RowSource over rows held in memory; with failAt > 0, Next
// returns false before row failAt (1-based) and Err returns errSource.
type sliceSource struct {
	rows   [][]value.Value
	failAt int
	i      int
	failed bool
}

var errSource = errors.New("the row source broke")

func (s *sliceSource) Next() bool {
	if s.failAt > 0 && s.i+1 == s.failAt {
		s.failed = true
		return false
	}
	if s.i >= len(s.rows) {
		return false
	}
	s.i++
	return true
}

func (s *sliceSource) Values() []value.Value { return s.rows[s.i-1] }

func (s *sliceSource) Err() error {
	if s.failed {
		return errSource
	}
	return nil
}

// genSource generates n rows of the writeCols shape without holding them:
// row i has id "<prefix><i>", and Values reuses one slice.
type genSource struct {
	prefix string
	n, i   int
	row    []value.Value
}

func (g *genSource) Next() bool {
	if g.i >= g.n {
		return false
	}
	g.i++
	if g.row == nil {
		g.row = make([]value.Value, len(writeCols))
	}
	i := g.i
	g.row[0] = str(fmt.Sprintf("%s%07d", g.prefix, i))
	g.row[1] = value.FromTime(t0.Add(time.Duration(i) * time.Microsecond))
	g.row[2] = i64(int64(i))
	g.row[3] = f64(float64(i) / 3)
	g.row[4] = value.FromBool(i%2 == 0)
	g.row[5] = null
	if i%3 == 0 {
		g.row[5] = ts(i % 100)
	}
	g.row[6] = str("gen")
	return true
}

func (g *genSource) Values() []value.Value { return g.row }
func (g *genSource) Err() error            { return nil }

// writeCols has every value type, and a second timestamp and string that
// can be null (id and ts are the key readTable reads by).
var writeCols = []resource.Column{
	{Name: "id", Type: value.String},
	{Name: "ts", Type: value.Timestamp},
	{Name: "n", Type: value.Int64},
	{Name: "x", Type: value.Float64},
	{Name: "ok", Type: value.Bool},
	{Name: "at", Type: value.Timestamp},
	{Name: "s", Type: value.String},
}

// micro is a time with microseconds, UTC.
func micro(us int64) value.Value { return value.FromMicros(t0.UnixMicro() + us) }

var writeFirst = [][]value.Value{
	{str("a1"), micro(1), i64(math.MaxInt64), f64(0.1), yes, micro(123_456_789), str("o'brien")},
	{str("a2"), micro(2), i64(math.MinInt64 + 1), f64(-1e300), no, value.FromTime(time.Date(1969, 7, 20, 20, 17, 40, 123456000, time.UTC)), str("Zoë")},
	{str("a3"), micro(999_999), null, null, null, null, null},
}

var writeSecond = [][]value.Value{
	{str("b1"), micro(-1), i64(0), f64(math.Inf(1)), yes, micro(1), str("")},
	{str("b2"), micro(86_400_000_000), i64(-7), f64(2.5), null, null, str("line\nbreak")},
}

func write(t *testing.T, s offline.Store, table string, cols []resource.Column, rows [][]value.Value, replace *offline.Match) {
	t.Helper()
	n, err := s.WriteRows(t.Context(), &offline.WriteRowsParams{Table: table, Columns: cols, Rows: &sliceSource{rows: rows}, Replace: replace})
	if err != nil {
		t.Fatalf("WriteRows(%s): %v", table, err)
	}
	if n != int64(len(rows)) {
		t.Fatalf("WriteRows(%s) wrote %d rows, want %d", table, n, len(rows))
	}
}

// readWritten reads every row of a table of writeCols, ordered by id, one
// readTable per value column (the store has no plain table read).
func readWritten(t *testing.T, s offline.Store, table string) [][]value.Value {
	t.Helper()
	var out [][]value.Value
	for j, c := range writeCols[2:] {
		got := readTable(t, s, table, "id", "ts", c.Name)
		if j == 0 {
			out = make([][]value.Value, len(got))
		}
		if len(got) != len(out) {
			t.Fatalf("reading %s column %s: %d rows, column n had %d", table, c.Name, len(got), len(out))
		}
		for i, r := range got {
			if j == 0 {
				out[i] = append(out[i], r[0], r[1])
			}
			out[i] = append(out[i], r[2])
		}
	}
	return out
}

// sortedByID returns rows in readTable's order: ids here are unique.
func sortedByID(rows ...[][]value.Value) [][]value.Value {
	var all [][]value.Value
	for _, r := range rows {
		all = append(all, r...)
	}
	slices.SortFunc(all, func(a, b []value.Value) int { return strings.Compare(a[0].Str(), b[0].Str()) })
	return all
}

func requireRows(t *testing.T, got, want [][]value.Value, what string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d:\ngot  %v\nwant %v", what, len(got), len(want), got, want)
	}
	for i := range want {
		for j := range want[i] {
			if !got[i][j].Equal(want[i][j]) {
				t.Fatalf("%s: row %d column %s is %v (%s), want %v (%s)", what, i+1, writeCols[j].Name,
					got[i][j], got[i][j].Type(), want[i][j], want[i][j].Type())
			}
		}
	}
}

// countRows counts the rows of a table, and its distinct ids.
func countRows(t *testing.T, s offline.Store, table string) (rows, ids int64) {
	t.Helper()
	_, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: table + "_count", SQL: "SELECT CAST('all' AS VARCHAR) AS k, CAST('2024-01-01 00:00:00' AS TIMESTAMP) AS t, " +
		"count(*) AS n, count(DISTINCT id) AS ids FROM " + offline.QuoteIdent(table)})
	if err != nil {
		t.Fatalf("counting %s: %v", table, err)
	}
	n := readTable(t, s, table+"_count", "k", "t", "n")
	d := readTable(t, s, table+"_count", "k", "t", "ids")
	return n[0][2].Int64(), d[0][2].Int64()
}

func testWriteCreatesAndAppends(t *testing.T, s offline.Store) {
	write(t, s, "predictions", writeCols, writeFirst, nil)
	requireRows(t, readWritten(t, s, "predictions"), writeFirst, "after the first call")
	write(t, s, "predictions", writeCols, writeSecond, nil)
	requireRows(t, readWritten(t, s, "predictions"), sortedByID(writeFirst, writeSecond), "after the second call")

	// The table has the documented column types.
	cols, err := s.Describe(t.Context(), &offline.DescribeParams{SQL: "SELECT * FROM predictions"})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cols {
		if c.Name != writeCols[i].Name || c.Type != writeCols[i].Type {
			t.Errorf("column %d is %s %s (%s), want %s %s", i+1, c.Name, c.EngineType, c.Type, writeCols[i].Name, writeCols[i].Type)
		}
	}
	// A table the store created by other means, of the same value types, takes rows too.
	loadTable(t, s, "loaded", sampleCols, sampleRows)
	cols5 := make([]resource.Column, len(sampleCols))
	for i, c := range sampleCols {
		cols5[i] = resource.Column{Name: c.Name, Type: c.Type}
	}
	write(t, s, "loaded", cols5, [][]value.Value{{str("d"), ts(4), i64(4), f64(4.5), yes}}, nil)
	if got := readTable(t, s, "loaded", "id", "ts", "n"); len(got) != len(sampleRows)+1 || !got[3][2].Equal(i64(4)) {
		t.Fatalf("appending to a loaded table: %v", got)
	}
}

func testWriteReplace(t *testing.T, s offline.Store) {
	cols := []resource.Column{{Name: "id", Type: value.String}, {Name: "ts", Type: value.Timestamp}, {Name: "run", Type: value.Int64}}
	run := func(id string, r int64) []value.Value { return []value.Value{str(id), ts(1), i64(r)} }
	write(t, s, "scores", cols, [][]value.Value{run("a", 1), run("b", 1), run("c", 1)}, nil)
	write(t, s, "scores", cols, [][]value.Value{run("d", 2), run("e", 2)}, nil)
	// Run 1 again (a retried job): its rows are replaced, run 2's are kept.
	write(t, s, "scores", cols, [][]value.Value{run("f", 1)}, &offline.Match{Column: "run", Value: i64(1)})
	got := readTable(t, s, "scores", "id", "ts", "run")
	want := [][]value.Value{run("d", 2), run("e", 2), run("f", 1)}
	requireRows(t, got, want, "after replacing run 1")

	// A replace on a table not yet there creates it.
	write(t, s, "fresh", cols, [][]value.Value{run("a", 1)}, &offline.Match{Column: "run", Value: i64(1)})
	requireRows(t, readTable(t, s, "fresh", "id", "ts", "run"), [][]value.Value{run("a", 1)}, "a replace creating the table")

	// A replace whose rows fail deletes nothing.
	_, err := s.WriteRows(t.Context(), &offline.WriteRowsParams{Table: "scores", Columns: cols,
		Rows: &sliceSource{rows: [][]value.Value{run("g", 2)}, failAt: 2}, Replace: &offline.Match{Column: "run", Value: i64(2)}})
	if !errors.Is(err, errSource) {
		t.Fatalf("replace with a failing source: %v, want the source's error", err)
	}
	requireRows(t, readTable(t, s, "scores", "id", "ts", "run"), want, "after a failed replace")

	// A match on a column not written, or a null, is refused.
	for _, m := range []offline.Match{{Column: "nope", Value: i64(1)}, {Column: "run", Value: null}, {Column: "run", Value: str("1")}} {
		if _, err := s.WriteRows(t.Context(), &offline.WriteRowsParams{Table: "scores", Columns: cols, Rows: &sliceSource{}, Replace: &m}); err == nil {
			t.Errorf("replace matching %s = %v was accepted", m.Column, m.Value)
		}
	}
	requireRows(t, readTable(t, s, "scores", "id", "ts", "run"), want, "after refused replaces")
}

// manyRows is more rows than engines buffer before sending (DuckDB's
// appender flushes every 2048 rows; pgx's COPY sends every 64 KiB).
func manyRows(prefix string, n int) [][]value.Value {
	g := &genSource{prefix: prefix, n: n}
	var rows [][]value.Value
	for g.Next() {
		rows = append(rows, append([]value.Value(nil), g.Values()...))
	}
	return rows
}

func testWriteFailedRows(t *testing.T, s offline.Store) {
	ctx := t.Context()
	// A first call that fails leaves no table.
	_, err := s.WriteRows(ctx, &offline.WriteRowsParams{Table: "never", Columns: writeCols, Rows: &sliceSource{rows: manyRows("x", 10_000), failAt: 9_000}})
	if !errors.Is(err, errSource) {
		t.Fatalf("first call with a failing source: %v, want the source's error", err)
	}
	if _, err := s.Describe(ctx, &offline.DescribeParams{SQL: "SELECT * FROM never"}); err == nil {
		t.Fatal("a first call that failed left a table behind")
	}

	write(t, s, "kept", writeCols, writeFirst, nil)
	// The source fails after many rows, past what the engine buffers.
	_, err = s.WriteRows(ctx, &offline.WriteRowsParams{Table: "kept", Columns: writeCols, Rows: &sliceSource{rows: manyRows("x", 10_000), failAt: 9_000}})
	if !errors.Is(err, errSource) {
		t.Fatalf("failing source: %v, want the source's error", err)
	}
	requireRows(t, readWritten(t, s, "kept"), writeFirst, "after a failing source")

	// A row the store refuses (a value of another type) fails the call.
	bad := manyRows("y", 5_000)
	bad[4_500][2] = str("not a number")
	_, err = s.WriteRows(ctx, &offline.WriteRowsParams{Table: "kept", Columns: writeCols, Rows: &sliceSource{rows: bad}})
	if err == nil || !strings.Contains(err.Error(), "4501") {
		t.Fatalf("a string in an int64 column: %v, want an error naming row 4501", err)
	}
	requireRows(t, readWritten(t, s, "kept"), writeFirst, "after a refused row")

	// A cancelled context fails the call.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.WriteRows(cctx, &offline.WriteRowsParams{Table: "kept", Columns: writeCols, Rows: &genSource{prefix: "z", n: 10_000}}); err == nil {
		t.Fatal("a cancelled call succeeded")
	}
	requireRows(t, readWritten(t, s, "kept"), writeFirst, "after a cancelled call")
}

func testWriteColumnMismatch(t *testing.T, s offline.Store) {
	write(t, s, "typed", writeCols, writeFirst, nil)
	change := func(f func(cols []resource.Column) []resource.Column) []resource.Column {
		return f(append([]resource.Column(nil), writeCols...))
	}
	cases := []struct {
		what string
		cols []resource.Column
		name string // the column the error names
	}{
		{"another name", change(func(c []resource.Column) []resource.Column { c[2].Name = "count"; return c }), "count"},
		{"another type", change(func(c []resource.Column) []resource.Column { c[3].Type = value.String; return c }), "x"},
		{"another order", change(func(c []resource.Column) []resource.Column { c[2], c[3] = c[3], c[2]; return c }), "x"},
		{"one more", change(func(c []resource.Column) []resource.Column {
			return append(c, resource.Column{Name: "extra", Type: value.Int64})
		}), "extra"},
		{"one fewer", change(func(c []resource.Column) []resource.Column { return c[:6] }), "s"},
	}
	for _, c := range cases {
		rows := manyRows("m", 3)
		for i := range rows {
			rows[i] = rows[i][:min(len(rows[i]), len(c.cols))]
			for len(rows[i]) < len(c.cols) {
				rows[i] = append(rows[i], null)
			}
			for j, col := range c.cols {
				if !rows[i][j].IsNull() && rows[i][j].Type() != col.Type {
					rows[i][j] = null
				}
			}
		}
		_, err := s.WriteRows(t.Context(), &offline.WriteRowsParams{Table: "typed", Columns: c.cols, Rows: &sliceSource{rows: rows}})
		if err == nil {
			t.Errorf("%s: rows of other columns were written", c.what)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "typed") || !strings.Contains(msg, c.name) {
			t.Errorf("%s: error %q does not name the table and column %s", c.what, msg, c.name)
		}
	}
	requireRows(t, readWritten(t, s, "typed"), writeFirst, "after refused writes")
}

// testWriteTableReplaced: a table replaced by CreateTable, or dropped,
// between two writes of the same columns is checked again (a store may
// remember the tables it wrote).
func testWriteTableReplaced(t *testing.T, s offline.Store) {
	write(t, s, "scores", writeCols, writeFirst, nil)
	loadTable(t, s, "scores", sampleCols, sampleRows)
	_, err := s.WriteRows(t.Context(), &offline.WriteRowsParams{Table: "scores", Columns: writeCols, Rows: &sliceSource{rows: writeSecond}})
	if err == nil || !strings.Contains(err.Error(), "table scores does not have the columns of the rows written") {
		t.Fatalf("writing to a table CreateTable replaced with other columns: %v, want the error of other columns", err)
	}
	if got := readTable(t, s, "scores", "id", "ts", "n"); len(got) != len(sampleRows) {
		t.Fatalf("the replaced table has %d rows after a refused write, want its %d", len(got), len(sampleRows))
	}
	if err := s.DropTable(t.Context(), &offline.DropTableParams{Table: "scores"}); err != nil {
		t.Fatal(err)
	}
	write(t, s, "scores", writeCols, writeSecond, nil)
	requireRows(t, readWritten(t, s, "scores"), sortedByID(writeSecond), "a table written again after a drop")
	// Dropped right after a write, it is created again by the next one.
	if err := s.DropTable(t.Context(), &offline.DropTableParams{Table: "scores"}); err != nil {
		t.Fatal(err)
	}
	write(t, s, "scores", writeCols, writeFirst, nil)
	requireRows(t, readWritten(t, s, "scores"), writeFirst, "a table written right after a drop")
}

func testWriteEmpty(t *testing.T, s offline.Store) {
	n, err := s.WriteRows(t.Context(), &offline.WriteRowsParams{Table: "empty", Columns: writeCols, Rows: &sliceSource{}})
	if err != nil || n != 0 {
		t.Fatalf("writing no rows: %d, %v", n, err)
	}
	cols, err := s.Describe(t.Context(), &offline.DescribeParams{SQL: "SELECT * FROM empty"})
	if err != nil {
		t.Fatalf("the table of an empty write: %v", err)
	}
	if len(cols) != len(writeCols) {
		t.Fatalf("the table of an empty write has columns %v, want %v", cols, writeCols)
	}
	for i, c := range cols {
		if c.Name != writeCols[i].Name || c.Type != writeCols[i].Type {
			t.Errorf("column %d is %s %s, want %s %s", i+1, c.Name, c.Type, writeCols[i].Name, writeCols[i].Type)
		}
	}
	if got := readWritten(t, s, "empty"); len(got) != 0 {
		t.Fatalf("the table of an empty write has rows %v", got)
	}
	// Writing no rows again checks the columns.
	if _, err := s.WriteRows(t.Context(), &offline.WriteRowsParams{Table: "empty", Columns: writeCols[:3], Rows: &sliceSource{}}); err == nil {
		t.Fatal("writing no rows of other columns succeeded")
	}
}

func testWriteConcurrent(t *testing.T, s offline.Store) {
	const writers, each = 3, 5_000
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[w] = s.WriteRows(t.Context(), &offline.WriteRowsParams{Table: "shared", Columns: writeCols,
				Rows: &genSource{prefix: fmt.Sprintf("w%d-", w), n: each}})
		}()
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", w, err)
		}
	}
	if n, ids := countRows(t, s, "shared"); n != writers*each || ids != writers*each {
		t.Fatalf("after %d concurrent writers of %d rows: %d rows, %d ids; want %d", writers, each, n, ids, writers*each)
	}
}

func testWriteLargeStream(t *testing.T, s offline.Store) {
	const n = 200_000
	got, err := s.WriteRows(t.Context(), &offline.WriteRowsParams{Table: "large", Columns: writeCols, Rows: &genSource{prefix: "e", n: n}})
	if err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Fatalf("WriteRows returned %d, want %d", got, n)
	}
	if rows, ids := countRows(t, s, "large"); rows != n || ids != n {
		t.Fatalf("the table has %d rows, %d ids; want %d", rows, ids, n)
	}
	// The last row reads back whole.
	if _, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: "large_last", SQL: "SELECT * FROM large WHERE id = 'e0200000'"}); err != nil {
		t.Fatal(err)
	}
	g := &genSource{prefix: "e", n: n, i: n - 1}
	g.Next()
	want := [][]value.Value{g.Values()}
	requireRows(t, readWritten(t, s, "large_last"), want, "the last row")
}
