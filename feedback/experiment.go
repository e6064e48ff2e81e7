package feedback

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/experiment"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// ExperimentStats computes what package experiment needs of each arm of an
// experiment, in the spec's order, from the endpoint's prediction log and
// the feedback, with one query inside the offline engine (no logged row is
// read into Go, so it scales with the engine, not with this process):
//
//   - an arm's exposures are the distinct entities with at least one
//     logged prediction whose experiment is the experiment's name and
//     whose arm is the arm; an entity's first exposure is its earliest
//     such prediction;
//   - an entity's feedback is the events named by the metric about one of
//     those predictions (by prediction_id, or, for an event without one,
//     by the endpoint and the entity), with an event time from the first
//     exposure to the first exposure plus the metric's window (ends
//     included), each event id once;
//   - conversion: Successes counts the entities with at least one such
//     event of a positive value; mean: the value of an entity is the sum of
//     its events' values (0 without any), and Mean and Variance (unbiased)
//     are over every exposed entity. N is the exposures either way.
//
// An arm without predictions has N = 0. Before the endpoint's prediction
// log or the feedback was shipped (their sources are not registered yet),
// every arm counts zero, or zero successes.
//
// With asOf set, only exposures whose window has ended by then count (an
// entity first exposed at t counts once t + window <= asOf): an exposure
// still in its window may convert yet, so counting it would understate
// the metric, and a decision taken once every arm has enough of them is
// not changed by later events.
func ExperimentStats(ctx context.Context, reg registry.Store, off offline.Store, exp *resource.Resource, asOf time.Time) ([]experiment.ArmStats, error) {
	spec := exp.Experiment
	if spec == nil {
		return nil, fmt.Errorf("%s is not an experiment", exp.ID)
	}
	out := make([]experiment.ArmStats, len(spec.Arms))
	index := map[string]int{}
	for i, a := range spec.Arms {
		out[i].Name = a.Name
		index[a.Name] = i
	}
	endpoint := spec.Endpoint.Ref()
	logTable, err := readyTable(ctx, reg, resource.EndpointPredictions(endpoint), offline.PredictionLogTable(endpoint),
		"prediction_id", resource.PredictedAtColumn, "experiment", "arm", resource.PredictionEntityColumn)
	if err != nil || logTable == "" {
		return out, err
	}
	fbTable, err := readyTable(ctx, reg, Source, "", "feedback_id", "prediction_id", "endpoint", "entity", "name", "value", "event_time")
	if err != nil {
		return nil, err
	}
	window := time.Duration(spec.Metric.Window)
	if window <= 0 {
		window = time.Duration(resource.DefaultExperimentWindow)
	}
	q := experimentSQL(logTable, fbTable, window, !asOf.IsZero())
	args := []value.Value{value.FromString(exp.Name), value.FromString(endpoint.String()), value.FromString(spec.Metric.Feedback)}
	if !asOf.IsZero() {
		args = append(args, value.FromTime(asOf.UTC()))
	}
	rows, err := off.Query(ctx, &offline.QueryParams{SQL: q, Args: args})
	if err != nil {
		return nil, fmt.Errorf("computing the arms of experiment %s: %w", exp.Ref(), err)
	}
	defer rows.Close()
	for rows.Next() {
		v := rows.Values()
		i, ok := index[v[0].Str()]
		if !ok {
			continue // an arm the spec does not have (cannot be assigned)
		}
		a := &out[i]
		a.N, a.Successes = v[1].Int64(), v[2].Int64()
		if !v[3].IsNull() {
			a.Mean = v[3].Float64()
		}
		if !v[4].IsNull() {
			a.Variance = v[4].Float64()
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("computing the arms of experiment %s: %w", exp.Ref(), err)
	}
	return out, nil
}

// readyTable returns the engine table (the view offline.TableName names)
// of a registered source that is ready and has the columns named, or ""
// when it is not registered or ready yet (nothing shipped), or, when want
// is set, registered over another table, or of another shape.
func readyTable(ctx context.Context, reg registry.Store, id resource.ID, want string, columns ...string) (string, error) {
	src, err := reg.Get(ctx, id)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("reading source %s: %w", id.Ref(), err)
	case src.Source == nil || src.State.Status != resource.StatusReady || (want != "" && src.Source.Table != want):
		return "", nil
	case !hasColumns(src.State.Schema, columns...):
		return "", nil
	}
	return offline.TableName(id), nil
}

// experimentSQL is ExperimentStats's query over the prediction log and the
// feedback (the source's view: each event id once), with $1 the
// experiment's name, $2 the endpoint (name:variant, as both tables write
// it), $3 the feedback name and, when matured, $4 the time by which an
// exposure's window must have ended. It is SQL that DuckDB and PostgreSQL both
// run. Without a feedback table (fbTable ""), it reads no events. The window is written into the text as a whole number of
// microseconds, which both read as an interval.
func experimentSQL(logTable, fbTable string, window time.Duration, matured bool) string {
	fb := "(SELECT CAST(NULL AS TEXT) AS feedback_id, CAST(NULL AS TEXT) AS prediction_id, CAST(NULL AS TEXT) AS endpoint," +
		" CAST(NULL AS TEXT) AS entity, CAST(NULL AS TEXT) AS name, CAST(NULL AS DOUBLE PRECISION) AS value," +
		" CAST(NULL AS TIMESTAMP) AS event_time WHERE 1 = 0)"
	if fbTable != "" {
		fb = offline.QuoteIdent(fbTable)
	}
	interval := offline.IntervalLiteral(window)
	having := ""
	if matured {
		having = "\n  HAVING min(predicted_at) + " + interval + " <= $4"
	}
	log := offline.QuoteIdent(logTable)
	// Whether a joined event counts for the exposed entity x: its arm's
	// (an event by prediction id) or any (by entity), within the window.
	// Tested in the aggregates, so that the join is on the entity alone (a
	// hash join; an OR in a join's condition can make an engine loop).
	counts := "(h.arm IS NULL OR h.arm = x.arm) AND h.event_time >= x.first_at AND h.event_time <= x.first_at + " + interval
	// No CTE is used twice (an engine may materialize it) and the
	// feedback view (a sort) is read once: 10 million predictions stream
	// through the scans and only the aggregates' groups are held. An
	// event's arm is its prediction's, or null for an event by entity.
	return `WITH exposed AS (
  SELECT arm, entity, min(predicted_at) AS first_at
  FROM ` + log + `
  WHERE experiment = $1 AND arm IS NOT NULL AND entity IS NOT NULL
  GROUP BY arm, entity` + having + `
),
hits AS (
  SELECT p.arm, coalesce(p.entity, f.entity) AS entity, f.value, f.event_time
  FROM ` + fb + ` f LEFT JOIN ` + log + ` p ON f.prediction_id = p.prediction_id
    AND p.experiment = $1 AND p.arm IS NOT NULL AND p.entity IS NOT NULL
  WHERE f.name = $3 AND (p.prediction_id IS NOT NULL OR (f.prediction_id IS NULL AND f.endpoint = $2))
),
per_entity AS (
  SELECT x.arm, x.entity,
    max(CASE WHEN h.value > 0 AND ` + counts + ` THEN 1 ELSE 0 END) AS converted,
    sum(CASE WHEN ` + counts + ` THEN h.value ELSE 0 END) AS total
  FROM exposed x
  LEFT JOIN hits h ON h.entity = x.entity
  GROUP BY x.arm, x.entity
)
SELECT arm, CAST(count(*) AS BIGINT), CAST(sum(converted) AS BIGINT),
  CAST(avg(total) AS DOUBLE PRECISION), CAST(var_samp(total) AS DOUBLE PRECISION)
FROM per_entity
GROUP BY arm
ORDER BY arm`
}
