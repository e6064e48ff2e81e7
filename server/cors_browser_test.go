package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/server"
	"github.com/slipway-ml/slipway/serving"
)

// shopPage is a product's web page that calls the API from the browser:
// call posts a JSON body and reports what the page could read of the
// answer, or the error fetch threw.
var shopPage = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>shop</title>
<script>
const API = {{.}};
async function call(path, body, init) {
  try {
    const r = await fetch(API + path, Object.assign({
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body),
    }, init || {}));
    return {status: r.status, type: r.type, requestId: r.headers.get("X-Request-Id") || "", body: await r.text(), error: ""};
  } catch (e) {
    return {status: 0, type: "", requestId: "", body: "", error: e.name + ": " + e.message};
  }
}
</script></head>
<body><p>Was this relevant?</p></body></html>
`))

// fetchResult is what call returns.
type fetchResult struct {
	Status    int    `json:"status"`
	Type      string `json:"type"`
	RequestID string `json:"requestId"`
	Body      string `json:"body"`
	Error     string `json:"error"`
}

// seenRequests notes every request the API answered: "METHOD path status".
type seenRequests struct {
	mu   sync.Mutex
	list []string
}

func (s *seenRequests) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		s.mu.Lock()
		s.list = append(s.list, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, rec.status))
		s.mu.Unlock()
	})
}

// take returns the requests seen since the last take.
func (s *seenRequests) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.list
	s.list = nil
	return l
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// TestCORSInBrowser loads a shop's page in headless Chromium and calls the
// API from it with fetch, as a "was this relevant?" button would: the page
// of an allowed origin reads the answers (a success, an error, accepted
// feedback), a page of another origin is blocked by the browser, no page can call a route
// that is not a browser route, and a blind "simple" POST from a page of
// another origin is refused by the server before it acts.
func TestCORSInBrowser(t *testing.T) {
	chromium := testenv.Chromium(t)
	start := time.Now()

	// Two pages on "localhost" and the API on "127.0.0.1": other sites
	// for the browser, so it sends the CORS preflight and Sec-Fetch-Site:
	// cross-site.
	var apiURL string
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		shopPage.Execute(w, apiURL)
	})
	shop, other := httptest.NewServer(page), httptest.NewServer(page)
	defer shop.Close()
	defer other.Close()
	shopURL := strings.Replace(shop.URL, "127.0.0.1", "localhost", 1)
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)

	f := newFixture(t)
	var seen seenRequests
	api := httptest.NewServer(seen.wrap(server.New(server.Config{
		Platform: f.platform, Serving: f.service, Endpoints: &serving.Endpoints{Features: f.service},
		CORS: config.CORS{AllowedOrigins: []string{shopURL}},
	})))
	defer api.Close()
	apiURL = api.URL

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	// The first action starts the browser; it lives as long as browser.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	launched := time.Since(start)

	// call loads pageURL and runs the page's call(path, body, init).
	call := func(pageURL, path, body, init string) fetchResult {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.Navigate(pageURL)); err != nil {
			t.Fatalf("loading %s: %v", pageURL, err)
		}
		js := fmt.Sprintf("call(%q, %s, %s)", path, body, init)
		res, err := chromedp.Run(ctx, chromedp.Evaluate[fetchResult](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s on %s: %v", js, pageURL, err)
		}
		return res
	}
	wantSeen := func(what string, want ...string) {
		t.Helper()
		if got := seen.take(); !slices.Equal(got, want) {
			t.Errorf("%s: the API answered %q, want %q", what, got, want)
		}
	}
	const features = `{features: ["opens_30d:v1"], entities: ["sub_1036"]}`

	// The allowed page reads a success: status, body and request id.
	res := call(shopURL, "/v1/online-features", features, "{}")
	var served struct {
		Results []struct {
			Values []json.RawMessage `json:"values"`
		} `json:"results"`
	}
	if res.Error != "" || res.Status != http.StatusOK || json.Unmarshal([]byte(res.Body), &served) != nil ||
		len(served.Results) != 1 || len(served.Results[0].Values) != 1 || string(served.Results[0].Values[0]) != "12" {
		t.Errorf("online features from the allowed page: %+v, want 200 with opens_30d:v1 = 12", res)
	}
	if res.RequestID == "" {
		t.Errorf("the allowed page cannot read X-Request-Id: %+v", res)
	}
	wantSeen("online features from the allowed page", "OPTIONS /v1/online-features 204", "POST /v1/online-features 200")

	// And an error: the page can show what went wrong.
	res = call(shopURL, "/v1/online-features", `{features: ["nope"], entities: ["sub_1036"]}`, "{}")
	var failed server.ErrorBody
	if res.Error != "" || res.Status != http.StatusNotFound || json.Unmarshal([]byte(res.Body), &failed) != nil || failed.Error.Code != "unknown_feature" {
		t.Errorf("an unknown feature from the allowed page: %+v, want 404 unknown_feature it can read", res)
	}
	// The browser may have cached the preflight.
	if got := seen.take(); !slices.Equal(got, []string{"POST /v1/online-features 404"}) &&
		!slices.Equal(got, []string{"OPTIONS /v1/online-features 204", "POST /v1/online-features 404"}) {
		t.Errorf("an unknown feature from the allowed page: the API answered %q, want the POST (404), after a preflight (204) or not", got)
	}

	// The "was this relevant?" answer: the page posts feedback and reads
	// that it was accepted.
	const relevant = `{events: [{endpoint: "purchase", entity: "sub_1036", name: "relevant", value: true}]}`
	res = call(shopURL, "/v1/feedback", relevant, "{}")
	var accepted server.FeedbackResponse
	if res.Error != "" || res.Status != http.StatusAccepted || json.Unmarshal([]byte(res.Body), &accepted) != nil || accepted.Accepted != 1 || len(accepted.IDs) != 1 {
		t.Errorf("feedback from the allowed page: %+v, want 202 accepting one event", res)
	}
	wantSeen("feedback from the allowed page", "OPTIONS /v1/feedback 204", "POST /v1/feedback 202")

	// A page of another origin: the browser blocks the call after the
	// refused preflight, which the server answers 403.
	res = call(otherURL, "/v1/online-features", features, "{}")
	if !strings.HasPrefix(res.Error, "TypeError") || res.Status != 0 || res.Body != "" {
		t.Errorf("online features from another origin's page: %+v, want a TypeError (blocked by CORS)", res)
	}
	wantSeen("online features from another origin's page", "OPTIONS /v1/online-features 403")

	// Not a browser route, even for the allowed page: the preflight is not
	// answered, so the POST is never sent.
	res = call(shopURL, "/v1/plan", `{files: {"f.yaml": "entities: [{name: x}]"}}`, "{}")
	if !strings.HasPrefix(res.Error, "TypeError") {
		t.Errorf("plan from the allowed page: %+v, want a TypeError (blocked by CORS)", res)
	}
	wantSeen("plan from the allowed page", "OPTIONS /v1/plan 405")

	// A blind "simple" POST (text/plain, mode no-cors) needs no preflight:
	// the browser sends it and hides the answer, so the server must refuse
	// it itself.
	res = call(otherURL, "/v1/apply", `{files: {"f.yaml": "entities: [{name: x}]"}}`, `{mode: "no-cors", headers: {"Content-Type": "text/plain"}}`)
	if res.Error != "" || res.Type != "opaque" {
		t.Errorf("a no-cors POST from another origin's page: %+v, want an opaque answer", res)
	}
	wantSeen("a no-cors POST /v1/apply from another origin's page", "POST /v1/apply 403")
	res = call(otherURL, "/v1/feedback", relevant, "{}")
	if !strings.HasPrefix(res.Error, "TypeError") {
		t.Errorf("feedback from another origin's page: %+v, want a TypeError (blocked by CORS)", res)
	}
	wantSeen("feedback from another origin's page", "OPTIONS /v1/feedback 403")
	// Nor may it post feedback blind.
	res = call(otherURL, "/v1/feedback", relevant, `{mode: "no-cors", headers: {"Content-Type": "text/plain"}}`)
	if res.Error != "" || res.Type != "opaque" {
		t.Errorf("a no-cors POST from another origin's page: %+v, want an opaque answer", res)
	}
	wantSeen("a no-cors POST /v1/feedback from another origin's page", "POST /v1/feedback 403")

	t.Logf("Chromium started in %v; the test took %v", launched.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
