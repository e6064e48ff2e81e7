package registrysql

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// Model versions and aliases (registry.ModelStore) live in four tables:
// models (a name and the last version number given), model_versions (one
// row per version, never updated), model_aliases (one row per alias, moved
// by UPDATE) and model_alias_moves (a row per move). A version number comes
// from an upsert on the model's row, which holds that row until the
// transaction ends: concurrent creates of one model queue on it and get
// consecutive numbers, and a create that fails gives its number back. An
// alias move reads the alias's row with FOR UPDATE (or under the write
// lock), so two moves of one alias run one after the other and the second
// compares its Expect with what the first left.

// defaultModelVersionLimit is ListModelVersions' default limit.
const defaultModelVersionLimit = 100

// modelTime is the column value of a model time, truncated to the
// microseconds both databases keep so that what is returned is what is read.
func (s *Store) modelTime(t time.Time) any {
	if t.IsZero() {
		return s.d.JobTime(t)
	}
	return s.d.JobTime(t.UTC().Truncate(time.Microsecond))
}

func microUTC(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// CreateModelVersion implements registry.ModelStore.
func (s *Store) CreateModelVersion(ctx context.Context, p *registry.CreateModelVersionParams) (*registry.ModelVersion, error) {
	if err := registry.CheckModelVersion(p); err != nil {
		return nil, err
	}
	where := "creating a version of model " + p.Model
	sum := sha256.Sum256(p.Artifact.Bytes)
	digest := hex.EncodeToString(sum[:])
	if p.Artifact.SHA256 != "" && !strings.EqualFold(p.Artifact.SHA256, digest) {
		return nil, fmt.Errorf("%s: %w: the artifact's bytes have sha256 %s, not %s as given: check that the file is complete",
			where, registry.ErrArtifactChecksum, digest, p.Artifact.SHA256)
	}
	metrics := []byte("{}")
	if len(p.Metrics) > 0 {
		var err error
		if metrics, err = json.Marshal(p.Metrics); err != nil {
			return nil, fmt.Errorf("%s: encoding metrics: %w", where, err)
		}
	}
	v := &registry.ModelVersion{
		Model: p.Model,
		Artifact: registry.Artifact{
			Format: p.Artifact.Format,
			Bytes:  bytes.Clone(p.Artifact.Bytes),
			SHA256: digest,
			Size:   int64(len(p.Artifact.Bytes)),
		},
		TrainingSet:  p.TrainingSet,
		TrainingRows: p.TrainingRows,
		LabelStart:   microUTC(p.LabelStart),
		LabelEnd:     microUTC(p.LabelEnd),
		Metrics:      maps.Clone(p.Metrics),
		Trainer:      p.Trainer,
		CreatedBy:    p.By,
	}
	if len(p.Encoding) > 0 {
		v.Encoding = bytes.Clone(p.Encoding)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := p.Now
		if now.IsZero() {
			var err error
			if now, err = s.now(ctx, tx); err != nil {
				return err
			}
		}
		v.CreatedAt = microUTC(now)
		if err := tx.QueryRowContext(ctx, s.sql(`INSERT INTO {models} AS m (name, last_version) VALUES (?, 1)
			ON CONFLICT (name) DO UPDATE SET last_version = m.last_version + 1
			RETURNING last_version`), p.Model).Scan(&v.Version); err != nil {
			return fmt.Errorf("numbering the version: %w", s.mapErr(ctx, err))
		}
		var encoding any
		if v.Encoding != nil {
			encoding = []byte(v.Encoding)
		}
		if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {model_versions} (model, version,
			artifact_format, artifact, artifact_sha256, artifact_size,
			training_kind, training_name, training_variant, training_rows, label_start, label_end,
			metrics, encoding, trainer, created_by, created_at)
			VALUES (`+placeholders(17)+`)`),
			v.Model, v.Version, v.Artifact.Format, v.Artifact.Bytes, v.Artifact.SHA256, v.Artifact.Size,
			string(v.TrainingSet.Kind), v.TrainingSet.Name, v.TrainingSet.Variant, v.TrainingRows,
			s.modelTime(v.LabelStart), s.modelTime(v.LabelEnd),
			string(metrics), encoding, v.Trainer, v.CreatedBy, s.modelTime(v.CreatedAt)); err != nil {
			return fmt.Errorf("recording version %d: %w", v.Version, s.mapErr(ctx, err))
		}
		if len(p.Profile) > 0 {
			if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {model_profiles} (model, version, profile) VALUES (?, ?, ?)`),
				v.Model, v.Version, []byte(p.Profile)); err != nil {
				return fmt.Errorf("recording the profile of version %d: %w", v.Version, s.mapErr(ctx, err))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return v, nil
}

// modelVersionColumns selects a version in scanModelVersion's order; the
// artifact's bytes only when withBytes.
func modelVersionColumns(withBytes bool) string {
	artifact := "NULL"
	if withBytes {
		artifact = "artifact"
	}
	return `model, version, artifact_format, ` + artifact + `, artifact_sha256, artifact_size,
		training_kind, training_name, training_variant, training_rows, label_start, label_end,
		metrics, encoding, trainer, created_by, created_at`
}

func (s *Store) scanModelVersion(sc scanner) (*registry.ModelVersion, error) {
	var (
		v                     registry.ModelVersion
		trainingKind, metrics string
		encoding              []byte
		labelStart, labelEnd  any
		created               any
	)
	if err := sc.Scan(&v.Model, &v.Version, &v.Artifact.Format, &v.Artifact.Bytes, &v.Artifact.SHA256, &v.Artifact.Size,
		&trainingKind, &v.TrainingSet.Name, &v.TrainingSet.Variant, &v.TrainingRows, &labelStart, &labelEnd,
		&metrics, &encoding, &v.Trainer, &v.CreatedBy, &created); err != nil {
		return nil, err
	}
	v.TrainingSet.Kind = resource.Kind(trainingKind)
	if len(encoding) > 0 {
		v.Encoding = encoding
	}
	if metrics != "" && metrics != "{}" {
		if err := json.Unmarshal([]byte(metrics), &v.Metrics); err != nil {
			return nil, fmt.Errorf("decoding the metrics of %s version %d: %w", v.Model, v.Version, err)
		}
	}
	for _, t := range []struct {
		v   any
		dst *time.Time
	}{{labelStart, &v.LabelStart}, {labelEnd, &v.LabelEnd}, {created, &v.CreatedAt}} {
		var err error
		if *t.dst, err = s.d.ScanTime(t.v); err != nil {
			return nil, fmt.Errorf("decoding the times of %s version %d: %w", v.Model, v.Version, err)
		}
	}
	return &v, nil
}

// GetModelVersion implements registry.ModelStore.
func (s *Store) GetModelVersion(ctx context.Context, model string, version int) (*registry.ModelVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	row := s.db.QueryRowContext(ctx, s.sql(`SELECT `+modelVersionColumns(true)+` FROM {model_versions} WHERE model = ? AND version = ?`),
		model, version)
	v, err := s.scanModelVersion(row)
	if err != nil {
		return nil, fmt.Errorf("getting version %d of model %s: %w", version, model, s.mapErr(ctx, err))
	}
	return v, nil
}

// ModelVersionProfile implements registry.ModelStore.
func (s *Store) ModelVersionProfile(ctx context.Context, model string, version int) (json.RawMessage, error) {
	var b []byte
	err := s.db.QueryRowContext(ctx, s.sql(`SELECT profile FROM {model_profiles} WHERE model = ? AND version = ?`), model, version).Scan(&b)
	if err != nil {
		return nil, fmt.Errorf("getting the profile of version %d of model %s: %w", version, model, s.mapErr(ctx, err))
	}
	return b, nil
}

// ListModelVersions implements registry.ModelStore.
func (s *Store) ListModelVersions(ctx context.Context, p *registry.ListModelVersionsParams) ([]*registry.ModelVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p == nil {
		p = &registry.ListModelVersionsParams{}
	}
	limit := p.Limit
	if limit <= 0 {
		limit = defaultModelVersionLimit
	}
	rows, err := s.db.QueryContext(ctx, s.sql(`SELECT `+modelVersionColumns(false)+` FROM {model_versions}
		WHERE model = ? ORDER BY version DESC LIMIT ?`), p.Model, limit)
	if err != nil {
		return nil, fmt.Errorf("listing versions of model %s: %w", p.Model, s.mapErr(ctx, err))
	}
	defer rows.Close()
	var out []*registry.ModelVersion
	for rows.Next() {
		v, err := s.scanModelVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("listing versions of model %s: %w", p.Model, s.mapErr(ctx, err))
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing versions of model %s: %w", p.Model, s.mapErr(ctx, err))
	}
	return out, nil
}

// SetModelAlias implements registry.ModelStore.
func (s *Store) SetModelAlias(ctx context.Context, p *registry.SetModelAliasParams) (*registry.ModelAlias, error) {
	if err := registry.CheckModelAlias(p); err != nil {
		return nil, err
	}
	where := fmt.Sprintf("setting alias %s of model %s to version %d", p.Alias, p.Model, p.Version)
	var out *registry.ModelAlias
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, s.sql(`SELECT 1 FROM {model_versions} WHERE model = ? AND version = ?`),
			p.Model, p.Version).Scan(&one); err != nil {
			return fmt.Errorf("looking up the version: %w", s.mapErr(ctx, err))
		}
		now := p.Now
		if now.IsZero() {
			var err error
			if now, err = s.now(ctx, tx); err != nil {
				return err
			}
		}
		now = microUTC(now)
		// Two passes at most: when another transaction creates the alias
		// between the read and the insert, the insert waits for it and does
		// nothing, and the second read sees it.
		for range 2 {
			cur, err := s.getModelAlias(ctx, tx, p.Model, p.Alias, true)
			if err != nil && !errors.Is(err, registry.ErrNotFound) {
				return err
			}
			from := 0
			if cur != nil {
				from = cur.Version
			}
			if p.Expect != nil && *p.Expect != from {
				if from == 0 {
					return fmt.Errorf("%w: the alias does not exist, not at version %d as expected: read it again and retry", registry.ErrAliasMoved, *p.Expect)
				}
				if *p.Expect == 0 {
					return fmt.Errorf("%w: the alias exists (at version %d), expected none: read it again and retry", registry.ErrAliasMoved, from)
				}
				return fmt.Errorf("%w: it points at version %d, not %d as expected: read it again and retry", registry.ErrAliasMoved, from, *p.Expect)
			}
			if cur != nil && cur.Version == p.Version {
				out = cur
				return nil
			}
			if cur == nil {
				res, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {model_aliases} (model, alias, version, updated_by, updated_at)
					VALUES (?, ?, ?, ?, ?) ON CONFLICT (model, alias) DO NOTHING`),
					p.Model, p.Alias, p.Version, p.By, s.modelTime(now))
				if err != nil {
					return fmt.Errorf("creating the alias: %w", s.mapErr(ctx, err))
				}
				if n, err := res.RowsAffected(); err != nil {
					return fmt.Errorf("creating the alias: %w", s.mapErr(ctx, err))
				} else if n == 0 {
					continue
				}
			} else if _, err := tx.ExecContext(ctx, s.sql(`UPDATE {model_aliases} SET version = ?, updated_by = ?, updated_at = ?
				WHERE model = ? AND alias = ?`), p.Version, p.By, s.modelTime(now), p.Model, p.Alias); err != nil {
				return fmt.Errorf("moving the alias: %w", s.mapErr(ctx, err))
			}
			if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {model_alias_moves}
				(model, alias, seq, from_version, to_version, moved_by, moved_at)
				SELECT ?, ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ? FROM {model_alias_moves} WHERE model = ? AND alias = ?`),
				p.Model, p.Alias, from, p.Version, p.By, s.modelTime(now), p.Model, p.Alias); err != nil {
				return fmt.Errorf("recording the move: %w", s.mapErr(ctx, err))
			}
			out = &registry.ModelAlias{Model: p.Model, Alias: p.Alias, Version: p.Version, UpdatedBy: p.By, UpdatedAt: now}
			return nil
		}
		return fmt.Errorf("%w: the alias was created and removed while this move ran: retry", registry.ErrAliasMoved)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return out, nil
}

// getModelAlias reads an alias, locking its row when lock is set;
// registry.ErrNotFound, unwrapped, when there is none.
func (s *Store) getModelAlias(ctx context.Context, q querier, model, alias string, lock bool) (*registry.ModelAlias, error) {
	query := `SELECT model, alias, version, updated_by, updated_at FROM {model_aliases} WHERE model = ? AND alias = ?`
	if lock {
		query += s.lock("FOR UPDATE")
	}
	a, err := s.scanModelAlias(q.QueryRowContext(ctx, s.sql(query), model, alias))
	if err != nil {
		return nil, s.mapErr(ctx, err)
	}
	return a, nil
}

func (s *Store) scanModelAlias(sc scanner) (*registry.ModelAlias, error) {
	var (
		a       registry.ModelAlias
		updated any
	)
	if err := sc.Scan(&a.Model, &a.Alias, &a.Version, &a.UpdatedBy, &updated); err != nil {
		return nil, err
	}
	var err error
	if a.UpdatedAt, err = s.d.ScanTime(updated); err != nil {
		return nil, fmt.Errorf("decoding the time of alias %s of model %s: %w", a.Alias, a.Model, err)
	}
	return &a, nil
}

// GetModelAlias implements registry.ModelStore.
func (s *Store) GetModelAlias(ctx context.Context, model, alias string) (*registry.ModelAlias, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a, err := s.getModelAlias(ctx, s.db, model, alias, false)
	if err != nil {
		return nil, fmt.Errorf("getting alias %s of model %s: %w", alias, model, err)
	}
	return a, nil
}

// ListModelAliases implements registry.ModelStore.
func (s *Store) ListModelAliases(ctx context.Context, model string) ([]*registry.ModelAlias, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.sql(`SELECT model, alias, version, updated_by, updated_at FROM {model_aliases}
		WHERE model = ? ORDER BY alias`), model)
	if err != nil {
		return nil, fmt.Errorf("listing aliases of model %s: %w", model, s.mapErr(ctx, err))
	}
	defer rows.Close()
	var out []*registry.ModelAlias
	for rows.Next() {
		a, err := s.scanModelAlias(rows)
		if err != nil {
			return nil, fmt.Errorf("listing aliases of model %s: %w", model, s.mapErr(ctx, err))
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing aliases of model %s: %w", model, s.mapErr(ctx, err))
	}
	return out, nil
}

// ListModels implements registry.ModelStore.
func (s *Store) ListModels(ctx context.Context) ([]registry.ModelInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.sql(`SELECT name, last_version FROM {models} ORDER BY name`))
	if err != nil {
		return nil, fmt.Errorf("listing models: %w", s.mapErr(ctx, err))
	}
	defer rows.Close()
	var out []registry.ModelInfo
	for rows.Next() {
		var m registry.ModelInfo
		if err := rows.Scan(&m.Model, &m.LatestVersion); err != nil {
			return nil, fmt.Errorf("listing models: %w", s.mapErr(ctx, err))
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing models: %w", s.mapErr(ctx, err))
	}
	return out, nil
}

// ModelAliasHistory implements registry.ModelStore.
func (s *Store) ModelAliasHistory(ctx context.Context, model, alias string) ([]*registry.ModelAliasMove, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	where := fmt.Sprintf("reading the history of alias %s of model %s", alias, model)
	rows, err := s.db.QueryContext(ctx, s.sql(`SELECT from_version, to_version, moved_by, moved_at FROM {model_alias_moves}
		WHERE model = ? AND alias = ? ORDER BY seq`), model, alias)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, s.mapErr(ctx, err))
	}
	defer rows.Close()
	var out []*registry.ModelAliasMove
	for rows.Next() {
		m := &registry.ModelAliasMove{Model: model, Alias: alias}
		var at any
		if err := rows.Scan(&m.From, &m.To, &m.By, &at); err != nil {
			return nil, fmt.Errorf("%s: %w", where, s.mapErr(ctx, err))
		}
		if m.At, err = s.d.ScanTime(at); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", where, s.mapErr(ctx, err))
	}
	return out, nil
}
