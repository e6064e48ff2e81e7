package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/online"
)

// newLifecycleFixture is the fixture: its platform deprecates and deletes.
func newLifecycleFixture(t *testing.T) fixture {
	t.Helper()
	return newFixture(t)
}

func listNames(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	status, body := do(t, h, "GET", path, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	var got struct {
		Resources []resourceBody `json:"resources"`
	}
	decodeStrict(t, body, &got)
	var names []string
	for _, r := range got.Resources {
		names = append(names, r.Name+":"+r.Variant)
	}
	return strings.Join(names, ",")
}

func TestDeprecateResource(t *testing.T) {
	f := newLifecycleFixture(t)
	status, body := do(t, f.handler, "POST", "/v1/resources/feature/opens_30d:v1/deprecate", `{"by":"ana","reason":"use opens_30d:v2"}`)
	if status != http.StatusOK {
		t.Fatalf("deprecate: %d %s", status, body)
	}
	var r resourceBody
	decodeStrict(t, body, &r)
	if r.Deprecated == nil || r.Deprecated.By != "ana" || r.Deprecated.Reason != "use opens_30d:v2" || r.Deprecated.At == "" || r.Status != "ready" {
		t.Fatalf("deprecated resource = %+v (mark %+v)", r, r.Deprecated)
	}
	if names := listNames(t, f.handler, "/v1/resources/features"); strings.Contains(names, "opens_30d:v1") {
		t.Errorf("default list shows the deprecated feature: %s", names)
	}
	if names := listNames(t, f.handler, "/v1/resources/features?all=true"); !strings.Contains(names, "opens_30d:v1") {
		t.Errorf("list ?all=true leaves the deprecated feature out: %s", names)
	}
	if names := listNames(t, f.handler, "/v1/resources/features?deprecated=true"); !strings.Contains(names, "opens_30d:v1") {
		t.Errorf("list ?deprecated=true leaves the deprecated feature out: %s", names)
	}
	// Still served.
	if status, body := do(t, f.handler, "POST", "/v1/online-features", `{"features":["opens_30d:v1"],"entities":["sub_1036"]}`); status != http.StatusOK || !strings.Contains(string(body), `"found"`) {
		t.Errorf("serving a deprecated feature: %d %s", status, body)
	}
	// An empty body deprecates too (by "api"); undo takes it back.
	status, body = do(t, f.handler, "POST", "/v1/resources/feature/avg_order_value/deprecate", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"by":"api"`) {
		t.Errorf("deprecate with no body: %d %s", status, body)
	}
	status, body = do(t, f.handler, "POST", "/v1/resources/feature/avg_order_value/deprecate", `{"undo":true}`)
	if status != http.StatusOK || strings.Contains(string(body), `"deprecated"`) {
		t.Errorf("undo: %d %s", status, body)
	}
	status, body = do(t, f.handler, "POST", "/v1/resources/feature/nope/deprecate", "")
	wantError(t, status, body, http.StatusNotFound, "not_found", "feature nope:default: not found", "slipway list feature")
	status, body = do(t, f.handler, "POST", "/v1/resources/feature/opens_30d:v1/deprecate", `{"why":"x"}`)
	wantError(t, status, body, http.StatusBadRequest, "invalid_request", "why")
	status, body = do(t, f.handler, "GET", "/v1/resources/features?all=maybe", "")
	wantError(t, status, body, http.StatusBadRequest, "invalid_request", "all")
}

func TestDeleteResource(t *testing.T) {
	f := newLifecycleFixture(t)
	status, body := do(t, f.handler, "DELETE", "/v1/resources/source/subscriber_engagement_30d", "")
	wantError(t, status, body, http.StatusConflict, "conflict", "feature opens_30d:v1", "feature avg_order_value:default", "delete those first")

	status, body = do(t, f.handler, "DELETE", "/v1/resources/feature/opens_30d:v1?by=ana&reason=unused", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"online_feature":"opens_30d:v1"`) || !strings.Contains(string(body), `"again":false`) {
		t.Fatalf("delete: %d %s", status, body)
	}
	res, err := f.online.Read(t.Context(), &online.ReadParams{Features: []string{"opens_30d:v1", "avg_order_value:default"}, Entities: []string{"sub_1036"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Entries[0][0].Found || !res.Entries[0][1].Found {
		t.Fatalf("online values after the delete: %+v; want only avg_order_value's", res.Entries[0])
	}
	// The tombstone stays readable; the default list leaves it out.
	status, body = do(t, f.handler, "GET", "/v1/resources/feature/opens_30d:v1", "")
	var r resourceBody
	decodeStrict(t, body, &r)
	if status != http.StatusOK || r.Deleted == nil || r.Deleted.By != "ana" || r.Deleted.Reason != "unused" {
		t.Fatalf("GET deleted: %d %s", status, body)
	}
	if names := listNames(t, f.handler, "/v1/resources/features"); strings.Contains(names, "opens_30d") {
		t.Errorf("list shows the deleted feature: %s", names)
	}
	// Serving says the feature was deleted, not that it never existed.
	status, body = do(t, f.handler, "POST", "/v1/online-features", `{"features":["opens_30d:v1"],"entities":["sub_1036"]}`)
	wantError(t, status, body, http.StatusNotFound, "unknown_feature", "feature opens_30d:v1 was deleted at", "by ana", "not served")
	status, body = do(t, f.handler, "POST", "/v1/resources/feature/opens_30d:v1/deprecate", "")
	wantError(t, status, body, http.StatusGone, "deleted", "feature opens_30d:v1 was deleted at", "by ana")
	status, body = do(t, f.handler, "DELETE", "/v1/resources/feature/opens_30d:v1", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"again":true`) {
		t.Errorf("second delete: %d %s", status, body)
	}
	status, body = do(t, f.handler, "DELETE", "/v1/resources/feature/nope", "")
	wantError(t, status, body, http.StatusNotFound, "not_found", "feature nope:default", "not found", "slipway list feature")
	status, body = do(t, f.handler, "DELETE", "/v1/resources/feature/avg_order_value?force=1", "")
	wantError(t, status, body, http.StatusBadRequest, "invalid_request", "force")
}

// markTimesRE and messageTimesRE match the times of lifecycle marks, which
// are the wall clock, in JSON and in messages.
var (
	markTimesRE    = regexp.MustCompile(`"at":"[^"]*"`)
	messageTimesRE = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC`)
)

func TestGoldenLifecycle(t *testing.T) {
	f := newLifecycleFixture(t)
	for _, tc := range []struct {
		file, method, path, body string
	}{
		{"resource_deprecate.golden", "POST", "/v1/resources/feature/opens_30d:v1/deprecate", `{"by":"ana","reason":"use opens_30d:v2"}`},
		{"resource_delete.golden", "DELETE", "/v1/resources/feature/opens_30d:v1?by=ana&reason=unused", ""},
		{"error_has_dependents.golden", "DELETE", "/v1/resources/source/subscriber_engagement_30d", ""},
		{"error_deleted.golden", "POST", "/v1/resources/feature/opens_30d:v1/deprecate", ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			status, body := do(t, f.handler, tc.method, tc.path, tc.body)
			body = timesRE.ReplaceAll(body, []byte(`"$1":"<time>"`))
			body = markTimesRE.ReplaceAll(body, []byte(`"at":"<time>"`))
			body = messageTimesRE.ReplaceAll(body, []byte(`<time>`))
			checkGolden(t, tc.file, tc.method, tc.path, tc.body, status, body)
		})
	}
}

// TestOpenAPILifecycleExamples decodes the documented examples of the
// lifecycle endpoints into the shapes the server writes.
func TestOpenAPILifecycleExamples(t *testing.T) {
	doc := openAPI(t)
	decode := func(what string, v any, into any) {
		t.Helper()
		b, _ := json.Marshal(v)
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if v == nil || dec.Decode(into) != nil {
			t.Errorf("%s example does not decode into the server's shape: %s", what, b)
		}
	}
	var r resourceBody
	decode("POST deprecate", lookup(doc, "paths", "/v1/resources/{kind}/{ref}/deprecate", "post", "responses", "200", "content", "application/json", "example"), &r)
	var d struct {
		Resource      resourceBody `json:"resource"`
		Again         bool         `json:"again"`
		Table         string       `json:"table"`
		OnlineFeature string       `json:"online_feature"`
	}
	decode("DELETE", lookup(doc, "paths", "/v1/resources/{kind}/{ref}", "delete", "responses", "200", "content", "application/json", "example"), &d)
}
