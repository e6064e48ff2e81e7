package server_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current responses")

// testRequestID is the X-Request-Id every request of do carries, so that
// error bodies (and golden files) hold a known id.
const testRequestID = "test-request-1"

// do sends one request to h and returns the status and body. Every response,
// success or error, must be JSON and echo the request id.
func do(t *testing.T, h http.Handler, method, path, body string) (int, []byte) {
	t.Helper()
	rec := doRecord(t, h, method, path, body)
	return rec.Code, rec.Body.Bytes()
}

// doRecord is do returning the whole response, headers included.
func doRecord(t *testing.T, h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Request-Id", testRequestID)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if id := rec.Header().Get("X-Request-Id"); id != testRequestID {
		t.Errorf("%s %s: X-Request-Id %q, want the request's %q", method, path, id, testRequestID)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if !json.Valid(rec.Body.Bytes()) {
		t.Errorf("%s %s: body is not JSON: %q", method, path, rec.Body.String())
	}
	return rec
}

// wantError checks an error response: status,
// {"error":{"code","message","request_id"}} with the request's id, and that
// the message names the problem (every fragment in it).
func wantError(t *testing.T, status int, body []byte, wantStatus int, wantCode string, fragments ...string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("status %d, want %d; body %s", status, wantStatus, body)
	}
	var e struct {
		Error *struct {
			Code      *string `json:"code"`
			Message   *string `json:"message"`
			RequestID *string `json:"request_id"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %s does not have the shape {\"error\":{\"code\",\"message\",\"request_id\"}}: %v", body, err)
	}
	if e.Error == nil || e.Error.Code == nil || e.Error.Message == nil || e.Error.RequestID == nil {
		t.Fatalf("error body %s lacks error.code, error.message or error.request_id", body)
	}
	if *e.Error.RequestID != testRequestID {
		t.Errorf("error.request_id %q, want the request's X-Request-Id %q", *e.Error.RequestID, testRequestID)
	}
	if *e.Error.Code != wantCode {
		t.Errorf("error.code %q, want %q", *e.Error.Code, wantCode)
	}
	for _, f := range fragments {
		if !strings.Contains(*e.Error.Message, f) {
			t.Errorf("error.message %q does not mention %q", *e.Error.Message, f)
		}
	}
	// Users of the API write JSON, not Go: no error speaks of Go's types.
	for _, goWords := range []string{"Go struct", "Go value", "json: ", "RawMessage", "map[string]"} {
		if strings.Contains(*e.Error.Message, goWords) {
			t.Errorf("error.message %q speaks of Go (%q), not of the API", *e.Error.Message, goWords)
		}
	}
}

// onlineResponse mirrors the documented response, keeping values raw so the
// JSON type of each value is checked, not just its Go conversion.
type onlineResponse struct {
	Entity   string   `json:"entity"`
	Features []string `json:"features"`
	Results  []struct {
		Entity     string            `json:"entity"`
		Values     []json.RawMessage `json:"values"`
		Statuses   []string          `json:"statuses"`
		Timestamps []*string         `json:"timestamps"`
	} `json:"results"`
}

func decodeStrict(t *testing.T, body []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
}

const representativeRequest = `{
  "features": ["opens_30d:v1", "avg_order_value", "subscriber_region", "is_unsubscribed", "last_open_at", "signup_channel"],
  "entities": ["sub_1036", "sub_2", 42, "sub_404"]
}`

func TestOnlineFeatures(t *testing.T) {
	f := newFixture(t)
	status, body := do(t, f.handler, "POST", "/v1/online-features", representativeRequest)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var got onlineResponse
	decodeStrict(t, body, &got)

	if got.Entity != "subscriber" {
		t.Errorf("entity %q, want subscriber", got.Entity)
	}
	// Omitted variants resolve to default; explicit ones are kept.
	wantFeatures := []string{"opens_30d:v1", "avg_order_value:default", "subscriber_region:default", "is_unsubscribed:default", "last_open_at:default", "signup_channel:default"}
	if strings.Join(got.Features, ",") != strings.Join(wantFeatures, ",") {
		t.Errorf("features %q, want %q", got.Features, wantFeatures)
	}

	null := "null"
	ts := func(s string) *string { return &s }
	type want struct {
		entity     string
		values     []string // raw JSON
		statuses   []string
		timestamps []*string
	}
	wants := []want{{
		// Every value type, found; a static value has no timestamp.
		entity:     "sub_1036",
		values:     []string{`12`, `42.5`, `"uk"`, `false`, `"2025-05-30T08:15:00.123456Z"`, null},
		statuses:   []string{"found", "found", "found", "found", "found", "not_found"},
		timestamps: []*string{ts("2025-05-30T12:00:00.000000Z"), ts("2025-05-29T12:00:00.000000Z"), nil, ts("2025-05-27T12:00:00.000000Z"), ts("2025-05-30T12:00:00.000000Z"), nil},
	}, {
		// opens_30d:v1 is 40 days old with a 30-day max age: no value, but its timestamp says why.
		// avg_order_value is a stored null: found, value null.
		entity:     "sub_2",
		values:     []string{null, null, null, `true`, null, null},
		statuses:   []string{"outside_max_age", "found", "not_found", "found", "not_found", "not_found"},
		timestamps: []*string{ts("2025-04-22T12:00:00.000000Z"), ts("2025-05-31T12:00:00.000000Z"), nil, ts("2025-05-27T12:00:00.000000Z"), nil, nil},
	}, {
		// An integer key is the same entity as its decimal string.
		entity:     "42",
		values:     []string{`7`, null, null, null, null, null},
		statuses:   []string{"found", "not_found", "not_found", "not_found", "not_found", "not_found"},
		timestamps: []*string{ts("2025-06-01T11:00:00.000000Z"), nil, nil, nil, nil, nil},
	}, {
		// An unknown entity is not an error: every feature is not_found.
		entity:     "sub_404",
		values:     []string{null, null, null, null, null, null},
		statuses:   []string{"not_found", "not_found", "not_found", "not_found", "not_found", "not_found"},
		timestamps: []*string{nil, nil, nil, nil, nil, nil},
	}}
	if len(got.Results) != len(wants) {
		t.Fatalf("%d results, want %d (one per entity, in request order)", len(got.Results), len(wants))
	}
	for i, w := range wants {
		r := got.Results[i]
		if r.Entity != w.entity {
			t.Errorf("results[%d].entity %q, want %q", i, r.Entity, w.entity)
		}
		if len(r.Values) != len(w.values) || len(r.Statuses) != len(w.statuses) || len(r.Timestamps) != len(w.timestamps) {
			t.Fatalf("results[%d] has %d values, %d statuses, %d timestamps; want %d each", i, len(r.Values), len(r.Statuses), len(r.Timestamps), len(wantFeatures))
		}
		for j := range w.values {
			if string(r.Values[j]) != w.values[j] {
				t.Errorf("results[%d] (%s) %s value %s, want %s", i, w.entity, wantFeatures[j], r.Values[j], w.values[j])
			}
			if r.Statuses[j] != w.statuses[j] {
				t.Errorf("results[%d] (%s) %s status %q, want %q", i, w.entity, wantFeatures[j], r.Statuses[j], w.statuses[j])
			}
			if g, w := r.Timestamps[j], w.timestamps[j]; (g == nil) != (w == nil) || (g != nil && *g != *w) {
				t.Errorf("results[%d] (%s) %s timestamp %v, want %v", i, wants[i].entity, wantFeatures[j], deref(g), deref(w))
			}
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

func TestOnlineFeaturesMaxAgeBoundary(t *testing.T) {
	// A value exactly max_age old is still served; a microsecond older is not.
	f := newFixture(t)
	write(t, f.online, "opens_30d:v1",
		rec{Entity: "sub_edge", Value: value.FromInt64(5), Timestamp: now.Add(-30 * 24 * time.Hour)},
		rec{Entity: "sub_old", Value: value.FromInt64(6), Timestamp: now.Add(-30*24*time.Hour - time.Microsecond)},
	)
	status, body := do(t, f.handler, "POST", "/v1/online-features", `{"features":["opens_30d:v1"],"entities":["sub_edge","sub_old"]}`)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var got onlineResponse
	decodeStrict(t, body, &got)
	if s := got.Results[0].Statuses[0]; s != "found" {
		t.Errorf("value exactly 30d old: status %q, want found", s)
	}
	if s := got.Results[1].Statuses[0]; s != "outside_max_age" {
		t.Errorf("value 30d+1µs old: status %q, want outside_max_age", s)
	}
}

func TestOnlineFeaturesFutureValueNotServed(t *testing.T) {
	// A value dated after now (written by a version that materialized rows
	// before their time) is not served before its time: a training set at
	// now would not see it. A value dated exactly now is.
	f := newFixture(t)
	write(t, f.online, "opens_30d:v1",
		rec{Entity: "sub_now", Value: value.FromInt64(5), Timestamp: now},
		rec{Entity: "sub_future", Value: value.FromInt64(100), Timestamp: now.Add(time.Microsecond)},
	)
	status, body := do(t, f.handler, "POST", "/v1/online-features", `{"features":["opens_30d:v1"],"entities":["sub_now","sub_future"]}`)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var got onlineResponse
	decodeStrict(t, body, &got)
	if s := got.Results[0].Statuses[0]; s != "found" {
		t.Errorf("value dated now: status %q, want found", s)
	}
	if s, v := got.Results[1].Statuses[0], string(got.Results[1].Values[0]); s != "not_found" || v != "null" {
		t.Errorf("value dated after now: status %q value %s, want not_found and null", s, v)
	}
}

func TestOnlineFeaturesBadRequests(t *testing.T) {
	f := newFixture(t)
	manyEntities := `{"features":["opens_30d:v1","avg_order_value"],"entities":[` + strings.Repeat(`"sub_1",`, serving.MaxBatch/2) + `"sub_1"]}`
	for _, tc := range []struct {
		name, body string
		fragments  []string
	}{
		{"EmptyBody", ``, []string{"empty body"}},
		{"MalformedJSON", `{"features": ["opens_30d:v1"`, []string{"malformed JSON", "ends too early"}},
		{"SyntaxError", `{"features": ["opens_30d:v1" "x"]}`, []string{"malformed JSON", "not valid JSON at byte 30"}},
		{"NotAnObject", `["opens_30d:v1"]`, []string{"malformed JSON", "the body is a JSON array; it must be an object"}},
		{"UnknownField", `{"features":["opens_30d:v1"],"entities":["sub_1"],"entity":"subscriber"}`, []string{`unknown field "entity"`}},
		{"WrongFieldType", `{"features":"opens_30d:v1","entities":["sub_1"]}`, []string{"malformed JSON", `field "features" is a JSON string; it must be an array`}},
		{"EntitiesAsObject", `{"features":["opens_30d:v1"],"entities":{"subscriber_id":["sub_1"]}}`, []string{`field "entities" is a JSON object; it must be an array`}},
		{"NoFeatures", `{"entities":["sub_1"]}`, []string{"features is empty"}},
		{"EmptyFeatures", `{"features":[],"entities":["sub_1"]}`, []string{"features is empty"}},
		{"NoEntities", `{"features":["opens_30d:v1"]}`, []string{"entities is empty"}},
		{"EmptyEntities", `{"features":["opens_30d:v1"],"entities":[]}`, []string{"entities is empty"}},
		{"EntityKeyObject", `{"features":["opens_30d:v1"],"entities":["sub_1",{"id":"sub_2"}]}`, []string{"entities[1]", "strings or integers", `{"id":"sub_2"}`}},
		{"EntityKeyFloat", `{"features":["opens_30d:v1"],"entities":[1.5]}`, []string{"entities[0]", "strings or integers", "1.5"}},
		{"EntityKeyExponent", `{"features":["opens_30d:v1"],"entities":[1e3]}`, []string{"entities[0]", "strings or integers"}},
		{"EntityKeyTooBig", `{"features":["opens_30d:v1"],"entities":[18446744073709551616]}`, []string{"entities[0]", "strings or integers"}},
		{"EntityKeyBool", `{"features":["opens_30d:v1"],"entities":[true]}`, []string{"entities[0]", "strings or integers", "true"}},
		{"EntityKeyArray", `{"features":["opens_30d:v1"],"entities":[["sub_1"]]}`, []string{"entities[0]", "strings or integers"}},
		{"EntityKeyEmpty", `{"features":["opens_30d:v1"],"entities":["sub_1",""]}`, []string{"entities[1] is empty"}},
		{"TwoEntities", `{"features":["opens_30d:v1","shop_category"],"entities":["sub_1"]}`, []string{"features[1]", `"shop"`, `"subscriber"`, "one entity"}},
		{"BadReferenceName", `{"features":["opens_30d:v1","Opens-30d"],"entities":["sub_1"]}`, []string{"features[1]", `invalid name "Opens-30d"`}},
		{"BadReferenceVariant", `{"features":["opens_30d:V1"],"entities":["sub_1"]}`, []string{"features[0]", `invalid variant "V1"`}},
		{"EmptyReference", `{"features":[""],"entities":["sub_1"]}`, []string{"features[0]", "invalid name"}},
		{"TrailingObject", `{"features":["opens_30d:v1"],"entities":["sub_1"]} {}`, []string{"data after the object"}},
		{"TrailingGarbage", `{"features":["opens_30d:v1"],"entities":["sub_1"]} x`, []string{"data after the object"}},
		{"TrailingBrace", `{"features":["opens_30d:v1"],"entities":["sub_1"]}}`, []string{"data after the object"}},
		{"TrailingBracket", `{"features":["opens_30d:v1"],"entities":["sub_1"]}]`, []string{"data after the object"}},
		{"BatchTooLarge", manyEntities, []string{"50001 entities × 2 features", "split the request"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, f.handler, "POST", "/v1/online-features", tc.body)
			wantError(t, status, body, http.StatusBadRequest, "invalid_request", tc.fragments...)
		})
	}
}

func TestOnlineFeaturesTrailingWhitespaceIsFine(t *testing.T) {
	f := newFixture(t)
	status, body := do(t, f.handler, "POST", "/v1/online-features", "{\"features\":[\"opens_30d:v1\"],\"entities\":[\"sub_1036\"]}\n\t \n")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
}

func TestOnlineFeaturesUnknownFeature(t *testing.T) {
	f := newFixture(t)
	for _, ref := range []string{"nope", "opens_30d"} { // opens_30d exists only as opens_30d:v1
		t.Run(ref, func(t *testing.T) {
			status, body := do(t, f.handler, "POST", "/v1/online-features", `{"features":["opens_30d:v1",`+strconvQuote(ref)+`],"entities":["sub_1036"]}`)
			wantError(t, status, body, http.StatusNotFound, "unknown_feature", ref+":default is not registered", "slipway list features")
		})
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestRoutes(t *testing.T) {
	f := newFixture(t)

	t.Run("Healthz", func(t *testing.T) {
		status, body := do(t, f.handler, "GET", "/healthz", "")
		if status != http.StatusOK || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
			t.Errorf("GET /healthz = %d %s, want 200 {\"status\":\"ok\"}", status, body)
		}
	})
	t.Run("UnknownRoute", func(t *testing.T) {
		status, body := do(t, f.handler, "GET", "/v1/nope", "")
		wantError(t, status, body, http.StatusNotFound, "not_found", "no endpoint GET /v1/nope", "docs/openapi.yaml")
	})
	// A wrong method on a path the API has is 405 with an Allow header
	// listing the methods the path takes (GET routes take HEAD too).
	for _, tc := range []struct{ method, path, allow string }{
		{"GET", "/v1/online-features", "POST"},
		{"PUT", "/v1/online-features", "POST"},
		{"DELETE", "/v1/online-features", "POST"},
		{"POST", "/v1/resources/features", "GET, HEAD"},
		{"PUT", "/v1/resources/feature/opens_30d:v1", "GET, HEAD, DELETE"},
		{"GET", "/v1/resources/feature/opens_30d:v1/deprecate", "POST"},
		{"POST", "/healthz", "GET, HEAD"},
		{"DELETE", "/readyz", "GET, HEAD"},
	} {
		t.Run("WrongMethod/"+tc.method+tc.path, func(t *testing.T) {
			rec := doRecord(t, f.handler, tc.method, tc.path, "")
			wantError(t, rec.Code, rec.Body.Bytes(), http.StatusMethodNotAllowed, "method_not_allowed",
				tc.method+" "+tc.path, "this path takes "+tc.allow)
			if got := rec.Header().Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
}

// resourceBody is the documented resource shape; decoding it strictly
// catches fields the API grows without the docs.
type resourceBody struct {
	Kind           string            `json:"kind"`
	Name           string            `json:"name"`
	Variant        string            `json:"variant"`
	Description    string            `json:"description"`
	Owner          string            `json:"owner"`
	Tags           []string          `json:"tags"`
	Source         map[string]any    `json:"source"`
	Transformation map[string]any    `json:"transformation"`
	Feature        map[string]any    `json:"feature"`
	Label          map[string]any    `json:"label"`
	TrainingSet    map[string]any    `json:"training_set"`
	CreatedAt      string            `json:"created_at"`
	UpdatedAt      string            `json:"updated_at"`
	Status         string            `json:"status"`
	Error          string            `json:"error"`
	Schema         []map[string]any  `json:"schema"`
	Deprecated     *markBody         `json:"deprecated"`
	Deleted        *markBody         `json:"deleted"`
	Dependents     []json.RawMessage `json:"dependents"`
}

// markBody is the documented shape of a lifecycle mark.
type markBody struct {
	At     string `json:"at"`
	By     string `json:"by"`
	Reason string `json:"reason"`
}

func TestListResources(t *testing.T) {
	f := newFixture(t)
	for _, kind := range []string{"features", "feature", "Features"} {
		t.Run(kind, func(t *testing.T) {
			status, body := do(t, f.handler, "GET", "/v1/resources/"+kind, "")
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			var got struct {
				Resources []resourceBody `json:"resources"`
			}
			decodeStrict(t, body, &got)
			var names []string
			for _, r := range got.Resources {
				if r.Kind != "feature" {
					t.Errorf("%s:%s has kind %q, want feature", r.Name, r.Variant, r.Kind)
				}
				if r.Dependents != nil {
					t.Errorf("%s:%s: list responses carry no dependents, got %s", r.Name, r.Variant, r.Dependents)
				}
				names = append(names, r.Name+":"+r.Variant)
			}
			want := "avg_order_value:default,is_unsubscribed:default,last_open_at:default,opens_30d:v1,shop_category:default,signup_channel:default,subscriber_region:default"
			if strings.Join(names, ",") != want {
				t.Errorf("listed %s, want %s (ordered by name, variant)", strings.Join(names, ","), want)
			}
		})
	}
	t.Run("EmptyKindIsAnEmptyList", func(t *testing.T) {
		status, body := do(t, f.handler, "GET", "/v1/resources/training-sets", "")
		if status != http.StatusOK || strings.TrimSpace(string(body)) != `{"resources":[]}` {
			t.Errorf("GET training-sets = %d %s, want 200 {\"resources\":[]}", status, body)
		}
	})
	t.Run("EveryKind", func(t *testing.T) {
		got := listNames(t, f.handler, "/v1/resources")
		if !strings.HasPrefix(got, "shop:default,subscriber:default,") || !strings.Contains(got, "opens_30d:v1") || !strings.Contains(got, "shops:default") {
			t.Errorf("GET /v1/resources listed %s; want the entities, sources and features", got)
		}
	})
	t.Run("Name", func(t *testing.T) {
		if got := listNames(t, f.handler, "/v1/resources/features?name=opens_30d"); got != "opens_30d:v1" {
			t.Errorf("?name=opens_30d listed %s", got)
		}
		status, body := do(t, f.handler, "GET", "/v1/resources/features?name=Opens", "")
		wantError(t, status, body, http.StatusBadRequest, "invalid_request", `name "Opens"`)
	})
	t.Run("UnknownKind", func(t *testing.T) {
		status, body := do(t, f.handler, "GET", "/v1/resources/widgets", "")
		wantError(t, status, body, http.StatusBadRequest, "invalid_request", `unknown kind "widgets"`, "training_set")
	})
}

func TestGetResource(t *testing.T) {
	f := newFixture(t)
	get := func(t *testing.T, path string) resourceBody {
		t.Helper()
		status, body := do(t, f.handler, "GET", path, "")
		if status != http.StatusOK {
			t.Fatalf("GET %s: status %d: %s", path, status, body)
		}
		var r resourceBody
		decodeStrict(t, body, &r)
		return r
	}

	t.Run("Feature", func(t *testing.T) {
		r := get(t, "/v1/resources/feature/opens_30d:v1")
		if r.Kind != "feature" || r.Name != "opens_30d" || r.Variant != "v1" || r.Status != "ready" {
			t.Errorf("got %s %s:%s status %s", r.Kind, r.Name, r.Variant, r.Status)
		}
		if r.Feature["max_age"] != "30d" || r.Feature["entity"] != "subscriber" || r.Feature["type"] != "int64" {
			t.Errorf("feature spec %v, want entity subscriber, type int64, max_age 30d", r.Feature)
		}
		if r.CreatedAt == "" || r.UpdatedAt == "" {
			t.Errorf("created_at %q, updated_at %q: want both set", r.CreatedAt, r.UpdatedAt)
		}
		if r.Dependents != nil {
			t.Errorf("nothing depends on the feature, got dependents %s", r.Dependents)
		}
	})
	t.Run("DefaultVariant", func(t *testing.T) {
		r := get(t, "/v1/resources/features/avg_order_value")
		if r.Name != "avg_order_value" || r.Variant != "default" {
			t.Errorf("got %s:%s, want avg_order_value:default", r.Name, r.Variant)
		}
	})
	t.Run("EscapedColon", func(t *testing.T) {
		r := get(t, "/v1/resources/feature/opens_30d%3Av1")
		if r.Name != "opens_30d" || r.Variant != "v1" {
			t.Errorf("got %s:%s, want opens_30d:v1", r.Name, r.Variant)
		}
	})
	t.Run("SourceSchemaAndDependents", func(t *testing.T) {
		r := get(t, "/v1/resources/sources/subscriber_engagement_30d")
		if len(r.Schema) != 3 || r.Schema[1]["name"] != "opens_30d" || r.Schema[1]["type"] != "int64" || r.Schema[1]["engine_type"] != "BIGINT" {
			t.Errorf("schema %v, want the 3 registered columns", r.Schema)
		}
		if len(r.Dependents) != 6 {
			t.Errorf("dependents %s, want the 6 subscriber features", r.Dependents)
		}
	})
	t.Run("EntityDependents", func(t *testing.T) {
		status, body := do(t, f.handler, "GET", "/v1/resources/entities/shop", "")
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, body)
		}
		var r struct {
			Dependents []struct{ Kind, Name, Variant string } `json:"dependents"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Dependents) != 1 || r.Dependents[0].Kind != "feature" || r.Dependents[0].Name != "shop_category" || r.Dependents[0].Variant != "default" {
			t.Errorf("dependents of entity shop: %+v, want [feature shop_category:default]", r.Dependents)
		}
	})
	t.Run("UnknownResource", func(t *testing.T) {
		status, body := do(t, f.handler, "GET", "/v1/resources/feature/opens_30d:v9", "")
		wantError(t, status, body, http.StatusNotFound, "not_found", "feature opens_30d:v9: not found", "slipway list feature")
	})
	t.Run("UnknownKind", func(t *testing.T) {
		status, body := do(t, f.handler, "GET", "/v1/resources/widget/opens_30d:v1", "")
		wantError(t, status, body, http.StatusBadRequest, "invalid_request", `unknown kind "widget"`)
	})
	t.Run("BadReference", func(t *testing.T) {
		status, body := do(t, f.handler, "GET", "/v1/resources/feature/Opens-30d", "")
		wantError(t, status, body, http.StatusBadRequest, "invalid_request", `invalid name "Opens-30d"`)
	})
	t.Run("TooManySegments", func(t *testing.T) {
		status, body := do(t, f.handler, "GET", "/v1/resources/feature/opens_30d/v1", "")
		wantError(t, status, body, http.StatusNotFound, "not_found", "no endpoint")
	})
}

func TestStoreFailure(t *testing.T) {
	p, reg, on := newBackends(t)
	f := newHandler(t, p, reg, on)
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	status, body := do(t, f.handler, "GET", "/v1/resources/features", "")
	wantError(t, status, body, http.StatusInternalServerError, "internal")
	// Serving answers 503 without internal details (addresses, driver errors).
	status, body = do(t, f.handler, "POST", "/v1/online-features", `{"features":["opens_30d:v1"],"entities":["sub_1"]}`)
	wantError(t, status, body, http.StatusServiceUnavailable, "unavailable", "retry later")
	if strings.Contains(string(body), "sql") || strings.Contains(string(body), "closed") {
		t.Errorf("503 body leaks details: %s", body)
	}
}

// timesRE matches registry timestamps, which are the wall clock at apply time.
var timesRE = regexp.MustCompile(`"(created_at|updated_at)":"[^"]*"`)

// TestGolden pins the JSON shape of representative responses so API changes
// show up in review. Regenerate with: go test ./server -run TestGolden -update
func TestGolden(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		file, method, path, body string
	}{
		{"online_features.golden", "POST", "/v1/online-features", representativeRequest},
		{"resource_feature.golden", "GET", "/v1/resources/feature/opens_30d:v1", ""},
		{"resource_source.golden", "GET", "/v1/resources/source/subscriber_engagement_30d", ""},
		{"error_unknown_feature.golden", "POST", "/v1/online-features", `{"features":["opens_30d:v2"],"entities":["sub_1036"]}`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			status, body := do(t, f.handler, tc.method, tc.path, tc.body)
			body = timesRE.ReplaceAll(body, []byte(`"$1":"<time>"`))
			checkGolden(t, tc.file, tc.method, tc.path, tc.body, status, body)
		})
	}
}

// checkGolden compares a response with testdata/file, or rewrites the file
// under -update. Tests whose golden files are in this package are named
// TestGolden*, so -run TestGolden -update regenerates them all.
func checkGolden(t *testing.T, file, method, path, reqBody string, status int, body []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	got.WriteString(method + " " + path + "\n")
	if reqBody != "" {
		got.WriteString(reqBody + "\n")
	}
	got.WriteString(fmt.Sprintf("\n%d %s\n", status, http.StatusText(status)))
	got.Write(pretty.Bytes())
	golden := filepath.Join("testdata", file)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./server -run TestGolden -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("%s changed; if intended, run go test ./server -run TestGolden -update and review the diff\n--- got\n%s\n--- want\n%s", golden, got.Bytes(), want)
	}
}
