package server_test

// External models (format oip-v2) served by an endpoint: an Open Inference
// Protocol v2 model server written for the test, registered on the demo
// through the platform, promoted and served; its timeouts and garbage
// answered 504 and 502.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
	"github.com/slipway-ml/slipway/serving"
)

// remoteModel is the test's model server: POST /v2/models/remote/infer
// with one FP64 input [n, f] (null for missing) answers a probability per
// row, remoteProbability of the row, unless mode says to fail.
type remoteModel struct {
	*httptest.Server
	mode  atomic.Value // "", "slow", "garbage" or "500"
	calls atomic.Int64
	last  atomic.Pointer[[]*float64] // the last request's input data
}

// remoteProbability is a logistic function of a row's values, missing
// ones left out.
func remoteProbability(row []*float64) float64 {
	s := -1.0
	for i, v := range row {
		if v != nil {
			s += *v * 0.01 * float64(i+1)
		}
	}
	return 1 / (1 + math.Exp(-s))
}

func newRemoteModel(t *testing.T) *remoteModel {
	t.Helper()
	m := &remoteModel{}
	m.mode.Store("")
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.calls.Add(1)
		var req struct {
			Inputs []struct {
				Name     string     `json:"name"`
				Shape    []int      `json:"shape"`
				Datatype string     `json:"datatype"`
				Data     []*float64 `json:"data"`
			} `json:"inputs"`
		}
		if r.URL.Path != "/v2/models/remote/infer" || json.NewDecoder(r.Body).Decode(&req) != nil || len(req.Inputs) != 1 ||
			req.Inputs[0].Name != "input__0" || req.Inputs[0].Datatype != "FP64" || len(req.Inputs[0].Shape) != 2 ||
			req.Inputs[0].Shape[0]*req.Inputs[0].Shape[1] != len(req.Inputs[0].Data) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error": "not an infer request this model reads"}`)
			return
		}
		in := req.Inputs[0]
		m.last.Store(&in.Data)
		switch m.mode.Load().(string) {
		case "slow":
			select {
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
			return
		case "garbage":
			fmt.Fprint(w, `{"outputs": "all good"`)
			return
		case "500":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error": "model crashed"}`)
			return
		}
		n, f := in.Shape[0], in.Shape[1]
		probs := make([]float64, n)
		for i := range probs {
			probs[i] = remoteProbability(in.Data[i*f : (i+1)*f])
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"model_name": "remote", "outputs": []map[string]any{
			{"name": "predict_proba_1", "shape": []int{n}, "datatype": "FP64", "data": probs}}})
	}))
	t.Cleanup(m.Close)
	return m
}

// TestExternalModelEndpoint: an oip-v2 version registered through the
// platform (validated by scoring the holdout through the remote model),
// promoted and served by an endpoint answers the remote model's
// predictions of the version's encoded rows; a remote model that does not
// answer in time is 504 model_timeout, one that answers garbage or an
// error 502 model_error, each saying which model and what happened.
func TestExternalModelEndpoint(t *testing.T) {
	t.Parallel()
	f := newPredictFixture(t)
	ctx := t.Context()
	remote := newRemoteModel(t)
	ts := resource.ID{Kind: resource.KindTrainingSet, Name: "purchase_propensity", Variant: resource.DefaultVariant}
	doc := fmt.Sprintf(`{"url": %q, "task": "binary_classification", "features": %d, "timeout": "1s"}`, remote.URL+"/v2/models/remote", len(demoFeatures))

	// A model server that answers garbage is refused at registration.
	remote.mode.Store("garbage")
	_, err := f.p.RegisterModel(ctx, &platform.RegisterModelParams{Model: "remote_model", Format: model.FormatOIPV2, Artifact: []byte(doc), TrainingSet: ts, By: "ana"})
	if !errors.Is(err, platform.ErrInvalid) || !errors.Is(err, model.ErrRemote) || !strings.Contains(err.Error(), "not an OIP v2 inference response") {
		t.Fatalf("registering a model whose server answers garbage: %v", err)
	}
	remote.mode.Store("")
	v, err := f.p.RegisterModel(ctx, &platform.RegisterModelParams{Model: "remote_model", Format: model.FormatOIPV2, Artifact: []byte(doc), TrainingSet: ts, By: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Artifact.Format != model.FormatOIPV2 || v.Metrics[model.MetricAUC] == 0 {
		t.Errorf("version %d: format %s, metrics %v; want oip-v2 with the holdout's", v.Version, v.Artifact.Format, v.Metrics)
	}
	if _, err := f.p.PromoteModel(ctx, &platform.PromoteParams{Model: "remote_model", Version: v.Version, Alias: "production", By: "ana"}); err != nil {
		t.Fatal(err)
	}
	apply(t, f.reg, &resource.Resource{ID: resource.ID{Kind: resource.KindEndpoint, Name: "remote", Variant: resource.DefaultVariant},
		Endpoint: &resource.EndpointSpec{Model: "remote_model", Alias: "production"}})

	// The remote model's answers for the rows the version's encoding makes
	// of the online features.
	entities := f.entities[:50]
	got := f.predict(t, "remote", predictBody(t, entities, nil))
	stored, err := f.reg.GetModelVersion(ctx, "remote_model", v.Version)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := model.ParseEncoding(stored.Encoding)
	if err != nil {
		t.Fatal(err)
	}
	served, err := f.svc.OnlineFeatures(ctx, &serving.Request{Features: demoFeatures, Entities: entities})
	if err != nil {
		t.Fatal(err)
	}
	sent := *remote.last.Load()
	if len(sent) != len(entities)*enc.Width() {
		t.Fatalf("the remote model got %d values for %d entities of %d columns", len(sent), len(entities), enc.Width())
	}
	var nulls int
	for i, row := range served.Rows {
		x, err := enc.Encode(row.Values, nil)
		if err != nil {
			t.Fatal(err)
		}
		in := make([]*float64, len(x))
		for j := range x {
			if !math.IsNaN(x[j]) {
				in[j] = &x[j]
			}
			if s := sent[i*len(x)+j]; (s == nil) != (in[j] == nil) || (s != nil && *s != x[j]) {
				t.Errorf("entity %s column %d: sent %v, its encoded value is %v", entities[i], j, s, x[j])
			}
		}
		for _, s := range sent[i*len(x) : (i+1)*len(x)] {
			if s == nil {
				nulls++
			}
		}
		p := got.Predictions[i]
		if want := remoteProbability(in); p.Entity != entities[i] || p.Probability == nil || *p.Probability != want || p.Version != v.Version {
			t.Errorf("predictions[%d] %+v; want %s with probability %v from version %d", i, p, entities[i], want, v.Version)
		}
	}
	if got.Model != "remote_model" || got.Task != model.TaskBinaryClassification || nulls == 0 {
		t.Errorf("answer of model %s, task %s, %d missing values sent; want remote_model, binary_classification, some", got.Model, got.Task, nulls)
	}

	// Failures of the remote model.
	body := predictBody(t, entities[:3], nil)
	for _, c := range []struct {
		mode   string
		status int
		code   string
		want   string
	}{
		{"slow", http.StatusGatewayTimeout, "model_timeout", `did not answer within 1s (the "timeout" of its oip-v2 document)`},
		{"garbage", http.StatusBadGateway, "model_error", "answered a body that is not an OIP v2 inference response"},
		{"500", http.StatusBadGateway, "model_error", "answered HTTP 500: model crashed"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			remote.mode.Store(c.mode)
			defer remote.mode.Store("")
			status, b := do(t, f.handler, "POST", "/v1/endpoints/remote/predict", body)
			wantError(t, status, b, c.status, c.code, "endpoint remote:default: scoring with model remote_model version 1",
				"external model "+remote.URL+"/v2/models/remote: ", c.want)
			// The OIP v2 route answers the same status in the protocol's shape.
			status, b = do(t, f.handler, "POST", "/v2/models/remote/infer",
				fmt.Sprintf(`{"inputs": [{"name": "entity", "shape": [1], "datatype": "BYTES", "data": [%q]}]}`, entities[0]))
			var e server.OIPError
			if status != c.status || json.Unmarshal(b, &e) != nil || !strings.Contains(e.Error, c.want) {
				t.Errorf("OIP v2 infer: %d %s; want %d saying %q", status, b, c.status, c.want)
			}
		})
	}
	// Back to answering: served again, with no reload.
	if again := f.predict(t, "remote", predictBody(t, entities[:1], nil)); *again.Predictions[0].Probability != *got.Predictions[0].Probability {
		t.Errorf("after the failures: %v, before %v", *again.Predictions[0].Probability, *got.Predictions[0].Probability)
	}
}
