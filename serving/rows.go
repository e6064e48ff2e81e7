package serving

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"

	"github.com/slipway-ml/slipway/offline"
)

// WriteRows streams rows as csv (with a header) or jsonl (one object per row)
// and returns the number of rows written. Memory stays bounded by one row.
func WriteRows(w io.Writer, rows offline.Rows, format string) (int64, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	cols := rows.Columns()
	var n int64
	switch format {
	case "csv":
		cw := csv.NewWriter(bw)
		if err := cw.Write(cols); err != nil {
			return 0, err
		}
		rec := make([]string, len(cols))
		for rows.Next() {
			for i, v := range rows.Values() {
				rec[i] = v.String()
			}
			if err := cw.Write(rec); err != nil {
				return n, err
			}
			n++
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, err
		}
	case "jsonl":
		keys := make([][]byte, len(cols))
		for i, c := range cols {
			keys[i], _ = json.Marshal(c)
		}
		for rows.Next() {
			bw.WriteByte('{')
			for i, v := range rows.Values() {
				if i > 0 {
					bw.WriteByte(',')
				}
				bw.Write(keys[i])
				bw.WriteByte(':')
				b, err := v.MarshalJSON()
				if err != nil {
					return n, err
				}
				bw.Write(b)
			}
			bw.WriteString("}\n")
			n++
		}
	default:
		return 0, fmt.Errorf("cannot stream format %q: use csv or jsonl", format)
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}
