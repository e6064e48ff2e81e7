package offline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// Store is an offline store.
type Store interface {
	// Capabilities says what the store can do beyond the interface's minimum.
	Capabilities() Capabilities
	// SourceQuery returns the SQL that selects every row of a source. It does no I/O.
	SourceQuery(p *SourceQueryParams) (string, error)
	// CheckSource reads a source whole and reports, as a *SourceError, a
	// file that is empty, has a header but no rows, or holds a value that
	// does not convert to its column's type (inferred from a sample of the
	// rows, or declared in SourceQueryParams.Columns), so that a source
	// that plans also reads.
	CheckSource(ctx context.Context, p *SourceQueryParams) error
	// Describe returns the columns a query would produce, without running it.
	Describe(ctx context.Context, p *DescribeParams) ([]resource.Column, error)
	// CreateTable atomically creates or replaces a table (or view) with the result of a query.
	CreateTable(ctx context.Context, p *CreateTableParams) (*CreateTableResult, error)
	// DropTable drops a table or view; see DropTableParams.
	DropTable(ctx context.Context, p *DropTableParams) error
	// ReadTrainingSet streams a point-in-time training set.
	ReadTrainingSet(ctx context.Context, p *TrainingSetParams) (Rows, error)
	// ExportTrainingSet writes a training set to a file inside the engine and returns the row count.
	ExportTrainingSet(ctx context.Context, p *ExportParams) (int64, error)
	// ReadLatest streams the latest values per entity of one or more value
	// columns of a table: columns entity (as text), timestamp, then one per
	// ReadLatestParams.ValueColumns.
	ReadLatest(ctx context.Context, p *ReadLatestParams) (Rows, error)
	// WriteRows appends rows computed in Go to a table, creating it when
	// needed, all or nothing; see WriteRowsParams.
	WriteRows(ctx context.Context, p *WriteRowsParams) (int64, error)
	// Query runs a read-only SQL query (a SELECT, possibly WITH …) and
	// streams its rows; see QueryParams.
	Query(ctx context.Context, p *QueryParams) (Rows, error)
	// Claim records that this store holds the tables of the registry with
	// the given id (registry.Store.ID), and fails with ErrClaimed when it
	// already holds another registry's: two registries naming their tables
	// alike must never share, and overwrite, one offline store.
	Claim(ctx context.Context, p *ClaimParams) error
	// Close releases the store.
	Close() error
}

// QueryError is an engine's rejection of the SQL given to Describe or
// Query. Line is the 1-based line of DescribeParams.SQL (QueryParams.SQL)
// the engine points at (0 when it names none), so callers can point at the
// user's file.
type QueryError struct {
	Line int
	Err  error
}

func (e *QueryError) Error() string { return e.Err.Error() }

// Unwrap returns the engine's error.
func (e *QueryError) Unwrap() error { return e.Err }

// UserLine maps a line of a query that embeds userSQL (after TrimSQL) to the
// line of userSQL itself, or 0 when the line is outside it.
func UserLine(wrapped, userSQL string, line int) int {
	trimmed := TrimSQL(userSQL)
	start := strings.LastIndex(wrapped, trimmed)
	if start < 0 || line <= 0 {
		return 0
	}
	first := strings.Count(wrapped[:start], "\n") + 1
	last := first + strings.Count(trimmed, "\n")
	if line < first || line > last {
		return 0
	}
	leading := strings.Count(userSQL[:len(userSQL)-len(strings.TrimLeft(userSQL, " \t\r\n"))], "\n")
	return line - first + 1 + leading
}

// ClaimParams is the input of Claim.
type ClaimParams struct {
	RegistryID string
}

// Capabilities of an offline store.
type Capabilities struct {
	// ExportFormats lists the formats ExportTrainingSet writes ("csv", "jsonl", "parquet").
	ExportFormats []string
	// FileSources reports whether sources may be CSV or Parquet files.
	FileSources bool
}

// SourceQueryParams locates a source: a file or a table.
type SourceQueryParams struct {
	// File is the path of a CSV or Parquet file, relative to Dir unless absolute.
	File string
	// Dir is the directory a relative File is in (definitions keep file
	// paths relative to their directory); "" is the working directory.
	Dir    string
	Format string // csv or parquet
	Table  string
	// Columns declares the types of some columns of a CSV file, where the
	// engine would otherwise infer them from a sample of the rows.
	Columns map[string]value.Type
}

// Path returns File resolved against Dir.
func (p *SourceQueryParams) Path() string {
	if p.File == "" || filepath.IsAbs(p.File) {
		return p.File
	}
	return filepath.Join(p.Dir, filepath.FromSlash(p.File))
}

// SourceError is a source whose rows the engine cannot read: what is wrong
// and what to do, in one paragraph, with the file, line and column.
type SourceError struct {
	File string
	// Line is the 1-based line of the file (the header is line 1), counted
	// as CSV records: a quoted value spanning lines above it makes the
	// file line later than Line. 0 when not about one line.
	Line   int64
	Column string // "" when not about one column
	Msg    string
}

func (e *SourceError) Error() string {
	where := e.File
	if e.Line > 0 {
		where += fmt.Sprintf(" line %d", e.Line)
	}
	if e.Column != "" {
		where += fmt.Sprintf(" column %q", e.Column)
	}
	return where + ": " + e.Msg
}

// Input is a named query made visible to Describe as a common table expression,
// for inputs that are not tables yet.
type Input struct {
	Name string
	SQL  string
}

// DescribeParams is the input of Describe.
type DescribeParams struct {
	SQL  string
	With []Input
}

// CreateTableParams is the input of CreateTable.
type CreateTableParams struct {
	Table string
	SQL   string
	// View creates a view instead of a table (used for sources, which stay where they are).
	View bool
}

// CreateTableResult is the output of CreateTable.
type CreateTableResult struct {
	// Columns is the schema of the new table or view.
	Columns []resource.Column
	// Rows is how many rows the new table holds; 0 for a view, which holds none.
	Rows int64
}

// Dataset locates the columns of a feature or label in a table: the
// offline table of the source or transformation it reads.
type Dataset struct {
	Table           string
	EntityColumn    string
	ValueColumn     string
	TimestampColumn string // "" for static values
}

// FeatureColumn is one feature of a training set.
type FeatureColumn struct {
	Dataset
	// Name is the output column name.
	Name string
	// MaxAge, when positive, turns values older than label time − MaxAge into null.
	MaxAge time.Duration
	// Type is the declared type. A Float64 column of an integer or decimal
	// engine type is cast to double precision, so offline values have the
	// type online values are served with.
	Type value.Type
}

// TrainingSetParams describes a point-in-time join.
//
// Output columns are, in order: EntityName (the label's entity value),
// "timestamp" (the label time), one column per feature, then LabelName.
//
// For each label row (entity e, time t) every feature takes the value of the
// newest feature row of e with timestamp ≤ t, and ≥ t − MaxAge when MaxAge > 0;
// none gives null. Rows with a null entity or null timestamp are ignored on the
// feature side. Ties: among feature rows of the same entity and timestamp the
// greatest non-null value wins (null only when all are null). A feature
// without a timestamp column is static: the greatest non-null value of the
// entity, whatever t is. Every label row is kept, duplicates included.
//
// Rows are ordered by entity, then label time, then label value, each
// ascending with nulls last (the SQL stores end their query with
// sqltext.TrainingSetOrder): every feature value is
// decided by entity and label time, so rows equal on those three are equal
// on every column, and the same data always gives the same rows in the same
// order, whatever order the engine stores or joins them in. Exports of the
// same data are therefore byte-identical. Entities compare as the engine
// compares their column type (text in the engine's collation: bytewise in
// DuckDB, the database's collation in PostgreSQL).
type TrainingSetParams struct {
	Label      Dataset
	LabelName  string
	LabelType  value.Type // cast like FeatureColumn.Type
	EntityName string
	Features   []FeatureColumn
}

// ExportParams is the input of ExportTrainingSet.
type ExportParams struct {
	TrainingSet *TrainingSetParams
	Format      string // one of Capabilities.ExportFormats
	Path        string
}

// ReadLatestParams is the input of ReadLatest: for each entity, the row
// time of its newest row at or before AsOf (rows with a null entity or
// timestamp are ignored) and, per value column, the greatest non-null value among the rows at that
// time (null when all are null) — the training set's tie rule, so online
// values equal what a training set sees at the newest timestamp. Without a
// timestamp column (static values) the timestamp is null and each value is
// the greatest non-null value of the entity. Reading several value columns
// of one table at once lets materialization write them together.
//
// AsOf bounds the read in time: only rows with a timestamp at or before it
// count, so the values are those a training set gives for a label at AsOf
// (online values are point-in-time values at the materialization time, and
// a row dated in the future is not read before its time).
//
// Since and Partitions narrow the read for incremental and chunked
// materialization; both keep the rules above for the rows they select.
type ReadLatestParams struct {
	Table           string
	EntityColumn    string
	TimestampColumn string // "" for static values
	ValueColumns    []string
	// AsOf is required with a TimestampColumn: rows dated after it are
	// ignored (a row exactly at AsOf counts). Static values ignore it.
	AsOf time.Time
	// Since, when not zero, considers only rows with a timestamp after it:
	// each entity having such rows gets the latest of them. It needs a
	// TimestampColumn.
	Since time.Time
	// Partitions, when above 1, splits the entities into that many disjoint
	// parts by a hash of the entity value, and reads only part Partition
	// (0 ≤ Partition < Partitions). The parts together are the whole read.
	Partition, Partitions int
}

// Rows is a stream of rows, used like sql.Rows:
//
//	for rows.Next() { use(rows.Values()) }
//	if err := rows.Err(); err != nil { ... }
//	rows.Close()
type Rows interface {
	Columns() []string
	Next() bool
	// Values returns the current row; the slice is reused by the next call to Next.
	Values() []value.Value
	Err() error
	Close() error
}

// Sentinel errors.
var (
	ErrUnsupported = errors.New("not supported by this offline store")
	ErrClaimed     = errors.New("offline store belongs to another registry")
)

// TableName is the engine table that holds a registered resource's rows.
// Every variant has its own table, so nothing registered is ever overwritten;
// names and variants contain no "__", so the name is unambiguous. Names that
// would pass 63 bytes (PostgreSQL's identifier limit) are cut and end in a
// hash of the whole ID, so they stay distinct.
func TableName(id resource.ID) string {
	name := "slipway_" + string(id.Kind) + "__" + id.Name + "__" + id.Variant
	if len(name) <= maxTableName {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:maxTableName-17] + "_" + hex.EncodeToString(sum[:8])
}

const maxTableName = 63

// QuoteIdent quotes an identifier for SQL (standard double quotes).
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// QuoteLiteral quotes s as a standard SQL string literal, doubling single
// quotes.
func QuoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// IntervalLiteral writes d as an interval literal both DuckDB and PostgreSQL
// read: INTERVAL '90000000 microseconds'.
func IntervalLiteral(d time.Duration) string {
	return "INTERVAL '" + strconv.FormatInt(d.Microseconds(), 10) + " microseconds'"
}

// TimestampLiteral writes t in UTC, cut to microseconds, as a literal of the
// zone-less timestamp type both DuckDB and PostgreSQL read:
// TIMESTAMP '2024-01-02 03:04:05.000006'. Cutting (not rounding) keeps
// "t > since" exact for microsecond timestamps: such a t is after since
// exactly when it is after since cut to the microsecond.
func TimestampLiteral(t time.Time) string {
	return "TIMESTAMP '" + t.UTC().Format("2006-01-02 15:04:05.000000") + "'"
}

// ColumnType maps a SQL engine type name to a value type: integer types to
// int64, floating and decimal types to float64, text to string, boolean to
// bool, timestamp and date types to timestamp. Anything else maps to Null,
// which Slipway cannot serve: intervals, times of day, geometric types
// (POINT), binary (BLOB, BYTEA), JSON, and every composite type — arrays
// (INTEGER[], PostgreSQL's internal _int4), LIST, STRUCT, MAP, UNION.
//
// Names are matched whole, after removing a type modifier such as
// DECIMAL(18,3) or VARCHAR(20): matching on parts of a name would take
// INTERVAL or POINT for an integer.
func ColumnType(engineType string) value.Type {
	t := strings.ToUpper(strings.TrimSpace(engineType))
	if strings.Contains(t, "[") || strings.HasPrefix(t, "_") {
		return value.Null // an array (PostgreSQL names array types _elem internally)
	}
	if i := strings.IndexByte(t, '('); i >= 0 {
		j := strings.LastIndexByte(t, ')')
		if j < i {
			return value.Null
		}
		t = t[:i] + t[j+1:] // TIMESTAMP(3) WITH TIME ZONE → TIMESTAMP WITH TIME ZONE; STRUCT(…) → STRUCT
	}
	t = strings.Join(strings.Fields(t), " ")
	return engineTypes[t]
}

// engineTypes maps the engine type names of DuckDB and PostgreSQL (and their
// common aliases) to value types; a name that is not here maps to Null.
var engineTypes = map[string]value.Type{
	"BOOLEAN": value.Bool, "BOOL": value.Bool,

	"TIMESTAMP": value.Timestamp, "TIMESTAMPTZ": value.Timestamp, "DATETIME": value.Timestamp, "DATE": value.Timestamp,
	"TIMESTAMP WITH TIME ZONE": value.Timestamp, "TIMESTAMP WITHOUT TIME ZONE": value.Timestamp,
	"TIMESTAMP_S": value.Timestamp, "TIMESTAMP_MS": value.Timestamp, "TIMESTAMP_NS": value.Timestamp, "TIMESTAMP_US": value.Timestamp,

	"VARCHAR": value.String, "TEXT": value.String, "STRING": value.String, "CHAR": value.String, "BPCHAR": value.String,
	"CHARACTER": value.String, "CHARACTER VARYING": value.String, "UUID": value.String,

	"DOUBLE": value.Float64, "DOUBLE PRECISION": value.Float64, "FLOAT": value.Float64, "FLOAT4": value.Float64, "FLOAT8": value.Float64,
	"REAL": value.Float64, "DECIMAL": value.Float64, "NUMERIC": value.Float64,

	"TINYINT": value.Int64, "SMALLINT": value.Int64, "INTEGER": value.Int64, "INT": value.Int64, "BIGINT": value.Int64, "HUGEINT": value.Int64,
	"UTINYINT": value.Int64, "USMALLINT": value.Int64, "UINTEGER": value.Int64, "UBIGINT": value.Int64, "UHUGEINT": value.Int64,
	"INT1": value.Int64, "INT2": value.Int64, "INT4": value.Int64, "INT8": value.Int64, "INT128": value.Int64,
	"SHORT": value.Int64, "LONG": value.Int64, "SIGNED": value.Int64,
}
