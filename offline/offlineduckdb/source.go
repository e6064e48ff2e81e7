package offlineduckdb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/internal/sqltext"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// csvSampleRows is how many rows DuckDB's CSV sniffer reads to infer column
// types (read_csv's default sample_size), named in errors about rows beyond it.
const csvSampleRows = 20480

// engineTypes are the DuckDB types of declared CSV column types.
var engineTypes = map[value.Type]string{
	value.Int64:     "BIGINT",
	value.Float64:   "DOUBLE",
	value.String:    "VARCHAR",
	value.Bool:      "BOOLEAN",
	value.Timestamp: "TIMESTAMP",
}

// SourceQuery selects every row of a file (read_csv / read_parquet) or a
// table. A CSV file's columns take the types of p.Columns; the others are
// inferred by DuckDB from a sample of the rows (CheckSource checks the rest).
func (s *Store) SourceQuery(p *offline.SourceQueryParams) (string, error) {
	return sourceQuery(p, nil)
}

// sourceQuery is SourceQuery with extra engine types for some columns, which
// take precedence over p.Columns, and extra read_csv options ("parallel = false").
func sourceQuery(p *offline.SourceQueryParams, override map[string]string, options ...string) (string, error) {
	switch {
	case p.File != "" && p.Table != "":
		return "", errors.New("source has both a file and a table: give one")
	case p.Table != "":
		if len(p.Columns) > 0 {
			return "", errors.New("columns applies to CSV files; a table has its own column types")
		}
		return "SELECT * FROM " + sqltext.QuoteQualified(p.Table), nil
	case p.File == "":
		return "", errors.New("source has neither a file nor a table")
	}
	path := offline.QuoteLiteral(p.Path())
	switch p.Format {
	case "csv":
		types := map[string]string{}
		for name, t := range p.Columns {
			et, ok := engineTypes[t]
			if !ok {
				return "", fmt.Errorf("column %q: type %q: use one of int64, float64, string, bool, timestamp", name, t)
			}
			types[name] = et
		}
		for name, et := range override {
			types[name] = et
		}
		args := append([]string{path}, options...)
		if len(types) == 0 {
			return "SELECT * FROM read_csv(" + strings.Join(args, ", ") + ")", nil
		}
		names := make([]string, 0, len(types))
		for name := range types {
			names = append(names, name)
		}
		slices.Sort(names)
		fields := make([]string, len(names))
		for i, name := range names {
			fields[i] = offline.QuoteLiteral(name) + ": " + offline.QuoteLiteral(types[name])
		}
		args = append(args, "types = {"+strings.Join(fields, ", ")+"}")
		return "SELECT * FROM read_csv(" + strings.Join(args, ", ") + ")", nil
	case "parquet":
		if len(p.Columns) > 0 {
			return "", errors.New("columns applies to CSV files; a Parquet file has its own column types")
		}
		return "SELECT * FROM read_parquet(" + path + ")", nil
	}
	return "", fmt.Errorf("file format %q: %w (use csv or parquet)", p.Format, offline.ErrUnsupported)
}

// CheckSource checks a file source whole: it exists and has rows, every
// declared column exists, and every value converts to its column's type.
// DuckDB infers a CSV column's type from the first rows only and then
// fails on (or, for a fraction in an integer column, rounds) a value further
// down; reading the whole file here finds that value at plan time, at the
// cost of one parallel scan of the file. Tables are not checked: their
// columns have types.
func (s *Store) CheckSource(ctx context.Context, p *offline.SourceQueryParams) error {
	if _, err := sourceQuery(p, nil); err != nil || p.Table != "" {
		return err
	}
	path := p.Path()
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return &offline.SourceError{File: path, Msg: "no such file"}
		}
		return &offline.SourceError{File: path, Msg: fmt.Sprintf("cannot be read: %v", errors.Unwrap(err))}
	}
	if p.Format == "csv" {
		if err := checkCSVLines(path); err != nil {
			return err
		}
	}
	if err := s.checkDeclared(ctx, p); err != nil {
		return err
	}
	q, err := s.SourceQuery(p)
	if err != nil {
		return err
	}
	cols, err := s.describe(ctx, s.db, "DESCRIBE "+q)
	if err != nil {
		return &offline.SourceError{File: path, Msg: fmt.Sprintf("cannot be read as %s: %s", strings.ToUpper(p.Format), firstLine(err))}
	}
	if p.Format != "csv" {
		var n int64
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM ("+q+")").Scan(&n); err != nil {
			return &offline.SourceError{File: path, Msg: firstLine(err)}
		}
		if n == 0 {
			return &offline.SourceError{File: path, Msg: "has no rows; a source needs rows to describe and read"}
		}
		return nil
	}
	// One scan converts every column. Integer columns are read as DOUBLE and
	// checked for fractions, which DuckDB would round silently.
	asDouble := map[string]string{}
	exprs := []string{"count(*)"}
	for _, c := range cols {
		col := offline.QuoteIdent(c.Name)
		if offline.ColumnType(c.EngineType) == value.Int64 {
			asDouble[c.Name] = "DOUBLE"
			exprs = append(exprs, "count(*) FILTER (WHERE "+col+" <> trunc("+col+"))")
			continue
		}
		exprs = append(exprs, "count("+col+")")
	}
	scan, err := sourceQuery(p, asDouble)
	if err != nil {
		return err
	}
	counts := make([]int64, len(exprs))
	dest := make([]any, len(exprs))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := s.db.QueryRowContext(ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM ("+scan+")").Scan(dest...); err != nil {
		return csvError(path, err, cols, p.Columns)
	}
	if counts[0] == 0 {
		return &offline.SourceError{File: path, Msg: "has a header but no rows; a source needs rows to describe and read"}
	}
	for i, c := range cols {
		if asDouble[c.Name] != "" && counts[i+1] > 0 {
			return s.fractionError(ctx, p, asDouble, c, counts[i+1])
		}
	}
	return nil
}

// checkDeclared reports a column declared in p.Columns that the file does
// not have (DuckDB's own error would not say which file or what to do).
func (s *Store) checkDeclared(ctx context.Context, p *offline.SourceQueryParams) error {
	if len(p.Columns) == 0 {
		return nil
	}
	path := p.Path()
	q, err := sourceQuery(&offline.SourceQueryParams{File: path, Format: p.Format}, nil)
	if err != nil {
		return err
	}
	inferred, err := s.describe(ctx, s.db, "DESCRIBE "+q)
	if err != nil {
		return &offline.SourceError{File: path, Msg: fmt.Sprintf("cannot be read as %s: %s", strings.ToUpper(p.Format), firstLine(err))}
	}
	names := make([]string, len(inferred))
	for i, c := range inferred {
		names[i] = c.Name
	}
	declared := make([]string, 0, len(p.Columns))
	for name := range p.Columns {
		declared = append(declared, name)
	}
	slices.Sort(declared)
	for _, name := range declared {
		if !slices.Contains(names, name) {
			return &offline.SourceError{File: path, Column: name, Msg: fmt.Sprintf("declared in columns:, but the file has no such column; its columns are: %s", strings.Join(names, ", "))}
		}
	}
	return nil
}

// fractionError reports the first value that is not a whole number in an
// integer column of a CSV file read by scan (with that column as DOUBLE).
func (s *Store) fractionError(ctx context.Context, p *offline.SourceQueryParams, asDouble map[string]string, c resource.Column, n int64) error {
	path, declared := p.Path(), p.Columns[c.Name] != ""
	col := offline.QuoteIdent(c.Name)
	// Read in file order (one thread), so row_number is the row of the file.
	ordered, err := sourceQuery(p, asDouble, "parallel = false")
	if err != nil {
		return err
	}
	var row int64
	var v float64
	err = s.db.QueryRowContext(ctx, "SELECT n, v FROM (SELECT row_number() OVER () AS n, "+col+" AS v FROM ("+ordered+")) WHERE v <> trunc(v) ORDER BY n LIMIT 1").Scan(&row, &v)
	if err != nil {
		return &offline.SourceError{File: path, Column: c.Name, Msg: firstLine(err)}
	}
	why := fmt.Sprintf("DuckDB inferred %s from the first %d rows and would round it", c.EngineType, csvSampleRows)
	if declared {
		why = "columns: declares it int64, and it would be rounded"
	}
	count := "the only such value"
	if n > 1 {
		count = fmt.Sprintf("one of %d such values", n)
	}
	return &offline.SourceError{File: path, Line: row + 1, Column: c.Name, Msg: fmt.Sprintf(
		"%s is not a whole number (%s), but %s; declare the column's type on the source: columns: {%s: float64}",
		strconv.FormatFloat(v, 'g', -1, 64), count, why, c.Name)}
}

// checkCSVLines reports a CSV file that is empty or holds one line only
// (a header without rows), which DuckDB would read as one column named
// column0 or as one row of data.
func checkCSVLines(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return &offline.SourceError{File: path, Msg: fmt.Sprintf("cannot be read: %v", errors.Unwrap(err))}
	}
	defer f.Close()
	r := bufio.NewReader(f)
	lines := 0
	for lines < 2 {
		line, err := r.ReadString('\n')
		if strings.TrimSpace(line) != "" {
			lines++
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return &offline.SourceError{File: path, Msg: fmt.Sprintf("cannot be read: %v", err)}
		}
	}
	switch lines {
	case 0:
		return &offline.SourceError{File: path, Msg: "is empty; a CSV source needs a header line and rows"}
	case 1:
		return &offline.SourceError{File: path, Msg: "has one line (a header) and no rows; a CSV source needs a header line and rows"}
	}
	return nil
}

// readError turns DuckDB's many-line CSV error, met when a file source is
// read after plan checked it and the file has changed since, into one
// paragraph naming the file, line and column; other errors are returned as
// they are.
func readError(err error) error {
	if err == nil || !csvLine.MatchString(err.Error()) {
		return err
	}
	path := "CSV file"
	if m := csvFile.FindStringSubmatch(err.Error()); m != nil {
		path = m[1]
	}
	se := csvError(path, err, nil, nil).(*offline.SourceError)
	se.Msg += " (the file changed since plan read it whole; slipway plan checks it again)"
	return se
}

var (
	csvFile       = regexp.MustCompile(`(?m)^\s*file = (.+)$`)
	csvLine       = regexp.MustCompile(`CSV Error on Line: (\d+)`)
	csvConversion = regexp.MustCompile(`Error when converting column "((?:[^"]|"")*)"\. Could not convert string "(.*)" to '([^']+)'`)
)

// csvError turns DuckDB's many-line CSV error into one paragraph: the line,
// the column, the value, and what to do. cols are the columns as read, with
// their engine types; declared are the source's declared types (both nil
// when the query is not CheckSource's).
func csvError(path string, err error, cols []resource.Column, declared map[string]value.Type) error {
	msg := err.Error()
	var line int64
	if m := csvLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.ParseInt(m[1], 10, 64)
	}
	m := csvConversion.FindStringSubmatch(msg)
	if m == nil {
		return &offline.SourceError{File: path, Line: line, Msg: csvProblem(msg)}
	}
	name, v := strings.ReplaceAll(m[1], `""`, `"`), m[2]
	engineType := m[3]
	for _, c := range cols {
		if c.Name == name {
			engineType = c.EngineType
		}
	}
	t, ok := declared[name]
	if !ok && cols == nil && strings.Contains(msg, "manually set") {
		// A read after plan: DuckDB says whether the type was declared.
		t, ok = offline.ColumnType(engineType), true
	}
	if ok {
		return &offline.SourceError{File: path, Line: line, Column: name, Msg: fmt.Sprintf(
			"%q is not a %s as columns: declares; fix the value, or declare another type (columns: {%s: string} reads it as text, to convert in a transformation)",
			v, t, name)}
	}
	want := value.String
	if _, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
		want = value.Float64
	}
	hint := fmt.Sprintf("declare the column's type on the source, such as columns: {%s: %s}", name, want)
	if offline.ColumnType(engineType) == value.Timestamp {
		hint = fmt.Sprintf("write it like 2026-01-31 14:05:00 or 2026-01-31T14:05:00Z, or declare columns: {%s: string} and parse it in a transformation (strptime)", name)
	}
	return &offline.SourceError{File: path, Line: line, Column: name, Msg: fmt.Sprintf(
		"%q is not a %s, the type DuckDB inferred from the first %d rows; fix the value, or %s",
		v, engineType, csvSampleRows, hint)}
}

// csvProblem is the description of a CSV error other than a conversion:
// the first line that says what is wrong, without the reader's settings.
func csvProblem(msg string) string {
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "Original Line") || csvLine.MatchString(l) && len(l) < 40 {
			continue
		}
		return strings.TrimPrefix(strings.TrimPrefix(l, "Invalid Input Error: "), "Conversion Error: ")
	}
	return firstLine(errors.New(msg))
}

// firstLine is the first line of an engine error, which says what is wrong;
// the rest repeats the query or lists settings.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return strings.TrimSpace(s)
}
