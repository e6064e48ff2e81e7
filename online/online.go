package online

import (
	"context"
	"errors"
	"time"

	"github.com/slipway-ml/slipway/value"
)

// Store is an online store.
type Store interface {
	// Write stores records of one feature, newer-wins per entity.
	Write(ctx context.Context, p *WriteParams) error
	// Read returns Entries[entity][feature] for every requested pair.
	Read(ctx context.Context, p *ReadParams) (*ReadResult, error)
	// Close releases the store.
	Close() error
}

// Record is one entity's value of a feature at a time.
type Record struct {
	Entity string
	Value  value.Value
	// Timestamp is when the value became true (the zero time for static features).
	Timestamp time.Time
}

// WriteParams is the input of Write.
type WriteParams struct {
	// Feature identifies the feature, as "name:variant".
	Feature string
	Records []Record
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
