package predictionlog

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/offline/offlineduckdb"
	"github.com/slipway-ml/slipway/registry/registrysqlite"
	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// demoAnswer is one answered prediction shaped like the demo endpoint's:
// 8 features (counts, amounts, a flag, three categories).
func demoAnswer(i int, at time.Time) *serving.Answered {
	p, c := float64(i%100)/100, 0
	if p > 0.5 {
		c = 1
	}
	feats := []string{"opens_30d", "clicks_30d", "orders_count", "avg_order_value", "is_unsubscribed", "subscriber_region", "signup_channel", "shop_category"}
	row := []value.Value{value.FromInt64(int64(i % 30)), value.FromInt64(int64(i % 7)), value.FromInt64(int64(i % 12)), value.FromFloat64(42.5 + float64(i%50)),
		value.FromBool(i%9 == 0), value.FromString([]string{"north", "south", "east", "west"}[i%4]), value.FromString("organic"), value.FromString("fashion")}
	st := make([]serving.Status, len(feats))
	for j := range st {
		st[j] = serving.Found
	}
	// Encoded as the demo's logistic regression encodes it: the four
	// numbers as they are, the flag, and the three categories one-hot.
	enc := make([]float64, 27)
	enc[0], enc[1], enc[2], enc[3] = float64(i%30), float64(i%7), float64(i%12), 42.5+float64(i%50)
	if i%9 == 0 {
		enc[4] = 1
	}
	enc[5+i%4], enc[9+i%7], enc[16+i%11] = 1, 1, 1
	return &serving.Answered{Time: at, Response: &serving.PredictResponse{Endpoint: "purchase:default", Model: "purchase_model", Alias: "production", Version: 3,
		Task: model.TaskBinaryClassification, Features: feats,
		Predictions: []serving.Prediction{{ID: model.NewPredictionID(at), Entity: fmt.Sprintf("sub_%d", i), Model: "purchase_model", Version: 3, Probability: &p, Class: &c}}},
		Rows: [][]value.Value{row}, Statuses: [][]serving.Status{st}, Overridden: [][]bool{make([]bool, len(feats))}, Encoded: enc}
}

// BenchmarkShip measures shipping logged predictions shaped like the
// demo's (8 features) from the WAL into an embedded DuckDB table, in
// batches of a second at 11,000 predictions a second: the work the
// prediction log adds to a server beyond the append, DuckDB's commits and
// checkpoints included.
func BenchmarkShip(b *testing.B) {
	dir := b.TempDir()
	off, err := offlineduckdb.New(b.Context(), offlineduckdb.Config{Path: filepath.Join(dir, "off.duckdb")})
	if err != nil {
		b.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			off.Close()
		}
	}()
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
	const perShip = 11000
	at := time.Now()
	var cpu time.Duration // the process's CPU time while shipping, DuckDB's threads included
	b.ResetTimer()
	for n := range b.N {
		b.StopTimer()
		for i := range perShip {
			l.Logger.Log(demoAnswer(n*perShip+i, at))
		}
		if err := l.WAL.Flush(); err != nil {
			b.Fatal(err)
		}
		before := processCPU()
		b.StartTimer()
		got, err := l.Shipper.Ship(b.Context())
		if err != nil || got != perShip {
			b.Fatalf("shipped %d, %v", got, err)
		}
		b.StopTimer()
		cpu += processCPU() - before
		b.StartTimer()
	}
	// Closing checkpoints what DuckDB's WAL still holds: work the
	// records cause, which a larger checkpoint_threshold only defers.
	before := processCPU()
	l.Close(b.Context())
	off.Close()
	closed = true
	cpu += processCPU() - before
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perShip), "ns/record")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*perShip), "cpu-ns/record")
	if fi, err := os.Stat(filepath.Join(dir, "off.duckdb")); err == nil {
		b.ReportMetric(float64(fi.Size())/float64(b.N*perShip), "disk-B/record")
	}
}

// processCPU is the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
