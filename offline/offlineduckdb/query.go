package offlineduckdb

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/slipway-ml/slipway/offline"
)

// Query runs p.SQL read-only. DuckDB has no read-only transaction per
// connection, so the statement is checked before it runs: the driver
// prepares it alone (Conn.Prepare refuses a string of several statements
// without running any of them, where PrepareContext would run all but the
// last) and DuckDB reports its type, which must be SELECT. It then runs in
// a transaction that is rolled back when the rows close, so whatever a
// SELECT might change (a sequence's nextval) is undone too.
func (s *Store) Query(ctx context.Context, p *offline.QueryParams) (offline.Rows, error) {
	if strings.TrimSpace(p.SQL) == "" {
		return nil, errors.New("running query: no SQL")
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("running query: %w", err)
	}
	if err := conn.Raw(func(dc any) error { return checkSelect(dc, p.SQL) }); err != nil {
		conn.Close()
		return nil, fmt.Errorf("running query: %w", err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("running query: %w", err)
	}
	done := func() {
		_ = tx.Rollback() // ErrTxDone when ctx was cancelled: database/sql rolled it back already
		conn.Close()
	}
	s.log.DebugContext(ctx, "query", "sql", p.SQL)
	r, err := tx.QueryContext(ctx, p.SQL, offline.QueryArgs(p)...)
	if err != nil {
		done()
		return nil, fmt.Errorf("running query: %w", queryError(ctx, p.SQL, err))
	}
	rs, err := newRows(r)
	if err != nil {
		done()
		return nil, fmt.Errorf("running query: %w", queryError(ctx, p.SQL, err))
	}
	if err := offline.CheckQueryColumns(rs.cols, rs.types, "NULL"); err != nil {
		r.Close()
		done()
		return nil, fmt.Errorf("running query: %w", err)
	}
	return &queryRows{rows: rs, ctx: ctx, done: done}, nil
}

// checkSelect prepares sql alone on the driver connection dc, running
// nothing, and returns an error unless it is one SELECT statement.
func checkSelect(dc any, sql string) error {
	c, ok := dc.(*duckdb.Conn)
	if !ok {
		return fmt.Errorf("unexpected driver connection %T", dc)
	}
	st, err := c.Prepare(sql)
	if err != nil {
		var de *duckdb.Error
		if errors.As(err, &de) {
			return userLineError(sql, sql, err)
		}
		if strings.Contains(err.Error(), "multi-statement") {
			// The driver's advice (PrepareContext) would run all but the last.
			return errors.New("the SQL holds several statements (DuckDB also makes several of a PIVOT without an IN list): Query runs one SELECT; remove the others, or list the PIVOT's values with IN")
		}
		return fmt.Errorf("the SQL must be one SELECT statement: %w", err)
	}
	defer st.Close()
	typ, err := st.(*duckdb.Stmt).StatementType()
	if err != nil {
		return err
	}
	if typ != duckdb.STATEMENT_TYPE_SELECT {
		return errors.New("the statement is not a SELECT: Query only reads (a statement that writes, such as INSERT, DELETE, CREATE, DROP or COPY, is refused); write tables with transformations")
	}
	return nil
}

// queryError maps an error of running sql to the caller's context error
// when ctx ended, and otherwise to an *offline.QueryError when DuckDB
// rejected the SQL.
func queryError(ctx context.Context, sql string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w (%v)", ctxErr, err)
	}
	var de *duckdb.Error
	if errors.As(err, &de) {
		return userLineError(sql, sql, err)
	}
	return readError(err)
}

// queryRows are the rows of Query: they stop at the first row after ctx
// ends, and end the transaction and give the connection back when
// exhausted or closed.
type queryRows struct {
	*rows
	ctx  context.Context
	done func() // once
}

func (q *queryRows) Next() bool {
	if q.done == nil {
		return false
	}
	if err := q.ctx.Err(); err != nil && q.err == nil {
		q.err = err
	}
	if q.err != nil || !q.rows.Next() {
		q.finish()
		return false
	}
	return true
}

func (q *queryRows) Err() error {
	// Once finished, only the error kept: ending the transaction ends the
	// context database/sql gave the rows, and sql.Rows.Err could report it.
	err := q.err
	if err == nil && q.done != nil {
		err = q.r.Err()
	}
	if err == nil {
		return nil
	}
	err = readError(err)
	if ctxErr := q.ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		err = fmt.Errorf("%w (%v)", ctxErr, err)
	}
	return fmt.Errorf("reading query rows: %w", err)
}

func (q *queryRows) Close() error {
	q.finish()
	return q.Err()
}

// finish closes the result, keeping its error, and ends the transaction.
func (q *queryRows) finish() {
	if q.done == nil {
		return
	}
	if err := q.r.Err(); err != nil && q.err == nil {
		q.err = err
	}
	q.r.Close()
	q.done()
	q.done = nil
}

var _ offline.Rows = (*queryRows)(nil)
