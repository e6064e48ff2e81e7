package offlineduckdb_test

import (
	"path/filepath"
	"testing"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/offlineduckdb"
	"github.com/slipway-ml/slipway/offline/offlinetest"
)

func newStore(t *testing.T) offline.Store {
	t.Helper()
	s, err := offlineduckdb.New(t.Context(), offlineduckdb.Config{
		Path:    filepath.Join(t.TempDir(), "data", "offline.duckdb"),
		Threads: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing store: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	offlinetest.Exercise(t, newStore)
}

func TestInMemory(t *testing.T) {
	offlinetest.Exercise(t, func(t *testing.T) offline.Store {
		s, err := offlineduckdb.New(t.Context(), offlineduckdb.Config{MemoryLimit: "1GB"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestConfigValidate(t *testing.T) {
	if _, err := offlineduckdb.New(t.Context(), offlineduckdb.Config{Threads: -1}); err == nil {
		t.Error("New with negative threads succeeded")
	}
	if _, err := offlineduckdb.New(t.Context(), offlineduckdb.Config{MemoryLimit: "lots"}); err == nil {
		t.Error("New with memory limit \"lots\" succeeded")
	}
}
