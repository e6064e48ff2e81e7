package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/server"
	"github.com/slipway-ml/slipway/serving"
)

const (
	shopOrigin  = "https://shop.example.com"
	otherOrigin = "https://elsewhere.example"
)

// corsHandler is the fixture's API, with endpoints, with cors; the fixture's
// handler is the same without cors.
func corsHandler(t *testing.T, cors config.CORS) (http.Handler, fixture) {
	t.Helper()
	f := newFixture(t)
	cfg := server.Config{Platform: f.platform, Serving: f.service, Endpoints: &serving.Endpoints{Features: f.service}}
	f.handler = server.New(cfg)
	cfg.CORS = cors
	return server.New(cfg), f
}

// browserRequest sends what a browser sends for a page of origin: Origin
// and Sec-Fetch-Site (cross-site, as the origins here are not the
// server's); headers adds more.
func browserRequest(h http.Handler, method, path, origin, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("X-Request-Id", testRequestID)
	if origin != "" {
		req.Header.Set("Origin", origin)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// preflight sends the OPTIONS a browser sends before a cross-origin POST
// with a JSON body.
func preflight(h http.Handler, path, origin string) *httptest.ResponseRecorder {
	return browserRequest(h, http.MethodOptions, path, origin, "",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,x-request-id", "Sec-Fetch-Mode", "cors")
}

// noCORSHeaders fails when rec carries any Access-Control-* header.
func noCORSHeaders(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	for k, v := range rec.Header() {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("%s: %s: %q, want no CORS headers", what, k, v)
		}
	}
}

// allowsOrigin fails unless rec lets a page of origin read it.
func allowsOrigin(t *testing.T, what string, rec *httptest.ResponseRecorder, origin string) {
	t.Helper()
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", what, got, origin)
	}
	if origin != "*" && !strings.Contains(strings.Join(rec.Header().Values("Vary"), ","), "Origin") {
		t.Errorf("%s: Vary %q, want it to name Origin", what, rec.Header().Values("Vary"))
	}
	if got := rec.Header().Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("%s: Access-Control-Allow-Credentials %q, want none (no cookies)", what, got)
	}
}

var browserPaths = []string{"/v1/online-features", "/v1/endpoints/purchase/predict", "/v1/feedback"}

func TestCORSPreflight(t *testing.T) {
	h, _ := corsHandler(t, config.CORS{AllowedOrigins: []string{"http://localhost:3000", shopOrigin}})
	for _, path := range browserPaths {
		rec := preflight(h, path, shopOrigin)
		if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
			t.Errorf("preflight of %s: %d %q, want 204 without a body", path, rec.Code, rec.Body.String())
		}
		allowsOrigin(t, "preflight of "+path, rec, shopOrigin)
		for k, want := range map[string]string{
			"Access-Control-Allow-Methods": "POST",
			"Access-Control-Allow-Headers": "Content-Type, X-Request-Id",
			"Access-Control-Max-Age":       "600", // the default 10m
		} {
			if got := rec.Header().Get(k); got != want {
				t.Errorf("preflight of %s: %s %q, want %q", path, k, got, want)
			}
		}
	}
}

func TestCORSMaxAge(t *testing.T) {
	h, _ := corsHandler(t, config.CORS{AllowedOrigins: []string{shopOrigin}, MaxAge: time.Hour})
	if got := preflight(h, "/v1/feedback", shopOrigin).Header().Get("Access-Control-Max-Age"); got != "3600" {
		t.Errorf("Access-Control-Max-Age %q with max_age: 1h, want 3600", got)
	}
}

// TestCORSAllowedOrigin checks that a page of an allowed origin can read
// every answer of the browser routes, errors included, and that the answer
// is otherwise what a client without Origin gets.
func TestCORSAllowedOrigin(t *testing.T) {
	h, f := corsHandler(t, config.CORS{AllowedOrigins: []string{shopOrigin}})
	for _, tc := range []struct {
		name, path, body string
		status           int
	}{
		{"Served", "/v1/online-features", `{"features": ["opens_30d:v1"], "entities": ["sub_1036"]}`, http.StatusOK},
		{"UnknownFeature", "/v1/online-features", `{"features": ["nope"], "entities": ["sub_1036"]}`, http.StatusNotFound},
		{"BadBody", "/v1/online-features", `{"features":`, http.StatusBadRequest},
		{"UnknownEndpoint", "/v1/endpoints/nope/predict", `{"entities": ["sub_1036"]}`, http.StatusNotFound},
		{"TooLarge", "/v1/online-features", strings.Repeat(" ", server.MaxBodyBytes+1), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := browserRequest(h, http.MethodPost, tc.path, shopOrigin, tc.body)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			allowsOrigin(t, tc.name, rec, shopOrigin)
			if got := rec.Header().Get("Access-Control-Expose-Headers"); got != "X-Request-Id" {
				t.Errorf("Access-Control-Expose-Headers %q, want X-Request-Id", got)
			}
			plain := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Request-Id", testRequestID)
			f.handler.ServeHTTP(plain, req)
			if plain.Code != rec.Code || plain.Body.String() != rec.Body.String() {
				t.Errorf("from the page: %d %s; without Origin: %d %s; want the same answer", rec.Code, rec.Body, plain.Code, plain.Body)
			}
		})
	}
}

// TestCORSDisallowedOrigin checks that a page of an origin not listed gets
// no CORS headers, its preflight a 403 naming cors.allowed_origins, and its
// POST (the "simple" one a browser sends without a preflight) a 403 too.
func TestCORSDisallowedOrigin(t *testing.T) {
	h, _ := corsHandler(t, config.CORS{AllowedOrigins: []string{shopOrigin}})
	for _, path := range browserPaths {
		rec := preflight(h, path, otherOrigin)
		noCORSHeaders(t, "preflight of "+path, rec)
		wantError(t, rec.Code, rec.Body.Bytes(), http.StatusForbidden, "origin_not_allowed",
			`origin "https://elsewhere.example" is not in cors.allowed_origins`, "slipway.yaml", "POST "+path)
	}
	body := `{"features": ["opens_30d:v1"], "entities": ["sub_1036"]}`
	rec := browserRequest(h, http.MethodPost, "/v1/online-features", otherOrigin, body, "Content-Type", "text/plain")
	noCORSHeaders(t, "POST from another origin", rec)
	wantError(t, rec.Code, rec.Body.Bytes(), http.StatusForbidden, "origin_not_allowed", "https://elsewhere.example", "cors.allowed_origins")
	// A scheme or port other than the listed origin's is another origin.
	for _, o := range []string{"http://shop.example.com", "https://shop.example.com:8443", "https://SHOP.example.com", "null"} {
		rec := preflight(h, "/v1/online-features", o)
		noCORSHeaders(t, "preflight from "+o, rec)
		if rec.Code != http.StatusForbidden {
			t.Errorf("preflight from %s: %d, want 403", o, rec.Code)
		}
	}
}

// TestCORSSameOrigin checks that a page of the server's own origin, which
// is not listed, still calls the browser routes (it needs no CORS).
func TestCORSSameOrigin(t *testing.T) {
	h, _ := corsHandler(t, config.CORS{AllowedOrigins: []string{shopOrigin}})
	// httptest.NewRequest's host is example.com.
	rec := browserRequest(h, http.MethodPost, "/v1/online-features", "http://example.com", `{"features": ["opens_30d:v1"], "entities": ["sub_1036"]}`,
		"Sec-Fetch-Site", "same-origin")
	if rec.Code != http.StatusOK {
		t.Errorf("POST from the server's own origin: %d %s, want 200", rec.Code, rec.Body)
	}
	noCORSHeaders(t, "POST from the server's own origin", rec)
}

// TestCORSOtherRoutes checks that no route but the browser routes answers a
// page of another origin, even an allowed one: no CORS headers, preflights
// not answered, and a state-changing request refused before it acts.
func TestCORSOtherRoutes(t *testing.T) {
	for name, origins := range map[string][]string{"Listed": {shopOrigin}, "Any": {"*"}} {
		t.Run(name, func(t *testing.T) {
			h, f := corsHandler(t, config.CORS{AllowedOrigins: origins})
			for _, tc := range []struct{ method, path, body string }{
				{"POST", "/v1/plan", `{"files": {"f.yaml": "entities: [{name: x}]"}}`},
				{"POST", "/v1/apply", `{"files": {"f.yaml": "entities: [{name: x}]"}}`},
				{"POST", "/v1/run", `{}`},
				{"DELETE", "/v1/resources/feature/opens_30d:v1", ""},
				{"POST", "/v1/models/m/aliases/production", `{"version": 1}`},
				{"POST", "/v2/models/m/infer", `{}`},
			} {
				what := tc.method + " " + tc.path
				rec := preflight(h, tc.path, shopOrigin)
				noCORSHeaders(t, "preflight of "+what, rec)
				if rec.Code == http.StatusNoContent || rec.Code == http.StatusOK {
					t.Errorf("preflight of %s: %d, want it refused", what, rec.Code)
				}
				rec = browserRequest(h, tc.method, tc.path, shopOrigin, tc.body)
				noCORSHeaders(t, what, rec)
				wantError(t, rec.Code, rec.Body.Bytes(), http.StatusForbidden, "origin_not_allowed",
					what+" cannot be called from a web page of another origin")
			}
			// Nothing was deleted.
			rec := httptest.NewRecorder()
			f.handler.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/resources/feature/opens_30d:v1", nil))
			if rec.Code != http.StatusOK {
				t.Errorf("after the refused DELETE the feature answers %d %s, want 200", rec.Code, rec.Body)
			}
			// A read gets no CORS headers: the browser keeps it from the page.
			rec = browserRequest(h, "GET", "/v1/resources", shopOrigin, "")
			noCORSHeaders(t, "GET /v1/resources", rec)
		})
	}
}

func TestCORSAnyOrigin(t *testing.T) {
	h, _ := corsHandler(t, config.CORS{AllowedOrigins: []string{"*"}})
	rec := preflight(h, "/v1/endpoints/purchase/predict", otherOrigin)
	if rec.Code != http.StatusNoContent {
		t.Errorf("preflight with \"*\": %d %s, want 204", rec.Code, rec.Body)
	}
	allowsOrigin(t, "preflight with \"*\"", rec, "*")
	rec = browserRequest(h, http.MethodPost, "/v1/online-features", otherOrigin, `{"features": ["opens_30d:v1"], "entities": ["sub_1036"]}`)
	if rec.Code != http.StatusOK {
		t.Errorf("POST with \"*\": %d %s, want 200", rec.Code, rec.Body)
	}
	allowsOrigin(t, "POST with \"*\"", rec, "*")
	var resp struct{ Results []json.RawMessage }
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || len(resp.Results) != 1 {
		t.Errorf("POST with \"*\": body %s, want one result (%v)", rec.Body, err)
	}
}

// TestCORSNotConfigured checks the default: no page of another origin may
// call the API, and clients that are not browsers are unaffected.
func TestCORSNotConfigured(t *testing.T) {
	h, _ := corsHandler(t, config.CORS{})
	rec := preflight(h, "/v1/online-features", shopOrigin)
	noCORSHeaders(t, "preflight", rec)
	wantError(t, rec.Code, rec.Body.Bytes(), http.StatusForbidden, "origin_not_allowed", "is not in cors.allowed_origins")
	rec = browserRequest(h, http.MethodPost, "/v1/online-features", "", `{"features": ["opens_30d:v1"], "entities": ["sub_1036"]}`)
	if rec.Code != http.StatusOK {
		t.Errorf("POST without Origin: %d %s, want 200", rec.Code, rec.Body)
	}
	noCORSHeaders(t, "POST without Origin", rec)
}
