package offlineduckdb

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/internal/sqltext"
)

// DropTable implements offline.Store.
func (s *Store) DropTable(ctx context.Context, p *offline.DropTableParams) error {
	if p.Table == "" {
		return errors.New("dropping table: no table name")
	}
	mu, _ := s.tables.LoadOrStore(p.Table, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	s.written.Delete(p.Table)
	err := func() error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		kind, err := objectKind(ctx, tx, p.Table)
		if err != nil || kind == "" {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DROP "+kind+" "+sqltext.QuoteQualified(p.Table)); err != nil {
			return err
		}
		return tx.Commit()
	}()
	if err != nil {
		return fmt.Errorf("dropping table %s: %w", p.Table, err)
	}
	return nil
}
