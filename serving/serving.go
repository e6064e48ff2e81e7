// Package serving answers online feature requests, transport-neutral: it
// resolves feature references against the registry, reads the online store in
// one batch and applies each feature's max age: a value is served as of now,
// the rule a training set applies at its label time. Endpoints (predict.go)
// answers predictions the same way: an endpoint's model version, its
// features read in one batch, encoded and scored by the version's
// model.Scorer. The HTTP server (package server) is one caller.
package serving

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// Errors callers map to responses.
var (
	// ErrInvalid marks a malformed request.
	ErrInvalid = errors.New("invalid request")
	// ErrUnknownFeature marks a request for a feature that is not registered.
	ErrUnknownFeature = errors.New("unknown feature")
	// ErrUnavailable marks a failure of a store behind the service (unreachable, timing out).
	ErrUnavailable = errors.New("store unavailable")
)

// MaxBatch bounds the entities × features of one request.
const MaxBatch = 100_000

// Service serves online features.
type Service struct {
	Registry registry.Store
	Online   online.Store
	// Now returns the current time (time.Now when nil); max age is measured against it.
	Now func() time.Time

	// DefinitionTTL is how long a feature's definition is used from the
	// cache before the registry is asked again (default DefaultDefinitionTTL).
	// A registered variant never changes, but it may be deleted: after a
	// deletion (by this process or another) the feature is unknown here
	// within this time.
	DefinitionTTL time.Duration

	mu sync.RWMutex
	// features holds definitions by the name a request gave (name or
	// name:variant), so that a cached one needs no parsing.
	features map[string]cachedFeature
}

// DefaultDefinitionTTL is Service.DefinitionTTL's default.
const DefaultDefinitionTTL = 5 * time.Second

// cachedFeature is a definition, its reference as name:variant, and until
// when it is used without asking the registry.
type cachedFeature struct {
	def   *resource.Resource
	ref   string
	until time.Time
}

// Status of one served value.
type Status string

// Statuses.
const (
	Found         Status = "found"
	NotFound      Status = "not_found"
	OutsideMaxAge Status = "outside_max_age"
)

// Request asks for features of a batch of entities.
type Request struct {
	// Features as name or name:variant; all of one entity.
	Features []string
	// Entities are entity keys.
	Entities []string
}

// Response holds one row per requested entity, in request order.
type Response struct {
	// Entity is the entity all requested features describe.
	Entity string
	// Features are the resolved feature references (name:variant), in request order.
	Features []string
	Rows     []Row
}

// Row is one entity's values, aligned with Response.Features.
type Row struct {
	Entity     string
	Values     []value.Value
	Statuses   []Status
	Timestamps []time.Time
}

// OnlineFeatures serves a request.
func (s *Service) OnlineFeatures(ctx context.Context, req *Request) (*Response, error) {
	if len(req.Features) == 0 {
		return nil, fmt.Errorf("%w: features is empty; list at least one feature", ErrInvalid)
	}
	if len(req.Entities) == 0 {
		return nil, fmt.Errorf("%w: entities is empty; list at least one entity key", ErrInvalid)
	}
	if len(req.Features)*len(req.Entities) > MaxBatch {
		return nil, fmt.Errorf("%w: %d entities × %d features is more than %d values; split the request", ErrInvalid, len(req.Entities), len(req.Features), MaxBatch)
	}
	resp := &Response{Features: make([]string, len(req.Features))}
	defs := make([]*resource.Resource, len(req.Features))
	t := s.now()
	for i, f := range req.Features {
		c, err := s.feature(ctx, t, i, f)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			resp.Entity = c.def.Feature.Entity
		} else if c.def.Feature.Entity != resp.Entity {
			return nil, fmt.Errorf("%w: features[%d] %s describes entity %q but features[0] describes %q; request features of one entity at a time",
				ErrInvalid, i, c.ref, c.def.Feature.Entity, resp.Entity)
		}
		defs[i], resp.Features[i] = c.def, c.ref
	}
	for i, e := range req.Entities {
		if e == "" {
			return nil, fmt.Errorf("%w: entities[%d] is empty", ErrInvalid, i)
		}
	}
	got, err := s.Online.Read(ctx, &online.ReadParams{Features: resp.Features, Entities: req.Entities})
	if err != nil {
		return nil, fmt.Errorf("%w: reading the online store: %w", ErrUnavailable, err)
	}
	resp.Rows = make([]Row, len(req.Entities))
	for i, e := range req.Entities {
		row := Row{Entity: e, Values: make([]value.Value, len(defs)), Statuses: make([]Status, len(defs)), Timestamps: make([]time.Time, len(defs))}
		for j, def := range defs {
			entry := got.Entries[i][j]
			switch {
			case !entry.Found, entry.Timestamp.After(t):
				// A value dated in the future (left by a version that
				// materialized rows before their time) is not served before
				// its time, as a training set would not see it.
				row.Statuses[j] = NotFound
			case def.Feature.MaxAge > 0 && entry.Timestamp.Before(t.Add(-time.Duration(def.Feature.MaxAge))):
				row.Statuses[j] = OutsideMaxAge
				row.Timestamps[j] = entry.Timestamp
			default:
				row.Statuses[j], row.Values[j], row.Timestamps[j] = Found, entry.Value, entry.Timestamp
			}
		}
		resp.Rows[i] = row
	}
	return resp, nil
}

// feature returns the definition of a feature named as a request names it
// (features[i]) at now.
func (s *Service) feature(ctx context.Context, now time.Time, i int, name string) (cachedFeature, error) {
	s.mu.RLock()
	c, ok := s.features[name]
	s.mu.RUnlock()
	if ok && now.Before(c.until) {
		return c, nil
	}
	ref, err := resource.ParseRef(name)
	if err != nil {
		return cachedFeature{}, fmt.Errorf("%w: features[%d]: %v", ErrInvalid, i, err)
	}
	def, err := s.Registry.Get(ctx, resource.NewID(resource.KindFeature, ref))
	if deleted := (*registry.DeletedError)(nil); errors.As(err, &deleted) {
		s.forget(name)
		return cachedFeature{}, fmt.Errorf("%w: %s, so it is not served; `slipway list features` shows what is", ErrUnknownFeature, deleted)
	}
	if errors.Is(err, registry.ErrNotFound) {
		s.forget(name)
		return cachedFeature{}, fmt.Errorf("%w: %s is not registered; `slipway list features` shows what is", ErrUnknownFeature, ref)
	}
	if err != nil {
		if ok {
			// The registry is away: the definition cannot have changed,
			// so serving goes on with it until the registry answers.
			return c, nil
		}
		return cachedFeature{}, fmt.Errorf("%w: reading feature %s from the registry: %w", ErrUnavailable, ref, err)
	}
	ttl := s.DefinitionTTL
	if ttl <= 0 {
		ttl = DefaultDefinitionTTL
	}
	c = cachedFeature{def: def, ref: ref.String(), until: now.Add(ttl)}
	s.mu.Lock()
	if s.features == nil {
		s.features = map[string]cachedFeature{}
	}
	s.features[name] = c
	s.mu.Unlock()
	return c, nil
}

func (s *Service) forget(name string) {
	s.mu.Lock()
	delete(s.features, name)
	s.mu.Unlock()
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
