package offline

import (
	"fmt"

	"github.com/slipway-ml/slipway/value"
)

// QueryParams is the input of Store.Query: one SELECT statement in the
// engine's dialect over the store's tables (offline.TableName names
// them). It runs read-only: a statement that would write (INSERT, UPDATE,
// DELETE, CREATE, DROP, COPY, …) fails and changes nothing. Columns map
// to value types as ColumnType documents (a column of a type Slipway
// cannot hold, such as a list, is an error naming the column, before any
// row). A query the engine rejects is a *QueryError with the line of SQL it
// points at. Rows stream; the caller closes them.
//
// Engines type some results differently: sum over a BIGINT column is
// NUMERIC (float64) in PostgreSQL and HUGEINT (int64) in DuckDB. Cast in
// the SQL (CAST(sum(n) AS BIGINT)) where the value type matters. A column
// of only nulls (SELECT NULL AS x) is allowed and reads as nulls.
type QueryParams struct {
	SQL string
	// Args are positional parameters ($1, $2, … in both engines).
	Args []value.Value
}

// QueryArgs returns p.Args as the plain Go values database drivers take
// (nil, int64, float64, string, bool, time.Time in UTC).
func QueryArgs(p *QueryParams) []any {
	args := make([]any, len(p.Args))
	for i, a := range p.Args {
		args[i] = a.Any()
	}
	return args
}

// CheckQueryColumns returns the error of a result column whose engine
// type maps to no value type (ColumnType gives Null), naming the column and
// what to do; nullType is the engine's name for the type of a column of
// only nulls, which is allowed.
func CheckQueryColumns(names, engineTypes []string, nullType string) error {
	for i, t := range engineTypes {
		if ColumnType(t) == value.Null && t != nullType {
			return fmt.Errorf("column %s is %s, which Slipway cannot read: cast it in the query to a number, text, boolean or timestamp (a list or array can be unnested or joined into text)", names[i], t)
		}
	}
	return nil
}
