package offlineduckdb

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/internal/sqltext"
)

// BenchmarkExportTrainingSetOrder measures what the documented row order
// (sqltext.TrainingSetOrder) costs, on BenchmarkExportTrainingSet's tables:
// each round runs, one after the other, Slipway's export, the same query
// without its ORDER BY, and the hand-written ASOF query, all to Parquet.
// Taking the minimum over the rounds of each one's wall time and of the
// process's CPU time (user + system, every DuckDB thread) keeps the
// comparison fair on a machine that other work shares: the three queries
// see the same load, and CPU time does not count the time waiting for a
// core. SLIPWAY_BENCH_ROWS sets the label rows (default 1,000,000);
// SLIPWAY_BENCH_ROUNDS the rounds (default 10). Run it with -benchtime 1x.
func BenchmarkExportTrainingSetOrder(b *testing.B) {
	rows := benchRows(b, 1_000_000)
	rounds := 10
	if env := os.Getenv("SLIPWAY_BENCH_ROUNDS"); env != "" {
		var err error
		if rounds, err = strconv.Atoi(env); err != nil || rounds <= 0 {
			b.Fatalf("SLIPWAY_BENCH_ROUNDS=%q: want a positive integer", env)
		}
	}
	ctx := context.Background()
	dir := b.TempDir()
	s, err := New(ctx, Config{Path: filepath.Join(dir, "bench.duckdb")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	p := buildBenchTables(b, s.db, rows, 5)
	query, err := s.trainingSetQuery(ctx, p)
	if err != nil {
		b.Fatal(err)
	}
	order := "\n" + sqltext.TrainingSetOrder(p)
	if !strings.HasSuffix(query, order) {
		b.Fatalf("the training set query does not end in %q", order)
	}
	out := offline.QuoteLiteral(filepath.Join(dir, "out.parquet"))
	variants := []struct{ name, stmt string }{
		{"slipway", "COPY (\n" + query + "\n) TO " + out + " (FORMAT parquet)"},
		{"unordered", "COPY (\n" + strings.TrimSuffix(query, order) + "\n) TO " + out + " (FORMAT parquet)"},
		{"handwritten", handwrittenQuery(5, filepath.Join(dir, "out.parquet"))},
	}
	wall := make([]time.Duration, len(variants))
	cpu := make([]time.Duration, len(variants))
	for b.Loop() {
		for range rounds {
			for i, v := range variants {
				c0, t0 := cpuTime(b), time.Now()
				if _, err := s.db.ExecContext(ctx, v.stmt); err != nil {
					b.Fatal(err)
				}
				w, c := time.Since(t0), cpuTime(b)-c0
				if wall[i] == 0 || w < wall[i] {
					wall[i] = w
				}
				if cpu[i] == 0 || c < cpu[i] {
					cpu[i] = c
				}
			}
		}
	}
	for i, v := range variants {
		b.ReportMetric(wall[i].Seconds(), v.name+"-wall-s")
		b.ReportMetric(cpu[i].Seconds(), v.name+"-cpu-s")
	}
	b.ReportMetric(cpu[0].Seconds()/cpu[2].Seconds(), "cpu-ratio-slipway/handwritten")
	b.ReportMetric(cpu[1].Seconds()/cpu[2].Seconds(), "cpu-ratio-unordered/handwritten")
	b.ReportMetric(wall[0].Seconds()/wall[2].Seconds(), "wall-ratio-slipway/handwritten")
}

// cpuTime is the CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
