// Package monitor watches models in production: it profiles what each
// endpoint was asked about and answered, window by window, from the
// prediction log, and compares it with what the model version was trained
// on (its baseline, recorded with the version). docs/design/monitoring.md
// describes it.
package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/profile"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// ProfilesTable is the offline table holding the serving profiles: one row
// per endpoint, window, model version and arm (ProfileColumns).
const ProfilesTable = "slipway_serving_profiles"

// ProfileColumns are ProfilesTable's columns. profile is a
// profile.Summary as JSON; write_batch names the endpoint's window
// (ENDPOINT@START/SECONDS), whose rows a rebuild replaces together.
var ProfileColumns = []resource.Column{
	{Name: "endpoint", Type: value.String},
	{Name: "model", Type: value.String},
	{Name: "model_version", Type: value.Int64},
	{Name: "arm", Type: value.String},
	{Name: "window_start", Type: value.Timestamp},
	{Name: "window_seconds", Type: value.Int64},
	{Name: "rows", Type: value.Int64},
	{Name: "profile", Type: value.String},
	{Name: "built_at", Type: value.Timestamp},
	{Name: resource.WriteBatchColumn, Type: value.String},
}

// Defaults of ProfileParams.
const (
	DefaultWindow = time.Hour
	// DefaultLookback is how many of the newest windows a run profiles
	// again, taking in predictions shipped late (a server that was down,
	// an offline store that was away).
	DefaultLookback = 3
	// DefaultSettle is how long after a window ends it is first profiled:
	// the prediction log ships every second, so a minute leaves margin.
	DefaultSettle = time.Minute
)

// ProfileParams is the input of ProfileWindows.
type ProfileParams struct {
	Endpoint resource.Ref
	// Window is the length of a window (DefaultWindow when zero); windows
	// start at whole multiples of it since the Unix epoch (hours: on the
	// hour, UTC).
	Window time.Duration
	// Lookback (DefaultLookback when zero) and Settle (DefaultSettle).
	Lookback int
	Settle   time.Duration
	// Now is the time of the run (time.Now when zero).
	Now time.Time
}

// ProfileResult says what a run profiled.
type ProfileResult struct {
	// Windows counts the windows profiled (again, for the lookback; a
	// window without predictions is not written), Rows the logged
	// predictions read, Profiles the rows written (one per window,
	// version and arm).
	Windows, Profiles int
	Rows              int64
	// Through is the end of the last window profiled (zero when none).
	Through time.Time
}

// ProfileWindows profiles an endpoint's logged predictions window by
// window: for every window that ended at least Settle before Now and was
// not profiled yet, and again for the Lookback newest windows profiled
// before, it reads the window's predictions in time order and summarises,
// per model version and arm, the features as scored (typed by the
// version's encoding) and the predictions, into ProfilesTable, replacing
// what an earlier run wrote for the window. Memory holds one window's
// profiles at a time. An endpoint whose log was never shipped has nothing
// to profile.
func ProfileWindows(ctx context.Context, reg registry.Store, off offline.Store, p *ProfileParams) (*ProfileResult, error) {
	window, lookback, settle, now := p.Window, p.Lookback, p.Settle, p.Now
	if window <= 0 {
		window = DefaultWindow
	}
	if window < time.Minute || window%time.Minute != 0 {
		return nil, fmt.Errorf("profiling windows of %s: use a whole number of minutes, like 1h", window)
	}
	if lookback <= 0 {
		lookback = DefaultLookback
	}
	if settle <= 0 {
		settle = DefaultSettle
	}
	if now.IsZero() {
		now = time.Now()
	}
	out := &ProfileResult{}
	logTable := offline.PredictionLogTable(p.Endpoint)
	if ok, err := sourceReady(ctx, reg, resource.EndpointPredictions(p.Endpoint)); err != nil || !ok {
		return out, err
	}
	end := now.Add(-settle).UTC().Truncate(window)
	start, err := firstWindow(ctx, off, logTable, p.Endpoint, window, lookback)
	if err != nil || start.IsZero() || !start.Before(end) {
		return out, err
	}
	vs := &versionFeatures{reg: reg}
	// The log is read 4 windows at a time, unordered (an ORDER BY
	// would make the engine hold the whole range), into one builder per
	// window: memory holds those windows, never the whole range. DuckDB
	// keeps a query's result in insertion order, buffering it: a read of a
	// day of 10 million predictions a week held 800 MB.
	for chunk := start; chunk.Before(end); {
		next := chunk.Add(windowsPerRead * window)
		if next.After(end) {
			next = end
		}
		if err := profileRange(ctx, vs, off, logTable, p.Endpoint, chunk, next, window, now, out); err != nil {
			return nil, err
		}
		chunk = next
	}
	out.Through = end
	return out, nil
}

// windowsPerRead is how many windows one query of the log reads.
const windowsPerRead = 4

// profileRange profiles the windows from start to end (whole windows) in
// one read of the log, and writes those with predictions.
func profileRange(ctx context.Context, vs *versionFeatures, off offline.Store, logTable string, endpoint resource.Ref, start, end time.Time, window time.Duration,
	now time.Time, out *ProfileResult) error {
	rows, err := off.Query(ctx, &offline.QueryParams{
		SQL:  `SELECT predicted_at, model, model_version, arm, features, prediction, class FROM ` + offline.QuoteIdent(logTable) + ` WHERE predicted_at >= $1 AND predicted_at < $2`,
		Args: []value.Value{value.FromTime(start), value.FromTime(end)},
	})
	if err != nil {
		return fmt.Errorf("reading the prediction log of %s: %w", endpoint, err)
	}
	defer rows.Close()
	builders := map[time.Time]*windowBuilder{}
	for rows.Next() {
		v := rows.Values()
		at := v[0].Time().UTC()
		ws := at.Truncate(window)
		b := builders[ws]
		if b == nil {
			b = &windowBuilder{versions: vs}
			builders[ws] = b
		}
		if err := b.add(ctx, v[1:]); err != nil {
			return fmt.Errorf("profiling the prediction of %s at %s: %w", endpoint, at.Format(time.RFC3339Nano), err)
		}
		out.Rows++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading the prediction log of %s: %w", endpoint, err)
	}
	rows.Close()
	// A window without predictions is not written: log rows are never
	// deleted, so a window profiled again is never emptier than before.
	for _, ws := range slices.SortedFunc(maps.Keys(builders), time.Time.Compare) {
		n, err := builders[ws].write(ctx, off, endpoint, ws, window, now)
		if err != nil {
			return err
		}
		out.Windows++
		out.Profiles += n
	}
	return nil
}

// sourceReady says whether a source Slipway registers as it writes (an
// endpoint's prediction log, the feedback) is there: registered and ready.
func sourceReady(ctx context.Context, reg registry.Store, id resource.ID) (bool, error) {
	src, err := reg.Get(ctx, id)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("reading source %s: %w", id.Ref(), err)
	}
	return src.State.Status == resource.StatusReady, nil
}

// firstWindow is where a run starts: lookback windows before the newest
// window profiled, or, the first time, the window of the first logged
// prediction (zero when there is none).
func firstWindow(ctx context.Context, off offline.Store, logTable string, endpoint resource.Ref, window time.Duration, lookback int) (time.Time, error) {
	profiled, err := queryTimes(ctx, off, `SELECT min(window_start), max(window_start) FROM `+offline.QuoteIdent(ProfilesTable)+` WHERE endpoint = $1 AND window_seconds = $2`,
		value.FromString(endpoint.String()), value.FromInt64(int64(window/time.Second)))
	if err != nil && !isMissingTable(err) {
		return time.Time{}, fmt.Errorf("reading the windows profiled for %s: %w", endpoint, err)
	}
	if err == nil && !profiled[1].IsZero() {
		start := profiled[1].Add(-time.Duration(lookback-1) * window)
		if start.Before(profiled[0]) {
			start = profiled[0]
		}
		return start, nil
	}
	first, err := queryTimes(ctx, off, `SELECT min(predicted_at) FROM `+offline.QuoteIdent(logTable))
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the prediction log of %s: %w", endpoint, err)
	}
	return first[0].Truncate(window), nil
}

// queryTimes reads the times of a query's one row (zero for nulls).
func queryTimes(ctx context.Context, off offline.Store, sql string, args ...value.Value) ([]time.Time, error) {
	rows, err := off.Query(ctx, &offline.QueryParams{SQL: sql, Args: args})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []time.Time
	if rows.Next() {
		for _, v := range rows.Values() {
			var t time.Time
			if !v.IsNull() {
				t = v.Time().UTC()
			}
			out = append(out, t)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("the query gave no row")
	}
	return out, nil
}

// isMissingTable says whether err is a query's over a table that does not
// exist yet (no window was ever profiled), in either engine's words.
func isMissingTable(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "does not exist") || strings.Contains(s, "not found") || strings.Contains(s, "no such table")
}

// windowBuilder holds the profiles of one window, per model version and
// arm.
type windowBuilder struct {
	versions *versionFeatures
	current  map[key]*versionSummary
	order    []key
	features map[string]any // a prediction's features, decoded
}

type key struct {
	model   string
	version int64
	arm     string
}

// versionSummary is the summary of a version's predictions, and the
// version's features.
type versionSummary struct {
	*profile.Summary
	features []model.Feature
	row      []value.Value
}

// add summarises one logged prediction: model, model_version, arm,
// features (JSON), prediction, class.
func (b *windowBuilder) add(ctx context.Context, v []value.Value) error {
	k := key{model: v[0].Str(), version: v[1].Int64(), arm: v[2].Str()}
	s, ok := b.current[k]
	if !ok {
		fs, err := b.versions.features(ctx, k.model, int(k.version))
		if err != nil {
			return err
		}
		sum, err := newSummary(fs)
		if err != nil {
			return err
		}
		s = &versionSummary{Summary: sum, features: fs, row: make([]value.Value, len(fs))}
		if b.current == nil {
			b.current = map[key]*versionSummary{}
		}
		b.current[k] = s
		b.order = append(b.order, k)
	}
	clear(b.features)
	if err := json.Unmarshal([]byte(v[3].Str()), &b.features); err != nil {
		return fmt.Errorf("its features %.80q: %w", v[3].Str(), err)
	}
	for i, f := range s.features {
		x, err := featureValue(b.features[f.Name], f)
		if err != nil {
			return err
		}
		s.row[i] = x
	}
	if err := s.Features.Add(s.row); err != nil {
		return err
	}
	return s.Predictions.Add([]value.Value{v[4], v[5]})
}

// newSummary returns the empty summary of the predictions of a version
// with these features.
func newSummary(fs []model.Feature) (*profile.Summary, error) {
	names := make([]string, len(fs))
	types := make([]value.Type, len(fs))
	for i, f := range fs {
		names[i], types[i] = f.Name, f.Type
	}
	fp, err := profile.New(names, types)
	if err != nil {
		return nil, err
	}
	return &profile.Summary{Features: fp, Predictions: profile.NewPredictions(true)}, nil
}

// featureValue is a feature's value as the log's JSON holds it (written by
// value.AppendJSON), typed as the version's encoding declares it.
func featureValue(x any, f model.Feature) (value.Value, error) {
	switch x := x.(type) {
	case nil:
		return value.NullValue(), nil
	case float64:
		switch f.Type {
		case value.Float64:
			return value.FromFloat64(x), nil
		case value.Int64:
			if x == math.Trunc(x) {
				return value.FromInt64(int64(x)), nil
			}
		}
	case string:
		switch f.Type {
		case value.String:
			return value.FromString(x), nil
		case value.Timestamp:
			if t, err := time.Parse(value.TimeFormat, x); err == nil {
				return value.FromTime(t), nil
			}
		}
	case bool:
		if f.Type == value.Bool {
			return value.FromBool(x), nil
		}
	}
	return value.Value{}, fmt.Errorf("feature %s is %v, not a %s value", f.Name, x, f.Type)
}

// versionFeatures reads versions' features (as their encodings list
// them) from the registry, once per version.
type versionFeatures struct {
	reg   registry.Store
	cache map[key][]model.Feature // by model and version
}

func (vs *versionFeatures) features(ctx context.Context, name string, version int) ([]model.Feature, error) {
	k := key{model: name, version: int64(version)}
	if fs, ok := vs.cache[k]; ok {
		return fs, nil
	}
	v, err := vs.reg.GetModelVersion(ctx, name, version)
	if err != nil {
		return nil, fmt.Errorf("reading version %d of model %s: %w", version, name, err)
	}
	enc, err := model.ParseEncoding(v.Encoding)
	if err != nil {
		return nil, fmt.Errorf("version %d of model %s: %w", version, name, err)
	}
	if vs.cache == nil {
		vs.cache = map[key][]model.Feature{}
	}
	vs.cache[k] = enc.Features()
	return vs.cache[k], nil
}

// write replaces the window's rows in ProfilesTable with its profiles,
// and starts the next window.
func (b *windowBuilder) write(ctx context.Context, off offline.Store, endpoint resource.Ref, ws time.Time, window time.Duration, now time.Time) (int, error) {
	batch := fmt.Sprintf("%s@%s/%d", endpoint, ws.Format(time.RFC3339), int64(window/time.Second))
	var rows [][]value.Value
	for _, k := range b.order {
		s := b.current[k]
		j, err := json.Marshal(s.Summary)
		if err != nil {
			return 0, err
		}
		arm := value.NullValue()
		if k.arm != "" {
			arm = value.FromString(k.arm)
		}
		rows = append(rows, []value.Value{value.FromString(endpoint.String()), value.FromString(k.model), value.FromInt64(k.version), arm,
			value.FromTime(ws), value.FromInt64(int64(window / time.Second)), value.FromInt64(s.Features.Rows), value.FromString(string(j)),
			value.FromTime(now.UTC()), value.FromString(batch)})
	}
	_, err := off.WriteRows(ctx, &offline.WriteRowsParams{Table: ProfilesTable, Columns: ProfileColumns, Rows: &sliceRows{rows: rows},
		Replace: &offline.Match{Column: resource.WriteBatchColumn, Value: value.FromString(batch)}})
	if err != nil {
		return 0, fmt.Errorf("writing the profiles of %s's window %s: %w", endpoint, ws.Format(time.RFC3339), err)
	}
	b.current, b.order = nil, nil
	return len(rows), nil
}

// sliceRows streams rows held in memory (offline.RowSource).
type sliceRows struct {
	rows [][]value.Value
	i    int
}

func (r *sliceRows) Next() bool {
	r.i++
	return r.i <= len(r.rows)
}

func (r *sliceRows) Values() []value.Value { return r.rows[r.i-1] }
func (r *sliceRows) Err() error            { return nil }

// ServingParams selects the serving profiles to merge.
type ServingParams struct {
	Endpoint resource.Ref
	Model    string
	Version  int
	// Arm, when set, keeps only the predictions of that experiment arm.
	Arm string
	// From and To bound the windows' starts: From <= start < To.
	From, To time.Time
	// Window is the windows' length (DefaultWindow when zero).
	Window time.Duration
}

// Serving is the merge of the profiles of the selected windows.
type Serving struct {
	*profile.Summary
	// Windows counts the windows merged (those with predictions of the
	// version).
	Windows int
}

// ServingProfile merges the serving profiles of a version's windows into
// one summary (an empty one when none was profiled).
func ServingProfile(ctx context.Context, reg registry.Store, off offline.Store, p *ServingParams) (*Serving, error) {
	window := p.Window
	if window <= 0 {
		window = DefaultWindow
	}
	fs, err := (&versionFeatures{reg: reg}).features(ctx, p.Model, p.Version)
	if err != nil {
		return nil, err
	}
	sum, err := newSummary(fs)
	if err != nil {
		return nil, err
	}
	out := &Serving{Summary: sum}
	q := `SELECT window_start, profile FROM ` + offline.QuoteIdent(ProfilesTable) +
		` WHERE endpoint = $1 AND model = $2 AND model_version = $3 AND window_seconds = $4 AND window_start >= $5 AND window_start < $6`
	args := []value.Value{value.FromString(p.Endpoint.String()), value.FromString(p.Model), value.FromInt64(int64(p.Version)),
		value.FromInt64(int64(window / time.Second)), value.FromTime(p.From.UTC()), value.FromTime(p.To.UTC())}
	if p.Arm != "" {
		q += ` AND arm = $7`
		args = append(args, value.FromString(p.Arm))
	}
	rows, err := off.Query(ctx, &offline.QueryParams{SQL: q + ` ORDER BY window_start, arm`, Args: args})
	if err != nil {
		if isMissingTable(err) {
			return out, nil
		}
		return nil, fmt.Errorf("reading the serving profiles of %s: %w", p.Endpoint, err)
	}
	defer rows.Close()
	var last time.Time
	for rows.Next() {
		v := rows.Values()
		s, err := profile.ParseSummary([]byte(v[1].Str()))
		if err != nil {
			return nil, fmt.Errorf("a serving profile of %s: %w", p.Endpoint, err)
		}
		if err := out.Features.Merge(s.Features); err != nil {
			return nil, err
		}
		if err := out.Predictions.Merge(s.Predictions); err != nil {
			return nil, err
		}
		if ws := v[0].Time(); !ws.Equal(last) {
			out.Windows++
			last = ws
		}
	}
	return out, rows.Err()
}
