package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/jackc/pgx/v5"
)

// PostgresSchema returns the PostgreSQL connection string for tests and a
// schema name no other test uses. When the test ends, the schema is
// dropped with everything in it, on a connection of its own, after the
// cleanups the test registers later (so its stores are closed first).
func PostgresSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	dsn = Postgres(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema = "slipway_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return dsn, schema
}
