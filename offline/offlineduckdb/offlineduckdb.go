// Package offlineduckdb is the embedded offline store: DuckDB holds sources,
// runs transformations and builds point-in-time training sets with ASOF joins.
//
// It is the zero-infrastructure default: one database file in the data
// directory (or memory), spilling to a temp directory next to it so training
// sets larger than RAM still build.
package offlineduckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/duckdb/duckdb-go/v2/mapping"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/internal/sqltext"
	"github.com/slipway-ml/slipway/resource"
)

// Config configures a Store.
type Config struct {
	// Path is the database file; "" keeps the database in memory.
	Path string
	// Threads limits DuckDB's worker threads; 0 leaves DuckDB's default (all cores).
	Threads int
	// MemoryLimit is DuckDB's memory limit, such as "4GB"; "" leaves DuckDB's default (80% of RAM).
	MemoryLimit string
	// CheckpointThreshold is the size of DuckDB's write-ahead log at which
	// it checkpoints (writes the log's changes into the database file),
	// such as "256MiB"; "" means DefaultCheckpointThreshold. DuckDB's own
	// default, 16MB, checkpoints every two seconds under the prediction
	// log's appends, rewriting each unfinished row group again and again:
	// with 256MiB, shipping the log costs about 40% less CPU
	// (predictionlog's BenchmarkShip). A larger log takes longer to replay
	// when the database opens.
	CheckpointThreshold string
	// TempDir is where DuckDB spills data that does not fit in memory;
	// "" means Path + ".tmp" for a database file and DuckDB's default in memory.
	TempDir string
	// Logger receives the generated SQL at debug level; nil discards.
	Logger *slog.Logger
}

// DefaultCheckpointThreshold is Config.CheckpointThreshold's default.
const DefaultCheckpointThreshold = "256MiB"

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.Threads < 0 {
		return fmt.Errorf("threads is %d: use 0 for the default or a positive number", c.Threads)
	}
	if strings.ContainsAny(c.MemoryLimit, "'\n") {
		return fmt.Errorf("memory limit %q: write it like 4GB or 512MB", c.MemoryLimit)
	}
	if strings.ContainsAny(c.CheckpointThreshold, "'\n") {
		return fmt.Errorf("checkpoint threshold %q: write it like 256MiB or 1GiB", c.CheckpointThreshold)
	}
	return nil
}

// Store is an offline.Store on DuckDB.
type Store struct {
	db  *sql.DB
	log *slog.Logger
	// tables serialises replacing one table: DuckDB refuses two concurrent
	// transactions that drop and create the same table (a write-write
	// conflict), and two runs of one transformation may overlap.
	tables sync.Map // table name → *sync.Mutex
	// written holds the columns of each table WriteRows wrote (table name
	// → []resource.Column); CreateTable and DropTable forget a table.
	written sync.Map
}

var _ offline.Store = (*Store)(nil)

// New opens (creating if needed) the DuckDB database of cfg.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("offlineduckdb config: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tempDir := cfg.TempDir
	if cfg.Path != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
			return nil, fmt.Errorf("creating database directory: %w", err)
		}
		if tempDir == "" {
			tempDir = cfg.Path + ".tmp"
		}
	}
	// Every connection works in UTC, so TIMESTAMPTZ values cast to TIMESTAMP
	// the same way whatever the machine's time zone is.
	connector, err := duckdb.NewConnector(cfg.Path, func(execer driver.ExecerContext) error {
		_, err := execer.ExecContext(context.Background(), "SET TimeZone = 'UTC'", nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("opening duckdb database %q: %w", cfg.Path, err)
	}
	db := sql.OpenDB(connector)
	var settings []string
	if cfg.Threads > 0 {
		settings = append(settings, fmt.Sprintf("SET GLOBAL threads = %d", cfg.Threads))
	}
	if cfg.MemoryLimit != "" {
		settings = append(settings, "SET GLOBAL memory_limit = "+offline.QuoteLiteral(cfg.MemoryLimit))
	}
	if tempDir != "" {
		settings = append(settings, "SET GLOBAL temp_directory = "+offline.QuoteLiteral(tempDir))
	}
	threshold := cfg.CheckpointThreshold
	if threshold == "" {
		threshold = DefaultCheckpointThreshold
	}
	settings = append(settings, "SET GLOBAL checkpoint_threshold = "+offline.QuoteLiteral(threshold))
	for _, s := range settings {
		if _, err := db.ExecContext(ctx, s); err != nil {
			db.Close()
			return nil, fmt.Errorf("configuring duckdb (%s): %w", s, err)
		}
	}
	return &Store{db: db, log: log}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Capabilities reports CSV, JSON lines and Parquet exports and file sources.
func (s *Store) Capabilities() offline.Capabilities {
	return offline.Capabilities{ExportFormats: []string{"csv", "jsonl", "parquet"}, FileSources: true}
}

// Describe returns the columns of p.SQL without running it: DuckDB binds the
// query for DESCRIBE but does not execute it.
func (s *Store) Describe(ctx context.Context, p *offline.DescribeParams) ([]resource.Column, error) {
	query := describeQuery(p.SQL, p.With)
	cols, err := s.describe(ctx, s.db, query)
	if err != nil {
		return nil, fmt.Errorf("describing query: %w", userLineError(query, p.SQL, err))
	}
	return cols, nil
}

var duckLine = regexp.MustCompile(`LINE (\d+):`)

// userLineError rewrites DuckDB's "LINE n:" (a line of the wrapped DESCRIBE
// query) to the line of the user's SQL, as an *offline.QueryError.
func userLineError(query, userSQL string, err error) error {
	m := duckLine.FindStringSubmatch(err.Error())
	if m == nil {
		return &offline.QueryError{Err: err}
	}
	n, _ := strconv.Atoi(m[1])
	line := offline.UserLine(query, userSQL, n)
	if line == 0 {
		return &offline.QueryError{Err: err}
	}
	msg := duckLine.ReplaceAllString(err.Error(), "LINE "+strconv.Itoa(line)+":")
	return &offline.QueryError{Line: line, Err: errors.New(msg)}
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) describe(ctx context.Context, db querier, query string) ([]resource.Column, error) {
	s.log.DebugContext(ctx, "describe", "sql", query)
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// DESCRIBE returns column_name, column_type, then details we do not need.
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	dest := make([]any, len(names))
	var name, typ string
	dest[0], dest[1] = &name, &typ
	for i := 2; i < len(dest); i++ {
		dest[i] = new(any)
	}
	var cols []resource.Column
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		cols = append(cols, resource.Column{Name: name, EngineType: typ, Type: offline.ColumnType(typ)})
	}
	return cols, rows.Err()
}

// CreateTable replaces p.Table in one transaction: other connections see the
// old table or the new one. An existing object of the other kind (a view
// replacing a table, or the reverse) is dropped too.
func (s *Store) CreateTable(ctx context.Context, p *offline.CreateTableParams) (*offline.CreateTableResult, error) {
	if p.Table == "" {
		return nil, errors.New("creating table: no table name")
	}
	mu, _ := s.tables.LoadOrStore(p.Table, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	s.written.Delete(p.Table)
	res, err := s.createTable(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("creating table %s: %w", p.Table, readError(err))
	}
	return res, nil
}

func (s *Store) createTable(ctx context.Context, p *offline.CreateTableParams) (*offline.CreateTableResult, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	name := sqltext.QuoteQualified(p.Table)
	kind, err := objectKind(ctx, tx, p.Table)
	if err != nil {
		return nil, err
	}
	if kind != "" {
		if _, err := tx.ExecContext(ctx, "DROP "+kind+" "+name); err != nil {
			return nil, err
		}
	}
	create := "CREATE TABLE "
	if p.View {
		create = "CREATE VIEW "
	}
	stmt := create + name + " AS\n" + offline.TrimSQL(p.SQL) + "\n"
	s.log.DebugContext(ctx, "create table", "sql", stmt)
	if _, err := tx.ExecContext(ctx, stmt); err != nil {
		return nil, err
	}
	var rows int64
	if !p.View {
		// DuckDB's CREATE TABLE … AS reports no row count. Counting the new
		// table scans no column data: 6 ms for 5M rows that took 3.7 s to build.
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+name).Scan(&rows); err != nil {
			return nil, err
		}
	}
	cols, err := s.describe(ctx, tx, "DESCRIBE SELECT * FROM "+name)
	if err != nil {
		return nil, err
	}
	return &offline.CreateTableResult{Columns: cols, Rows: rows}, tx.Commit()
}

// objectKind returns "TABLE", "VIEW" or "" (no such object) for a possibly
// qualified name, looking in the current database and schema unless named.
func objectKind(ctx context.Context, tx *sql.Tx, table string) (string, error) {
	parts := strings.Split(table, ".")
	var catalog, schema sql.NullString
	switch len(parts) {
	case 2:
		schema = sql.NullString{String: parts[0], Valid: true}
	case 3:
		catalog = sql.NullString{String: parts[0], Valid: true}
		schema = sql.NullString{String: parts[1], Valid: true}
	}
	var typ string
	err := tx.QueryRowContext(ctx, `SELECT table_type FROM information_schema.tables
WHERE table_catalog = coalesce(?, current_database())
  AND table_schema = coalesce(?, current_schema())
  AND table_name = ?`, catalog, schema, parts[len(parts)-1]).Scan(&typ)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil:
		return "", err
	case typ == "VIEW":
		return "VIEW", nil
	}
	return "TABLE", nil
}

// ReadTrainingSet streams the point-in-time join of p. Rows are converted one
// at a time, so Go memory stays flat; duckdb-go (v2.10505) however executes
// queries with non-streaming pending results, so DuckDB holds the whole result
// in its buffer pool. Training sets too large for that go through
// ExportTrainingSet, which streams inside DuckDB.
func (s *Store) ReadTrainingSet(ctx context.Context, p *offline.TrainingSetParams) (offline.Rows, error) {
	query, err := s.trainingSetQuery(ctx, p)
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("reading training set: %w", err)
	}
	return rows, nil
}

// ExportTrainingSet writes the training set to p.Path with COPY, so rows
// stream inside DuckDB and never pass through Go. The file is written next to
// p.Path and renamed into place, so readers never see a half-written file.
func (s *Store) ExportTrainingSet(ctx context.Context, p *offline.ExportParams) (int64, error) {
	var options string
	switch p.Format {
	case "csv":
		options = "(FORMAT csv, HEADER, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S.%fZ')"
	case "jsonl":
		options = "(FORMAT json, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S.%fZ')" // newline-delimited, timestamps as RFC 3339 UTC
	case "parquet":
		options = "(FORMAT parquet)"
	default:
		return 0, fmt.Errorf("exporting training set as %q: %w (use csv, jsonl or parquet)", p.Format, offline.ErrUnsupported)
	}
	if p.TrainingSet == nil || p.Path == "" {
		return 0, errors.New("exporting training set: no training set or no path")
	}
	query, err := s.trainingSetQuery(ctx, p.TrainingSet)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(p.Path), 0o755); err != nil {
		return 0, fmt.Errorf("exporting training set: %w", err)
	}
	tmp, err := offline.PartialPath(p.Path)
	if err != nil {
		return 0, fmt.Errorf("exporting training set: %w", err)
	}
	defer os.Remove(tmp)
	stmt := "COPY (\n" + query + "\n) TO " + offline.QuoteLiteral(tmp) + " " + options
	s.log.DebugContext(ctx, "export training set", "sql", stmt)
	res, err := s.db.ExecContext(ctx, stmt)
	if err != nil {
		return 0, fmt.Errorf("exporting training set to %s: %w", p.Path, readError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("exporting training set to %s: %w", p.Path, err)
	}
	if err := os.Rename(tmp, p.Path); err != nil {
		return 0, fmt.Errorf("exporting training set: %w", err)
	}
	return n, nil
}

// ReadLatest streams the latest values per entity of one or more value
// columns of a dataset, in one query.
func (s *Store) ReadLatest(ctx context.Context, p *offline.ReadLatestParams) (offline.Rows, error) {
	if err := offline.CheckReadLatest(p); err != nil {
		return nil, fmt.Errorf("reading latest values of %s: %w", p.Table, err)
	}
	types, err := s.datasetTypes(ctx, p.Table, p.EntityColumn, p.TimestampColumn, p.ValueColumns...)
	if err != nil {
		return nil, fmt.Errorf("reading latest values: %w", err)
	}
	query := latestQuery(p, types)
	s.log.DebugContext(ctx, "read latest", "sql", query)
	rows, err := s.query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("reading latest values of %s: %w", p.Table, err)
	}
	return rows, nil
}

// trainingSetQuery describes the datasets of p (their entity and timestamp
// types decide the casts) and generates the join.
func (s *Store) trainingSetQuery(ctx context.Context, p *offline.TrainingSetParams) (string, error) {
	if p.Label.TimestampColumn == "" {
		return "", errors.New("training set: the label has no timestamp column")
	}
	labelTypes, err := s.datasetTypes(ctx, p.Label.Table, p.Label.EntityColumn, p.Label.TimestampColumn, p.Label.ValueColumn)
	if err != nil {
		return "", fmt.Errorf("training set label: %w", err)
	}
	featureTypes := make([]datasetTypes, len(p.Features))
	for i, f := range p.Features {
		if featureTypes[i], err = s.datasetTypes(ctx, f.Table, f.EntityColumn, f.TimestampColumn, f.ValueColumn); err != nil {
			return "", fmt.Errorf("training set feature %s: %w", f.Name, err)
		}
	}
	query := trainingSetQuery(p, labelTypes, featureTypes)
	s.log.DebugContext(ctx, "training set", "sql", query)
	return query, nil
}

// datasetTypes describes the entity, timestamp ("" for none) and value
// columns of a table; the error names a missing column or table.
func (s *Store) datasetTypes(ctx context.Context, table, entity, timestamp string, values ...string) (datasetTypes, error) {
	cols := []string{offline.QuoteIdent(entity)}
	if timestamp != "" {
		cols = append(cols, offline.QuoteIdent(timestamp))
	}
	for _, v := range values {
		cols = append(cols, offline.QuoteIdent(v))
	}
	described, err := s.describe(ctx, s.db, "DESCRIBE SELECT "+strings.Join(cols, ", ")+" FROM "+sqltext.QuoteQualified(table))
	if err != nil {
		return datasetTypes{}, fmt.Errorf("describing %s: %w", table, err)
	}
	if len(described) != len(cols) {
		return datasetTypes{}, fmt.Errorf("describing %s: %d columns, want %d", table, len(described), len(cols))
	}
	t := datasetTypes{Entity: described[0].EngineType}
	if timestamp != "" {
		t.Timestamp = described[1].EngineType
	}
	for _, c := range described[len(cols)-len(values):] {
		t.Values = append(t.Values, c.EngineType)
	}
	return t, nil
}

func (s *Store) query(ctx context.Context, query string) (*rows, error) {
	r, err := s.db.QueryContext(ctx, query)
	if err != nil {
		return nil, readError(err)
	}
	return newRows(r)
}

// Version names the DuckDB library in use (for `slipway doctor`).
func (s *Store) Version(ctx context.Context) (string, error) {
	var v string
	if err := s.db.QueryRowContext(ctx, "SELECT version()").Scan(&v); err != nil {
		return "", fmt.Errorf("reading the DuckDB version: %w", err)
	}
	return "DuckDB " + v, nil
}

// LibraryVersion is the version of the DuckDB library linked in (like
// "v1.4.1"), read without opening a database.
func LibraryVersion() string {
	return mapping.LibraryVersion()
}

// Claim implements offline.Store with a one-row table, slipway_registry.
func (s *Store) Claim(ctx context.Context, p *offline.ClaimParams) error {
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS slipway_registry (one INTEGER PRIMARY KEY CHECK (one = 1), id VARCHAR NOT NULL)`,
		`INSERT INTO slipway_registry VALUES (1, ?) ON CONFLICT DO NOTHING`,
	} {
		var args []any
		if strings.Contains(stmt, "?") {
			args = append(args, p.RegistryID)
		}
		if _, err := s.db.ExecContext(ctx, stmt, args...); err != nil {
			return fmt.Errorf("claiming the offline store: %w", err)
		}
	}
	var id string
	if err := s.db.QueryRowContext(ctx, `SELECT id FROM slipway_registry`).Scan(&id); err != nil {
		return fmt.Errorf("claiming the offline store: %w", err)
	}
	if id != p.RegistryID {
		return fmt.Errorf("%w: it holds the tables of registry %s, this registry is %s", offline.ErrClaimed, id, p.RegistryID)
	}
	return nil
}
