package offline

import (
	"errors"
	"fmt"
	"slices"

	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// WriteRowsParams is the input of Store.WriteRows, which appends rows that
// Slipway computed in Go (batch predictions, later the prediction log) to
// a table of the offline store, in one transaction: readers see all of a
// call's rows or none of them, and a call that fails (the engine refuses a
// row, Rows.Err reports an error, ctx is cancelled) leaves the table as it
// was, or absent when the call would have created it.
//
// The table is created with Columns when it does not exist (value types map
// to engine types: Int64 BIGINT, Float64 DOUBLE PRECISION, String text,
// Bool BOOLEAN, Timestamp a zone-less TIMESTAMP holding UTC). When it
// exists, its columns must be Columns, same names in the same order with
// the same value types (ColumnType of the engine type); otherwise WriteRows
// fails with an error naming the first difference, and writes nothing.
// A call with no rows creates the table (or checks it) and writes nothing.
type WriteRowsParams struct {
	Table   string
	Columns []resource.Column // Name and Type; EngineType is ignored
	// Rows gives the rows, each one value per column, in Columns' order: a
	// value of the column's type, or null. A row of another length or with
	// a value of another type fails the call, naming the row.
	Rows RowSource
	// Replace, when set, first deletes the table's rows whose Column equals
	// Value, in the same transaction: a run that writes again (a retried
	// job) replaces its own rows instead of adding them twice. Column must
	// be one of Columns, and Value a value of its type (null, which equals
	// no row, is refused).
	Replace *Match
}

// Match selects the rows whose Column equals Value.
type Match struct {
	Column string
	Value  value.Value
}

// RowSource is a stream of rows to write, read like Rows: Next until it
// returns false, then Err.
type RowSource interface {
	Next() bool
	// Values returns the current row; WriteRows does not keep the slice
	// past the next call to Next.
	Values() []value.Value
	Err() error
}

// CheckWriteRows returns the error of parameters no store can write: no
// table, no rows source, no columns, a column without a name or a value
// type, a repeated column name, or a Replace match on a column that is not
// written or with a null value or one of another type. Stores wrap it with
// the table's name.
func CheckWriteRows(p *WriteRowsParams) error {
	switch {
	case p.Table == "":
		return errors.New("no table name")
	case p.Rows == nil:
		return errors.New("no rows (give a RowSource, even an empty one)")
	case len(p.Columns) == 0:
		return errors.New("no columns")
	}
	seen := make(map[string]bool, len(p.Columns))
	for i, c := range p.Columns {
		switch {
		case c.Name == "":
			return fmt.Errorf("column %d has no name", i+1)
		case seen[c.Name]:
			return fmt.Errorf("column %s is given twice", c.Name)
		case !slices.Contains(value.Types, c.Type):
			return fmt.Errorf("column %s has type %q: use one of int64, float64, string, bool, timestamp", c.Name, c.Type)
		}
		seen[c.Name] = true
	}
	if m := p.Replace; m != nil {
		i := slices.IndexFunc(p.Columns, func(c resource.Column) bool { return c.Name == m.Column })
		switch {
		case i < 0:
			return fmt.Errorf("replace matches column %q, which is not one of the columns written", m.Column)
		case m.Value.IsNull():
			return fmt.Errorf("replace matches column %s with null, which equals no row: give a value", m.Column)
		case m.Value.Type() != p.Columns[i].Type:
			return fmt.Errorf("replace matches column %s (%s) with a %s value", m.Column, p.Columns[i].Type, m.Value.Type())
		}
	}
	return nil
}

// CheckRow returns the error of a row that does not fit columns: another
// number of values, or a value neither null nor of its column's type. n is
// the 1-based number of the row in the call, for the message.
func CheckRow(columns []resource.Column, row []value.Value, n int64) error {
	if len(row) != len(columns) {
		return fmt.Errorf("row %d has %d values for %d columns", n, len(row), len(columns))
	}
	for i, v := range row {
		if !v.IsNull() && v.Type() != columns[i].Type {
			return fmt.Errorf("row %d column %s: a %s value in a %s column", n, columns[i].Name, v.Type(), columns[i].Type)
		}
	}
	return nil
}

// CheckTableColumns compares the columns of an existing table (with
// EngineType set) to the columns WriteRows was given, by name, order and
// value type (ColumnType of the engine type), and returns an error naming
// the first difference and what to do, or nil.
func CheckTableColumns(table string, have, want []resource.Column) error {
	diff := ""
	for i := 0; i < max(len(have), len(want)) && diff == ""; i++ {
		switch {
		case i >= len(have):
			diff = fmt.Sprintf("it has no column %d, the rows have %s (%s)", i+1, want[i].Name, want[i].Type)
		case i >= len(want):
			diff = fmt.Sprintf("its column %d, %s (%s), is not in the rows, which have %d columns", i+1, have[i].Name, have[i].EngineType, len(want))
		case have[i].Name != want[i].Name:
			diff = fmt.Sprintf("its column %d is %s, the rows' is %s", i+1, have[i].Name, want[i].Name)
		case ColumnType(have[i].EngineType) != want[i].Type:
			diff = fmt.Sprintf("its column %s is %s (%s), the rows' is %s", have[i].Name, have[i].EngineType, typeName(ColumnType(have[i].EngineType)), want[i].Type)
		}
	}
	if diff == "" {
		return nil
	}
	return fmt.Errorf("table %s does not have the columns of the rows written: %s; write to a table of these columns, or drop %s (losing its rows) so it is created again", table, diff, table)
}

func typeName(t value.Type) string {
	if t == value.Null {
		return "no value type"
	}
	return string(t)
}

// PredictionLogTable is the table holding an endpoint's logged predictions
// (package predictionlog writes it).
func PredictionLogTable(endpoint resource.Ref) string {
	return TableName(resource.ID{Kind: "prediction_log", Name: endpoint.Name, Variant: endpoint.Variant})
}
