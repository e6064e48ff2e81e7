package coordinator

// Measured train/serve skew: logged predictions' features recomputed
// point-in-time, at each prediction's time, by the join training sets use.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// JobSkew measures a model's train/serve skew (SkewParams in its
// arguments, a SkewReport in its result).
const JobSkew = "skew"

// DefaultSkewSample is how many logged predictions a skew measurement
// samples by default; MaxSkewExamples how many differing values it shows
// per feature.
const (
	DefaultSkewSample = 1000
	MaxSkewExamples   = 5
)

// SkewParams is what a skew measurement samples: predictions of a model's
// version (0: each version the sample holds) made from From to To (zero:
// any time), logged by the endpoints serving the model.
type SkewParams struct {
	Model   string    `json:"model"`
	Version int       `json:"version,omitempty"`
	From    time.Time `json:"from,omitzero"`
	To      time.Time `json:"to,omitzero"`
	// Sample is how many predictions (DefaultSkewSample when zero): the
	// same ones on every run over the same log (chosen by a hash of their
	// ids).
	Sample int    `json:"sample,omitempty"`
	By     string `json:"by,omitempty"`
}

// SkewReport compares each sampled prediction's features as served (the
// prediction log) with the same features recomputed by the training
// set's point-in-time join at the prediction's time.
type SkewReport struct {
	Model string `json:"model"`
	// Sampled counts the predictions compared; Versions the versions they
	// came from.
	Sampled  int   `json:"sampled"`
	Versions []int `json:"versions"`
	// Features, in the versions' order; Differing counts the values that
	// differ, over all features.
	Features  []FeatureSkew `json:"features"`
	Differing int           `json:"differing"`
}

// FeatureSkew is one feature's comparison.
type FeatureSkew struct {
	// Name is the feature's column in the training set, Feature its
	// reference.
	Name    string `json:"name"`
	Feature string `json:"feature"`
	// Compared counts the values compared (request-time overrides are
	// left out: they differ by design), Overridden those left out,
	// Differing those not equal (a number within 1e-9 of the other is
	// equal; null equals only null), Share = Differing / Compared.
	Compared   int           `json:"compared"`
	Overridden int           `json:"overridden,omitempty"`
	Differing  int           `json:"differing"`
	Share      float64       `json:"share"`
	Examples   []SkewExample `json:"examples,omitempty"`
}

// SkewExample is one differing value.
type SkewExample struct {
	PredictionID string    `json:"prediction_id"`
	Entity       string    `json:"entity"`
	At           time.Time `json:"predicted_at"`
	Served       any       `json:"served"`
	Offline      any       `json:"offline"`
}

// EnqueueSkew queues a skew measurement of a model.
func (c *Coordinator) EnqueueSkew(ctx context.Context, p *SkewParams) ([]*registry.Job, error) {
	if err := resource.ValidateName(p.Model); err != nil {
		return nil, fmt.Errorf("model %w", err)
	}
	if p.Sample < 0 || p.Version < 0 {
		return nil, fmt.Errorf("skew of %s: sample %d, version %d: give positive numbers (or 0 for the defaults)", p.Model, p.Sample, p.Version)
	}
	if !p.To.IsZero() && !p.From.Before(p.To) {
		return nil, fmt.Errorf("skew of %s: from %s is not before to %s", p.Model, p.From.Format(time.RFC3339), p.To.Format(time.RFC3339))
	}
	b := c.newBatch()
	b.add(registry.NewJob{Kind: JobSkew, Resource: resource.ID{Kind: resource.KindModel, Name: p.Model, Variant: resource.DefaultVariant}, Args: encodeArgs(p)})
	return b.enqueue(ctx)
}

// skew runs a skew measurement: it samples the logged predictions into a
// table of the offline store, joins the training set's features to them
// point-in-time as a training set would (the sample as the label), and
// compares value by value. The table is dropped at the end.
func (c *Coordinator) skew(ctx context.Context, run *jobRun, p SkewParams) error {
	rep, err := c.MeasureSkew(ctx, &p, func(line string) { run.sayf("%s", line) })
	if err != nil {
		return err
	}
	run.rows.Store(int64(rep.Sampled))
	run.result = encodeArgs(rep)
	return nil
}

// MeasureSkew measures a model's skew (what the skew job does), saying
// what it does with say (nil: nothing).
func (c *Coordinator) MeasureSkew(ctx context.Context, p *SkewParams, say func(string)) (*SkewReport, error) {
	if say == nil {
		say = func(string) {}
	}
	sample := p.Sample
	if sample == 0 {
		sample = DefaultSkewSample
	}
	logs, err := c.modelLogs(ctx, p.Model)
	if err != nil {
		return nil, err
	}
	rep := &SkewReport{Model: p.Model, Versions: []int{}, Features: []FeatureSkew{}}
	if len(logs) == 0 {
		say(fmt.Sprintf("no endpoint of model %s has logged predictions yet: nothing to compare", p.Model))
		return rep, nil
	}
	var r [6]byte
	rand.Read(r[:])
	table := "slipway_skew_sample__" + hex.EncodeToString(r[:])
	if _, err := c.Offline.CreateTable(ctx, &offline.CreateTableParams{Table: table, SQL: sampleSQL(logs, *p, sample)}); err != nil {
		return nil, fmt.Errorf("sampling the prediction log: %w", err)
	}
	defer c.Offline.DropTable(context.WithoutCancel(ctx), &offline.DropTableParams{Table: table})

	logged, versions, err := c.readSample(ctx, table)
	if err != nil {
		return nil, err
	}
	rep.Sampled = len(logged)
	rep.Versions = versions
	say(fmt.Sprintf("sampled %d predictions of model %s (versions %v)", len(logged), p.Model, versions))
	byVersion := map[int][]*loggedPrediction{}
	for _, l := range logged {
		byVersion[l.version] = append(byVersion[l.version], l)
	}
	index := map[string]int{}
	for _, version := range versions {
		if err := c.skewOfVersion(ctx, say, rep, index, table, p.Model, version, byVersion[version]); err != nil {
			return nil, err
		}
	}
	for i := range rep.Features {
		f := &rep.Features[i]
		if f.Compared > 0 {
			f.Share = float64(f.Differing) / float64(f.Compared)
		}
		rep.Differing += f.Differing
		say(fmt.Sprintf("%s: %d of %d values differ (%.2f%%)", f.Name, f.Differing, f.Compared, 100*f.Share))
	}
	return rep, nil
}

// modelLogs returns the prediction log tables of the endpoints serving a
// model that have logged (their source is ready).
func (c *Coordinator) modelLogs(ctx context.Context, name string) ([]string, error) {
	eps, err := c.Registry.List(ctx, &registry.ListParams{Kind: resource.KindEndpoint})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ep := range eps {
		if ep.Endpoint == nil || ep.Endpoint.Model != name {
			continue
		}
		src, err := c.Registry.Get(ctx, resource.EndpointPredictions(ep.ID.Ref()))
		if errors.Is(err, registry.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if src.State.Status == resource.StatusReady {
			out = append(out, offline.PredictionLogTable(ep.ID.Ref()))
		}
	}
	return out, nil
}

// sampleSQL selects the sample: the predictions of the model (and
// version, and time range) with the smallest md5 of their ids, a
// deterministic and uniform choice both engines compute.
func sampleSQL(logs []string, p SkewParams, n int) string {
	cond := "model = " + offline.QuoteLiteral(p.Model) + " AND entity IS NOT NULL"
	if p.Version > 0 {
		cond += " AND model_version = " + strconv.Itoa(p.Version)
	}
	if !p.From.IsZero() {
		cond += " AND predicted_at >= " + offline.TimestampLiteral(p.From)
	}
	if !p.To.IsZero() {
		cond += " AND predicted_at < " + offline.TimestampLiteral(p.To)
	}
	parts := make([]string, len(logs))
	for i, l := range logs {
		parts[i] = "SELECT prediction_id, entity, predicted_at, model_version, features, statuses FROM " + offline.QuoteIdent(l) + " WHERE " + cond
	}
	return "SELECT * FROM (" + strings.Join(parts, " UNION ALL ") + ") AS logged ORDER BY md5(prediction_id) LIMIT " + strconv.Itoa(n)
}

// loggedPrediction is a sampled prediction as the log holds it.
type loggedPrediction struct {
	id, entity string
	at         time.Time
	version    int
	features   map[string]any
	statuses   map[string]string
}

func (c *Coordinator) readSample(ctx context.Context, table string) ([]*loggedPrediction, []int, error) {
	rows, err := c.Offline.Query(ctx, &offline.QueryParams{SQL: "SELECT prediction_id, entity, predicted_at, model_version, features, statuses FROM " + offline.QuoteIdent(table)})
	if err != nil {
		return nil, nil, fmt.Errorf("reading the sample: %w", err)
	}
	defer rows.Close()
	var out []*loggedPrediction
	var versions []int
	for rows.Next() {
		v := rows.Values()
		l := &loggedPrediction{id: v[0].Str(), entity: v[1].Str(), at: v[2].Time(), version: int(v[3].Int64())}
		if err := json.Unmarshal([]byte(v[4].Str()), &l.features); err != nil {
			return nil, nil, fmt.Errorf("prediction %s: its features: %w", l.id, err)
		}
		if !v[5].IsNull() && v[5].Str() != "" {
			if err := json.Unmarshal([]byte(v[5].Str()), &l.statuses); err != nil {
				return nil, nil, fmt.Errorf("prediction %s: its statuses: %w", l.id, err)
			}
		}
		if !slices.Contains(versions, l.version) {
			versions = append(versions, l.version)
		}
		out = append(out, l)
	}
	slices.Sort(versions)
	return out, versions, rows.Err()
}

// skewOfVersion recomputes the features of a version's sampled predictions
// with its training set's join and counts the differences into rep.
func (c *Coordinator) skewOfVersion(ctx context.Context, say func(string), rep *SkewReport, index map[string]int, table, name string, version int, logged []*loggedPrediction) error {
	v, err := c.Registry.GetModelVersion(ctx, name, version)
	if err != nil {
		return fmt.Errorf("reading version %d of model %s: %w", version, name, err)
	}
	if v.TrainingSet == (resource.ID{}) {
		say(fmt.Sprintf("version %d has no training set recorded: its %d predictions are not compared", version, len(logged)))
		return nil
	}
	enc, err := model.ParseEncoding(v.Encoding)
	if err != nil {
		return fmt.Errorf("version %d of model %s: %w", version, name, err)
	}
	ts, err := c.trainingSet(ctx, v.TrainingSet)
	if err != nil {
		return err
	}
	// The sample is the label: its entities and times, and the prediction
	// id as the value, to pair each joined row with its prediction.
	ts.Label = offline.Dataset{Table: table, EntityColumn: "entity", ValueColumn: "prediction_id", TimestampColumn: "predicted_at"}
	ts.LabelName, ts.LabelType = "prediction_id", value.String
	refs := map[string]string{}
	tsDef, err := c.Registry.Get(ctx, v.TrainingSet)
	if err != nil {
		return err
	}
	for i, col := range tsDef.TrainingSet.FeatureColumns() {
		refs[col] = tsDef.TrainingSet.Features[i].Ref().String()
	}
	byID := map[string]*loggedPrediction{}
	for _, l := range logged {
		byID[l.id] = l
	}
	rows, err := c.Offline.ReadTrainingSet(ctx, ts)
	if err != nil {
		return fmt.Errorf("recomputing the features of version %d's predictions: %w", version, err)
	}
	defer rows.Close()
	cols := make([]int, 0, len(ts.Features))
	feats := enc.Features()
	for _, f := range feats {
		j := slices.IndexFunc(ts.Features, func(fc offline.FeatureColumn) bool { return fc.Name == f.Name })
		if j < 0 {
			return fmt.Errorf("version %d reads feature %s, which its training set %s no longer has", version, f.Name, v.TrainingSet.Ref())
		}
		cols = append(cols, j)
		if _, ok := index[f.Name]; !ok {
			index[f.Name] = len(rep.Features)
			rep.Features = append(rep.Features, FeatureSkew{Name: f.Name, Feature: refs[f.Name]})
		}
	}
	for rows.Next() {
		vals := rows.Values() // entity, time, the features, the label (prediction id)
		l := byID[vals[len(vals)-1].Str()]
		if l == nil {
			continue
		}
		for k, f := range feats {
			fs := &rep.Features[index[f.Name]]
			if l.statuses[f.Name] == "override" {
				fs.Overridden++
				continue
			}
			fs.Compared++
			offlineValue := vals[2+cols[k]]
			if sameValue(l.features[f.Name], offlineValue) {
				continue
			}
			fs.Differing++
			if len(fs.Examples) < MaxSkewExamples {
				fs.Examples = append(fs.Examples, SkewExample{PredictionID: l.id, Entity: l.entity, At: l.at.UTC(), Served: l.features[f.Name], Offline: offlineValue.Any()})
			}
		}
	}
	return rows.Err()
}

// sameValue compares a served value (as the log's JSON holds it) with the
// value recomputed offline.
func sameValue(served any, off value.Value) bool {
	if served == nil || off.IsNull() {
		return served == nil && off.IsNull()
	}
	switch s := served.(type) {
	case float64:
		var o float64
		switch off.Type() {
		case value.Float64:
			o = off.Float64()
		case value.Int64:
			o = float64(off.Int64())
		default:
			return false
		}
		return math.Abs(s-o) <= 1e-9*math.Max(math.Abs(s), math.Abs(o))
	case string:
		if off.Type() == value.Timestamp {
			t, err := time.Parse(value.TimeFormat, s)
			return err == nil && t.Equal(off.Time())
		}
		return off.Type() == value.String && s == off.Str()
	case bool:
		return off.Type() == value.Bool && s == off.Bool()
	}
	return false
}
