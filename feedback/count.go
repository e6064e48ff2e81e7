package feedback

import (
	"context"
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/experiment"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// CountSince counts the events of one feedback name received after since
// (each event id once), in the engine: what a model's retrain policy
// compares with its threshold. Before any feedback was shipped it is 0.
func CountSince(ctx context.Context, reg registry.Store, off offline.Store, name string, since time.Time) (int64, error) {
	table, err := readyTable(ctx, reg, Source, "", "name", "received_at")
	if err != nil || table == "" {
		return 0, err
	}
	rows, err := off.Query(ctx, &offline.QueryParams{
		SQL:  "SELECT count(*) FROM " + offline.QuoteIdent(table) + " WHERE name = $1 AND received_at > $2",
		Args: []value.Value{value.FromString(name), value.FromTime(since.UTC())}})
	if err != nil {
		return 0, fmt.Errorf("counting feedback %s received since %s: %w", name, since.UTC().Format(time.RFC3339), err)
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		n = rows.Values()[0].Int64()
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("counting feedback %s received since %s: %w", name, since.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}

// Reader reads an offline store's prediction logs and feedback for the
// coordinator's feedback-loop jobs (coordinator.FeedbackReader).
type Reader struct {
	Registry registry.Store
	Offline  offline.Store
}

// ExperimentStats is the package function ExperimentStats.
func (r Reader) ExperimentStats(ctx context.Context, exp *resource.Resource, asOf time.Time) ([]experiment.ArmStats, error) {
	return ExperimentStats(ctx, r.Registry, r.Offline, exp, asOf)
}

// CountSince is the package function CountSince.
func (r Reader) CountSince(ctx context.Context, name string, since time.Time) (int64, error) {
	return CountSince(ctx, r.Registry, r.Offline, name, since)
}
