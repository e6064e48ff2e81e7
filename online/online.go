package online

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/value"
)

// Store is an online store.
type Store interface {
	// Write stores records, newer-wins per (feature, entity).
	Write(ctx context.Context, p *WriteParams) error
	// DeleteFeatures removes every stored value of some features; see DeleteFeaturesParams.
	DeleteFeatures(ctx context.Context, p *DeleteFeaturesParams) error
	// Read returns Entries[entity][feature] for every requested pair.
	Read(ctx context.Context, p *ReadParams) (*ReadResult, error)
	// Close releases the store.
	Close() error
}

// Record is one entity's values of the features of a write, as of one time.
type Record struct {
	Entity string
	// Values holds one value per WriteParams.Features, in that order.
	Values []value.Value
	// Timestamp is when the values became true (the zero time for static features).
	Timestamp time.Time
}

// WriteParams is the input of Write: records of one or more features that
// share their timestamps (features of one source are materialized together).
// Newer-wins is still decided per (feature, entity). A batch with no
// features, an empty or repeated feature, an empty entity, or a record
// without exactly one value per feature is an error, and nothing of it is
// written.
//
// AsOf, when not zero, is the time the records are true at (the
// materialization time): a stored value dated after it is replaced whatever
// newer-wins says, because it cannot be the value as of AsOf (an earlier
// version wrote rows dated in the future; see docs/design/core.md). A record
// dated after AsOf is an error.
type WriteParams struct {
	// Features identifies the features, each as "name:variant".
	Features []string
	Records  []Record
	AsOf     time.Time
}

// ReadParams is the input of Read.
type ReadParams struct {
	Features []string
	Entities []string
	// Buffer, when its capacity holds len(Entities)*len(Features) entries,
	// may be used by Read as the backing array of the result's entries
	// instead of a new one (serving reuses it from request to request). A
	// store that uses it overwrites every entry it returns, whatever the
	// buffer held; the caller owns it again, and the result's entries with
	// it, once it is done with the result. A store may ignore it.
	Buffer []Entry
}

// NewEntries returns the result's Entries[entity][feature], all not found:
// one backing array for the whole result, Buffer when it is large enough
// (cleared), so that allocations per read stay constant. A store's Read
// fills it in.
func (p *ReadParams) NewEntries() [][]Entry {
	entries := make([][]Entry, len(p.Entities))
	nf := len(p.Features)
	if nf == 0 {
		for i := range entries {
			entries[i] = []Entry{}
		}
		return entries
	}
	all := p.Buffer
	if n := len(p.Entities) * nf; cap(all) >= n {
		all = all[:n]
		clear(all)
	} else {
		all = make([]Entry, n)
	}
	for i := range entries {
		entries[i] = all[i*nf : (i+1)*nf : (i+1)*nf]
	}
	return entries
}

// Entry is the stored value for one (entity, feature) pair.
type Entry struct {
	Found     bool
	Value     value.Value
	Timestamp time.Time
}

// ReadResult holds Entries[i][j] for Entities[i] and Features[j].
type ReadResult struct {
	Entries [][]Entry
}

// Validate checks a write before a store touches anything: named, distinct
// features, and records with an entity, one value per feature and a
// timestamp not after AsOf.
func (p *WriteParams) Validate() error {
	if len(p.Features) == 0 {
		return errors.New("no features: name at least one feature to write")
	}
	seen := make(map[string]int, len(p.Features))
	for j, f := range p.Features {
		if f == "" {
			return fmt.Errorf("feature %d is empty", j)
		}
		if k, ok := seen[f]; ok {
			return fmt.Errorf("feature %s named twice (features %d and %d)", f, k, j)
		}
		seen[f] = j
	}
	for i, r := range p.Records {
		if r.Entity == "" {
			return fmt.Errorf("record %d: entity is empty", i)
		}
		if len(r.Values) != len(p.Features) {
			return fmt.Errorf("record %d (entity %q): %d values for %d features", i, r.Entity, len(r.Values), len(p.Features))
		}
		if !p.AsOf.IsZero() && r.Timestamp.After(p.AsOf) {
			return fmt.Errorf("record %d (entity %q) is dated %s, after the write's AsOf %s: a value is not written before its time",
				i, r.Entity, r.Timestamp.UTC().Format(time.RFC3339Nano), p.AsOf.UTC().Format(time.RFC3339Nano))
		}
	}
	return nil
}

// Describe names the features of a write for error messages.
func (p *WriteParams) Describe() string {
	switch n := len(p.Features); {
	case n == 0:
		return "online records"
	case n <= 3:
		return strings.Join(p.Features, ", ")
	default:
		return fmt.Sprintf("%s, %s and %d more features", p.Features[0], p.Features[1], n-2)
	}
}
