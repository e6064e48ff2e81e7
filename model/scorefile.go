package model

// Scoring files: what `slipway score MODEL --in FILE --out FILE` runs.

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/value"
)

// CSVInput says how ScoreCSV reads an input file's features.
type CSVInput string

const (
	// CSVAuto decides from the header, and when the header fits both, from
	// the first rows' values.
	CSVAuto CSVInput = ""
	// CSVRaw reads feature values as a plain training-set export writes
	// them, and encodes them.
	CSVRaw CSVInput = "raw"
	// CSVEncoded reads the encoded columns as `export --encoded` writes them.
	CSVEncoded CSVInput = "encoded"
)

// scoreBatchRows is how many rows ScoreCSV scores in one PredictRows call.
const scoreBatchRows = 1024

// ScoreCSVParams tunes ScoreCSVWith. The zero value is ScoreCSV's behaviour.
type ScoreCSVParams struct {
	// Input forces raw or encoded reading (default CSVAuto).
	Input CSVInput
	// Workers is how many goroutines parse and score batches
	// (default GOMAXPROCS).
	Workers int
}

// ScoreCSV scores a CSV file with s and writes the input's columns followed
// by s.OutputNames(); it returns the number of rows scored.
//
// The input is ENCODED when its header holds every one of the encoding's
// columns (Encoding.Columns), as `slipway training-set export --encoded`
// writes them: numbers, an empty field for missing. It is RAW when the
// header holds every feature name, with values as `slipway training-set
// export --format csv` writes them: int64 and float64 numbers (float64 also
// "nan", "inf", "-inf"), bools true/false (also 1/0, t/f), timestamps RFC
// 3339 ("2024-01-02T03:04:05.000000Z", any offset) or "2024-01-02
// 03:04:05[.ffffff][+00[:00]]" (no offset: UTC) or a date "2024-01-02",
// strings as they are; an empty field is null (so an empty string reads as
// null). Other columns are copied through unread. When the header fits
// both (ordinal encoding names each column after its feature), the first
// rows decide: a bool written true/false, a timestamp written as a date or a
// string that is not a number means raw; a timestamp written as a number or
// a string feature written as a number outside its vocabulary means encoded;
// numeric features read the same either way. ScoreCSVWith with Input set
// decides without looking.
//
// A value that does not parse is an error naming the line, the column and
// the value; rows before it may have been written, so write to a temporary
// file and rename it on success. Rows are scored in batches of 1024 on
// GOMAXPROCS goroutines, in order. A cancelled ctx stops it.
func ScoreCSV(ctx context.Context, s *Scorer, in io.Reader, out io.Writer) (int64, error) {
	return ScoreCSVWith(ctx, s, in, out, nil)
}

// ScoreCSVWith is ScoreCSV with parameters; p may be nil.
func ScoreCSVWith(ctx context.Context, s *Scorer, in io.Reader, out io.Writer, p *ScoreCSVParams) (int64, error) {
	if p == nil {
		p = &ScoreCSVParams{}
	}
	if p.Input != CSVAuto && p.Input != CSVRaw && p.Input != CSVEncoded {
		return 0, fmt.Errorf("scoring CSV: input kind %q: use %q or %q (or empty to decide from the header)", p.Input, CSVRaw, CSVEncoded)
	}
	workers := p.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	r := csv.NewReader(bufio.NewReaderSize(in, 256<<10))
	header, err := r.Read()
	if err == io.EOF {
		return 0, errors.New("scoring CSV: the input is empty: it needs a header line naming the feature columns")
	}
	if err != nil {
		return 0, fmt.Errorf("scoring CSV: %w", err)
	}
	header = slices.Clone(header)
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	sf, err := newScoreFile(s, header, p.Input)
	if err != nil {
		return 0, fmt.Errorf("scoring CSV: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bw := bufio.NewWriterSize(out, 256<<10)
	outHeader := appendCSVRecord(nil, append(slices.Clone(header), s.OutputNames()...))
	if _, err := bw.Write(outHeader); err != nil {
		return 0, fmt.Errorf("scoring CSV: writing: %w", err)
	}

	// The reader runs ahead by one batch per worker, so that a worker that
	// finishes a batch finds the next one read.
	jobs := make(chan *scoreBatch, workers)
	ordered := make(chan *scoreBatch, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := sf.newWorker()
			for b := range jobs {
				b.err = w.score(b)
				close(b.done)
			}
		}()
	}
	// The writer takes batches in reading order and stops at the first error.
	var (
		written  int64
		writeErr error
		wdone    = make(chan struct{})
	)
	go func() {
		defer close(wdone)
		for b := range ordered {
			<-b.done
			if writeErr != nil {
				continue
			}
			if b.err != nil {
				writeErr = b.err
				cancel()
				continue
			}
			if _, err := bw.Write(b.out); err != nil {
				writeErr = fmt.Errorf("scoring CSV: writing: %w", err)
				cancel()
				continue
			}
			written += int64(len(b.records))
			sf.free(b)
		}
	}()

	readErr := sf.read(ctx, r, jobs, ordered)
	close(jobs)
	close(ordered)
	wg.Wait()
	<-wdone
	switch {
	case writeErr != nil:
		return written, writeErr
	case readErr != nil:
		return written, readErr
	}
	if err := bw.Flush(); err != nil {
		return written, fmt.Errorf("scoring CSV: writing: %w", err)
	}
	return written, nil
}

// batch returns an empty batch, reusing one the writer is done with: the
// output buffers grow to a batch's size once, not for every batch.
func (sf *scoreFile) batch() *scoreBatch {
	select {
	case b := <-sf.pool:
		clear(b.records) // drop the previous rows' strings
		b.records, b.lines, b.out, b.err = b.records[:0], b.lines[:0], b.out[:0], nil
		b.done = make(chan struct{})
		return b
	default:
	}
	return &scoreBatch{records: make([][]string, 0, scoreBatchRows), lines: make([]int, 0, scoreBatchRows), done: make(chan struct{})}
}

func (sf *scoreFile) free(b *scoreBatch) {
	select {
	case sf.pool <- b:
	default:
	}
}

type scoreBatch struct {
	records [][]string
	lines   []int
	out     []byte
	err     error
	done    chan struct{}
}

// scoreFile is what every worker shares: the scorer and where each feature
// (raw) or encoded column (encoded) is in the input.
type scoreFile struct {
	s      *Scorer
	header []string
	input  CSVInput         // decided: CSVRaw or CSVEncoded, or CSVAuto until the first batch decides
	pool   chan *scoreBatch // batches written out, for reuse
	rawIdx []int            // per feature, its input column; nil unless raw fits
	encIdx []int            // per encoded column, its input column; nil unless encoded fits
}

func newScoreFile(s *Scorer, header []string, input CSVInput) (*scoreFile, error) {
	pos := make(map[string]int, len(header))
	for i, h := range header {
		if _, dup := pos[h]; dup {
			return nil, fmt.Errorf("the header names column %q twice", h)
		}
		pos[h] = i
	}
	for _, o := range s.OutputNames() {
		if _, ok := pos[o]; ok {
			return nil, fmt.Errorf("the input already has a column %q, which the output adds: rename or drop it", o)
		}
	}
	sf := &scoreFile{s: s, header: header, pool: make(chan *scoreBatch, 16)}
	find := func(names []string) ([]int, []string) {
		idx := make([]int, len(names))
		var missing []string
		for i, n := range names {
			j, ok := pos[n]
			if !ok {
				missing = append(missing, n)
			}
			idx[i] = j
		}
		if missing != nil {
			return nil, missing
		}
		return idx, nil
	}
	features := s.enc.Features()
	names := make([]string, len(features))
	for i, f := range features {
		names[i] = f.Name
	}
	var rawMissing, encMissing []string
	sf.rawIdx, rawMissing = find(names)
	sf.encIdx, encMissing = find(s.enc.Columns())
	switch {
	case input == CSVRaw && sf.rawIdx == nil:
		return nil, fmt.Errorf("the header has no column for features %s: a raw input needs one column per feature, named as the feature", listNames(rawMissing, 10))
	case input == CSVEncoded && sf.encIdx == nil:
		return nil, fmt.Errorf("the header has no column %s: an encoded input needs every encoded column, as `slipway training-set export --encoded` writes them", listNames(encMissing, 10))
	case input != CSVAuto:
		sf.input = input
	case sf.rawIdx == nil && sf.encIdx == nil:
		if slices.Equal(names, s.enc.Columns()) {
			return nil, fmt.Errorf("the header has no column for features %s: the input needs one column per feature (raw values or encoded)", listNames(rawMissing, 10))
		}
		return nil, fmt.Errorf("the header has no column for features %s (raw values), nor the encoded columns %s: the input needs one or the other",
			listNames(rawMissing, 10), listNames(encMissing, 10))
	case sf.encIdx == nil:
		sf.input = CSVRaw
	case sf.rawIdx == nil:
		sf.input = CSVEncoded
	}
	return sf, nil
}

// read reads batches and hands each to the workers and, in order, to the
// writer. It stops at the end of the input, on a CSV error or when ctx is
// done (the writer cancels it on the first scoring error).
func (sf *scoreFile) read(ctx context.Context, r *csv.Reader, jobs, ordered chan<- *scoreBatch) error {
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("scoring CSV: %w", context.Cause(ctx))
		}
		b := sf.batch()
		var readErr error
		for len(b.records) < scoreBatchRows {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				readErr = fmt.Errorf("scoring CSV: %w", err)
				break
			}
			line, _ := r.FieldPos(0)
			b.records = append(b.records, rec)
			b.lines = append(b.lines, line)
		}
		if len(b.records) > 0 {
			if sf.input == CSVAuto {
				in, err := sf.sniff(b)
				if err != nil {
					return fmt.Errorf("scoring CSV: %w", err)
				}
				sf.input = in
			}
			select {
			case ordered <- b:
			case <-ctx.Done():
				return fmt.Errorf("scoring CSV: %w", context.Cause(ctx))
			}
			select {
			case jobs <- b:
			case <-ctx.Done():
				b.err = ctx.Err()
				close(b.done)
				return fmt.Errorf("scoring CSV: %w", context.Cause(ctx))
			}
		}
		if readErr != nil || len(b.records) < scoreBatchRows {
			return readErr
		}
	}
}

// sniff decides between raw and encoded for a header that fits both, from
// the first batch's values in the columns where the two differ.
func (sf *scoreFile) sniff(b *scoreBatch) (CSVInput, error) {
	var raw, enc string // the first evidence of each, for the error
	features := sf.s.enc.Features()
	for i, f := range features {
		col := sf.rawIdx[i]
		vocab := sf.s.enc.vocab[i]
		for k, rec := range b.records {
			field := rec[col]
			if field == "" {
				continue
			}
			where := fmt.Sprintf("line %d, column %q holds %q", b.lines[k], sf.header[col], field)
			x, numErr := strconv.ParseFloat(field, 64)
			numeric := numErr == nil
			switch f.Type {
			case value.Bool:
				if _, err := strconv.ParseBool(field); err == nil && !numeric && raw == "" {
					raw = where
				}
			case value.Timestamp:
				if numeric && enc == "" {
					enc = where
				} else if _, ok := parseTimestamp(field); ok && raw == "" {
					raw = where
				}
			case value.String:
				if !numeric {
					if raw == "" {
						raw = where
					}
					continue
				}
				code, inVocab := sf.s.enc.codes[i][field]
				switch {
				case !inVocab && enc == "":
					enc = where
				case inVocab && float64(code) != x && x == math.Trunc(x) && x >= 0 && x < float64(len(vocab)):
					return "", fmt.Errorf("cannot tell whether the input holds raw or encoded values: %s, both a category and another category's code: score it with the input kind set (raw or encoded)", where)
				}
			}
		}
	}
	switch {
	case raw != "" && enc != "":
		return "", fmt.Errorf("the input mixes raw and encoded values: %s (raw) but %s (encoded): use one or the other", raw, enc)
	case raw != "":
		return CSVRaw, nil
	}
	// Encoded, or only values that read the same either way.
	return CSVEncoded, nil
}

type scoreWorker struct {
	sf    *scoreFile
	x     []float64
	preds []float64
	row   []value.Value
}

func (sf *scoreFile) newWorker() *scoreWorker {
	return &scoreWorker{sf: sf, x: make([]float64, 0, scoreBatchRows*sf.s.width), row: make([]value.Value, len(sf.rawIdx))}
}

func (w *scoreWorker) score(b *scoreBatch) error {
	sf := w.sf
	width := sf.s.width
	w.x = w.x[:len(b.records)*width]
	for k, rec := range b.records {
		x := w.x[k*width : (k+1)*width]
		if sf.input == CSVEncoded {
			for j, col := range sf.encIdx {
				field := rec[col]
				if field == "" {
					x[j] = missingValue
					continue
				}
				v, err := strconv.ParseFloat(field, 64)
				if err != nil {
					return fmt.Errorf("scoring CSV: line %d, column %q: %q is not a number (an encoded column holds numbers, empty for missing)", b.lines[k], sf.header[col], field)
				}
				if v != v {
					v = missingValue
				}
				x[j] = v
			}
			continue
		}
		features := sf.s.enc.features
		for i, col := range sf.rawIdx {
			v, err := parseRaw(rec[col], features[i].Type)
			if err != nil {
				return fmt.Errorf("scoring CSV: line %d, column %q: %w", b.lines[k], sf.header[col], err)
			}
			w.row[i] = v
		}
		if _, err := sf.s.enc.Encode(w.row, x); err != nil {
			return fmt.Errorf("scoring CSV: line %d: %w", b.lines[k], err)
		}
	}
	var err error
	w.preds, err = sf.s.ScoreEncoded(w.x, w.preds)
	if err != nil {
		return fmt.Errorf("scoring CSV: lines %d to %d: %w", b.lines[0], b.lines[len(b.lines)-1], err)
	}
	k := sf.s.NumOutputs()
	o := b.out[:0]
	for r, rec := range b.records {
		for j, f := range rec {
			if j > 0 {
				o = append(o, ',')
			}
			o = appendCSVField(o, f)
		}
		for _, p := range w.preds[r*k : (r+1)*k] {
			o = append(o, ',')
			o = strconv.AppendFloat(o, p, 'g', -1, 64)
		}
		o = append(o, '\n')
	}
	b.out = o
	return nil
}

// parseRaw reads a field of a plain export as a value of type t; empty is null.
func parseRaw(field string, t value.Type) (value.Value, error) {
	if field == "" {
		return value.NullValue(), nil
	}
	switch t {
	case value.Int64:
		if n, err := strconv.ParseInt(field, 10, 64); err == nil {
			return value.FromInt64(n), nil
		}
		if f, err := strconv.ParseFloat(field, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			return value.FromInt64(int64(f)), nil
		}
		return value.Value{}, fmt.Errorf("%q is not an integer (the feature is int64)", field)
	case value.Float64:
		f, err := strconv.ParseFloat(field, 64)
		if err != nil {
			return value.Value{}, fmt.Errorf("%q is not a number (the feature is float64)", field)
		}
		return value.FromFloat64(f), nil
	case value.Bool:
		b, err := strconv.ParseBool(field)
		if err != nil {
			return value.Value{}, fmt.Errorf("%q is not true or false (the feature is bool)", field)
		}
		return value.FromBool(b), nil
	case value.Timestamp:
		us, ok := parseTimestamp(field)
		if !ok {
			return value.Value{}, fmt.Errorf("%q is not a timestamp (the feature is timestamp: write RFC 3339, 2024-01-02T03:04:05Z, or 2024-01-02 03:04:05)", field)
		}
		return value.FromMicros(us), nil
	}
	return value.FromString(field), nil
}

// timestampLayouts are the timestamp forms a raw input may use; those
// without an offset are UTC.
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

func parseTimestamp(s string) (int64, bool) {
	if len(s) < len("2006-01-02") || s[4] != '-' {
		return 0, false
	}
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UnixMicro(), true
		}
	}
	return 0, false
}
