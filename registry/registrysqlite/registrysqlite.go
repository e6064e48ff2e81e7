// Package registrysqlite is the registry.Store kept in a SQLite file: the
// metadata store of Slipway's zero-infrastructure default (.slipway/).
//
// The store itself is registrysql's; this package opens the file and says
// how SQLite differs. It uses the pure-Go modernc.org/sqlite driver in WAL
// mode, so readers never wait for a writer. Every write transaction starts
// with BEGIN IMMEDIATE, which takes SQLite's write lock up front: concurrent
// writers, from this process or another one sharing the file, queue on the
// lock (bounded by the busy timeout) instead of failing half-way with
// "database is locked", and each sees everything committed before it.
package registrysqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/registry/registrysql"
)

var _ registry.Store = (*Store)(nil)

// Config configures a Store.
type Config struct {
	// Path is the database file; its directory is created if missing.
	Path string
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.Path == "" {
		return errors.New("registry path is empty: set it to a file such as .slipway/registry.db")
	}
	if strings.ContainsAny(c.Path, "?#") {
		return fmt.Errorf("registry path %q contains '?' or '#': choose a path without them", c.Path)
	}
	return nil
}

// busyTimeout bounds how long a write waits for another process's lock.
const busyTimeout = 30 * time.Second

// Store is a registry.Store on a SQLite file. It is safe for concurrent use.
type Store struct {
	*registrysql.Store
}

// New opens (creating if needed) the registry at cfg.Path and brings its schema up to date.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
		return nil, fmt.Errorf("creating registry directory: %w", err)
	}
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", cfg.Path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening registry %s: %w", cfg.Path, err)
	}
	s, err := registrysql.New(ctx, db, dialect(), cfg.Logger)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening registry %s: %w", cfg.Path, err)
	}
	return &Store{s}, nil
}

// dialect says how SQLite stores the registry. Resource times are UTC text
// (timeLayout), which sorts as it reads; job times are integer unix
// microseconds, which SQL compares.
func dialect() *registrysql.Dialect {
	return &registrysql.Dialect{
		Table: func(name string) string { return name },
		Time: func(t time.Time) (any, error) {
			// timeLayout is fixed-width, so text order is time order, only
			// for UTC years 0 to 9999 (Go writes other years with a sign or
			// a fifth digit, which would neither sort nor read back).
			if y := t.UTC().Year(); y < 0 || y > 9999 {
				return nil, fmt.Errorf("time %v is outside the years 0000 to 9999 (UTC) the registry can record", t)
			}
			return t.UTC().Format(timeLayout), nil
		},
		JobTime: func(t time.Time) any {
			if t.IsZero() {
				return nil
			}
			return t.UnixMicro()
		},
		ScanTime: func(v any) (time.Time, error) {
			switch v := v.(type) {
			case nil:
				return time.Time{}, nil
			case int64:
				return time.UnixMicro(v).UTC(), nil
			case string:
				return time.Parse(timeLayout, v)
			}
			return time.Time{}, fmt.Errorf("a time column holds %T", v)
		},
		Tags: func(tags []string) (any, error) {
			b, err := json.Marshal(tags)
			return string(b), err
		},
		IDList: "group_concat(%s)",
		HasPrefix: func(column, prefix string) (string, []any) {
			// Compared as blobs: byte-wise, with no wildcards (LIKE would
			// treat % and _ as patterns and ignore ASCII case).
			return `substr(CAST(` + column + ` AS BLOB), 1, ?) = ?`, []any{len(prefix), []byte(prefix)}
		},
		MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at TEXT NOT NULL
		)`,
		Migrations: migrations,
		MapError:   mapError,
	}
}

// timeLayout stores resource times as UTC text with microsecond precision.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// mapError maps SQLite's uniqueness violations to registry.ErrConflict.
func mapError(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("%w: %w", registry.ErrConflict, err)
		}
	}
	return nil
}

// Version names the SQLite library in use (for `slipway doctor`).
func (s *Store) Version(ctx context.Context) (string, error) {
	var v string
	if err := s.DB().QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&v); err != nil {
		return "", fmt.Errorf("reading the SQLite version: %w", err)
	}
	return "SQLite " + v, nil
}
