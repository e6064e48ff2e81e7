package serving_test

// Live predictions on the demo, with the embedded stores: the demo's
// purchase_model trained through the platform, its features materialized,
// and an endpoint over its production alias.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/demo"
	"github.com/slipway-ml/slipway/internal/backends"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// clock is a settable clock, safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

const refresh = 5 * time.Second

// predictDemo is the demo, applied with an endpoint over purchase_model,
// the model trained (version 1 is production) and the features
// materialized, and Endpoints over its stores with a clock set just after
// the materialization.
type predictDemo struct {
	p         *platform.Platform
	dir       string
	reg       registry.Store
	clock     *clock
	asOf      time.Time
	endpoints *serving.Endpoints
	entities  []string // every subscriber
}

const endpointsYAML = `endpoints:
  - name: purchase
    model: purchase_model
  - name: spend
    model: spend_model
`

var purchaseModel = resource.ID{Kind: resource.KindModel, Name: "purchase_model", Variant: resource.DefaultVariant}

func newPredictDemo(t testing.TB) *predictDemo {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	if _, err := demo.Generate(ctx, filepath.Join(dir, "data"), demo.Options{Scale: 0.05, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.WriteProject(dir); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "definitions", "endpoints.yaml"), endpointsYAML)
	p, err := platform.Open(ctx, platform.Options{DataDir: filepath.Join(dir, ".slipway"), Config: config.Default(), Backends: backends.All(), Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	apply(t, p, dir)
	wait(t, p, must(p.Train(ctx, &platform.TrainParams{Model: purchaseModel, By: "ana"})))
	wait(t, p, must(p.Materialize(ctx, &platform.MaterializeParams{})))
	d := &predictDemo{p: p, dir: dir, clock: &clock{}}
	d.asOf = time.Now().UTC().Truncate(time.Microsecond)
	d.clock.Set(d.asOf)
	if d.reg, err = p.Registry(ctx); err != nil {
		t.Fatal(err)
	}
	on, err := p.Online(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d.endpoints = &serving.Endpoints{Features: &serving.Service{Registry: d.reg, Online: on, Now: d.clock.Now}, Refresh: refresh}
	subs, err := os.ReadFile(filepath.Join(dir, "data", "subscribers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(subs)), "\n")[1:] {
		d.entities = append(d.entities, strings.SplitN(line, ",", 2)[0])
	}
	return d
}

func apply(t testing.TB, p *platform.Platform, dir string) {
	t.Helper()
	defs, err := definition.ReadFiles(filepath.Join(dir, "definitions"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(t.Context(), defs); err != nil {
		t.Fatal(err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// wait follows jobs until they end and fails unless the last succeeded.
func wait(t testing.TB, p *platform.Platform, jobs []*registry.Job) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	ended, err := platform.Wait(ctx, p, jobs)
	if err != nil {
		t.Fatalf("waiting for jobs: %v", err)
	}
	if last := ended[len(ended)-1]; last.Status != registry.JobSucceeded {
		t.Fatalf("job %d (%s) ended %s: %s", last.ID, last.Kind, last.Status, last.Error)
	}
}

// scorer loads a version of purchase_model as serving must: its stored
// encoding and artifact, through model.Scorer.
func (d *predictDemo) scorer(t testing.TB, version int) *model.Scorer {
	t.Helper()
	v, err := d.reg.GetModelVersion(t.Context(), "purchase_model", version)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := model.ParseEncoding(v.Encoding)
	if err != nil {
		t.Fatal(err)
	}
	s, err := model.NewScorer(enc, must(model.Load(v.Artifact.Format, v.Artifact.Bytes)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// features are purchase_propensity's features, as the online store names them.
var features = []string{"opens_30d:v1", "clicks_30d:default", "orders_count:default", "avg_order_value:default",
	"is_unsubscribed:default", "subscriber_region:default", "signup_channel:default", "shop_category:default"}

// online reads the entities' features as the online-features API serves them.
func (d *predictDemo) online(t testing.TB, entities []string) *serving.Response {
	t.Helper()
	resp, err := d.endpoints.Features.OnlineFeatures(t.Context(), &serving.Request{Features: features, Entities: entities})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func predict(t testing.TB, e *serving.Endpoints, req *serving.PredictRequest) *serving.PredictResponse {
	t.Helper()
	resp, err := e.Predict(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestPredictIsTheScorersAnswer is the promise: each prediction equals
// model.Scorer, with the version's stored encoding and model, applied to
// the entity's features as the online-features API serves them, and
// equals the score of the entity's training-set row at the same instant.
func TestPredictIsTheScorersAnswer(t *testing.T) {
	t.Parallel()
	d := newPredictDemo(t)
	resp := predict(t, d.endpoints, &serving.PredictRequest{Endpoint: "purchase", Entities: d.entities})
	if resp.Endpoint != "purchase:default" || resp.Model != "purchase_model" || resp.Alias != "production" || resp.Version != 1 ||
		resp.Task != model.TaskBinaryClassification || len(resp.Predictions) != len(d.entities) {
		t.Fatalf("response %s %s@%s version %d %s, %d predictions; want purchase_model@production version 1, %d predictions",
			resp.Endpoint, resp.Model, resp.Alias, resp.Version, resp.Task, len(resp.Predictions), len(d.entities))
	}
	wantFeatures := []string{"opens_30d", "clicks_30d", "orders_count", "avg_order_value", "is_unsubscribed", "subscriber_region", "signup_channel", "shop_category"}
	if strings.Join(resp.Features, ",") != strings.Join(wantFeatures, ",") {
		t.Errorf("features %v; want %v", resp.Features, wantFeatures)
	}

	// The same entities' features from the online-features API, scored.
	served := d.online(t, d.entities)
	rows := make([][]value.Value, len(served.Rows))
	for i, r := range served.Rows {
		rows[i] = r.Values
	}
	want, err := d.scorer(t, 1).ScoreRows(rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	var missing, outside int
	distinct := map[float64]bool{}
	for i, p := range resp.Predictions {
		if p.Entity != d.entities[i] || p.Model != "purchase_model" || p.Version != 1 {
			t.Fatalf("predictions[%d] is %s by %s version %d; want %s by purchase_model version 1", i, p.Entity, p.Model, p.Version, d.entities[i])
		}
		if p.Probability == nil || p.Class == nil || p.Value != nil || p.Probabilities != nil {
			t.Fatalf("predictions[%d] %+v: want a probability and a class only", i, p)
		}
		if *p.Probability != want[i] {
			t.Errorf("%s: predicted %v, the scorer on the served features gives %v", p.Entity, *p.Probability, want[i])
		}
		if wantClass := map[bool]int{true: 1, false: 0}[want[i] > 0.5]; *p.Class != wantClass {
			t.Errorf("%s: class %d for probability %v", p.Entity, *p.Class, want[i])
		}
		distinct[*p.Probability] = true
		if !uuidV7.MatchString(p.ID) || ids[p.ID] {
			t.Errorf("%s: prediction id %q is not a new UUIDv7", p.Entity, p.ID)
		}
		ids[p.ID] = true
		var wantMissing, wantOutside []string
		for j, s := range served.Rows[i].Statuses {
			switch {
			case s == serving.OutsideMaxAge:
				wantOutside = append(wantOutside, wantFeatures[j])
			case served.Rows[i].Values[j].IsNull():
				wantMissing = append(wantMissing, wantFeatures[j])
			}
		}
		if fmt.Sprint(p.Missing) != fmt.Sprint(nonNil(wantMissing)) || fmt.Sprint(p.OutsideMaxAge) != fmt.Sprint(nonNil(wantOutside)) {
			t.Errorf("%s: missing %v, outside max age %v; the online features say %v and %v", p.Entity, p.Missing, p.OutsideMaxAge, wantMissing, wantOutside)
		}
		missing += len(p.Missing)
		outside += len(p.OutsideMaxAge)
	}
	// The demo has subscribers without orders (orders_count is null) and
	// without recent opens (outside max age), so the comparison covers
	// missing values too.
	if missing == 0 || outside == 0 || len(distinct) < len(d.entities)/10 {
		t.Errorf("%d missing values, %d outside max age, %d distinct predictions: the test data do not exercise the comparison", missing, outside, len(distinct))
	}
	t.Logf("%d entities: %d missing, %d outside max age, %d distinct predictions", len(d.entities), missing, outside, len(distinct))

	// The training set of one label row per subscriber at this instant,
	// scored, gives the same predictions.
	rowsNow := d.trainingRowsNow(t)
	got := map[string]float64{}
	for _, p := range resp.Predictions {
		got[p.Entity] = *p.Probability
	}
	entities := make([]string, 0, len(rowsNow))
	feats := make([][]value.Value, 0, len(rowsNow))
	for e, r := range rowsNow {
		entities, feats = append(entities, e), append(feats, r)
	}
	fromTraining, err := d.scorer(t, 1).ScoreRows(feats, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(entities) != len(d.entities) {
		t.Errorf("the training set as of now has %d subscribers; want %d", len(entities), len(d.entities))
	}
	for i, e := range entities {
		if g, ok := got[e]; !ok || math.Abs(g-fromTraining[i]) > 1e-12 {
			t.Errorf("%s: predicted %v, the training set's row as of now scores %v", e, g, fromTraining[i])
		}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// trainingRowsNow applies a training set of purchase_propensity's features
// on one label row per subscriber at d.asOf, exports it and returns each
// subscriber's feature values, typed as the model's encoding types them.
func (d *predictDemo) trainingRowsNow(t *testing.T) map[string][]value.Value {
	t.Helper()
	var labels strings.Builder
	labels.WriteString("subscriber_id,at,y\n")
	for _, e := range d.entities {
		fmt.Fprintf(&labels, "%s,%s,0\n", e, d.asOf.Format("2006-01-02T15:04:05.000000"))
	}
	writeFile(t, filepath.Join(d.dir, "now_labels.csv"), labels.String())
	writeFile(t, filepath.Join(d.dir, "definitions", "now.yaml"), `sources:
  - name: now_labels
    file: ../now_labels.csv
    timestamp_column: at
labels:
  - name: at_now
    entity: subscriber
    source: now_labels
    entity_column: subscriber_id
    value_column: y
    timestamp_column: at
    type: int64
training_sets:
  - name: served_now
    label: at_now
    features: [`+strings.Join(features, ", ")+`]
`)
	apply(t, d.p, d.dir)
	out := filepath.Join(d.dir, "served_now.jsonl")
	ts := resource.ID{Kind: resource.KindTrainingSet, Name: "served_now", Variant: resource.DefaultVariant}
	wait(t, d.p, must(d.p.Export(t.Context(), &platform.ExportParams{TrainingSet: ts, Path: out, Format: "jsonl"})))
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	types := d.scorer(t, 1).Encoding().Features()
	rows := map[string][]value.Value{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var row map[string]any
		if err := dec.Decode(&row); err != nil {
			t.Fatal(err)
		}
		vals := make([]value.Value, len(types))
		for j, f := range types {
			vals[j] = typed(t, row[f.Name], f.Type)
		}
		rows[fmt.Sprint(row["subscriber"])] = vals
	}
	return rows
}

// typed converts a value decoded from a JSON export to a feature's type.
func typed(t *testing.T, x any, typ value.Type) value.Value {
	t.Helper()
	if x == nil {
		return value.NullValue()
	}
	switch typ {
	case value.Int64:
		return value.FromInt64(must(strconv.ParseInt(string(x.(json.Number)), 10, 64)))
	case value.Float64:
		return value.FromFloat64(must(strconv.ParseFloat(string(x.(json.Number)), 64)))
	case value.Bool:
		return value.FromBool(x.(bool))
	case value.String:
		return value.FromString(x.(string))
	}
	t.Fatalf("unexpected feature type %s", typ)
	return value.Value{}
}

// linearVersion registers a version of purchase_model with version 1's
// encoding and a linear model of the given intercept and first coefficient
// (0 for the other columns), as a notebook would; it returns its number.
func (d *predictDemo) linearVersion(t *testing.T, intercept, coef float64) int {
	t.Helper()
	v1, err := d.reg.GetModelVersion(t.Context(), "purchase_model", 1)
	if err != nil {
		t.Fatal(err)
	}
	cols := must(model.ParseEncoding(v1.Encoding)).Columns()
	coefs := make([]float64, len(cols))
	coefs[0] = coef
	lin, err := model.NewLinear(model.TaskBinaryClassification, intercept, coefs, make([]float64, len(cols)), cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d.register(t, model.FormatLinear, must(lin.MarshalJSON()), v1.Encoding)
}

func (d *predictDemo) register(t *testing.T, format string, artifact, encoding []byte) int {
	t.Helper()
	v, err := d.reg.CreateModelVersion(t.Context(), &registry.CreateModelVersionParams{Model: "purchase_model",
		Artifact: registry.Artifact{Format: format, Bytes: artifact}, Encoding: encoding,
		TrainingSet: resource.ID{Kind: resource.KindTrainingSet, Name: "purchase_propensity", Variant: resource.DefaultVariant}, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return v.Version
}

func (d *predictDemo) promote(t *testing.T, version int) {
	t.Helper()
	if _, err := d.p.PromoteModel(t.Context(), &platform.PromoteParams{Model: "purchase_model", Version: version, By: "test"}); err != nil {
		t.Fatal(err)
	}
}

// TestPredictFollowsTheAlias: an alias move is served once Refresh has
// passed, not before, with the new version's model; a rollback likewise.
func TestPredictFollowsTheAlias(t *testing.T) {
	t.Parallel()
	d := newPredictDemo(t)
	v2 := d.linearVersion(t, -1, 0.1)
	some := d.entities[:50]
	req := &serving.PredictRequest{Endpoint: "purchase", Entities: some}
	check := func(when string, version int) {
		t.Helper()
		resp := predict(t, d.endpoints, req)
		served := d.online(t, some)
		rows := make([][]value.Value, len(some))
		for i, r := range served.Rows {
			rows[i] = r.Values
		}
		want := must(d.scorer(t, version).ScoreRows(rows, nil))
		if resp.Version != version {
			t.Fatalf("%s: served version %d; want %d", when, resp.Version, version)
		}
		for i, p := range resp.Predictions {
			if p.Version != version || *p.Probability != want[i] {
				t.Fatalf("%s: %s predicted %v by version %d; version %d's scorer gives %v", when, p.Entity, *p.Probability, p.Version, version, want[i])
			}
		}
	}
	check("before the promotion", 1)
	d.promote(t, v2)
	check("just after the promotion (within the refresh)", 1)
	d.clock.Advance(refresh - time.Millisecond)
	check("a millisecond before the refresh", 1)
	d.clock.Advance(time.Millisecond)
	check("at the refresh", v2)
	if _, err := d.p.RollbackModel(t.Context(), &platform.RollbackParams{Model: "purchase_model", By: "test"}); err != nil {
		t.Fatal(err)
	}
	d.clock.Advance(refresh)
	check("after the rollback and a refresh", 1)
	if probs := d.endpoints.Ready(); len(probs) != 0 {
		t.Errorf("Ready() = %+v; want no problem", probs)
	}
}

// TestPredictKeepsServingWhenAVersionDoesNotLoad: a version whose artifact
// is corrupt is never swapped in; the previous version goes on answering,
// Ready and Describe say why, and the alias moving on clears it.
func TestPredictKeepsServingWhenAVersionDoesNotLoad(t *testing.T) {
	t.Parallel()
	d := newPredictDemo(t)
	v1 := must(d.reg.GetModelVersion(t.Context(), "purchase_model", 1))
	corrupt := d.register(t, model.FormatLinear, []byte(`{"format": "slipway-linear", "version": 1, "task": "binary_cl`), v1.Encoding)
	req := &serving.PredictRequest{Endpoint: "purchase", Entities: d.entities[:20]}
	if resp := predict(t, d.endpoints, req); resp.Version != 1 {
		t.Fatalf("served version %d; want 1", resp.Version)
	}
	d.promote(t, corrupt)
	var since time.Time
	for i := range 3 {
		d.clock.Advance(refresh)
		if resp := predict(t, d.endpoints, req); resp.Version != 1 {
			t.Fatalf("refresh %d after promoting a corrupt version: served version %d; want 1 still", i+1, resp.Version)
		}
		probs := d.endpoints.Ready()
		if len(probs) != 1 || probs[0].Model != "purchase_model" || probs[0].Alias != "production" || probs[0].Version != corrupt ||
			probs[0].Serving != 1 || !strings.Contains(probs[0].Error, "truncated") {
			t.Fatalf("Ready() = %+v; want version %d reported not loaded (truncated), 1 serving", probs, corrupt)
		} else if want := fmt.Sprintf("version %d of model purchase_model (slipway-linear): ", corrupt); !strings.HasPrefix(probs[0].Error, want) {
			t.Errorf("the problem says %q; want it to start with %q", probs[0].Error, want)
		}
		if i == 0 {
			since = probs[0].Since
		} else if !probs[0].Since.Equal(since) {
			t.Errorf("the problem's Since moved from %s to %s; it is the same problem", since, probs[0].Since)
		}
	}
	info, err := d.endpoints.Describe(t.Context(), "purchase")
	if err != nil || info.Version != 1 || info.Problem == nil || info.Problem.Version != corrupt || len(info.Features) != 8 {
		t.Errorf("Describe = %+v, %v; want version 1 served with the problem", info, err)
	}

	// A process that starts now has nothing to fall back on: it says so.
	fresh := &serving.Endpoints{Features: d.endpoints.Features, Refresh: refresh}
	_, err = fresh.Predict(t.Context(), req)
	if !errors.Is(err, serving.ErrModelUnavailable) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a new process, alias at a corrupt version: %v; want ErrModelUnavailable saying why", err)
	}
	if probs := fresh.Ready(); len(probs) != 1 || probs[0].Serving != 0 || probs[0].Version != corrupt {
		t.Errorf("new process Ready() = %+v; want the corrupt version, nothing serving", probs)
	}

	// The alias moving to a good version clears the problem.
	d.promote(t, 1)
	d.clock.Advance(refresh)
	if resp := predict(t, d.endpoints, req); resp.Version != 1 {
		t.Errorf("served version %d; want 1", resp.Version)
	}
	if probs := d.endpoints.Ready(); len(probs) != 0 {
		t.Errorf("Ready() = %+v after the alias moved back; want none", probs)
	}
}

// TestPredictBadRequests: each a sentinel the server maps to a status, and
// a message saying what is wrong and where.
func TestPredictBadRequests(t *testing.T) {
	t.Parallel()
	d := newPredictDemo(t)
	one := d.entities[:1]
	cases := []struct {
		name string
		req  serving.PredictRequest
		is   error
		want string
	}{
		{"UnknownEndpoint", serving.PredictRequest{Endpoint: "nope", Entities: one}, serving.ErrUnknownEndpoint, "nope:default is not registered"},
		{"UnknownVariant", serving.PredictRequest{Endpoint: "purchase:v9", Entities: one}, serving.ErrUnknownEndpoint, "purchase:v9 is not registered"},
		{"BadName", serving.PredictRequest{Endpoint: "Purchase", Entities: one}, serving.ErrInvalid, `invalid name "Purchase"`},
		{"NoEntities", serving.PredictRequest{Endpoint: "purchase"}, serving.ErrInvalid, "entities is empty"},
		{"EmptyEntity", serving.PredictRequest{Endpoint: "purchase", Entities: []string{one[0], ""}}, serving.ErrInvalid, "entities[1] is empty"},
		{"OverridesNotAligned", serving.PredictRequest{Endpoint: "purchase", Entities: one, Overrides: make([]map[string]value.Value, 2)}, serving.ErrInvalid, "2 overrides for 1 entities"},
		{"WrongType", serving.PredictRequest{Endpoint: "purchase", Entities: one,
			Overrides: []map[string]value.Value{{"opens_30d": value.FromString("three")}}}, serving.ErrInvalid,
			fmt.Sprintf("entity %s (number 0 in the request): features: opens_30d: the feature is int64, and three is a string", one[0])},
		{"FractionForAnInt", serving.PredictRequest{Endpoint: "purchase", Entities: one,
			Overrides: []map[string]value.Value{{"orders_count": value.FromFloat64(2.5)}}}, serving.ErrInvalid, "features: orders_count: the feature is int64, and 2.5 is a float64"},
		{"UnknownFeature", serving.PredictRequest{Endpoint: "purchase", Entities: one,
			Overrides: []map[string]value.Value{{"shop_plan": value.FromString("pro")}}}, serving.ErrInvalid,
			`"shop_plan" is not a feature of model purchase_model version 1; its features are opens_30d, clicks_30d`},
		{"GivenTwice", serving.PredictRequest{Endpoint: "purchase", Entities: one,
			Overrides: []map[string]value.Value{{"opens_30d": value.FromInt64(1), "opens_30d:v1": value.FromInt64(2)}}}, serving.ErrInvalid, "feature opens_30d is given twice"},
		{"TooMany", serving.PredictRequest{Endpoint: "purchase", Entities: slices.Repeat(one, serving.MaxBatch/8+1)}, serving.ErrInvalid,
			fmt.Sprintf("%d entities × 8 features of model purchase_model is more than %d values; split the request", serving.MaxBatch/8+1, serving.MaxBatch)},
		{"AliasPointsNowhere", serving.PredictRequest{Endpoint: "spend", Entities: one}, serving.ErrModelUnavailable,
			"alias production of model spend_model points at no version: train the model, or promote a version"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.endpoints.Predict(t.Context(), &tc.req)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant %v containing %q", err, tc.is, tc.want)
			}
		})
	}
}

// TestPredictOverrides: request-time values replace or add to the stored
// ones, by feature name or reference, with the documented conversions, and
// the prediction is the scorer's on the row so changed.
func TestPredictOverrides(t *testing.T) {
	t.Parallel()
	d := newPredictDemo(t)
	some := d.entities[:3]
	served := d.online(t, some)
	overrides := []map[string]value.Value{
		{"opens_30d": value.FromInt64(25), "avg_order_value": value.FromInt64(40)}, // an int for a float feature
		nil,
		{"orders_count:default": value.FromFloat64(7), "subscriber_region": value.NullValue(), "signup_channel": value.FromString("popup")},
	}
	resp := predict(t, d.endpoints, &serving.PredictRequest{Endpoint: "purchase", Entities: some, Overrides: overrides})
	rows := make([][]value.Value, len(some))
	for i, r := range served.Rows {
		rows[i] = append([]value.Value(nil), r.Values...)
	}
	rows[0][0], rows[0][3] = value.FromInt64(25), value.FromFloat64(40)
	rows[2][2], rows[2][5], rows[2][6] = value.FromInt64(7), value.NullValue(), value.FromString("popup")
	want := must(d.scorer(t, 1).ScoreRows(rows, nil))
	for i, p := range resp.Predictions {
		if *p.Probability != want[i] {
			t.Errorf("%s: predicted %v; the scorer on the overridden row gives %v", p.Entity, *p.Probability, want[i])
		}
	}
	if m := resp.Predictions[2].Missing; !slices.Contains(m, "subscriber_region") {
		t.Errorf("a feature overridden with null is missing: %v", m)
	}
	if slices.Contains(resp.Predictions[2].Missing, "orders_count") {
		t.Errorf("an overridden feature is reported missing: %v", resp.Predictions[2].Missing)
	}

	// Every feature overridden for every entity: no store read is needed,
	// and an entity the store never saw is predicted from the request alone.
	all := map[string]value.Value{}
	for j, f := range features {
		all[f] = served.Rows[0].Values[j]
	}
	resp = predict(t, d.endpoints, &serving.PredictRequest{Endpoint: "purchase", Entities: []string{"sub_not_in_store"}, Overrides: []map[string]value.Value{all}})
	first := must(d.scorer(t, 1).ScoreRows([][]value.Value{served.Rows[0].Values}, nil))
	if *resp.Predictions[0].Probability != first[0] {
		t.Errorf("every feature from the request: %v; want %v", *resp.Predictions[0].Probability, first[0])
	}
}

// TestPredictWhileTheAliasMoves: requests run from many goroutines while the
// alias moves back and forth and the clock passes refreshes: no request
// fails, and each answer is wholly one version's, a version the alias
// pointed at during the test.
func TestPredictWhileTheAliasMoves(t *testing.T) {
	t.Parallel()
	d := newPredictDemo(t)
	v2 := d.linearVersion(t, -1, 0.1)
	some := d.entities[:40]
	served := d.online(t, some)
	rows := make([][]value.Value, len(some))
	for i, r := range served.Rows {
		rows[i] = r.Values
	}
	want := map[int][]float64{1: must(d.scorer(t, 1).ScoreRows(rows, nil)), v2: must(d.scorer(t, v2).ScoreRows(rows, nil))}

	var stop atomic.Bool
	var wg sync.WaitGroup
	var requests, errs atomic.Int64
	answers := map[int]*atomic.Int64{1: {}, v2: {}} // by version
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				resp, err := d.endpoints.Predict(t.Context(), &serving.PredictRequest{Endpoint: "purchase", Entities: some})
				requests.Add(1)
				if err != nil {
					if errs.Add(1) <= 5 {
						t.Errorf("request failed: %v", err)
					}
					continue
				}
				w, ok := want[resp.Version]
				if !ok {
					t.Errorf("answer by version %d, which the alias never pointed at", resp.Version)
					continue
				}
				for i, p := range resp.Predictions {
					if p.Version != resp.Version || *p.Probability != w[i] {
						t.Errorf("%s: %v by version %d in an answer by version %d; want %v", p.Entity, *p.Probability, p.Version, resp.Version, w[i])
						break
					}
				}
				answers[resp.Version].Add(1)
			}
		})
	}
	// Twenty moves, and more until both versions have answered (a slow
	// machine may not have served every window).
	deadline := time.Now().Add(time.Minute)
	for i := 0; i < 20 || (answers[1].Load() == 0 || answers[v2].Load() == 0) && time.Now().Before(deadline); i++ {
		d.promote(t, []int{v2, 1}[i%2])
		d.clock.Advance(refresh)
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	total := map[int]int64{1: answers[1].Load(), v2: answers[v2].Load()}
	if errs.Load() != 0 || total[1] == 0 || total[v2] == 0 {
		t.Errorf("%d requests, %d failed, answers by version: %v; want none failed and both versions answering", requests.Load(), errs.Load(), total)
	}
	t.Logf("%d requests; answers by version: %v", requests.Load(), total)
}

// TestPredictRegression: a regression model's answer is a value.
func TestPredictRegression(t *testing.T) {
	t.Parallel()
	d := newPredictDemo(t)
	spend := resource.ID{Kind: resource.KindModel, Name: "spend_model", Variant: resource.DefaultVariant}
	wait(t, d.p, must(d.p.Train(t.Context(), &platform.TrainParams{Model: spend})))
	some := d.entities[:10]
	resp := predict(t, d.endpoints, &serving.PredictRequest{Endpoint: "spend", Entities: some})
	v := must(d.reg.GetModelVersion(t.Context(), "spend_model", resp.Version))
	s := must(model.NewScorer(must(model.ParseEncoding(v.Encoding)), must(model.Load(v.Artifact.Format, v.Artifact.Bytes))))
	served := d.online(t, some)
	rows := make([][]value.Value, len(some))
	for i, r := range served.Rows {
		rows[i] = r.Values
	}
	want := must(s.ScoreRows(rows, nil))
	if resp.Task != model.TaskRegression {
		t.Errorf("task %s", resp.Task)
	}
	for i, p := range resp.Predictions {
		if p.Value == nil || p.Probability != nil || p.Class != nil || *p.Value != want[i] {
			t.Errorf("%s: %+v; want value %v only", p.Entity, p, want[i])
		}
	}
}

// TestPredictMulticlass: a multiclass model's answer is the class
// probabilities and the class of the largest.
func TestPredictMulticlass(t *testing.T) {
	t.Parallel()
	d := newPredictDemo(t)
	v1 := must(d.reg.GetModelVersion(t.Context(), "purchase_model", 1))
	width := must(model.ParseEncoding(v1.Encoding)).Width()
	// A committed 3-class XGBoost model (splits on columns 0 to 2), read
	// as one over this encoding's columns.
	var xgb map[string]any
	if err := json.Unmarshal(must(os.ReadFile("../model/testdata/small_multiclass.json")), &xgb); err != nil {
		t.Fatal(err)
	}
	xgb["learner"].(map[string]any)["learner_model_param"].(map[string]any)["num_feature"] = strconv.Itoa(width)
	v := d.register(t, model.FormatXGBoostJSON, must(json.Marshal(xgb)), v1.Encoding)
	d.promote(t, v)
	some := d.entities[:30]
	resp := predict(t, d.endpoints, &serving.PredictRequest{Endpoint: "purchase", Entities: some})
	served := d.online(t, some)
	rows := make([][]value.Value, len(some))
	for i, r := range served.Rows {
		rows[i] = r.Values
	}
	want := must(d.scorer(t, v).ScoreRows(rows, nil))
	if resp.Version != v || resp.Task != model.TaskMulticlass {
		t.Fatalf("version %d, task %s; want %d, multiclass", resp.Version, resp.Task, v)
	}
	for i, p := range resp.Predictions {
		w := want[i*3 : i*3+3]
		if p.Probability != nil || p.Value != nil || p.Class == nil || !slices.Equal(p.Probabilities, w) {
			t.Fatalf("%s: %+v; want probabilities %v and a class only", p.Entity, p, w)
		}
		best := 0
		for c := range w {
			if w[c] > w[best] {
				best = c
			}
		}
		if *p.Class != best {
			t.Errorf("%s: class %d for probabilities %v", p.Entity, *p.Class, w)
		}
	}
}

// TestEndpointsWarmReadyAndLog: Warm loads every endpoint's version, Ready
// names the ones that cannot be served, a version not swapped in is logged
// once, and a deleted endpoint is unknown once Refresh has passed.
func TestEndpointsWarmReadyAndLog(t *testing.T) {
	t.Parallel()
	d := newPredictDemo(t)
	var log strings.Builder
	e := &serving.Endpoints{Features: d.endpoints.Features, Refresh: refresh,
		Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{ReplaceAttr: dropTime}))}
	if err := e.Warm(t.Context()); err != nil {
		t.Fatal(err)
	}
	probs := e.Ready()
	if len(probs) != 1 || probs[0].Model != "spend_model" || probs[0].Serving != 0 || !strings.Contains(probs[0].Error, "points at no version") {
		t.Fatalf("Ready() after Warm = %+v; want spend_model's alias pointing nowhere, only", probs)
	}
	info, err := e.Describe(t.Context(), "purchase")
	if err != nil || info.Version != 1 || info.Problem != nil || info.Task != model.TaskBinaryClassification ||
		!slices.Equal(info.Outputs, []string{"prediction"}) || info.Features[0] != (model.Feature{Name: "opens_30d", Type: value.Int64}) {
		t.Errorf("Describe(purchase) = %+v, %v", info, err)
	}
	if !strings.Contains(log.String(), `level=INFO msg="endpoint model swapped in" model=purchase_model alias=production version=1 previous=0`) {
		t.Errorf("log:\n%s\nwant the first version's load", log.String())
	}

	corrupt := d.register(t, model.FormatXGBoostJSON, []byte(`{"learner": {`), must(d.reg.GetModelVersion(t.Context(), "purchase_model", 1)).Encoding)
	d.promote(t, corrupt)
	for range 3 {
		d.clock.Advance(refresh)
		predict(t, e, &serving.PredictRequest{Endpoint: "purchase", Entities: d.entities[:1]})
	}
	if n := strings.Count(log.String(), `msg="endpoint model not swapped in" model=purchase_model alias=production version=`+strconv.Itoa(corrupt)+" serving=1"); n != 1 {
		t.Errorf("the corrupt version is logged %d times; want once:\n%s", n, log.String())
	}

	if _, err := d.p.Delete(t.Context(), &registry.DeleteParams{ID: resource.ID{Kind: resource.KindEndpoint, Name: "purchase", Variant: resource.DefaultVariant}, By: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Predict(t.Context(), &serving.PredictRequest{Endpoint: "purchase", Entities: d.entities[:1]}); err != nil {
		t.Errorf("within Refresh of the deletion: %v; the cached definition still answers", err)
	}
	d.clock.Advance(refresh)
	_, err = e.Predict(t.Context(), &serving.PredictRequest{Endpoint: "purchase", Entities: d.entities[:1]})
	if !errors.Is(err, serving.ErrUnknownEndpoint) || !strings.Contains(err.Error(), "endpoint purchase:default was deleted") {
		t.Errorf("after the deletion and a refresh: %v; want an unknown endpoint that says it was deleted", err)
	}
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// BenchmarkPredict: one entity, the demo's 8 features (one-hot logistic
// regression), the embedded online store; the same through the online
// features alone, for the ratio.
func BenchmarkPredict(b *testing.B) {
	d := newPredictDemo(b)
	req := &serving.PredictRequest{Endpoint: "purchase", Entities: d.entities[:1]}
	predict(b, d.endpoints, req)
	b.Run("Predict", func(b *testing.B) {
		for b.Loop() {
			if _, err := d.endpoints.Predict(b.Context(), req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("OnlineFeatures", func(b *testing.B) {
		for b.Loop() {
			if _, err := d.endpoints.Features.OnlineFeatures(b.Context(), &serving.Request{Features: features, Entities: req.Entities}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestPredictRefusesVersionsItCannotServe: versions whose input cannot be
// built from the online store are not served, each with the reason.
func TestPredictRefusesVersionsItCannotServe(t *testing.T) {
	t.Parallel()
	d := newPredictDemo(t)
	v1 := must(d.reg.GetModelVersion(t.Context(), "purchase_model", 1))
	// An encoding whose first feature the training set does not have.
	var enc map[string]any
	if err := json.Unmarshal(v1.Encoding, &enc); err != nil {
		t.Fatal(err)
	}
	enc["features"].([]any)[0].(map[string]any)["name"] = "opens_7d"
	renamed := must(json.Marshal(enc))
	cols := must(model.ParseEncoding(renamed)).Columns()
	lin := must(model.NewLinear(model.TaskBinaryClassification, 0, make([]float64, len(cols)), make([]float64, len(cols)), cols, nil))
	cases := []struct {
		name    string
		version func() int
		want    string
	}{
		{"AFeatureTheTrainingSetLacks", func() int { return d.register(t, model.FormatLinear, must(lin.MarshalJSON()), renamed) },
			"reads feature opens_7d, which its training set purchase_propensity:default does not have (its features: opens_30d, clicks_30d"},
		{"NoTrainingSet", func() int {
			v, err := d.reg.CreateModelVersion(t.Context(), &registry.CreateModelVersionParams{Model: "purchase_model",
				Artifact: v1.Artifact, Encoding: v1.Encoding})
			if err != nil {
				t.Fatal(err)
			}
			return v.Version
		}, "records no training set, so which online features it reads is unknown"},
		{"NoEncoding", func() int { return d.register(t, v1.Artifact.Format, v1.Artifact.Bytes, nil) }, "records no feature encoding"},
		{"AModelOfAnotherWidth", func() int {
			return d.register(t, model.FormatXGBoostJSON, must(os.ReadFile("../model/testdata/small_binary.json")), v1.Encoding)
		}, "the model reads 3 features but the training set's encoding gives"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.version()
			d.promote(t, v)
			e := &serving.Endpoints{Features: d.endpoints.Features, Refresh: refresh}
			_, err := e.Predict(t.Context(), &serving.PredictRequest{Endpoint: "purchase", Entities: d.entities[:1]})
			if !errors.Is(err, serving.ErrModelUnavailable) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("version %d: %v\nwant ErrModelUnavailable saying %q", v, err, tc.want)
			}
		})
	}
}
