package monitor

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/slipway-ml/slipway/feedback"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// DefaultFeedbackWindow is how long after a prediction feedback about its
// entity (an event without a prediction id) is taken as about it.
const DefaultFeedbackWindow = 7 * 24 * time.Hour

// PerformanceParams selects the predictions whose real-world performance
// is measured: an endpoint's, made from From to To, against the feedback
// named Feedback.
type PerformanceParams struct {
	Endpoint resource.Ref
	Feedback string
	From, To time.Time
	// Window (DefaultFeedbackWindow when zero): an event without a
	// prediction id is about every prediction of its endpoint and entity
	// made at most Window before it.
	Window time.Duration
}

// PerformanceReport is the endpoint's predictions scored against what
// happened, per model version, arm and day, and per version and arm over
// the whole period.
type PerformanceReport struct {
	Endpoint string    `json:"endpoint"`
	Feedback string    `json:"feedback"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	// Days are per version, arm and day (UTC), in that order; Versions per
	// version and arm over the period.
	Days     []Performance `json:"days"`
	Versions []Performance `json:"versions"`
}

// Performance is one group's predictions against their feedback.
type Performance struct {
	Model   string    `json:"model"`
	Version int       `json:"version"`
	Arm     string    `json:"arm,omitempty"`
	Day     time.Time `json:"day,omitzero"`
	Task    string    `json:"task"`
	// Predictions counts the predictions made; WithFeedback those with at
	// least one event of the feedback (the others are left out of the
	// metrics: their outcome is not known yet); Share is their share.
	Predictions  int64   `json:"predictions"`
	WithFeedback int64   `json:"with_feedback"`
	Share        float64 `json:"feedback_share"`
	// Metrics are the task's (model.Evaluate: auc, log_loss, accuracy for
	// binary classification; rmse, mae for regression) over the
	// predictions with feedback, with the outcome: for classification 1
	// when an event's value is positive (true, or above 0), for regression
	// the mean of the events' values. Training are the holdout metrics
	// recorded with the version. Note says why Metrics are missing.
	Metrics  map[string]float64 `json:"metrics,omitempty"`
	Training map[string]float64 `json:"training,omitempty"`
	Note     string             `json:"note,omitempty"`
}

// Measure scores an endpoint's predictions against their feedback, inside
// the offline engine for the join; the pairs of prediction and outcome are
// read into memory (16 bytes each) to compute the metrics.
func Measure(ctx context.Context, reg registry.Store, off offline.Store, p *PerformanceParams) (*PerformanceReport, error) {
	if !resource.ValidFeedbackName(p.Feedback) {
		return nil, fmt.Errorf("feedback name %q: use lower-case letters, digits and _, starting with a letter (like purchased)", p.Feedback)
	}
	window := p.Window
	if window <= 0 {
		window = DefaultFeedbackWindow
	}
	out := &PerformanceReport{Endpoint: p.Endpoint.String(), Feedback: p.Feedback, From: p.From.UTC(), To: p.To.UTC()}
	if ok, err := sourceReady(ctx, reg, resource.EndpointPredictions(p.Endpoint)); err != nil || !ok {
		return out, err
	}
	log := offline.QuoteIdent(offline.PredictionLogTable(p.Endpoint))
	args := []value.Value{value.FromString(p.Endpoint.String()), value.FromTime(out.From), value.FromTime(out.To)}
	groups := map[perfKey]*perfGroup{}
	var keys []perfKey
	group := func(k perfKey) *perfGroup {
		g := groups[k]
		if g == nil {
			g = &perfGroup{}
			groups[k] = g
			keys = append(keys, k)
		}
		return g
	}
	rows, err := off.Query(ctx, &offline.QueryParams{SQL: `SELECT model, model_version, arm, CAST(date_trunc('day', predicted_at) AS TIMESTAMP), CAST(count(*) AS BIGINT)
FROM ` + log + ` WHERE endpoint = $1 AND predicted_at >= $2 AND predicted_at < $3
GROUP BY 1, 2, 3, 4`, Args: args})
	if err != nil {
		return nil, fmt.Errorf("counting the predictions of %s: %w", p.Endpoint, err)
	}
	for rows.Next() {
		v := rows.Values()
		group(keyOf(v)).predictions += v[4].Int64()
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting the predictions of %s: %w", p.Endpoint, err)
	}
	if fb, err := feedbackReady(ctx, reg); err != nil {
		return nil, err
	} else if fb != "" {
		rows, err := off.Query(ctx, &offline.QueryParams{SQL: outcomesSQL(log, offline.QuoteIdent(fb), window), Args: append(args, value.FromString(p.Feedback))})
		if err != nil {
			return nil, fmt.Errorf("joining the predictions of %s with their feedback: %w", p.Endpoint, err)
		}
		defer rows.Close()
		for rows.Next() {
			v := rows.Values()
			g := group(keyOf(v))
			g.scores = append(g.scores, v[4].Float64())
			g.positive = append(g.positive, v[5].Float64())
			g.mean = append(g.mean, v[6].Float64())
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("joining the predictions of %s with their feedback: %w", p.Endpoint, err)
		}
	}
	slices.SortFunc(keys, func(a, b perfKey) int {
		return cmp.Or(cmp.Compare(a.model, b.model), cmp.Compare(a.version, b.version), cmp.Compare(a.arm, b.arm), a.day.Compare(b.day))
	})
	versions := map[perfKey]*perfGroup{}
	var vkeys []perfKey
	info := map[string]*registry.ModelVersion{}
	tasks := map[string]string{}
	for _, k := range keys {
		g := groups[k]
		vk := perfKey{model: k.model, version: k.version, arm: k.arm}
		if versions[vk] == nil {
			versions[vk] = &perfGroup{}
			vkeys = append(vkeys, vk)
		}
		all := versions[vk]
		all.predictions += g.predictions
		all.scores, all.positive, all.mean = append(all.scores, g.scores...), append(all.positive, g.positive...), append(all.mean, g.mean...)
		perf, err := g.measure(ctx, reg, k, info, tasks)
		if err != nil {
			return nil, err
		}
		out.Days = append(out.Days, perf)
	}
	for _, k := range vkeys {
		perf, err := versions[k].measure(ctx, reg, k, info, tasks)
		if err != nil {
			return nil, err
		}
		out.Versions = append(out.Versions, perf)
	}
	return out, nil
}

// outcomesSQL pairs each prediction of $1 made from $2 to $3 with its
// outcome from the feedback named $4: by prediction id, or by endpoint and
// entity within the window after it. Two joins in a UNION ALL rather than
// an OR in one join's condition, which an engine may run as a loop.
func outcomesSQL(log, fb string, window time.Duration) string {
	interval := offline.IntervalLiteral(window)
	return `WITH p AS (
  SELECT prediction_id, model, model_version, arm, CAST(date_trunc('day', predicted_at) AS TIMESTAMP) AS day, prediction, entity, predicted_at
  FROM ` + log + ` WHERE endpoint = $1 AND predicted_at >= $2 AND predicted_at < $3
),
hits AS (
  SELECT p.prediction_id, f.value FROM p JOIN ` + fb + ` f ON f.prediction_id = p.prediction_id WHERE f.name = $4
  UNION ALL
  SELECT p.prediction_id, f.value FROM p JOIN ` + fb + ` f ON f.entity = p.entity
  WHERE f.name = $4 AND f.prediction_id IS NULL AND f.endpoint = $1
    AND f.event_time >= p.predicted_at AND f.event_time <= p.predicted_at + ` + interval + `
)
SELECT p.model, p.model_version, p.arm, p.day, p.prediction,
  max(CASE WHEN h.value > 0 THEN 1.0 ELSE 0.0 END), avg(h.value)
FROM p JOIN hits h ON h.prediction_id = p.prediction_id
GROUP BY p.prediction_id, p.model, p.model_version, p.arm, p.day, p.prediction`
}

// feedbackReady returns the feedback source's table, or "" before any
// feedback was shipped.
func feedbackReady(ctx context.Context, reg registry.Store) (string, error) {
	ok, err := sourceReady(ctx, reg, feedback.Source)
	if err != nil || !ok {
		return "", err
	}
	return offline.TableName(feedback.Source), nil
}

type perfKey struct {
	model   string
	version int64
	arm     string
	day     time.Time
}

func keyOf(v []value.Value) perfKey {
	return perfKey{model: v[0].Str(), version: v[1].Int64(), arm: v[2].Str(), day: v[3].Time().UTC()}
}

// perfGroup is one group's count and pairs of prediction and outcome.
type perfGroup struct {
	predictions            int64
	scores, positive, mean []float64
}

func (g *perfGroup) measure(ctx context.Context, reg registry.Store, k perfKey, info map[string]*registry.ModelVersion, tasks map[string]string) (Performance, error) {
	perf := Performance{Model: k.model, Version: int(k.version), Arm: k.arm, Day: k.day, Predictions: g.predictions, WithFeedback: int64(len(g.scores))}
	if perf.Predictions > 0 {
		perf.Share = float64(perf.WithFeedback) / float64(perf.Predictions)
	}
	id := fmt.Sprintf("%s@%d", k.model, k.version)
	v, ok := info[id]
	if !ok {
		var err error
		if v, err = reg.GetModelVersion(ctx, k.model, int(k.version)); err != nil {
			return perf, fmt.Errorf("reading version %d of model %s: %w", k.version, k.model, err)
		}
		pred, err := model.Load(v.Artifact.Format, v.Artifact.Bytes)
		if err != nil {
			return perf, fmt.Errorf("version %d of model %s: %w", k.version, k.model, err)
		}
		v.Artifact.Bytes = nil
		info[id], tasks[id] = v, pred.Task()
	}
	perf.Task, perf.Training = tasks[id], v.Metrics
	if len(g.scores) == 0 {
		perf.Note = "no feedback yet"
		return perf, nil
	}
	labels := g.positive
	switch perf.Task {
	case model.TaskBinaryClassification:
		var pos int
		for _, y := range labels {
			pos += int(y)
		}
		if pos == 0 || pos == len(labels) {
			perf.Note = "the feedback so far has one outcome only: the metrics need both"
			return perf, nil
		}
	case model.TaskRegression:
		labels = g.mean
	default:
		perf.Note = "performance of " + perf.Task + " models is not measured yet"
		return perf, nil
	}
	m, err := model.Evaluate(perf.Task, labels, g.scores)
	if err != nil {
		perf.Note = err.Error()
		return perf, nil
	}
	perf.Metrics = m
	return perf, nil
}
