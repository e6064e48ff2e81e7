package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/server"
)

// modelsYAML defines a regression model on the test project's training set.
const modelsYAML = `models:
  - name: order_model
    training_set: order_value
    task: regression
    trainer: {builtin: linear_regression}
    validation: {holdout: 20%, metric: rmse}
    promote: {alias: production, when: always}
`

// modelsFixture is the test project applied with a model definition.
func modelsFixture(t *testing.T) fixture {
	t.Helper()
	f := newEmptyFixture(t)
	if status, b := do(t, f.handler, "POST", "/v1/apply", projectBody(t, map[string]string{"models.yaml": modelsYAML})); status != http.StatusOK {
		t.Fatalf("apply: %d %s", status, b)
	}
	return f
}

type versionBody struct {
	Model        string             `json:"model"`
	Version      int                `json:"version"`
	Format       string             `json:"format"`
	SHA256       string             `json:"sha256"`
	Size         int64              `json:"size"`
	TrainingSet  string             `json:"training_set"`
	TrainingRows int64              `json:"training_rows"`
	LabelStart   string             `json:"label_start"`
	LabelEnd     string             `json:"label_end"`
	Metrics      map[string]float64 `json:"metrics"`
	Encoding     json.RawMessage    `json:"encoding"`
	Trainer      string             `json:"trainer"`
	CreatedBy    string             `json:"created_by"`
	CreatedAt    string             `json:"created_at"`
}

type aliasBody struct {
	Model     string `json:"model"`
	Alias     string `json:"alias"`
	Version   int    `json:"version"`
	UpdatedBy string `json:"updated_by"`
	UpdatedAt string `json:"updated_at"`
	History   []struct {
		From int    `json:"from"`
		To   int    `json:"to"`
		By   string `json:"by"`
		At   string `json:"at"`
	} `json:"history"`
}

// form builds a multipart/form-data body: files then fields.
func form(t *testing.T, files map[string][]byte, fields map[string]string) (string, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for name, data := range files {
		fw, err := mw.CreateFormFile(name, name+".json")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	for name, v := range fields {
		mw.WriteField(name, v)
	}
	mw.Close()
	return b.String(), mw.FormDataContentType()
}

// raw sends a request and returns the whole response, whatever its type.
func raw(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set("X-Request-Id", testRequestID)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// upload posts a multipart body.
func upload(t *testing.T, h http.Handler, path, body, contentType string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Request-Id", testRequestID)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func TestModels(t *testing.T) {
	f := modelsFixture(t)
	h := f.handler

	// Train: 202 with the jobs; the training job's result says what it did.
	status, b := do(t, h, "POST", "/v1/models/order_model/train", `{"by": "ana"}`)
	if status != http.StatusAccepted {
		t.Fatalf("train: %d %s", status, b)
	}
	jobs := waitJobs(t, h, jobsOf(t, b))
	train := jobs[len(jobs)-1]
	if train.Kind != "train" || train.Status != "succeeded" || train.Resource.Name != "order_model" || train.Resource.Variant != "default" {
		t.Fatalf("training job %+v", train)
	}
	var res struct {
		Model    string             `json:"model"`
		Version  int                `json:"version"`
		Metrics  map[string]float64 `json:"metrics"`
		Alias    string             `json:"alias"`
		Promoted bool               `json:"promoted"`
		Reason   string             `json:"reason"`
	}
	decodeStrict(t, train.Result, &res)
	if res.Model != "order_model" || res.Version != 1 || !res.Promoted || res.Alias != "production" || res.Reason == "" {
		t.Errorf("training result %s", train.Result)
	}
	if _, ok := res.Metrics["rmse"]; !ok {
		t.Errorf("training result %s: no rmse", train.Result)
	}

	// The version, by number and through its alias: the same body.
	status, b = do(t, h, "GET", "/v1/models/order_model/versions/1", "")
	if status != http.StatusOK {
		t.Fatalf("version 1: %d %s", status, b)
	}
	var v1 versionBody
	decodeStrict(t, b, &v1)
	if v1.Model != "order_model" || v1.Version != 1 || v1.Format != "slipway-linear" || v1.TrainingSet != "order_value:default" ||
		v1.TrainingRows == 0 || v1.CreatedBy != "ana" || len(v1.Encoding) == 0 || v1.Metrics["rmse"] != res.Metrics["rmse"] || v1.CreatedAt == "" {
		t.Errorf("version 1: %s", b)
	}
	if status, b2 := do(t, h, "GET", "/v1/models/order_model/aliases/production", ""); status != http.StatusOK || !bytes.Equal(b, b2) {
		t.Errorf("production: %d %s; want version 1's body %s", status, b2, b)
	}

	// Its artifact: the bytes, their format and sha256.
	rec := raw(t, h, "GET", "/v1/models/order_model/versions/1/artifact")
	artifact := rec.Body.Bytes()
	sum := sha256.Sum256(artifact)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/octet-stream" ||
		rec.Header().Get(server.FormatHeader) != "slipway-linear" || rec.Header().Get(server.SHA256Header) != v1.SHA256 ||
		hex.EncodeToString(sum[:]) != v1.SHA256 || int64(len(artifact)) != v1.Size ||
		rec.Header().Get("Content-Length") != strconv.Itoa(len(artifact)) {
		t.Fatalf("artifact: %d %v %.200s", rec.Code, rec.Header(), artifact)
	}

	// Register the model file again, padded past the 10 MiB of other
	// bodies (JSON ignores the spaces): version 2, which moves no alias.
	padded := append(bytes.Clone(artifact), bytes.Repeat([]byte(" "), server.MaxBodyBytes+1)...)
	body, ct := form(t, map[string][]byte{"artifact": padded}, map[string]string{"training_set": "order_value", "by": "bo", "format": "slipway-linear"})
	status, b = upload(t, h, "/v1/models/order_model/versions", body, ct)
	if status != http.StatusCreated {
		t.Fatalf("register: %d %.500s", status, b)
	}
	var v2 versionBody
	decodeStrict(t, b, &v2)
	if v2.Version != 2 || v2.Trainer != "registered" || v2.CreatedBy != "bo" || v2.Size != int64(len(padded)) || v2.TrainingSet != "order_value:default" {
		t.Errorf("registered: %s", b)
	}
	// With no format (detected) and nobody named: "api".
	body, ct = form(t, map[string][]byte{"artifact": artifact}, map[string]string{"training_set": "order_value:default"})
	status, b = upload(t, h, "/v1/models/order_model/versions", body, ct)
	var v3 versionBody
	if status == http.StatusCreated {
		decodeStrict(t, b, &v3)
	}
	if status != http.StatusCreated || v3.Version != 3 || v3.Format != "slipway-linear" || v3.CreatedBy != "api" {
		t.Errorf("register without format and by: %d %s", status, b)
	}

	// Promote and roll back; every move is in the model's detail.
	status, b = do(t, h, "POST", "/v1/models/order_model/aliases/production", `{"version": 2, "by": "cy"}`)
	var a aliasBody
	if status == http.StatusOK {
		decodeStrict(t, b, &a)
	}
	if status != http.StatusOK || a.Version != 2 || a.UpdatedBy != "cy" || a.History != nil {
		t.Errorf("promote: %d %s", status, b)
	}
	status, b = do(t, h, "POST", "/v1/models/order_model/aliases/production/rollback", "")
	a = aliasBody{}
	if status == http.StatusOK {
		decodeStrict(t, b, &a)
	}
	if status != http.StatusOK || a.Version != 1 || a.UpdatedBy != "api" {
		t.Errorf("rollback: %d %s", status, b)
	}
	status, b = do(t, h, "GET", "/v1/models/order_model", "")
	var d struct {
		Model       string            `json:"model"`
		Definitions []json.RawMessage `json:"definitions"`
		Versions    []versionBody     `json:"versions"`
		Aliases     []aliasBody       `json:"aliases"`
	}
	decodeStrict(t, b, &d)
	if status != http.StatusOK || d.Model != "order_model" || len(d.Definitions) != 1 || len(d.Versions) != 3 || d.Versions[0].Version != 3 || len(d.Aliases) != 1 {
		t.Fatalf("detail: %d %s", status, b)
	}
	var moves []string
	for _, m := range d.Aliases[0].History {
		moves = append(moves, strconv.Itoa(m.From)+">"+strconv.Itoa(m.To)+" "+m.By)
		if m.At == "" {
			t.Errorf("move %+v has no time", m)
		}
	}
	if got := strings.Join(moves, ", "); got != "0>1 ana, 1>2 cy, 2>1 api" {
		t.Errorf("history %s; want 0>1 ana, 1>2 cy, 2>1 api", got)
	}
	status, b = do(t, h, "GET", "/v1/models", "")
	var l struct {
		Models []struct {
			Model       string            `json:"model"`
			Definitions []json.RawMessage `json:"definitions"`
			Latest      int               `json:"latest_version"`
			Aliases     []aliasBody       `json:"aliases"`
		} `json:"models"`
	}
	decodeStrict(t, b, &l)
	if status != http.StatusOK || len(l.Models) != 1 || l.Models[0].Latest != 3 || len(l.Models[0].Aliases) != 1 || l.Models[0].Aliases[0].Version != 1 {
		t.Errorf("list: %d %s", status, b)
	}
}

func TestModelErrors(t *testing.T) {
	f := modelsFixture(t)
	h := f.handler
	status, b := do(t, h, "POST", "/v1/models/order_model/train", "")
	if status != http.StatusAccepted {
		t.Fatalf("train: %d %s", status, b)
	}
	if jobs := waitJobs(t, h, jobsOf(t, b)); jobs[len(jobs)-1].Status != "succeeded" {
		t.Fatalf("train: %+v", jobs[len(jobs)-1])
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
		fragments          []string
	}{
		{"GET", "/v1/models/nope", "", 404, "not_found", []string{"model nope", "neither defined nor registered"}},
		{"GET", "/v1/models/Bad-Name", "", 400, "invalid_request", []string{"Bad-Name"}},
		{"GET", "/v1/models?x=1", "", 400, "invalid_request", []string{`"x"`}},
		{"GET", "/v1/models/order_model/versions/9", "", 404, "not_found", []string{"model order_model has no version 9"}},
		{"GET", "/v1/models/order_model/versions/0", "", 400, "invalid_request", []string{`version "0"`}},
		{"GET", "/v1/models/order_model/versions/abc", "", 400, "invalid_request", []string{`version "abc"`}},
		{"GET", "/v1/models/order_model/versions/9/artifact", "", 404, "not_found", []string{"no version 9"}},
		{"GET", "/v1/models/order_model/aliases/staging", "", 404, "not_found", []string{"model order_model has no alias staging"}},
		{"GET", "/v1/models/order_model/aliases/Bad", "", 400, "invalid_request", []string{"alias"}},
		{"POST", "/v1/models/nope/train", "", 404, "not_found", []string{"nope"}},
		{"POST", "/v1/models/order_model/train", `{"variant": "V!"}`, 400, "invalid_request", []string{"V!"}},
		{"POST", "/v1/models/order_model/train", `{"detach": true, "x": 1}`, 400, "invalid_request", []string{`"x"`}},
		{"POST", "/v1/models/order_model/aliases/production", `{"version": 9}`, 404, "not_found", []string{"model order_model has no version 9"}},
		{"POST", "/v1/models/order_model/aliases/production", `{}`, 400, "invalid_request", []string{"version"}},
		{"POST", "/v1/models/order_model/aliases/production", ``, 400, "invalid_request", []string{"empty body"}},
		{"POST", "/v1/models/order_model/aliases/production/rollback", ``, 400, "invalid_request", []string{"nothing to roll back to"}},
		{"POST", "/v1/models/order_model/aliases/staging/rollback", ``, 404, "not_found", []string{"no alias staging"}},
		{"POST", "/v1/models/order_model/versions", `{"artifact": "x"}`, 400, "invalid_request", []string{"multipart/form-data"}},
		{"DELETE", "/v1/models/order_model", "", 405, "method_not_allowed", []string{"GET"}},
	} {
		status, b := do(t, h, tc.method, tc.path, tc.body)
		t.Run(tc.method+" "+tc.path+" "+tc.body, func(t *testing.T) { wantError(t, status, b, tc.status, tc.code, tc.fragments...) })
	}

	// The parts of a registration.
	v, err := f.platform.GetModelVersion(t.Context(), platformRef("order_model", 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		files     map[string][]byte
		fields    map[string]string
		status    int
		code      string
		fragments []string
	}{
		{"no artifact", nil, map[string]string{"training_set": "order_value"}, 400, "invalid_request", []string{`no "artifact" part`}},
		{"no training set", map[string][]byte{"artifact": v.Artifact.Bytes}, nil, 400, "invalid_request", []string{`no "training_set" field`}},
		{"bad training set", map[string][]byte{"artifact": v.Artifact.Bytes}, map[string]string{"training_set": "Bad"}, 400, "invalid_request", []string{`training set "Bad"`}},
		{"unknown training set", map[string][]byte{"artifact": v.Artifact.Bytes}, map[string]string{"training_set": "nope"}, 404, "not_found", []string{"nope"}},
		{"unknown part", map[string][]byte{"artifact": v.Artifact.Bytes, "model": nil}, map[string]string{"training_set": "order_value"}, 400, "invalid_request", []string{`unknown form field "model"`}},
		{"long field", map[string][]byte{"artifact": v.Artifact.Bytes}, map[string]string{"training_set": "order_value", "by": strings.Repeat("x", 2000)}, 400, "invalid_request", []string{`"by" is over`}},
	} {
		body, ct := form(t, tc.files, tc.fields)
		status, b := upload(t, h, "/v1/models/order_model/versions", body, ct)
		t.Run("register "+tc.name, func(t *testing.T) { wantError(t, status, b, tc.status, tc.code, tc.fragments...) })
	}

	// A body over the upload bound is refused before it is read.
	req := httptest.NewRequest("POST", "/v1/models/order_model/versions", strings.NewReader("x"))
	req.ContentLength = server.MaxModelUploadBytes + 1
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	req.Header.Set("X-Request-Id", testRequestID)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	wantError(t, rec.Code, rec.Body.Bytes(), http.StatusRequestEntityTooLarge, "too_large", "256 MiB")
	// Other endpoints keep theirs.
	req = httptest.NewRequest("POST", "/v1/models/order_model/train", strings.NewReader("x"))
	req.ContentLength = server.MaxBodyBytes + 1
	req.Header.Set("X-Request-Id", testRequestID)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	wantError(t, rec.Code, rec.Body.Bytes(), http.StatusRequestEntityTooLarge, "too_large", "10 MiB")

	// Nothing was registered by the refused requests.
	if d, err := f.platform.ShowModel(t.Context(), "order_model"); err != nil || len(d.Versions) != 1 {
		t.Errorf("versions after refused registrations: %v %d; want 1", err, len(d.Versions))
	}
}

// TestRegisterBadModelFile: a model file that is not a model is the
// client's mistake, answered 400 with the platform's message, not a 500.
func TestRegisterBadModelFile(t *testing.T) {
	f := modelsFixture(t)
	for name, file := range map[string]string{
		"truncated":      `{"format": "slipway-linear", "version": 1, "task": "regre`,
		"not a model":    `{"hello": "world"}`,
		"unknown format": `{"format": "slipway-quadratic"}`,
	} {
		body, ct := form(t, map[string][]byte{"artifact": []byte(file)}, map[string]string{"training_set": "order_value"})
		status, b := upload(t, f.handler, "/v1/models/order_model/versions", body, ct)
		t.Run(name, func(t *testing.T) { wantError(t, status, b, http.StatusBadRequest, "invalid_request", "model file") })
	}
}

func TestEncodedExportSchema(t *testing.T) {
	f := modelsFixture(t)
	h := f.handler
	status, b := do(t, h, "POST", "/v1/training-sets/order_value/export", `{"encoded": true}`)
	if status != http.StatusAccepted {
		t.Fatalf("encoded export: %d %s", status, b)
	}
	jobs := waitJobs(t, h, jobsOf(t, b))
	id := strconv.FormatInt(jobs[len(jobs)-1].ID, 10)
	rec := raw(t, h, "GET", "/v1/jobs/"+id+"/schema")
	var schema struct {
		Format      string   `json:"format"`
		TrainingSet string   `json:"training_set"`
		Columns     []string `json:"columns"`
	}
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("schema: %d %s", rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &schema); err != nil || schema.TrainingSet != "order_value:default" || len(schema.Columns) == 0 {
		t.Fatalf("schema %s: %v", rec.Body, err)
	}
	rec = raw(t, h, "GET", "/v1/jobs/"+id+"/output")
	header, _, _ := strings.Cut(rec.Body.String(), "\n")
	if rec.Code != http.StatusOK || header != strings.Join(schema.Columns, ",") {
		t.Errorf("encoded file: %d header %q; want the schema's columns %q", rec.Code, header, schema.Columns)
	}
	// Fetching the file removed both.
	status, b = do(t, h, "GET", "/v1/jobs/"+id+"/schema", "")
	wantError(t, status, b, http.StatusNotFound, "not_found", "job "+id)

	// A plain export has no schema; an encoded one is csv only.
	status, b = do(t, h, "POST", "/v1/training-sets/order_value/export", `{"format": "csv"}`)
	if status != http.StatusAccepted {
		t.Fatalf("export: %d %s", status, b)
	}
	jobs = waitJobs(t, h, jobsOf(t, b))
	status, b = do(t, h, "GET", "/v1/jobs/"+strconv.FormatInt(jobs[len(jobs)-1].ID, 10)+"/schema", "")
	wantError(t, status, b, http.StatusNotFound, "not_found", "only an encoded export")
	status, b = do(t, h, "POST", "/v1/training-sets/order_value/export", `{"format": "parquet", "encoded": true}`)
	wantError(t, status, b, http.StatusBadRequest, "invalid_request", "encoded export is a csv file")
}

func platformRef(model string, version int) platform.ModelRef {
	return platform.ModelRef{Model: model, Version: version}
}

// FuzzModelRequests: any model name, version or alias segment and body is
// answered with a JSON error body, never a 500 (nothing is registered).
func FuzzModelRequests(f *testing.F) {
	for _, s := range [][3]string{
		{"purchase_model", "1", `{"version": 1, "by": "ana"}`},
		{"purchase_model", "production", `{"variant": "v2", "detach": true}`},
		{"Bad-Name", "0", `{"version": -1}`},
		{"nope", "staging", `{"by": 5}`},
		{"x", "99999999999999999999", `{} {}`},
		{"", "", ``},
	} {
		f.Add(s[0], s[1], s[2])
	}
	p, reg, on := newBackends(f)
	h := newHandler(f, p, reg, on).handler
	f.Fuzz(func(t *testing.T, name, seg, body string) {
		m := "/v1/models/" + url.PathEscape(name)
		where := []string{"model", "name", "version", "alias", "body", "JSON", "variant", "multipart"}
		fuzzRequest(t, h, "GET", m, "", "", where...)
		fuzzRequest(t, h, "POST", m+"/train", "", body, where...)
		fuzzRequest(t, h, "POST", m+"/versions", "", body, where...)
		fuzzRequest(t, h, "GET", m+"/versions/"+url.PathEscape(seg), "", "", where...)
		fuzzRequest(t, h, "GET", m+"/aliases/"+url.PathEscape(seg), "", "", where...)
		fuzzRequest(t, h, "POST", m+"/aliases/"+url.PathEscape(seg), "", body, where...)
		fuzzRequest(t, h, "POST", m+"/aliases/"+url.PathEscape(seg)+"/rollback", "", body, where...)
	})
}
