// Package registrysqlite is the registry.Store kept in a SQLite file: the
// metadata store of Slipway's zero-infrastructure default (.slipway/).
//
// It uses the pure-Go modernc.org/sqlite driver in WAL mode, so readers never
// wait for a writer. Every write transaction starts with BEGIN IMMEDIATE,
// which takes SQLite's write lock up front: concurrent applies, from this
// process or another one sharing the file, queue on the lock (bounded by the
// busy timeout) instead of failing half-way with "database is locked".
package registrysqlite

import (
	"bytes"
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
	"github.com/slipway-ml/slipway/resource"
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

// busyTimeout bounds how long a write waits for another writer's lock.
const busyTimeout = 30 * time.Second

// timeLayout stores timestamps as UTC text with microsecond precision; it sorts as it reads.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Store is a registry.Store on a SQLite file. It is safe for concurrent use.
type Store struct {
	db  *sql.DB
	log *slog.Logger
	// write serialises this process's writers so they queue on a channel
	// (honouring ctx) rather than polling SQLite's busy handler.
	write chan struct{}
}

// New opens (creating if needed) the registry at cfg.Path and brings its schema up to date.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
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
	s := &Store{db: db, log: log, write: make(chan struct{}, 1)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening registry %s: %w", cfg.Path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// lockWrite takes this process's write slot; the returned func releases it.
func (s *Store) lockWrite(ctx context.Context) (func(), error) {
	select {
	case s.write <- struct{}{}:
		return func() { <-s.write }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE, from the DSN's _txlock).
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(ctx, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return mapErr(ctx, tx.Commit())
}

// Apply implements registry.Store.
func (s *Store) Apply(ctx context.Context, p *registry.ApplyParams) (*registry.ApplyResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p == nil {
		p = &registry.ApplyParams{}
	}
	batch, defs, err := registry.ApplyBatch(p)
	if err != nil {
		return nil, err
	}

	res := &registry.ApplyResult{}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		now := formatTime(time.Now())
		for _, r := range batch {
			var stored string
			var deletedAt sql.NullString
			err := tx.QueryRowContext(ctx,
				`SELECT definition, deleted_at FROM resources WHERE kind = ? AND name = ? AND variant = ?`,
				r.Kind, r.Name, r.Variant).Scan(&stored, &deletedAt)
			switch {
			case err == nil && deletedAt.Valid:
				t, err := getTx(ctx, tx, r.ID)
				if err != nil {
					return fmt.Errorf("reading %s: %w", r.ID, err)
				}
				return registry.ReappliedDeleted(t)
			case err == nil:
				old, err := decodeDefinition(stored)
				if err != nil {
					return fmt.Errorf("reading registered %s: %w", r.ID, err)
				}
				if !bytes.Equal(old.Definition(), defs[r.ID]) {
					return &registry.ConflictError{ID: r.ID, Diffs: resource.Diff(old, r)}
				}
				res.Unchanged = append(res.Unchanged, r.ID)
				continue
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("reading %s: %w", r.ID, mapErr(ctx, err))
			}
			if err := insert(ctx, tx, r, defs[r.ID], now); err != nil {
				return fmt.Errorf("registering %s: %w", r.ID, err)
			}
			res.Created = append(res.Created, r.ID)
		}
		return checkDeletedDependencies(ctx, tx, batch)
	})
	if err != nil {
		return nil, err
	}
	s.log.DebugContext(ctx, "registry apply", "created", len(res.Created), "unchanged", len(res.Unchanged))
	return res, nil
}

func insert(ctx context.Context, tx *sql.Tx, r *resource.Resource, def []byte, now string) error {
	tags, err := json.Marshal(nonNil(r.Tags))
	if err != nil {
		return err
	}
	schema, err := encodeSchema(r.State.Schema)
	if err != nil {
		return err
	}
	status := r.State.Status
	if status == "" {
		status = resource.StatusPending
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO resources
		(kind, name, variant, definition, description, owner, tags, status, error, schema, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Kind, r.Name, r.Variant, string(def), r.Description, r.Owner, string(tags),
		status, r.State.Error, schema, now, now)
	if err != nil {
		return mapErr(ctx, err)
	}
	for _, d := range r.Dependencies() {
		_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO dependencies
			(from_kind, from_name, from_variant, to_kind, to_name, to_variant) VALUES (?, ?, ?, ?, ?, ?)`,
			r.Kind, r.Name, r.Variant, d.Kind, d.Name, d.Variant)
		if err != nil {
			return fmt.Errorf("recording dependency on %s: %w", d, mapErr(ctx, err))
		}
	}
	return nil
}

const resourceColumns = `definition, status, error, schema, created_at, updated_at, watermark,
	deprecated_at, deprecated_by, deprecated_reason, deleted_at, deleted_by, deleted_reason, source_file`

// Get implements registry.Store.
func (s *Store) Get(ctx context.Context, id resource.ID) (*resource.Resource, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	row := s.db.QueryRowContext(ctx, `SELECT `+resourceColumns+` FROM resources
		WHERE kind = ? AND name = ? AND variant = ?`, id.Kind, id.Name, id.Variant)
	r, err := scanResource(row)
	if err != nil {
		return nil, fmt.Errorf("getting %s: %w", id, mapErr(ctx, err))
	}
	if r.State.Deleted != nil {
		return nil, fmt.Errorf("getting %s: %w", id, &registry.DeletedError{Resource: r})
	}
	return r, nil
}

// List implements registry.Store.
func (s *Store) List(ctx context.Context, p *registry.ListParams) ([]*resource.Resource, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p == nil {
		p = &registry.ListParams{}
	}
	query := `SELECT ` + resourceColumns + ` FROM resources WHERE true`
	var args []any
	if p.Kind != "" {
		query += ` AND kind = ?`
		args = append(args, p.Kind)
	}
	if p.Name != "" {
		query += ` AND name = ?`
		args = append(args, p.Name)
	}
	if p.NotDeprecated {
		query += ` AND deprecated_at IS NULL`
	}
	if !p.Deleted {
		query += ` AND deleted_at IS NULL`
	}
	query += ` ORDER BY ` + registry.KindOrderSQL("kind") + `, name, variant`
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing resources: %w", mapErr(ctx, err))
	}
	defer rows.Close()
	var out []*resource.Resource
	for rows.Next() {
		r, err := scanResource(rows)
		if err != nil {
			return nil, fmt.Errorf("listing resources: %w", mapErr(ctx, err))
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing resources: %w", mapErr(ctx, err))
	}
	return out, nil
}

// Dependents implements registry.Store.
func (s *Store) Dependents(ctx context.Context, id resource.ID) ([]resource.ID, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// One statement, so existence and edges come from the same snapshot.
	rows, err := s.db.QueryContext(ctx, `
		SELECT d.from_kind, d.from_name, d.from_variant
		FROM resources r
		LEFT JOIN (
			SELECT e.* FROM dependencies e JOIN resources f
				ON f.kind = e.from_kind AND f.name = e.from_name AND f.variant = e.from_variant
			WHERE f.deleted_at IS NULL
		) d ON d.to_kind = r.kind AND d.to_name = r.name AND d.to_variant = r.variant
		WHERE r.kind = ? AND r.name = ? AND r.variant = ?
		ORDER BY `+registry.KindOrderSQL("d.from_kind")+`, d.from_name, d.from_variant`,
		id.Kind, id.Name, id.Variant)
	if err != nil {
		return nil, fmt.Errorf("finding dependents of %s: %w", id, mapErr(ctx, err))
	}
	defer rows.Close()
	found := false
	var out []resource.ID
	for rows.Next() {
		found = true
		var kind, name, variant sql.NullString
		if err := rows.Scan(&kind, &name, &variant); err != nil {
			return nil, fmt.Errorf("finding dependents of %s: %w", id, mapErr(ctx, err))
		}
		if kind.Valid {
			out = append(out, resource.ID{Kind: resource.Kind(kind.String), Name: name.String, Variant: variant.String})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("finding dependents of %s: %w", id, mapErr(ctx, err))
	}
	if !found {
		return nil, fmt.Errorf("finding dependents of %s: %w", id, registry.ErrNotFound)
	}
	return out, nil
}

// SetStatus implements registry.Store.
func (s *Store) SetStatus(ctx context.Context, p *registry.SetStatusParams) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !p.Status.Valid() {
		return fmt.Errorf("setting status of %s: unknown status %q", p.ID, p.Status)
	}
	schema, err := encodeSchema(p.Schema)
	if err != nil {
		return fmt.Errorf("setting status of %s: %w", p.ID, err)
	}
	// A watermark only ever rises: the new one replaces the recorded one
	// only when it is later, decided in the UPDATE itself so two racing
	// calls cannot both read the old mark. Watermarks are stored as
	// fixed-width timeLayout text, so comparing the text (BINARY collation)
	// compares the instants; watermarkText rejects times outside the years
	// the fixed width can hold.
	var watermark any // NULL: leave the recorded watermark alone
	if !p.Watermark.IsZero() {
		if watermark, err = watermarkText(p.Watermark); err != nil {
			return fmt.Errorf("setting status of %s: %w", p.ID, err)
		}
	}
	var sourceFile any // NULL: leave the recorded file state alone
	if p.SourceFile != nil {
		b, err := json.Marshal(p.SourceFile)
		if err != nil {
			return fmt.Errorf("setting status of %s: %w", p.ID, err)
		}
		sourceFile = string(b)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE resources
			SET status = ?1, error = ?2, schema = CASE WHEN ?3 THEN ?4 ELSE schema END,
				watermark = CASE WHEN ?5 IS NOT NULL AND (watermark IS NULL OR watermark < ?5) THEN ?5 ELSE watermark END,
				updated_at = ?6, source_file = COALESCE(?10, source_file)
			WHERE kind = ?7 AND name = ?8 AND variant = ?9`,
			p.Status, p.Error, p.Schema != nil, schema, watermark,
			formatTime(time.Now()), p.ID.Kind, p.ID.Name, p.ID.Variant, sourceFile)
		if err != nil {
			return mapErr(ctx, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return mapErr(ctx, err)
		}
		if n == 0 {
			return registry.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("setting status of %s: %w", p.ID, err)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanResource(sc scanner) (*resource.Resource, error) {
	var (
		def, status, errText, created, updated string
		schema, watermark, sourceFile          sql.NullString
		deprecated, deleted                    mark
	)
	if err := sc.Scan(&def, &status, &errText, &schema, &created, &updated, &watermark,
		&deprecated.at, &deprecated.by, &deprecated.reason, &deleted.at, &deleted.by, &deleted.reason, &sourceFile); err != nil {
		return nil, err
	}
	r, err := decodeDefinition(def)
	if err != nil {
		return nil, err
	}
	r.State.Status = resource.Status(status)
	r.State.Error = errText
	if schema.Valid {
		if err := json.Unmarshal([]byte(schema.String), &r.State.Schema); err != nil {
			return nil, fmt.Errorf("decoding schema of %s: %w", r.ID, err)
		}
	}
	if r.State.CreatedAt, err = time.Parse(timeLayout, created); err != nil {
		return nil, fmt.Errorf("decoding created_at of %s: %w", r.ID, err)
	}
	if r.State.UpdatedAt, err = time.Parse(timeLayout, updated); err != nil {
		return nil, fmt.Errorf("decoding updated_at of %s: %w", r.ID, err)
	}
	if watermark.Valid {
		if r.State.Watermark, err = time.Parse(timeLayout, watermark.String); err != nil {
			return nil, fmt.Errorf("decoding watermark of %s: %w", r.ID, err)
		}
	}
	if r.State.Deprecated, err = deprecated.decode(); err != nil {
		return nil, fmt.Errorf("decoding deprecated_at of %s: %w", r.ID, err)
	}
	if r.State.Deleted, err = deleted.decode(); err != nil {
		return nil, fmt.Errorf("decoding deleted_at of %s: %w", r.ID, err)
	}
	if sourceFile.Valid {
		if err := json.Unmarshal([]byte(sourceFile.String), &r.State.SourceFile); err != nil {
			return nil, fmt.Errorf("decoding source_file of %s: %w", r.ID, err)
		}
	}
	return r, nil
}

func decodeDefinition(def string) (*resource.Resource, error) {
	var r resource.Resource
	if err := json.Unmarshal([]byte(def), &r); err != nil {
		return nil, fmt.Errorf("decoding definition: %w", err)
	}
	return &r, nil
}

// encodeSchema returns the schema column: NULL for a nil schema, JSON otherwise.
func encodeSchema(cols []resource.Column) (any, error) {
	if cols == nil {
		return nil, nil
	}
	b, err := json.Marshal(cols)
	if err != nil {
		return nil, fmt.Errorf("encoding schema: %w", err)
	}
	return string(b), nil
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// watermarkText is a watermark's column text. timeLayout is fixed-width, so
// text order is time order, only for UTC years 0 to 9999 (Go writes other
// years with a sign or a fifth digit, which would neither sort nor read back).
func watermarkText(t time.Time) (string, error) {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("watermark %v is outside the years 0000 to 9999 (UTC) the registry can record", t)
	}
	return formatTime(t), nil
}

func nonNil(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

// mapErr is the one place driver errors become registry errors: a missing
// row is registry.ErrNotFound, a uniqueness violation registry.ErrConflict,
// and an interrupted statement the context's error.
func mapErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return registry.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("%w: %w", registry.ErrConflict, err)
		}
		if se.Code()&0xff == sqlite3.SQLITE_INTERRUPT && ctx.Err() != nil {
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		}
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}

// Version names the SQLite library in use (for `slipway doctor`).
func (s *Store) Version(ctx context.Context) (string, error) {
	var v string
	if err := s.db.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&v); err != nil {
		return "", fmt.Errorf("reading the SQLite version: %w", err)
	}
	return "SQLite " + v, nil
}

// ID implements registry.Store.
func (s *Store) ID(ctx context.Context) (string, error) {
	var id string
	if err := s.db.QueryRowContext(ctx, `SELECT id FROM registry_info`).Scan(&id); err != nil {
		return "", fmt.Errorf("reading the registry id: %w", mapErr(ctx, err))
	}
	return id, nil
}
