package model

// Encoded files: the model-ready matrix that `slipway training-set export
// NAME --encoded` writes and command trainers read, plus its schema.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/value"
)

// EncodedFormat and EncodedVersion are the "format" and "version" of an
// encoded file's schema.
const (
	EncodedFormat  = "slipway-encoded"
	EncodedVersion = 1
)

// EncodedWriter writes an encoded CSV file: a header of the leading columns
// (typically the entity column, "timestamp" and the label column) and then
// the encoding's columns (Encoding.Columns), then one line per row. It
// streams: no row is kept after Write returns.
//
// Feature columns hold the encoded float64 values, formatted so that they
// parse back to the same bits (strconv 'g', -1: "0.1", "1e+21"); a missing
// value (NaN) is an empty field, which pandas reads as NaN. Leading values
// are written as a plain export writes them, except bools, which are 0 or 1
// as in the encoding (so a bool label is a 0/1 target): numbers as above,
// timestamps RFC 3339 in UTC with microseconds, strings as they are (quoted
// when CSV needs it), null and NaN as an empty field.
type EncodedWriter struct {
	w       *bufio.Writer
	enc     *Encoding
	leading []string
	x       []float64
	line    []byte
	rows    int64
}

// NewEncodedWriter writes the header and returns a writer for rows. leading
// names the columns before the features; a name used twice, or also a
// feature column's, is an error.
func NewEncodedWriter(w io.Writer, enc *Encoding, leading []string) (*EncodedWriter, error) {
	if enc == nil {
		return nil, errors.New("encoded file: no encoding")
	}
	cols := append(slices.Clone(leading), enc.Columns()...)
	if err := checkColumnNames(cols); err != nil {
		return nil, fmt.Errorf("encoded file: %w", err)
	}
	ew := &EncodedWriter{w: bufio.NewWriterSize(w, 64<<10), enc: enc, leading: slices.Clone(leading), x: make([]float64, enc.Width())}
	ew.line = appendCSVRecord(ew.line[:0], cols)
	if _, err := ew.w.Write(ew.line); err != nil {
		return nil, fmt.Errorf("writing encoded file: %w", err)
	}
	return ew, nil
}

func checkColumnNames(cols []string) error {
	seen := make(map[string]bool, len(cols))
	for _, c := range cols {
		if c == "" {
			return errors.New("a column has no name")
		}
		if seen[c] {
			return fmt.Errorf("column %q appears twice: rename the leading column or the feature", c)
		}
		seen[c] = true
	}
	return nil
}

// Write encodes one row and writes it: leading holds the leading columns'
// values, features the encoding's features' in definition order (as
// Encoding.Encode takes them).
func (ew *EncodedWriter) Write(leading []value.Value, features []value.Value) error {
	if len(leading) != len(ew.leading) {
		return fmt.Errorf("encoded file row %d: %d leading values for the %d leading columns (%s)", ew.rows+1, len(leading), len(ew.leading), strings.Join(ew.leading, ", "))
	}
	x, err := ew.enc.Encode(features, ew.x)
	if err != nil {
		return fmt.Errorf("encoded file row %d: %w", ew.rows+1, err)
	}
	b := ew.line[:0]
	for i, v := range leading {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLeadingValue(b, v)
	}
	for i, f := range x {
		if i > 0 || len(leading) > 0 {
			b = append(b, ',')
		}
		b = appendEncoded(b, f)
	}
	b = append(b, '\n')
	ew.line = b
	if _, err := ew.w.Write(b); err != nil {
		return fmt.Errorf("writing encoded file: %w", err)
	}
	ew.rows++
	return nil
}

// Rows is the number of rows written so far.
func (ew *EncodedWriter) Rows() int64 { return ew.rows }

// Flush writes any buffered data to the underlying writer.
func (ew *EncodedWriter) Flush() error {
	if err := ew.w.Flush(); err != nil {
		return fmt.Errorf("writing encoded file: %w", err)
	}
	return nil
}

// Schema describes the file written so far: trainingSet is its "name:variant",
// task the model task it is for ("" when none), entity and label the names
// of the leading columns holding the entity key and the label (label "" for
// a file without one). Both must be leading columns.
func (ew *EncodedWriter) Schema(trainingSet, task, entity, label string) (*Schema, error) {
	s := &Schema{
		Format:      EncodedFormat,
		Version:     EncodedVersion,
		TrainingSet: trainingSet,
		Task:        task,
		Entity:      entity,
		Label:       label,
		Columns:     append(slices.Clone(ew.leading), ew.enc.Columns()...),
		Features:    ew.enc.Columns(),
		Encoding:    ew.enc,
		Rows:        ew.rows,
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// appendEncoded appends an encoded value: empty for NaN (missing), else the
// shortest decimal that parses back to the same float64.
func appendEncoded(b []byte, f float64) []byte {
	if f != f {
		return b
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

func appendLeadingValue(b []byte, v value.Value) []byte {
	switch v.Type() {
	case value.Null:
		return b
	case value.Bool:
		if v.Bool() {
			return append(b, '1')
		}
		return append(b, '0')
	case value.Float64:
		return appendEncoded(b, v.Float64())
	case value.Int64:
		return strconv.AppendInt(b, v.Int64(), 10)
	}
	return appendCSVField(b, v.String())
}

// appendCSVRecord appends fields as one CSV line.
func appendCSVRecord(b []byte, fields []string) []byte {
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCSVField(b, f)
	}
	return append(b, '\n')
}

// appendCSVField appends one field, quoted as encoding/csv quotes it: when
// it holds a comma, a quote, a line break, or starts with a space or tab.
func appendCSVField(b []byte, s string) []byte {
	if !fieldNeedsQuotes(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		b = append(b, s[:i+1]...)
		b = append(b, '"')
		s = s[i+1:]
	}
	b = append(b, s...)
	return append(b, '"')
}

func fieldNeedsQuotes(s string) bool {
	if s == "" {
		return false
	}
	if s == `\.` || s[0] == ' ' || s[0] == '\t' {
		return true
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	return false
}

// Schema is the schema file written next to an encoded CSV file, which a
// notebook or a command trainer reads to find the feature and label columns
// (docs/design/model-encoding.md shows how, with pandas).
type Schema struct {
	// Format is EncodedFormat, "slipway-encoded".
	Format string `json:"format"`
	// Version is EncodedVersion, 1.
	Version int `json:"version"`
	// TrainingSet is the training set the file was exported from, as
	// "name:variant".
	TrainingSet string `json:"training_set"`
	// Task is the model task the file was written for; may be empty.
	Task string `json:"task,omitempty"`
	// Entity is the name of the column holding the entity key.
	Entity string `json:"entity"`
	// Label is the name of the label column; empty when the file has none.
	Label string `json:"label"`
	// Columns are all the CSV file's columns in order: the leading ones,
	// then Features.
	Columns []string `json:"columns"`
	// Features are the encoded feature columns in order, Encoding.Columns():
	// the model's input vector.
	Features []string `json:"features"`
	// Encoding is the feature-vector encoding that produced the features,
	// which a model trained on the file is registered with.
	Encoding *Encoding `json:"encoding"`
	// Rows is the number of data rows in the file.
	Rows int64 `json:"rows"`
}

// Validate checks that the schema is one this Slipway reads and that its
// parts agree.
func (s *Schema) Validate() error {
	switch {
	case s.Format != EncodedFormat:
		return fmt.Errorf("encoded file schema: format is %q, want %q (is it the schema `slipway training-set export --encoded` writes?)", s.Format, EncodedFormat)
	case s.Version != EncodedVersion:
		return fmt.Errorf("encoded file schema: version %d is not one this Slipway reads (%d): upgrade Slipway", s.Version, EncodedVersion)
	case s.TrainingSet == "":
		return errors.New("encoded file schema: no training_set")
	case s.Encoding == nil:
		return errors.New("encoded file schema: no encoding")
	case s.Rows < 0:
		return fmt.Errorf("encoded file schema: rows is %d", s.Rows)
	case s.Entity == "":
		return errors.New("encoded file schema: no entity column")
	}
	if s.Task != "" {
		if err := CheckTask(s.Task); err != nil {
			return fmt.Errorf("encoded file schema: %w", err)
		}
	}
	if want := s.Encoding.Columns(); !slices.Equal(s.Features, want) {
		return fmt.Errorf("encoded file schema: features %q are not the encoding's columns %q", s.Features, want)
	}
	if err := checkColumnNames(s.Columns); err != nil {
		return fmt.Errorf("encoded file schema: columns: %w", err)
	}
	nlead := len(s.Columns) - len(s.Features)
	if nlead < 0 || !slices.Equal(s.Columns[nlead:], s.Features) {
		return errors.New("encoded file schema: columns do not end with the features, in order")
	}
	lead := s.Columns[:nlead]
	if !slices.Contains(lead, s.Entity) {
		return fmt.Errorf("encoded file schema: entity column %q is not one of the leading columns %q", s.Entity, lead)
	}
	if s.Label != "" && !slices.Contains(lead, s.Label) {
		return fmt.Errorf("encoded file schema: label column %q is not one of the leading columns %q", s.Label, lead)
	}
	return nil
}

// ParseSchema reads an encoded file's schema and validates it. Unknown
// fields are errors, so a misspelt field is not silently ignored.
func ParseSchema(data []byte) (*Schema, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Schema
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("reading encoded file schema: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("reading encoded file schema: data after the JSON object")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}
