package client_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/client"
	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// TestPredict: Client.Predict answers what Platform.Predict answers on
// the same stores (the prediction ids apart), with the same error texts,
// and its errors are the serving sentinels for errors.Is.
func TestPredict(t *testing.T) {
	ctx := t.Context()
	p := openPlatform(t, config.Default())
	defs := project(t)
	// An endpoint over a model that is never trained: no version to serve.
	defs.Files["spend_endpoint.yaml"] = "endpoints:\n  - name: spend\n    model: spend_model\n"
	if _, err := p.Apply(ctx, defs); err != nil {
		t.Fatal(err)
	}
	waitJobs(t, p, must(p.Train(ctx, &platform.TrainParams{Model: resource.ID{Kind: resource.KindModel, Name: "purchase_model", Variant: resource.DefaultVariant}})))
	waitJobs(t, p, must(p.Materialize(ctx, &platform.MaterializeParams{})))
	reg := must(p.Registry(ctx))
	on := must(p.Online(ctx))
	svc := &serving.Service{Registry: reg, Online: on}
	srv := httptest.NewServer(server.New(server.Config{Platform: p, Serving: svc, Endpoints: &serving.Endpoints{Features: svc}}))
	t.Cleanup(srv.Close)
	c := must(client.New(srv.URL))
	t.Cleanup(func() { c.Close() })

	keys := []string{"sub_1", "sub_2", "42", "sub_does_not_exist"}
	for _, req := range []*serving.PredictRequest{
		{Endpoint: "purchase", Entities: keys},
		{Endpoint: "purchase:default", Entities: keys[:2], Overrides: []map[string]value.Value{
			{"opens_30d": value.FromInt64(40), "avg_order_value": value.FromFloat64(12.5), "is_unsubscribed": value.FromBool(true), "signup_channel": value.FromString("ads")},
			{"opens_30d:v1": value.FromFloat64(3), "clicks_30d": value.NullValue()},
		}},
	} {
		direct, err := p.Predict(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		remote, err := c.Predict(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(remote.Predictions) != len(req.Entities) || remote.Predictions[0].ID == "" {
			t.Fatalf("remote answer %+v", remote)
		}
		if a, b := withoutIDs(direct), withoutIDs(remote); !reflect.DeepEqual(a, b) {
			t.Errorf("%+v:\n direct %+v\n remote %+v", req, a, b)
		}
	}

	for _, tc := range []struct {
		req *serving.PredictRequest
		is  error
	}{
		{&serving.PredictRequest{Endpoint: "nope", Entities: keys}, serving.ErrUnknownEndpoint},
		{&serving.PredictRequest{Endpoint: "spend", Entities: keys}, serving.ErrModelUnavailable},
		{&serving.PredictRequest{Endpoint: "purchase", Entities: keys[:1], Overrides: []map[string]value.Value{{"opens_30d": value.FromString("x")}}}, serving.ErrInvalid},
		{&serving.PredictRequest{Endpoint: "purchase"}, serving.ErrInvalid},
		{&serving.PredictRequest{Entities: keys}, serving.ErrInvalid},
	} {
		_, derr := p.Predict(ctx, tc.req)
		_, rerr := c.Predict(ctx, tc.req)
		if !errors.Is(derr, tc.is) || !errors.Is(rerr, tc.is) || derr.Error() != rerr.Error() {
			t.Errorf("%+v: direct %v, remote %v; want both %v with the same text", tc.req, derr, rerr, tc.is)
		}
	}
}

func withoutIDs(r *serving.PredictResponse) serving.PredictResponse {
	c := *r
	c.Predictions = append([]serving.Prediction(nil), r.Predictions...)
	for i := range c.Predictions {
		c.Predictions[i].ID = ""
	}
	return c
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// waitJobs follows jobs until they end and fails unless the last succeeded.
func waitJobs(t *testing.T, p *platform.Platform, jobs []*registry.Job) {
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
