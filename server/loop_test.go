package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
)

// TestLoopStatusRoundTrip: the loop status of a model registered from
// files (no definition) with an experiment running on its endpoint, read
// from the platform and through the HTTP client, is the same; the
// experiment's arms carry the logged exposures; an unknown model is 404.
func TestLoopStatusRoundTrip(t *testing.T) {
	f, stats := experimentFixture(t)
	apis := experimentAPIs(t, f)
	ctx := t.Context()
	got := map[string]*platform.LoopStatus{}
	for via, api := range apis {
		st, err := api.LoopStatus(ctx, "m")
		if err != nil {
			t.Fatalf("%s: %v", via, err)
		}
		got[via] = st
		if st.Model != "m" || st.LatestVersion != 3 || len(st.Definitions) != 0 || len(st.Trainings) != 0 {
			t.Errorf("%s: status %+v", via, st)
		}
		if len(st.Aliases) != 1 || st.Aliases[0].Alias != "production" || st.Aliases[0].Version != 1 || len(st.Aliases[0].Moves) != 1 || st.Aliases[0].Moves[0].By != "setup" {
			t.Errorf("%s: aliases %+v; want production at 1, moved once by setup", via, st.Aliases)
		}
		if len(st.Endpoints) != 1 || st.Endpoints[0].ID != expEndpoint || st.Endpoints[0].Alias != "production" {
			t.Errorf("%s: endpoints %+v", via, st.Endpoints)
		}
		if len(st.Experiments) != 1 {
			t.Fatalf("%s: experiments %+v", via, st.Experiments)
		}
		e := st.Experiments[0]
		if e.ID != expID || e.State != platform.ExperimentRunning || e.MinSamples != 100 || len(e.Arms) != 2 || e.Winner != "treatment" ||
			e.Arms[0].Model != "m@production" || e.Arms[0].Resolved != 1 || e.Arms[1].Model != "m@2" ||
			e.Arms[0].N != stats[0].N || e.Arms[1].N != stats[1].N || e.Arms[1].P == nil || e.NextReview != nil || e.LastReview != nil {
			t.Errorf("%s: experiment %+v; want the fixture's arms (%+v), treatment winning, no review", via, e, stats)
		}
		var steps []string
		for _, s := range st.Steps {
			steps = append(steps, s.Step+" "+s.State)
		}
		if want := []string{"training off", "experiment running", "serving serving"}; !reflect.DeepEqual(steps, want) {
			t.Errorf("%s: steps %q; want %q", via, steps, want)
		}
		for _, s := range st.Steps {
			if s.Step == platform.StepExperiment && !strings.Contains(s.Summary, "slipway experiments conclude|stop purchase_test") {
				t.Errorf("%s: an experiment that does not conclude itself: %q; want how to end it", via, s.Summary)
			}
		}
	}
	// The same status either way (read at two instants).
	for _, st := range got {
		st.At = time.Time{}
	}
	if !reflect.DeepEqual(got["platform"], got["http"]) {
		a, _ := json.Marshal(got["platform"])
		b, _ := json.Marshal(got["http"])
		t.Errorf("platform\n%s\nhttp\n%s", a, b)
	}

	for via, api := range apis {
		if _, err := api.LoopStatus(ctx, "nope"); !errors.Is(err, registry.ErrNotFound) || !strings.Contains(err.Error(), "neither defined nor registered") {
			t.Errorf("%s: unknown model: %v; want not found", via, err)
		}
		if _, err := api.LoopStatus(ctx, "Bad Name"); !errors.Is(err, platform.ErrInvalid) {
			t.Errorf("%s: bad name: %v; want invalid", via, err)
		}
	}
	if code, body := do(t, f.handler, "GET", "/v1/models/nope/loop", ""); code != http.StatusNotFound || !strings.Contains(string(body), `"code":"not_found"`) {
		t.Errorf("GET /v1/models/nope/loop: %d %s", code, body)
	}
	if code, body := do(t, f.handler, "GET", "/v1/models/m/loop?x=1", ""); code != http.StatusBadRequest {
		t.Errorf("GET /v1/models/m/loop?x=1: %d %s; want 400 for an unknown parameter", code, body)
	}
}

// TestLoopStatusExample: the documented answer of GET
// /v1/models/{model}/loop is the shape the server writes.
func TestLoopStatusExample(t *testing.T) {
	ex := lookup(openAPI(t), "paths", "/v1/models/{model}/loop", "get", "responses", "200", "content", "application/json", "example")
	if ex == nil {
		t.Fatal("GET /v1/models/{model}/loop has no 200 example")
	}
	b, err := json.Marshal(ex)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var st platform.LoopStatus
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("the example is not a loop status: %v\n%s", err, b)
	}
	again, err := json.Marshal(&st)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	json.Unmarshal(b, &want)
	json.Unmarshal(again, &got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the example is not what the server writes:\n%s\nwant\n%s", b, again)
	}
}
