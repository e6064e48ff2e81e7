// Package onlinekv is the embedded online store: a single bbolt file holding
// the latest value of every materialized feature per entity. It is the
// zero-configuration default; see docs/design/online-embedded-kv.md.
//
// Layout: one bucket per feature, named by the feature string ("name:variant");
// key = entity, value = online.AppendEntry(value, timestamp). Many readers run
// concurrently with one writer; one process at a time may open the file.
package onlinekv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/slipway-ml/slipway/online"
)

var _ online.Store = (*Store)(nil)

// Config configures the embedded online store.
type Config struct {
	// Path is the database file, created with its parent directory if missing.
	Path string
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if c.Path == "" {
		return errors.New("online store path is empty: set the path of the embedded database file")
	}
	return nil
}

// lockTimeout bounds the wait for the file lock bbolt takes, so a second
// process opening the same data directory fails instead of hanging.
const lockTimeout = 2 * time.Second

// ctxCheckEvery is how many records Write handles between context checks.
const ctxCheckEvery = 1024

// Store is an online.Store on a bbolt file.
type Store struct {
	db     *bolt.DB
	logger *slog.Logger
}

// New opens (creating if needed) the store at cfg.Path.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
		return nil, fmt.Errorf("creating online store directory: %w", err)
	}
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{
		Timeout:      lockTimeout,
		FreelistType: bolt.FreelistMapType, // faster than the array freelist once the file is large
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("opening online store %s: file is locked; is another slipway process using this data directory?", cfg.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("opening online store %s: %w", cfg.Path, err)
	}
	logger.DebugContext(ctx, "opened online store", "path", cfg.Path)
	return &Store{db: db, logger: logger}, nil
}

// Write stores the records of one or more features in a single
// transaction, keeping per (feature, entity) the record with the newest
// timestamp (equal replaces), or replacing a stored value dated after
// p.AsOf. It reads the stored entry first, so replaying a
// materialization never moves a value back in time; duplicates within a
// batch follow the same rule. An invalid batch writes nothing.
func (s *Store) Write(ctx context.Context, p *online.WriteParams) error {
	what := p.Describe()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("writing %s: %w", what, err)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("writing %s: %w", what, err)
	}
	if len(p.Records) == 0 {
		return nil
	}
	// bbolt keeps the value slices until commit, so entries are carved out of
	// one arena instead of a reused buffer; growth leaves earlier slices intact.
	arena := make([]byte, 0, 16*len(p.Records)*len(p.Features))
	// A stored value dated after AsOf is replaced; without AsOf none is.
	asOf := p.AsOf
	if asOf.IsZero() {
		asOf = maxTime
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		// Feature by feature: consecutive puts then land in the same bucket,
		// on neighbouring pages when the entities come sorted.
		n := 0
		for j, f := range p.Features {
			b, err := tx.CreateBucketIfNotExists([]byte(f))
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			for _, r := range p.Records {
				if n++; n%ctxCheckEvery == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				key := []byte(r.Entity)
				if old := b.Get(key); old != nil {
					_, oldTS, err := online.DecodeEntry(old)
					if err != nil {
						return fmt.Errorf("%s for entity %q: stored entry: %w", f, r.Entity, err)
					}
					if r.Timestamp.Truncate(time.Microsecond).Before(oldTS) && !oldTS.After(asOf) {
						continue
					}
				}
				start := len(arena)
				arena = online.AppendEntry(arena, r.Values[j], r.Timestamp)
				if err := b.Put(key, arena[start:len(arena):len(arena)]); err != nil {
					return fmt.Errorf("%s for entity %q: %w", f, r.Entity, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing %s: %w", what, err)
	}
	return nil
}

// Read returns Entries[entity][feature] from one consistent snapshot.
func (s *Store) Read(ctx context.Context, p *online.ReadParams) (*online.ReadResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading online features: %w", err)
	}
	entries := p.NewEntries()
	if len(p.Entities) == 0 || len(p.Features) == 0 {
		return &online.ReadResult{Entries: entries}, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		buckets := make([]*bolt.Bucket, len(p.Features))
		for j, f := range p.Features {
			if f != "" {
				buckets[j] = tx.Bucket([]byte(f)) // nil: never written, every entry missing
			}
		}
		for i, e := range p.Entities {
			if i%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			key := []byte(e)
			for j, b := range buckets {
				if b == nil {
					continue
				}
				raw := b.Get(key)
				if raw == nil {
					continue
				}
				v, ts, err := online.DecodeEntry(raw)
				if err != nil {
					return fmt.Errorf("%s for entity %q: %w", p.Features[j], e, err)
				}
				entries[i][j] = online.Entry{Found: true, Value: v, Timestamp: ts}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading online features: %w", err)
	}
	return &online.ReadResult{Entries: entries}, nil
}

// Close closes the database file.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing online store: %w", err)
	}
	return nil
}

// Version describes the store (for `slipway doctor`): bbolt has no runtime version, so it names the file.
func (s *Store) Version(ctx context.Context) (string, error) {
	return "bbolt file " + s.db.Path(), nil
}

// maxTime is after every timestamp an entry holds.
var maxTime = time.Unix(1<<62, 0)
