package offlineduckdb_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/offlineduckdb"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

var logCols = []resource.Column{
	{Name: "id", Type: value.String},
	{Name: "at", Type: value.Timestamp},
	{Name: "batch", Type: value.String},
}

// logRows streams n rows of batch b: ids b-0, b-1, ….
type logRows struct {
	b    string
	n, i int
	row  []value.Value
}

func (r *logRows) Next() bool {
	if r.i == r.n {
		return false
	}
	r.row = []value.Value{value.FromString(fmt.Sprintf("%s-%d", r.b, r.i)), value.FromMicros(int64(r.i)), value.FromString(r.b)}
	r.i++
	return true
}
func (r *logRows) Values() []value.Value { return r.row }
func (r *logRows) Err() error            { return nil }

func openAt(t *testing.T, path string) *offlineduckdb.Store {
	t.Helper()
	s, err := offlineduckdb.New(t.Context(), offlineduckdb.Config{Path: path, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeLog(t *testing.T, s offline.Store, table, batch string, n int, replace bool) {
	t.Helper()
	p := &offline.WriteRowsParams{Table: table, Columns: logCols, Rows: &logRows{b: batch, n: n}, Log: true}
	if replace {
		p.Replace = &offline.Match{Column: "batch", Value: value.FromString(batch)}
	}
	if _, err := s.WriteRows(t.Context(), p); err != nil {
		t.Fatalf("writing batch %s: %v", batch, err)
	}
}

// queryInt runs a query of one integer.
func queryInt(t *testing.T, s offline.Store, sql string) int64 {
	t.Helper()
	rows, err := s.Query(t.Context(), &offline.QueryParams{SQL: sql})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("%s: no row (%v)", sql, rows.Err())
	}
	return rows.Values()[0].Int64()
}

// parquetFiles counts the Parquet files in dir.
func parquetFiles(t *testing.T, dir string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

// TestLogFilesMerge: a log written in many small batches keeps every row
// once while its files are merged into fewer; the merged files stay on
// disk for the grace period, and are gone once the database reopens.
func TestLogFilesMerge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "offline.duckdb")
	dir := path + ".logs/events"
	s := openAt(t, path)
	const batches, per = 100, 3
	for i := range batches {
		writeLog(t, s, "events", fmt.Sprintf("b%03d", i), per, false)
	}
	count := func(s offline.Store) (rows, ids int64) {
		return queryInt(t, s, "SELECT count(*) FROM events"), queryInt(t, s, "SELECT count(DISTINCT id) FROM events")
	}
	if rows, ids := count(s); rows != batches*per || ids != batches*per {
		t.Fatalf("after %d writes of %d rows: %d rows, %d distinct ids", batches, per, rows, ids)
	}
	live := queryInt(t, s, "SELECT count(*) FROM slipway_log_files WHERE table_name = 'events' AND retired_at IS NULL")
	retired := queryInt(t, s, "SELECT count(*) FROM slipway_log_files WHERE table_name = 'events' AND retired_at IS NOT NULL")
	// 100 files of 3 rows: six merges of 16 into files of 48 rows, 4 left.
	if live != 10 || retired != 96 {
		t.Errorf("live files %d, retired %d; want 10 and 96", live, retired)
	}
	if got := parquetFiles(t, dir); got != int(live+retired) {
		t.Errorf("%d files on disk, want the %d live and %d retired (within the grace)", got, live, retired)
	}

	// A batch already merged, written again with Replace, is there once,
	// with its new rows.
	writeLog(t, s, "events", "b007", 2, true)
	if rows, ids := count(s); rows != batches*per-1 || ids != rows {
		t.Fatalf("after replacing a merged batch of %d rows by 2: %d rows, %d distinct ids", per, rows, ids)
	}
	if n := queryInt(t, s, "SELECT count(*) FROM events WHERE batch = 'b007'"); n != 2 {
		t.Fatalf("the replaced batch has %d rows, want 2", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened: the retired files are deleted (no query can be reading
	// them), the rows are all there.
	s = openAt(t, path)
	defer s.Close()
	live = queryInt(t, s, "SELECT count(*) FROM slipway_log_files WHERE table_name = 'events'")
	if got := parquetFiles(t, dir); got != int(live) {
		t.Errorf("after reopening, %d files on disk, want the %d listed", got, live)
	}
	if rows, _ := count(s); rows != batches*per-1 {
		t.Errorf("after reopening: %d rows, want %d", rows, batches*per-1)
	}
}

// TestLogFilesAfterACrashAndAMove: a file no write committed (the process
// died between writing it and recording it) is deleted when the database
// opens, and a data directory moved elsewhere still reads its logs.
func TestLogFilesAfterACrashAndAMove(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "a", "offline.duckdb")
	s := openAt(t, path)
	for i := range 3 {
		writeLog(t, s, "events", fmt.Sprintf("b%d", i), 5, false)
	}
	s.Close()
	stray := filepath.Join(path+".logs", "events", "stray.parquet")
	if err := os.WriteFile(stray, []byte("half a file"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "a"), filepath.Join(root, "b")); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(root, "b", "offline.duckdb")
	s = openAt(t, moved)
	defer s.Close()
	if _, err := os.Stat(filepath.Join(moved+".logs", "events", "stray.parquet")); !os.IsNotExist(err) {
		t.Errorf("the uncommitted file is still there: %v", err)
	}
	if n := queryInt(t, s, "SELECT count(*) FROM events"); n != 15 {
		t.Errorf("the moved log has %d rows, want 15", n)
	}
	writeLog(t, s, "events", "b3", 5, false)
	if n := queryInt(t, s, "SELECT count(*) FROM events"); n != 20 {
		t.Errorf("after one more write, the moved log has %d rows, want 20", n)
	}
}

// TestLogFilesDrop: dropping a log table removes its view, and its files
// once no query can be reading them; a table of the same name written
// again starts empty.
func TestLogFilesDrop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "offline.duckdb")
	s := openAt(t, path)
	writeLog(t, s, "events", "b0", 5, false)
	if err := s.DropTable(t.Context(), &offline.DropTableParams{Table: "events"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Query(t.Context(), &offline.QueryParams{SQL: "SELECT * FROM events"}); err == nil {
		t.Error("the dropped log still reads")
	}
	writeLog(t, s, "events", "b1", 2, false)
	if n := queryInt(t, s, "SELECT count(*) FROM events"); n != 2 {
		t.Errorf("the log written again has %d rows, want 2", n)
	}
	s.Close()
	s = openAt(t, path)
	defer s.Close()
	if got := parquetFiles(t, path+".logs/events"); got != 1 {
		t.Errorf("after reopening, %d files, want the one of the new log", got)
	}
}

// TestLogFilesQueriesSeeWholeWrites: while writes add and merge files, a
// reader always sees whole batches.
func TestLogFilesQueriesSeeWholeWrites(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "offline.duckdb"))
	defer s.Close()
	writeLog(t, s, "events", "b000", 7, false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i < 60; i++ {
			writeLog(t, s, "events", fmt.Sprintf("b%03d", i), 7, false)
		}
	}()
	deadline := time.After(time.Minute)
	for reads := 0; ; reads++ {
		select {
		case <-done:
			if reads == 0 {
				t.Error("no read ran during the writes")
			}
			return
		case <-deadline:
			t.Fatal("the writes did not finish in a minute")
		default:
		}
		if n := queryInt(t, s, "SELECT count(*) FROM events"); n%7 != 0 {
			t.Fatalf("a read saw %d rows: part of a batch", n)
		}
	}
}
