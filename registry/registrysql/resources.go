package registrysql

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

const resourceColumns = `definition, status, error, schema, created_at, updated_at, watermark,
	deprecated_at, deprecated_by, deprecated_reason, deleted_at, deleted_by, deleted_reason, source_file, dir,
	materialized_at, materialized_job`

// Apply implements registry.Store. Its transaction reads the whole batch's
// registered variants after taking the apply lock (PostgreSQL) or the
// write lock (SQLite), so concurrent applies never interleave their checks
// and inserts.
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
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockApply(ctx, tx); err != nil {
			return err
		}
		ids := make([]resource.ID, len(batch))
		for i, r := range batch {
			ids[i] = r.ID
		}
		registered, err := s.registered(ctx, tx, ids)
		if err != nil {
			return err
		}
		var created, moved []*resource.Resource
		for _, r := range batch {
			old, ok := registered[r.ID]
			switch {
			case !ok:
				created = append(created, r)
				res.Created = append(res.Created, r.ID)
			case old.State.Deleted != nil:
				return registry.ReappliedDeleted(old)
			case !bytes.Equal(old.Definition(), defs[r.ID]):
				return &registry.ConflictError{ID: r.ID, Diffs: resource.Diff(old, r)}
			default:
				res.Unchanged = append(res.Unchanged, r.ID)
				if r.State.Dir != "" && r.State.Dir != old.State.Dir {
					moved = append(moved, r)
				}
			}
		}
		for _, r := range moved {
			if _, err := tx.ExecContext(ctx, s.sql(`UPDATE {resources} SET dir = ? WHERE kind = ? AND name = ? AND variant = ?`),
				r.State.Dir, string(r.Kind), r.Name, r.Variant); err != nil {
				return fmt.Errorf("recording the directory of %s: %w", r.ID, s.mapErr(ctx, err))
			}
		}
		if len(created) == 0 {
			return nil
		}
		if err := s.checkDeletedDependencies(ctx, tx, created); err != nil {
			return err
		}
		return s.insert(ctx, tx, created, defs)
	})
	if err != nil {
		return nil, err
	}
	s.log.DebugContext(ctx, "registry apply", "created", len(res.Created), "unchanged", len(res.Unchanged))
	return res, nil
}

func (s *Store) lockApply(ctx context.Context, tx *sql.Tx) error {
	if s.d.LockApply == nil {
		return nil
	}
	if err := s.d.LockApply(ctx, tx); err != nil {
		return fmt.Errorf("waiting for the apply lock: %w", s.mapErr(ctx, err))
	}
	return nil
}

// registered returns the registered resources (deleted ones included)
// among ids, reading rowsPerInsert of them per query.
func (s *Store) registered(ctx context.Context, tx *sql.Tx, ids []resource.ID) (map[resource.ID]*resource.Resource, error) {
	out := map[resource.ID]*resource.Resource{}
	for chunk := range slices.Chunk(ids, rowsPerInsert) {
		args := make([]any, 0, 3*len(chunk))
		for _, id := range chunk {
			args = append(args, string(id.Kind), id.Name, id.Variant)
		}
		rows, err := tx.QueryContext(ctx, s.sql(`SELECT `+resourceColumns+` FROM {resources}
			WHERE (kind, name, variant) IN (`+strings.Repeat("(?, ?, ?), ", len(chunk)-1)+`(?, ?, ?))`), args...)
		if err != nil {
			return nil, fmt.Errorf("reading registered resources: %w", s.mapErr(ctx, err))
		}
		err = eachRow(rows, func() error {
			r, err := s.scanResource(rows)
			if err == nil {
				out[r.ID] = r
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("reading registered resources: %w", s.mapErr(ctx, err))
		}
	}
	return out, nil
}

// checkDeletedDependencies refuses resources that refer to a deleted one.
func (s *Store) checkDeletedDependencies(ctx context.Context, tx *sql.Tx, created []*resource.Resource) error {
	var deps []resource.ID
	for _, r := range created {
		deps = append(deps, r.Dependencies()...)
	}
	registered, err := s.registered(ctx, tx, deps)
	if err != nil {
		return err
	}
	deleted := map[resource.ID]*resource.Resource{}
	for id, r := range registered {
		if r.State.Deleted != nil {
			deleted[id] = r
		}
	}
	return registry.DeletedDependencies(created, deleted)
}

// insert registers new resources and their dependency edges, rowsPerInsert
// rows per statement.
func (s *Store) insert(ctx context.Context, tx *sql.Tx, rs []*resource.Resource, defs map[resource.ID][]byte) error {
	now, err := s.now(ctx, tx)
	if err != nil {
		return err
	}
	at, err := s.d.Time(now)
	if err != nil {
		return err
	}
	var resRows, edgeRows [][]any
	for _, r := range rs {
		tags, err := s.d.Tags(nonNil(r.Tags))
		if err != nil {
			return fmt.Errorf("registering %s: encoding tags: %w", r.ID, err)
		}
		schema, err := encodeSchema(r.State.Schema)
		if err != nil {
			return fmt.Errorf("registering %s: encoding schema: %w", r.ID, err)
		}
		status := r.State.Status
		if status == "" {
			status = resource.StatusPending
		}
		resRows = append(resRows, []any{string(r.Kind), r.Name, r.Variant, string(defs[r.ID]), r.Description, r.Owner, tags,
			string(status), r.State.Error, schema, at, at, r.State.Dir})
		seen := map[resource.ID]bool{} // a definition may name one dependency twice: it is one edge
		for _, d := range r.Dependencies() {
			if !seen[d] {
				seen[d] = true
				edgeRows = append(edgeRows, []any{string(r.Kind), r.Name, r.Variant, string(d.Kind), d.Name, d.Variant})
			}
		}
	}
	if err := s.insertRows(ctx, tx, `INSERT INTO {resources}
		(kind, name, variant, definition, description, owner, tags, status, error, schema, created_at, updated_at, dir)`, resRows, ""); err != nil {
		return fmt.Errorf("registering resources: %w", err)
	}
	if err := s.insertRows(ctx, tx, `INSERT INTO {dependencies}
		(from_kind, from_name, from_variant, to_kind, to_name, to_variant)`, edgeRows, ` ON CONFLICT DO NOTHING`); err != nil {
		return fmt.Errorf("registering resources: recording dependencies: %w", err)
	}
	return nil
}

// insertRows inserts rows, rowsPerInsert per statement: insert is the
// statement up to VALUES, suffix what follows the rows.
func (s *Store) insertRows(ctx context.Context, tx *sql.Tx, insert string, rows [][]any, suffix string) error {
	for chunk := range slices.Chunk(rows, rowsPerInsert) {
		row := "(" + placeholders(len(chunk[0])) + ")"
		var args []any
		for _, r := range chunk {
			args = append(args, r...)
		}
		query := insert + ` VALUES ` + strings.Repeat(row+", ", len(chunk)-1) + row + suffix
		if _, err := tx.ExecContext(ctx, s.sql(query), args...); err != nil {
			return s.mapErr(ctx, err)
		}
	}
	return nil
}

// Get implements registry.Store.
func (s *Store) Get(ctx context.Context, id resource.ID) (*resource.Resource, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := s.getResource(ctx, s.db, id, false)
	if err != nil {
		return nil, fmt.Errorf("getting %s: %w", id, err)
	}
	if r.State.Deleted != nil {
		return nil, fmt.Errorf("getting %s: %w", id, &registry.DeletedError{Resource: r})
	}
	return r, nil
}

// getResource reads one resource, deleted or not, locking its row when lock is set.
func (s *Store) getResource(ctx context.Context, q querier, id resource.ID, lock bool) (*resource.Resource, error) {
	query := `SELECT ` + resourceColumns + ` FROM {resources} WHERE kind = ? AND name = ? AND variant = ?`
	if lock {
		query += s.lock("FOR UPDATE")
	}
	r, err := s.scanResource(q.QueryRowContext(ctx, s.sql(query), string(id.Kind), id.Name, id.Variant))
	if err != nil {
		return nil, s.mapErr(ctx, err)
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
	query := `SELECT ` + resourceColumns + ` FROM {resources} WHERE true`
	var args []any
	if p.Kind != "" {
		query += ` AND kind = ?`
		args = append(args, string(p.Kind))
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
	query += ` ORDER BY ` + kindOrder("kind") + `, name, variant`
	rows, err := s.db.QueryContext(ctx, s.sql(query), args...)
	if err != nil {
		return nil, fmt.Errorf("listing resources: %w", s.mapErr(ctx, err))
	}
	var out []*resource.Resource
	err = eachRow(rows, func() error {
		r, err := s.scanResource(rows)
		out = append(out, r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing resources: %w", s.mapErr(ctx, err))
	}
	return out, nil
}

// Dependents implements registry.Store.
func (s *Store) Dependents(ctx context.Context, id resource.ID) ([]resource.ID, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// One statement, so existence and edges come from the same snapshot.
	rows, err := s.db.QueryContext(ctx, s.sql(`
		SELECT d.from_kind, d.from_name, d.from_variant
		FROM {resources} r
		LEFT JOIN (
			SELECT e.* FROM {dependencies} e JOIN {resources} f
				ON f.kind = e.from_kind AND f.name = e.from_name AND f.variant = e.from_variant
			WHERE f.deleted_at IS NULL
		) d ON d.to_kind = r.kind AND d.to_name = r.name AND d.to_variant = r.variant
		WHERE r.kind = ? AND r.name = ? AND r.variant = ?
		ORDER BY `+kindOrder("d.from_kind")+`, d.from_name, d.from_variant`),
		string(id.Kind), id.Name, id.Variant)
	if err != nil {
		return nil, fmt.Errorf("finding dependents of %s: %w", id, s.mapErr(ctx, err))
	}
	found := false
	var out []resource.ID
	err = eachRow(rows, func() error {
		found = true
		var kind, name, variant sql.NullString
		if err := rows.Scan(&kind, &name, &variant); err != nil {
			return err
		}
		if kind.Valid {
			out = append(out, resource.ID{Kind: resource.Kind(kind.String), Name: name.String, Variant: variant.String})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finding dependents of %s: %w", id, s.mapErr(ctx, err))
	}
	if !found {
		return nil, fmt.Errorf("finding dependents of %s: %w", id, registry.ErrNotFound)
	}
	return out, nil
}

// SetStatus implements registry.Store. It is one UPDATE: the row lock (or
// the write lock) orders concurrent calls, and the comparisons in it keep
// updated_at and the watermark from moving back whichever commits first.
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
	err := s.setStatus(ctx, p)
	if err != nil {
		return fmt.Errorf("setting status of %s: %w", p.ID, err)
	}
	return nil
}

func (s *Store) setStatus(ctx context.Context, p *registry.SetStatusParams) error {
	query := `UPDATE {resources} SET status = ?, error = ?`
	args := []any{string(p.Status), p.Error}
	if p.Schema != nil {
		schema, err := encodeSchema(p.Schema)
		if err != nil {
			return fmt.Errorf("encoding schema: %w", err)
		}
		query += `, schema = ?`
		args = append(args, schema)
	}
	if !p.Watermark.IsZero() {
		wm, err := s.d.Time(p.Watermark)
		if err != nil {
			return fmt.Errorf("recording the watermark: %w", err)
		}
		query += `, watermark = CASE WHEN watermark IS NULL OR watermark < ? THEN ? ELSE watermark END`
		args = append(args, wm, wm)
	}
	if m := p.Materialized; m != nil {
		at, err := s.d.Time(m.At)
		if err != nil {
			return fmt.Errorf("recording the materialization: %w", err)
		}
		// Both right-hand sides read the row as it was.
		const later = `materialized_at IS NULL OR materialized_at <= ?`
		query += `, materialized_job = CASE WHEN ` + later + ` THEN ? ELSE materialized_job END` +
			`, materialized_at = CASE WHEN ` + later + ` THEN ? ELSE materialized_at END`
		args = append(args, at, m.Job, at, at)
	}
	if p.SourceFile != nil {
		file, err := json.Marshal(p.SourceFile)
		if err != nil {
			return fmt.Errorf("encoding the source file: %w", err)
		}
		query += `, source_file = ?`
		args = append(args, string(file))
	}
	now, nowArgs := s.stamp()
	args = append(append(args, nowArgs...), nowArgs...)
	query += `, updated_at = CASE WHEN updated_at > ` + now + ` THEN updated_at ELSE ` + now + ` END
		WHERE kind = ? AND name = ? AND variant = ?`
	args = append(args, string(p.ID.Kind), p.ID.Name, p.ID.Variant)
	// One statement. With row locks it runs on its own; otherwise in a
	// write transaction, which takes this process's write slot.
	exec := func(q querier) error {
		res, err := q.ExecContext(ctx, s.sql(query), args...)
		if err != nil {
			return s.mapErr(ctx, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmp.Or(s.mapErr(ctx, err), registry.ErrNotFound)
		}
		return nil
	}
	if s.d.RowLocks {
		return exec(s.db)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error { return exec(tx) })
}

// Deprecate implements registry.Store.
func (s *Store) Deprecate(ctx context.Context, p *registry.DeprecateParams) (*resource.Resource, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *resource.Resource
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := s.getResource(ctx, tx, p.ID, true)
		if err != nil {
			return err
		}
		if r.State.Deleted != nil {
			return &registry.DeletedError{Resource: r}
		}
		switch {
		case p.Undo && r.State.Deprecated != nil:
			err = s.mark(ctx, tx, p.ID, "deprecated", false, "", "")
		case !p.Undo && r.State.Deprecated == nil:
			err = s.mark(ctx, tx, p.ID, "deprecated", true, p.By, p.Reason)
		}
		if err != nil {
			return err
		}
		out, err = s.getResource(ctx, tx, p.ID, false)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("deprecating %s: %w", p.ID, err)
	}
	return out, nil
}

// mark sets (stamped now) or clears a lifecycle mark: which is "deprecated"
// or "deleted".
func (s *Store) mark(ctx context.Context, tx *sql.Tx, id resource.ID, which string, set bool, by, reason string) error {
	at, args := "NULL", []any{}
	if set {
		at, args = s.stamp()
	}
	_, err := tx.ExecContext(ctx, s.sql(`UPDATE {resources} SET `+which+`_at = `+at+`, `+which+`_by = ?, `+which+`_reason = ?
		WHERE kind = ? AND name = ? AND variant = ?`), append(args, by, reason, string(id.Kind), id.Name, id.Variant)...)
	return s.mapErr(ctx, err)
}

// stamp is the clock stamping resources as an SQL expression and its
// argument: the dialect's Now, or ? and this process's clock.
func (s *Store) stamp() (string, []any) {
	if s.d.Now != "" {
		return s.d.Now, nil
	}
	at, _ := s.d.Time(time.Now()) // the years Time refuses are not now
	return "?", []any{at}
}

// Delete implements registry.Store. It takes the apply lock, so no
// concurrent Apply registers a dependent between the check and the mark.
func (s *Store) Delete(ctx context.Context, p *registry.DeleteParams) (*resource.Resource, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *resource.Resource
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockApply(ctx, tx); err != nil {
			return err
		}
		r, err := s.getResource(ctx, tx, p.ID, true)
		if err != nil {
			return err
		}
		if r.State.Deleted != nil {
			out = r
			return nil
		}
		rows, err := tx.QueryContext(ctx, s.sql(`SELECT d.from_kind, d.from_name, d.from_variant
			FROM {dependencies} d JOIN {resources} f
				ON f.kind = d.from_kind AND f.name = d.from_name AND f.variant = d.from_variant
			WHERE d.to_kind = ? AND d.to_name = ? AND d.to_variant = ? AND f.deleted_at IS NULL
			ORDER BY `+kindOrder("d.from_kind")+`, d.from_name, d.from_variant`),
			string(p.ID.Kind), p.ID.Name, p.ID.Variant)
		if err != nil {
			return s.mapErr(ctx, err)
		}
		var deps []resource.ID
		if err := eachRow(rows, func() error {
			var d resource.ID
			err := rows.Scan(&d.Kind, &d.Name, &d.Variant)
			deps = append(deps, d)
			return err
		}); err != nil {
			return s.mapErr(ctx, err)
		}
		if len(deps) > 0 {
			return &registry.DependentsError{ID: p.ID, Dependents: deps}
		}
		if err := s.mark(ctx, tx, p.ID, "deleted", true, p.By, p.Reason); err != nil {
			return err
		}
		out, err = s.getResource(ctx, tx, p.ID, false)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("deleting %s: %w", p.ID, err)
	}
	s.log.DebugContext(ctx, "registry delete", "resource", p.ID)
	return out, nil
}

func (s *Store) scanResource(sc scanner) (*resource.Resource, error) {
	var (
		def, status, errText, dir                        string
		schema, sourceFile                               sql.NullString
		created, updated, watermark, deprecAt, deletedAt any
		deprecated, deleted                              resource.Mark
		materializedAt                                   any
		materialized                                     resource.Materialization
	)
	if err := sc.Scan(&def, &status, &errText, &schema, &created, &updated, &watermark,
		&deprecAt, &deprecated.By, &deprecated.Reason, &deletedAt, &deleted.By, &deleted.Reason, &sourceFile, &dir,
		&materializedAt, &materialized.Job); err != nil {
		return nil, err
	}
	var r resource.Resource
	if err := json.Unmarshal([]byte(def), &r); err != nil {
		return nil, fmt.Errorf("decoding definition: %w", err)
	}
	r.State.Status = resource.Status(status)
	r.State.Error = errText
	r.State.Dir = dir
	for _, c := range []struct {
		name string
		v    any
		dst  *time.Time
	}{
		{"created_at", created, &r.State.CreatedAt}, {"updated_at", updated, &r.State.UpdatedAt},
		{"watermark", watermark, &r.State.Watermark},
		{"deprecated_at", deprecAt, &deprecated.At}, {"deleted_at", deletedAt, &deleted.At},
		{"materialized_at", materializedAt, &materialized.At},
	} {
		t, err := s.d.ScanTime(c.v)
		if err != nil {
			return nil, fmt.Errorf("decoding %s of %s: %w", c.name, r.ID, err)
		}
		*c.dst = t
	}
	if deprecAt != nil {
		r.State.Deprecated = &deprecated
	}
	if deletedAt != nil {
		r.State.Deleted = &deleted
	}
	if materializedAt != nil {
		r.State.Materialized = &materialized
	}
	for _, c := range []struct {
		name string
		v    sql.NullString
		dst  any
	}{{"schema", schema, &r.State.Schema}, {"source_file", sourceFile, &r.State.SourceFile}} {
		if c.v.Valid {
			if err := json.Unmarshal([]byte(c.v.String), c.dst); err != nil {
				return nil, fmt.Errorf("decoding %s of %s: %w", c.name, r.ID, err)
			}
		}
	}
	return &r, nil
}

// encodeSchema is the schema column's value: NULL for a nil schema, JSON text otherwise.
func encodeSchema(cols []resource.Column) (any, error) {
	if cols == nil {
		return nil, nil
	}
	b, err := json.Marshal(cols)
	return string(b), err
}

// eachRow calls fn for every row, then closes rows.
func eachRow(rows *sql.Rows, fn func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}

func nonNil(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

// kindOrder is an ORDER BY expression that sorts a
// kind column in resource.Kinds order (List's and Dependents' order); kinds
// this binary does not know sort last.
func kindOrder(column string) string {
	var b strings.Builder
	b.WriteString("CASE " + column)
	for i, k := range resource.Kinds {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", strings.ReplaceAll(string(k), "'", "''"), i)
	}
	fmt.Fprintf(&b, " ELSE %d END, %s", len(resource.Kinds), column)
	return b.String()
}
