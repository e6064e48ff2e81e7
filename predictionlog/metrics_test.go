package predictionlog

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// Run counts each failed tick while the offline store is down, and
// nothing once shipping works.
func TestRunCountsShipFailures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "off.duckdb")
	down := duckdbStore(t, path)
	c := newCoordinator(t, down)
	must(t, down.Close()) // unreachable
	l, err := Open(Config{WAL: WALConfig{Dir: t.TempDir()}, Records: Predictions{}, Coordinator: c, ShipInterval: 10 * time.Millisecond})
	must(t, err)
	l.Logger.Log(answered("purchase:default", 5, time.Now().UTC()))
	must(t, l.WAL.Flush())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Shipper.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for l.Shipper.Failures() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	must(t, <-done)
	if n := l.Shipper.Failures(); n < 3 {
		t.Fatalf("Failures() = %d after 10 s of ticks against a closed store; want at least 3", n)
	}
	if l.Shipper.Shipped() != 0 {
		t.Errorf("Shipped() = %d with the store down", l.Shipper.Shipped())
	}

	up := duckdbStore(t, filepath.Join(t.TempDir(), "up.duckdb"))
	c.Offline = up
	failed := l.Shipper.Failures()
	ctx, cancel = context.WithCancel(t.Context())
	go func() { done <- l.Shipper.Run(ctx) }()
	for l.Shipper.Shipped() < 5 && time.Now().Before(deadline.Add(10*time.Second)) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	must(t, <-done)
	if l.Shipper.Shipped() != 5 || l.Shipper.Failures() != failed {
		t.Errorf("once the store is up: shipped %d (want 5), failures %d (want still %d)", l.Shipper.Shipped(), l.Shipper.Failures(), failed)
	}
	must(t, l.Close(t.Context()))
}
