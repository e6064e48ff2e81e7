package offlineduckdb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/internal/sqltext"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// engineType is the DuckDB type WriteRows creates a column of a value type with.
var engineType = map[value.Type]string{
	value.Int64:     "BIGINT",
	value.Float64:   "DOUBLE",
	value.String:    "VARCHAR",
	value.Bool:      "BOOLEAN",
	value.Timestamp: "TIMESTAMP",
}

// WriteRows implements offline.Store. Everything happens in one transaction
// on one connection: the table is created if needed, its columns checked,
// matching rows deleted, and the rows streamed in with DuckDB's appender,
// which writes into the connection's open transaction, so a failure at any
// point rolls the whole call back (a table created by the call included).
// Calls writing one table are serialised in the process (like CreateTable),
// since DuckDB refuses two transactions creating the same table.
func (s *Store) WriteRows(ctx context.Context, p *offline.WriteRowsParams) (int64, error) {
	if err := offline.CheckWriteRows(p); err != nil {
		return 0, fmt.Errorf("writing rows to %s: %w", p.Table, err)
	}
	mu, _ := s.tables.LoadOrStore(p.Table, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	n, err := s.writeRows(ctx, p)
	if err != nil {
		return 0, fmt.Errorf("writing rows to %s: %w", p.Table, err)
	}
	return n, nil
}

func (s *Store) writeRows(ctx context.Context, p *offline.WriteRowsParams) (int64, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()

	name := sqltext.QuoteQualified(p.Table)
	// A table this Store wrote with the same columns is still there with
	// them (CreateTable and DropTable forget it): reading the catalog again
	// was a tenth of a prediction log's write.
	cols, known := s.written.Load(p.Table)
	known = known && sameColumns(cols.([]resource.Column), p.Columns)
	kind := "TABLE"
	if !known {
		if kind, err = objectKind(ctx, tx, p.Table); err != nil {
			return 0, err
		}
	}
	switch kind {
	case "":
		defs := make([]string, len(p.Columns))
		for i, c := range p.Columns {
			defs[i] = offline.QuoteIdent(c.Name) + " " + engineType[c.Type]
		}
		stmt := "CREATE TABLE " + name + " (" + strings.Join(defs, ", ") + ")"
		s.log.DebugContext(ctx, "write rows", "sql", stmt)
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return 0, err
		}
	case "VIEW":
		return 0, fmt.Errorf("%s is a view, and rows are written to tables: write to another table, or drop the view", p.Table)
	default:
		if !known {
			have, err := s.describe(ctx, tx, "DESCRIBE "+name)
			if err != nil {
				return 0, err
			}
			if err := offline.CheckTableColumns(p.Table, have, p.Columns); err != nil {
				return 0, err
			}
		}
		if m := p.Replace; m != nil {
			stmt := "DELETE FROM " + name + " WHERE " + offline.QuoteIdent(m.Column) + " = ?"
			s.log.DebugContext(ctx, "write rows", "sql", stmt)
			if _, err := tx.ExecContext(ctx, stmt, driverValue(m.Value)); err != nil {
				return 0, err
			}
		}
	}

	var n int64
	err = conn.Raw(func(dc any) error {
		var err error
		n, err = appendRows(ctx, dc.(driver.Conn), p)
		return err
	})
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	s.written.Store(p.Table, slices.Clone(p.Columns))
	return n, nil
}

// sameColumns reports whether two column lists have the same names and
// value types, in order.
func sameColumns(a, b []resource.Column) bool {
	return slices.EqualFunc(a, b, func(x, y resource.Column) bool { return x.Name == y.Name && x.Type == y.Type })
}

// appendRows streams p.Rows into p.Table with an appender on the
// transaction's connection.
func appendRows(ctx context.Context, dc driver.Conn, p *offline.WriteRowsParams) (n int64, err error) {
	var catalog, schema string
	parts := strings.Split(p.Table, ".")
	switch len(parts) {
	case 2:
		schema = parts[0]
	case 3:
		catalog, schema = parts[0], parts[1]
	}
	a, err := duckdb.NewAppender(dc, catalog, schema, parts[len(parts)-1])
	if err != nil {
		return 0, err
	}
	defer func() {
		// Close flushes what is buffered; on an error the transaction is
		// rolled back, so that flush writes nothing anyone sees.
		if cerr := a.CloseWithCancel(ctx); err == nil {
			err = cerr
		}
	}()
	row := make([]driver.Value, len(p.Columns))
	for p.Rows.Next() {
		n++
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		values := p.Rows.Values()
		if err := offline.CheckRow(p.Columns, values, n); err != nil {
			return n, err
		}
		for i, v := range values {
			if v.Type() == value.String {
				// The appender copies a string's bytes into DuckDB's
				// vector; given as a string, it first copies them into a
				// new []byte of its own.
				row[i] = unsafe.Slice(unsafe.StringData(v.Str()), len(v.Str()))
				continue
			}
			row[i] = driverValue(v)
		}
		if err := a.AppendRow(row...); err != nil {
			return n, fmt.Errorf("row %d: %w", n, err)
		}
	}
	if err := p.Rows.Err(); err != nil {
		return n, fmt.Errorf("reading the rows to write: %w", err)
	}
	return n, nil
}

// driverValue is what the appender and query arguments take for v.
func driverValue(v value.Value) driver.Value {
	switch v.Type() {
	case value.Int64:
		return v.Int64()
	case value.Float64:
		return v.Float64()
	case value.String:
		return v.Str()
	case value.Bool:
		return v.Bool()
	case value.Timestamp:
		return v.Time()
	}
	return nil
}
