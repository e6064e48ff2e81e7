package feedback

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// Status is how the feedback recorded so far matches logged predictions.
type Status struct {
	// Names holds one entry per feedback name, by name.
	Names []NameStatus `json:"names"`
	// PredictionTables are the tables of predictions the events were
	// matched against: every endpoint's prediction log and every batch
	// prediction's table shipped so far.
	PredictionTables []string `json:"prediction_tables"`
}

// NameStatus counts the events of one feedback name (each id once).
type NameStatus struct {
	Name   string `json:"name"`
	Events int64  `json:"events"`
	// Matched events name a prediction that is in a table of predictions:
	// by prediction_id, or, without one, by endpoint and entity (a
	// prediction of that entity by that endpoint at or before the event).
	// Unmatched ones may name a prediction not shipped yet (the join
	// tolerates it: it matches once the prediction arrives), or one that
	// does not exist.
	Matched   int64 `json:"matched"`
	Unmatched int64 `json:"unmatched"`
}

// Report counts the feedback in the offline store by name, matched and
// unmatched. Before any feedback was shipped, it reports no names.
func Report(ctx context.Context, reg registry.Store, off offline.Store) (*Status, error) {
	st := &Status{Names: []NameStatus{}, PredictionTables: []string{}}
	src, err := reg.Get(ctx, Source)
	if err != nil {
		if errors.Is(err, registry.ErrNotFound) {
			return st, nil
		}
		return nil, fmt.Errorf("reading source %s: %w", Source.Ref(), err)
	}
	if src.State.Status != resource.StatusReady {
		// The first shipment is registering it: its table may not be
		// there yet.
		return st, nil
	}
	tables, err := predictionTables(ctx, reg)
	if err != nil {
		return nil, err
	}
	if tables != nil {
		st.PredictionTables = tables
	}
	matched := "0"
	if len(tables) > 0 {
		var union []string
		for _, t := range tables {
			union = append(union, "SELECT prediction_id, endpoint, entity, predicted_at FROM "+offline.QuoteIdent(t))
		}
		matched = "count(*) FILTER (WHERE EXISTS (SELECT 1 FROM (" + strings.Join(union, " UNION ALL ") + `) p
  WHERE p.prediction_id = f.prediction_id
     OR (f.prediction_id IS NULL AND p.endpoint = f.endpoint AND p.entity = f.entity AND p.predicted_at <= f.event_time)))`
	}
	q := "SELECT f.name, CAST(count(*) AS BIGINT), CAST(" + matched + " AS BIGINT)\nFROM " + offline.QuoteIdent(offline.TableName(src.ID)) +
		" f\nGROUP BY f.name\nORDER BY f.name"
	rows, err := off.Query(ctx, &offline.QueryParams{SQL: q})
	if err != nil {
		return nil, fmt.Errorf("counting feedback: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		v := rows.Values()
		n := NameStatus{Name: v[0].Str(), Events: v[1].Int64(), Matched: v[2].Int64()}
		n.Unmatched = n.Events - n.Matched
		st.Names = append(st.Names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting feedback: %w", err)
	}
	return st, nil
}

// predictionTables lists the tables of predictions shipped so far: the
// tables of the registered sources over endpoints' prediction logs and
// batch predictions' tables.
func predictionTables(ctx context.Context, reg registry.Store) ([]string, error) {
	var tables []string
	for _, kind := range []resource.Kind{resource.KindEndpoint, resource.KindBatchPrediction} {
		rs, err := reg.List(ctx, &registry.ListParams{Kind: kind, Deleted: true})
		if err != nil {
			return nil, fmt.Errorf("listing %ss: %w", kind, err)
		}
		for _, r := range rs {
			id, table := resource.BatchPredictionSource(r.ID), offline.TableName(r.ID)
			if kind == resource.KindEndpoint {
				id, table = resource.EndpointPredictions(r.Ref()), offline.PredictionLogTable(r.Ref())
			}
			src, err := reg.Get(ctx, id)
			if err != nil || src.Source == nil || src.Source.Table != table || src.State.Status != resource.StatusReady {
				continue // never written yet
			}
			if !hasColumns(src.State.Schema, "prediction_id", "endpoint", "entity", resource.PredictedAtColumn) {
				continue // a table written before predictions had one shape
			}
			tables = append(tables, table)
		}
	}
	return tables, nil
}

// hasColumns reports whether a schema has every named column.
func hasColumns(schema []resource.Column, names ...string) bool {
	for _, n := range names {
		if !slices.ContainsFunc(schema, func(c resource.Column) bool { return c.Name == n }) {
			return false
		}
	}
	return true
}
