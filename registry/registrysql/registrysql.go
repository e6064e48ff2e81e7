// Package registrysql is the one implementation of registry.Store (resources,
// their lifecycle, the job queue, model versions and aliases) over
// database/sql. A backend
// (registrysqlite, registrypg) opens the database, describes it with a
// Dialect (placeholders, row locks, how times and tags are stored, its
// migrations and native errors) and wraps the Store; everything else, every
// query included, is written once here, so the backends differ only where
// the databases do.
//
// Statements are written with ? placeholders and {table} names; sql
// rewrites them for the dialect ($1, $2… and schema-qualified names on
// PostgreSQL) once per statement text.
//
// Concurrency comes in two shapes. With Dialect.RowLocks (PostgreSQL)
// writers run side by side in READ COMMITTED transactions and the store locks
// the rows it reads before deciding (SELECT … FOR UPDATE, SKIP LOCKED for
// claims). Without (SQLite), one write transaction runs at a time: this
// process's writers queue on a channel, honouring ctx, and other processes
// on the database's own write lock (BEGIN IMMEDIATE).
package registrysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/registry"
)

var _ registry.Store = (*Store)(nil)

// Dialect is what differs between the SQL databases a Store runs on. Every
// field is required unless it says otherwise.
type Dialect struct {
	// Table returns a table's name as statements write it.
	Table func(name string) string
	// Numbered placeholders ($1, $2, …) instead of ?.
	Numbered bool
	// RowLocks: writers run concurrently and the store locks rows with
	// FOR UPDATE / FOR SHARE (SKIP LOCKED where it may pass a locked row).
	// Without, write transactions are serialised (see the package comment).
	RowLocks bool
	// Isolation of write transactions.
	Isolation sql.IsolationLevel
	// DetachTx keeps a transaction's own context alive after the caller's
	// ends, so that its rollback still reaches the database and the
	// connection goes back to the pool clean (pgx drops a connection whose
	// rollback it could not send). Statements still stop with ctx.
	DetachTx bool
	// LockApply, when set, serialises Apply and Delete (in their
	// transaction) so that no apply registers a dependent between Delete's
	// check and its mark; nil when writes are already serialised.
	LockApply func(ctx context.Context, tx *sql.Tx) error
	// Now, when set, is an SQL expression for the clock stamping resources
	// (created_at, updated_at, lifecycle marks): the database server's, so
	// that hosts with skewed clocks agree. Empty: this process's clock.
	Now string
	// Time is a resource time's column value (created_at, watermark, …).
	Time func(t time.Time) (any, error)
	// JobTime is a job time's column value; the zero time is NULL.
	JobTime func(t time.Time) any
	// ScanTime reads either kind of time column; NULL is the zero time.
	ScanTime func(v any) (time.Time, error)
	// Tags is the tags column's value.
	Tags func(tags []string) (any, error)
	// IDList is an aggregate, with %s for an integer column, that lists its
	// values separated by commas (NULL for none).
	IDList string
	// HasPrefix is a condition that column starts with prefix, byte-wise and
	// without wildcards, and its arguments.
	HasPrefix func(column, prefix string) (string, []any)
	// MigrationsTable creates schema_migrations (version, applied_at) if missing.
	MigrationsTable string
	// Migrations are applied in order, each once, ready to run:
	// Migrations[i] is schema version i+1.
	Migrations []string
	// BeforeMigrate, when set, runs first in the migration transaction.
	BeforeMigrate func(ctx context.Context, tx *sql.Tx) error
	// MapError maps a native error (a uniqueness violation, …) to one
	// wrapping a registry sentinel, or returns nil when it knows no mapping.
	MapError func(err error) error
}

// Defaults of ListJobs and JobLogs, and the rows written per statement.
const (
	defaultJobLimit = 100
	defaultLogLimit = 1000
	rowsPerInsert   = 100
	// rollbackTimeout bounds a detached rollback.
	rollbackTimeout = 5 * time.Second
)

// Store is a registry.Store on a database/sql database. It is safe for
// concurrent use.
type Store struct {
	db  *sql.DB
	d   *Dialect
	log *slog.Logger
	// write serialises this process's write transactions when the dialect
	// has no row locks; nil otherwise.
	write chan struct{}
	// stmts caches sql's rewrites.
	stmts sync.Map
}

// New returns a Store on db and brings its schema up to date. The Store owns
// db from then on (Close closes it), but not when New fails.
func New(ctx context.Context, db *sql.DB, d *Dialect, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{db: db, d: d, log: log}
	if !d.RowLocks {
		s.write = make(chan struct{}, 1)
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// DB is the database the Store runs on.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// ID implements registry.Store.
func (s *Store) ID(ctx context.Context) (string, error) {
	var id string
	if err := s.db.QueryRowContext(ctx, s.sql(`SELECT id FROM {registry_info}`)).Scan(&id); err != nil {
		return "", fmt.Errorf("reading the registry id: %w", s.mapErr(ctx, err))
	}
	return id, nil
}

// querier is what reads need from *sql.DB and *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type scanner interface{ Scan(dest ...any) error }

// sql rewrites a statement for the dialect: {name} becomes Table(name) and,
// with numbered placeholders, the n-th ? becomes $n.
func (s *Store) sql(query string) string {
	if q, ok := s.stmts.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		switch c := query[i]; {
		case c == '\'': // a literal: copied as it is
			end := len(query)
			if j := strings.IndexByte(query[i+1:], '\''); j >= 0 {
				end = i + 1 + j + 1
			}
			b.WriteString(query[i:end])
			i = end - 1
		case c == '{' && strings.IndexByte(query[i:], '}') > 1:
			j := strings.IndexByte(query[i:], '}')
			b.WriteString(s.d.Table(query[i+1 : i+j]))
			i += j
		case c == '?' && s.d.Numbered:
			n++
			b.WriteString("$" + strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	s.stmts.Store(query, b.String())
	return b.String()
}

// lock returns a locking clause when the dialect takes row locks, "" otherwise.
func (s *Store) lock(clause string) string {
	if s.d.RowLocks {
		return " " + clause
	}
	return ""
}

// placeholders returns n comma-separated ? (a row of a multi-row insert when
// wrapped in parentheses).
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// inTx runs fn in a write transaction.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.write != nil {
		select {
		case s.write <- struct{}{}:
			defer func() { <-s.write }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	txCtx, cancel := ctx, context.CancelFunc(func() {})
	if s.d.DetachTx {
		txCtx, cancel = context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
	}
	tx, err := s.db.BeginTx(txCtx, &sql.TxOptions{Isolation: s.d.Isolation})
	if err != nil {
		return s.mapErr(ctx, err)
	}
	err = fn(tx)
	if err == nil {
		err = ctx.Err() // commit nothing the caller gave up on
	}
	if err != nil {
		defer time.AfterFunc(rollbackTimeout, cancel).Stop()
		if rerr := tx.Rollback(); rerr != nil {
			s.log.DebugContext(ctx, "registry rollback failed", "err", rerr)
		}
		return err
	}
	return s.mapErr(ctx, tx.Commit())
}

// now reads the clock that stamps resources.
func (s *Store) now(ctx context.Context, q querier) (time.Time, error) {
	if s.d.Now == "" {
		return time.Now(), nil
	}
	var now time.Time
	if err := q.QueryRowContext(ctx, `SELECT `+s.d.Now).Scan(&now); err != nil {
		return time.Time{}, fmt.Errorf("reading the clock: %w", s.mapErr(ctx, err))
	}
	return now, nil
}

// mapErr is the one place driver errors become registry errors: a missing
// row is registry.ErrNotFound, the dialect maps its native errors, and a
// statement interrupted because ctx is done wraps the context's error.
func (s *Store) mapErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return registry.ErrNotFound
	}
	if m := s.d.MapError(err); m != nil {
		return m
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}

// migrate brings the schema up to date in one write transaction, so
// processes opening a new database at once apply each migration once.
// Change a schema by appending a migration, never by editing one that has
// shipped.
func (s *Store) migrate(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d.BeforeMigrate != nil {
			if err := s.d.BeforeMigrate(ctx, tx); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.d.MigrationsTable); err != nil {
			return fmt.Errorf("creating schema_migrations: %w", s.mapErr(ctx, err))
		}
		var current int
		if err := tx.QueryRowContext(ctx, s.sql(`SELECT COALESCE(MAX(version), 0) FROM {schema_migrations}`)).Scan(&current); err != nil {
			return fmt.Errorf("reading schema version: %w", s.mapErr(ctx, err))
		}
		if current > len(s.d.Migrations) {
			return fmt.Errorf("registry schema version %d is newer than this binary knows (%d): upgrade slipway", current, len(s.d.Migrations))
		}
		for i := current; i < len(s.d.Migrations); i++ {
			version := i + 1
			if _, err := tx.ExecContext(ctx, s.d.Migrations[i]); err != nil {
				return fmt.Errorf("applying migration %d: %w", version, s.mapErr(ctx, err))
			}
			now, err := s.now(ctx, tx)
			if err != nil {
				return err
			}
			at, err := s.d.Time(now)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {schema_migrations} (version, applied_at) VALUES (?, ?)`),
				version, at); err != nil {
				return fmt.Errorf("recording migration %d: %w", version, s.mapErr(ctx, err))
			}
			s.log.DebugContext(ctx, "registry migration applied", "version", version)
		}
		return nil
	})
}
