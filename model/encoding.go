package model

// The feature-vector encoding: how a training set's feature values become the
// float64 columns a model reads. It is the only encoder in Slipway, used for
// training exports, validation and serving alike, and it is stored with every
// model version. docs/design/model-encoding.md explains the choices.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/slipway-ml/slipway/value"
)

// EncodingVersion is the version written in an encoding's JSON. A reader
// refuses versions it does not know rather than guessing at their meaning.
const EncodingVersion = 1

// DefaultMaxVocabulary is the vocabulary cap of a string feature when
// EncodingConfig.MaxVocabulary is 0.
const DefaultMaxVocabulary = 1000

// StringEncoding says how a string feature becomes columns.
type StringEncoding string

const (
	// Ordinal, the default, gives a string feature one column holding the
	// value's position in the feature's vocabulary (0, 1, 2, ...). Tree models
	// split on such codes as well as on indicators, and the vector keeps one
	// column per feature whatever the vocabulary size.
	Ordinal StringEncoding = "ordinal"
	// OneHot gives a string feature one 0/1 column per vocabulary entry,
	// named "feature=value": the form linear models need.
	OneHot StringEncoding = "onehot"
)

// Sentinel errors; the errors returned wrap them and say what was wrong.
var (
	// ErrInvalidEncoding is returned for encoding JSON that is corrupt,
	// of an unknown version, or inconsistent.
	ErrInvalidEncoding = errors.New("invalid feature-vector encoding")
	// ErrInvalidRow is returned for a row that does not match the
	// encoding's features in number or type.
	ErrInvalidRow = errors.New("row does not match the model's features")
)

// missingValue is the encoded value of a missing input: a null, a float NaN, or a
// string outside the vocabulary. XGBoost treats NaN as missing.
var missingValue = math.NaN()

// Feature is one model input: a training-set feature column.
type Feature struct {
	Name string
	Type value.Type
}

// EncodingConfig chooses how an encoding is built. The zero value is the default.
type EncodingConfig struct {
	// Strings is the encoding of string features: Ordinal (default) or OneHot.
	Strings StringEncoding
	// MaxVocabulary caps each string feature's vocabulary (default
	// DefaultMaxVocabulary). Values left out encode as missing.
	MaxVocabulary int
}

func (c EncodingConfig) withDefaults() EncodingConfig {
	if c.Strings == "" {
		c.Strings = Ordinal
	}
	if c.MaxVocabulary == 0 {
		c.MaxVocabulary = DefaultMaxVocabulary
	}
	return c
}

// Validate reports a configuration that cannot be used.
func (c EncodingConfig) Validate() error {
	c = c.withDefaults()
	if c.Strings != Ordinal && c.Strings != OneHot {
		return fmt.Errorf("string encoding %q: use %q or %q", c.Strings, Ordinal, OneHot)
	}
	if c.MaxVocabulary < 1 {
		return fmt.Errorf("max vocabulary %d: use a positive number (0 means %d)", c.MaxVocabulary, DefaultMaxVocabulary)
	}
	return nil
}

// Encoding turns a row of feature values, in the training set's definition
// order, into a fixed-width vector of float64 columns:
//
//   - int64 and float64: the number as float64 (int64 beyond ±2⁵³ rounds);
//   - bool: 0 or 1;
//   - timestamp: seconds since the Unix epoch, fractional, negative before 1970;
//   - string, Ordinal: the value's index in the feature's vocabulary;
//   - string, OneHot: 1 in the value's column, 0 in the feature's others.
//
// A null, a float NaN, and a string outside the vocabulary are missing: NaN in
// every column of the feature (for OneHot, all of its columns). ±Inf is kept.
//
// An Encoding is immutable and safe for concurrent use. Build one with an
// EncodingBuilder, or read a stored one with ParseEncoding.
type Encoding struct {
	strings       StringEncoding
	maxVocabulary int
	features      []Feature
	vocab         [][]string       // per feature, sorted; nil unless the feature is a string
	codes         []map[string]int // per feature, value -> vocabulary index
	offset        []int            // per feature, its first column
	columns       []string
}

// newEncoding checks the parts and derives the lookup tables. vocab[i] must be
// sorted and is kept, not copied.
func newEncoding(strs StringEncoding, maxVocabulary int, features []Feature, vocab [][]string) (*Encoding, error) {
	if err := (EncodingConfig{Strings: strs, MaxVocabulary: maxVocabulary}).Validate(); err != nil {
		return nil, err
	}
	if err := checkFeatures(features); err != nil {
		return nil, err
	}
	e := &Encoding{
		strings:       strs,
		maxVocabulary: maxVocabulary,
		features:      slices.Clone(features),
		vocab:         vocab,
		codes:         make([]map[string]int, len(features)),
		offset:        make([]int, len(features)),
	}
	seen := make(map[string]bool)
	for i, f := range features {
		v := vocab[i]
		if f.Type != value.String && v != nil {
			return nil, fmt.Errorf("feature %q is %s: only string features have a vocabulary", f.Name, f.Type)
		}
		if len(v) > maxVocabulary {
			return nil, fmt.Errorf("feature %q: vocabulary of %d values exceeds max_vocabulary %d", f.Name, len(v), maxVocabulary)
		}
		e.offset[i] = len(e.columns)
		if f.Type == value.String {
			e.codes[i] = make(map[string]int, len(v))
			for j, s := range v {
				if j > 0 && v[j-1] >= s {
					return nil, fmt.Errorf("feature %q: vocabulary is not in ascending byte order with no repeats at %q (entry %d)", f.Name, s, j)
				}
				if !utf8.ValidString(s) {
					return nil, fmt.Errorf("feature %q: vocabulary entry %d is not valid UTF-8", f.Name, j)
				}
				e.codes[i][s] = j
				if strs == OneHot {
					e.columns = append(e.columns, f.Name+"="+s)
				}
			}
		}
		if f.Type != value.String || strs == Ordinal {
			e.columns = append(e.columns, f.Name)
		}
		for _, c := range e.columns[e.offset[i]:] {
			if seen[c] {
				return nil, fmt.Errorf("feature %q: column name %q is used twice; rename a feature", f.Name, c)
			}
			seen[c] = true
		}
	}
	return e, nil
}

func checkFeatures(features []Feature) error {
	if len(features) == 0 {
		return errors.New("no features: a model needs at least one input")
	}
	names := make(map[string]bool, len(features))
	for i, f := range features {
		if f.Name == "" {
			return fmt.Errorf("feature %d has no name", i+1)
		}
		if names[f.Name] {
			return fmt.Errorf("feature %q appears twice", f.Name)
		}
		names[f.Name] = true
		if _, err := value.ParseType(string(f.Type)); err != nil {
			return fmt.Errorf("feature %q: %w", f.Name, err)
		}
	}
	return nil
}

// Features returns the encoded features in order.
func (e *Encoding) Features() []Feature { return slices.Clone(e.features) }

// Strings returns how string features are encoded.
func (e *Encoding) Strings() StringEncoding { return e.strings }

// Vocabulary returns a string feature's vocabulary in code order (nil for
// other features and unknown names).
func (e *Encoding) Vocabulary(feature string) []string {
	for i, f := range e.features {
		if f.Name == feature {
			return slices.Clone(e.vocab[i])
		}
	}
	return nil
}

// Width is the number of encoded columns.
func (e *Encoding) Width() int { return len(e.columns) }

// Columns returns the encoded column names: the feature's name for a
// one-column feature, "feature=value" for a OneHot indicator.
func (e *Encoding) Columns() []string { return slices.Clone(e.columns) }

// Encode encodes one row, whose values are the features' in order, into
// out[:Width()]. It allocates only when cap(out) < Width(). A row of the
// wrong length or with a value of the wrong type is an error wrapping
// ErrInvalidRow; out[:0] is returned with it.
func (e *Encoding) Encode(row []value.Value, out []float64) ([]float64, error) {
	if len(row) != len(e.features) {
		return out[:0], e.lengthError(len(row))
	}
	if cap(out) < len(e.columns) {
		out = make([]float64, len(e.columns))
	}
	out = out[:len(e.columns)]
	for i, v := range row {
		f, col := e.features[i], e.offset[i]
		if v.IsNull() {
			e.setMissing(out, i)
			continue
		}
		if v.Type() != f.Type {
			return out[:0], typeError(f, v)
		}
		switch f.Type {
		case value.Int64:
			out[col] = float64(v.Int64())
		case value.Float64:
			x := v.Float64()
			if math.IsNaN(x) {
				x = missingValue // one NaN bit pattern, whatever the input's
			}
			out[col] = x
		case value.Bool:
			out[col] = 0
			if v.Bool() {
				out[col] = 1
			}
		case value.Timestamp:
			// One rounding of the exact microsecond count (exact below 2⁵³ µs,
			// about year 2255), so equal instants give equal bits.
			out[col] = float64(v.Micros()) / 1e6
		case value.String:
			code, ok := e.codes[i][v.Str()]
			switch {
			case !ok:
				e.setMissing(out, i)
			case e.strings == OneHot:
				clear(out[col : col+len(e.vocab[i])])
				out[col+code] = 1
			default:
				out[col] = float64(code)
			}
		}
	}
	return out, nil
}

func (e *Encoding) setMissing(out []float64, i int) {
	end := len(e.columns)
	if i+1 < len(e.offset) {
		end = e.offset[i+1]
	}
	for c := e.offset[i]; c < end; c++ {
		out[c] = missingValue
	}
}

func (e *Encoding) lengthError(n int) error {
	return rowLengthError(e.features, n)
}

func rowLengthError(features []Feature, n int) error {
	names := make([]string, len(features))
	for i, f := range features {
		names[i] = f.Name
	}
	return fmt.Errorf("%w: %d values for %d features (%s): pass one value per feature, in definition order",
		ErrInvalidRow, n, len(features), strings.Join(names, ", "))
}

func typeError(f Feature, v value.Value) error {
	return fmt.Errorf("%w: feature %q is %s but the value %q is %s: pass a %s or null",
		ErrInvalidRow, f.Name, f.Type, v.String(), v.Type(), f.Type)
}

// EncodingBuilder builds an Encoding from training rows seen one at a time,
// so a training set of any size is read in one pass and never held in memory.
//
// A string feature's vocabulary is collected with a Misra–Gries summary of
// MaxVocabulary counters: when the feature has at most MaxVocabulary distinct
// values they are all kept; otherwise every value occurring in more than
// 1/(MaxVocabulary+1) of the rows where the feature is not null is kept, and
// the summary decides among rarer ones, depending on row order (training sets
// come in a deterministic order, so the result is still reproducible). The
// vocabulary is sorted in byte order, so codes do not depend on row order.
// Strings that are not valid UTF-8, which the JSON form cannot hold, are left
// out. Left-out values encode as missing.
type EncodingBuilder struct {
	cfg      EncodingConfig
	features []Feature
	counts   []map[string]int64 // per string feature; nil for others
}

// NewEncodingBuilder starts an encoding of the given features.
func NewEncodingBuilder(features []Feature, cfg EncodingConfig) (*EncodingBuilder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	if err := checkFeatures(features); err != nil {
		return nil, err
	}
	b := &EncodingBuilder{cfg: cfg.withDefaults(), features: slices.Clone(features), counts: make([]map[string]int64, len(features))}
	for i, f := range features {
		if f.Type == value.String {
			b.counts[i] = make(map[string]int64)
		}
	}
	return b, nil
}

// Add takes one training row: the features' values in order, as Encode
// takes them. It checks the row as Encode does and does not keep the slice.
func (b *EncodingBuilder) Add(row []value.Value) error {
	if len(row) != len(b.features) {
		return rowLengthError(b.features, len(row))
	}
	for i, v := range row {
		if !v.IsNull() && v.Type() != b.features[i].Type {
			return typeError(b.features[i], v) // before counting: a bad row adds nothing
		}
	}
	for i, v := range row {
		if b.counts[i] == nil || v.IsNull() || !utf8.ValidString(v.Str()) {
			continue
		}
		c := b.counts[i]
		s := v.Str()
		if n, ok := c[s]; ok {
			c[s] = n + 1
		} else if len(c) < b.cfg.MaxVocabulary {
			c[s] = 1
		} else {
			// A new value with every counter taken: it and one occurrence of
			// every counted value cancel out. Each such step removes
			// MaxVocabulary+1 occurrences, so the work stays linear in rows.
			for k, n := range c {
				if n == 1 {
					delete(c, k)
				} else {
					c[k] = n - 1
				}
			}
		}
	}
	return nil
}

// Encoding returns the encoding of the rows added so far.
func (b *EncodingBuilder) Encoding() (*Encoding, error) {
	vocab := make([][]string, len(b.features))
	for i, c := range b.counts {
		if c == nil {
			continue
		}
		vocab[i] = make([]string, 0, len(c))
		for s := range c {
			vocab[i] = append(vocab[i], s)
		}
		slices.Sort(vocab[i])
	}
	return newEncoding(b.cfg.Strings, b.cfg.MaxVocabulary, b.features, vocab)
}

// encodingJSON is the stored form. Field names are part of the model
// version format: change them only with a new EncodingVersion.
type encodingJSON struct {
	Version       int            `json:"version"`
	Strings       StringEncoding `json:"strings"`
	MaxVocabulary int            `json:"max_vocabulary"`
	Features      []featureJSON  `json:"features"`
}

type featureJSON struct {
	Name       string     `json:"name"`
	Type       value.Type `json:"type"`
	Vocabulary []string   `json:"vocabulary,omitzero"` // string features only (always, [] when empty), in code order
}

// MarshalJSON writes the encoding's stored form: the version, the string
// encoding, the vocabulary cap, and the features in order, each string
// feature with its vocabulary in code (byte) order. The same encoding always
// gives the same bytes.
func (e *Encoding) MarshalJSON() ([]byte, error) {
	j := encodingJSON{Version: EncodingVersion, Strings: e.strings, MaxVocabulary: e.maxVocabulary, Features: make([]featureJSON, len(e.features))}
	for i, f := range e.features {
		j.Features[i] = featureJSON{Name: f.Name, Type: f.Type, Vocabulary: e.vocab[i]}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes, as ParseEncoding does.
func (e *Encoding) UnmarshalJSON(data []byte) error {
	p, err := ParseEncoding(data)
	if err != nil {
		return err
	}
	*e = *p
	return nil
}

// ParseEncoding reads an encoding's stored JSON form. Unknown fields, an
// unknown version and inconsistent content are errors wrapping
// ErrInvalidEncoding.
func ParseEncoding(data []byte) (*Encoding, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var j encodingJSON
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidEncoding, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrInvalidEncoding)
	}
	switch {
	case j.Version == 0:
		return nil, fmt.Errorf("%w: no version field", ErrInvalidEncoding)
	case j.Version != EncodingVersion:
		return nil, fmt.Errorf("%w: version %d is not one this slipway reads (%d): upgrade slipway", ErrInvalidEncoding, j.Version, EncodingVersion)
	case j.Strings == "":
		return nil, fmt.Errorf("%w: no strings field", ErrInvalidEncoding)
	case j.MaxVocabulary == 0:
		return nil, fmt.Errorf("%w: no max_vocabulary field", ErrInvalidEncoding)
	}
	features := make([]Feature, len(j.Features))
	vocab := make([][]string, len(j.Features))
	for i, f := range j.Features {
		features[i] = Feature{Name: f.Name, Type: f.Type}
		vocab[i] = f.Vocabulary
		if f.Type == value.String && vocab[i] == nil {
			return nil, fmt.Errorf("%w: string feature %q has no vocabulary field", ErrInvalidEncoding, f.Name)
		}
	}
	e, err := newEncoding(j.Strings, j.MaxVocabulary, features, vocab)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidEncoding, err)
	}
	return e, nil
}
