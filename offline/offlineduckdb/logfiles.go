package offlineduckdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/internal/sqltext"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// Log tables (offline.WriteRowsParams.Log: the prediction log, feedback)
// are kept as Parquet files, one directory per table beside the database
// (Store.logDir), and read through a view of the table's name that lists
// them. Writing a batch as a Parquet file from Go costs about a third of
// appending it to a DuckDB table (docs/design/prediction-log.md).
//
// Two tables of the database say what the files are: slipway_logs lists
// the log tables, slipway_log_files their files, each with its row count
// and, once left out of the view, when it was retired. A write
//  1. writes its rows into a new file, synced, that no view lists yet;
//  2. in one transaction, records the file and replaces the view.
//
// Readers see all of a write or none of it. A crash between the two
// leaves a file nothing lists, deleted when the database next opens.
//
// Files are merged by tiers: a file of n rows is of tier ⌊log₁₆ n⌋, and
// mergeFanIn files of one tier are merged by DuckDB into one of a higher
// tier, so a log keeps fewer than mergeFanIn files per tier. A file left
// out of the view (merged, or rewritten by a Replace) is deleted after
// RetiredFileGrace, so that queries which listed it finish.
const (
	logsTable     = "slipway_logs"
	logFilesTable = "slipway_log_files"
	mergeFanIn    = 16
	// maxMergeTier: files of this tier (16⁵, about a million rows) or
	// above are not merged again. Each merge rewrites a row once more; a
	// query over many files pays about half a millisecond a file.
	maxMergeTier = 5
	// flushRows is how many rows writeParquet buffers before writing them.
	flushRows = 1 << 16
)

// RetiredFileGrace is how long a log's file left out of its view is kept
// on disk, so that queries which started before finish reading it.
const RetiredFileGrace = 10 * time.Minute

// logState is what a Store knows of a log table it wrote: the columns
// it checked, and the files its view lists. The Store's process is the
// only one writing the database (DuckDB locks the file), so this stays
// true until the table is dropped or replaced (forgetLog), and a write
// skips reading it again from the catalog.
type logState struct {
	columns []resource.Column
	files   []logFile
}

// logFile is a Parquet file of a log table, named inside the table's
// directory.
type logFile struct {
	name string
	rows int64
}

// tier is the merge tier of a file of rows rows: ⌊log₁₆ rows⌋.
func tier(rows int64) int {
	if rows <= 1 {
		return 0
	}
	return (bits.Len64(uint64(rows)) - 1) / 4
}

// tableDir is the directory of a log table's files.
func (s *Store) tableDir(table string) string {
	return filepath.Join(s.logDir, url.PathEscape(table))
}

// openLogs creates the tables that list the log tables and their files,
// and, as nothing reads the logs yet: deletes retired files and files no
// log lists (a write cut short), and points the views at logDir when the
// database was moved.
func (s *Store) openLogs(ctx context.Context) error {
	for _, stmt := range []string{
		"CREATE TABLE IF NOT EXISTS " + logsTable + " (table_name VARCHAR NOT NULL, dir VARCHAR NOT NULL)",
		"CREATE TABLE IF NOT EXISTS " + logFilesTable + " (table_name VARCHAR NOT NULL, file VARCHAR NOT NULL, rows BIGINT NOT NULL, retired_at TIMESTAMP)",
	} {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if err := s.removeRetired(ctx, time.Now()); err != nil {
		return err
	}
	if err := s.removeUnlisted(ctx); err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT table_name FROM "+logsTable+" WHERE dir <> ?", s.logDir)
	if err != nil {
		return err
	}
	moved, err := scanStrings(rows)
	if err != nil {
		return err
	}
	for _, table := range moved {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			files, err := liveLogFiles(ctx, tx, table)
			if err != nil || len(files) == 0 {
				return err // a view of no files lists no paths
			}
			if err := s.replaceLogView(ctx, tx, table, nil, files); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, "UPDATE "+logsTable+" SET dir = ? WHERE table_name = ?", s.logDir, table)
			return err
		})
		if err != nil {
			return fmt.Errorf("pointing the view %s at %s: %w", table, s.tableDir(table), err)
		}
	}
	return nil
}

// removeUnlisted deletes the files of the log directory that
// slipway_log_files does not list: files of writes that did not commit.
func (s *Store) removeUnlisted(ctx context.Context) error {
	dirs, err := os.ReadDir(s.logDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT table_name || '/' || file FROM "+logFilesTable)
	if err != nil {
		return err
	}
	listed, err := scanStrings(rows)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, l := range listed {
		table, file, _ := strings.Cut(l, "/")
		known[filepath.Join(s.tableDir(table), file)] = true
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(s.logDir, d.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, f := range files {
			if path := filepath.Join(dir, f.Name()); !known[path] {
				s.log.InfoContext(ctx, "removing a log file no write committed", "file", path)
				if err := os.Remove(path); err != nil {
					return err
				}
			}
		}
		os.Remove(dir) // when empty
	}
	return nil
}

// removeRetired deletes the files retired at or before t.
func (s *Store) removeRetired(ctx context.Context, t time.Time) error {
	rows, err := s.db.QueryContext(ctx, "SELECT table_name || '/' || file FROM "+logFilesTable+" WHERE retired_at <= ?", t.UTC())
	if err != nil {
		return err
	}
	retired, err := scanStrings(rows)
	if err != nil {
		return err
	}
	for _, r := range retired {
		table, file, _ := strings.Cut(r, "/")
		if err := os.Remove(filepath.Join(s.tableDir(table), file)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if _, err := s.db.ExecContext(ctx, "DELETE FROM "+logFilesTable+" WHERE table_name = ? AND file = ?", table, file); err != nil {
			return err
		}
	}
	return nil
}

// forgetLog makes table no log (it is dropped, or replaced by CreateTable):
// its files are retired, and deleted after the grace. The caller holds
// the table's lock.
func (s *Store) forgetLog(ctx context.Context, tx *sql.Tx, table string) error {
	s.logs.Delete(table)
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+logsTable+" WHERE table_name = ?", table); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "UPDATE "+logFilesTable+" SET retired_at = ? WHERE table_name = ? AND retired_at IS NULL", time.Now().UTC(), table)
	return err
}

func isLog(ctx context.Context, tx *sql.Tx, table string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+logsTable+" WHERE table_name = ?", table).Scan(&n)
	return n > 0, err
}

// liveLogFiles lists the files a log's view reads.
func liveLogFiles(ctx context.Context, q querier, table string) ([]logFile, error) {
	rows, err := q.QueryContext(ctx, "SELECT file, rows FROM "+logFilesTable+" WHERE table_name = ? AND retired_at IS NULL ORDER BY file", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var files []logFile
	for rows.Next() {
		var f logFile
		if err := rows.Scan(&f.name, &f.rows); err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, rows.Err()
}

// writeLog is WriteRows for a log table (the table's lock is held).
func (s *Store) writeLog(ctx context.Context, p *offline.WriteRowsParams) (n int64, err error) {
	dir := s.tableDir(p.Table)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	w := &logWrite{dir: dir}
	defer func() {
		if err != nil {
			for _, f := range w.made {
				os.Remove(filepath.Join(dir, f))
			}
		}
	}()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if st, ok := s.logs.Load(p.Table); ok && sameColumns(st.(*logState).columns, p.Columns) {
		w.live = st.(*logState).files
	} else if err := s.prepareLog(ctx, tx, p, w); err != nil {
		return 0, err
	}
	if m := p.Replace; m != nil && len(w.live) > 0 {
		if err := w.replace(ctx, tx, m); err != nil {
			return 0, err
		}
	}
	f, err := writeParquet(ctx, dir, p.Columns, p.Rows)
	if f.name != "" {
		w.made = append(w.made, f.name)
	}
	if err != nil {
		return 0, err
	}
	if f.rows > 0 {
		w.added = append(w.added, f)
	}
	live := w.live
	if w.changed || len(w.added) > 0 || len(w.retired) > 0 {
		if err := s.recordFiles(ctx, tx, p.Table, w.added, w.retired); err != nil {
			return 0, err
		}
		live = slices.DeleteFunc(slices.Clone(w.live), func(l logFile) bool { return slices.Contains(w.retired, l.name) })
		live = append(live, w.added...)
		if err := s.replaceLogView(ctx, tx, p.Table, p.Columns, live); err != nil {
			return 0, err
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	s.logs.Store(p.Table, &logState{columns: slices.Clone(p.Columns), files: live})
	// The rows are in. Merging and deleting retired files are
	// housekeeping: when they fail, the log only keeps more files.
	if err := s.mergeLog(ctx, p.Table); err != nil {
		s.log.WarnContext(ctx, "merging the files of a log table; it keeps more files until the next write", "table", p.Table, "error", err)
	}
	if last := s.retiredChecked.Load(); time.Since(time.Unix(0, last)) > time.Minute && s.retiredChecked.CompareAndSwap(last, time.Now().UnixNano()) {
		if err := s.removeRetired(ctx, time.Now().Add(-RetiredFileGrace)); err != nil {
			s.log.WarnContext(ctx, "deleting retired log files", "error", err)
		}
	}
	return f.rows, nil
}

// logWrite is what one writeLog call changes.
type logWrite struct {
	dir     string
	live    []logFile // the files the view lists
	made    []string  // files of this call, deleted when it fails
	added   []logFile // files the view will list
	retired []string  // files the view will no longer list
	changed bool      // the view is replaced even without a file added
}

// prepareLog checks the table a write goes to, in tx, when the Store does
// not know it as a log already: a new table becomes a log, a table written
// without Log (or by a Slipway before log files) moves into a first file,
// and a view that is no log is refused.
func (s *Store) prepareLog(ctx context.Context, tx *sql.Tx, p *offline.WriteRowsParams, w *logWrite) error {
	name := sqltext.QuoteQualified(p.Table)
	kind, err := objectKind(ctx, tx, p.Table)
	if err != nil {
		return err
	}
	log, err := isLog(ctx, tx, p.Table)
	if err != nil {
		return err
	}
	if kind == "VIEW" && !log {
		return fmt.Errorf("%s is a view, and rows are written to tables: write to another table, or drop the view", p.Table)
	}
	if kind != "" {
		have, err := s.describe(ctx, tx, "DESCRIBE "+name)
		if err != nil {
			return err
		}
		if err := offline.CheckTableColumns(p.Table, have, p.Columns); err != nil {
			return err
		}
	}
	switch {
	case kind == "":
		w.changed = true
	case log:
		w.live, err = liveLogFiles(ctx, tx, p.Table)
		return err
	default:
		f, err := copyToFile(ctx, tx, w.dir, "SELECT * FROM "+name)
		w.made = append(w.made, f.name)
		if err != nil {
			return fmt.Errorf("moving the table into a Parquet file: %w", err)
		}
		if f.rows > 0 {
			w.added = append(w.added, f)
		}
		if _, err := tx.ExecContext(ctx, "DROP TABLE "+name); err != nil {
			return err
		}
		w.changed = true
	}
	if err := s.forgetLog(ctx, tx, p.Table); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO "+logsTable+" VALUES (?, ?)", p.Table, s.logDir)
	return err
}

// replace rewrites each listed file holding rows m matches without them.
func (w *logWrite) replace(ctx context.Context, tx *sql.Tx, m *offline.Match) error {
	hit, err := filesMatching(ctx, tx, w.dir, w.live, m)
	if err != nil {
		return err
	}
	for _, old := range hit {
		query := "SELECT * FROM read_parquet(" + offline.QuoteLiteral(filepath.Join(w.dir, old)) + ") WHERE " +
			offline.QuoteIdent(m.Column) + " IS DISTINCT FROM " + literal(m.Value)
		f, err := copyToFile(ctx, tx, w.dir, query)
		w.made = append(w.made, f.name)
		if err != nil {
			return fmt.Errorf("rewriting %s without the rows replaced: %w", old, err)
		}
		if f.rows > 0 {
			w.added = append(w.added, f)
		}
		w.retired = append(w.retired, old)
	}
	return nil
}

// sameColumns reports whether two column lists have the same names and
// value types, in order.
func sameColumns(a, b []resource.Column) bool {
	return slices.EqualFunc(a, b, func(x, y resource.Column) bool { return x.Name == y.Name && x.Type == y.Type })
}

// recordFiles lists added files and retires others, in tx.
func (s *Store) recordFiles(ctx context.Context, tx *sql.Tx, table string, added []logFile, retired []string) error {
	for _, f := range added {
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+logFilesTable+" VALUES (?, ?, ?, NULL)", table, f.name, f.rows); err != nil {
			return err
		}
	}
	now := time.Now().UTC()
	for _, r := range retired {
		if _, err := tx.ExecContext(ctx, "UPDATE "+logFilesTable+" SET retired_at = ? WHERE table_name = ? AND file = ?", now, table, r); err != nil {
			return err
		}
	}
	return nil
}

// replaceLogView makes table's view read files; with no files, it is an
// empty relation of columns.
func (s *Store) replaceLogView(ctx context.Context, tx *sql.Tx, table string, columns []resource.Column, files []logFile) error {
	var q strings.Builder
	if len(files) == 0 {
		q.WriteString("SELECT ")
		for i, c := range columns {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("CAST(NULL AS " + engineType[c.Type] + ") AS " + offline.QuoteIdent(c.Name))
		}
		q.WriteString(" WHERE false")
	} else {
		q.WriteString("SELECT * FROM read_parquet([")
		for i, f := range files {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(offline.QuoteLiteral(filepath.Join(s.tableDir(table), f.name)))
		}
		q.WriteString("])")
	}
	stmt := "CREATE OR REPLACE VIEW " + sqltext.QuoteQualified(table) + " AS " + q.String()
	s.log.DebugContext(ctx, "log view", "table", table, "files", len(files))
	_, err := tx.ExecContext(ctx, stmt)
	return err
}

// filesMatching returns the files of live holding a row that m matches.
func filesMatching(ctx context.Context, tx *sql.Tx, dir string, live []logFile, m *offline.Match) ([]string, error) {
	paths := make([]string, len(live))
	for i, f := range live {
		paths[i] = offline.QuoteLiteral(filepath.Join(dir, f.name))
	}
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT filename FROM read_parquet(["+strings.Join(paths, ", ")+"], filename = true) WHERE "+
		offline.QuoteIdent(m.Column)+" = ?", driverValue(m.Value))
	if err != nil {
		return nil, err
	}
	hit, err := scanStrings(rows)
	for i, h := range hit {
		hit[i] = filepath.Base(h)
	}
	return hit, err
}

// mergeLog merges the files of each tier that has mergeFanIn of them,
// lowest tier first, until none has.
func (s *Store) mergeLog(ctx context.Context, table string) error {
	dir := s.tableDir(table)
	for {
		st, ok := s.logs.Load(table)
		if !ok {
			return nil
		}
		live := st.(*logState).files
		var group []logFile
		for t := 0; t < maxMergeTier && group == nil; t++ {
			var of []logFile
			for _, f := range live {
				if tier(f.rows) == t {
					of = append(of, f)
				}
			}
			if len(of) >= mergeFanIn {
				group = of
			}
		}
		if group == nil {
			return nil
		}
		paths := make([]string, len(group))
		names := make([]string, len(group))
		for i, f := range group {
			paths[i] = offline.QuoteLiteral(filepath.Join(dir, f.name))
			names[i] = f.name
		}
		merged, err := copyToFile(ctx, s.db, dir, "SELECT * FROM read_parquet(["+strings.Join(paths, ", ")+"])")
		if err != nil {
			os.Remove(filepath.Join(dir, merged.name))
			return err
		}
		rest := slices.DeleteFunc(slices.Clone(live), func(l logFile) bool { return slices.Contains(names, l.name) })
		rest = append(rest, merged)
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if err := s.recordFiles(ctx, tx, table, []logFile{merged}, names); err != nil {
				return err
			}
			return s.replaceLogView(ctx, tx, table, nil, rest)
		})
		if err != nil {
			os.Remove(filepath.Join(dir, merged.name))
			return err
		}
		s.logs.Store(table, &logState{columns: st.(*logState).columns, files: rest})
		s.log.DebugContext(ctx, "merged log files", "table", table, "files", len(group), "rows", merged.rows)
	}
}

func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// newLogFileName is a file name no other write uses: the time, then
// random digits.
func newLogFileName() string {
	var r [4]byte
	rand.Read(r[:])
	return time.Now().UTC().Format("20060102T150405.000000000") + "-" + hex.EncodeToString(r[:]) + ".parquet"
}

// copyToFile writes the rows of query into a new zstd-compressed Parquet
// file in dir with DuckDB, synced to disk. The name is set even on an
// error, for the caller to delete.
func copyToFile(ctx context.Context, db execer, dir, query string) (logFile, error) {
	f := logFile{name: newLogFileName()}
	path := filepath.Join(dir, f.name)
	res, err := db.ExecContext(ctx, "COPY ("+query+") TO "+offline.QuoteLiteral(path)+" (FORMAT parquet, COMPRESSION zstd)")
	if err != nil {
		return f, err
	}
	if f.rows, err = res.RowsAffected(); err != nil {
		return f, err
	}
	return f, syncFile(path)
}

func syncFile(path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	if err := fh.Sync(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes the names of the files created in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// arrowType is the Arrow type a value type is written to Parquet with;
// DuckDB reads it back as engineType's type. A timestamp has no time zone,
// so DuckDB reads a TIMESTAMP (of UTC, as WriteRows keeps them).
var arrowType = map[value.Type]arrow.DataType{
	value.Int64:     arrow.PrimitiveTypes.Int64,
	value.Float64:   arrow.PrimitiveTypes.Float64,
	value.String:    arrow.BinaryTypes.String,
	value.Bool:      arrow.FixedWidthTypes.Boolean,
	value.Timestamp: &arrow.TimestampType{Unit: arrow.Microsecond},
}

// writeParquet writes rows into a new snappy-compressed Parquet file in
// dir, synced to disk, and returns it. With no rows, no file is left. The
// name is set even on an error, for the caller to delete.
func writeParquet(ctx context.Context, dir string, columns []resource.Column, rows offline.RowSource) (f logFile, err error) {
	fields := make([]arrow.Field, len(columns))
	for i, c := range columns {
		fields[i] = arrow.Field{Name: c.Name, Type: arrowType[c.Type], Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	f.name = newLogFileName()
	path := filepath.Join(dir, f.name)
	fh, err := os.Create(path)
	if err != nil {
		return f, err
	}
	defer func() {
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err == nil && f.rows == 0 {
			err = os.Remove(path)
			f.name = ""
		}
	}()
	// No dictionaries: most columns of a log are unique per row (ids,
	// JSON), and a dictionary of them costs more than it saves. The merges
	// (DuckDB's writer) choose per column.
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithDictionaryDefault(false))
	// The writer closes what it writes to when that is an io.Closer: fh
	// is closed here, after the sync.
	w, err := pqarrow.NewFileWriter(schema, struct{ io.Writer }{fh}, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return f, err
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	flush := func() error {
		rec := b.NewRecordBatch()
		defer rec.Release()
		return w.Write(rec)
	}
	buffered := 0
	for rows.Next() {
		f.rows++
		if f.rows%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return f, err
			}
		}
		values := rows.Values()
		if err := offline.CheckRow(columns, values, f.rows); err != nil {
			return f, err
		}
		for i, v := range values {
			appendArrow(b.Field(i), v)
		}
		if buffered++; buffered == flushRows {
			if err := flush(); err != nil {
				return f, err
			}
			buffered = 0
		}
	}
	if err := rows.Err(); err != nil {
		return f, fmt.Errorf("reading the rows to write: %w", err)
	}
	if buffered > 0 {
		if err := flush(); err != nil {
			return f, err
		}
	}
	if err := w.Close(); err != nil {
		return f, err
	}
	if f.rows == 0 {
		return f, nil
	}
	if err := fh.Sync(); err != nil {
		return f, err
	}
	return f, syncDir(dir)
}

// appendArrow appends v, of the builder's type or null, to b.
func appendArrow(b array.Builder, v value.Value) {
	switch v.Type() {
	case value.Null:
		b.AppendNull()
	case value.Int64:
		b.(*array.Int64Builder).Append(v.Int64())
	case value.Float64:
		b.(*array.Float64Builder).Append(v.Float64())
	case value.String:
		b.(*array.StringBuilder).Append(v.Str())
	case value.Bool:
		b.(*array.BooleanBuilder).Append(v.Bool())
	case value.Timestamp:
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(v.Micros()))
	}
}

// literal is v in DuckDB's SQL, for statements that take no parameters.
func literal(v value.Value) string {
	switch v.Type() {
	case value.String:
		return offline.QuoteLiteral(v.Str())
	case value.Timestamp:
		return offline.TimestampLiteral(v.Time())
	case value.Float64:
		return "CAST(" + offline.QuoteLiteral(v.String()) + " AS DOUBLE)"
	case value.Null:
		return "NULL"
	}
	return v.String() // integers and booleans
}

func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
