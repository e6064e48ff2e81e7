package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/value"
)

// oipServer is a small Open Inference Protocol v2 model server for the
// tests: it reads the FP64 input tensor (null for missing), scores each row
// with a fixed function and answers as its mode says.
type oipServer struct {
	*httptest.Server
	mode atomic.Value // string: "" answers, else the failure to act out
	// shape is how the answer's tensor is laid out: "flat" ([n], or [n, k]
	// flat), "nested" ([[...], ...] with shape [n, k]), "pair" (binary as
	// [n, 2] class probabilities).
	shape atomic.Value
	// last is the last request's input data.
	last atomic.Pointer[[]*float64]
}

// remoteScore is the test server's model: a logistic function of the
// row's values (missing ones left out) for probabilities, the sum for
// regression; class c of K gets a softmax of c times the sum.
func remoteScore(task string, k int, row []*float64) []float64 {
	s := 0.0
	for i, v := range row {
		if v != nil {
			s += *v * 0.1 * float64(i+1)
		}
	}
	switch task {
	case TaskRegression:
		return []float64{s}
	case TaskMulticlass:
		out := make([]float64, k)
		var z float64
		for c := range out {
			out[c] = math.Exp(float64(c) * math.Tanh(s))
			z += out[c]
		}
		for c := range out {
			out[c] /= z
		}
		return out
	}
	return []float64{1 / (1 + math.Exp(-s))}
}

func newOIPServer(t *testing.T, task string, k int) *oipServer {
	t.Helper()
	srv := &oipServer{}
	srv.mode.Store("")
	srv.shape.Store("flat")
	srv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v2/models/m/infer" {
			http.Error(w, `{"error": "no route"}`, http.StatusNotFound)
			return
		}
		var req struct {
			Inputs []struct {
				Name     string     `json:"name"`
				Shape    []int      `json:"shape"`
				Datatype string     `json:"datatype"`
				Data     []*float64 `json:"data"`
			} `json:"inputs"`
			Outputs []struct {
				Name string `json:"name"`
			} `json:"outputs"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || len(req.Inputs) != 1 || req.Inputs[0].Datatype != "FP64" || len(req.Inputs[0].Shape) != 2 ||
			req.Inputs[0].Shape[0]*req.Inputs[0].Shape[1] != len(req.Inputs[0].Data) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error": "bad request: %v"}`, err)
			return
		}
		in := req.Inputs[0]
		srv.last.Store(&in.Data)
		switch srv.mode.Load().(string) {
		case "slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		case "garbage":
			fmt.Fprint(w, "<html>Bad Gateway</html>")
			return
		case "500":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error": "model crashed: CUDA out of memory"}`)
			return
		case "short":
			in.Shape[0]-- // answers one row too few
		case "out of range":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"outputs": [{"name": "prediction", "shape": [%d], "datatype": "FP64", "data": [%s]}]}`,
				in.Shape[0], strings.Repeat("1.5,", in.Shape[0]-1)+"1.5")
			return
		}
		n, f := in.Shape[0], in.Shape[1]
		var vals []float64
		for i := range n {
			vals = append(vals, remoteScore(task, k, in.Data[i*f:(i+1)*f])...)
		}
		type output struct {
			Name     string `json:"name"`
			Shape    []int  `json:"shape"`
			Datatype string `json:"datatype"`
			Data     any    `json:"data"`
		}
		o := output{Name: "prediction", Shape: []int{n}, Datatype: "FP64", Data: vals}
		switch srv.shape.Load().(string) {
		case "flat":
			if k > 1 {
				o.Shape = []int{n, k}
			}
		case "nested":
			nested := make([][]float64, n)
			for i := range nested {
				nested[i] = vals[i*k : (i+1)*k]
			}
			o.Shape, o.Data = []int{n, k}, nested
		case "pair":
			pairs := make([]float64, 0, 2*n)
			for _, p := range vals {
				pairs = append(pairs, 1-p, p)
			}
			o.Shape, o.Data, o.Datatype = []int{n, 2}, pairs, "FP32"
		}
		resp := struct {
			ModelName string   `json:"model_name"`
			Outputs   []output `json:"outputs"`
		}{ModelName: "m", Outputs: []output{o, {Name: "label", Shape: []int{n}, Datatype: "INT64", Data: make([]int, n)}}}
		if len(req.Outputs) == 1 && (req.Outputs[0].Name == "prediction" || req.Outputs[0].Name == "label") { // others: ignored
			resp.Outputs = slices.DeleteFunc(resp.Outputs, func(o output) bool { return o.Name != req.Outputs[0].Name })
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func remoteDoc(url, task string, features int, extra string) []byte {
	return []byte(fmt.Sprintf(`{"url": %q, "task": %q, "features": %d, "output": "prediction"%s}`, url, task, features, extra))
}

func loadRemote(t *testing.T, doc []byte) *Remote {
	t.Helper()
	p, err := Load(FormatOIPV2, doc)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*Remote)
}

// TestRemoteAnswers: the vectors go out as one FP64 tensor (missing as null,
// or as the document's "missing"), and the answers come back in row order
// whatever the tensor's layout.
func TestRemoteAnswers(t *testing.T) {
	x := []float64{1, math.NaN(), 3, -2, 0.5, 7, 4, math.NaN(), 4} // rows 0 and 2 have a missing value
	rows := [][]float64{x[0:3], x[3:6], x[6:9]}
	ptr := func(v float64) *float64 {
		if math.IsNaN(v) {
			return nil
		}
		return &v
	}
	want := func(task string, k int, missing *float64) []float64 {
		var out []float64
		for _, r := range rows {
			in := make([]*float64, len(r))
			for i, v := range r {
				if in[i] = ptr(v); in[i] == nil {
					in[i] = missing
				}
			}
			out = append(out, remoteScore(task, k, in)...)
		}
		return out
	}
	minus := -1.0
	for _, c := range []struct {
		name, task, shape, extra string
		k                        int
		missing                  *float64
	}{
		{"binary", TaskBinaryClassification, "flat", "", 1, nil},
		{"binary as class probabilities", TaskBinaryClassification, "pair", "", 1, nil},
		{"regression nested", TaskRegression, "nested", "", 1, nil},
		{"multiclass", TaskMulticlass, "flat", `, "classes": 3`, 3, nil},
		{"multiclass nested", TaskMulticlass, "nested", `, "classes": 3`, 3, nil},
		{"missing as a number", TaskRegression, "flat", `, "missing": -1`, 1, &minus},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newOIPServer(t, c.task, c.k)
			srv.shape.Store(c.shape)
			r := loadRemote(t, remoteDoc(srv.URL+"/v2/models/m", c.task, 3, c.extra))
			if r.NumOutputs() != c.k || r.Task() != c.task || r.NumFeatures() != 3 {
				t.Errorf("outputs %d, task %s, features %d", r.NumOutputs(), r.Task(), r.NumFeatures())
			}
			got, err := r.PredictRows(x, nil)
			if err != nil {
				t.Fatal(err)
			}
			w := want(c.task, c.k, c.missing)
			tol := 0.0
			if c.shape == "pair" {
				tol = 1e-15 // 1-p then p again
			}
			if len(got) != len(w) {
				t.Fatalf("%d values, want %d", len(got), len(w))
			}
			for i := range w {
				if math.Abs(got[i]-w[i]) > tol {
					t.Errorf("value %d: %v, want %v", i, got[i], w[i])
				}
			}
			sent := *srv.last.Load()
			if c.missing == nil && (sent[1] != nil || sent[7] != nil || sent[0] == nil || *sent[0] != 1) {
				t.Errorf("sent %v: missing values must be null, the others the numbers", sent)
			}
			if c.missing != nil && (sent[1] == nil || *sent[1] != -1) {
				t.Errorf("sent %v for a missing value, want -1", sent[1])
			}
			one, err := r.Predict(rows[1], nil)
			if err != nil || !slices.Equal(one, got[c.k:2*c.k]) {
				t.Errorf("Predict of row 1: %v, %v; PredictRows gave %v", one, err, got[c.k:2*c.k])
			}
		})
	}
}

// TestRemoteThroughScorer: a Scorer encodes the rows and passes its context
// to the remote call.
func TestRemoteThroughScorer(t *testing.T) {
	srv := newOIPServer(t, TaskBinaryClassification, 1)
	enc := buildEncoding(t, []Feature{{Name: "a", Type: value.Float64}, {Name: "b", Type: value.Bool}}, EncodingConfig{}, nil)
	s, err := OpenScorer(FormatOIPV2, remoteDoc(srv.URL+"/v2/models/m/", TaskBinaryClassification, 2, ""), mustJSON(t, enc))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ScoreRowsContext(t.Context(), [][]value.Value{{value.FromFloat64(2), value.FromBool(true)}, {value.NullValue(), value.FromBool(false)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	two, one, zero := 2.0, 1.0, 0.0
	want := []float64{remoteScore(TaskBinaryClassification, 1, []*float64{&two, &one})[0], remoteScore(TaskBinaryClassification, 1, []*float64{nil, &zero})[0]}
	if !slices.Equal(got, want) {
		t.Errorf("ScoreRowsContext %v, want %v", got, want)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = s.ScoreRowsContext(ctx, [][]value.Value{{value.FromFloat64(1), value.FromBool(true)}}, nil)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrRemote) {
		t.Errorf("a cancelled request: %v; want context.Canceled, not an external model's failure", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRemoteFailures: every way the call fails is a *RemoteError of its
// kind that says what happened.
func TestRemoteFailures(t *testing.T) {
	srv := newOIPServer(t, TaskBinaryClassification, 1)
	x := []float64{1, 2, 3, 4, 5, 6}
	for _, c := range []struct {
		name, mode, doc string
		kind            RemoteErrorKind
		want            []string
	}{
		{"Slow", "slow", `, "output": "prediction", "timeout": "50ms"`, RemoteTimeout, []string{"did not answer within 50ms", `"timeout"`}},
		{"Garbage", "garbage", "", RemoteBadAnswer, []string{"not an OIP v2 inference response", "<html>Bad Gateway"}},
		{"Status500", "500", "", RemoteStatus, []string{"answered HTTP 500: model crashed: CUDA out of memory"}},
		{"WrongShape", "short", `, "output": "prediction"`, RemoteBadAnswer, []string{`output "prediction" with shape [1] for 2 rows: want [2] or [2, 1]`}},
		{"OutOfRange", "out of range", "", RemoteBadAnswer, []string{"answered 1.5 for row 0", "probabilities, from 0 to 1"}},
		{"UnknownOutput", "", `, "output": "score"`, RemoteBadAnswer, []string{`no output "score" (its outputs: prediction, label)`}},
		{"TwoOutputs", "", "", RemoteBadAnswer, []string{`answered 2 outputs (prediction, label): name the one to read in the oip-v2 document's "output"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv.mode.Store(c.mode)
			defer srv.mode.Store("")
			doc := []byte(fmt.Sprintf(`{"url": %q, "task": "binary_classification", "features": 3%s}`, srv.URL+"/v2/models/m", c.doc))
			_, err := loadRemote(t, doc).PredictRows(x, nil)
			var re *RemoteError
			if !errors.As(err, &re) || re.Kind != c.kind || !errors.Is(err, ErrRemote) {
				t.Fatalf("error %v; want a RemoteError of kind %s", err, c.kind)
			}
			if errors.Is(err, ErrRemoteTimeout) != (c.kind == RemoteTimeout) {
				t.Errorf("errors.Is(ErrRemoteTimeout) is %v for kind %s", !(c.kind == RemoteTimeout), c.kind)
			}
			if !strings.HasPrefix(err.Error(), "external model "+srv.URL+"/v2/models/m: ") {
				t.Errorf("error %q does not name the model's URL", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if c.kind == RemoteStatus && re.Status != 500 {
				t.Errorf("status %d, want 500", re.Status)
			}
		})
	}

	// A wrong model path is the server's 404.
	_, err := loadRemote(t, remoteDoc(srv.URL+"/v2/models/other", TaskBinaryClassification, 3, "")).PredictRows(x, nil)
	if re := (*RemoteError)(nil); !errors.As(err, &re) || re.Status != 404 || !strings.Contains(err.Error(), "answered HTTP 404: no route") {
		t.Errorf("unknown model: %v", err)
	}
	// A server that is gone, with the password in the URL left out of errors.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	u := strings.Replace(gone.URL, "http://", "http://ana:s3cret@", 1) + "/v2/models/m"
	_, err = loadRemote(t, remoteDoc(u, TaskBinaryClassification, 3, "")).PredictRows(x, nil)
	if re := (*RemoteError)(nil); !errors.As(err, &re) || re.Kind != RemoteUnreachable || !strings.Contains(err.Error(), "cannot be reached") ||
		strings.Contains(err.Error(), "s3cret") {
		t.Errorf("unreachable: %v", err)
	}
	// Rows that are not whole are the caller's error, before any call.
	if _, err := loadRemote(t, remoteDoc(srv.URL+"/v2/models/m", TaskBinaryClassification, 3, "")).PredictRows(x[:4], nil); err == nil || errors.Is(err, ErrRemote) {
		t.Errorf("4 values of 3-feature rows: %v", err)
	}
}

// TestParseRemoteErrors: a bad document is refused naming the field.
func TestParseRemoteErrors(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{`{"task": "regression", "features": 2}`, `no "url"`},
		{`{"url": "ftp://h/v2/models/m", "task": "regression", "features": 2}`, `not an http:// or https:// URL`},
		{`{"url": "http://h:8080/models/m", "task": "regression", "features": 2}`, `must end with /v2/models/NAME`},
		{`{"url": "http://h:8080/v2/models/m/infer", "task": "regression", "features": 2}`, `ends with /infer`},
		{`{"url": "http://h:8080/v2/models/m?x=1", "task": "regression", "features": 2}`, `query or fragment`},
		{`{"url": "http://h/v2/models/m", "task": "ranking", "features": 2}`, `"task"`},
		{`{"url": "http://h/v2/models/m", "task": "regression"}`, `"features" is 0`},
		{`{"url": "http://h/v2/models/m", "task": "multiclass", "features": 2}`, `"classes" is 0`},
		{`{"url": "http://h/v2/models/m", "task": "regression", "features": 2, "classes": 3}`, `only a multiclass model`},
		{`{"url": "http://h/v2/models/m", "task": "regression", "features": 2, "timeout": "2"}`, `"timeout" "2" is not a positive duration`},
		{`{"url": "http://h/v2/models/m", "task": "regression", "features": 2, "timeout": "-1s"}`, `"timeout" "-1s"`},
		{`{"url": "http://h/v2/models/m", "task": "regression", "features": 2, "timout": "1s"}`, `unknown field "timout"`},
		{`{"url": "http://h/v2/models/m", "task": "regression", "features": 2} {}`, `more than one JSON value`},
		{`not json`, `the oip-v2 document is not valid`},
	} {
		_, err := Load(FormatOIPV2, []byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want it to say %q", c.doc, err, c.want)
		}
	}
	if f, err := DetectFormat([]byte(`{"url": "http://h/v2/models/m", "task": "regression", "features": 2}`)); f != FormatOIPV2 || err != nil {
		t.Errorf("DetectFormat of an oip-v2 document: %q, %v", f, err)
	}
	r, err := ParseRemote([]byte(`{"url": "https://h/kserve/v2/models/m/versions/3", "task": "regression", "features": 2, "timeout": "250ms", "input": "x"}`))
	if err != nil || r.infer != "https://h/kserve/v2/models/m/versions/3/infer" || r.timeout != 250*time.Millisecond || r.input != "x" {
		t.Errorf("a version URL behind a prefix: %+v, %v", r, err)
	}
}
