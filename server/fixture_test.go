package server_test

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/internal/backends"
	"github.com/slipway-ml/slipway/platform"

	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// now is the serving clock of every fixture, so max age is deterministic.
var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// fixture is a server over a platform on real embedded backends in a
// temporary directory.
type fixture struct {
	platform *platform.Platform
	registry registry.Store
	online   online.Store
	service  *serving.Service
	handler  http.Handler
}

// newPlatform opens a platform on cfg (the embedded defaults when nil) in a
// new data directory, closed at the end of the test.
func newPlatform(tb testing.TB, cfg *config.Config) *platform.Platform {
	tb.Helper()
	if cfg == nil {
		cfg = config.Default()
	}
	p, err := platform.Open(tb.Context(), platform.Options{DataDir: filepath.Join(tb.TempDir(), ".slipway"), Config: cfg, Backends: backends.All(), Create: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// newBackends opens a platform and its registry and online store.
func newBackends(tb testing.TB) (*platform.Platform, registry.Store, online.Store) {
	tb.Helper()
	p := newPlatform(tb, nil)
	reg, err := p.Registry(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	on, err := p.Online(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	return p, reg, on
}

func newHandler(tb testing.TB, p *platform.Platform, reg registry.Store, on online.Store) fixture {
	svc := &serving.Service{Registry: reg, Online: on, Now: func() time.Time { return now }}
	return fixture{platform: p, registry: reg, online: on, service: svc, handler: server.New(server.Config{Platform: p, Serving: svc})}
}

func apply(tb testing.TB, reg registry.Store, rs ...*resource.Resource) {
	tb.Helper()
	if _, err := reg.Apply(tb.Context(), &registry.ApplyParams{Resources: rs}); err != nil {
		tb.Fatal(err)
	}
}

// rec is one entity's value of one feature, for write.
type rec struct {
	Entity    string
	Value     value.Value
	Timestamp time.Time
}

func write(tb testing.TB, on online.Store, feature string, recs ...rec) {
	tb.Helper()
	records := make([]online.Record, len(recs))
	for i, r := range recs {
		records[i] = online.Record{Entity: r.Entity, Values: []value.Value{r.Value}, Timestamp: r.Timestamp}
	}
	if err := on.Write(tb.Context(), &online.WriteParams{Features: []string{feature}, Records: records}); err != nil {
		tb.Fatal(err)
	}
}

func entity(name string) *resource.Resource {
	return &resource.Resource{ID: resource.ID{Kind: resource.KindEntity, Name: name, Variant: resource.DefaultVariant}}
}

func source(name, tsCol string, schema ...resource.Column) *resource.Resource {
	return &resource.Resource{
		ID:     resource.ID{Kind: resource.KindSource, Name: name, Variant: resource.DefaultVariant},
		Source: &resource.SourceSpec{Table: name, TimestampColumn: tsCol},
		State:  resource.State{Status: resource.StatusReady, Schema: schema},
	}
}

func feature(ref, ent, source, valueCol, tsCol string, typ value.Type, maxAge time.Duration) *resource.Resource {
	r, err := resource.ParseRef(ref)
	if err != nil {
		panic(err)
	}
	return &resource.Resource{
		ID:          resource.NewID(resource.KindFeature, r),
		Description: "test feature " + r.Name,
		Owner:       "growth-team",
		Tags:        []string{"demo"},
		Feature: &resource.FeatureSpec{
			Entity:          ent,
			Source:          resource.ID{Kind: resource.KindSource, Name: source, Variant: resource.DefaultVariant},
			EntityColumn:    ent + "_id",
			ValueColumn:     valueCol,
			TimestampColumn: tsCol,
			Type:            typ,
			MaxAge:          resource.Duration(maxAge),
		},
		State: resource.State{Status: resource.StatusReady},
	}
}

// newFixture registers a small slice of the demo domain and writes online
// values covering every value type and every serving status.
func newFixture(tb testing.TB) fixture {
	tb.Helper()
	p, reg, on := newBackends(tb)
	return fillFixture(tb, p, reg, on)
}

// fixtureFeatures are the features fillFixture writes online.
var fixtureFeatures = []string{"opens_30d:v1", "avg_order_value:default", "subscriber_region:default", "is_unsubscribed:default",
	"last_open_at:default", "shop_category:default"}

// fillFixture is newFixture's registrations and values on the given stores.
func fillFixture(tb testing.TB, p *platform.Platform, reg registry.Store, on online.Store) fixture {
	tb.Helper()
	apply(tb, reg,
		entity("subscriber"),
		entity("shop"),
		source("subscriber_engagement_30d", "as_of",
			resource.Column{Name: "subscriber_id", EngineType: "VARCHAR", Type: value.String},
			resource.Column{Name: "opens_30d", EngineType: "BIGINT", Type: value.Int64},
			resource.Column{Name: "as_of", EngineType: "TIMESTAMP", Type: value.Timestamp}),
		source("shops", ""),
		feature("opens_30d:v1", "subscriber", "subscriber_engagement_30d", "opens_30d", "as_of", value.Int64, 30*24*time.Hour),
		feature("avg_order_value", "subscriber", "subscriber_engagement_30d", "avg_order_value", "as_of", value.Float64, 0),
		feature("subscriber_region", "subscriber", "subscriber_engagement_30d", "region", "", value.String, 0),
		feature("is_unsubscribed", "subscriber", "subscriber_engagement_30d", "is_unsubscribed", "as_of", value.Bool, 0),
		feature("last_open_at", "subscriber", "subscriber_engagement_30d", "last_open_at", "as_of", value.Timestamp, 0),
		feature("signup_channel", "subscriber", "subscriber_engagement_30d", "signup_channel", "", value.String, 0),
		feature("shop_category", "shop", "shops", "category", "", value.String, 0),
	)
	day := 24 * time.Hour
	write(tb, on, "opens_30d:v1",
		rec{Entity: "sub_1036", Value: value.FromInt64(12), Timestamp: now.Add(-2 * day)},
		rec{Entity: "sub_2", Value: value.FromInt64(3), Timestamp: now.Add(-40 * day)},
		rec{Entity: "42", Value: value.FromInt64(7), Timestamp: now.Add(-time.Hour)},
	)
	write(tb, on, "avg_order_value:default",
		rec{Entity: "sub_1036", Value: value.FromFloat64(42.5), Timestamp: now.Add(-3 * day)},
		rec{Entity: "sub_2", Value: value.NullValue(), Timestamp: now.Add(-day)},
	)
	write(tb, on, "subscriber_region:default",
		rec{Entity: "sub_1036", Value: value.FromString("uk")}, // static: no timestamp
	)
	write(tb, on, "is_unsubscribed:default",
		rec{Entity: "sub_1036", Value: value.FromBool(false), Timestamp: now.Add(-5 * day)},
		rec{Entity: "sub_2", Value: value.FromBool(true), Timestamp: now.Add(-5 * day)},
	)
	write(tb, on, "last_open_at:default",
		rec{Entity: "sub_1036", Value: value.FromTime(time.Date(2025, 5, 30, 8, 15, 0, 123456000, time.UTC)), Timestamp: now.Add(-2 * day)},
	)
	write(tb, on, "shop_category:default",
		rec{Entity: "shop_1", Value: value.FromString("fashion")},
	)
	return newHandler(tb, p, reg, on)
}
