package registrypg

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// mark is a lifecycle mark as stored: at NULL when there is none.
type mark struct {
	at         *time.Time
	by, reason string
}

func (m mark) decode() *resource.Mark {
	if m.at == nil {
		return nil
	}
	return &resource.Mark{At: m.at.UTC(), By: m.by, Reason: m.reason}
}

// registeredResources returns, in one query, the registered resources
// (deleted ones included) among the IDs that ids gives for each resource
// of batch.
func (s *Store) registeredResources(ctx context.Context, tx pgx.Tx, batch []*resource.Resource, ids func(*resource.Resource) []resource.ID) (map[resource.ID]*resource.Resource, error) {
	var kinds, names, variants []string
	for _, r := range batch {
		for _, id := range ids(r) {
			kinds, names, variants = append(kinds, string(id.Kind)), append(names, id.Name), append(variants, id.Variant)
		}
	}
	out := map[resource.ID]*resource.Resource{}
	if len(kinds) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `SELECT `+resourceColumns+`
		FROM `+s.resources+` r
		WHERE (r.kind, r.name, r.variant) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))`,
		kinds, names, variants)
	if err != nil {
		return nil, fmt.Errorf("reading registered resources: %w", mapErr(ctx, err))
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanResource(rows)
		if err != nil {
			return nil, fmt.Errorf("reading registered resources: %w", mapErr(ctx, err))
		}
		out[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading registered resources: %w", mapErr(ctx, err))
	}
	return out, nil
}

// checkDeletedDependencies refuses resources that refer to a deleted one.
func (s *Store) checkDeletedDependencies(ctx context.Context, tx pgx.Tx, created []*resource.Resource) error {
	deps, err := s.registeredResources(ctx, tx, created, (*resource.Resource).Dependencies)
	if err != nil {
		return err
	}
	deleted := map[resource.ID]*resource.Resource{}
	for id, r := range deps {
		if r.State.Deleted != nil {
			deleted[id] = r
		}
	}
	return registry.DeletedDependencies(created, deleted)
}

// getTx reads one resource, deleted or not, locking its row.
func (s *Store) getTx(ctx context.Context, tx pgx.Tx, id resource.ID) (*resource.Resource, error) {
	row := tx.QueryRow(ctx, `SELECT `+resourceColumns+` FROM `+s.resources+`
		WHERE kind = $1 AND name = $2 AND variant = $3 FOR UPDATE`, string(id.Kind), id.Name, id.Variant)
	r, err := scanResource(row)
	if err != nil {
		return nil, mapErr(ctx, err)
	}
	return r, nil
}

// Deprecate implements registry.Store.
func (s *Store) Deprecate(ctx context.Context, p *registry.DeprecateParams) (*resource.Resource, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *resource.Resource
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		r, err := s.getTx(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if r.State.Deleted != nil {
			return &registry.DeletedError{Resource: r}
		}
		args := []any{string(p.ID.Kind), p.ID.Name, p.ID.Variant}
		switch {
		case p.Undo && r.State.Deprecated != nil:
			_, err = tx.Exec(ctx, `UPDATE `+s.resources+` SET deprecated_at = NULL, deprecated_by = '', deprecated_reason = ''
				WHERE kind = $1 AND name = $2 AND variant = $3`, args...)
		case !p.Undo && r.State.Deprecated == nil:
			_, err = tx.Exec(ctx, `UPDATE `+s.resources+` SET deprecated_at = clock_timestamp(), deprecated_by = $4, deprecated_reason = $5
				WHERE kind = $1 AND name = $2 AND variant = $3`, append(args, p.By, p.Reason)...)
		}
		if err != nil {
			return mapErr(ctx, err)
		}
		out, err = s.getTx(ctx, tx, p.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("deprecating %s: %w", p.ID, err)
	}
	return out, nil
}

// Delete implements registry.Store. It takes the apply lock, so no
// concurrent Apply registers a dependent between the check and the mark.
func (s *Store) Delete(ctx context.Context, p *registry.DeleteParams) (*resource.Resource, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *resource.Resource
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.applyKey); err != nil {
			return fmt.Errorf("waiting for the apply lock: %w", mapErr(ctx, err))
		}
		r, err := s.getTx(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if r.State.Deleted != nil {
			out = r
			return nil
		}
		args := []any{string(p.ID.Kind), p.ID.Name, p.ID.Variant}
		rows, err := tx.Query(ctx, `SELECT d.from_kind, d.from_name, d.from_variant
			FROM `+s.dependencies+` d JOIN `+s.resources+` f
				ON f.kind = d.from_kind AND f.name = d.from_name AND f.variant = d.from_variant
			WHERE d.to_kind = $1 AND d.to_name = $2 AND d.to_variant = $3 AND f.deleted_at IS NULL
			ORDER BY `+registry.KindOrderSQL("d.from_kind")+`, d.from_name, d.from_variant`, args...)
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
		rows.Close()
		if err := rows.Err(); err != nil {
			return mapErr(ctx, err)
		}
		if len(deps) > 0 {
			return &registry.DependentsError{ID: p.ID, Dependents: deps}
		}
		if _, err := tx.Exec(ctx, `UPDATE `+s.resources+` SET deleted_at = clock_timestamp(), deleted_by = $4, deleted_reason = $5
			WHERE kind = $1 AND name = $2 AND variant = $3`, append(args, p.By, p.Reason)...); err != nil {
			return mapErr(ctx, err)
		}
		out, err = s.getTx(ctx, tx, p.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("deleting %s: %w", p.ID, err)
	}
	s.log.DebugContext(ctx, "registry delete", "resource", p.ID)
	return out, nil
}
