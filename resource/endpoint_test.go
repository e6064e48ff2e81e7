package resource

import (
	"reflect"
	"slices"
	"testing"
)

func newEndpoint() *Resource {
	return &Resource{
		ID: ID{KindEndpoint, "purchase", DefaultVariant}, Owner: "growth",
		Endpoint: &EndpointSpec{Model: "purchase_model", Alias: DefaultModelAlias},
	}
}

// TestEndpointKind: endpoints come after models (applied after the models
// they serve), named on the command line like the others.
func TestEndpointKind(t *testing.T) {
	if slices.Index(Kinds, KindEndpoint) < slices.Index(Kinds, KindModel) {
		t.Errorf("Kinds = %v; want endpoint after model", Kinds)
	}
	for _, s := range []string{"endpoint", "endpoints", "Endpoints"} {
		if k, err := ParseKind(s); err != nil || k != KindEndpoint {
			t.Errorf("ParseKind(%q) = %v, %v", s, k, err)
		}
	}
	if err := newEndpoint().ID.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// TestEndpointDependencies: an endpoint serves a model by name, which no
// single resource ID stands for, so it depends on no resource.
func TestEndpointDependencies(t *testing.T) {
	if deps := newEndpoint().Dependencies(); len(deps) != 0 {
		t.Errorf("Dependencies = %v; want none", deps)
	}
}

func TestEndpointDefinition(t *testing.T) {
	e := newEndpoint()
	e.State = State{Status: StatusReady}
	want := `{"kind":"endpoint","name":"purchase","variant":"default","owner":"growth","endpoint":{"model":"purchase_model","alias":"production"}}`
	if got := string(e.Definition()); got != want {
		t.Errorf("Definition =\n %s\nwant\n %s", got, want)
	}
	var back Resource
	if err := back.UnmarshalJSON(e.Definition()); err != nil || !reflect.DeepEqual(back.Endpoint, e.Endpoint) {
		t.Errorf("round trip: %+v, %v", back.Endpoint, err)
	}
	other := newEndpoint()
	other.Endpoint.Alias = "staging"
	if d := Diff(e, other); !reflect.DeepEqual(d, []FieldDiff{{Field: "endpoint.alias", Registered: "production", Proposed: "staging"}}) {
		t.Errorf("Diff = %+v", d)
	}
}
