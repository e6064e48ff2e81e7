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

	// buf holds the slices above and the store's entries; Release hands
	// it back for another request.
	buf *buffers
}

// Release hands the response's memory back to be reused by a later request:
// the caller calls it once done with the response and everything reached
// from it (rows, values, statuses, timestamps, feature references), and
// uses none of it afterwards. Release empties the response, so that a use
// after it finds no rows rather than another request's. Calling it is
// optional (the garbage collector takes an unreleased response) and a
// second call does nothing. Strings and values copied out of the response
// stay valid: only the slices holding them are reused.
func (r *Response) Release() {
	b := r.buf
	*r = Response{}
	if b == nil || b.size > maxPooled {
		return
	}
	// Drop references to strings so that a pooled buffer keeps no request's
	// data alive (and overwritten slots start from zero values).
	clear(b.defs)
	clear(b.features)
	clear(b.rows)
	clear(b.values)
	clear(b.timestamps)
	clear(b.entries)
	b.params = online.ReadParams{}
	buffersPool.Put(b)
}

// buffers is the memory of one response: one backing array per kind for
// all rows, the definitions and the store's entries, pooled across requests.
type buffers struct {
	size       int // values in the last response: entities × features
	defs       []*resource.Resource
	features   []string
	rows       []Row
	values     []value.Value
	statuses   []Status
	timestamps []time.Time
	entries    []online.Entry
	params     online.ReadParams // the store's, which would escape to the heap on its own
}

// maxPooled bounds the values of a response whose memory is pooled (about
// 150 bytes each), so that one large request does not stay in memory.
const maxPooled = 4096

var buffersPool = sync.Pool{New: func() any { return new(buffers) }}

// grow returns s with length n, reusing its backing array when it is large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
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
	b := buffersPool.Get().(*buffers)
	nf, ne := len(req.Features), len(req.Entities)
	b.size = nf * ne
	b.defs, b.features = grow(b.defs, nf), grow(b.features, nf)
	resp := &Response{Features: b.features, buf: b}
	defs := b.defs
	t := s.now()
	for i, f := range req.Features {
		c, err := s.feature(ctx, t, i, f)
		if err != nil {
			resp.Release()
			return nil, err
		}
		if i == 0 {
			resp.Entity = c.def.Feature.Entity
		} else if c.def.Feature.Entity != resp.Entity {
			err := fmt.Errorf("%w: features[%d] %s describes entity %q but features[0] describes %q; request features of one entity at a time",
				ErrInvalid, i, c.ref, c.def.Feature.Entity, resp.Entity)
			resp.Release()
			return nil, err
		}
		defs[i], resp.Features[i] = c.def, c.ref
	}
	for i, e := range req.Entities {
		if e == "" {
			resp.Release()
			return nil, fmt.Errorf("%w: entities[%d] is empty", ErrInvalid, i)
		}
	}
	b.entries = grow(b.entries, b.size)
	b.params = online.ReadParams{Features: resp.Features, Entities: req.Entities, Buffer: b.entries}
	got, err := s.Online.Read(ctx, &b.params)
	if err != nil {
		resp.Release()
		return nil, fmt.Errorf("%w: reading the online store: %w", ErrUnavailable, err)
	}
	// One backing array per kind for all rows; each row's slices are capped
	// at its length, so appending to one never overwrites the next.
	b.rows = grow(b.rows, ne)
	b.values, b.statuses, b.timestamps = grow(b.values, b.size), grow(b.statuses, b.size), grow(b.timestamps, b.size)
	resp.Rows = b.rows
	for i, e := range req.Entities {
		lo, hi := i*nf, (i+1)*nf
		row := Row{Entity: e, Values: b.values[lo:hi:hi], Statuses: b.statuses[lo:hi:hi], Timestamps: b.timestamps[lo:hi:hi]}
		for j, def := range defs {
			entry := got.Entries[i][j]
			switch {
			case !entry.Found, entry.Timestamp.After(t):
				// A value dated in the future (left by a version that
				// materialized rows before their time) is not served before
				// its time, as a training set would not see it.
				row.Statuses[j], row.Values[j], row.Timestamps[j] = NotFound, value.Value{}, time.Time{}
			case def.Feature.MaxAge > 0 && entry.Timestamp.Before(t.Add(-time.Duration(def.Feature.MaxAge))):
				row.Statuses[j], row.Values[j], row.Timestamps[j] = OutsideMaxAge, value.Value{}, entry.Timestamp
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
