package server_test

// POST /v1/endpoints/{name}/predict and the models in GET /readyz, on the
// demo with the embedded stores: purchase_model trained through the
// platform, its features materialized, and the demo's endpoint purchase.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
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
	"github.com/slipway-ml/slipway/server"
	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// settable is a clock tests move, safe for concurrent use.
type settable struct{ ns atomic.Int64 }

func (c *settable) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *settable) Advance(d time.Duration) { c.ns.Add(int64(d)) }

const predictRefresh = 5 * time.Second

// predictFixture is the demo trained and materialized, and a server whose
// endpoints read its stores with a clock the test moves.
type predictFixture struct {
	p         *platform.Platform
	reg       registry.Store
	svc       *serving.Service
	clock     *settable
	endpoints *serving.Endpoints
	handler   http.Handler
	entities  []string
}

// trainedDemo opens a platform on the demo (scale 0.05, seed 3) with files
// added to its definitions (path under definitions/ → content), applies
// them, trains the models named and materializes every feature. It returns
// the platform and the project directory.
func trainedDemo(t testing.TB, files map[string]string, models ...string) (*platform.Platform, string) {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	if _, err := demo.Generate(ctx, filepath.Join(dir, "data"), demo.Options{Scale: 0.05, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.WriteProject(dir); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, "definitions", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := platform.Open(ctx, platform.Options{DataDir: filepath.Join(dir, ".slipway"), Config: config.Default(), Backends: backends.All(), Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	defs, err := definition.ReadFiles(filepath.Join(dir, "definitions"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(ctx, defs); err != nil {
		t.Fatal(err)
	}
	for _, m := range models {
		jobs, err := p.Train(ctx, &platform.TrainParams{Model: resource.ID{Kind: resource.KindModel, Name: m, Variant: resource.DefaultVariant}, By: "ana"})
		if err != nil {
			t.Fatal(err)
		}
		waitPlatform(t, p, jobs)
	}
	jobs, err := p.Materialize(ctx, &platform.MaterializeParams{})
	if err != nil {
		t.Fatal(err)
	}
	waitPlatform(t, p, jobs)
	return p, dir
}

func newPredictFixture(t testing.TB) *predictFixture {
	t.Helper()
	ctx := t.Context()
	p, dir := trainedDemo(t, nil, "purchase_model")
	var err error
	f := &predictFixture{p: p, clock: &settable{}}
	f.clock.ns.Store(time.Now().UnixNano())
	if f.reg, err = p.Registry(ctx); err != nil {
		t.Fatal(err)
	}
	on, err := p.Online(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = &serving.Service{Registry: f.reg, Online: on, Now: f.clock.Now}
	f.endpoints = &serving.Endpoints{Features: f.svc, Refresh: predictRefresh}
	f.handler = server.New(server.Config{Platform: p, Serving: f.svc, Endpoints: f.endpoints})
	subs, err := os.ReadFile(filepath.Join(dir, "data", "subscribers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(subs)), "\n")[1:] {
		f.entities = append(f.entities, strings.SplitN(line, ",", 2)[0])
	}
	return f
}

// waitPlatform follows jobs until they end and fails unless the last succeeded.
func waitPlatform(t testing.TB, p *platform.Platform, jobs []*registry.Job) {
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

// predictBody builds a request body for entities, with per-entity features.
func predictBody(t *testing.T, entities []string, features []map[string]any) string {
	t.Helper()
	m := map[string]any{"entities": entities}
	if features != nil {
		m["features"] = features
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (f *predictFixture) predict(t *testing.T, endpoint, body string) *serving.PredictResponse {
	t.Helper()
	status, b := do(t, f.handler, "POST", "/v1/endpoints/"+endpoint+"/predict", body)
	if status != http.StatusOK {
		t.Fatalf("predict: %d %s", status, b)
	}
	var resp serving.PredictResponse
	decodeStrict(t, b, &resp)
	return &resp
}

// samePredictions says how two answers differ, apart from prediction ids
// (new for every prediction); "" when they do not.
func samePredictions(got, want *serving.PredictResponse) string {
	strip := func(r *serving.PredictResponse) string {
		c := *r
		c.Predictions = make([]serving.Prediction, len(r.Predictions))
		for i, p := range r.Predictions {
			p.ID = ""
			c.Predictions[i] = p
		}
		b, _ := json.Marshal(c)
		return string(b)
	}
	if g, w := strip(got), strip(want); g != w {
		return fmt.Sprintf("answer\n%.2000s\nwant\n%.2000s", g, w)
	}
	return ""
}

var demoFeatures = []string{"opens_30d:v1", "clicks_30d:default", "orders_count:default", "avg_order_value:default",
	"is_unsubscribed:default", "subscriber_region:default", "signup_channel:default", "shop_category:default"}

// TestPredictOverHTTP is the promise over HTTP: the route answers what
// serving.Endpoints.Predict answers, which is model.Scorer, with the
// version's stored encoding, on the features the online-features API serves.
func TestPredictOverHTTP(t *testing.T) {
	t.Parallel()
	f := newPredictFixture(t)
	got := f.predict(t, "purchase", predictBody(t, f.entities, nil))
	if got.Endpoint != "purchase:default" || got.Model != "purchase_model" || got.Alias != "production" || got.Version != 1 ||
		got.Task != model.TaskBinaryClassification || len(got.Predictions) != len(f.entities) {
		t.Fatalf("answer %s %s@%s version %d %s with %d predictions; want purchase:default, purchase_model@production version 1, %d predictions",
			got.Endpoint, got.Model, got.Alias, got.Version, got.Task, len(got.Predictions), len(f.entities))
	}
	lib := &serving.Endpoints{Features: f.svc}
	want, err := lib.Predict(t.Context(), &serving.PredictRequest{Endpoint: "purchase", Entities: f.entities})
	if err != nil {
		t.Fatal(err)
	}
	if diff := samePredictions(got, want); diff != "" {
		t.Errorf("the route and serving.Endpoints.Predict differ: %s", diff)
	}

	// The scorer of version 1 on the online features.
	v, err := f.reg.GetModelVersion(t.Context(), "purchase_model", 1)
	if err != nil {
		t.Fatal(err)
	}
	scorer, err := model.OpenScorer(v.Artifact.Format, v.Artifact.Bytes, v.Encoding)
	if err != nil {
		t.Fatal(err)
	}
	served, err := f.svc.OnlineFeatures(t.Context(), &serving.Request{Features: demoFeatures, Entities: f.entities})
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]value.Value, len(served.Rows))
	for i, r := range served.Rows {
		rows[i] = r.Values
	}
	scores, err := scorer.ScoreRows(rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	var missing int
	for i, p := range got.Predictions {
		if p.Entity != f.entities[i] || p.Probability == nil || *p.Probability != scores[i] || p.Class == nil {
			t.Fatalf("predictions[%d] %+v; want %s with probability %v", i, p, f.entities[i], scores[i])
		}
		if p.ID == "" || ids[p.ID] {
			t.Errorf("predictions[%d]: id %q is empty or repeated", i, p.ID)
		}
		ids[p.ID] = true
		missing += len(p.Missing) + len(p.OutsideMaxAge)
	}
	if missing == 0 {
		t.Error("no prediction read a missing feature: the data do not exercise missing values")
	}

	// Request-time values, as JSON numbers, strings and booleans, and
	// integer entity keys: the library's answer with the same values.
	one := f.entities[:2]
	body := `{"entities": [` + fmt.Sprintf("%q, %q", one[0], one[1]) + `], "features": [
	  {"opens_30d": 40, "avg_order_value": 12, "is_unsubscribed": false, "signup_channel": "referral"},
	  {"orders_count:default": 3.0, "clicks_30d": null}]}`
	got = f.predict(t, "purchase", body)
	want, err = lib.Predict(t.Context(), &serving.PredictRequest{Endpoint: "purchase", Entities: one, Overrides: []map[string]value.Value{
		{"opens_30d": value.FromInt64(40), "avg_order_value": value.FromFloat64(12), "is_unsubscribed": value.FromBool(false), "signup_channel": value.FromString("referral")},
		{"orders_count:default": value.FromInt64(3), "clicks_30d": value.NullValue()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := samePredictions(got, want); diff != "" {
		t.Errorf("with request-time values: %s", diff)
	}
	plain := f.predict(t, "purchase", predictBody(t, one, nil))
	if *plain.Predictions[0].Probability == *got.Predictions[0].Probability {
		t.Errorf("the request-time values changed nothing: %v", *got.Predictions[0].Probability)
	}
	if !strings.Contains(strings.Join(got.Predictions[1].Missing, ","), "clicks_30d") {
		t.Errorf("clicks_30d given as null is not missing: %v", got.Predictions[1].Missing)
	}
}

func TestPredictErrorsOverHTTP(t *testing.T) {
	t.Parallel()
	f := newPredictFixture(t)
	key := f.entities[0]
	many := make([]string, serving.MaxBatch/len(demoFeatures)+1)
	for i := range many {
		many[i] = fmt.Sprintf("sub_%d", i)
	}
	for _, tc := range []struct {
		name, path, body string
		status           int
		code             string
		fragments        []string
	}{
		{"UnknownEndpoint", "/v1/endpoints/nope/predict", predictBody(t, []string{key}, nil), 404, "unknown_endpoint", []string{"nope:default is not registered", "slipway list endpoints"}},
		{"UnknownVariant", "/v1/endpoints/purchase:v9/predict", predictBody(t, []string{key}, nil), 404, "unknown_endpoint", []string{"purchase:v9"}},
		{"BadName", "/v1/endpoints/Purchase/predict", predictBody(t, []string{key}, nil), 400, "invalid_request", []string{"Purchase"}},
		{"WrongType", "/v1/endpoints/purchase/predict", predictBody(t, []string{key}, []map[string]any{{"opens_30d": "three"}}), 400, "invalid_request",
			[]string{"entity " + key, "features: opens_30d: the feature is int64, and three is a string"}},
		{"Fraction", "/v1/endpoints/purchase/predict", predictBody(t, []string{key}, []map[string]any{{"orders_count": 2.5}}), 400, "invalid_request", []string{"orders_count", "2.5"}},
		{"NotAValue", "/v1/endpoints/purchase/predict", `{"entities": ["` + key + `"], "features": [{"opens_30d": [1, 2]}]}`, 400, "invalid_request",
			[]string{"features[0]", "opens_30d", "not a feature value"}},
		{"TooBigAnInteger", "/v1/endpoints/purchase/predict", `{"entities": ["` + key + `"], "features": [{"opens_30d": 99999999999999999999}]}`, 400, "invalid_request",
			[]string{"opens_30d", "64-bit integer"}},
		{"UnknownFeature", "/v1/endpoints/purchase/predict", predictBody(t, []string{key}, []map[string]any{{"shop_plan": "pro"}}), 400, "invalid_request", []string{`"shop_plan" is not a feature of model purchase_model`}},
		{"FeaturesNotAligned", "/v1/endpoints/purchase/predict", predictBody(t, []string{key}, []map[string]any{{}, {}}), 400, "invalid_request", []string{"2 objects in features for 1 entities"}},
		{"TooManyEntities", "/v1/endpoints/purchase/predict", predictBody(t, many, nil), 400, "invalid_request", []string{"more than 100000 values", "split the request"}},
		{"NoEntities", "/v1/endpoints/purchase/predict", `{"entities": []}`, 400, "invalid_request", []string{"entities is empty"}},
		{"BadEntityKey", "/v1/endpoints/purchase/predict", `{"entities": [1.5]}`, 400, "invalid_request", []string{"entities[0]"}},
		{"MalformedJSON", "/v1/endpoints/purchase/predict", `{"entities": [`, 400, "invalid_request", []string{"malformed JSON"}},
		{"EntitiesAsObject", "/v1/endpoints/purchase/predict", `{"entities": {"subscriber_id": ["` + key + `"]}}`, 400, "invalid_request",
			[]string{`field "entities" is a JSON object; it must be an array`}},
		{"FeaturesAsObject", "/v1/endpoints/purchase/predict", `{"entities": ["` + key + `"], "features": {"opens_30d": 3}}`, 400, "invalid_request",
			[]string{`field "features" is a JSON object; it must be an array`}},
		{"UnknownField", "/v1/endpoints/purchase/predict", `{"entities": ["` + key + `"], "overrides": []}`, 400, "invalid_request", []string{`"overrides"`}},
		{"EmptyBody", "/v1/endpoints/purchase/predict", ``, 400, "invalid_request", []string{"empty body"}},
		{"Query", "/v1/endpoints/purchase/predict?x=1", predictBody(t, []string{key}, nil), 400, "invalid_request", []string{`"x"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, b := do(t, f.handler, "POST", tc.path, tc.body)
			wantError(t, status, b, tc.status, tc.code, tc.fragments...)
		})
	}
	status, b := do(t, f.handler, "GET", "/v1/endpoints/purchase/predict", "")
	wantError(t, status, b, http.StatusMethodNotAllowed, "method_not_allowed", "POST")
}

// TestReadyzReportsTheModelKept: a version promoted that does not load is
// not swapped in; /readyz stays ready and says which version is kept. A
// server that has nothing to fall back on is not ready, and its requests
// are 503 model_unavailable saying why.
func TestReadyzReportsTheModelKept(t *testing.T) {
	t.Parallel()
	f := newPredictFixture(t)
	body := predictBody(t, f.entities[:3], nil)
	if got := f.predict(t, "purchase", body); got.Version != 1 {
		t.Fatalf("served version %d; want 1", got.Version)
	}
	ready := func(t *testing.T, h http.Handler) (int, struct {
		Status    string                 `json:"status"`
		Stores    map[string]string      `json:"stores"`
		Models    []serving.ModelProblem `json:"models"`
		RequestID string                 `json:"request_id"`
	}) {
		t.Helper()
		status, b := do(t, h, "GET", "/readyz", "")
		var r struct {
			Status    string                 `json:"status"`
			Stores    map[string]string      `json:"stores"`
			Models    []serving.ModelProblem `json:"models"`
			RequestID string                 `json:"request_id"`
		}
		decodeStrict(t, b, &r)
		return status, r
	}
	if status, r := ready(t, f.handler); status != http.StatusOK || r.Status != "ready" || len(r.Models) != 0 {
		t.Fatalf("GET /readyz before: %d %+v; want ready with no models listed", status, r)
	}

	v1, err := f.reg.GetModelVersion(t.Context(), "purchase_model", 1)
	if err != nil {
		t.Fatal(err)
	}
	corrupt, err := f.reg.CreateModelVersion(t.Context(), &registry.CreateModelVersionParams{Model: "purchase_model",
		Artifact: registry.Artifact{Format: model.FormatLinear, Bytes: []byte(`{"format": "slipway-linear", "version": 1, "task": "binary_cl`)},
		Encoding: v1.Encoding, TrainingSet: resource.ID{Kind: resource.KindTrainingSet, Name: "purchase_propensity", Variant: resource.DefaultVariant}, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.PromoteModel(t.Context(), &platform.PromoteParams{Model: "purchase_model", Version: corrupt.Version, By: "test"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(predictRefresh)
	if got := f.predict(t, "purchase", body); got.Version != 1 {
		t.Fatalf("after promoting a corrupt version: served version %d; want 1 kept", got.Version)
	}
	status, r := ready(t, f.handler)
	if status != http.StatusOK || r.Status != "ready" || len(r.Models) != 1 {
		t.Fatalf("GET /readyz: %d %+v; want 200 ready listing the model", status, r)
	}
	if m := r.Models[0]; m.Model != "purchase_model" || m.Alias != "production" || m.Version != corrupt.Version || m.Serving != 1 ||
		!strings.Contains(m.Error, "truncated") || m.Since.IsZero() {
		t.Errorf("GET /readyz models[0] = %+v; want version %d not loaded (truncated), version 1 serving", m, corrupt.Version)
	}

	// A new server (its endpoints warmed at start) has no version to fall
	// back on: not ready, and predictions are 503 saying why.
	fresh := &serving.Endpoints{Features: f.svc, Refresh: predictRefresh}
	if err := fresh.Warm(t.Context()); err != nil {
		t.Fatal(err)
	}
	h := server.New(server.Config{Platform: f.p, Serving: f.svc, Endpoints: fresh})
	status, r = ready(t, h)
	if status != http.StatusServiceUnavailable || r.Status != "not_ready" || len(r.Models) != 1 || r.Models[0].Serving != 0 ||
		r.Models[0].Version != corrupt.Version || r.Stores["registry"] != "ok" || r.RequestID != testRequestID {
		t.Errorf("GET /readyz of a new server: %d %+v; want 503 not_ready, the corrupt version and nothing serving", status, r)
	}
	st, b := do(t, h, "POST", "/v1/endpoints/purchase/predict", body)
	wantError(t, st, b, http.StatusServiceUnavailable, "model_unavailable", "purchase_model@production", "truncated")

	// The alias moving back to a version that loads clears both.
	if _, err := f.p.PromoteModel(t.Context(), &platform.PromoteParams{Model: "purchase_model", Version: 1, By: "test"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(predictRefresh)
	for _, h := range []http.Handler{f.handler, h} {
		if got := f.predict(t, "purchase", body); got.Version != 1 {
			t.Errorf("served version %d; want 1", got.Version)
		}
		if st, b := do(t, h, "POST", "/v1/endpoints/purchase/predict", body); st != http.StatusOK {
			t.Errorf("predict: %d %s", st, b)
		}
		if status, r := ready(t, h); status != http.StatusOK || r.Status != "ready" || len(r.Models) != 0 {
			t.Errorf("GET /readyz after the alias moved back: %d %+v; want ready, no models", status, r)
		}
	}
}

// FuzzPredictBody: any endpoint name and body is answered with a JSON
// body, and an error that is not a 500, naming what was wrong.
func FuzzPredictBody(f *testing.F) {
	for _, s := range [][2]string{
		{"purchase", `{"entities": ["sub_1", 42]}`},
		{"purchase", `{"entities": ["sub_1"], "features": [{"opens_30d": 3, "avg_order_value": 2.5e1, "last": null}]}`},
		{"purchase", `{"entities": ["sub_1"], "features": [{"opens_30d": 1e400, "signup_channel": true, "is_unsubscribed": "yes"}]}`},
		{"purchase", `{"entities": ["sub_1"], "features": [{"opens_30d": -0, "orders_count": 3.0000000001, "x": {"y": 1}}]}`},
		{"purchase:default", `{"entities": ["sub_1", "sub_2"], "features": [null, {}]}`},
		{"nope", `{"entities": []}`},
		{"Bad-Name", `{"entities": [1.5]}`},
		{"purchase", `{"entities": ["sub_1"]} {}`},
		{"purchase", ``},
	} {
		f.Add(s[0], s[1])
	}
	h := newPredictFixture(f).handler
	f.Fuzz(func(t *testing.T, name, body string) {
		fuzzRequest(t, h, "POST", "/v1/endpoints/"+url.PathEscape(name)+"/predict", "", body,
			"body", "JSON", "entities", "features", "overrides", "endpoint", "name")
	})
}
