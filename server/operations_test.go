package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/server"
)

// projectDir holds the definitions of the operations tests; their sources
// read testdata/project/data.
const projectDir = "testdata/project/definitions"

// projectBody is the body of POST /v1/plan and /v1/apply for the test
// project, with edits applied (a file's new content; "" removes it).
func projectBody(t *testing.T, edits map[string]string) string {
	t.Helper()
	df, err := definition.ReadFiles(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range edits {
		if content == "" {
			delete(df.Files, name)
			continue
		}
		df.Files[name] = content
	}
	b, err := json.Marshal(df)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// projectBodyLabel stands for projectBody in golden files (its root is a
// path of this machine).
const projectBodyLabel = `{"dir":"testdata/project/definitions","root":"<abs>","files":{...}}`

type planBody struct {
	Items []struct {
		Action string `json:"action"`
		Kind   string `json:"kind"`
		ID     string `json:"id"`
		File   string `json:"file"`
		Line   int    `json:"line"`
		Diffs  []struct {
			Field      string   `json:"field"`
			Registered string   `json:"registered"`
			Proposed   string   `json:"proposed"`
			Added      []string `json:"added"`
			Removed    []string `json:"removed"`
			Unified    string   `json:"unified"`
		} `json:"diffs"`
	} `json:"items"`
	Warnings []problemBody `json:"warnings"`
	Errors   []problemBody `json:"errors"`
}

type problemBody struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p planBody) actions() string {
	var out []string
	for _, it := range p.Items {
		out = append(out, it.Action+" "+it.Kind+" "+it.ID)
	}
	return strings.Join(out, ", ")
}

// changedMaxAge is the project with the feature's max_age changed: a conflict.
func changedMaxAge(t *testing.T) map[string]string {
	df, err := definition.ReadFiles(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"project.yaml": strings.Replace(df.Files["project.yaml"], "max_age: 30d", "max_age: 7d", 1)}
}

// unknownEntity is the project with a feature of an entity nobody defines.
func unknownEntity(t *testing.T) map[string]string {
	df, err := definition.ReadFiles(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"project.yaml": strings.Replace(df.Files["project.yaml"], "  - name: daily_opens\n    entity: subscriber", "  - name: daily_opens\n    entity: shopper", 1)}
}

const allCreated = "create entity subscriber:default, create source email_events:default, create source orders:default, " +
	"create transformation subscriber_daily_opens:default, create feature daily_opens:default, create label order_amount:default, " +
	"create training_set order_value:default"

// newEmptyFixture is a server over a platform with nothing registered.
func newEmptyFixture(t *testing.T) fixture {
	t.Helper()
	p, reg, on := newBackends(t)
	return newHandler(t, p, reg, on)
}

func TestPlanAndApply(t *testing.T) {
	f := newEmptyFixture(t)
	h := f.handler
	plan := func(t *testing.T, body string) planBody {
		t.Helper()
		status, b := do(t, h, "POST", "/v1/plan", body)
		if status != http.StatusOK {
			t.Fatalf("plan: %d %s", status, b)
		}
		var p planBody
		decodeStrict(t, b, &p)
		if p.Items == nil || p.Warnings == nil || p.Errors == nil {
			t.Errorf("plan %s: items, warnings and errors are arrays, never null", b)
		}
		return p
	}
	if got := plan(t, projectBody(t, nil)).actions(); !strings.Contains(got, allCreated) {
		t.Fatalf("plan before apply: %s; want %s", got, allCreated)
	}
	t.Run("DefinitionErrorIsThePlansAnswer", func(t *testing.T) {
		p := plan(t, projectBody(t, unknownEntity(t)))
		if len(p.Errors) == 0 || p.Errors[0].File != "testdata/project/definitions/project.yaml" || p.Errors[0].Line == 0 || !strings.Contains(p.Errors[0].Message, "shopper") {
			t.Errorf("plan errors %+v; want one naming entity shopper at its file and line", p.Errors)
		}
	})
	t.Run("ApplyRefusesDefinitionErrors", func(t *testing.T) {
		status, b := do(t, h, "POST", "/v1/apply", projectBody(t, unknownEntity(t)))
		if status != http.StatusBadRequest {
			t.Fatalf("apply: %d %s", status, b)
		}
		var e struct {
			Error struct {
				Code     string        `json:"code"`
				Message  string        `json:"message"`
				Problems []problemBody `json:"problems"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		if e.Error.Code != "invalid_definitions" || len(e.Error.Problems) == 0 || !strings.Contains(e.Error.Problems[0].Message, "shopper") ||
			!strings.Contains(e.Error.Message, "project.yaml:") {
			t.Errorf("apply with an unknown entity: %s; want invalid_definitions with the problems", b)
		}
		if got := plan(t, projectBody(t, nil)).actions(); !strings.Contains(got, allCreated) {
			t.Errorf("a refused apply registered something: plan says %s", got)
		}
	})

	status, b := do(t, h, "POST", "/v1/apply", projectBody(t, nil))
	var applied struct {
		Plan      planBody `json:"plan"`
		Created   int      `json:"created"`
		Unchanged int      `json:"unchanged"`
	}
	decodeStrict(t, b, &applied)
	if status != http.StatusOK || applied.Created != 7 || applied.Unchanged != 0 {
		t.Fatalf("apply: %d %s; want 7 created", status, b)
	}
	if got := plan(t, projectBody(t, nil)).actions(); strings.Contains(got, "create") {
		t.Errorf("plan after apply: %s; want all unchanged", got)
	}
	t.Run("ConflictIsInThePlan", func(t *testing.T) {
		p := plan(t, projectBody(t, changedMaxAge(t)))
		if !strings.Contains(p.actions(), "conflict feature daily_opens:default") || len(p.Errors) != 0 {
			t.Errorf("plan of a changed feature: %s, errors %+v; want a conflict", p.actions(), p.Errors)
		}
	})
	t.Run("ApplyRefusesConflicts", func(t *testing.T) {
		status, b := do(t, h, "POST", "/v1/apply", projectBody(t, changedMaxAge(t)))
		var e struct {
			Error struct {
				Code    string   `json:"code"`
				Message string   `json:"message"`
				Plan    planBody `json:"plan"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		if status != http.StatusConflict || e.Error.Code != "conflict" || !strings.Contains(e.Error.Message, "nothing applied") ||
			!strings.Contains(e.Error.Plan.actions(), "conflict feature daily_opens:default") {
			t.Errorf("apply of a changed feature: %d %s; want 409 conflict with the plan", status, b)
		}
	})
	for _, tc := range []struct {
		name, body string
		fragments  []string
	}{
		{"RelativeRoot", `{"dir":"d","root":"d","files":{"a.yaml":"entities: []"}}`, []string{`root "d"`, "absolute"}},
		{"NoYAML", `{"dir":"d","root":"/d","files":{"a.sql":"SELECT 1"}}`, []string{"no definition files"}},
		{"PathOutside", `{"dir":"d","root":"/d","files":{"../a.yaml":"entities: []"}}`, []string{`"../a.yaml"`, "relative"}},
		{"AbsolutePath", `{"dir":"d","root":"/d","files":{"/etc/a.yaml":"entities: []"}}`, []string{`"/etc/a.yaml"`}},
		{"UnknownField", `{"dir":"d","root":"/d","files":{},"force":true}`, []string{"force"}},
		{"Empty", ``, []string{"empty body"}},
	} {
		t.Run("BadRequest/"+tc.name, func(t *testing.T) {
			for _, path := range []string{"/v1/plan", "/v1/apply"} {
				status, b := do(t, h, "POST", path, tc.body)
				wantError(t, status, b, http.StatusBadRequest, "invalid_request", tc.fragments...)
			}
		})
	}
}

// jobsOf decodes {"jobs": [...]}.
func jobsOf(t *testing.T, body []byte) []jobBody {
	t.Helper()
	var got struct {
		Jobs []jobBody `json:"jobs"`
	}
	decodeStrict(t, body, &got)
	return got.Jobs
}

// waitJobs polls the jobs until each has ended and returns them.
func waitJobs(t *testing.T, h http.Handler, jobs []jobBody) []jobBody {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	out := make([]jobBody, len(jobs))
	for i, j := range jobs {
		for {
			status, b := do(t, h, "GET", "/v1/jobs/"+strconv.FormatInt(j.ID, 10), "")
			if status != http.StatusOK {
				t.Fatalf("job %d: %d %s", j.ID, status, b)
			}
			decodeStrict(t, b, &out[i])
			if s := out[i].Status; s == "succeeded" || s == "failed" || s == "cancelled" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %d still %s after a minute", j.ID, out[i].Status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return out
}

// appliedFixture is the fixture with the test project applied.
func appliedFixture(t *testing.T) fixture {
	t.Helper()
	f := newEmptyFixture(t)
	if status, b := do(t, f.handler, "POST", "/v1/apply", projectBody(t, nil)); status != http.StatusOK {
		t.Fatalf("apply: %d %s", status, b)
	}
	return f
}

func TestRunMaterializeExport(t *testing.T) {
	f := appliedFixture(t)
	h := f.handler
	queue := func(t *testing.T, path, body string) []jobBody {
		t.Helper()
		status, b := do(t, h, "POST", path, body)
		if status != http.StatusAccepted {
			t.Fatalf("POST %s %s: %d %s", path, body, status, b)
		}
		return jobsOf(t, b)
	}
	succeeded := func(t *testing.T, jobs []jobBody) []jobBody {
		t.Helper()
		ended := waitJobs(t, h, jobs)
		for _, j := range ended {
			if j.Status != "succeeded" {
				t.Fatalf("job %d %s %s: %s %s", j.ID, j.Kind, j.Resource.Name, j.Status, j.Error)
			}
		}
		return ended
	}

	run := queue(t, "/v1/run", `{"transformations":["subscriber_daily_opens"]}`)
	if len(run) != 1 || run[0].Kind != "transformation" || run[0].Resource.Name != "subscriber_daily_opens" {
		t.Fatalf("run queued %+v", run)
	}
	if j := succeeded(t, run)[0]; j.Rows == 0 {
		t.Errorf("the transformation built no rows: %+v", j)
	}
	if again := queue(t, "/v1/run", ""); len(again) != 0 {
		t.Errorf("run of ready transformations queued %+v; want nothing", again)
	}
	if rebuild := queue(t, "/v1/run", `{"rebuild":true,"detach":true}`); len(rebuild) != 1 || rebuild[0].Status != "queued" {
		t.Errorf("detached rebuild: %+v; want one queued job", rebuild)
	} else {
		do(t, h, "POST", "/v1/jobs/"+strconv.FormatInt(rebuild[0].ID, 10)+"/cancel", "")
	}

	mat := succeeded(t, queue(t, "/v1/materialize", `{"features":["daily_opens:default"],"full":true}`))
	if len(mat) != 1 || mat[0].Kind != "materialize" || mat[0].Rows == 0 {
		t.Errorf("materialize: %+v", mat)
	}

	exp := queue(t, "/v1/training-sets/order_value/export", `{"format":"csv"}`)
	last := succeeded(t, exp)[len(exp)-1]
	if last.Kind != "export" || last.Rows != 4 {
		t.Fatalf("export job %+v; want an export of the 4 label rows", last)
	}
	path := "/v1/jobs/" + strconv.FormatInt(last.ID, 10) + "/output"
	req := httptest.NewRequest("GET", path, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" ||
		rec.Header().Get("Content-Length") != strconv.Itoa(rec.Body.Len()) || !strings.Contains(rec.Header().Get("Content-Disposition"), "order_value.csv") {
		t.Fatalf("GET %s: %d %v", path, rec.Code, rec.Header())
	}
	lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
	if len(lines) != 5 || !strings.Contains(lines[0], "daily_opens") || !strings.Contains(lines[0], "order_amount") {
		t.Errorf("exported CSV:\n%s\nwant a header naming the label and feature, and 4 rows", rec.Body)
	}
	// The file is fetched once.
	status, b := do(t, h, "GET", path, "")
	wantError(t, status, b, http.StatusNotFound, "not_found", "job "+strconv.FormatInt(last.ID, 10))
	status, b = do(t, h, "HEAD", path, "")
	if status != http.StatusMethodNotAllowed {
		t.Errorf("HEAD %s: %d %s; want 405 (a HEAD would use the file up)", path, status, b)
	}

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     string
		fragments                []string
	}{
		{"RunUnknown", "POST", "/v1/run", `{"transformations":["nope"]}`, 404, "not_found", []string{"nope"}},
		{"RunBadName", "POST", "/v1/run", `{"transformations":["ok","Bad-Name"]}`, 400, "invalid_request", []string{"transformations[1]", "Bad-Name"}},
		{"RunObjects", "POST", "/v1/run", `{"transformations":[{"name":"x"}]}`, 400, "invalid_request", []string{"transformations"}},
		{"MaterializeChunks", "POST", "/v1/materialize", `{"chunks":5000}`, 400, "invalid_request", []string{"chunks 5000", "1 to 1000"}},
		{"MaterializeUnknown", "POST", "/v1/materialize", `{"features":["nope:v9"]}`, 404, "not_found", []string{"nope:v9"}},
		{"ExportFormat", "POST", "/v1/training-sets/order_value/export", `{"format":"xlsx"}`, 400, "invalid_request", []string{`format "xlsx"`, "csv"}},
		{"ExportPath", "POST", "/v1/training-sets/order_value/export", `{"path":"/tmp/x.csv"}`, 400, "invalid_request", []string{"path"}},
		{"ExportUnknown", "POST", "/v1/training-sets/nope/export", ``, 404, "not_found", []string{"nope"}},
		{"ExportBadRef", "POST", "/v1/training-sets/No-Pe/export", ``, 400, "invalid_request", []string{"No-Pe"}},
		{"OutputOfABuild", "GET", "/v1/jobs/" + strconv.FormatInt(run[0].ID, 10) + "/output", ``, 404, "not_found", []string{"wrote no export"}},
		{"OutputUnknownJob", "GET", "/v1/jobs/999/output", ``, 404, "not_found", []string{"job 999"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, b := do(t, h, tc.method, tc.path, tc.body)
			wantError(t, status, b, tc.status, tc.code, tc.fragments...)
		})
	}
}

func TestLineage(t *testing.T) {
	f := appliedFixture(t)
	status, b := do(t, f.handler, "GET", "/v1/resources/features/daily_opens/lineage", "")
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, b)
	}
	var l struct {
		ID         map[string]string   `json:"id"`
		Upstream   []map[string]jobRes `json:"upstream"`
		Downstream []map[string]jobRes `json:"downstream"`
		// None here: no model is trained on the training set.
		ModelVersions []map[string]any `json:"model_versions"`
	}
	decodeStrict(t, b, &l)
	edges := func(es []map[string]jobRes) string {
		var out []string
		for _, e := range es {
			out = append(out, e["from"].Name+">"+e["to"].Name)
		}
		return strings.Join(out, ",")
	}
	if got := edges(l.Upstream); !strings.Contains(got, "subscriber_daily_opens>daily_opens") || !strings.Contains(got, "email_events>subscriber_daily_opens") {
		t.Errorf("upstream %s", got)
	}
	if got := edges(l.Downstream); got != "daily_opens>order_value" {
		t.Errorf("downstream %s; want daily_opens>order_value", got)
	}
	status, b = do(t, f.handler, "GET", "/v1/resources/feature/nope/lineage", "")
	wantError(t, status, b, http.StatusNotFound, "not_found", "feature nope:default")
}

type jobRes struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Variant string `json:"variant"`
}

func TestDoctor(t *testing.T) {
	f := newFixture(t)
	status, b := do(t, f.handler, "GET", "/v1/doctor", "")
	var rep struct {
		Config  string `json:"config"`
		DataDir string `json:"data_dir"`
		Checks  []struct {
			Role     string `json:"role"`
			Provider string `json:"provider"`
			OK       bool   `json:"ok"`
			Version  string `json:"version"`
			Error    string `json:"error"`
		} `json:"checks"`
	}
	decodeStrict(t, b, &rep)
	if status != http.StatusOK || len(rep.Checks) != 3 || rep.DataDir != f.platform.DataDir() {
		t.Fatalf("doctor: %d %s", status, b)
	}
	for _, c := range rep.Checks {
		if !c.OK || c.Version == "" {
			t.Errorf("check %+v: want ok with a version", c)
		}
	}
	// A failing check is still a 200: the report says which.
	cfg := fixtureConfig(f)
	cfg.Platform = failingPlatform(t)
	status, b = do(t, server.New(cfg), "GET", "/v1/doctor", "")
	decodeStrict(t, b, &rep)
	if status != http.StatusOK || rep.Checks[0].OK || !strings.Contains(rep.Checks[0].Error, secretDir) {
		t.Errorf("doctor with a broken registry: %d %s", status, b)
	}
}

// goldenTimesRE and goldenPathRE match what changes between runs: times
// set from the wall clock, and the server's temporary paths.
var (
	goldenTimesRE = regexp.MustCompile(`"(created_at|updated_at|run_after|started_at|ended_at|lease_until|at|watermark)":"[^"]*"`)
	goldenPathRE  = regexp.MustCompile(`"(path|data_dir|worker|version)":"[^"]*"`)
	goldenRootRE  = regexp.MustCompile(`(bbolt file |sqlite path |duckdb path )?/[^"]*/(` + `\.slipway)`)
)

func TestGoldenOperations(t *testing.T) {
	f := appliedFixture(t)
	mask := func(b []byte) []byte {
		b = goldenTimesRE.ReplaceAll(b, []byte(`"$1":"<time>"`))
		b = goldenPathRE.ReplaceAll(b, []byte(`"$1":"<path>"`))
		return goldenRootRE.ReplaceAll(b, []byte(`$1<tmp>/$2`))
	}
	for _, tc := range []struct {
		file, method, path, body, label string
	}{
		{"plan.golden", "POST", "/v1/plan", projectBody(t, changedMaxAge(t)), projectBodyLabel + " (max_age 7d)"},
		{"plan_errors.golden", "POST", "/v1/plan", projectBody(t, unknownEntity(t)), projectBodyLabel + " (entity shopper)"},
		{"apply.golden", "POST", "/v1/apply", projectBody(t, nil), projectBodyLabel},
		{"error_apply_conflict.golden", "POST", "/v1/apply", projectBody(t, changedMaxAge(t)), projectBodyLabel + " (max_age 7d)"},
		{"error_invalid_definitions.golden", "POST", "/v1/apply", projectBody(t, unknownEntity(t)), projectBodyLabel + " (entity shopper)"},
		{"run.golden", "POST", "/v1/run", `{"transformations":["subscriber_daily_opens"],"rebuild":true,"detach":true}`, ""},
		{"materialize.golden", "POST", "/v1/materialize", `{"features":["daily_opens"],"detach":true}`, ""},
		{"lineage.golden", "GET", "/v1/resources/training_set/order_value/lineage", "", ""},
		{"resource_label.golden", "GET", "/v1/resources/label/order_amount", "", ""},
		{"doctor.golden", "GET", "/v1/doctor", "", ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			status, body := do(t, f.handler, tc.method, tc.path, tc.body)
			label := tc.label
			if label == "" {
				label = tc.body
			}
			checkGolden(t, tc.file, tc.method, tc.path, label, status, mask(body))
		})
	}
	// The export's jobs: the build it needs (the transformation was never
	// built here) and the export; both queued while the server works them.
	t.Run("export.golden", func(t *testing.T) {
		g := appliedFixture(t)
		body := `{"format":"jsonl"}`
		status, b := do(t, g.handler, "POST", "/v1/training-sets/order_value/export", body)
		waitJobs(t, g.handler, jobsOf(t, b))
		b = goldenPathRE.ReplaceAll(goldenTimesRE.ReplaceAll(b, []byte(`"$1":"<time>"`)), []byte(`"$1":"<path>"`))
		checkGolden(t, "export.golden", "POST", "/v1/training-sets/order_value/export", body, status, b)
	})
}

// TestOpenAPIOperationsExamples decodes the documented examples of the
// operations endpoints into the shapes the server writes.
func TestOpenAPIOperationsExamples(t *testing.T) {
	doc := openAPI(t)
	decode := func(what string, v any, into any) {
		t.Helper()
		b, _ := json.Marshal(v)
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if v == nil || dec.Decode(into) != nil {
			t.Errorf("%s example does not decode into the server's shape: %s", what, b)
		}
	}
	for name, ex := range lookup(doc, "paths", "/v1/plan", "post", "responses", "200", "content", "application/json", "examples").(map[string]any) {
		var p planBody
		decode("POST /v1/plan "+name, lookup(ex, "value"), &p)
	}
	var applied struct {
		Plan      planBody `json:"plan"`
		Created   int      `json:"created"`
		Unchanged int      `json:"unchanged"`
	}
	decode("POST /v1/apply", lookup(doc, "paths", "/v1/apply", "post", "responses", "200", "content", "application/json", "example"), &applied)
	type errBody struct {
		Error struct {
			Code      string        `json:"code"`
			Message   string        `json:"message"`
			RequestID string        `json:"request_id"`
			Problems  []problemBody `json:"problems"`
			Plan      *planBody     `json:"plan"`
		} `json:"error"`
	}
	for _, status := range []string{"400", "409"} {
		var e errBody
		decode("POST /v1/apply "+status, lookup(doc, "paths", "/v1/apply", "post", "responses", status, "content", "application/json", "example"), &e)
	}
	var jobs struct {
		Jobs []jobBody `json:"jobs"`
	}
	decode("Jobs", lookup(doc, "components", "responses", "Jobs", "content", "application/json", "example"), &jobs)
	var l struct {
		ID         jobRes              `json:"id"`
		Upstream   []map[string]jobRes `json:"upstream"`
		Downstream []map[string]jobRes `json:"downstream"`
	}
	decode("lineage", lookup(doc, "paths", "/v1/resources/{kind}/{ref}/lineage", "get", "responses", "200", "content", "application/json", "example"), &l)
	var rep struct {
		Config  string `json:"config"`
		DataDir string `json:"data_dir"`
		Checks  []struct {
			Role     string `json:"role"`
			Provider string `json:"provider"`
			OK       bool   `json:"ok"`
			Version  string `json:"version"`
			Error    string `json:"error"`
		} `json:"checks"`
	}
	decode("doctor", lookup(doc, "paths", "/v1/doctor", "get", "responses", "200", "content", "application/json", "example"), &rep)
	// The request examples are accepted by the decoders.
	var run server.RunRequest
	decode("POST /v1/run request", lookup(doc, "paths", "/v1/run", "post", "requestBody", "content", "application/json", "example"), &run)
	var mat server.MaterializeRequest
	decode("POST /v1/materialize request", lookup(doc, "paths", "/v1/materialize", "post", "requestBody", "content", "application/json", "example"), &mat)
	var exp server.ExportRequest
	decode("POST export request", lookup(doc, "paths", "/v1/training-sets/{ref}/export", "post", "requestBody", "content", "application/json", "example"), &exp)
	var defs definition.Files
	decode("POST /v1/plan request", lookup(doc, "paths", "/v1/plan", "post", "requestBody", "content", "application/json", "example"), &defs)
}
