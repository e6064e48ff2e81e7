package registrysqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// mark is a lifecycle mark as stored: *_at NULL when there is none.
type mark struct {
	at         sql.NullString
	by, reason string
}

func (m mark) decode() (*resource.Mark, error) {
	if !m.at.Valid {
		return nil, nil
	}
	at, err := time.Parse(timeLayout, m.at.String)
	if err != nil {
		return nil, err
	}
	return &resource.Mark{At: at, By: m.by, Reason: m.reason}, nil
}

// getTx reads one resource, deleted or not, inside a transaction.
func getTx(ctx context.Context, tx *sql.Tx, id resource.ID) (*resource.Resource, error) {
	row := tx.QueryRowContext(ctx, `SELECT `+resourceColumns+` FROM resources
		WHERE kind = ? AND name = ? AND variant = ?`, id.Kind, id.Name, id.Variant)
	r, err := scanResource(row)
	if err != nil {
		return nil, mapErr(ctx, err)
	}
	return r, nil
}

// checkDeletedDependencies refuses a batch in which a resource refers to a
// deleted one.
func checkDeletedDependencies(ctx context.Context, tx *sql.Tx, batch []*resource.Resource) error {
	deleted := map[resource.ID]*resource.Resource{}
	seen := map[resource.ID]bool{}
	for _, r := range batch {
		for _, d := range r.Dependencies() {
			if seen[d] {
				continue
			}
			seen[d] = true
			t, err := getTx(ctx, tx, d)
			switch {
			case err == nil && t.State.Deleted != nil:
				deleted[d] = t
			case err != nil && !isNotFound(err):
				return fmt.Errorf("reading %s: %w", d, err)
			}
		}
	}
	return registry.DeletedDependencies(batch, deleted)
}

func isNotFound(err error) bool { return errors.Is(err, registry.ErrNotFound) }

// Deprecate implements registry.Store.
func (s *Store) Deprecate(ctx context.Context, p *registry.DeprecateParams) (*resource.Resource, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *resource.Resource
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := getTx(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if r.State.Deleted != nil {
			return &registry.DeletedError{Resource: r}
		}
		switch {
		case p.Undo && r.State.Deprecated != nil:
			_, err = tx.ExecContext(ctx, `UPDATE resources SET deprecated_at = NULL, deprecated_by = '', deprecated_reason = ''
				WHERE kind = ? AND name = ? AND variant = ?`, p.ID.Kind, p.ID.Name, p.ID.Variant)
		case !p.Undo && r.State.Deprecated == nil:
			_, err = tx.ExecContext(ctx, `UPDATE resources SET deprecated_at = ?, deprecated_by = ?, deprecated_reason = ?
				WHERE kind = ? AND name = ? AND variant = ?`,
				formatTime(time.Now()), p.By, p.Reason, p.ID.Kind, p.ID.Name, p.ID.Variant)
		}
		if err != nil {
			return mapErr(ctx, err)
		}
		out, err = getTx(ctx, tx, p.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("deprecating %s: %w", p.ID, err)
	}
	return out, nil
}

// Delete implements registry.Store.
func (s *Store) Delete(ctx context.Context, p *registry.DeleteParams) (*resource.Resource, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *resource.Resource
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := getTx(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if r.State.Deleted != nil {
			out = r
			return nil
		}
		rows, err := tx.QueryContext(ctx, `SELECT d.from_kind, d.from_name, d.from_variant
			FROM dependencies d JOIN resources f
				ON f.kind = d.from_kind AND f.name = d.from_name AND f.variant = d.from_variant
			WHERE d.to_kind = ? AND d.to_name = ? AND d.to_variant = ? AND f.deleted_at IS NULL
			ORDER BY `+registry.KindOrderSQL("d.from_kind")+`, d.from_name, d.from_variant`,
			p.ID.Kind, p.ID.Name, p.ID.Variant)
		if err != nil {
			return mapErr(ctx, err)
		}
		var deps []resource.ID
		for rows.Next() {
			var d resource.ID
			if err := rows.Scan(&d.Kind, &d.Name, &d.Variant); err != nil {
				rows.Close()
				return mapErr(ctx, err)
			}
			deps = append(deps, d)
		}
		if err := rows.Close(); err != nil {
			return mapErr(ctx, err)
		}
		if err := rows.Err(); err != nil {
			return mapErr(ctx, err)
		}
		if len(deps) > 0 {
			return &registry.DependentsError{ID: p.ID, Dependents: deps}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE resources SET deleted_at = ?, deleted_by = ?, deleted_reason = ?
			WHERE kind = ? AND name = ? AND variant = ?`,
			formatTime(time.Now()), p.By, p.Reason, p.ID.Kind, p.ID.Name, p.ID.Variant); err != nil {
			return mapErr(ctx, err)
		}
		out, err = getTx(ctx, tx, p.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("deleting %s: %w", p.ID, err)
	}
	s.log.DebugContext(ctx, "registry delete", "resource", p.ID)
	return out, nil
}
