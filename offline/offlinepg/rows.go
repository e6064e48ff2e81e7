package offlinepg

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/value"
)

// rows streams a query result as typed values. pgx reads rows from the
// server as Next asks for them, so neither Go nor the server holds the whole
// result. The rows own a connection and its transaction (which holds the
// join's temporary tables) until they are exhausted or closed.
type rows struct {
	r      pgx.Rows
	done   func() // rolls the transaction back and releases the connection; once
	cols   []string
	values []value.Value
	err    error
}

var _ offline.Rows = (*rows)(nil)

func newRows(r pgx.Rows, done func()) *rows {
	fds := r.FieldDescriptions()
	rs := &rows{r: r, done: done, cols: make([]string, len(fds)), values: make([]value.Value, len(fds))}
	for i, fd := range fds {
		rs.cols[i] = fd.Name
	}
	return rs
}

func (rs *rows) Columns() []string { return rs.cols }

func (rs *rows) Next() bool {
	if rs.err != nil || rs.r == nil {
		return false
	}
	if !rs.r.Next() {
		rs.finish()
		return false
	}
	raw, err := rs.r.Values()
	if err != nil {
		rs.err = err
		rs.finish()
		return false
	}
	for i, x := range raw {
		v, err := convert(x)
		if err != nil {
			rs.err = fmt.Errorf("column %s: %w", rs.cols[i], err)
			rs.finish()
			return false
		}
		rs.values[i] = v
	}
	return true
}

// finish closes the result and gives the connection back, keeping the error.
func (rs *rows) finish() {
	if rs.r == nil {
		return
	}
	rs.r.Close()
	if err := rs.r.Err(); err != nil && rs.err == nil {
		rs.err = err
	}
	rs.r = nil
	rs.done()
}

func (rs *rows) Values() []value.Value { return rs.values }

func (rs *rows) Err() error { return rs.err }

func (rs *rows) Close() error {
	rs.finish()
	return rs.err
}

// convert turns what pgx decodes into a Value. NUMERIC becomes float64 and
// UUID its text form; timestamps arrive as time.Time (UTC for timestamp, the
// session zone for timestamptz) and PostgreSQL keeps microseconds.
func convert(x any) (value.Value, error) {
	switch t := x.(type) {
	case pgtype.Numeric:
		if !t.Valid {
			return value.NullValue(), nil
		}
		f, err := t.Float64Value()
		if err != nil {
			return value.Value{}, err
		}
		return value.FromFloat64(f.Float64), nil
	case [16]byte:
		return value.FromString(value.UUIDText(t)), nil
	case time.Time:
		return value.FromTime(t), nil
	case pgtype.InfinityModifier:
		return value.Value{}, fmt.Errorf("infinite timestamp %s has no value", t)
	}
	return value.FromAny(x)
}

// rollback ends a read-only use of a transaction; the temporary tables go with it.
func rollback(tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = tx.Rollback(ctx)
}
