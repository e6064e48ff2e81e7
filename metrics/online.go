package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipway-ml/slipway/online"
)

// Online returns store instrumented: the time of each Read under
// slipway_online_store_read_duration_seconds{store=storeType}, failed
// calls under slipway_online_store_errors_total, and the rows each
// successful Write stores per feature under slipway_materialized_rows_total
// (materializations and batch predictions write through it). It wraps any
// backend; none is edited. A nil *Metrics returns store unchanged.
func (m *Metrics) Online(store online.Store, storeType string) online.Store {
	if m == nil || store == nil {
		return store
	}
	return &instrumentedOnline{
		Store:        store,
		m:            m,
		read:         m.onlineRead.WithLabelValues(storeType),
		readErrors:   m.onlineErrors.WithLabelValues(storeType, "read"),
		writeErrors:  m.onlineErrors.WithLabelValues(storeType, "write"),
		deleteErrors: m.onlineErrors.WithLabelValues(storeType, "delete"),
	}
}

// instrumentedOnline is an online.Store that counts what goes through it;
// the label children are resolved once, so a read costs two clock reads
// and one histogram observation.
type instrumentedOnline struct {
	online.Store
	m                                     *Metrics
	read                                  prometheus.Observer
	readErrors, writeErrors, deleteErrors prometheus.Counter
}

var _ online.Store = (*instrumentedOnline)(nil)

func (s *instrumentedOnline) Read(ctx context.Context, p *online.ReadParams) (*online.ReadResult, error) {
	start := time.Now()
	res, err := s.Store.Read(ctx, p)
	s.read.Observe(time.Since(start).Seconds())
	if err != nil {
		s.readErrors.Inc()
	}
	return res, err
}

func (s *instrumentedOnline) Write(ctx context.Context, p *online.WriteParams) error {
	err := s.Store.Write(ctx, p)
	if err != nil {
		s.writeErrors.Inc()
		return err
	}
	if n := float64(len(p.Records)); n > 0 {
		for _, f := range p.Features {
			s.m.materialized.WithLabelValues(f).Add(n)
		}
	}
	return nil
}

func (s *instrumentedOnline) DeleteFeatures(ctx context.Context, p *online.DeleteFeaturesParams) error {
	err := s.Store.DeleteFeatures(ctx, p)
	if err != nil {
		s.deleteErrors.Inc()
		return err
	}
	// A deleted feature's values are gone, and so is its series.
	for _, f := range p.Features {
		s.m.materialized.DeleteLabelValues(f)
	}
	return nil
}

// Unwrap returns the store being instrumented.
func (s *instrumentedOnline) Unwrap() online.Store { return s.Store }

// Version is the store's version when it tells one (slipway doctor asks),
// else "".
func (s *instrumentedOnline) Version(ctx context.Context) (string, error) {
	if v, ok := s.Store.(interface {
		Version(ctx context.Context) (string, error)
	}); ok {
		return v.Version(ctx)
	}
	return "", nil
}
