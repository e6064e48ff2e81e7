package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
)

// TestFreshnessRoute: GET /v1/freshness answers platform.Freshness (here
// on features never materialized), its query round-trips, and bad queries
// are 400s naming the parameter, unknown features 404s.
func TestFreshnessRoute(t *testing.T) {
	f := newFixture(t)
	status, body := do(t, f.handler, "GET", "/v1/freshness?feature=opens_30d:v1,shop_category&now=2026-04-02T12:00:00Z", "")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var rep platform.FreshnessReport
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if !rep.At.Equal(time.Date(2026, 4, 2, 12, 0, 0, 0, time.UTC)) || len(rep.Features) != 2 || rep.NeverMaterialized != 2 ||
		rep.Features[0].Feature != "opens_30d:v1" || rep.Features[0].Status != platform.FreshnessNeverMaterialized || rep.Features[1].Feature != "shop_category:default" {
		t.Errorf("report %s", body)
	}

	for _, tc := range []struct {
		query  string
		status int
		want   string
	}{
		{"?feature=Bad-Name", http.StatusBadRequest, `feature \"Bad-Name\"`},
		{"?feature=nope", http.StatusNotFound, "nope"},
		{"?grace=-1m", http.StatusBadRequest, "grace"},
		{"?grace=soon", http.StatusBadRequest, "grace"},
		{"?now=yesterday", http.StatusBadRequest, `now \"yesterday\"`},
		{"?now=2026-01-01T00:00:00Z&now=2026-01-02T00:00:00Z", http.StatusBadRequest, "now"},
		{"?features=opens_30d:v1", http.StatusBadRequest, `unknown query parameter \"features\"`},
	} {
		status, body := do(t, f.handler, "GET", "/v1/freshness"+tc.query, "")
		if status != tc.status || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s: %d %s; want %d naming %s", tc.query, status, body, tc.status, tc.want)
		}
	}

	p := &platform.FreshnessParams{
		Features: []resource.ID{{Kind: resource.KindFeature, Name: "opens_30d", Variant: "v1"}, {Kind: resource.KindFeature, Name: "a", Variant: "default"}},
		Now:      time.Date(2026, 4, 2, 12, 0, 0, 123456789, time.UTC), Grace: 90 * time.Minute,
	}
	if got, err := server.ParseFreshness(server.FreshnessQuery(p)); err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("query %v read back as %+v, %v; want %+v", server.FreshnessQuery(p), got, err, p)
	}
}

// TestFreshnessOpenAPI: the documented schema names exactly the report's
// JSON fields, and the example decodes into it.
func TestFreshnessOpenAPI(t *testing.T) {
	doc := openAPI(t)
	for name, typ := range map[string]reflect.Type{"FreshnessReport": reflect.TypeFor[platform.FreshnessReport](), "FeatureFreshness": reflect.TypeFor[platform.FeatureFreshness]()} {
		props, _ := lookup(doc, "components", "schemas", name, "properties").(map[string]any)
		var documented, fields []string
		for p := range props {
			documented = append(documented, p)
		}
		for i := range typ.NumField() {
			tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			fields = append(fields, tag)
		}
		slices.Sort(documented)
		slices.Sort(fields)
		if !slices.Equal(documented, fields) {
			t.Errorf("schema %s documents %v; the struct has %v", name, documented, fields)
		}
	}
	ex, _ := json.Marshal(lookup(doc, "paths", "/v1/freshness", "get", "responses", "200", "content", "application/json", "example"))
	dec := json.NewDecoder(bytes.NewReader(ex))
	dec.DisallowUnknownFields()
	var rep platform.FreshnessReport
	if err := dec.Decode(&rep); err != nil || len(rep.Features) != 3 {
		t.Errorf("the example does not decode into a report: %v (%s)", err, ex)
	}
}
