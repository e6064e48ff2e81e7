package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
)

// The fuzz targets send any body, path element and query to every endpoint
// that reads one. The handler must never panic or answer 5xx (the stores
// are healthy), and every answer is JSON; a 4xx says what was wrong in
// error.message, and for a body, where in it.

// fuzzHandler is the full API (serving, resources, lifecycle, jobs) over
// the fixture's stores, with two jobs queued.
func fuzzHandler(f *testing.F) http.Handler {
	fx := newFixture(f)
	ref, err := resource.ParseRef("opens_30d:v1")
	if err != nil {
		f.Fatal(err)
	}
	if _, err := fx.registry.EnqueueJobs(f.Context(), &registry.EnqueueJobsParams{Now: now.Add(-time.Hour), Jobs: []registry.NewJob{
		{Kind: "materialize", Resource: resource.NewID(resource.KindFeature, ref), MaxAttempts: 3},
		{Kind: "materialize", Resource: resource.NewID(resource.KindFeature, ref), MaxAttempts: 3, After: []int{0}},
	}}); err != nil {
		f.Fatal(err)
	}
	return server.New(server.Config{Platform: fx.platform, Serving: fx.service})
}

// fuzzRequest sends method path?query with body to h and checks the answer;
// where lists the words of which a 400's message must name one. A target
// no client could send (url.Parse refuses it) is skipped.
func fuzzRequest(t *testing.T, h http.Handler, method, path, query, body string, where ...string) {
	t.Helper()
	target := "http://slipway.test" + path
	if query != "" {
		target += "?" + query
	}
	if _, err := url.Parse(target); err != nil {
		t.Skip()
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, strings.NewReader(body))
	if err != nil {
		t.Skip()
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s %q: status %d: %s", method, target, body, rec.Code, rec.Body)
	}
	if rec.Code >= 300 && rec.Code < 400 {
		return // ServeMux redirects an unclean path ("//", "/./") to the clean one
	}
	if !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("%s %s %q: status %d, body is not JSON: %q", method, target, body, rec.Code, rec.Body)
	}
	if rec.Code < 400 {
		return
	}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("%s %s %q: status %d without an error code and message: %s", method, target, body, rec.Code, rec.Body)
	}
	if rec.Code != http.StatusBadRequest || len(where) == 0 {
		return
	}
	for _, w := range where {
		if strings.Contains(e.Error.Message, w) {
			return
		}
	}
	t.Errorf("%s %s %q: 400 %q names none of %q", method, target, body, e.Error.Message, where)
}

func FuzzOnlineFeaturesBody(f *testing.F) {
	for _, s := range []string{
		representativeRequest,
		``, `{}`, `[]`, `null`, `{"features": ["opens_30d:v1"`,
		`{"features":["opens_30d:v1"],"entities":["sub_1"],"entity":"subscriber"}`,
		`{"features":"opens_30d:v1","entities":["sub_1"]}`,
		`{"features":["opens_30d:v1"],"entities":["sub_1",{"id":"sub_2"}]}`,
		`{"features":["opens_30d:v1"],"entities":[1.5, 1e3, 18446744073709551616, true, ["x"], ""]}`,
		`{"features":["opens_30d:v1","shop_category"],"entities":["sub_1"]}`,
		`{"features":["opens_30d:V1","Opens-30d",""],"entities":["sub_1"]}`,
		`{"features":["opens_30d:v1"],"entities":["sub_1"]} x`,
		"{\"features\":[\"opens_30d:v1\"],\"entities\":[\"sub_1036\"]}\n\t \n",
	} {
		f.Add(s)
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body string) {
		fuzzRequest(t, h, "POST", "/v1/online-features", "", body, "body", "JSON", "features", "entities")
	})
}

func FuzzResources(f *testing.F) {
	for _, s := range [][4]string{
		{"features", "opens_30d:v1", "", `{"by":"ana","reason":"use opens_30d:v2"}`},
		{"feature", "avg_order_value", "all=true", `{}`},
		{"sources", "shops", "force=true", ``},
		{"widget", "Opens-30d", "all=maybe", `{"by":1}`},
		{"entities", "subscriber:V1", "stauts=x&all=1&all=2", `{"by":"ana"} {}`},
		{"training_sets", "", "kind=feature", `[`},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, kind, ref, query, body string) {
		k, r := url.PathEscape(kind), url.PathEscape(ref)
		fuzzRequest(t, h, "GET", "/v1/resources/"+k, query, "")
		fuzzRequest(t, h, "GET", "/v1/resources/"+k+"/"+r, query, "")
		fuzzRequest(t, h, "POST", "/v1/resources/"+k+"/"+r+"/deprecate", query, body)
		fuzzRequest(t, h, "DELETE", "/v1/resources/"+k+"/"+r, query, body)
	})
}

func FuzzJobs(f *testing.F) {
	for _, s := range [][3]string{
		{"1", "status=queued&status=running", ""},
		{"2", "status=queued,Failed&kind=materialize", "{}"},
		{"0", "resource=feature/opens_30d:v1&limit=2", `{"x":1}`},
		{"-1", "resource=feature%2Favg_order_value%3Adefault&limit=1001", ""},
		{"99999999999999999999", "limit=ten&limit=2&after=3", ""},
		{"x", "stauts=failed&resource=widget/Opens-30d", "["},
		{"1", "before=0&key_prefix=x", `{"detach":true}`},
		{"2", "", `{"detach":"yes"}`},
	} {
		f.Add(s[0], s[1], s[2])
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, id, query, body string) {
		i := url.PathEscape(id)
		fuzzRequest(t, h, "GET", "/v1/jobs", query, "")
		fuzzRequest(t, h, "GET", "/v1/jobs/"+i, query, "")
		fuzzRequest(t, h, "GET", "/v1/jobs/"+i+"/logs", query, "")
		fuzzRequest(t, h, "POST", "/v1/jobs/"+i+"/cancel", query, body)
		fuzzRequest(t, h, "POST", "/v1/jobs/"+i+"/retry", query, body)
		fuzzRequest(t, h, "GET", "/v1/jobs/"+i+"/output", query, "")
	})
}

// operationsHandler is the API over a platform with the operations tests'
// project applied, its fuzz seeds being the test inputs.
func operationsHandler(f *testing.F) http.Handler {
	p, reg, on := newBackends(f)
	fx := newHandler(f, p, reg, on)
	df, err := definition.ReadFiles(projectDir)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := p.Apply(f.Context(), df); err != nil {
		f.Fatal(err)
	}
	return fx.handler
}

func FuzzDefinitionsBody(f *testing.F) {
	df, err := definition.ReadFiles(projectDir)
	if err != nil {
		f.Fatal(err)
	}
	root, _ := json.Marshal(df.Root)
	for _, s := range []string{
		`{"dir":"defs","root":` + string(root) + `,"files":{"a.yaml":"entities:\n  - name: shop\n"}}`,
		`{"dir":"defs","root":` + string(root) + `,"files":{"a.yaml":"features:\n  - name: x\n    entity: shopper\n"}}`,
		`{"dir":"defs","root":` + string(root) + `,"files":{"a.yaml":"transformations:\n  - name: t\n    sql_file: ../x.sql\n"}}`,
		`{"dir":"defs","root":` + string(root) + `,"files":{"a.yaml":"sources:\n  - name: s\n    file: ../data/orders.csv\n    timestamp_column: nope\n"}}`,
		`{"dir":"d","root":"d","files":{"a.yaml":"entities: []"}}`,
		`{"dir":"d","root":"/d","files":{"a.sql":"SELECT 1"}}`,
		`{"dir":"d","root":"/d","files":{"../a.yaml":"entities: []"}}`,
		`{"dir":"d","root":"/d","files":{},"force":true}`,
		`{"dir":"d","root":"/d","files":{"a.yaml":"{{{"}}`,
		``, `[]`, `{"files":null}`,
	} {
		f.Add(s)
	}
	h := operationsHandler(f)
	f.Fuzz(func(t *testing.T, body string) {
		fuzzRequest(t, h, "POST", "/v1/plan", "", body, "body", "JSON", "root", "files", "dir", ".yaml", ".yml")
		fuzzRequest(t, h, "POST", "/v1/apply", "", body, "body", "JSON", "root", "files", "dir", ".yaml", ".yml")
	})
}

func FuzzOperationsBodies(f *testing.F) {
	for _, s := range [][3]string{
		{`{"transformations":["subscriber_daily_opens"],"rebuild":true,"detach":true}`, `{"features":["daily_opens"],"detach":true}`, "order_value"},
		{`{"transformations":["nope","Bad-Name"]}`, `{"chunks":5000}`, "No-Pe"},
		{`{"transformations":[{"name":"x"}]}`, `{"features":["daily_opens:v1"],"full":"yes"}`, "order_value:v2"},
		{``, `{"detach":true,"chunks":-1}`, "nope"},
		{`[`, `{} {}`, ""},
	} {
		f.Add(s[0], s[1], s[2], `{"format":"csv"}`)
	}
	f.Add(`{}`, `{}`, "order_value", `{"format":"xlsx"}`)
	f.Add(`{}`, `{}`, "order_value", `{"path":"/tmp/x"}`)
	// Nothing is registered: the bodies are decoded and checked, and no
	// job is queued (jobs worked in the background would make each input
	// slower than the last).
	p, reg, on := newBackends(f)
	h := newHandler(f, p, reg, on).handler
	f.Fuzz(func(t *testing.T, run, materialize, ref, export string) {
		fuzzRequest(t, h, "POST", "/v1/run", "", run, "body", "JSON", "transformations")
		fuzzRequest(t, h, "POST", "/v1/materialize", "", materialize, "body", "JSON", "features", "chunks")
		fuzzRequest(t, h, "POST", "/v1/training-sets/"+url.PathEscape(ref)+"/export", "", export, "body", "JSON", "format", "name", "variant")
		fuzzRequest(t, h, "GET", "/v1/resources/training_sets/"+url.PathEscape(ref)+"/lineage", "", "", "name", "variant", "query")
	})
}
