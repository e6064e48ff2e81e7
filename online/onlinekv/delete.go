package onlinekv

import (
	"context"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/slipway-ml/slipway/online"
)

// DeleteFeatures implements online.Store: each feature is one bucket, so
// deleting it is one DeleteBucket in one transaction, whatever the number of
// entities (bbolt frees the bucket's pages for reuse; the file does not
// shrink).
func (s *Store) DeleteFeatures(ctx context.Context, p *online.DeleteFeaturesParams) error {
	what := strings.Join(p.Features, ", ")
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deleting online values of %s: %w", what, err)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("deleting online values of %s: %w", what, err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, f := range p.Features {
			if err := tx.DeleteBucket([]byte(f)); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
				return fmt.Errorf("%s: %w", f, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("deleting online values of %s: %w", what, err)
	}
	return nil
}
