package predictionlog

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/offline/offlineduckdb"
	"github.com/slipway-ml/slipway/registry/registrysqlite"
)

// BenchmarkShip measures shipping logged predictions (one per call, two
// features) from the WAL into an embedded DuckDB table: the work the
// prediction log adds to a server beyond the append.
func BenchmarkShip(b *testing.B) {
	dir := b.TempDir()
	off, err := offlineduckdb.New(b.Context(), offlineduckdb.Config{Path: filepath.Join(dir, "off.duckdb")})
	if err != nil {
		b.Fatal(err)
	}
	defer off.Close()
	reg, err := registrysqlite.New(b.Context(), registrysqlite.Config{Path: filepath.Join(dir, "reg.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	c := &coordinator.Coordinator{Registry: reg, Offline: off}
	l, err := Open(Config{WAL: WALConfig{Dir: filepath.Join(dir, "log")}, Records: Predictions{}, Coordinator: c})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close(b.Context())
	const perShip = 10000
	at := time.Now()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for range perShip {
			l.Logger.Log(answered("buy:default", 1, at))
		}
		if err := l.WAL.Flush(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n, err := l.Shipper.Ship(b.Context())
		if err != nil || n != perShip {
			b.Fatalf("shipped %d, %v", n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perShip), "ns/record")
}
