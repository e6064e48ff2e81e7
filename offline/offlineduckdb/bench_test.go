package offlineduckdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/offline"
)

// BenchmarkExportTrainingSet compares Slipway's generated point-in-time join
// with the ASOF query an engineer would write by hand (no tie pre-aggregation,
// no casts, no guards), both exported to Parquet from the same tables in the
// same process. SLIPWAY_BENCH_ROWS sets the label rows (default 1,000,000);
// entities are a tenth of that, and each of the 5 feature tables has 5 rows
// per entity at pseudo-random times over a year.
func BenchmarkExportTrainingSet(b *testing.B) {
	rows := benchRows(b, 1_000_000)
	ctx := context.Background()
	dir := b.TempDir()
	s, err := New(ctx, Config{Path: filepath.Join(dir, "bench.duckdb")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const features = 5
	start := time.Now()
	p := buildBenchTables(b, s.db, rows, features)
	b.Logf("built %d label rows and %d feature tables of %d rows in %s", rows, features, rows/2, time.Since(start).Round(time.Millisecond))

	report := func(b *testing.B) {
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	b.Run("slipway", func(b *testing.B) {
		out := filepath.Join(dir, "slipway.parquet")
		for b.Loop() {
			n, err := s.ExportTrainingSet(ctx, &offline.ExportParams{TrainingSet: p, Format: "parquet", Path: out})
			if err != nil {
				b.Fatal(err)
			}
			if n != int64(rows) {
				b.Fatalf("exported %d rows, want %d", n, rows)
			}
		}
		report(b)
	})
	b.Run("handwritten", func(b *testing.B) {
		out := filepath.Join(dir, "handwritten.parquet")
		query := handwrittenQuery(features, out)
		for b.Loop() {
			if _, err := s.db.ExecContext(ctx, query); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
}

// buildBenchTables generates the tables inside DuckDB, deterministically
// (hash of the row number), and returns the training set over them.
func buildBenchTables(b *testing.B, db *sql.DB, rows, features int) *offline.TrainingSetParams {
	b.Helper()
	entities := max(rows/10, 1)
	stmts := []string{fmt.Sprintf(`CREATE TABLE labels AS
SELECT CAST(hash(i, 'entity') %% %d AS BIGINT) AS entity,
       TIMESTAMP '2024-01-01' + to_seconds(CAST(hash(i, 'ts') %% 31536000 AS BIGINT)) AS ts,
       CAST(hash(i, 'label') %% 2 AS BIGINT) AS label
FROM range(%d) r(i)`, entities, rows)}
	p := &offline.TrainingSetParams{
		Label:      offline.Dataset{Table: "labels", EntityColumn: "entity", ValueColumn: "label", TimestampColumn: "ts"},
		LabelName:  "label",
		EntityName: "entity",
	}
	for f := range features {
		stmts = append(stmts, fmt.Sprintf(`CREATE TABLE f%d AS
SELECT i %% %d AS entity,
       TIMESTAMP '2024-01-01' + to_seconds(CAST(hash(i, 'ts%d') %% 31536000 AS BIGINT)) AS ts,
       CAST(hash(i, 'v%d') %% 10000 AS DOUBLE) / 100 AS value
FROM range(%d) r(i)`, f, entities, f, f, entities*5))
		p.Features = append(p.Features, offline.FeatureColumn{
			Dataset: offline.Dataset{Table: fmt.Sprintf("f%d", f), EntityColumn: "entity", ValueColumn: "value", TimestampColumn: "ts"},
			Name:    fmt.Sprintf("feature_%d", f),
		})
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	return p
}

// handwrittenQuery is the natural ASOF query over the benchmark tables.
func handwrittenQuery(features int, out string) string {
	sel, joins := "SELECT l.entity, l.ts AS timestamp", ""
	for f := range features {
		sel += fmt.Sprintf(", f%d.value AS feature_%d", f, f)
		joins += fmt.Sprintf("\nASOF LEFT JOIN f%d ON l.entity = f%d.entity AND l.ts >= f%d.ts", f, f, f)
	}
	return "COPY (" + sel + ", l.label\nFROM labels l" + joins + "\n) TO " + offline.QuoteLiteral(out) + " (FORMAT parquet)"
}

// BenchmarkReadLatest reads the latest values of three columns (DOUBLE,
// VARCHAR, BOOLEAN, a tenth of each null) of a 1M-row table with 100,000
// entities (SLIPWAY_BENCH_ROWS sets the rows), all rows streamed through Go:
// together in one ReadLatest, one column alone, and with the query ReadLatest
// ran before it took several columns (row_number per entity, one query per
// column) for each column in turn.
func BenchmarkReadLatest(b *testing.B) {
	rows := benchRows(b, 1_000_000)
	ctx := context.Background()
	s, err := New(ctx, Config{Path: filepath.Join(b.TempDir(), "bench.duckdb")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	_, err = s.db.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE f AS
SELECT i %% %d AS entity,
       TIMESTAMP '2024-01-01' + to_seconds(CAST(hash(i, 'ts') %% 72000 AS BIGINT)) AS ts,
       CASE WHEN hash(i, 'n1') %% 10 > 0 THEN CAST(hash(i, 'x') %% 10000 AS DOUBLE) / 100 END AS x,
       CASE WHEN hash(i, 'n2') %% 10 > 0 THEN 'v' || CAST(hash(i, 's') %% 1000 AS VARCHAR) END AS s,
       CASE WHEN hash(i, 'n3') %% 10 > 0 THEN hash(i, 'b') %% 2 = 0 END AS b
FROM range(%d) r(i)`, max(rows/10, 1), rows))
	if err != nil {
		b.Fatal(err)
	}
	drain := func(b *testing.B, rs offline.Rows) {
		for rs.Next() {
		}
		if err := rs.Err(); err != nil {
			b.Fatal(err)
		}
		rs.Close()
	}
	read := func(cols ...string) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				rs, err := s.ReadLatest(ctx, &offline.ReadLatestParams{Table: "f", EntityColumn: "entity", TimestampColumn: "ts", ValueColumns: cols, AsOf: time.Now()})
				if err != nil {
					b.Fatal(err)
				}
				drain(b, rs)
			}
		}
	}
	b.Run("together", read("x", "s", "b"))
	b.Run("one_column", read("x"))
	b.Run("per_column_before", func(b *testing.B) {
		for b.Loop() {
			for _, v := range []string{"x", "s", "b"} {
				rs, err := s.query(ctx, `SELECT CAST(e AS VARCHAR) AS entity, v AS value, t AS "timestamp"
FROM (SELECT entity AS e, `+v+` AS v, ts AS t FROM f WHERE entity IS NOT NULL AND ts IS NOT NULL)
QUALIFY row_number() OVER (PARTITION BY e ORDER BY t DESC, v DESC NULLS LAST) = 1`)
				if err != nil {
					b.Fatal(err)
				}
				drain(b, rs)
			}
		}
	})
}

// benchRows reads SLIPWAY_BENCH_ROWS, or gives def.
func benchRows(b *testing.B, def int) int {
	env := os.Getenv("SLIPWAY_BENCH_ROWS")
	if env == "" {
		return def
	}
	n, err := strconv.Atoi(env)
	if err != nil || n <= 0 {
		b.Fatalf("SLIPWAY_BENCH_ROWS=%q: want a positive integer", env)
	}
	return n
}
