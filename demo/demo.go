// Package demo generates Slipway's demo data set: an email-marketing platform
// for small shops (a candle shop owner sending holiday campaigns, a ceramics
// studio sending a monthly newsletter) with shops, subscribers, campaigns,
// email events and orders, written as CSV files.
//
// Generation is deterministic: the same Options give byte-identical files.
// Scale 1 is about 6,000 subscribers and 150,000 email events over 90 days;
// the row counts grow linearly with Scale, so tests use small scales and
// benchmarks large ones.
//
// The behaviour is simulated from hidden per-subscriber traits (engagement,
// propensity to buy, basket size) so that features computed from the data
// carry signal for the label: subscribers who open and click more, and who
// ordered before, buy after a campaign more often.
//
// The example definitions over this data are embedded in the package; see
// WriteProject.
package demo

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Options configure Generate. The zero value means the defaults.
type Options struct {
	// Scale multiplies the number of shops and subscribers (and so every
	// other row count); 0 means 1.
	Scale float64
	// Seed selects the random data; the same seed and options give the same bytes.
	Seed uint64
	// Start is the first day of data (truncated to a UTC day); zero means 2026-01-01.
	Start time.Time
	// Days is how many days the data covers; 0 means 90.
	Days int
}

// DefaultStart is the first day of data when Options.Start is zero.
var DefaultStart = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// DefaultDays is the number of days covered when Options.Days is zero.
const DefaultDays = 90

// TimeLayout is how timestamps are written: ISO 8601 in UTC with
// microseconds and no zone suffix, which DuckDB's read_csv detects as
// TIMESTAMP (with a trailing "Z" it would pick TIMESTAMP WITH TIME ZONE).
const TimeLayout = "2006-01-02T15:04:05.000000"

// The files Generate writes, in the order it lists them.
const (
	ShopsFile       = "shops.csv"
	SubscribersFile = "subscribers.csv"
	CampaignsFile   = "campaigns.csv"
	EmailEventsFile = "email_events.csv"
	OrdersFile      = "orders.csv"
)

// Files lists the names of the files Generate writes.
var Files = []string{ShopsFile, SubscribersFile, CampaignsFile, EmailEventsFile, OrdersFile}

// withDefaults fills zero fields and checks the rest.
func (o Options) withDefaults() (Options, error) {
	if o.Scale == 0 {
		o.Scale = 1
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	o.Start = o.Start.UTC().Truncate(24 * time.Hour)
	if o.Days == 0 {
		o.Days = DefaultDays
	}
	return o, o.Validate()
}

// Validate reports options Generate cannot use.
func (o Options) Validate() error {
	if o.Scale < 0 || math.IsNaN(o.Scale) || math.IsInf(o.Scale, 0) {
		return fmt.Errorf("invalid scale %v: use a positive number (1 is the default size)", o.Scale)
	}
	if o.Days < 0 || o.Days > 3660 {
		return fmt.Errorf("invalid days %d: use 1 to 3660", o.Days)
	}
	return nil
}

// Summary describes what Generate wrote.
type Summary struct {
	// Dir is the directory holding the files.
	Dir string
	// Start and End bound the generated event times: Start ≤ t < End.
	Start, End time.Time
	// Files lists every file written, in the order of Files.
	Files []FileSummary
	// Sample is the subscriber with the most opens in the last
	// SampleWindowDays days of data (the lowest id among equals), counted
	// here from the events written, so that a person, or a test, can check
	// the features Slipway computes from the files against it.
	Sample Sample
}

// SampleWindowDays is the window Sample counts events in: the days before
// Summary.End, as the demo's 30-day features do.
const SampleWindowDays = 30

// Sample is one subscriber's email activity in the SampleWindowDays days
// before the end of the data: opens and clicks with End − 30 days ≤
// event_time < End. Opens is zero when nobody opened an email then.
type Sample struct {
	Subscriber    string
	Opens, Clicks int64
}

// FileSummary is one written file.
type FileSummary struct {
	// Name is the file name inside Summary.Dir, such as "orders.csv".
	Name string
	// Rows counts data rows, not the header.
	Rows int64
	// Bytes is the file size.
	Bytes int64
}

// Rows returns the number of data rows in the named file, or 0 if it was not written.
func (s *Summary) Rows(name string) int64 {
	for _, f := range s.Files {
		if f.Name == name {
			return f.Rows
		}
	}
	return 0
}

// Generate writes the demo data set as CSV files (see Files) into dir,
// creating it if needed. Each file has a header row; timestamps use
// TimeLayout. Files are written under temporary names and renamed at the end,
// so an error or cancellation leaves no half-written file under a final name.
func Generate(ctx context.Context, dir string, opts Options) (*Summary, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating demo data directory: %w", err)
	}
	g := &generator{
		opts:  opts,
		rng:   rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		start: opts.Start.UnixMicro(),
		end:   opts.Start.AddDate(0, 0, opts.Days).UnixMicro(),
	}
	outs := make([]*csvFile, len(Files))
	defer func() {
		for _, out := range outs {
			if out != nil {
				out.abort()
			}
		}
	}()
	headers := [][]string{
		{"shop_id", "name", "category", "country", "plan", "created_at"},
		{"subscriber_id", "shop_id", "region", "signup_channel", "signed_up_at"},
		{"campaign_id", "shop_id", "name", "kind", "sent_at", "recipients"},
		{"subscriber_id", "shop_id", "campaign_id", "event_type", "event_time"},
		{"order_id", "subscriber_id", "shop_id", "campaign_id", "ordered_at", "amount"},
	}
	for i, name := range Files {
		if outs[i], err = createCSV(filepath.Join(dir, name), headers[i]); err != nil {
			return nil, err
		}
	}
	g.shops, g.subscribers, g.campaigns, g.events, g.orders = outs[0], outs[1], outs[2], outs[3], outs[4]
	if err := g.run(ctx); err != nil {
		return nil, err
	}
	sum := &Summary{Dir: dir, Start: opts.Start, End: time.UnixMicro(g.end).UTC(), Sample: g.sample}
	for i, out := range outs {
		size, err := out.commit()
		outs[i] = nil
		if err != nil {
			return nil, err
		}
		sum.Files = append(sum.Files, FileSummary{Name: Files[i], Rows: out.rows, Bytes: size})
	}
	return sum, nil
}

// csvFile writes one CSV file through a buffer. Values written by the
// generator never contain commas, quotes or newlines, so no quoting is needed.
type csvFile struct {
	path string
	f    *os.File
	w    *bufio.Writer
	rows int64
	line []byte
}

func createCSV(path string, header []string) (*csvFile, error) {
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", filepath.Base(path), err)
	}
	c := &csvFile{path: path, f: f, w: bufio.NewWriterSize(f, 1<<18)}
	for i, h := range header {
		if i > 0 {
			c.line = append(c.line, ',')
		}
		c.line = append(c.line, h...)
	}
	c.line = append(c.line, '\n')
	_, err = c.w.Write(c.line)
	return c, err
}

// row starts a new line; fields are appended to the returned buffer and
// handed back to end.
func (c *csvFile) row() []byte { return c.line[:0] }

// end writes a line. A write error sticks in the bufio.Writer and is
// reported by commit, so it is not checked here.
func (c *csvFile) end(line []byte) {
	line = append(line, '\n')
	c.line = line
	c.rows++
	c.w.Write(line)
}

func (c *csvFile) commit() (int64, error) {
	name := filepath.Base(c.path)
	if err := c.w.Flush(); err != nil {
		c.abort()
		return 0, fmt.Errorf("writing %s: %w", name, err)
	}
	info, err := c.f.Stat()
	if err == nil {
		err = c.f.Close()
	}
	if err == nil {
		err = os.Rename(c.path+".tmp", c.path)
	}
	if err != nil {
		os.Remove(c.path + ".tmp")
		return 0, fmt.Errorf("writing %s: %w", name, err)
	}
	return info.Size(), nil
}

func (c *csvFile) abort() {
	c.f.Close()
	os.Remove(c.path + ".tmp")
}

func appendTime(b []byte, micros int64) []byte {
	return time.UnixMicro(micros).UTC().AppendFormat(b, TimeLayout)
}

func appendID(b []byte, prefix string, n int) []byte {
	b = append(b, prefix...)
	return strconv.AppendInt(b, int64(n), 10)
}
