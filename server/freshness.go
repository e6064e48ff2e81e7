package server

// Freshness: how fresh each feature's online values are.

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/resource"
)

// freshness answers GET /v1/freshness with platform.Freshness as it is
// (its JSON is the API's shape).
func (s *server) freshness(w http.ResponseWriter, r *http.Request) {
	p, err := ParseFreshness(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rep, err := s.Platform.Freshness(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// FreshnessQuery is the query of GET /v1/freshness for p; ParseFreshness
// reads it back.
func FreshnessQuery(p *platform.FreshnessParams) url.Values {
	q := url.Values{}
	for _, id := range p.Features {
		q.Add("feature", id.Ref().String())
	}
	if !p.Now.IsZero() {
		q.Set("now", p.Now.UTC().Format(time.RFC3339Nano))
	}
	if p.Grace > 0 {
		q.Set("grace", p.Grace.String())
	}
	return q
}

// ParseFreshness reads the query of GET /v1/freshness: feature (repeated,
// or a comma-separated list of name or name:variant), now (RFC 3339) and
// grace (a duration such as 10m, 2h or 1d).
func ParseFreshness(q url.Values) (*platform.FreshnessParams, error) {
	if err := checkQuery(q, "feature", "now", "grace"); err != nil {
		return nil, err
	}
	p := &platform.FreshnessParams{}
	for _, v := range q["feature"] {
		for _, name := range strings.Split(v, ",") {
			ref, err := resource.ParseRef(strings.TrimSpace(name))
			if err != nil {
				return nil, invalid("feature %q: %v", name, err)
			}
			p.Features = append(p.Features, resource.NewID(resource.KindFeature, ref))
		}
	}
	now, err := queryOne(q, "now")
	if err != nil {
		return nil, err
	}
	if now != "" {
		if p.Now, err = time.Parse(time.RFC3339Nano, now); err != nil {
			return nil, invalid("now %q is not an RFC 3339 time such as 2026-04-02T12:00:00Z", now)
		}
	}
	grace, err := queryOne(q, "grace")
	if err != nil {
		return nil, err
	}
	if grace != "" {
		d, err := resource.ParseDuration(grace)
		if err != nil {
			return nil, invalid("grace: %v", err)
		}
		p.Grace = time.Duration(d)
	}
	return p, nil
}
