package serving_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// sliceRows is an offline.Rows over a slice: a fixture for the writer, which
// only sees the iterator. err, when set, is reported after the rows.
type sliceRows struct {
	cols []string
	rows [][]value.Value
	err  error
	i    int
	cur  []value.Value
}

var _ offline.Rows = (*sliceRows)(nil)

func (r *sliceRows) Columns() []string { return r.cols }

func (r *sliceRows) Next() bool {
	if r.i >= len(r.rows) {
		return false
	}
	// Reuse one slice, as real implementations may.
	r.cur = append(r.cur[:0], r.rows[r.i]...)
	r.i++
	return true
}

func (r *sliceRows) Values() []value.Value { return r.cur }
func (r *sliceRows) Err() error            { return r.err }
func (r *sliceRows) Close() error          { return nil }

var ts = time.Date(2025, 5, 30, 8, 15, 0, 123456789, time.UTC)

func sample() *sliceRows {
	return &sliceRows{
		cols: []string{"subscriber_id", "opens_30d", "avg_order_value", "region", "is_unsubscribed", "label_time"},
		rows: [][]value.Value{
			{value.FromString("sub_1036"), value.FromInt64(12), value.FromFloat64(42.5), value.FromString("uk"), value.FromBool(false), value.FromTime(ts)},
			{value.FromString("sub_2"), value.NullValue(), value.NullValue(), value.FromString(`us-west, "coast"`), value.FromBool(true), value.FromTime(ts.In(time.FixedZone("CEST", 2*3600)))},
			{value.FromString("sub_3"), value.FromInt64(-7), value.FromFloat64(1e21), value.FromString("line\nbreak"), value.NullValue(), value.NullValue()},
		},
	}
}

func TestWriteRowsCSV(t *testing.T) {
	var buf bytes.Buffer
	n, err := serving.WriteRows(&buf, sample(), "csv")
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("wrote %d rows, want 3", n)
	}
	// Header first; null is an empty field; timestamps are UTC with microseconds;
	// fields with commas, quotes or newlines are quoted.
	want := "subscriber_id,opens_30d,avg_order_value,region,is_unsubscribed,label_time\n" +
		"sub_1036,12,42.5,uk,false,2025-05-30T08:15:00.123456Z\n" +
		"sub_2,,,\"us-west, \"\"coast\"\"\",true,2025-05-30T08:15:00.123456Z\n" +
		"sub_3,-7,1e+21,\"line\nbreak\",,\n"
	if buf.String() != want {
		t.Errorf("csv output:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestWriteRowsJSONL(t *testing.T) {
	var buf bytes.Buffer
	n, err := serving.WriteRows(&buf, sample(), "jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("wrote %d rows, want 3", n)
	}
	// One object per line, keys in column order; null is JSON null, numbers and
	// bools are JSON scalars, timestamps are RFC 3339 strings in UTC.
	want := `{"subscriber_id":"sub_1036","opens_30d":12,"avg_order_value":42.5,"region":"uk","is_unsubscribed":false,"label_time":"2025-05-30T08:15:00.123456Z"}` + "\n" +
		`{"subscriber_id":"sub_2","opens_30d":null,"avg_order_value":null,"region":"us-west, \"coast\"","is_unsubscribed":true,"label_time":"2025-05-30T08:15:00.123456Z"}` + "\n" +
		`{"subscriber_id":"sub_3","opens_30d":-7,"avg_order_value":1e+21,"region":"line\nbreak","is_unsubscribed":null,"label_time":null}` + "\n"
	if buf.String() != want {
		t.Errorf("jsonl output:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestWriteRowsJSONLEscapesColumnsAndNonFiniteFloats(t *testing.T) {
	rows := &sliceRows{
		cols: []string{`a"b`, "<c>"},
		rows: [][]value.Value{{value.FromFloat64(math.NaN()), value.FromFloat64(math.Inf(1))}},
	}
	var buf bytes.Buffer
	if _, err := serving.WriteRows(&buf, rows, "jsonl"); err != nil {
		t.Fatal(err)
	}
	// Non-finite floats cannot be JSON numbers, so they are null.
	want := `{"a\"b":null,"\u003cc\u003e":null}` + "\n"
	if buf.String() != want {
		t.Errorf("jsonl output %q, want %q", buf.String(), want)
	}
}

func TestWriteRowsNoRows(t *testing.T) {
	for format, want := range map[string]string{
		"csv":   "entity,value\n", // the header still tells the reader the columns
		"jsonl": "",
	} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			n, err := serving.WriteRows(&buf, &sliceRows{cols: []string{"entity", "value"}}, format)
			if err != nil || n != 0 {
				t.Fatalf("WriteRows = %d, %v; want 0, nil", n, err)
			}
			if buf.String() != want {
				t.Errorf("output %q, want %q", buf.String(), want)
			}
		})
	}
}

func TestWriteRowsUnknownFormat(t *testing.T) {
	var buf bytes.Buffer
	n, err := serving.WriteRows(&buf, sample(), "parquet")
	if err == nil {
		t.Fatal("WriteRows with format parquet succeeded; want an error")
	}
	for _, f := range []string{`"parquet"`, "csv or jsonl"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not mention %s", err, f)
		}
	}
	if n != 0 || buf.Len() != 0 {
		t.Errorf("wrote %d rows, %d bytes; want nothing", n, buf.Len())
	}
}

func TestWriteRowsIteratorError(t *testing.T) {
	boom := errors.New("engine went away")
	for _, format := range []string{"csv", "jsonl"} {
		t.Run(format, func(t *testing.T) {
			rows := sample()
			rows.err = boom
			n, err := serving.WriteRows(&bytes.Buffer{}, rows, format)
			if !errors.Is(err, boom) {
				t.Errorf("error %v, want the iterator's error", err)
			}
			if n != 3 {
				t.Errorf("reported %d rows, want the 3 read before the error", n)
			}
		})
	}
}

// failWriter fails every write after the first limit bytes.
type failWriter struct{ limit int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errors.New("disk full")
	}
	w.limit -= len(p)
	return len(p), nil
}

func TestWriteRowsWriterError(t *testing.T) {
	for _, format := range []string{"csv", "jsonl"} {
		t.Run(format, func(t *testing.T) {
			if _, err := serving.WriteRows(&failWriter{limit: 10}, sample(), format); err == nil || !strings.Contains(err.Error(), "disk full") {
				t.Errorf("error %v, want the writer's error", err)
			}
		})
	}
}

func TestWriteRowsFlushesEverything(t *testing.T) {
	// Far more than the writer's 64 KiB buffer: every row must reach w.
	const total = 20_000
	rows := &sliceRows{cols: []string{"entity", "value"}}
	for i := range total {
		rows.rows = append(rows.rows, []value.Value{value.FromString(fmt.Sprintf("sub_%d", i)), value.FromInt64(int64(i))})
	}
	for _, format := range []string{"csv", "jsonl"} {
		t.Run(format, func(t *testing.T) {
			rows.i = 0
			var buf bytes.Buffer
			n, err := serving.WriteRows(&buf, rows, format)
			if err != nil || n != total {
				t.Fatalf("WriteRows = %d, %v; want %d, nil", n, err, total)
			}
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			wantLines := total
			if format == "csv" {
				wantLines++
			}
			if len(lines) != wantLines {
				t.Fatalf("%d lines, want %d", len(lines), wantLines)
			}
			last := lines[len(lines)-1]
			if want := map[string]string{"csv": "sub_19999,19999", "jsonl": `{"entity":"sub_19999","value":19999}`}[format]; last != want {
				t.Errorf("last line %q, want %q", last, want)
			}
		})
	}
}
