package offlinetest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/value"
)

// sourceCases are the cases of CheckSource and of relative file paths.
var sourceCases = map[string]func(*testing.T, offline.Store){
	"RelativeFileIsInDir":      testSourceQueryRelative,
	"Table":                    testCheckSourceTable,
	"BadValueBeyondSample":     testCheckSourceBadValue,
	"FractionInIntegerColumn":  testCheckSourceFraction,
	"BadTimestampBeyondSample": testCheckSourceBadTimestamp,
	"EmptyAndHeaderOnly":       testCheckSourceEmpty,
	"DeclaredColumns":          testCheckSourceDeclared,
	"MissingFile":              testCheckSourceMissing,
	"FileChangedAfterCheck":    testSourceChangedAfterCheck,
	"EmptyParquet":             testCheckSourceEmptyParquet,
}

// beyondSample is a data row past the rows an engine samples to infer CSV
// column types (DuckDB reads 20,480).
const beyondSample = 40001

// writeBigCSV writes id,n,t with 50,000 rows; row beyondSample holds n and t
// as given, every other row a whole n and a valid t.
func writeBigCSV(t *testing.T, n, at string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,n,t\n")
	for i := 1; i <= 50000; i++ {
		if i == beyondSample {
			fmt.Fprintf(&b, "u%d,%s,%s\n", i, n, at)
			continue
		}
		fmt.Fprintf(&b, "u%d,%d,2024-01-01 10:00:00\n", i, i%100)
	}
	file := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func fileSourcesOnly(t *testing.T, s offline.Store) {
	if !s.Capabilities().FileSources {
		t.Skip("store does not read files")
	}
}

// wantSourceError checks that err is a one-paragraph *SourceError about
// file, line and column, containing every hint.
func wantSourceError(t *testing.T, err error, file string, line int64, column string, hints ...string) {
	t.Helper()
	var se *offline.SourceError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a *offline.SourceError", err)
	}
	if se.File != file || se.Line != line || se.Column != column {
		t.Errorf("error is about %s line %d column %q, want %s line %d column %q (%v)", se.File, se.Line, se.Column, file, line, column, err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error has several lines, want one paragraph:\n%v", err)
	}
	for _, h := range hints {
		if !strings.Contains(err.Error(), h) {
			t.Errorf("error %q does not say %q", err, h)
		}
	}
}

func testSourceQueryRelative(t *testing.T, s offline.Store) {
	fileSourcesOnly(t, s)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "e.csv"), []byte("id,n\na,1\nb,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A relative File is relative to Dir, whatever the working directory is.
	p := &offline.SourceQueryParams{File: "data/e.csv", Dir: dir, Format: "csv"}
	if err := s.CheckSource(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	q, err := s.SourceQuery(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: "rel", SQL: q, View: true}); err != nil {
		t.Fatalf("view over %s: %v", q, err)
	}
}

func testCheckSourceTable(t *testing.T, s offline.Store) {
	loadTable(t, s, "sample", sampleCols, sampleRows)
	if err := s.CheckSource(t.Context(), &offline.SourceQueryParams{Table: "sample"}); err != nil {
		t.Fatalf("checking a table source: %v", err)
	}
	if err := s.CheckSource(t.Context(), &offline.SourceQueryParams{Table: "sample", Columns: map[string]value.Type{"x": value.String}}); err == nil {
		t.Error("a table source with declared columns passed; want an error (columns are for CSV files)")
	}
}

func testCheckSourceBadValue(t *testing.T, s offline.Store) {
	fileSourcesOnly(t, s)
	file := writeBigCSV(t, "n/a", "2024-01-01 10:00:00")
	p := &offline.SourceQueryParams{File: file, Format: "csv"}
	wantSourceError(t, s.CheckSource(t.Context(), p), file, beyondSample+1, "n", `"n/a"`, "columns: {n: string}")
	// Declared as text, the file reads whole.
	p.Columns = map[string]value.Type{"n": value.String}
	if err := s.CheckSource(t.Context(), p); err != nil {
		t.Fatalf("with columns {n: string}: %v", err)
	}
	// A declared type that a value does not fit names the declaration.
	p.Columns = map[string]value.Type{"n": value.Float64}
	wantSourceError(t, s.CheckSource(t.Context(), p), file, beyondSample+1, "n", `"n/a"`, "as columns: declares")
}

func testCheckSourceFraction(t *testing.T, s offline.Store) {
	fileSourcesOnly(t, s)
	// The sample says integer; 1.5 would be rounded to 2 without a word.
	file := writeBigCSV(t, "1.5", "2024-01-01 10:00:00")
	p := &offline.SourceQueryParams{File: file, Format: "csv"}
	wantSourceError(t, s.CheckSource(t.Context(), p), file, beyondSample+1, "n", "1.5 is not a whole number", "columns: {n: float64}")
	p.Columns = map[string]value.Type{"n": value.Int64}
	wantSourceError(t, s.CheckSource(t.Context(), p), file, beyondSample+1, "n", "columns: declares it int64")
	p.Columns = map[string]value.Type{"n": value.Float64}
	if err := s.CheckSource(t.Context(), p); err != nil {
		t.Fatalf("with columns {n: float64}: %v", err)
	}
	q, err := s.SourceQuery(p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: "big", SQL: q + " WHERE id = 'u40001'"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Columns[1].Type != value.Float64 {
		t.Fatalf("declared float64 column has type %s (%s)", res.Columns[1].Type, res.Columns[1].EngineType)
	}
	if got := readTable(t, s, "big", "id", "t", "n"); len(got) != 1 || got[0][2] != f64(1.5) {
		t.Fatalf("row %d read as %v, want n = 1.5", beyondSample, got)
	}
}

func testCheckSourceBadTimestamp(t *testing.T, s offline.Store) {
	fileSourcesOnly(t, s)
	file := writeBigCSV(t, "7", "yesterday")
	wantSourceError(t, s.CheckSource(t.Context(), &offline.SourceQueryParams{File: file, Format: "csv"}), file, beyondSample+1, "t", `"yesterday"`, "2026-01-31")
}

func testCheckSourceEmpty(t *testing.T, s offline.Store) {
	fileSourcesOnly(t, s)
	dir := t.TempDir()
	for name, content := range map[string]string{"empty.csv": "", "blank.csv": "\n\n", "header.csv": "id,n,t\n"} {
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		hint := "is empty"
		if name == "header.csv" {
			hint = "no rows"
		}
		wantSourceError(t, s.CheckSource(t.Context(), &offline.SourceQueryParams{File: file, Format: "csv"}), file, 0, "", hint)
	}
}

func testCheckSourceDeclared(t *testing.T, s offline.Store) {
	fileSourcesOnly(t, s)
	file := filepath.Join(t.TempDir(), "e.csv")
	if err := os.WriteFile(file, []byte("id,fare\na,1\nb,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &offline.SourceQueryParams{File: file, Format: "csv", Columns: map[string]value.Type{"price": value.Float64}}
	wantSourceError(t, s.CheckSource(t.Context(), p), file, 0, "price", "no such column", "id, fare")
	p.Columns = map[string]value.Type{"fare": value.Float64}
	if err := s.CheckSource(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	q, err := s.SourceQuery(p)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := s.Describe(t.Context(), &offline.DescribeParams{SQL: q})
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) != 2 || cols[1].Type != value.Float64 {
		t.Fatalf("columns %+v, want fare as float64 as declared", cols)
	}
}

func testCheckSourceMissing(t *testing.T, s offline.Store) {
	fileSourcesOnly(t, s)
	file := filepath.Join(t.TempDir(), "nope.csv")
	wantSourceError(t, s.CheckSource(t.Context(), &offline.SourceQueryParams{File: file, Format: "csv"}), file, 0, "", "no such file")
}

// testSourceChangedAfterCheck: a file that passed CheckSource and then
// changed fails the next read with one paragraph naming file, line and
// column, not the engine's many-line report.
func testSourceChangedAfterCheck(t *testing.T, s offline.Store) {
	fileSourcesOnly(t, s)
	file := writeBigCSV(t, "7", "2024-01-01 10:00:00")
	p := &offline.SourceQueryParams{File: file, Format: "csv"}
	if err := s.CheckSource(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	q, err := s.SourceQuery(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: "big", SQL: q, View: true}); err != nil {
		t.Fatal(err)
	}
	changed := writeBigCSV(t, "n/a", "2024-01-01 10:00:00")
	b, err := os.ReadFile(changed)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateTable(t.Context(), &offline.CreateTableParams{Table: "sums", SQL: "SELECT id, sum(n) AS n FROM big GROUP BY id"})
	wantSourceError(t, err, file, beyondSample+1, "n", `"n/a"`, "changed since plan")
}

// testCheckSourceEmptyParquet: a Parquet file without rows (written by the
// store's own export) is an error like an empty CSV file.
func testCheckSourceEmptyParquet(t *testing.T, s offline.Store) {
	fileSourcesOnly(t, s)
	if !slices.Contains(s.Capabilities().ExportFormats, "parquet") {
		t.Skip("store does not export Parquet")
	}
	loadTable(t, s, "sample", sampleCols, sampleRows)
	if _, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: "none", SQL: "SELECT * FROM sample WHERE id = 'nobody'"}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "none.parquet")
	if _, err := s.ExportTrainingSet(t.Context(), &offline.ExportParams{Format: "parquet", Path: file, TrainingSet: &offline.TrainingSetParams{
		Label: offline.Dataset{Table: "none", EntityColumn: "id", ValueColumn: "x", TimestampColumn: "ts"}, LabelName: "x", EntityName: "id",
	}}); err != nil {
		t.Fatal(err)
	}
	wantSourceError(t, s.CheckSource(t.Context(), &offline.SourceQueryParams{File: file, Format: "parquet"}), file, 0, "", "has no rows")
}
