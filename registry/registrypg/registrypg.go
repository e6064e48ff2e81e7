// Package registrypg is the registry.Store kept in PostgreSQL: the metadata
// store for production, shared by every Slipway process (CLI, servers,
// workers) pointed at the same database.
//
// All tables live in one schema (Config.Schema, "slipway" by default), so
// several registries can share a database. Apply runs in one READ COMMITTED
// transaction that first takes a transaction-scoped advisory lock derived
// from the schema name: concurrent applies, from this process or any other,
// queue on that lock and each sees everything committed before it, so the
// identical/conflict checks and the inserts never interleave.
package registrypg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
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

// rollbackTimeout bounds a rollback issued after the caller's context is done.
const rollbackTimeout = 5 * time.Second

// Store is a registry.Store in a PostgreSQL schema. It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	log    *slog.Logger
	schema string
	// quoted is the schema as an SQL identifier; the others are qualified
	// table names.
	quoted, resources, dependencies string
	jobs, jobDependencies, jobLogs  string
	applyKey                        int64
}

// New connects to the database in cfg.DSN, creates the schema if missing and
// brings it up to date. A schema migrated by a newer Slipway is refused.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pcfg, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		// pgconn redacts the password from parse errors.
		return nil, fmt.Errorf("parsing registry DSN: %w", err)
	}
	// When ctx ends mid-statement, ask the server to cancel the statement
	// rather than dropping the connection (pgx's default): an apply queued on
	// the advisory lock leaves the queue at once, and the connection survives.
	// The deadline is the fallback for a server that does not answer.
	pcfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelDeadline}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the registry database: %w", err)
	}
	schema := cfg.schemaName()
	s := &Store{
		pool:     pool,
		log:      log,
		schema:   schema,
		quoted:   pgx.Identifier{schema}.Sanitize(),
		applyKey: lockKey("apply", schema),
	}
	s.resources = s.table("resources")
	s.dependencies = s.table("dependencies")
	s.jobs = s.table("jobs")
	s.jobDependencies = s.table("job_dependencies")
	s.jobLogs = s.table("job_logs")
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("opening registry schema %s: %w", schema, err)
	}
	return s, nil
}

// Close closes the connection pool, waiting for connections in use.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// table returns the schema-qualified, quoted name of a table.
func (s *Store) table(name string) string { return pgx.Identifier{s.schema, name}.Sanitize() }

// lockKey is the advisory lock key for one purpose on one schema. Advisory
// locks are per database, so the schema is part of the key: registries in
// different schemas of one database do not wait for each other.
func lockKey(purpose, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("slipway registry " + purpose + "\x00" + schema))
	return int64(h.Sum64())
}

// inTx runs fn in a READ COMMITTED transaction, whatever the server's
// default: each statement after the advisory lock must see what the previous
// lock holder committed, which a snapshot taken before the wait would not.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return mapErr(ctx, err)
	}
	if err := fn(tx); err != nil {
		// Roll back even when ctx is done, so the connection returns to the
		// pool clean instead of being discarded.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		if rerr := tx.Rollback(rctx); rerr != nil {
			s.log.DebugContext(ctx, "registry rollback failed", "err", rerr)
		}
		return err
	}
	return mapErr(ctx, tx.Commit(ctx))
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
	if len(batch) == 0 {
		return res, nil
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.applyKey); err != nil {
			return fmt.Errorf("waiting for the apply lock: %w", mapErr(ctx, err))
		}
		registered, err := s.registeredResources(ctx, tx, batch, func(r *resource.Resource) []resource.ID { return []resource.ID{r.ID} })
		if err != nil {
			return err
		}
		var created []*resource.Resource
		for _, r := range batch {
			old, ok := registered[r.ID]
			if !ok {
				created = append(created, r)
				res.Created = append(res.Created, r.ID)
				continue
			}
			if old.State.Deleted != nil {
				return registry.ReappliedDeleted(old)
			}
			if !bytes.Equal(old.Definition(), defs[r.ID]) {
				return &registry.ConflictError{ID: r.ID, Diffs: resource.Diff(old, r)}
			}
			res.Unchanged = append(res.Unchanged, r.ID)
		}
		if len(created) == 0 {
			return nil
		}
		if err := s.checkDeletedDependencies(ctx, tx, created); err != nil {
			return err
		}
		var now time.Time
		if err := tx.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&now); err != nil {
			return fmt.Errorf("reading the clock: %w", mapErr(ctx, err))
		}
		return s.insert(ctx, tx, created, defs, now)
	})
	if err != nil {
		return nil, err
	}
	s.log.DebugContext(ctx, "registry apply", "created", len(res.Created), "unchanged", len(res.Unchanged))
	return res, nil
}

// insert registers new resources and their edges in one pipelined round trip.
func (s *Store) insert(ctx context.Context, tx pgx.Tx, rs []*resource.Resource, defs map[resource.ID][]byte, now time.Time) error {
	b := &pgx.Batch{}
	var what []string // what[i] describes the i-th queued statement, for errors
	for _, r := range rs {
		schema, err := encodeSchema(r.State.Schema)
		if err != nil {
			return fmt.Errorf("registering %s: %w", r.ID, err)
		}
		status := r.State.Status
		if status == "" {
			status = resource.StatusPending
		}
		b.Queue(`INSERT INTO `+s.resources+`
			(kind, name, variant, definition, description, owner, tags, status, error, schema, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
			string(r.Kind), r.Name, r.Variant, string(defs[r.ID]), r.Description, r.Owner, nonNil(r.Tags),
			string(status), r.State.Error, schema, now)
		what = append(what, "registering "+r.ID.String())
		for _, d := range r.Dependencies() {
			// A definition may name one dependency twice: it is one edge.
			b.Queue(`INSERT INTO `+s.dependencies+`
				(from_kind, from_name, from_variant, to_kind, to_name, to_variant)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
				string(r.Kind), r.Name, r.Variant, string(d.Kind), d.Name, d.Variant)
			what = append(what, fmt.Sprintf("registering %s: recording dependency on %s", r.ID, d))
		}
	}
	br := tx.SendBatch(ctx, b)
	for _, w := range what {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return fmt.Errorf("%s: %w", w, mapErr(ctx, err))
		}
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("registering resources: %w", mapErr(ctx, err))
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
	row := s.pool.QueryRow(ctx, `SELECT `+resourceColumns+` FROM `+s.resources+`
		WHERE kind = $1 AND name = $2 AND variant = $3`, string(id.Kind), id.Name, id.Variant)
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
	query := `SELECT ` + resourceColumns + ` FROM ` + s.resources + ` WHERE true`
	var args []any
	if p.Kind != "" {
		args = append(args, string(p.Kind))
		query += fmt.Sprintf(` AND kind = $%d`, len(args))
	}
	if p.Name != "" {
		args = append(args, p.Name)
		query += fmt.Sprintf(` AND name = $%d`, len(args))
	}
	if p.NotDeprecated {
		query += ` AND deprecated_at IS NULL`
	}
	if !p.Deleted {
		query += ` AND deleted_at IS NULL`
	}
	query += ` ORDER BY ` + registry.KindOrderSQL("kind") + `, name, variant`
	rows, err := s.pool.Query(ctx, query, args...)
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
	rows, err := s.pool.Query(ctx, `
		SELECT d.from_kind, d.from_name, d.from_variant
		FROM `+s.resources+` r
		LEFT JOIN (`+s.dependencies+` d JOIN `+s.resources+` f
			ON f.kind = d.from_kind AND f.name = d.from_name AND f.variant = d.from_variant AND f.deleted_at IS NULL)
			ON d.to_kind = r.kind AND d.to_name = r.name AND d.to_variant = r.variant
		WHERE r.kind = $1 AND r.name = $2 AND r.variant = $3
		ORDER BY `+registry.KindOrderSQL("d.from_kind")+`, d.from_name, d.from_variant`,
		string(id.Kind), id.Name, id.Variant)
	if err != nil {
		return nil, fmt.Errorf("finding dependents of %s: %w", id, mapErr(ctx, err))
	}
	defer rows.Close()
	found := false
	var out []resource.ID
	for rows.Next() {
		found = true
		var kind, name, variant *string
		if err := rows.Scan(&kind, &name, &variant); err != nil {
			return nil, fmt.Errorf("finding dependents of %s: %w", id, mapErr(ctx, err))
		}
		if kind != nil {
			out = append(out, resource.ID{Kind: resource.Kind(*kind), Name: *name, Variant: *variant})
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
	if p == nil {
		return errors.New("setting status: no parameters")
	}
	if !p.Status.Valid() {
		return fmt.Errorf("setting status of %s: unknown status %q", p.ID, p.Status)
	}
	// GREATEST keeps updated_at from going backwards when two updates of one
	// row race and the later clock reading commits first.
	query := `UPDATE ` + s.resources + ` SET status = $4, error = $5, updated_at = GREATEST(clock_timestamp(), updated_at)`
	args := []any{string(p.ID.Kind), p.ID.Name, p.ID.Variant, string(p.Status), p.Error}
	if p.Schema != nil {
		schema, err := encodeSchema(p.Schema)
		if err != nil {
			return fmt.Errorf("setting status of %s: %w", p.ID, err)
		}
		args = append(args, schema)
		query += fmt.Sprintf(`, schema = $%d`, len(args))
	}
	if !p.Watermark.IsZero() {
		// A watermark only ever rises. GREATEST ignores the NULL of a
		// resource with none yet, and, evaluated by the UPDATE on the row it
		// locks (re-read after a concurrent update commits), lets no racing
		// call move the mark back.
		args = append(args, p.Watermark)
		query += fmt.Sprintf(`, watermark = GREATEST(watermark, $%d)`, len(args))
	}
	if p.SourceFile != nil {
		b, err := json.Marshal(p.SourceFile)
		if err != nil {
			return fmt.Errorf("setting status of %s: %w", p.ID, err)
		}
		args = append(args, string(b))
		query += fmt.Sprintf(`, source_file = $%d::jsonb`, len(args))
	}
	query += ` WHERE kind = $1 AND name = $2 AND variant = $3`
	tag, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("setting status of %s: %w", p.ID, mapErr(ctx, err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("setting status of %s: %w", p.ID, registry.ErrNotFound)
	}
	return nil
}

// Version names the PostgreSQL server in use (for `slipway doctor`).
func (s *Store) Version(ctx context.Context) (string, error) {
	var v string
	if err := s.pool.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "", fmt.Errorf("reading the PostgreSQL version: %w", mapErr(ctx, err))
	}
	return "PostgreSQL " + v, nil
}

func scanResource(row pgx.Row) (*resource.Resource, error) {
	var (
		def, status, errText string
		schema, sourceFile   []byte
		created, updated     time.Time
		watermark            *time.Time
		deprecated, deleted  mark
	)
	if err := row.Scan(&def, &status, &errText, &schema, &created, &updated, &watermark,
		&deprecated.at, &deprecated.by, &deprecated.reason, &deleted.at, &deleted.by, &deleted.reason, &sourceFile); err != nil {
		return nil, err
	}
	r, err := decodeDefinition(def)
	if err != nil {
		return nil, err
	}
	r.State.Status = resource.Status(status)
	r.State.Error = errText
	if schema != nil {
		if err := json.Unmarshal(schema, &r.State.Schema); err != nil {
			return nil, fmt.Errorf("decoding schema of %s: %w", r.ID, err)
		}
	}
	r.State.CreatedAt = created.UTC()
	r.State.UpdatedAt = updated.UTC()
	if watermark != nil {
		r.State.Watermark = watermark.UTC()
	}
	r.State.Deprecated = deprecated.decode()
	r.State.Deleted = deleted.decode()
	if sourceFile != nil {
		if err := json.Unmarshal(sourceFile, &r.State.SourceFile); err != nil {
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
func encodeSchema(cols []resource.Column) ([]byte, error) {
	if cols == nil {
		return nil, nil
	}
	b, err := json.Marshal(cols)
	if err != nil {
		return nil, fmt.Errorf("encoding schema: %w", err)
	}
	return b, nil
}

func nonNil(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

// PostgreSQL error codes mapErr knows.
const (
	codeUniqueViolation          = "23505"
	codeCharacterNotInRepertoire = "22021"
	codeUndefinedTable           = "42P01"
	codeInvalidSchemaName        = "3F000"
)

// mapErr is the one place driver errors become registry errors: a missing
// row is registry.ErrNotFound, a uniqueness violation registry.ErrConflict,
// and a statement interrupted because ctx is done the context's error.
func mapErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return registry.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeUniqueViolation:
			return fmt.Errorf("%w: %w", registry.ErrConflict, err)
		case codeCharacterNotInRepertoire:
			return fmt.Errorf("a text field contains a NUL byte or invalid UTF-8, which PostgreSQL cannot store: remove it: %w", err)
		case codeUndefinedTable, codeInvalidSchemaName:
			return fmt.Errorf("the registry's tables are missing; was the schema dropped while Slipway was running? %w", err)
		}
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		// Covers query_canceled (57014), sent when pgx cancels a running
		// statement, and connections closed because ctx ended.
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}

// ID implements registry.Store.
func (s *Store) ID(ctx context.Context) (string, error) {
	var id string
	if err := s.pool.QueryRow(ctx, `SELECT id FROM `+s.table("registry_info")).Scan(&id); err != nil {
		return "", fmt.Errorf("reading the registry id: %w", mapErr(ctx, err))
	}
	return id, nil
}
