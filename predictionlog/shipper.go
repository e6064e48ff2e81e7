package predictionlog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// SourceID is the source an endpoint's prediction table is registered as
// (resource.EndpointPredictions): NAME_predictions, with the endpoint's
// variant.
func SourceID(endpoint resource.Ref) resource.ID { return resource.EndpointPredictions(endpoint) }

// TableName is the offline table holding an endpoint's logged predictions.
func TableName(endpoint resource.Ref) string { return offline.PredictionLogTable(endpoint) }

// Defaults of a Shipper.
const (
	DefaultShipInterval = time.Second
	DefaultShipBatch    = 10000
)

// Shipper moves the WAL's entries into the offline store: one table per
// endpoint (TableName), registered as a source (SourceID) the first time
// it is written. A batch is written with WriteRows, replacing the rows of
// an earlier attempt at the same batch, and acknowledged in the WAL once
// every table has it: a batch cut short by a crash or an unreachable store
// is written again whole, and no prediction is written twice.
type Shipper struct {
	WAL *WAL
	// Coordinator gives the registry and the offline store, and registers
	// the sources.
	Coordinator *coordinator.Coordinator
	// Instance identifies this WAL among the logs shipping into one offline
	// store (Instance reads or creates it).
	Instance string
	// Interval is how often Run ships (DefaultShipInterval when zero);
	// BatchSize how many entries go in one write (DefaultShipBatch).
	Interval  time.Duration
	BatchSize int
	Logger    *slog.Logger

	registered map[resource.ID]bool
	shipped    atomic.Int64
	unreadable atomic.Int64
}

// Instance returns the id of the log in dir, creating it on first use.
func Instance(dir string) (string, error) {
	path := filepath.Join(dir, "instance")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading the prediction log's instance id: %w", err)
	}
	var r [8]byte
	rand.Read(r[:])
	id := hex.EncodeToString(r[:])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating the prediction log directory: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("writing the prediction log's instance id: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("writing the prediction log's instance id: %w", err)
	}
	return id, nil
}

// Run ships every Interval until ctx is done, then once more with what
// was flushed; a failure is logged and retried at the next tick.
func (s *Shipper) Run(ctx context.Context) error {
	interval := s.Interval
	if interval <= 0 {
		interval = DefaultShipInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		_, err := s.Ship(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil
		case err != nil && !failing:
			s.logger().Warn("shipping the prediction log to the offline store; entries wait on local disk and are shipped when it works again", "error", err)
			failing = true
		case err == nil && failing:
			s.logger().Info("shipping the prediction log works again")
			failing = false
		}
	}
}

// Ship writes every entry the WAL holds on disk beyond its last Ack into
// the offline store, and returns how many it wrote.
func (s *Shipper) Ship(ctx context.Context) (int64, error) {
	size := s.BatchSize
	if size <= 0 {
		size = DefaultShipBatch
	}
	var n int64
	pos := s.WAL.Acked()
	for {
		recs, next, err := s.WAL.Read(pos, size)
		if err != nil {
			return n, fmt.Errorf("reading the prediction log: %w", err)
		}
		if len(recs) == 0 {
			return n, nil
		}
		if err := s.write(ctx, recs); err != nil {
			return n, err
		}
		if err := s.WAL.Ack(next); err != nil {
			return n, fmt.Errorf("recording what was shipped: %w", err)
		}
		n += int64(len(recs))
		s.shipped.Add(int64(len(recs)))
		pos = next
	}
}

// Shipped counts the entries shipped since the Shipper was made;
// Unreadable those left out because they did not decode (a bug, logged).
func (s *Shipper) Shipped() int64    { return s.shipped.Load() }
func (s *Shipper) Unreadable() int64 { return s.unreadable.Load() }

// write writes one batch: per endpoint, one WriteRows replacing the rows
// an earlier attempt at the batch wrote. The batch is named after its
// first entry, which a re-read of the same position returns first again.
func (s *Shipper) write(ctx context.Context, recs [][]byte) error {
	byEndpoint := map[string][]*model.Record{}
	var batch string
	for _, rec := range recs {
		e := new(model.Record)
		if err := json.Unmarshal(rec, e); err != nil || e.ID == "" {
			s.unreadable.Add(1)
			s.logger().Error("a prediction log entry does not decode; it is left out", "error", err, "entry", truncate(rec, 200))
			continue
		}
		if batch == "" {
			batch = s.Instance + "/" + e.ID
		}
		byEndpoint[e.Endpoint] = append(byEndpoint[e.Endpoint], e)
	}
	endpoints := make([]string, 0, len(byEndpoint))
	for ep := range byEndpoint {
		endpoints = append(endpoints, ep)
	}
	slices.Sort(endpoints)
	for _, ep := range endpoints {
		ref, err := resource.ParseRef(ep)
		if err != nil {
			s.unreadable.Add(int64(len(byEndpoint[ep])))
			s.logger().Error("prediction log entries name an invalid endpoint; they are left out", "endpoint", ep, "entries", len(byEndpoint[ep]))
			continue
		}
		table := TableName(ref)
		_, err = s.Coordinator.Offline.WriteRows(ctx, &offline.WriteRowsParams{
			Table: table, Columns: resource.PredictionColumns, Rows: &recordRows{records: byEndpoint[ep], batch: batch},
			Replace: &offline.Match{Column: resource.WriteBatchColumn, Value: value.FromString(batch)},
		})
		if err != nil {
			return fmt.Errorf("writing %d predictions of endpoint %s to %s: %w", len(byEndpoint[ep]), ep, table, err)
		}
		if err := s.register(ctx, ref, table); err != nil {
			return err
		}
	}
	return nil
}

// register registers an endpoint's prediction source, once per process.
func (s *Shipper) register(ctx context.Context, ep resource.Ref, table string) error {
	id := SourceID(ep)
	if s.registered[id] {
		return nil
	}
	src := &resource.Resource{ID: id,
		Description: fmt.Sprintf("Every prediction endpoint %s answered (the prediction log).", ep),
		Source:      &resource.SourceSpec{Table: table, TimestampColumn: resource.PredictedAtColumn}}
	if def, err := s.Coordinator.Registry.Get(ctx, resource.NewID(resource.KindEndpoint, ep)); err == nil {
		src.Owner, src.Tags = def.Owner, def.Tags
	}
	if _, err := s.Coordinator.RegisterOutputs(ctx, []*resource.Resource{src}); err != nil {
		return fmt.Errorf("registering %s, the prediction log of endpoint %s: %w", id, ep, err)
	}
	if s.registered == nil {
		s.registered = map[resource.ID]bool{}
	}
	s.registered[id] = true
	return nil
}

func (s *Shipper) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// recordRows streams records as table rows (offline.RowSource).
type recordRows struct {
	records []*model.Record
	batch   string
	i       int
	row     []value.Value
}

func (r *recordRows) Next() bool {
	if r.i >= len(r.records) {
		return false
	}
	r.row = r.records[r.i].AppendRow(r.row, r.batch)
	r.i++
	return true
}

func (r *recordRows) Values() []value.Value { return r.row }
func (r *recordRows) Err() error            { return nil }
