// Package registrypg is the registry.Store kept in PostgreSQL: the metadata
// store for production, shared by every Slipway process (CLI, servers,
// workers) pointed at the same database.
//
// The store itself is registrysql's; this package connects (pgx through
// database/sql) and says how PostgreSQL differs. All tables live in one
// schema (Config.Schema, "slipway" by default), so several registries can
// share a database. Writes are READ COMMITTED transactions that lock the
// rows they decide on; Apply and Delete first take a transaction-scoped
// advisory lock derived from the schema name, so concurrent applies, from
// this process or any other, queue on it and each sees everything committed
// before it. See docs/design/registry-postgres.md.
package registrypg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/registry/registrysql"
)

var _ registry.Store = (*Store)(nil)

// DefaultSchema is the schema used when Config.Schema is empty.
const DefaultSchema = "slipway"

// Config configures a Store.
type Config struct {
	// DSN is a PostgreSQL connection string, as a URL
	// (postgres://user:pass@host:5432/db?sslmode=require) or key=value pairs.
	DSN string
	// Schema holds the registry's tables and is created if missing;
	// DefaultSchema when empty.
	Schema string
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// schemaPattern keeps schema names to ones that need no quoting in psql,
// so operators can type them as they appear in the configuration.
var schemaPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Validate checks the configuration.
func (c *Config) Validate() error {
	if strings.TrimSpace(c.DSN) == "" {
		return errors.New("registry DSN is empty: set it to a PostgreSQL connection string such as postgres://user@host:5432/slipway")
	}
	schema := c.schemaName()
	if !schemaPattern.MatchString(schema) {
		return fmt.Errorf("invalid registry schema %q: use lower-case letters, digits and '_', starting with a letter or '_', at most 63 characters", schema)
	}
	if strings.HasPrefix(schema, "pg_") {
		return fmt.Errorf("invalid registry schema %q: names starting with pg_ are reserved by PostgreSQL", schema)
	}
	return nil
}

func (c *Config) schemaName() string {
	if c.Schema == "" {
		return DefaultSchema
	}
	return c.Schema
}

// cancelDeadline is how long a cancelled statement may take to stop before
// its connection is closed instead.
const cancelDeadline = 5 * time.Second

// Store is a registry.Store in a PostgreSQL schema. It is safe for concurrent use.
type Store struct {
	*registrysql.Store
	schema string
}

// New connects to the database in cfg.DSN, creates the schema if missing and
// brings it up to date. A schema migrated by a newer Slipway is refused.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ccfg, err := pgx.ParseConfig(cfg.DSN)
	if err != nil {
		// pgconn redacts the password from parse errors.
		return nil, fmt.Errorf("parsing registry DSN: %w", err)
	}
	// When ctx ends mid-statement, ask the server to cancel the statement
	// rather than dropping the connection (pgx's default): an apply queued on
	// the advisory lock leaves the queue at once, and the connection survives.
	// The deadline is the fallback for a server that does not answer.
	ccfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelDeadline}
	}
	db := stdlib.OpenDB(*ccfg)
	// pgxpool's default size: enough for concurrent writers, bounded so
	// that a burst waits for a connection instead of opening hundreds.
	conns := max(4, runtime.NumCPU())
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	schema := cfg.schemaName()
	s, err := registrysql.New(ctx, db, dialect(schema), cfg.Logger)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening registry schema %s: %w", schema, err)
	}
	return &Store{Store: s, schema: schema}, nil
}

// dialect says how PostgreSQL stores the registry in schema.
func dialect(schema string) *registrysql.Dialect {
	quoted := pgx.Identifier{schema}.Sanitize()
	applyKey := lockKey("apply", schema)
	return &registrysql.Dialect{
		Table:    func(name string) string { return pgx.Identifier{schema, name}.Sanitize() },
		Numbered: true,
		RowLocks: true,
		// Each statement after a lock wait must see what the previous
		// holder committed, which a snapshot taken before the wait would not.
		Isolation: sql.LevelReadCommitted,
		DetachTx:  true,
		LockApply: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, applyKey)
			return err
		},
		Now:      `clock_timestamp()`,
		Time:     func(t time.Time) (any, error) { return t, nil },
		JobTime:  func(t time.Time) any { return nullTime(t) },
		ScanTime: scanTime,
		Tags:     func(tags []string) (any, error) { return tags, nil },
		IDList:   "string_agg(%s::text, ',')",
		HasPrefix: func(column, prefix string) (string, []any) {
			// starts_with compares bytes and knows no wildcards, unlike LIKE.
			return `starts_with(` + column + `, ?)`, []any{prefix}
		},
		MigrationsTable: `CREATE TABLE IF NOT EXISTS ` + quoted + `.schema_migrations (
			version    integer PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
		)`,
		Migrations: expand(migrations, quoted),
		// Replicas starting together against a new database queue on a
		// lock private to this schema instead of racing to create it. The
		// schema's existence is checked first so that a role that owns it
		// but may not create schemas in the database can still open it.
		BeforeMigrate: func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("migrate", schema)); err != nil {
				return fmt.Errorf("waiting for the migration lock: %w", err)
			}
			var exists bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
				return fmt.Errorf("looking up schema %s: %w", schema, err)
			}
			if !exists {
				if _, err := tx.ExecContext(ctx, `CREATE SCHEMA `+quoted); err != nil {
					return fmt.Errorf("creating schema %s: %w", schema, err)
				}
			}
			return nil
		},
		MapError: mapError,
	}
}

// expand puts the quoted schema name in place of {schema} in migrations.
func expand(migrations []string, quoted string) []string {
	out := make([]string, len(migrations))
	for i, m := range migrations {
		out[i] = strings.ReplaceAll(m, "{schema}", quoted)
	}
	return out
}

// lockKey is the advisory lock key for one purpose on one schema. Advisory
// locks are per database, so the schema is part of the key: registries in
// different schemas of one database do not wait for each other.
func lockKey(purpose, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("slipway registry " + purpose + "\x00" + schema))
	return int64(h.Sum64())
}

// nullTime is a timestamptz column's value: NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func scanTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return v.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("a time column holds %T", v)
}

// PostgreSQL error codes mapError knows.
const (
	codeUniqueViolation          = "23505"
	codeCharacterNotInRepertoire = "22021"
	codeUndefinedTable           = "42P01"
	codeInvalidSchemaName        = "3F000"
)

// mapError maps PostgreSQL's native errors: a uniqueness violation is
// registry.ErrConflict, and the others say what to do. A statement that pgx
// cancelled because ctx ended (query_canceled, 57014) is left to
// registrysql, which wraps the context's error.
func mapError(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
	}
	switch pe.Code {
	case codeUniqueViolation:
		return fmt.Errorf("%w: %w", registry.ErrConflict, err)
	case codeCharacterNotInRepertoire:
		return fmt.Errorf("a text field contains a NUL byte or invalid UTF-8, which PostgreSQL cannot store: remove it: %w", err)
	case codeUndefinedTable, codeInvalidSchemaName:
		return fmt.Errorf("the registry's tables are missing; was the schema dropped while Slipway was running? %w", err)
	}
	return nil
}

// Version names the PostgreSQL server in use (for `slipway doctor`).
func (s *Store) Version(ctx context.Context) (string, error) {
	var v string
	if err := s.DB().QueryRowContext(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "", fmt.Errorf("reading the PostgreSQL version: %w", err)
	}
	return "PostgreSQL " + v, nil
}
