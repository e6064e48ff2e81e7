package offline

import (
	"testing"

	"github.com/slipway-ml/slipway/value"
)

func TestColumnType(t *testing.T) {
	cases := map[string]value.Type{
		// Scalars as DuckDB's DESCRIBE and offlinepg's typeName spell them.
		"BIGINT": value.Int64, "integer": value.Int64, "SMALLINT": value.Int64, "TINYINT": value.Int64,
		"HUGEINT": value.Int64, "UBIGINT": value.Int64, "UINTEGER": value.Int64, "INT": value.Int64, "INT8": value.Int64,
		"DOUBLE": value.Float64, "DOUBLE PRECISION": value.Float64, "REAL": value.Float64, "FLOAT": value.Float64,
		"DECIMAL(18,3)": value.Float64, "NUMERIC": value.Float64, "numeric(10, 2)": value.Float64,
		"VARCHAR": value.String, "TEXT": value.String, "CHARACTER VARYING(20)": value.String, "BPCHAR": value.String, "UUID": value.String,
		"BOOLEAN": value.Bool, "bool": value.Bool,
		"TIMESTAMP": value.Timestamp, "TIMESTAMP WITH TIME ZONE": value.Timestamp, "TIMESTAMPTZ": value.Timestamp,
		"TIMESTAMP(3) WITH TIME ZONE": value.Timestamp, "TIMESTAMP WITHOUT TIME ZONE": value.Timestamp,
		"TIMESTAMP_NS": value.Timestamp, "DATE": value.Timestamp,

		// Not scalars Slipway serves: all Null, whatever letters they share with one.
		"INTERVAL": value.Null, "POINT": value.Null, "INTERVAL DAY TO SECOND": value.Null,
		"TIME": value.Null, "TIME WITH TIME ZONE": value.Null, "TIMETZ": value.Null,
		"BLOB": value.Null, "BYTEA": value.Null, "JSON": value.Null, "JSONB": value.Null, "GEOMETRY": value.Null,
		"BIT": value.Null, "VARINT": value.Null, "ENUM('a', 'b')": value.Null,
		"INTEGER[]": value.Null, "INTEGER[3]": value.Null, "BIGINT[][]": value.Null, "TIMESTAMP[]": value.Null,
		"CHARACTER VARYING(20)[]": value.Null, "NUMERIC(10,2)[]": value.Null, "VARCHAR[]": value.Null,
		"_INT4": value.Null, "_int8": value.Null, "_text": value.Null,
		"STRUCT(a INTEGER, b VARCHAR)": value.Null, "MAP(VARCHAR, INTEGER)": value.Null,
		"UNION(n INTEGER, s VARCHAR)": value.Null, "LIST": value.Null, "INTEGER(": value.Null, "": value.Null,
	}
	for in, want := range cases {
		if got := ColumnType(in); got != want {
			t.Errorf("ColumnType(%q) = %q, want %q", in, got, want)
		}
	}
}
