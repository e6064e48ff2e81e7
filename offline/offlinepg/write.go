package offlinepg

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/value"
)

// engineType is the PostgreSQL type WriteRows creates a column of a value type with.
var engineType = map[value.Type]string{
	value.Int64:     "BIGINT",
	value.Float64:   "DOUBLE PRECISION",
	value.String:    "TEXT",
	value.Bool:      "BOOLEAN",
	value.Timestamp: "TIMESTAMP",
}

// WriteRows implements offline.Store in one transaction: the table is
// created if needed, its columns checked, matching rows deleted, and the
// rows streamed in with COPY; PostgreSQL DDL is transactional, so a failure
// at any point rolls the whole call back, a table it created included.
//
// Calls take the advisory lock CreateTable and DropTable take on the table
// name: exclusively when the table is missing, so two first writers do not
// race to create it (the second waits and finds the first's table), and
// shared when it exists, so writers append side by side while a replace or
// drop of the table waits for them (and they for it).
func (s *Store) WriteRows(ctx context.Context, p *offline.WriteRowsParams) (int64, error) {
	if err := offline.CheckWriteRows(p); err != nil {
		return 0, fmt.Errorf("writing rows to %s: %w", p.Table, err)
	}
	schema, table, err := s.splitName(p.Table)
	if err != nil {
		return 0, fmt.Errorf("writing rows to %s: %w", p.Table, err)
	}
	var n int64
	err = s.withConn(ctx, func(c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			var err error
			n, err = s.writeRows(ctx, tx, schema, table, p)
			return err
		})
	})
	if err != nil {
		return 0, fmt.Errorf("writing rows to %s: %w", p.Table, err)
	}
	return n, nil
}

func (s *Store) writeRows(ctx context.Context, tx pgx.Tx, schema, table string, p *offline.WriteRowsParams) (int64, error) {
	name := offline.QuoteIdent(schema) + "." + offline.QuoteIdent(table)
	kind, err := relationKind(ctx, tx, schema, table)
	if err != nil {
		return 0, err
	}
	lock := `SELECT pg_advisory_xact_lock_shared(hashtext($1))`
	if kind == "" {
		lock = `SELECT pg_advisory_xact_lock(hashtext($1))`
	}
	if _, err := tx.Exec(ctx, lock, schema+"."+table); err != nil {
		return 0, err
	}
	// Looked up again under the lock: another writer may have created the
	// table, or a replace changed it, while this call waited.
	shared := kind != ""
	if kind, err = relationKind(ctx, tx, schema, table); err != nil {
		return 0, err
	}
	switch kind {
	case "":
		if shared {
			return 0, fmt.Errorf("%s was dropped while rows were being written to it: write again to create it", name)
		}
		defs := make([]string, len(p.Columns))
		for i, c := range p.Columns {
			defs[i] = offline.QuoteIdent(c.Name) + " " + engineType[c.Type]
		}
		stmt := "CREATE TABLE " + name + " (" + strings.Join(defs, ", ") + ")"
		s.log.DebugContext(ctx, "write rows", "sql", stmt)
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return 0, err
		}
	case "r", "p":
		have, err := s.describe(ctx, tx.Conn(), "SELECT * FROM "+name)
		if err != nil {
			return 0, err
		}
		if err := offline.CheckTableColumns(p.Table, have, p.Columns); err != nil {
			return 0, err
		}
		if m := p.Replace; m != nil {
			stmt := "DELETE FROM " + name + " WHERE " + offline.QuoteIdent(m.Column) + " = $1"
			s.log.DebugContext(ctx, "write rows", "sql", stmt)
			if _, err := tx.Exec(ctx, stmt, m.Value.Any()); err != nil {
				return 0, err
			}
		}
	case "v":
		return 0, fmt.Errorf("%s is a view, and rows are written to tables: write to another table, or drop the view", p.Table)
	default:
		return 0, fmt.Errorf("%s is not a table (pg_class.relkind %q): write to another table", name, kind)
	}
	names := make([]string, len(p.Columns))
	for i, c := range p.Columns {
		names[i] = c.Name
	}
	src := &copySource{p: p, row: make([]any, len(p.Columns))}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{schema, table}, names, src)
	if err != nil {
		if src.err != nil {
			return 0, src.err // the rows' own error, not pgx's wrapping of it
		}
		return 0, err
	}
	return n, nil
}

// relationKind returns the pg_class.relkind of a table, "" when there is none.
func relationKind(ctx context.Context, tx pgx.Tx, schema, table string) (string, error) {
	var kind string
	err := tx.QueryRow(ctx, `SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2`, schema, table).Scan(&kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return kind, err
}

// copySource feeds a RowSource to CopyFrom, checking each row.
type copySource struct {
	p   *offline.WriteRowsParams
	row []any
	n   int64
	err error
}

func (c *copySource) Next() bool {
	if c.err != nil || !c.p.Rows.Next() {
		return false
	}
	c.n++
	return true
}

func (c *copySource) Values() ([]any, error) {
	values := c.p.Rows.Values()
	if err := offline.CheckRow(c.p.Columns, values, c.n); err != nil {
		c.err = err
		return nil, err
	}
	for i, v := range values {
		c.row[i] = v.Any()
	}
	return c.row, nil
}

func (c *copySource) Err() error {
	if c.err != nil {
		return c.err
	}
	if err := c.p.Rows.Err(); err != nil {
		c.err = fmt.Errorf("reading the rows to write: %w", err)
	}
	return c.err
}
