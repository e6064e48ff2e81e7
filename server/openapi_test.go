package server_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/slipway-ml/slipway/server"
)

// openAPI reads docs/openapi.yaml as generic YAML.
func openAPI(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml is not valid YAML: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("openapi: %q, want 3.1.x", v)
	}
	return doc
}

// lookup walks doc along keys; nil when any step is missing.
func lookup(doc any, keys ...string) any {
	for _, k := range keys {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[k]
	}
	return doc
}

// parseServer parses server.go, the single source of routes and status codes.
func parseServer(t *testing.T) *ast.File {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "server.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// registeredRoutes returns the "METHOD /path" patterns server.New registers,
// except the catch-all "/".
func registeredRoutes(t *testing.T) []string {
	var routes []string
	ast.Inspect(parseServer(t), func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
			return true
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			t.Errorf("route pattern %v is not a string literal; this test cannot check it", call.Args[0])
			return true
		}
		pattern, _ := strconv.Unquote(lit.Value)
		if pattern != "/" {
			routes = append(routes, pattern)
		}
		return true
	})
	if len(routes) == 0 {
		t.Fatal("found no routes in server.go")
	}
	return routes
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := openAPI(t)
	registered := registeredRoutes(t)
	for _, route := range registered {
		method, path, ok := strings.Cut(route, " ")
		if !ok {
			t.Errorf("route %q has no method; every route but the catch-all should name one", route)
			continue
		}
		if lookup(doc, "paths", path, strings.ToLower(method)) == nil {
			t.Errorf("server.New registers %q but docs/openapi.yaml has no paths.%s.%s", route, path, strings.ToLower(method))
		}
	}
	// And nothing is documented that the server does not serve.
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		for method := range item.(map[string]any) {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				if !slices.Contains(registered, strings.ToUpper(method)+" "+path) {
					t.Errorf("docs/openapi.yaml documents %s %s, which server.New does not register", strings.ToUpper(method), path)
				}
			}
		}
	}
}

func TestOpenAPIRefsResolve(t *testing.T) {
	doc := openAPI(t)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				p, ok := strings.CutPrefix(ref, "#/")
				if !ok || lookup(doc, strings.Split(p, "/")...) == nil {
					t.Errorf("$ref %q does not resolve", ref)
				}
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(doc)
}

// TestOpenAPIErrorCodes checks the documented error codes are exactly those statusOf returns.
func TestOpenAPIErrorCodes(t *testing.T) {
	doc := openAPI(t)
	var codes []string
	ast.Inspect(parseServer(t), func(n ast.Node) bool {
		fn, ok := n.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "statusOf" {
			return true
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if ret, ok := n.(*ast.ReturnStmt); ok && len(ret.Results) == 2 {
				if lit, ok := ret.Results[1].(*ast.BasicLit); ok {
					code, _ := strconv.Unquote(lit.Value)
					codes = append(codes, code)
				}
			}
			return true
		})
		return false
	})
	if len(codes) == 0 {
		t.Fatal("found no codes in statusOf")
	}
	var documented []string
	for _, c := range lookup(doc, "components", "schemas", "Error", "properties", "error", "properties", "code", "enum").([]any) {
		documented = append(documented, c.(string))
	}
	slices.Sort(codes)
	slices.Sort(documented)
	if !slices.Equal(codes, documented) {
		t.Errorf("statusOf returns codes %q; docs/openapi.yaml documents %q", codes, documented)
	}
}

// toJSONValue round-trips v through JSON so YAML and JSON values compare equal.
func toJSONValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpenAPIExamples sends every documented online-features request example
// to a server over the test fixture and checks the answer is the documented
// response example of the same name, so the examples stay true.
func TestOpenAPIExamples(t *testing.T) {
	doc := openAPI(t)
	f := newFixture(t)
	op := lookup(doc, "paths", "/v1/online-features", "post")
	reqs, _ := lookup(op, "requestBody", "content", "application/json", "examples").(map[string]any)
	if len(reqs) == 0 {
		t.Fatal("no request examples for POST /v1/online-features")
	}
	for name, ex := range reqs {
		t.Run(name, func(t *testing.T) {
			body, err := json.Marshal(lookup(ex, "value"))
			if err != nil {
				t.Fatal(err)
			}
			status, got := do(t, f.handler, "POST", "/v1/online-features", string(body))
			if status != http.StatusOK {
				t.Fatalf("example request %s: status %d: %s", body, status, got)
			}
			want := lookup(op, "responses", "200", "content", "application/json", "examples", name, "value")
			if want == nil {
				t.Fatalf("request example %q has no response example of the same name", name)
			}
			var gotV any
			if err := json.Unmarshal(got, &gotV); err != nil {
				t.Fatal(err)
			}
			if wantV := toJSONValue(t, want); !reflect.DeepEqual(gotV, wantV) {
				wantJSON, _ := json.Marshal(wantV)
				t.Errorf("example %q: server answers\n%s\ndocs say\n%s", name, bytes.TrimSpace(got), wantJSON)
			}
		})
	}

	// Resource examples must decode into the shape the server writes.
	for _, path := range []string{"/v1/resources/{kind}/{ref}"} {
		exs, _ := lookup(doc, "paths", path, "get", "responses", "200", "content", "application/json", "examples").(map[string]any)
		for name, ex := range exs {
			b, _ := json.Marshal(lookup(ex, "value"))
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			var r resourceBody
			if err := dec.Decode(&r); err != nil {
				t.Errorf("%s example %q: %v", path, name, err)
			}
			// The spec's fields too: the server writes the example back as it is.
			var body server.ResourceBody
			if err := json.Unmarshal(b, &body); err != nil {
				t.Fatalf("%s example %q: %v", path, name, err)
			}
			again, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(again, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s example %q is not what the server writes:\n%s\nwant\n%s", path, name, b, again)
			}
		}
	}

	// So must job examples.
	for _, tc := range []struct{ path, method string }{
		{"/v1/jobs", "get"},
		{"/v1/jobs/{id}", "get"},
		{"/v1/jobs/{id}/cancel", "post"},
		{"/v1/jobs/{id}/retry", "post"},
		{"/v1/jobs/{id}/logs", "get"},
	} {
		status := "200"
		if tc.method == "post" && strings.HasSuffix(tc.path, "/retry") {
			status = "202"
		}
		content := lookup(doc, "paths", tc.path, tc.method, "responses", status, "content", "application/json")
		exs := map[string]any{}
		if ex := lookup(content, "example"); ex != nil {
			exs["example"] = map[string]any{"value": ex}
		}
		if m, ok := lookup(content, "examples").(map[string]any); ok {
			for name, ex := range m {
				exs[name] = ex
			}
		}
		if len(exs) == 0 {
			t.Errorf("%s %s has no 200 example", strings.ToUpper(tc.method), tc.path)
		}
		for name, ex := range exs {
			b, _ := json.Marshal(lookup(ex, "value"))
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			var err error
			switch tc.path {
			case "/v1/jobs", "/v1/jobs/{id}/retry":
				var l struct {
					Jobs []jobBody `json:"jobs"`
				}
				err = dec.Decode(&l)
			case "/v1/jobs/{id}/logs":
				var l jobLinesBody
				err = dec.Decode(&l)
			default:
				var j jobBody
				err = dec.Decode(&j)
			}
			if err != nil {
				t.Errorf("%s %s example %q: %v", strings.ToUpper(tc.method), tc.path, name, err)
			}
		}
	}
}
