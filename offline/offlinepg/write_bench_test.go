package offlinepg_test

import (
	"context"
	"testing"

	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/offlinepg"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// benchSource generates n prediction-like rows of benchCols without holding them.
type benchSource struct {
	n, i int
	row  []value.Value
}

var benchCols = []resource.Column{
	{Name: "entity", Type: value.Int64}, {Name: "score", Type: value.Float64}, {Name: "version", Type: value.Int64},
	{Name: "model", Type: value.String}, {Name: "ts", Type: value.Timestamp}, {Name: "run", Type: value.String},
}

func (s *benchSource) Next() bool {
	if s.i >= s.n {
		return false
	}
	s.i++
	s.row[0] = value.FromInt64(int64(s.i))
	s.row[1] = value.FromFloat64(float64(s.i%1000) / 1000)
	s.row[2] = value.FromInt64(3)
	s.row[3] = value.FromString("churn")
	s.row[4] = value.FromMicros(1_700_000_000_000_000 + int64(s.i))
	s.row[5] = value.FromString("run-2024-01-01")
	return true
}

func (s *benchSource) Values() []value.Value { return s.row }
func (s *benchSource) Err() error            { return nil }

// BenchmarkWriteRows appends 100,000 rows of 6 columns per call to one table.
func BenchmarkWriteRows(b *testing.B) {
	const rows = 100_000
	ctx := context.Background()
	dsn, schema := testenv.PostgresSchema(b)
	s, err := offlinepg.New(ctx, offlinepg.Config{DSN: dsn, Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		n, err := s.WriteRows(ctx, &offline.WriteRowsParams{Table: "predictions", Columns: benchCols,
			Rows: &benchSource{n: rows, row: make([]value.Value, len(benchCols))}})
		if err != nil {
			b.Fatal(err)
		}
		if n != rows {
			b.Fatalf("wrote %d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
