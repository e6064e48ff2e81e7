package server

// GET /metrics: the Prometheus metrics (package metrics, docs/metrics.md).
// The middleware counts every request into them (middleware.go).

import (
	"fmt"
	"net/http"
)

// metricsHandler serves the metrics, or, when they are turned off, a 404
// that says how to turn them on.
func (s *server) metricsHandler() http.Handler {
	if s.Metrics == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.fail(w, r, fmt.Errorf("%w: metrics are turned off on this server (slipway.yaml's metrics: enabled: false); remove that setting and restart slipway serve to serve them", errNoRoute))
		})
	}
	h := s.Metrics.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkQuery(r.URL.Query()); err != nil {
			s.fail(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}
