package offlinepg

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/slipway-ml/slipway/offline"
)

// Query runs p.SQL in a READ ONLY transaction, so the server refuses any
// write (SQLSTATE 25006), functions' writes included, and rolls it back
// when the rows are exhausted or closed: rolled back, not committed, so a
// setting changed with set_config does not outlive the query on the
// pooled connection. The statement is prepared first
// (the extended protocol takes one statement, so "SELECT 1; DROP …" is
// refused before anything runs) to check its columns' types, and one that
// returns no columns (DDL, a DELETE without RETURNING) is refused as not a
// SELECT before it runs.
func (s *Store) Query(ctx context.Context, p *offline.QueryParams) (offline.Rows, error) {
	if strings.TrimSpace(p.SQL) == "" {
		return nil, errors.New("running query: no SQL")
	}
	c, release, err := s.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("running query: %w", err)
	}
	tx, err := c.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		release()
		return nil, fmt.Errorf("running query: %w", err)
	}
	done := func() { rollback(tx); release() }
	s.log.DebugContext(ctx, "query", "sql", p.SQL)
	fields, err := describeFields(ctx, c, p.SQL)
	if err != nil {
		done()
		return nil, fmt.Errorf("running query: %w", queryRunError(ctx, p.SQL, err))
	}
	if len(fields) == 0 {
		done()
		return nil, errors.New("running query: the statement returns no columns, so it is not a SELECT: Query only reads (a statement that writes, such as INSERT, DELETE, CREATE, DROP or COPY, is refused); write tables with transformations")
	}
	names, types := make([]string, len(fields)), make([]string, len(fields))
	for i, f := range fields {
		names[i], types[i] = f.Name, f.Type
	}
	if err := offline.CheckQueryColumns(names, types, ""); err != nil {
		done()
		return nil, fmt.Errorf("running query: %w", err)
	}
	r, err := tx.Query(ctx, p.SQL, offline.QueryArgs(p)...)
	if err != nil {
		done()
		return nil, fmt.Errorf("running query: %w", queryRunError(ctx, p.SQL, err))
	}
	return &queryRows{rows: newRows(r, done), ctx: ctx, sql: p.SQL}, nil
}

// queryRunError maps an error of running sql: the caller's context error
// when ctx ended, a write refused by the read-only transaction, or the
// server's rejection of the SQL as an *offline.QueryError.
func queryRunError(ctx context.Context, sql string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return err
		}
		return fmt.Errorf("%w (%v)", ctxErr, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "25006" { // read_only_sql_transaction
		return fmt.Errorf("the query writes, and Query only reads (write tables with transformations): %w", err)
	}
	if errors.As(err, &pe) && pe.Code == "42601" && strings.Contains(pe.Message, "multiple commands") {
		return fmt.Errorf("the SQL holds several statements: Query runs one SELECT; remove the others: %w", queryError(sql, sql, err))
	}
	if errors.As(err, &pe) {
		return queryError(sql, sql, err)
	}
	return err
}

// queryRows are the rows of Query: they stop at the first row after ctx
// ends (pgx reads rows the server already sent without looking at ctx).
type queryRows struct {
	*rows
	ctx context.Context
	sql string
}

func (q *queryRows) Next() bool {
	if q.err == nil && q.r != nil {
		if err := q.ctx.Err(); err != nil {
			q.err = err
			q.finish()
			return false
		}
	}
	return q.rows.Next()
}

func (q *queryRows) Err() error {
	if err := q.rows.Err(); err != nil {
		return fmt.Errorf("reading query rows: %w", queryRunError(q.ctx, q.sql, err))
	}
	return nil
}

func (q *queryRows) Close() error {
	q.finish()
	return q.Err()
}

var _ offline.Rows = (*queryRows)(nil)
