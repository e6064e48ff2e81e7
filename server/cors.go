package server

// Cross-origin requests from web pages. A product's page may call the
// browser routes (predictions, online features, feedback) when its origin
// is in slipway.yaml's cors.allowed_origins; no other route answers a page
// of another origin, so plan, apply or delete cannot be driven from one.

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/slipway-ml/slipway/config"
)

// browserRoutes are the routes a page of an allowed origin may call.
var browserRoutes = []string{
	"POST /v1/online-features",
	"POST /v1/endpoints/{name}/predict",
	"POST /v1/feedback",
}

// browserMux tells whether a request is to a browser route; its handlers
// never run.
var browserMux = func() *http.ServeMux {
	mux := http.NewServeMux()
	for _, pattern := range browserRoutes {
		mux.Handle(pattern, http.NotFoundHandler())
	}
	return mux
}()

// errCrossOrigin is a request from a web page whose origin may not call the
// route: 403.
var errCrossOrigin = errors.New("cross-origin request refused")

// corsAllowHeaders are the request headers a page may send: a JSON body and
// its own request id.
const corsAllowHeaders = "Content-Type, X-Request-Id"

// sameOrigin refuses a state-changing request from a page of another origin
// (told by the Sec-Fetch-Site or Origin header that browsers send). Without
// it such a page could still send a "simple" POST (text/plain) that skips
// the preflight: it could not read the answer, but the server would act.
var sameOrigin = http.NewCrossOriginProtection()

// crossOrigin handles what browsers add to a request from a page: it
// answers a preflight (OPTIONS) of a browser route itself, refuses with 403
// a state-changing request from a page of another origin that may not make
// it, and adds Access-Control-Allow-Origin to the answer for an allowed
// origin. It reports whether it answered the request. Requests that carry
// neither Origin nor Sec-Fetch-Site (servers, the CLI, curl) pass untouched.
func (h *handler) crossOrigin(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" && r.Header.Get("Sec-Fetch-Site") == "" {
		return false
	}
	preflight := r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != ""
	probe := r
	if preflight {
		// A preflight asks on behalf of the POST that would follow.
		probe = r.Clone(r.Context())
		probe.Method = http.MethodPost
	}
	if _, pattern := browserMux.Handler(probe); pattern == "" || origin == "" {
		if err := sameOrigin.Check(r); err != nil {
			h.s.fail(w, r, fmt.Errorf("%w: %s %s cannot be called from a web page of another origin; pages may call only POST /v1/online-features, /v1/endpoints/{name}/predict and /v1/feedback, from the origins in cors.allowed_origins of slipway.yaml",
				errCrossOrigin, r.Method, r.URL.Path))
			return true
		}
		return false
	}
	cors := h.s.CORS
	anyOrigin := slices.Equal(cors.AllowedOrigins, []string{config.AnyOrigin})
	if !anyOrigin && !slices.Contains(cors.AllowedOrigins, origin) {
		if preflight || sameOrigin.Check(r) != nil {
			h.s.fail(w, r, fmt.Errorf("%w: origin %q is not in cors.allowed_origins: add it to the cors: section of slipway.yaml to let its pages call %s %s (see docs/configuration.md)",
				errCrossOrigin, origin, probe.Method, r.URL.Path))
			return true
		}
		// A page of the server's own origin.
		return false
	}
	hdr := w.Header()
	if anyOrigin {
		hdr.Set("Access-Control-Allow-Origin", "*")
	} else {
		hdr.Set("Access-Control-Allow-Origin", origin)
		hdr.Add("Vary", "Origin")
	}
	if !preflight {
		// Lets the page read the id that finds its request in the log.
		hdr.Set("Access-Control-Expose-Headers", RequestIDHeader)
		return false
	}
	maxAge := cors.MaxAge
	if maxAge == 0 {
		maxAge = config.DefaultCORSMaxAge
	}
	hdr.Set("Access-Control-Allow-Methods", http.MethodPost)
	hdr.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	hdr.Set("Access-Control-Max-Age", strconv.Itoa(int(maxAge.Seconds())))
	w.WriteHeader(http.StatusNoContent)
	return true
}
