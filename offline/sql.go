package offline

import (
	"errors"
	"fmt"
	"strings"
)

// What every implementer's SQL must agree with: user SQL is embedded after
// TrimSQL (so UserLine finds its lines), and ReadLatest parameters are
// checked by CheckReadLatest. The SQL text the SQL stores share otherwise
// (literals, quoted names, the training set's ORDER BY) is in
// offline/internal/sqltext.

// TrimSQL removes surrounding space and trailing semicolons from a query so it
// can be nested as a subquery.
func TrimSQL(sql string) string {
	return strings.TrimRight(strings.TrimSpace(sql), "; \t\r\n")
}

// CheckReadLatest returns the error of parameters no ReadLatest query can
// answer: no value columns, Since without a timestamp column, a timestamp
// column without AsOf, or a partition
// outside 0 ≤ Partition < Partitions (Partition must be 0 when Partitions is
// 0 or 1, which read everything). Stores wrap it with the table's name.
func CheckReadLatest(p *ReadLatestParams) error {
	switch {
	case len(p.ValueColumns) == 0:
		return errors.New("no value columns")
	case !p.Since.IsZero() && p.TimestampColumn == "":
		return errors.New("a Since time needs a timestamp column, and the table has none (static values)")
	case p.AsOf.IsZero() && p.TimestampColumn != "":
		return errors.New("no AsOf time: a read of timestamped values must say as of when (rows dated later are not read)")
	case p.Partitions < 0:
		return fmt.Errorf("%d partitions: want 0 or 1 (no split) or more", p.Partitions)
	case p.Partitions <= 1 && p.Partition != 0:
		return fmt.Errorf("partition %d without a split (%d partitions): want partition 0", p.Partition, p.Partitions)
	case p.Partitions > 1 && (p.Partition < 0 || p.Partition >= p.Partitions):
		return fmt.Errorf("partition %d of %d: want 0 ≤ partition < %d", p.Partition, p.Partitions, p.Partitions)
	}
	return nil
}
