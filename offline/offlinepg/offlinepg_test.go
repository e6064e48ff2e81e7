package offlinepg_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/offlinepg"
	"github.com/slipway-ml/slipway/offline/offlinetest"
)

// newStore opens a store in a fresh schema, dropped when the test ends.
func newStore(t *testing.T) offline.Store {
	t.Helper()
	dsn, schema := testenv.PostgresSchema(t) // dropped after Close below
	s, err := offlinepg.New(t.Context(), offlinepg.Config{DSN: dsn, Schema: schema, MaxConns: 2})
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

func TestConfigValidate(t *testing.T) {
	for _, c := range []offlinepg.Config{
		{},
		{DSN: "postgres://localhost/db", MaxConns: -1},
		{DSN: "postgres://localhost/db", Schema: string(make([]byte, 64))},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) succeeded", c)
		}
	}
	c := offlinepg.Config{DSN: "postgres://localhost/db"}
	if err := c.Validate(); err != nil || c.Schema != "slipway" || c.MaxConns != 4 {
		t.Errorf("Validate gave %+v, %v; want schema slipway and 4 connections", c, err)
	}
}

func TestUnsupported(t *testing.T) {
	s := newStore(t)
	if _, err := s.SourceQuery(&offline.SourceQueryParams{File: "events.csv", Format: "csv"}); !errors.Is(err, offline.ErrUnsupported) {
		t.Errorf("SourceQuery of a file: got %v, want ErrUnsupported", err)
	}
	_, err := s.ExportTrainingSet(t.Context(), &offline.ExportParams{Format: "parquet", Path: t.TempDir() + "/x.parquet",
		TrainingSet: &offline.TrainingSetParams{}})
	if !errors.Is(err, offline.ErrUnsupported) {
		t.Errorf("exporting parquet: got %v, want ErrUnsupported", err)
	}
}

// TestTablesGoInTheSchema checks that unqualified names land in the store's
// schema and that a too-long name is refused rather than truncated.
func TestTablesGoInTheSchema(t *testing.T) {
	dsn := testenv.Postgres(t)
	s := newStore(t)
	if _, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: "slipway_transformation__x__v", SQL: "SELECT 1 AS n"}); err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var schema string
	if err := c.QueryRow(t.Context(), "SELECT table_schema FROM information_schema.tables WHERE table_name = 'slipway_transformation__x__v' AND table_schema LIKE 'slipway_test_%'").Scan(&schema); err != nil {
		t.Fatalf("table not found in a test schema: %v", err)
	}
	long := "slipway_transformation__a_name_that_is_far_too_long_for_postgresql__default"
	if _, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: long, SQL: "SELECT 1 AS n"}); err == nil {
		t.Errorf("CreateTable(%q) succeeded; PostgreSQL would truncate the name", long)
	}
}

// TestReplaceTableUnderViews replaces a table read by a chain of views: the
// views are recreated over the new table, and a replace that drops a column
// a view uses fails and keeps everything as it was.
func TestReplaceTableUnderViews(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	create := func(table, sql string, view bool) error {
		_, err := s.CreateTable(ctx, &offline.CreateTableParams{Table: table, SQL: sql, View: view})
		return err
	}
	if err := create("base", "SELECT 'a' AS id, TIMESTAMP '2024-01-01' AS ts, 1 AS n", false); err != nil {
		t.Fatal(err)
	}
	if err := create("v1", "SELECT id, ts, n * 10 AS n FROM base", true); err != nil {
		t.Fatal(err)
	}
	if err := create("v2", "SELECT id, ts, n + 1 AS n FROM v1", true); err != nil {
		t.Fatal(err)
	}
	if err := create("base", "SELECT 'b' AS id, TIMESTAMP '2024-01-02' AS ts, 2 AS n, 0.5 AS extra", false); err != nil {
		t.Fatalf("replacing the base of two views: %v", err)
	}
	read := func() []string {
		rs, err := s.ReadLatest(ctx, &offline.ReadLatestParams{Table: "v2", EntityColumn: "id", TimestampColumn: "ts", ValueColumns: []string{"n"}, AsOf: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var out []string
		for rs.Next() {
			out = append(out, rs.Values()[0].String()+"="+rs.Values()[2].String())
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := read(); len(got) != 1 || got[0] != "b=21" {
		t.Fatalf("v2 over the new base = %v, want [b=21]", got)
	}
	if err := create("base", "SELECT 'c' AS id, TIMESTAMP '2024-01-03' AS ts", false); err == nil {
		t.Fatal("replacing base without the column n that v1 reads succeeded")
	}
	if got := read(); len(got) != 1 || got[0] != "b=21" {
		t.Fatalf("after the failed replace v2 = %v, want [b=21]", got)
	}
}

// TestQuerySettingsDoNotLeak changes a session setting through Query: the
// read-only transaction is rolled back, so the pooled connection keeps the
// store's search_path and later calls find the store's tables.
func TestQuerySettingsDoNotLeak(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if _, err := s.CreateTable(ctx, &offline.CreateTableParams{Table: "kept", SQL: "SELECT 1 AS one"}); err != nil {
		t.Fatal(err)
	}
	for range 4 { // more than the pool's connections
		rs, err := s.Query(ctx, &offline.QueryParams{SQL: "SELECT set_config('search_path', 'nowhere', false) AS path"})
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
		}
		if err := rs.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		rs, err := s.Query(ctx, &offline.QueryParams{SQL: "SELECT one FROM kept"})
		if err != nil {
			t.Fatalf("a query after set_config: %v", err)
		}
		if !rs.Next() || rs.Values()[0].Int64() != 1 {
			t.Fatalf("a query after set_config read no row: %v", rs.Err())
		}
		rs.Close()
	}
}
