package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// TestDeletedFeatureStopsBeingServed: serving caches a feature's definition
// for its DefinitionTTL; once a deletion is that old, the feature is
// answered as deleted, not as values that are no longer there.
func TestDeletedFeatureStopsBeingServed(t *testing.T) {
	f := newFixture(t)
	clock := now
	f.service.Now = func() time.Time { return clock }
	f.service.DefinitionTTL = time.Minute
	body := `{"features":["opens_30d:v1"],"entities":["sub_1036"]}`
	if status, resp := do(t, f.handler, "POST", "/v1/online-features", body); status != http.StatusOK || !strings.Contains(string(resp), `"found"`) {
		t.Fatalf("before the deletion: %d %s", status, resp)
	}
	id := resource.ID{Kind: resource.KindFeature, Name: "opens_30d", Variant: "v1"}
	if _, err := f.registry.Delete(t.Context(), &registry.DeleteParams{ID: id, By: "test"}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(30 * time.Second)
	if status, _ := do(t, f.handler, "POST", "/v1/online-features", body); status != http.StatusOK {
		t.Errorf("within the definition TTL of the deletion: %d, want the cached definition served", status)
	}
	clock = clock.Add(31 * time.Second)
	status, resp := do(t, f.handler, "POST", "/v1/online-features", body)
	if status != http.StatusNotFound || !strings.Contains(string(resp), "unknown_feature") || !strings.Contains(string(resp), "deleted") {
		t.Errorf("a TTL after the deletion: %d %s, want 404 naming the deletion", status, resp)
	}
}
