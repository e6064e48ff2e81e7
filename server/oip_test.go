package server_test

// The Open Inference Protocol v2 routes on the demo, with the embedded
// stores: purchase_model (binary classification) and spend_model
// (regression) trained through the platform, the features materialized,
// endpoints over them and over unserved_model, never trained.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/server"
	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

const oipEndpointsYAML = `models:
  - name: unserved_model
    training_set: purchase_propensity
    task: binary_classification
    trainer: {builtin: logistic_regression}
    validation: {holdout: 20%, metric: auc}
    promote: {alias: production, when: better}
endpoints:
  - name: oip_purchase
    model: purchase_model
  - name: oip_spend
    model: spend_model
  - name: oip_unserved
    model: unserved_model
`

// oipDemo is the demo served over HTTP with its endpoints.
type oipDemo struct {
	handler   http.Handler
	logs      *logBuffer
	store     online.Store
	endpoints *serving.Endpoints
	scorer    *model.Scorer     // purchase_model version 1
	spend     *model.Scorer     // spend_model version 1
	refs      []string          // each encoding feature's reference, aligned with scorer's features
	entities  []string          // the first subscribers
	online    *serving.Response // their features, as the online-features API serves them
}

func newOIPDemo(t testing.TB) *oipDemo {
	t.Helper()
	ctx := t.Context()
	p, dir := trainedDemo(t, map[string]string{"oip_endpoints.yaml": oipEndpointsYAML}, "purchase_model", "spend_model")
	reg, err := p.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	on, err := p.Online(ctx)
	if err != nil {
		t.Fatal(err)
	}
	asOf := time.Now().UTC()
	svc := &serving.Service{Registry: reg, Online: on, Now: func() time.Time { return asOf }}
	d := &oipDemo{store: on, endpoints: &serving.Endpoints{Features: svc}}
	d.handler, d.logs = withLog(server.Config{Platform: p, Serving: svc, Endpoints: d.endpoints})

	v, err := reg.GetModelVersion(ctx, "purchase_model", 1)
	if err != nil {
		t.Fatal(err)
	}
	if d.scorer, err = model.OpenScorer(v.Artifact.Format, v.Artifact.Bytes, v.Encoding); err != nil {
		t.Fatal(err)
	}
	spend, err := reg.GetModelVersion(ctx, "spend_model", 1)
	if err != nil {
		t.Fatal(err)
	}
	if d.spend, err = model.OpenScorer(spend.Artifact.Format, spend.Artifact.Bytes, spend.Encoding); err != nil {
		t.Fatal(err)
	}
	ts, err := reg.Get(ctx, v.TrainingSet)
	if err != nil {
		t.Fatal(err)
	}
	cols := ts.TrainingSet.FeatureColumns()
	for _, f := range d.scorer.Encoding().Features() {
		d.refs = append(d.refs, ts.TrainingSet.Features[slices.Index(cols, f.Name)].Ref().String())
	}
	subs, err := os.ReadFile(filepath.Join(dir, "data", "subscribers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(subs)), "\n")[1:101] {
		d.entities = append(d.entities, strings.SplitN(line, ",", 2)[0])
	}
	if d.online, err = svc.OnlineFeatures(ctx, &serving.Request{Features: d.refs, Entities: d.entities}); err != nil {
		t.Fatal(err)
	}
	return d
}

// waitOIPJobs follows jobs until they end and fails unless the last succeeded.
func waitOIPJobs(t testing.TB, p *platform.Platform, jobs []*registry.Job) {
	t.Helper()
	waitPlatform(t, p, jobs)
}

// oipInput is a request input as a client writes it.
type oipInput struct {
	Name     string `json:"name"`
	Shape    []int  `json:"shape"`
	Datatype string `json:"datatype"`
	Data     []any  `json:"data"`
}

type oipOutput struct {
	Name     string          `json:"name"`
	Shape    []int           `json:"shape"`
	Datatype string          `json:"datatype"`
	Data     json.RawMessage `json:"data"`
}

type oipResponse struct {
	ModelName    string            `json:"model_name"`
	ModelVersion string            `json:"model_version"`
	ID           string            `json:"id"`
	Parameters   map[string]string `json:"parameters"`
	Outputs      []oipOutput       `json:"outputs"`
}

// featureInputs are the rows' values as one input per feature, each typed
// as the model metadata says.
func featureInputs(features []model.Feature, rows [][]value.Value) []oipInput {
	ins := make([]oipInput, len(features))
	for j, f := range features {
		in := oipInput{Name: f.Name, Shape: []int{len(rows)}}
		switch f.Type {
		case value.Float64:
			in.Datatype = "FP64"
		case value.Int64:
			in.Datatype = "INT64"
		case value.Bool:
			in.Datatype = "BOOL"
		default:
			in.Datatype = "BYTES"
		}
		for _, row := range rows {
			v := row[j]
			switch {
			case v.IsNull():
				in.Data = append(in.Data, nil)
			case f.Type == value.Timestamp:
				in.Data = append(in.Data, v.Time().Format(time.RFC3339Nano))
			default:
				in.Data = append(in.Data, v.Any())
			}
		}
		ins[j] = in
	}
	return ins
}

func marshal(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// infer posts an inference request and decodes the 200 answer strictly.
func (d *oipDemo) infer(t *testing.T, path string, req any) oipResponse {
	t.Helper()
	status, b := do(t, d.handler, "POST", path, marshal(t, req))
	if status != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, status, b)
	}
	var resp oipResponse
	decodeStrict(t, b, &resp)
	return resp
}

// output returns an output's data as float64s, checking its name, type and shape.
func output(t *testing.T, resp oipResponse, name, datatype string, shape ...int) []float64 {
	t.Helper()
	for _, o := range resp.Outputs {
		if o.Name != name {
			continue
		}
		if o.Datatype != datatype || !slices.Equal(o.Shape, shape) {
			t.Fatalf("output %s: %s %v, want %s %v", name, o.Datatype, o.Shape, datatype, shape)
		}
		var data []float64
		if err := json.Unmarshal(o.Data, &data); err != nil {
			t.Fatalf("output %s: %v", name, err)
		}
		return data
	}
	t.Fatalf("no output %s in %+v", name, resp.Outputs)
	return nil
}

// oipError checks an error answer: the status and {"error": "..."} holding want.
func oipError(t *testing.T, h http.Handler, method, path, body string, status int, want string) {
	t.Helper()
	got, b := do(t, h, method, path, body)
	var e struct {
		Error string `json:"error"`
	}
	decodeStrict(t, b, &e)
	if got != status || !strings.Contains(e.Error, want) {
		t.Errorf("%s %s: %d %s; want %d with an error saying %q", method, path, got, b, status, want)
	}
}

func TestOIP(t *testing.T) {
	d := newOIPDemo(t)
	h := d.handler
	features := d.scorer.Encoding().Features()
	n := len(d.entities)

	t.Run("Health", func(t *testing.T) {
		if status, b := do(t, h, "GET", "/v2/health/live", ""); status != http.StatusOK || string(b) != "{\"live\":true}\n" {
			t.Errorf("live: %d %s", status, b)
		}
		if status, b := do(t, h, "GET", "/v2/health/ready", ""); status != http.StatusOK || string(b) != "{\"ready\":true}\n" {
			t.Errorf("ready: %d %s", status, b)
		}
		status, b := do(t, h, "GET", "/v2", "")
		var md struct {
			Name       string   `json:"name"`
			Version    string   `json:"version"`
			Extensions []string `json:"extensions"`
		}
		decodeStrict(t, b, &md)
		if status != http.StatusOK || md.Name != "slipway" || md.Version == "" || md.Extensions == nil {
			t.Errorf("server metadata: %d %s", status, b)
		}
	})

	t.Run("ModelReady", func(t *testing.T) {
		for _, tc := range []struct {
			path   string
			status int
			body   string
		}{
			{"/v2/models/oip_purchase/ready", http.StatusOK, `{"name":"oip_purchase","ready":true}`},
			{"/v2/models/oip_purchase/versions/1/ready", http.StatusOK, `{"name":"oip_purchase","ready":true}`},
			{"/v2/models/oip_spend/ready", http.StatusOK, `{"name":"oip_spend","ready":true}`},
			// unserved_model was never trained: its alias points at no version.
			{"/v2/models/oip_unserved/ready", http.StatusServiceUnavailable, `{"name":"oip_unserved","ready":false}`},
		} {
			if status, b := do(t, h, "GET", tc.path, ""); status != tc.status || strings.TrimSpace(string(b)) != tc.body {
				t.Errorf("GET %s: %d %s; want %d %s", tc.path, status, b, tc.status, tc.body)
			}
		}
		oipError(t, h, "GET", "/v2/models/nope/ready", "", http.StatusNotFound, "nope:default is not registered")
		oipError(t, h, "GET", "/v2/models/oip_purchase/versions/2/ready", "", http.StatusNotFound, "serves version 1 of its model, not \"2\"")
	})

	t.Run("Metadata", func(t *testing.T) {
		status, b := do(t, h, "GET", "/v2/models/oip_purchase", "")
		if status != http.StatusOK {
			t.Fatalf("metadata: %d %s", status, b)
		}
		var md server.OIPModelMetadata
		decodeStrict(t, b, &md)
		if md.Name != "oip_purchase" || !slices.Equal(md.Versions, []string{"1"}) || md.Platform == "" || len(md.Inputs) != len(features) {
			t.Fatalf("metadata: %s", b)
		}
		types := map[value.Type]string{value.Float64: "FP64", value.Int64: "INT64", value.Bool: "BOOL", value.String: "BYTES", value.Timestamp: "BYTES"}
		seen := map[string]bool{}
		for i, f := range features {
			in := md.Inputs[i]
			if in.Name != f.Name || in.Datatype != types[f.Type] || !slices.Equal(in.Shape, []int64{-1}) {
				t.Errorf("input %d: %+v; want feature %s (%s) as %s [-1]", i, in, f.Name, f.Type, types[f.Type])
			}
			seen[in.Datatype] = true
		}
		if !seen["FP64"] || !seen["INT64"] || !seen["BYTES"] {
			t.Errorf("the demo's features should cover FP64, INT64 and BYTES inputs: %s", b)
		}
		want := []server.OIPTensorMetadata{{Name: "prediction", Datatype: "FP64", Shape: []int64{-1}}, {Name: "class", Datatype: "INT64", Shape: []int64{-1}},
			{Name: "prediction_id", Datatype: "BYTES", Shape: []int64{-1}}}
		if fmt.Sprint(md.Outputs) != fmt.Sprint(want) {
			t.Errorf("outputs %+v, want %+v", md.Outputs, want)
		}
		if status, b2 := do(t, h, "GET", "/v2/models/oip_purchase/versions/1", ""); status != http.StatusOK || string(b2) != string(b) {
			t.Errorf("metadata of version 1: %d %s; want %s", status, b2, b)
		}
		oipError(t, h, "GET", "/v2/models/nope", "", http.StatusNotFound, "nope:default is not registered")
		oipError(t, h, "GET", "/v2/models/oip_unserved", "", http.StatusServiceUnavailable, "alias production of model unserved_model points at no version")
	})

	// The promise: raw feature values in, the scorer's predictions out,
	// with nothing read from the online store. The rows are the served
	// values, with every fifth row's strings an unknown category and its
	// numbers missing.
	rows := make([][]value.Value, n)
	for i, r := range d.online.Rows {
		rows[i] = slices.Clone(r.Values)
		if i%5 == 0 {
			for j, f := range features {
				switch f.Type {
				case value.String:
					rows[i][j] = value.FromString("never seen")
				case value.Float64, value.Int64:
					rows[i][j] = value.NullValue()
				}
			}
		}
	}
	want, err := d.scorer.ScoreRows(rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("InferRawFeatures", func(t *testing.T) {
		resp := d.infer(t, "/v2/models/oip_purchase/infer", map[string]any{"inputs": featureInputs(features, rows)})
		if resp.ModelName != "oip_purchase" || resp.ModelVersion != "1" || resp.ID != testRequestID ||
			resp.Parameters["model"] != "purchase_model" || resp.Parameters["alias"] != "production" || resp.Parameters["endpoint"] != "oip_purchase:default" {
			t.Errorf("response header %+v", resp)
		}
		if names := fmt.Sprint(len(resp.Outputs)); names != "3" {
			t.Errorf("outputs %+v: want prediction, class, prediction_id", resp.Outputs)
		}
		got := output(t, resp, "prediction", "FP64", n)
		classes := output(t, resp, "class", "INT64", n)
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("row %d: prediction %v, Scorer.ScoreRows %v", i, got[i], want[i])
			}
			if wc := float64(map[bool]int{true: 1}[want[i] > 0.5]); classes[i] != wc {
				t.Errorf("row %d: class %v for probability %v", i, classes[i], want[i])
			}
		}
		var ids []string
		json.Unmarshal(resp.Outputs[2].Data, &ids)
		if len(ids) != n || len(ids[0]) != 36 || ids[0] == ids[1] {
			t.Errorf("prediction ids %v", ids)
		}
		// The version in the path is the one served.
		again := d.infer(t, "/v2/models/oip_purchase/versions/1/infer", map[string]any{"inputs": featureInputs(features, rows)})
		if !slices.Equal(output(t, again, "prediction", "FP64", n), got) {
			t.Error("versions/1/infer answers other predictions")
		}
	})

	t.Run("InferEntities", func(t *testing.T) {
		keys := make([]any, n)
		for i, e := range d.entities {
			keys[i] = e
		}
		resp := d.infer(t, "/v2/models/oip_purchase/infer", map[string]any{"id": "by-entity",
			"inputs": []oipInput{{Name: "entity", Shape: []int{n}, Datatype: "BYTES", Data: keys}}})
		pr, err := d.endpoints.Predict(t.Context(), &serving.PredictRequest{Endpoint: "oip_purchase", Entities: d.entities})
		if err != nil {
			t.Fatal(err)
		}
		got := output(t, resp, "prediction", "FP64", n)
		served, err := d.scorer.ScoreRows(func() [][]value.Value {
			out := make([][]value.Value, n)
			for i, r := range d.online.Rows {
				out[i] = r.Values
			}
			return out
		}(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ID != "by-entity" {
			t.Errorf("id %q, want the request's", resp.ID)
		}
		for i, p := range pr.Predictions {
			if got[i] != *p.Probability || got[i] != served[i] {
				t.Errorf("entity %s: %v; Endpoints.Predict %v, the scorer on its online features %v", p.Entity, got[i], *p.Probability, served[i])
			}
		}
		// A feature input beside the entities overrides the stored value:
		// 40 for the numeric feature most often stored.
		j, most := 0, -1
		for k, f := range features {
			stored := 0
			for _, r := range d.online.Rows {
				if !r.Values[k].IsNull() {
					stored++
				}
			}
			if (f.Type == value.Int64 || f.Type == value.Float64) && stored > most {
				j, most = k, stored
			}
		}
		f := features[j]
		forty := value.FromInt64(40)
		if f.Type == value.Float64 {
			forty = value.FromFloat64(40)
		}
		over := featureInputs([]model.Feature{f}, func() [][]value.Value {
			out := make([][]value.Value, n)
			for i := range out {
				out[i] = []value.Value{forty}
			}
			return out
		}())[0]
		resp = d.infer(t, "/v2/models/oip_purchase/infer", map[string]any{"inputs": []oipInput{{Name: "entity", Shape: []int{n, 1}, Datatype: "BYTES", Data: keys}, over}})
		overrides := make([]map[string]value.Value, n)
		for i := range overrides {
			overrides[i] = map[string]value.Value{f.Name: forty}
		}
		pr, err = d.endpoints.Predict(t.Context(), &serving.PredictRequest{Endpoint: "oip_purchase", Entities: d.entities, Overrides: overrides})
		if err != nil {
			t.Fatal(err)
		}
		got = output(t, resp, "prediction", "FP64", n)
		changed := 0
		for i, p := range pr.Predictions {
			if got[i] != *p.Probability {
				t.Errorf("entity %s with %s overridden: %v; Endpoints.Predict %v", p.Entity, f.Name, got[i], *p.Probability)
			}
			if got[i] != served[i] {
				changed++
			}
		}
		if changed == 0 {
			t.Errorf("overriding %s with 40 changed no prediction", f.Name)
		}
	})

	// A regression model: its value as prediction, and no class. The rows
	// are made up from each feature's type (and vocabulary), with nulls.
	t.Run("InferRegression", func(t *testing.T) {
		fs := d.spend.Encoding().Features()
		rows := make([][]value.Value, 50)
		for i := range rows {
			rows[i] = make([]value.Value, len(fs))
			for j, f := range fs {
				var v value.Value
				switch f.Type {
				case value.Int64:
					v = value.FromInt64(int64(i % 9))
				case value.Float64:
					v = value.FromFloat64(float64(i) * 1.75)
				case value.Bool:
					v = value.FromBool(i%2 == 0)
				case value.Timestamp:
					v = value.FromTime(time.Date(2025, 5, 1+i%28, 8, 0, 0, 0, time.UTC))
				case value.String:
					vocab := append(d.spend.Encoding().Vocabulary(f.Name), "never seen")
					v = value.FromString(vocab[i%len(vocab)])
				}
				if (i+j)%11 == 0 {
					v = value.NullValue()
				}
				rows[i][j] = v
			}
		}
		want, err := d.spend.ScoreRows(rows, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp := d.infer(t, "/v2/models/oip_spend/infer", map[string]any{"inputs": featureInputs(fs, rows)})
		if len(resp.Outputs) != 2 || resp.Outputs[1].Name != "prediction_id" || resp.Parameters["model"] != "spend_model" {
			t.Errorf("outputs %+v: want prediction and prediction_id of spend_model", resp.Outputs)
		}
		if got := output(t, resp, "prediction", "FP64", len(rows)); !slices.Equal(got, want) {
			t.Errorf("predictions %v\nScorer.ScoreRows %v", got, want)
		}
	})

	// The spec's example shapes: an id, parameters, nested data of shape
	// [N, 1], and one requested output.
	t.Run("SpecExample", func(t *testing.T) {
		ins := featureInputs(features, rows[:2])
		var body strings.Builder
		body.WriteString(`{"id": "42", "parameters": {"content_type": "np"}, "inputs": [`)
		for j, in := range ins {
			if j > 0 {
				body.WriteString(",")
			}
			fmt.Fprintf(&body, `{"name": %q, "shape": [2, 1], "datatype": %q, "parameters": {"content_type": "np"}, "data": [[%s], [%s]]}`,
				in.Name, in.Datatype, marshal(t, in.Data[0]), marshal(t, in.Data[1]))
		}
		body.WriteString(`], "outputs": [{"name": "prediction", "parameters": {"binary_data": false}}]}`)
		status, b := do(t, h, "POST", "/v2/models/oip_purchase/infer", body.String())
		if status != http.StatusOK {
			t.Fatalf("%d %s", status, b)
		}
		var resp oipResponse
		decodeStrict(t, b, &resp)
		if resp.ID != "42" || len(resp.Outputs) != 1 {
			t.Fatalf("%s: want id 42 and the one output requested", b)
		}
		if got := output(t, resp, "prediction", "FP64", 2); got[0] != want[0] || got[1] != want[1] {
			t.Errorf("predictions %v, want %v", got, want[:2])
		}
	})

	t.Run("Errors", func(t *testing.T) {
		path := "/v2/models/oip_purchase/infer"
		good := featureInputs(features, rows[:3])
		with := func(edit func(ins []oipInput) []oipInput) string {
			ins := make([]oipInput, len(good))
			for i, in := range good {
				in.Shape, in.Data = slices.Clone(in.Shape), slices.Clone(in.Data)
				ins[i] = in
			}
			return marshal(t, map[string]any{"inputs": edit(ins)})
		}
		strIdx := slices.IndexFunc(features, func(f model.Feature) bool { return f.Type == value.String })
		numIdx := slices.IndexFunc(features, func(f model.Feature) bool { return f.Type == value.Float64 })
		for _, tc := range []struct {
			name, path, body string
			status           int
			want             string
		}{
			{"UnknownModel", "/v2/models/nope/infer", with(func(ins []oipInput) []oipInput { return ins }), http.StatusNotFound, "nope:default is not registered"},
			{"OtherVersion", "/v2/models/oip_purchase/versions/7/infer", with(func(ins []oipInput) []oipInput { return ins }), http.StatusNotFound, "not \"7\""},
			{"NoVersionServed", "/v2/models/oip_unserved/infer", with(func(ins []oipInput) []oipInput { return ins }), http.StatusServiceUnavailable, "points at no version"},
			{"MissingInput", path, with(func(ins []oipInput) []oipInput { return ins[1:] }), http.StatusBadRequest, "missing input(s) " + features[0].Name},
			{"NoInputs", path, `{"inputs": []}`, http.StatusBadRequest, "inputs is empty"},
			{"UnknownInput", path, with(func(ins []oipInput) []oipInput {
				return append(ins, oipInput{Name: "shoe_size", Shape: []int{3}, Datatype: "FP64", Data: []any{1, 2, 3}})
			}), http.StatusBadRequest, `no feature "shoe_size"`},
			{"WrongDatatype", path, with(func(ins []oipInput) []oipInput {
				ins[numIdx].Datatype, ins[numIdx].Data = "BYTES", []any{"a", "b", "c"}
				return ins
			}), http.StatusBadRequest, "datatype BYTES does not fit the feature, which is float64: send it as FP64"},
			{"NumbersForStrings", path, with(func(ins []oipInput) []oipInput {
				ins[strIdx].Datatype, ins[strIdx].Data = "FP64", []any{1, 2, 3}
				return ins
			}), http.StatusBadRequest, "send it as BYTES"},
			{"ElementOfAnotherType", path, with(func(ins []oipInput) []oipInput {
				ins[numIdx].Data[1] = "1.5"
				return ins
			}), http.StatusBadRequest, "data[1]: 1.5 is not a FP64 element"},
			{"UnknownDatatype", path, with(func(ins []oipInput) []oipInput { ins[numIdx].Datatype = "FLOAT"; return ins }), http.StatusBadRequest, `datatype "FLOAT" is not one of the protocol's`},
			{"WrongShape", path, with(func(ins []oipInput) []oipInput { ins[0].Shape = []int{1, 3}; return ins }), http.StatusBadRequest, "its shape is [N] or [N, 1]"},
			{"ShapeAndDataDisagree", path, with(func(ins []oipInput) []oipInput { ins[0].Data = ins[0].Data[:2]; return ins }), http.StatusBadRequest, "shape [3] holds 3 values but data has 2"},
			{"RowsDisagree", path, with(func(ins []oipInput) []oipInput {
				ins[1].Shape, ins[1].Data = []int{2}, ins[1].Data[:2]
				return ins
			}), http.StatusBadRequest, "has 2 rows"},
			{"DuplicateInput", path, with(func(ins []oipInput) []oipInput { return append(ins, ins[0]) }), http.StatusBadRequest, "given twice"},
			{"EmptyEntity", path, `{"inputs": [{"name": "entity", "shape": [1], "datatype": "BYTES", "data": [""]}]}`, http.StatusBadRequest, "empty entity key"},
			{"UnknownOutput", path, `{"inputs": [{"name": "entity", "shape": [1], "datatype": "BYTES", "data": ["x"]}], "outputs": [{"name": "output0"}]}`,
				http.StatusBadRequest, `no output "output0"; its outputs are prediction, class, prediction_id`},
			{"BinaryData", path, `{"inputs": [{"name": "entity", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 5}}]}`,
				http.StatusBadRequest, "binary tensor data is not supported"},
			{"ObjectData", path, `{"inputs": [{"name": "entity", "shape": [1], "datatype": "BYTES", "data": [{"a": 1}]}]}`, http.StatusBadRequest, "an object is not a tensor element"},
			{"UnknownField", path, `{"inputs": [], "input": []}`, http.StatusBadRequest, "unknown field"},
			{"MalformedJSON", path, `{"inputs": [`, http.StatusBadRequest, "malformed JSON body"},
		} {
			t.Run(tc.name, func(t *testing.T) { oipError(t, h, "POST", tc.path, tc.body, tc.status, tc.want) })
		}
	})

	t.Run("ProbesLogAtDebug", func(t *testing.T) {
		levels := map[string]string{}
		for _, l := range d.logs.lines(t) {
			if p, _ := l["path"].(string); l["msg"] == "request" {
				levels[p] = l["level"].(string)
			}
		}
		for path, want := range map[string]string{"/v2/health/live": "DEBUG", "/v2/health/ready": "DEBUG", "/v2/models/oip_purchase/ready": "INFO", "/v2/models/oip_purchase/infer": "INFO"} {
			if levels[path] != want {
				t.Errorf("%s logged at %q, want %s", path, levels[path], want)
			}
		}
	})

	// Last, as it closes the online store: feature values need none, entity
	// keys do, and the server is no longer ready.
	t.Run("OnlineStoreDown", func(t *testing.T) {
		if err := d.store.Close(); err != nil {
			t.Fatal(err)
		}
		resp := d.infer(t, "/v2/models/oip_purchase/infer", map[string]any{"inputs": featureInputs(features, rows)})
		if got := output(t, resp, "prediction", "FP64", n); !slices.Equal(got, want) {
			t.Errorf("predictions from feature values with the online store closed differ from Scorer.ScoreRows")
		}
		oipError(t, h, "POST", "/v2/models/oip_purchase/infer", `{"inputs": [{"name": "entity", "shape": [1], "datatype": "BYTES", "data": ["x"]}]}`,
			http.StatusServiceUnavailable, "a store behind the API is unavailable; retry later (the server log has the details under request id "+testRequestID+")")
		if status, b := do(t, h, "GET", "/v2/health/ready", ""); status != http.StatusServiceUnavailable || string(b) != "{\"ready\":false}\n" {
			t.Errorf("ready with the online store closed: %d %s", status, b)
		}
	})
}

// TestOIPOpenAPIExamples checks the documented /v2 examples have the shapes
// the server reads and writes.
func TestOIPOpenAPIExamples(t *testing.T) {
	doc := openAPI(t)
	strict := func(where string, v any, into any) {
		t.Helper()
		if v == nil {
			t.Errorf("%s: no example", where)
			return
		}
		dec := json.NewDecoder(strings.NewReader(marshal(t, v)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(into); err != nil {
			t.Errorf("%s: %v", where, err)
		}
	}
	reqs, _ := lookup(doc, "paths", "/v2/models/{name}/infer", "post", "requestBody", "content", "application/json", "examples").(map[string]any)
	if len(reqs) < 2 {
		t.Errorf("infer has %d request examples; want the entities and features ones", len(reqs))
	}
	for name, ex := range reqs {
		strict("infer request example "+name, lookup(ex, "value"), &server.OIPInferRequest{})
	}
	strict("infer response example", lookup(doc, "components", "responses", "OIPInferred", "content", "application/json", "example"), &oipResponse{})
	strict("metadata example", lookup(doc, "paths", "/v2/models/{name}", "get", "responses", "200", "content", "application/json", "example"), &server.OIPModelMetadata{})
	for _, r := range []string{"OIPInvalid", "OIPNotFound", "OIPUnavailable"} {
		strict(r+" example", lookup(doc, "components", "responses", r, "content", "application/json", "example"), &server.OIPError{})
	}
}

// FuzzOIPInfer sends any body to the inference route of a served endpoint:
// never a panic or a 5xx (the stores are healthy and the version loaded),
// always JSON; an error is {"error": "..."}, and an answer's outputs hold
// as many values as their shapes say.
func FuzzOIPInfer(f *testing.F) {
	d := newOIPDemo(f)
	features := d.scorer.Encoding().Features()
	rows := make([][]value.Value, 2)
	for i := range rows {
		rows[i] = d.online.Rows[i].Values
	}
	f.Add(marshal(f, map[string]any{"inputs": featureInputs(features, rows)}))
	f.Add(marshal(f, map[string]any{"id": "1", "inputs": []oipInput{{Name: "entity", Shape: []int{2}, Datatype: "BYTES", Data: []any{d.entities[0], "x"}}},
		"outputs": []map[string]string{{"name": "class"}}}))
	f.Add(`{"id": "42", "inputs": [{"name": "input0", "shape": [2, 2], "datatype": "UINT32", "data": [1, 2, 3, 4]}, {"name": "input1", "shape": [3], "datatype": "BOOL", "data": [true]}], "outputs": [{"name": "output0"}]}`)
	f.Add(`{"inputs": [{"name": "entity", "shape": [1, 1], "datatype": "INT64", "data": [[7]]}]}`)
	huge := featureInputs(features, rows)
	for i := range huge {
		if huge[i].Datatype == "FP64" || huge[i].Datatype == "INT64" {
			huge[i].Datatype, huge[i].Data = "FP64", []any{1e308, -1e308}
		}
	}
	f.Add(marshal(f, map[string]any{"inputs": huge}))
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequestWithContext(t.Context(), "POST", "/v2/models/oip_purchase/infer", strings.NewReader(body))
		rec := httptest.NewRecorder()
		d.handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%q: status %d: %s", body, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK {
			var e server.OIPError
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%q: status %d without an error message: %s", body, rec.Code, rec.Body)
			}
			return
		}
		var resp oipResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("%q: %v: %s", body, err, rec.Body)
		}
		for _, o := range resp.Outputs {
			var data []any
			if err := json.Unmarshal(o.Data, &data); err != nil {
				t.Fatalf("%q: output %s: %v", body, o.Name, err)
			}
			size := 1
			for _, dim := range o.Shape {
				size *= dim
			}
			if len(data) != size {
				t.Fatalf("%q: output %s of shape %v holds %d values", body, o.Name, o.Shape, len(data))
			}
		}
	})
}
