// Package offlinepg is the PostgreSQL offline store: sources are existing
// tables, registered as views in Slipway's own schema; transformations are
// always materialized as tables there; training sets are point-in-time joins
// run by the server with LATERAL probes of indexed temporary tables.
//
// Every connection uses search_path "<schema>, public" and time zone UTC, so
// transformation SQL can name Slipway's tables and the team's own tables
// alike, and TIMESTAMPTZ values convert the same way whatever the server's
// default zone is.
package offlinepg

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5/pgxpool"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/internal/sqltext"
	"github.com/slipway-ml/slipway/resource"
)

// Config configures a Store.
type Config struct {
	// DSN is the connection string, such as postgres://user:pass@host:5432/db.
	DSN string
	// Schema holds Slipway's tables and views; "" means "slipway". New creates it.
	Schema string
	// MaxConns bounds the open connections; 0 means 4.
	MaxConns int
	// TempBuffers is the session's temp_buffers, the memory that holds the
	// temporary tables of point-in-time joins; "" means "128MB". PostgreSQL's
	// default (8MB) makes a join over a few 100k-row features some 1.5 times
	// slower; the memory is taken only as temporary tables use it.
	TempBuffers string
	// Logger receives the generated SQL at debug level; nil discards.
	Logger *slog.Logger
}

// maxIdentifier is PostgreSQL's identifier length (NAMEDATALEN − 1); longer
// names are silently truncated by the server, so they are refused here.
const maxIdentifier = 63

// Validate checks the configuration and fills in defaults.
func (c *Config) Validate() error {
	if c.DSN == "" {
		return errors.New("dsn is empty: set it to a connection string such as postgres://user@host:5432/db")
	}
	if c.Schema == "" {
		c.Schema = "slipway"
	}
	if len(c.Schema) > maxIdentifier {
		return fmt.Errorf("schema %q is longer than %d bytes", c.Schema, maxIdentifier)
	}
	if c.MaxConns < 0 {
		return fmt.Errorf("max conns is %d: use 0 for the default or a positive number", c.MaxConns)
	}
	if c.MaxConns == 0 {
		c.MaxConns = 4
	}
	if c.TempBuffers == "" {
		c.TempBuffers = "128MB"
	}
	return nil
}

// Store is an offline.Store on PostgreSQL.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	log    *slog.Logger
}

var _ offline.Store = (*Store)(nil)

// New connects to the database of cfg and creates cfg.Schema if needed.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("offlinepg config: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	poolCfg, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("offlinepg config: dsn: %w", err)
	}
	poolCfg.MaxConns = int32(cfg.MaxConns)
	pc := poolCfg.ConnConfig
	// Sent at connection start-up, so they cost no round trip.
	pc.RuntimeParams["search_path"] = offline.QuoteIdent(cfg.Schema) + ", public"
	pc.RuntimeParams["timezone"] = "UTC"
	pc.RuntimeParams["temp_buffers"] = cfg.TempBuffers
	// Every statement is generated and most run once: unnamed statements
	// avoid growing a per-connection cache, and a cached statement going stale
	// when CreateTable changes a table's columns.
	pc.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	s := &Store{pool: pool, schema: cfg.Schema, log: log}
	err = s.withConn(ctx, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+offline.QuoteIdent(cfg.Schema))
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P06") {
			err = nil // created concurrently by another store
		}
		return err
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("creating schema %s: %w", cfg.Schema, err)
	}
	return s, nil
}

// Close closes the connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

func (s *Store) withConn(ctx context.Context, f func(c *pgx.Conn) error) error {
	c, release, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	return f(c)
}

// acquire takes a connection from the pool; release gives it back (the pool
// closes a connection that was left mid-transaction instead of reusing it).
func (s *Store) acquire(ctx context.Context) (*pgx.Conn, func(), error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	return pc.Conn(), pc.Release, nil
}

// Capabilities reports CSV and JSON lines exports; sources are tables.
func (s *Store) Capabilities() offline.Capabilities {
	return offline.Capabilities{ExportFormats: []string{"csv", "jsonl"}, FileSources: false}
}

// SourceQuery selects every row of a table. Files are not supported.
func (s *Store) SourceQuery(p *offline.SourceQueryParams) (string, error) {
	switch {
	case p.File != "" && p.Table != "":
		return "", errors.New("source has both a file and a table: give one")
	case p.File != "":
		return "", fmt.Errorf("file source %s: %w: PostgreSQL reads tables; load the file into a table, or use the DuckDB offline store for file sources", p.File, offline.ErrUnsupported)
	case len(p.Columns) > 0:
		return "", errors.New("columns applies to CSV files; a table has its own column types")
	case p.Table != "":
		return "SELECT * FROM " + sqltext.QuoteQualified(p.Table), nil
	}
	return "", errors.New("source has neither a file nor a table")
}

// CheckSource checks nothing beyond SourceQuery: a table's columns have
// types, and files are not supported.
func (s *Store) CheckSource(ctx context.Context, p *offline.SourceQueryParams) error {
	_, err := s.SourceQuery(p)
	return err
}

// Describe returns the columns of p.SQL without running it: the statement is
// prepared and the server's description of its result read back.
func (s *Store) Describe(ctx context.Context, p *offline.DescribeParams) ([]resource.Column, error) {
	var cols []resource.Column
	query := describeQuery(p.SQL, p.With)
	err := s.withConn(ctx, func(c *pgx.Conn) error {
		var err error
		cols, err = s.describe(ctx, c, query)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("describing query: %w", queryError(query, p.SQL, err))
	}
	return cols, nil
}

// queryError wraps the server's rejection of query, which embeds userSQL,
// as an *offline.QueryError: PostgreSQL gives a character position in the
// query, mapped here to a line of the user's SQL.
func queryError(query, userSQL string, err error) *offline.QueryError {
	qe := &offline.QueryError{Err: err}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Position > 0 && int(pe.Position) <= len([]rune(query)) {
		line := strings.Count(string([]rune(query)[:pe.Position-1]), "\n") + 1
		qe.Line = offline.UserLine(query, userSQL, line)
	}
	return qe
}

func (s *Store) describe(ctx context.Context, c *pgx.Conn, query string) ([]resource.Column, error) {
	s.log.DebugContext(ctx, "describe", "sql", query)
	fields, err := describeFields(ctx, c, query)
	if err != nil {
		return nil, err
	}
	cols := make([]resource.Column, len(fields))
	for i, f := range fields {
		cols[i] = resource.Column{Name: f.Name, EngineType: f.Type, Type: offline.ColumnType(f.Type)}
	}
	return cols, nil
}

// field is a result column: its name and engine type name.
type field struct {
	Name string
	Type string
}

// describeFields prepares query as the unnamed statement and names the types
// of its result columns.
func describeFields(ctx context.Context, c *pgx.Conn, query string) ([]field, error) {
	sd, err := c.PgConn().Prepare(ctx, "", query, nil)
	if err != nil {
		return nil, err
	}
	fields := make([]field, len(sd.Fields))
	for i, fd := range sd.Fields {
		t, err := typeName(ctx, c, fd.DataTypeOID, fd.TypeModifier)
		if err != nil {
			return nil, err
		}
		fields[i] = field{Name: fd.Name, Type: t}
	}
	return fields, nil
}

// typeNames names the common built-in types the way offline.ColumnType reads them.
var typeNames = map[uint32]string{
	16:   "BOOLEAN",
	18:   "CHAR",
	20:   "BIGINT",
	21:   "SMALLINT",
	23:   "INTEGER",
	25:   "TEXT",
	700:  "REAL",
	701:  "DOUBLE PRECISION",
	1042: "BPCHAR",
	1043: "VARCHAR",
	1082: "DATE",
	1114: "TIMESTAMP",
	1184: "TIMESTAMPTZ",
	1700: "NUMERIC",
	2950: "UUID",
}

// typeName names a type OID: common types from the table above, any other
// (json, arrays, enums, domains) as the server formats it.
func typeName(ctx context.Context, c *pgx.Conn, oid uint32, mod int32) (string, error) {
	if t, ok := typeNames[oid]; ok {
		return t, nil
	}
	var t string
	if err := c.QueryRow(ctx, "SELECT upper(format_type($1, $2))", oid, mod).Scan(&t); err != nil {
		return "", fmt.Errorf("naming type %d: %w", oid, err)
	}
	return t, nil
}

// CreateTable replaces p.Table in one transaction: PostgreSQL DDL is
// transactional, so other sessions see the old table or the new one. An
// unqualified name goes into the store's schema. Views that depend on the old
// object (PostgreSQL binds a view to the table, not its name) are dropped
// and recreated from their definitions, so they read the new table; if one
// no longer fits (a column it uses is gone), the replace fails and nothing changes.
func (s *Store) CreateTable(ctx context.Context, p *offline.CreateTableParams) (*offline.CreateTableResult, error) {
	if p.Table == "" {
		return nil, errors.New("creating table: no table name")
	}
	var res *offline.CreateTableResult
	err := s.withConn(ctx, func(c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			var err error
			res, err = s.createTable(ctx, tx, p)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("creating table %s: %w", p.Table, err)
	}
	return res, nil
}

func (s *Store) createTable(ctx context.Context, tx pgx.Tx, p *offline.CreateTableParams) (*offline.CreateTableResult, error) {
	schema, table, err := s.splitName(p.Table)
	if err != nil {
		return nil, err
	}
	name := offline.QuoteIdent(schema) + "." + offline.QuoteIdent(table)
	// Serialize replacements of one table across processes: the look-up
	// below and the create/rename are otherwise a race between two runs.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, schema+"."+table); err != nil {
		return nil, err
	}
	var kind string
	err = tx.QueryRow(ctx, `SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2`, schema, table).Scan(&kind)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		kind = ""
	case err != nil:
		return nil, err
	}
	drop := ""
	switch kind {
	case "":
	case "r", "p":
		drop = "DROP TABLE "
	case "v":
		drop = "DROP VIEW "
	default:
		return nil, fmt.Errorf("%s exists and is not a table or view (pg_class.relkind %q): drop or rename it", name, kind)
	}
	var deps []dependentView
	if kind != "" {
		if deps, err = dependentViews(ctx, tx, name); err != nil {
			return nil, fmt.Errorf("finding views that depend on %s: %w", name, err)
		}
	}
	// The new object is built under a temporary name first: its SQL may read
	// the object it replaces (CREATE TABLE t AS SELECT … FROM t).
	create, rename := "CREATE TABLE ", "ALTER TABLE "
	if p.View {
		create, rename = "CREATE VIEW ", "ALTER VIEW "
	}
	tmp := "slipway_new_" + randomHex()
	stmt := create + offline.QuoteIdent(schema) + "." + offline.QuoteIdent(tmp) + " AS\n" + offline.TrimSQL(p.SQL) + "\n"
	s.log.DebugContext(ctx, "create table", "sql", stmt)
	tag, err := tx.Exec(ctx, stmt)
	if err != nil {
		return nil, err
	}
	var rows int64
	if !p.View {
		rows = tag.RowsAffected() // CREATE TABLE … AS reports "SELECT n"
	}
	for i := len(deps) - 1; i >= 0; i-- {
		if _, err := tx.Exec(ctx, "DROP "+deps[i].kind()+" "+deps[i].Name); err != nil {
			return nil, fmt.Errorf("dropping dependent view %s: %w", deps[i].Name, err)
		}
	}
	if drop != "" {
		if _, err := tx.Exec(ctx, drop+name); err != nil {
			return nil, err
		}
	}
	if _, err := tx.Exec(ctx, rename+offline.QuoteIdent(schema)+"."+offline.QuoteIdent(tmp)+" RENAME TO "+offline.QuoteIdent(table)); err != nil {
		return nil, err
	}
	for _, d := range deps {
		stmt := "CREATE " + d.kind() + " " + d.Name
		if d.Options != "" {
			stmt += " WITH (" + d.Options + ")"
		}
		stmt += " AS\n" + offline.TrimSQL(d.Definition)
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("recreating dependent view %s over the new %s: %w", d.Name, name, err)
		}
	}
	cols, err := s.describe(ctx, tx.Conn(), "SELECT * FROM "+name)
	if err != nil {
		return nil, err
	}
	return &offline.CreateTableResult{Columns: cols, Rows: rows}, nil
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// splitName returns the schema and name of a table: an unqualified name is in
// the store's schema.
func (s *Store) splitName(table string) (string, string, error) {
	parts := strings.Split(table, ".")
	if len(parts) == 1 {
		parts = []string{s.schema, parts[0]}
	}
	if len(parts) != 2 {
		return "", "", fmt.Errorf("table name %q: write name or schema.name", table)
	}
	for _, p := range parts {
		if p == "" || len(p) > maxIdentifier {
			return "", "", fmt.Errorf("table name %q: each part must be 1 to %d bytes (PostgreSQL truncates longer names)", table, maxIdentifier)
		}
	}
	return parts[0], parts[1], nil
}

// dependentView is a view or materialized view that reads a relation,
// directly or through other views.
type dependentView struct {
	Name         string // quoted and qualified
	Materialized bool
	Options      string // reloptions, such as security_barrier=true
	Definition   string
}

func (d dependentView) kind() string {
	if d.Materialized {
		return "MATERIALIZED VIEW"
	}
	return "VIEW"
}

// dependentViews lists the views over relation, in an order that creates
// each after the views it reads (by the length of its longest path from relation).
func dependentViews(ctx context.Context, tx pgx.Tx, relation string) ([]dependentView, error) {
	rows, err := tx.Query(ctx, `WITH RECURSIVE deps(oid, depth) AS (
  SELECT r.ev_class, 1
  FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
  WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = $1::regclass AND r.ev_class <> $1::regclass
  UNION
  SELECT r.ev_class, deps.depth + 1
  FROM deps JOIN pg_depend d ON d.refobjid = deps.oid JOIN pg_rewrite r ON r.oid = d.objid
  WHERE d.classid = 'pg_rewrite'::regclass AND r.ev_class <> deps.oid
)
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relkind = 'm',
       coalesce(array_to_string(c.reloptions, ', '), ''), pg_get_viewdef(c.oid)
FROM (SELECT oid, max(depth) AS depth FROM deps GROUP BY oid) AS x
JOIN pg_class c ON c.oid = x.oid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm')
ORDER BY x.depth, 1`, relation)
	if err != nil {
		return nil, err
	}
	var out []dependentView
	for rows.Next() {
		var d dependentView
		if err := rows.Scan(&d.Name, &d.Materialized, &d.Options, &d.Definition); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ReadTrainingSet streams the point-in-time join of p. The join runs in a
// repeatable-read transaction, so the label and every feature are read from
// one snapshot; the rows hold its connection until they are exhausted or closed.
func (s *Store) ReadTrainingSet(ctx context.Context, p *offline.TrainingSetParams) (offline.Rows, error) {
	c, release, err := s.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading training set: %w", err)
	}
	tx, query, err := s.beginTrainingSet(ctx, c, p)
	if err != nil {
		release()
		return nil, err
	}
	r, err := tx.Query(ctx, query)
	if err != nil {
		rollback(tx)
		release()
		return nil, fmt.Errorf("reading training set: %w", err)
	}
	return newRows(r, func() { rollback(tx); release() }), nil
}

// beginTrainingSet describes the datasets of p, starts the transaction, builds
// the join's temporary tables in it and returns the query.
func (s *Store) beginTrainingSet(ctx context.Context, c *pgx.Conn, p *offline.TrainingSetParams) (pgx.Tx, string, error) {
	if p.Label.TimestampColumn == "" {
		return nil, "", errors.New("training set: the label has no timestamp column")
	}
	tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, "", fmt.Errorf("training set: %w", err)
	}
	labelTypes, err := datasetTypesOf(ctx, c, p.Label.Table, p.Label.EntityColumn, p.Label.TimestampColumn, p.Label.ValueColumn)
	if err != nil {
		rollback(tx)
		return nil, "", fmt.Errorf("training set label: %w", err)
	}
	featureTypes := make([]datasetTypes, len(p.Features))
	for i, f := range p.Features {
		if featureTypes[i], err = datasetTypesOf(ctx, c, f.Table, f.EntityColumn, f.TimestampColumn, f.ValueColumn); err != nil {
			rollback(tx)
			return nil, "", fmt.Errorf("training set feature %s: %w", f.Name, err)
		}
	}
	ts := trainingSetSQL(p, labelTypes, featureTypes)
	if len(ts.Setup) > 0 {
		// One round trip: without arguments pgx sends the statements as one simple query.
		setup := strings.Join(ts.Setup, ";\n")
		s.log.DebugContext(ctx, "training set setup", "sql", setup)
		if _, err := tx.Exec(ctx, setup); err != nil {
			rollback(tx)
			return nil, "", fmt.Errorf("training set: building the feature tables: %w", err)
		}
	}
	s.log.DebugContext(ctx, "training set", "sql", ts.Query)
	return tx, ts.Query, nil
}

// datasetTypesOf describes the entity, timestamp ("" for none) and value
// columns of a table; the error names a missing column or table.
func datasetTypesOf(ctx context.Context, c *pgx.Conn, table, entity, timestamp string, values ...string) (datasetTypes, error) {
	cols := []string{offline.QuoteIdent(entity)}
	if timestamp != "" {
		cols = append(cols, offline.QuoteIdent(timestamp))
	}
	for _, v := range values {
		cols = append(cols, offline.QuoteIdent(v))
	}
	fields, err := describeFields(ctx, c, "SELECT "+strings.Join(cols, ", ")+" FROM "+sqltext.QuoteQualified(table))
	if err != nil {
		return datasetTypes{}, fmt.Errorf("describing %s: %w", table, err)
	}
	t := datasetTypes{Entity: fields[0].Type}
	if timestamp != "" {
		t.Timestamp = fields[1].Type
	}
	for _, f := range fields[len(cols)-len(values):] {
		t.Values = append(t.Values, f.Type)
	}
	return t, nil
}

// ExportTrainingSet writes the training set to p.Path with COPY … TO STDOUT,
// streamed from the server into the file, so rows never collect in Go. The
// file is written next to p.Path and renamed into place, so readers never
// see a half-written file. Timestamps are RFC 3339 UTC with microseconds, as
// in the DuckDB export. Parquet is not supported: PostgreSQL cannot write it.
func (s *Store) ExportTrainingSet(ctx context.Context, p *offline.ExportParams) (int64, error) {
	switch p.Format {
	case "csv", "jsonl":
	case "parquet":
		return 0, fmt.Errorf("exporting training set as parquet: %w: PostgreSQL cannot write Parquet; export csv or jsonl, or use the DuckDB offline store", offline.ErrUnsupported)
	default:
		return 0, fmt.Errorf("exporting training set as %q: %w (use csv or jsonl)", p.Format, offline.ErrUnsupported)
	}
	if p.TrainingSet == nil || p.Path == "" {
		return 0, errors.New("exporting training set: no training set or no path")
	}
	if err := os.MkdirAll(filepath.Dir(p.Path), 0o755); err != nil {
		return 0, fmt.Errorf("exporting training set: %w", err)
	}
	tmp, err := offline.PartialPath(p.Path)
	if err != nil {
		return 0, fmt.Errorf("exporting training set: %w", err)
	}
	defer os.Remove(tmp)
	var n int64
	err = s.withConn(ctx, func(c *pgx.Conn) error {
		tx, query, err := s.beginTrainingSet(ctx, c, p.TrainingSet)
		if err != nil {
			return err
		}
		defer rollback(tx)
		fields, err := describeFields(ctx, c, query)
		if err != nil {
			return fmt.Errorf("exporting training set: %w", err)
		}
		query = exportQuery(query, fields, p.Format == "csv")
		var stmt string
		if p.Format == "csv" {
			stmt = "COPY (\n" + query + "\n) TO STDOUT WITH (FORMAT csv, HEADER)"
		} else {
			// CSV format with a quote and delimiter that JSON text always
			// escapes, so each line is the JSON object exactly (the text
			// format would double its backslashes).
			stmt = "COPY (\nSELECT row_to_json(j) FROM (\n" + query + "\n) AS j\n) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
		}
		s.log.DebugContext(ctx, "export training set", "sql", stmt)
		n, err = copyToFile(ctx, c, stmt, tmp)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("exporting training set to %s: %w", p.Path, err)
	}
	if err := os.Rename(tmp, p.Path); err != nil {
		return 0, fmt.Errorf("exporting training set: %w", err)
	}
	return n, nil
}

func copyToFile(ctx context.Context, c *pgx.Conn, stmt, path string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	tag, err := c.PgConn().CopyTo(ctx, w, stmt)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// ReadLatest streams the latest values per entity of one or more value
// columns of a dataset, in one query.
func (s *Store) ReadLatest(ctx context.Context, p *offline.ReadLatestParams) (offline.Rows, error) {
	if err := offline.CheckReadLatest(p); err != nil {
		return nil, fmt.Errorf("reading latest values of %s: %w", p.Table, err)
	}
	c, release, err := s.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading latest values: %w", err)
	}
	types, err := datasetTypesOf(ctx, c, p.Table, p.EntityColumn, p.TimestampColumn, p.ValueColumns...)
	if err != nil {
		release()
		return nil, fmt.Errorf("reading latest values: %w", err)
	}
	query := latestQuery(p, types)
	s.log.DebugContext(ctx, "read latest", "sql", query)
	r, err := c.Query(ctx, query)
	if err != nil {
		release()
		return nil, fmt.Errorf("reading latest values of %s: %w", p.Table, err)
	}
	return newRows(r, func() { release() }), nil
}

// Version names the PostgreSQL server (for `slipway doctor`).
func (s *Store) Version(ctx context.Context) (string, error) {
	var v string
	err := s.withConn(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, "SELECT version()").Scan(&v)
	})
	if err != nil {
		return "", fmt.Errorf("reading the PostgreSQL version: %w", err)
	}
	return v, nil
}

// Claim implements offline.Store with a one-row table, slipway_registry, in the store's schema.
func (s *Store) Claim(ctx context.Context, p *offline.ClaimParams) error {
	table := offline.QuoteIdent(s.schema) + ".slipway_registry"
	var id string
	err := s.withConn(ctx, func(c *pgx.Conn) error {
		tx, err := c.Begin(ctx)
		if err != nil {
			return err
		}
		defer rollback(tx)
		for _, stmt := range []string{
			`SELECT pg_advisory_xact_lock(hashtext('` + strings.ReplaceAll(s.schema, "'", "''") + `.slipway_registry'))`,
			`CREATE TABLE IF NOT EXISTS ` + table + ` (one integer PRIMARY KEY CHECK (one = 1), id text NOT NULL)`,
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+table+` VALUES (1, $1) ON CONFLICT DO NOTHING`, p.RegistryID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT id FROM `+table).Scan(&id); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return fmt.Errorf("claiming the offline store: %w", err)
	}
	if id != p.RegistryID {
		return fmt.Errorf("%w: schema %s holds the tables of registry %s, this registry is %s", offline.ErrClaimed, s.schema, id, p.RegistryID)
	}
	return nil
}
