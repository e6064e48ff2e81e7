package offlinepg

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/slipway-ml/slipway/offline"
)

// codeDependentObjects is PostgreSQL's dependent_objects_still_exist.
const codeDependentObjects = "2BP01"

// DropTable implements offline.Store. It never cascades: a view of the
// user's that reads the table stops the drop with an error naming it.
func (s *Store) DropTable(ctx context.Context, p *offline.DropTableParams) error {
	if p.Table == "" {
		return errors.New("dropping table: no table name")
	}
	schema, table, err := s.splitName(p.Table)
	if err != nil {
		return fmt.Errorf("dropping table %s: %w", p.Table, err)
	}
	name := offline.QuoteIdent(schema) + "." + offline.QuoteIdent(table)
	err = s.withConn(ctx, func(c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			// The lock CreateTable takes: a replacement in progress ends first.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, schema+"."+table); err != nil {
				return err
			}
			var kind string
			err := tx.QueryRow(ctx, `SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2`, schema, table).Scan(&kind)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				return nil
			case err != nil:
				return err
			}
			drop := ""
			switch kind {
			case "r", "p":
				drop = "DROP TABLE "
			case "v":
				drop = "DROP VIEW "
			default:
				return fmt.Errorf("%s is not a table or view (pg_class.relkind %q): drop it by hand", name, kind)
			}
			_, err = tx.Exec(ctx, drop+name)
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == codeDependentObjects {
				detail := strings.ReplaceAll(pe.Detail, "\n", "; ")
				return fmt.Errorf("other objects read %s (%s): drop them first, or keep the resource deprecated", name, detail)
			}
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("dropping table %s: %w", p.Table, err)
	}
	return nil
}
