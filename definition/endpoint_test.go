package definition_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

const endpointYAML = `endpoints:
  - name: big
    description: Who buys big, live.
    owner: growth
    model: big_model
`

var bigEndpoint = resource.ID{Kind: resource.KindEndpoint, Name: "big", Variant: resource.DefaultVariant}

// endpointEnv is modelEnv with endpoints.yaml holding endpoints.
func endpointEnv(t *testing.T, models, endpoints string) *env {
	t.Helper()
	e := modelEnv(t, models)
	write(t, e.dir, "endpoints.yaml", endpoints)
	return e
}

// TestEndpointDefinition: an endpoint over a model defined in the same
// files is read with its alias's default, planned last, registered ready,
// and unchanged when applied again or with the default written out.
func TestEndpointDefinition(t *testing.T) {
	e := endpointEnv(t, modelYAML, endpointYAML)
	ctx := context.Background()
	plan, err := e.apply(t)
	if err != nil {
		t.Fatal(err)
	}
	want := &resource.EndpointSpec{Model: "big_model", Alias: "production"}
	it := planItem(t, plan, bigEndpoint)
	if it.Action != definition.Create || !reflect.DeepEqual(it.Resource.Endpoint, want) {
		t.Fatalf("plan: %s %+v, want create %+v", it.Action, it.Resource.Endpoint, want)
	}
	if last := plan.Items[len(plan.Items)-1]; last != it {
		t.Errorf("the endpoint is planned before %s; endpoints come last", last.Resource.ID)
	}
	reg, err := e.s.Registry.Get(ctx, bigEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reg.Endpoint, want) || reg.Description != "Who buys big, live." || reg.Owner != "growth" {
		t.Errorf("registered %+v %+v, want %+v", reg, reg.Endpoint, want)
	}
	if reg.State.Status != resource.StatusReady {
		t.Errorf("status %s, want ready (an endpoint has nothing to build)", reg.State.Status)
	}
	// The endpoint depends on no resource: the model definition has no dependents.
	if deps, err := e.s.Registry.Dependents(ctx, bigModel); err != nil || len(deps) != 0 {
		t.Errorf("Dependents(big_model) = %v, %v; want none", deps, err)
	}
	listed, err := e.s.Registry.List(ctx, &registry.ListParams{Kind: resource.KindEndpoint})
	if err != nil || len(listed) != 1 || listed[0].ID != bigEndpoint {
		t.Errorf("List(endpoint) = %v, %v", listed, err)
	}

	for name, y := range map[string]string{"again": endpointYAML, "alias written out": endpointYAML + "    alias: production\n"} {
		write(t, e.dir, "endpoints.yaml", y)
		plan, err := e.plan(t)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if it := planItem(t, plan, bigEndpoint); it.Action != definition.Unchanged {
			t.Errorf("%s: %s %v, want unchanged", name, it.Action, it.Diffs)
		}
	}
	// Another alias is another definition: a conflict.
	write(t, e.dir, "endpoints.yaml", endpointYAML+"    alias: staging\n")
	plan, err = e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	it = planItem(t, plan, bigEndpoint)
	if it.Action != definition.Conflict || !reflect.DeepEqual(it.Diffs, []resource.FieldDiff{{Field: "endpoint.alias", Registered: "production", Proposed: "staging"}}) {
		t.Errorf("changed alias: %s %+v, want a conflict on endpoint.alias", it.Action, it.Diffs)
	}
}

// TestEndpointModelRegisteredOrDefinedElsewhere: the model may be defined in
// the registry only (another directory applied it), or have versions
// registered from a file and no definition at all.
func TestEndpointModelRegisteredOrDefinedElsewhere(t *testing.T) {
	ctx := context.Background()
	t.Run("DefinedInTheRegistry", func(t *testing.T) {
		e := modelEnv(t, modelYAML)
		if _, err := e.apply(t); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(e.dir, "models.yaml"))
		write(t, e.dir, "endpoints.yaml", endpointYAML)
		if _, err := e.apply(t); err != nil {
			t.Fatalf("an endpoint over a registered model definition: %v", err)
		}
	})
	t.Run("OnlyVersions", func(t *testing.T) {
		e := endpointEnv(t, "", strings.Replace(endpointYAML, "big_model", "notebook_model", 1))
		if _, err := e.plan(t); err == nil || !strings.Contains(err.Error(), `unknown model "notebook_model"`) {
			t.Fatalf("before any version: %v; want unknown model", err)
		}
		if _, err := e.s.Registry.CreateModelVersion(ctx, &registry.CreateModelVersionParams{Model: "notebook_model",
			Artifact: registry.Artifact{Format: "slipway-linear", Bytes: []byte("{}")}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.apply(t); err != nil {
			t.Fatalf("an endpoint over a model registered from a file: %v", err)
		}
	})
}

// TestEndpointBadInput: each problem with its file, line and field, and
// nothing registered.
func TestEndpointBadInput(t *testing.T) {
	for _, tc := range badEndpoints {
		t.Run(tc.name, func(t *testing.T) {
			e := endpointEnv(t, modelYAML, "endpoints:\n"+tc.yaml)
			_, err := e.apply(t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant %q", err, tc.want)
			}
			if n := e.registered(t); n != 0 {
				t.Errorf("%d resources registered after a failed plan", n)
			}
		})
	}
}

// badEndpoints are endpoints: items with the problem each must report
// (FuzzLoadDir starts from them too).
var badEndpoints = []struct{ name, yaml, want string }{
	{"NoModel", "  - name: big\n", "endpoints.yaml:2: model: missing; a endpoint needs it"},
	{"UnknownModel", "  - name: big\n    model: nope\n", `endpoints.yaml:3: model: unknown model "nope": it is neither defined nor registered; define the model (under models:), or register a version with slipway models register nope`},
	{"ModelWithVariant", "  - name: big\n    model: big_model:v2\n", `endpoints.yaml:3: model: invalid name "big_model:v2"`},
	{"BadAlias", "  - name: big\n    model: big_model\n    alias: Prod\n", `endpoints.yaml:4: alias: invalid name "Prod"`},
	{"EmptyAlias", "  - name: big\n    model: big_model\n    alias:\n", `endpoints.yaml:4: alias: must be a non-empty single value`},
	{"NameTooLongForItsLog", "  - name: " + strings.Repeat("e", 52) + "\n    model: big_model\n", "endpoints.yaml:2: name: the endpoint's prediction log is registered as the source " + strings.Repeat("e", 52) + "_predictions, which is too long a name: shorten the endpoint's name to at most 51 characters"},
	{"LogSourceTaken", "  - name: big\n    model: big_model\nsources:\n  - name: big_predictions\n    table: t\n", "endpoints.yaml:2: name: source big_predictions:default is also defined in these files; endpoint big:default logs its predictions as the source big_predictions:default, so rename one of them"},
	{"UnknownField", "  - name: big\n    model: big_model\n    version: 3\n", "endpoints.yaml:4: version: unknown field for a endpoint; allowed: name, variant, description, owner, tags, model, alias"},
}

// TestDocsEndpointExamplePlans plans the Endpoints example of
// docs/definitions.md, as it is, next to the demo project whose model it
// serves.
func TestDocsEndpointExamplePlans(t *testing.T) {
	block := docsYAML(t, "Endpoints")
	e := newEnv(t)
	root := demoBeside(t, e)
	write(t, root, "definitions/endpoints.yaml", block)
	defs, err := definition.LoadDir(filepath.Join(root, "definitions"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := definition.MakePlan(context.Background(), defs, e.s)
	if err != nil {
		t.Fatalf("the docs' endpoint example does not plan:\n%v", err)
	}
	var endpoints []string
	for _, it := range plan.Items {
		if it.Resource.Kind == resource.KindEndpoint {
			endpoints = append(endpoints, it.Resource.Name+" "+it.Resource.Endpoint.Model+"@"+it.Resource.Endpoint.Alias)
		}
	}
	if !reflect.DeepEqual(endpoints, []string{"purchase purchase_model@production"}) {
		t.Errorf("endpoints planned: %v", endpoints)
	}
}

// TestSchemaDocumentsEndpoints checks docs/definitions.schema.json's
// endpoints key against the fields the loader accepts.
func TestSchemaDocumentsEndpoints(t *testing.T) {
	b, err := os.ReadFile("../docs/definitions.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties map[string]struct {
			Items struct {
				Ref string `json:"$ref"`
			} `json:"items"`
		} `json:"properties"`
		Defs map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	if schema.Properties["endpoints"].Items.Ref != "#/$defs/endpoint" {
		t.Fatal("the schema has no endpoints key holding $defs/endpoint items")
	}
	var fields []string
	for f := range schema.Defs["endpoint"].Properties {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	if want := []string{"alias", "description", "model", "name", "owner", "tags", "variant"}; !reflect.DeepEqual(fields, want) {
		t.Errorf("schema endpoint fields %v; the loader accepts %v", fields, want)
	}
	if req := schema.Defs["endpoint"].Required; !reflect.DeepEqual(req, []string{"name", "model"}) {
		t.Errorf("schema endpoint requires %v; want name, model", req)
	}
}
