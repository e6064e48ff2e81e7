package online

import (
	"context"
	"errors"
	"time"

	"github.com/slipway-ml/slipway/value"
)

// Store is an online store.
type Store interface {
	// Write stores records, newer-wins per (feature, entity).
	Write(ctx context.Context, p *WriteParams) error
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
// share their timestamps (features of one dataset are materialized together).
// Newer-wins is still decided per (feature, entity). A batch with no
// features, an empty or repeated feature, an empty entity, or a record
// without exactly one value per feature is an error, and nothing of it is
// written.
type WriteParams struct {
	// Features identifies the features, each as "name:variant".
	Features []string
	Records  []Record
}

// ReadParams is the input of Read.
type ReadParams struct {
	Features []string
	Entities []string
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

// Sentinel errors.
var (
	ErrUnsupported = errors.New("not supported by this online store")
)
