package predictionlog

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/registry"
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

// Records is what a Shipper ships: how a record of the WAL becomes a table
// row, and where the row goes.
type Records interface {
	// Row decodes rec into its table row, appended to row[:0] with batch
	// (the write's name) as its last value, and returns the key of its
	// destination.
	Row(rec []byte, batch string, row []value.Value) (dest string, out []value.Value, err error)
	// Destination says where the rows of a key go. A Shipper asks once
	// per key.
	Destination(ctx context.Context, dest string) (*Destination, error)
}

// Destination is a table of the offline store that records are shipped to.
type Destination struct {
	Table   string
	Columns []resource.Column // the last one holds the write's name (resource.WriteBatchColumn)
	// Sources are registered (coordinator.RegisterOutputs) after the first
	// write into Table, after Prepare.
	Sources []*resource.Resource
	// Prepare, when set, runs once after the first write, before the
	// sources are registered (to create a view over Table, say).
	Prepare func(ctx context.Context) error
}

// Shipper moves a WAL's records into the offline store, into the tables
// Records says, registering their sources the first time each is written.
// A batch is written with WriteRows, replacing the rows of an earlier
// attempt at the same batch, and acknowledged in the WAL once every table
// has it: a batch cut short by a crash or an unreachable store is written
// again whole, and no record is written twice.
type Shipper struct {
	WAL     *WAL
	Records Records
	// Coordinator gives the offline store and registers the sources.
	Coordinator *coordinator.Coordinator
	// Instance identifies this WAL among the logs shipping into one offline
	// store (Instance reads or creates it).
	Instance string
	// Interval is how often Run ships (DefaultShipInterval when zero);
	// BatchSize how many records go in one write (DefaultShipBatch).
	Interval  time.Duration
	BatchSize int
	Logger    *slog.Logger

	mu sync.Mutex // one Ship at a time: Run's and a caller's
	// destinations are the destinations met so far, by key: asked of
	// Records once per process, and registered once.
	destinations map[string]*destination
	// clean is set once a batch was written and acknowledged, and cleared
	// by a failure: while it is clear, the next batch may have been written
	// before.
	clean      bool
	shipped    atomic.Int64
	unreadable atomic.Int64
	failures   atomic.Int64 // Run's Ship calls that failed (Failures)
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

// Run ships every Interval until ctx is done; a failure is logged and
// retried at the next tick. It ships from a thread of the lowest priority,
// so that serving comes first: under a load that keeps every core busy,
// entries wait on disk and are shipped when the load eases.
func (s *Shipper) Run(ctx context.Context) error {
	done := make(chan error, 1)
	go func() {
		// This goroutine ends locked to its thread, which ends with it.
		if err := lowerPriority(); err != nil {
			s.logger().Warn("shipping the prediction log at normal priority", "error", err)
		}
		done <- s.run(ctx)
	}()
	return <-done
}

func (s *Shipper) run(ctx context.Context) error {
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
		if err != nil && ctx.Err() == nil {
			s.failures.Add(1)
		}
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
// the offline store, and returns how many it wrote. It may be called
// while Run runs: one Ship waits for the other.
func (s *Shipper) Ship(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
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
			s.clean = false
			return n, err
		}
		if err := s.WAL.Ack(next); err != nil {
			s.clean = false
			return n, fmt.Errorf("recording what was shipped: %w", err)
		}
		s.clean = true
		n += int64(len(recs))
		s.shipped.Add(int64(len(recs)))
		pos = next
	}
}

// Shipped counts the records shipped since the Shipper was made;
// Unreadable those left out because they did not decode (a bug, logged).
func (s *Shipper) Shipped() int64    { return s.shipped.Load() }
func (s *Shipper) Unreadable() int64 { return s.unreadable.Load() }

// write writes one batch: per destination, one WriteRows replacing the
// rows an earlier attempt at the batch wrote. The batch is named after its
// first record, which a re-read of the same position returns first again.
func (s *Shipper) write(ctx context.Context, recs [][]byte) error {
	sum := sha256.Sum256(recs[0])
	batch := s.Instance + "/" + hex.EncodeToString(sum[:16])
	// Each destination's rows go one after the other into its buffer,
	// kept for the next batch.
	for _, d := range s.destinations {
		clear(d.rows)
		d.rows = d.rows[:0]
	}
	var row []value.Value
	var dests []string
	for _, rec := range recs {
		key, out, err := s.Records.Row(rec, batch, row)
		if err != nil {
			s.unreadable.Add(1)
			s.logger().Error("a log record does not decode; it is left out", "error", err, "record", truncate(rec, 200))
			continue
		}
		row = out
		d, err := s.destination(ctx, key)
		if err != nil {
			return err
		}
		if len(out) != len(d.Columns) {
			return fmt.Errorf("a log record for %s decodes to %d values; its table has %d columns", key, len(out), len(d.Columns))
		}
		if len(d.rows) == 0 {
			dests = append(dests, key)
		}
		d.rows = append(d.rows, out...)
	}
	slices.Sort(dests)
	for _, key := range dests {
		d := s.destinations[key]
		rows := &flatRows{values: d.rows, width: len(d.Columns)}
		params := &offline.WriteRowsParams{Table: d.Table, Columns: d.Columns, Rows: rows}
		if !s.clean {
			// The batch may have been written before (by a process that
			// died before acknowledging it, or an attempt that failed
			// after it): its rows are replaced. Later batches are new,
			// and skip the delete, which scans the table.
			params.Replace = &offline.Match{Column: d.Columns[len(d.Columns)-1].Name, Value: value.FromString(batch)}
		}
		if _, err := s.Coordinator.Offline.WriteRows(ctx, params); err != nil {
			return fmt.Errorf("writing %d records to %s: %w", len(d.rows)/len(d.Columns), d.Table, err)
		}
		if d.registered {
			continue
		}
		if d.Prepare != nil {
			if err := d.Prepare(ctx); err != nil {
				return err
			}
		}
		if _, err := s.Coordinator.RegisterOutputs(ctx, d.Sources); err != nil {
			return fmt.Errorf("registering the sources over %s: %w", d.Table, err)
		}
		d.registered = true
	}
	return nil
}

// destination is a Destination, whether its sources are registered, and
// the rows of the batch being written, one after the other.
type destination struct {
	*Destination
	registered bool
	rows       []value.Value
}

// destination returns the destination of key, asking Records the first time.
func (s *Shipper) destination(ctx context.Context, key string) (*destination, error) {
	if d, ok := s.destinations[key]; ok {
		return d, nil
	}
	d, err := s.Records.Destination(ctx, key)
	if err != nil {
		return nil, err
	}
	if s.destinations == nil {
		s.destinations = map[string]*destination{}
	}
	s.destinations[key] = &destination{Destination: d}
	return s.destinations[key], nil
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

// flatRows streams rows of width values each, held one after the other
// in values (offline.RowSource).
type flatRows struct {
	values []value.Value
	width  int
	at     int // the end of the current row
}

func (r *flatRows) Next() bool {
	if r.width == 0 || r.at+r.width > len(r.values) {
		return false
	}
	r.at += r.width
	return true
}

func (r *flatRows) Values() []value.Value { return r.values[r.at-r.width : r.at] }
func (r *flatRows) Err() error            { return nil }

// Predictions are the records of a prediction log: model.Record in binary,
// shipped into one table per endpoint (TableName), registered as the
// source SourceID.
type Predictions struct {
	Registry registry.Store
}

// Row decodes a logged prediction.
func (p Predictions) Row(rec []byte, batch string, row []value.Value) (string, []value.Value, error) {
	var r model.Record
	if err := r.UnmarshalBinary(rec); err != nil {
		return "", row, err
	}
	if r.ID == "" {
		return "", row, errors.New("no prediction id")
	}
	if _, err := resource.ParseRef(r.Endpoint); err != nil {
		return "", row, fmt.Errorf("endpoint %q: %w", r.Endpoint, err)
	}
	return r.Endpoint, r.AppendRow(row, batch), nil
}

// Destination is an endpoint's prediction table and its source.
func (p Predictions) Destination(ctx context.Context, endpoint string) (*Destination, error) {
	ep, err := resource.ParseRef(endpoint)
	if err != nil {
		return nil, err
	}
	table := TableName(ep)
	src := &resource.Resource{ID: SourceID(ep),
		Description: fmt.Sprintf("Every prediction endpoint %s answered (the prediction log).", ep),
		Source:      &resource.SourceSpec{Table: table, TimestampColumn: resource.PredictedAtColumn}}
	if p.Registry != nil {
		if def, err := p.Registry.Get(ctx, resource.NewID(resource.KindEndpoint, ep)); err == nil {
			src.Owner, src.Tags = def.Owner, def.Tags
		}
	}
	return &Destination{Table: table, Columns: resource.PredictionColumns, Sources: []*resource.Resource{src}}, nil
}
