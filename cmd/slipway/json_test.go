package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// decodeJSON parses a command's --json output, failing the test when it is
// not one JSON value.
func decodeJSON(t *testing.T, what, out string) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", what, err, out)
	}
	if dec.More() {
		t.Fatalf("%s: more than one JSON value:\n%s", what, out)
	}
	return v
}

// getJSON returns the decoded body of a GET that answers 200.
func getJSON(t *testing.T, url string) any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", url, resp.StatusCode, err, body)
	}
	return decodeJSON(t, "GET "+url, string(body))
}

// The --json of list, show, jobs list and jobs show is what the HTTP API
// answers for the same question, value for value.
func TestJSONIsTheHTTPAPIShape(t *testing.T) {
	dir := t.TempDir()
	writePlanProject(t, dir)
	mustRun(t, dir, "apply", "proj")
	// No jobs yet: an empty list, not null and not the text "no jobs".
	if got := decodeJSON(t, "jobs list --json", mustRun(t, dir, "jobs", "list", "--json").stdout); !reflect.DeepEqual(got, map[string]any{"jobs": []any{}}) {
		t.Errorf("jobs list --json with no jobs: %v", got)
	}
	mustRun(t, dir, "run")
	mustRun(t, dir, "materialize", "--detach")
	if r := slipway(t, dir, "jobs", "logs", "1", "--json", "--follow"); r.code != 1 || !strings.Contains(r.stderr, "--follow and --json: give one") {
		t.Errorf("jobs logs --json --follow: exit %d, stderr %q; want it refused", r.code, r.stderr)
	}
	base, _ := startServe(t, dir)

	for _, c := range []struct {
		args []string
		path string
		// list names the list the output holds; want are the fields its
		// first element (or the output, when not a list) must have.
		list string
		want []string
	}{
		{[]string{"jobs", "list", "--json", "--limit", "100"}, "/v1/jobs?limit=100", "jobs",
			[]string{"id", "kind", "resource", "status", "attempts", "max_attempts", "created_at", "cancel_requested", "rows"}},
		{[]string{"jobs", "show", "1", "--json"}, "/v1/jobs/1", "",
			[]string{"id", "kind", "resource", "status", "started_at", "ended_at", "worker", "rows"}},
		{[]string{"jobs", "logs", "1", "--json"}, "/v1/jobs/1/logs", "lines",
			[]string{"seq", "time", "line"}},
		{[]string{"list", "feature", "--json"}, "/v1/resources/feature", "resources",
			[]string{"kind", "name", "variant", "feature", "created_at", "updated_at", "status"}},
		{[]string{"show", "transformation", "daily", "--json"}, "/v1/resources/transformation/daily", "",
			[]string{"kind", "name", "variant", "transformation", "status", "schema", "dependents"}},
		{[]string{"show", "feature", "n_daily", "--json"}, "/v1/resources/feature/n_daily", "",
			[]string{"kind", "name", "variant", "feature", "status", "dependents"}},
		{[]string{"show", "label", "kind_label", "--json"}, "/v1/resources/label/kind_label", "",
			[]string{"kind", "name", "variant", "label", "status", "dependents"}},
	} {
		name := strings.Join(c.args, " ")
		got := decodeJSON(t, name, mustRun(t, dir, c.args...).stdout)
		if want := getJSON(t, base+c.path); !reflect.DeepEqual(got, want) {
			t.Errorf("slipway %s differs from GET %s:\n%v\nwant\n%v", name, c.path, got, want)
		}
		obj, _ := got.(map[string]any)
		if c.list != "" {
			items, _ := obj[c.list].([]any)
			if len(items) == 0 {
				t.Errorf("slipway %s: no %q list, or it is empty:\n%v", name, c.list, got)
				continue
			}
			obj, _ = items[0].(map[string]any)
		}
		for _, f := range c.want {
			if _, ok := obj[f]; !ok {
				t.Errorf("slipway %s lacks field %q:\n%v", name, f, obj)
			}
		}
		// A feature's or label's spec names what it reads "source", as
		// definitions do; a label's spec is its own, not a feature's.
		for _, kind := range []string{"feature", "label"} {
			if spec, ok := obj[kind].(map[string]any); ok {
				if _, ok := spec["source"].(map[string]any); !ok || spec["dataset"] != nil {
					t.Errorf("slipway %s: %s spec %v; want its source under \"source\"", name, kind, spec)
				}
			}
		}
		if obj["kind"] == "label" && obj["feature"] != nil {
			t.Errorf("slipway %s: a label with a feature spec: %v", name, obj)
		}
	}
}

// planOutput is plan --json's documented shape.
type planOutput struct {
	Items []struct {
		Action, Kind, ID, File string
		Line                   int
		Diffs                  []struct {
			Field, Registered, Proposed string
			Added, Removed              []string
		}
	}
	Warnings, Errors []struct {
		File, Field, Message string
		Line                 int
	}
}

// plan --json lists each definition with its action and a conflict's diffs,
// or the errors in the definitions, with plan's exit status either way.
func TestPlanJSON(t *testing.T) {
	dir := t.TempDir()
	writePlanProject(t, dir)
	decode := func(r result) planOutput {
		t.Helper()
		var p planOutput
		if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
			t.Fatalf("plan --json: %v\n%s", err, r.stdout)
		}
		return p
	}

	p := decode(mustRun(t, dir, "plan", "proj", "--json"))
	if len(p.Items) != 8 || p.Errors == nil || p.Warnings == nil {
		t.Fatalf("plan --json of a new project: want 8 items and empty warnings and errors: %+v", p)
	}
	for _, it := range p.Items {
		if it.Action != "create" || it.Kind == "" || !strings.HasSuffix(it.ID, ":default") || it.File != filepath.Join("proj", "defs.yaml") || it.Line == 0 {
			t.Errorf("plan --json item %+v: want create, a kind, name:default, proj/defs.yaml and a line", it)
		}
	}

	mustRun(t, dir, "apply", "proj")
	writePlanProject(t, dir, "    label: kind_label\n    features: [n_daily]", "    label: kind_label\n    features: [amount_daily, n_daily]")
	r := slipway(t, dir, "plan", "proj", "--json")
	p = decode(r)
	if r.code != 1 || !strings.Contains(r.stderr, "training_set ts1:default is already registered with a different definition") {
		t.Errorf("plan --json with a conflict: exit %d, want 1 and the conflict on stderr:\n%s", r.code, r.stderr)
	}
	var conflicts int
	for _, it := range p.Items {
		if it.Action != "conflict" {
			continue
		}
		conflicts++
		if it.Kind != "training_set" || it.ID != "ts1:default" || len(it.Diffs) != 1 || it.Diffs[0].Field != "training_set.features" ||
			!reflect.DeepEqual(it.Diffs[0].Added, []string{"feature amount_daily:default"}) || len(it.Diffs[0].Removed) != 0 {
			t.Errorf("plan --json conflict: %+v", it)
		}
	}
	if conflicts != 1 {
		t.Errorf("plan --json: %d conflicts, want 1:\n%s", conflicts, r.stdout)
	}

	// A definition that refers to a deprecated resource is a warning, with where it refers to it.
	writePlanProject(t, dir)
	mustRun(t, dir, "deprecate", "feature", "n_daily", "--by", "ana", "--reason", "use amount_daily")
	p = decode(mustRun(t, dir, "plan", "proj", "--json"))
	if len(p.Warnings) != 1 || len(p.Errors) != 0 {
		t.Fatalf("plan --json with a deprecated feature: want one warning, no error: %+v", p)
	}
	if w := p.Warnings[0]; w.File != filepath.Join("proj", "defs.yaml") || w.Line == 0 || w.Field == "" || !strings.Contains(w.Message, "n_daily:default, deprecated") || !strings.Contains(w.Message, "use amount_daily") {
		t.Errorf("plan --json warning %+v: want proj/defs.yaml, the line and field of the reference, and the deprecation", p.Warnings[0])
	}

	writePlanProject(t, dir, "    source: daily\n    entity_column: user_id\n    value_column: n\n", "    source: nightly\n    entity_column: user_id\n    value_column: n\n")
	r = slipway(t, dir, "plan", "proj", "--json")
	p = decode(r)
	if r.code != 1 || len(p.Items) != 0 || len(p.Errors) != 1 {
		t.Fatalf("plan --json with an unknown source: exit %d, want 1, no items and one error:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if e := p.Errors[0]; e.File != filepath.Join("proj", "defs.yaml") || e.Line == 0 || !strings.Contains(e.Message, "nightly") {
		t.Errorf("plan --json error %+v: want proj/defs.yaml, its line and the unknown name", e)
	}
}

// doctor --json reports each provider's check; a failed one has its error
// and the exit status is 1.
func TestDoctorJSON(t *testing.T) {
	dir := t.TempDir()
	type check struct {
		Role, Provider, Version, Error string
		OK                             bool
	}
	var d struct {
		Config  string
		DataDir string `json:"data_dir"`
		Checks  []check
	}
	if err := json.Unmarshal([]byte(mustRun(t, dir, "doctor", "--json").stdout), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Checks) != 3 || d.DataDir != ".slipway" || !strings.Contains(d.Config, "defaults") {
		t.Fatalf("doctor --json: %+v", d)
	}
	for i, role := range []string{"registry", "offline", "online"} {
		if c := d.Checks[i]; c.Role != role || !c.OK || c.Version == "" || c.Error != "" {
			t.Errorf("doctor --json check %d: %+v, want %s ok with a version", i, c, role)
		}
	}

	os.WriteFile(filepath.Join(dir, "slipway.yaml"), []byte("registry:\n  type: postgres\n  dsn: postgres://nobody:secret@127.0.0.1:1/db?connect_timeout=2\n"), 0o644)
	r := slipway(t, dir, "doctor", "--json")
	d.Checks = nil
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil || r.code != 1 || len(d.Checks) != 3 || !strings.Contains(r.stderr, "1 provider(s) failed their checks") {
		t.Fatalf("doctor --json with an unreachable registry: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if c := d.Checks[0]; c.OK || c.Error == "" || c.Version != "" || strings.Contains(r.stdout, "secret") {
		t.Errorf("doctor --json: the unreachable registry's check %+v should fail with its error and no secret", c)
	}
}
