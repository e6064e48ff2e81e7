package offlinepg_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/offlinepg"
)

// BenchmarkExportTrainingSet compares Slipway's generated point-in-time join
// with the LATERAL query an engineer would write by hand over the same
// tables, both exported to CSV with COPY … TO STDOUT into a file. The hand
// written query gets what its author would add: an index on (entity, ts) of
// every feature table; it has no tie rule, no casts and no timestamp
// formatting. Slipway does not use those indexes: it pre-aggregates each
// feature into an indexed temporary table per export, and that build is
// part of its time. SLIPWAY_BENCH_ROWS sets the label rows (default 200,000);
// entities are a tenth of that, and each of the 5 feature tables has 5 rows
// per entity at pseudo-random times over a year.
func BenchmarkExportTrainingSet(b *testing.B) {
	rows := benchRows(b, 200_000)
	ctx := context.Background()
	dsn, schema := testenv.PostgresSchema(b)
	s, err := offlinepg.New(ctx, offlinepg.Config{DSN: dsn, Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET search_path = "+offline.QuoteIdent(schema)); err != nil {
		b.Fatal(err)
	}
	const features = 5
	start := time.Now()
	p := buildBenchTables(b, conn, rows, features)
	b.Logf("built %d label rows and %d feature tables of %d rows in %s", rows, features, rows/2, time.Since(start).Round(time.Millisecond))

	dir := b.TempDir()
	report := func(b *testing.B) {
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	b.Run("slipway", func(b *testing.B) {
		out := filepath.Join(dir, "slipway.csv")
		for b.Loop() {
			n, err := s.ExportTrainingSet(ctx, &offline.ExportParams{TrainingSet: p, Format: "csv", Path: out})
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
		out := filepath.Join(dir, "handwritten.csv")
		query := "COPY (" + handwrittenQuery(features) + ") TO STDOUT WITH (FORMAT csv, HEADER)"
		for b.Loop() {
			f, err := os.Create(out)
			if err != nil {
				b.Fatal(err)
			}
			w := bufio.NewWriterSize(f, 1<<20)
			tag, err := conn.PgConn().CopyTo(ctx, w, query)
			if err != nil {
				b.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			f.Close()
			if tag.RowsAffected() != int64(rows) {
				b.Fatalf("exported %d rows, want %d", tag.RowsAffected(), rows)
			}
		}
		report(b)
	})
}

// buildBenchTables generates the tables inside PostgreSQL, deterministically
// (hash of the row number), and returns the training set over them.
func buildBenchTables(b *testing.B, conn *pgx.Conn, rows, features int) *offline.TrainingSetParams {
	b.Helper()
	entities := max(rows/10, 1)
	// hash(i, seed) is a non-negative pseudo-random bigint.
	hash := func(expr string, seed int) string {
		return fmt.Sprintf("(hashint8(%s + %d)::bigint + 2147483648)", expr, seed*100_000_000)
	}
	stmts := []string{fmt.Sprintf(`CREATE TABLE labels AS
SELECT %s %% %d AS entity,
       TIMESTAMP '2024-01-01' + make_interval(secs => %s %% 31536000) AS ts,
       %s %% 2 AS label
FROM generate_series(1, %d) AS r(i)`, hash("i", 1), entities, hash("i", 2), hash("i", 3), rows)}
	p := &offline.TrainingSetParams{
		Label:      offline.Dataset{Table: "labels", EntityColumn: "entity", ValueColumn: "label", TimestampColumn: "ts"},
		LabelName:  "label",
		EntityName: "entity",
	}
	for f := range features {
		stmts = append(stmts, fmt.Sprintf(`CREATE TABLE f%d AS
SELECT i %% %d AS entity,
       TIMESTAMP '2024-01-01' + make_interval(secs => %s %% 31536000) AS ts,
       CAST(%s %% 10000 AS double precision) / 100 AS value
FROM generate_series(0, %d) AS r(i)`, f, entities, hash("i", 10+2*f), hash("i", 11+2*f), entities*5-1),
			fmt.Sprintf("CREATE INDEX ON f%d (entity, ts)", f))
		p.Features = append(p.Features, offline.FeatureColumn{
			Dataset: offline.Dataset{Table: fmt.Sprintf("f%d", f), EntityColumn: "entity", ValueColumn: "value", TimestampColumn: "ts"},
			Name:    fmt.Sprintf("feature_%d", f),
		})
	}
	stmts = append(stmts, "ANALYZE")
	for _, q := range stmts {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	return p
}

// handwrittenQuery is the natural LATERAL query over the benchmark tables.
func handwrittenQuery(features int) string {
	sel, joins := "SELECT l.entity, l.ts AS timestamp", ""
	for f := range features {
		sel += fmt.Sprintf(", f%d.value AS feature_%d", f, f)
		joins += fmt.Sprintf("\nLEFT JOIN LATERAL (SELECT value FROM f%d WHERE f%d.entity = l.entity AND f%d.ts <= l.ts ORDER BY f%d.ts DESC LIMIT 1) f%d ON true", f, f, f, f, f)
	}
	return sel + ", l.label\nFROM labels l" + joins
}

// BenchmarkReadLatest reads the latest values of three columns (double
// precision, text, boolean, a tenth of each null) of a 1M-row table with
// 100,000 entities (SLIPWAY_BENCH_ROWS sets the rows), all rows streamed
// through Go: together in one ReadLatest, one column alone, and with the
// query ReadLatest ran before it took several columns (DISTINCT ON, one
// query per column) for each column in turn.
func BenchmarkReadLatest(b *testing.B) {
	rows := benchRows(b, 1_000_000)
	ctx := context.Background()
	dsn, schema := testenv.PostgresSchema(b)
	s, err := offlinepg.New(ctx, offlinepg.Config{DSN: dsn, Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	hash := func(seed int) string { return fmt.Sprintf("(hashint8(i + %d)::bigint + 2147483648)", seed*100_000_000) }
	for _, q := range []string{
		"SET search_path = " + offline.QuoteIdent(schema),
		fmt.Sprintf(`CREATE TABLE f AS
SELECT i %% %d AS entity,
       TIMESTAMP '2024-01-01' + make_interval(secs => %s %% 72000) AS ts,
       CASE WHEN %s %% 10 > 0 THEN CAST(%s %% 10000 AS double precision) / 100 END AS x,
       CASE WHEN %s %% 10 > 0 THEN 'v' || %s %% 1000 END AS s,
       CASE WHEN %s %% 10 > 0 THEN %s %% 2 = 0 END AS b
FROM generate_series(0, %d) AS r(i)`, max(rows/10, 1), hash(1), hash(2), hash(3), hash(4), hash(5), hash(6), hash(7), rows-1),
		"ANALYZE f",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	read := func(cols ...string) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				rs, err := s.ReadLatest(ctx, &offline.ReadLatestParams{Table: "f", EntityColumn: "entity", TimestampColumn: "ts", ValueColumns: cols, AsOf: time.Now()})
				if err != nil {
					b.Fatal(err)
				}
				for rs.Next() {
				}
				if err := rs.Close(); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("together", read("x", "s", "b"))
	b.Run("one_column", read("x"))
	b.Run("per_column_before", func(b *testing.B) {
		for b.Loop() {
			for _, v := range []string{"x", "s", "b"} {
				rs, err := conn.Query(ctx, `SELECT DISTINCT ON (e) CAST(e AS text) AS entity, v AS value, t AS "timestamp"
FROM (SELECT entity AS e, `+v+` AS v, ts AS t FROM f WHERE entity IS NOT NULL AND ts IS NOT NULL) AS s
ORDER BY e, t DESC, v DESC NULLS LAST`)
				if err != nil {
					b.Fatal(err)
				}
				for rs.Next() {
					if _, err := rs.Values(); err != nil {
						b.Fatal(err)
					}
				}
				if rs.Close(); rs.Err() != nil {
					b.Fatal(rs.Err())
				}
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
