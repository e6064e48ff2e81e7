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

// TestCheckpointThreshold: DuckDB checkpoints at the configured size of
// its write-ahead log (256MiB by default, not DuckDB's 16MB); a bad size is
// refused when the store opens.
func TestCheckpointThreshold(t *testing.T) {
	for give, want := range map[string]string{"": "256.0 MiB", "1GiB": "1.0 GiB"} {
		s, err := offlineduckdb.New(t.Context(), offlineduckdb.Config{Path: filepath.Join(t.TempDir(), "o.duckdb"), CheckpointThreshold: give})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := s.Query(t.Context(), &offline.QueryParams{SQL: "SELECT current_setting('checkpoint_threshold')"})
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for rows.Next() {
			got = rows.Values()[0].Str()
		}
		rows.Close()
		s.Close()
		if got != want {
			t.Errorf("checkpoint_threshold %q: DuckDB says %q, want %q", give, got, want)
		}
	}
	if _, err := offlineduckdb.New(t.Context(), offlineduckdb.Config{CheckpointThreshold: "a lot"}); err == nil {
		t.Error("New with checkpoint threshold \"a lot\" succeeded")
	}
}
