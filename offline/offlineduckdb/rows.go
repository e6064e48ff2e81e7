package offlineduckdb

import (
	"database/sql"
	"fmt"
	"math/big"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/value"
)

// rows streams a query result as typed values. duckdb-go hands values over
// one at a time; DECIMAL, HUGEINT and UUID come back as Go types value.FromAny
// does not know, so they are converted here first.
type rows struct {
	r      *sql.Rows
	cols   []string
	types  []string
	raw    []any
	ptrs   []any
	values []value.Value
	err    error
}

var _ offline.Rows = (*rows)(nil)

func newRows(r *sql.Rows) (*rows, error) {
	cols, err := r.Columns()
	if err != nil {
		r.Close()
		return nil, err
	}
	cts, err := r.ColumnTypes()
	if err != nil {
		r.Close()
		return nil, err
	}
	rs := &rows{r: r, cols: cols, types: make([]string, len(cols)), raw: make([]any, len(cols)),
		ptrs: make([]any, len(cols)), values: make([]value.Value, len(cols))}
	for i := range cols {
		rs.types[i] = cts[i].DatabaseTypeName()
		rs.ptrs[i] = &rs.raw[i]
	}
	return rs, nil
}

func (rs *rows) Columns() []string { return rs.cols }

func (rs *rows) Next() bool {
	if rs.err != nil || !rs.r.Next() {
		return false
	}
	if err := rs.r.Scan(rs.ptrs...); err != nil {
		rs.err = err
		return false
	}
	for i, x := range rs.raw {
		v, err := convert(x, rs.types[i])
		if err != nil {
			rs.err = fmt.Errorf("column %s (%s): %w", rs.cols[i], rs.types[i], err)
			return false
		}
		rs.values[i] = v
	}
	return true
}

func (rs *rows) Values() []value.Value { return rs.values }

func (rs *rows) Err() error {
	if rs.err != nil {
		return readError(rs.err)
	}
	return readError(rs.r.Err())
}

func (rs *rows) Close() error { return rs.r.Close() }

// convert turns what duckdb-go returns for a column of engineType into a
// Value. Timestamps arrive as UTC time.Time and are kept to microseconds.
func convert(x any, engineType string) (value.Value, error) {
	switch t := x.(type) {
	case duckdb.Decimal:
		return value.FromFloat64(t.Float64()), nil
	case *big.Int: // HUGEINT, UHUGEINT
		if !t.IsInt64() {
			return value.Value{}, fmt.Errorf("value %s does not fit in int64", t)
		}
		return value.FromInt64(t.Int64()), nil
	case []byte:
		if engineType == "UUID" && len(t) == 16 {
			return value.FromString(value.UUIDText([16]byte(t))), nil
		}
	case duckdb.UUID:
		return value.FromString(value.UUIDText(t)), nil
	}
	return value.FromAny(x)
}
