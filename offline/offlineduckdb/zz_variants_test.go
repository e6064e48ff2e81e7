package offlineduckdb

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestZZVariants(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := New(ctx, Config{Path: filepath.Join(dir, "x.duckdb")})
	defer s.Close()
	p := buildBenchTables(&testing.B{}, s.db, 1000000, 5)
	q, _ := s.trainingSetQuery(ctx, p)
	lt, _ := s.datasetTypes(ctx, p.Label)
	ft, _ := s.datasetTypes(ctx, p.Features[0].Dataset)
	fmt.Println(lt, ft)
	noCase := regexp.MustCompile(`CASE WHEN f\d\.t <= l\.t THEN (f\d\.v) END`).ReplaceAllString(q, "$1")
	noAgg := strings.ReplaceAll(strings.ReplaceAll(q, "max(\"value\")", "\"value\""), "GROUP BY ALL", "")
	noBoth := strings.ReplaceAll(strings.ReplaceAll(noCase, "max(\"value\")", "\"value\""), "GROUP BY ALL", "")
	keyNull := strings.ReplaceAll(noCase, "ON l.entity = ", "ON CASE WHEN l.t IS NOT NULL THEN l.entity END = ")
	keyNull2 := regexp.MustCompile(`ON CAST\(l\.entity AS BIGINT\) = `).ReplaceAllString(noCase, "ON l.entity = ")
	hand := handwrittenQuery(5, filepath.Join(dir, "h.parquet"))
	best := map[string]time.Duration{}
	for round := 0; round < 4; round++ {
		for _, v := range []struct{ name, q string }{{"slipway", q}, {"noCase", noCase}, {"noAgg", noAgg}, {"noBoth", noBoth}, {"keyNull", keyNull}, {"noCastNoCase", keyNull2}} {
			st := time.Now()
			for range 3 {
				if _, err := s.db.Exec("COPY (" + v.q + ") TO '" + filepath.Join(dir, "o.parquet") + "' (FORMAT parquet)"); err != nil {
					t.Fatal(err)
				}
			}
			if d := time.Since(st) / 3; best[v.name] == 0 || d < best[v.name] {
				best[v.name] = d
			}
		}
		st := time.Now()
		for range 3 {
			s.db.Exec(hand)
		}
		if d := time.Since(st) / 3; best["hand"] == 0 || d < best["hand"] {
			best["hand"] = d
		}
	}
	fmt.Println(best)
}
