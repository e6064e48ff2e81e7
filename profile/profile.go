// Package profile summarises a dataset column by column in bounded memory,
// so that a model version's training data and what its endpoint was later
// asked about can be compared (drift) without keeping either.
//
// A Profile holds, per column: counts (rows, nulls, values that are not
// finite numbers), and
//   - for numbers (int64, float64 and timestamps, as Unix seconds): mean,
//     standard deviation, minimum, maximum, a DDSketch quantile sketch
//     (github.com/DataDog/sketches-go, relative accuracy RelativeAccuracy),
//     and the values themselves while there are at most ExactLimit of them;
//   - for strings and booleans: the count of each value (at most MaxItems
//     of them; the rest are counted together as Other) and a HyperLogLog
//     distinct count (github.com/axiomhq/hyperloglog).
//
// Profiles merge: the merge of the profiles of two datasets is the profile
// of both (the counts, moments and sketches exactly; MaxItems and
// ExactLimit cap what is kept), so a week is the merge of its days.
// docs/design/monitoring.md says why these sketches.
package profile

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/axiomhq/hyperloglog"

	"github.com/slipway-ml/slipway/value"
)

const (
	// RelativeAccuracy is the quantile sketch's: a quantile it gives is
	// within 0.5% of a value at that rank.
	RelativeAccuracy = 0.005
	// ExactLimit is how many values of a numeric column are kept as they
	// are, so that small datasets are compared exactly (drift tests on at
	// most 1,000 reference rows use the values).
	ExactLimit = 1000
	// MaxItems is how many distinct values of a categorical column are
	// counted one by one; values first seen after that are counted
	// together in Other.
	MaxItems = 1000
	// OtherItem is the name Counts gives the values counted together.
	OtherItem = "(other)"
)

// Kind is how a column is summarised.
type Kind string

const (
	Numeric     Kind = "numeric"
	Categorical Kind = "categorical"
	Boolean     Kind = "boolean"
)

// KindOf is the kind that summarises values of type t.
func KindOf(t value.Type) (Kind, error) {
	switch t {
	case value.Int64, value.Float64, value.Timestamp:
		return Numeric, nil
	case value.String:
		return Categorical, nil
	case value.Bool:
		return Boolean, nil
	}
	return "", fmt.Errorf("type %q cannot be profiled: use int64, float64, timestamp, string or bool", t)
}

// Column is the summary of one column.
type Column struct {
	Name string
	Kind Kind
	// Rows counts every row; Nulls those without a value; NonFinite the
	// numbers that were NaN or infinite (left out of the rest).
	Rows, Nulls, NonFinite int64

	// Numbers.
	n        int64   // values summarised
	mean, m2 float64 // running mean and sum of squared deviations
	min, max float64
	sketch   *ddsketch.DDSketch
	exact    []float64 // while n <= ExactLimit
	// integers is set while every value was an int64: the sketch's
	// quantiles are then rounded to whole numbers. timestamps is set once
	// a value was a timestamp.
	integers, timestamps bool

	// Strings and booleans.
	items    map[string]int64
	other    int64
	distinct *hyperloglog.Sketch
}

// NewColumn returns the empty summary of a column of values of type t.
func NewColumn(name string, t value.Type) (*Column, error) {
	k, err := KindOf(t)
	if err != nil {
		return nil, fmt.Errorf("column %s: %w", name, err)
	}
	return newColumn(name, k), nil
}

func newColumn(name string, k Kind) *Column {
	c := &Column{Name: name, Kind: k, min: math.Inf(1), max: math.Inf(-1), integers: k == Numeric}
	switch k {
	case Numeric:
		s, err := ddsketch.NewDefaultDDSketch(RelativeAccuracy)
		if err != nil {
			panic(err) // a constant accuracy the library accepts
		}
		c.sketch = s
	default:
		c.items = map[string]int64{}
		c.distinct = hyperloglog.New14()
	}
	return c
}

// Add summarises one value.
func (c *Column) Add(v value.Value) error {
	if err := c.check(v); err != nil {
		return err
	}
	c.add(v)
	return nil
}

// check says whether the column summarises values like v.
func (c *Column) check(v value.Value) error {
	if v.IsNull() {
		return nil
	}
	switch t := v.Type(); c.Kind {
	case Numeric:
		if t != value.Float64 && t != value.Int64 && t != value.Timestamp {
			return fmt.Errorf("column %s is numeric and was given %s %s", c.Name, t, v)
		}
	case Categorical:
		if t != value.String {
			return fmt.Errorf("column %s holds strings and was given %s %s", c.Name, t, v)
		}
	case Boolean:
		if t != value.Bool {
			return fmt.Errorf("column %s holds booleans and was given %s %s", c.Name, t, v)
		}
	}
	return nil
}

// add summarises a value check accepted.
func (c *Column) add(v value.Value) {
	c.Rows++
	if v.IsNull() {
		c.Nulls++
		return
	}
	switch v.Type() {
	case value.Float64:
		c.integers = false
		c.addNumber(v.Float64())
	case value.Int64:
		c.addNumber(float64(v.Int64()))
	case value.Timestamp:
		c.integers, c.timestamps = false, true
		c.addNumber(float64(v.Micros()) / 1e6)
	case value.String:
		c.addItem(v.Str(), 1)
	case value.Bool:
		c.addItem(v.String(), 1)
	}
}

// AddNumber summarises one number of a numeric column (NaN and infinities
// are counted as NonFinite).
func (c *Column) AddNumber(x float64) {
	c.Rows++
	c.integers = false
	c.addNumber(x)
}

func (c *Column) addNumber(x float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		c.NonFinite++
		return
	}
	if err := c.sketch.Add(x); err != nil {
		// Beyond the sketch's range (about ±1e300): not summarised.
		c.NonFinite++
		return
	}
	c.n++
	d := x - c.mean
	c.mean += d / float64(c.n)
	c.m2 += d * (x - c.mean)
	c.min, c.max = math.Min(c.min, x), math.Max(c.max, x)
	if c.n <= ExactLimit {
		c.exact = append(c.exact, x)
	} else {
		c.exact = nil
	}
}

func (c *Column) addItem(s string, n int64) {
	c.distinct.Insert([]byte(s))
	if _, ok := c.items[s]; ok || len(c.items) < MaxItems {
		c.items[s] += n
		return
	}
	c.other += n
}

// Count is the number of values summarised (not null, finite).
func (c *Column) Count() int64 {
	if c.Kind == Numeric {
		return c.n
	}
	return c.Rows - c.Nulls
}

// NullRate is the share of rows without a value (0 for no rows).
func (c *Column) NullRate() float64 {
	if c.Rows == 0 {
		return 0
	}
	return float64(c.Nulls) / float64(c.Rows)
}

// Mean, Std (the sample standard deviation, n-1), Min and Max of a
// numeric column; NaN when it has no value (Std: fewer than two).
func (c *Column) Mean() float64 {
	if c.n == 0 {
		return math.NaN()
	}
	return c.mean
}

func (c *Column) Std() float64 {
	if c.n < 2 {
		return math.NaN()
	}
	return math.Sqrt(c.m2 / float64(c.n-1))
}

func (c *Column) Min() float64 {
	if c.n == 0 {
		return math.NaN()
	}
	return c.min
}

func (c *Column) Max() float64 {
	if c.n == 0 {
		return math.NaN()
	}
	return c.max
}

// Quantile is the q-quantile of a numeric column (exact while the values
// are kept, else within RelativeAccuracy); NaN when it has no value.
func (c *Column) Quantile(q float64) float64 {
	if c.Kind != Numeric || c.n == 0 || q < 0 || q > 1 {
		return math.NaN()
	}
	if c.exact != nil {
		s := slices.Sorted(slices.Values(c.exact))
		return s[int(math.Round(q*float64(len(s)-1)))]
	}
	v, err := c.sketch.GetValueAtQuantile(q)
	if err != nil {
		return math.NaN()
	}
	return c.clamp(v)
}

// clamp brings a value the sketch gives within the column's range, and to
// a whole number for a column of integers.
func (c *Column) clamp(v float64) float64 {
	if c.integers {
		v = math.Round(v)
	}
	return math.Min(math.Max(v, c.min), c.max)
}

// Timestamps reports whether a numeric column holds timestamps (Unix
// seconds). Their quantiles are only as good as the sketch's accuracy
// relative to the value: 0.5% of 2026 in seconds is months, so beyond
// ExactLimit values only their moments and extremes mean anything.
func (c *Column) Timestamps() bool { return c.timestamps }

// Exact reports whether a numeric column still holds its values.
func (c *Column) Exact() bool { return c.Kind == Numeric && c.exact != nil }

// Sample is a numeric column's distribution as weighted values: its
// values (weights nil) while it keeps them, else the sketch's bins (each
// bin's representative value, weighted by its count), in ascending order.
func (c *Column) Sample() (values, weights []float64) {
	if c.Kind != Numeric || c.n == 0 {
		return nil, nil
	}
	if c.exact != nil {
		return slices.Sorted(slices.Values(c.exact)), nil
	}
	c.sketch.ForEach(func(v, n float64) bool {
		values = append(values, c.clamp(v))
		weights = append(weights, n)
		return false
	})
	// ForEach walks the stores in an order of its own: sort by value.
	idx := make([]int, len(values))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case values[a] < values[b]:
			return -1
		case values[a] > values[b]:
			return 1
		}
		return 0
	})
	sv, sw := make([]float64, len(idx)), make([]float64, len(idx))
	for i, j := range idx {
		sv[i], sw[i] = values[j], weights[j]
	}
	return sv, sw
}

// Counts are a categorical or boolean column's value counts, with
// OtherItem counting the values beyond MaxItems.
func (c *Column) Counts() map[string]float64 {
	if c.Kind == Numeric {
		return nil
	}
	out := make(map[string]float64, len(c.items)+1)
	for k, n := range c.items {
		out[k] = float64(n)
	}
	if c.other > 0 {
		out[OtherItem] += float64(c.other)
	}
	return out
}

// Distinct estimates the number of distinct values of a categorical or
// boolean column (HyperLogLog, about 1% error; exact while it counts every
// value one by one).
func (c *Column) Distinct() uint64 {
	if c.Kind == Numeric {
		return 0
	}
	if c.other == 0 {
		return uint64(len(c.items))
	}
	return max(c.distinct.Estimate(), uint64(len(c.items)))
}

// Merge adds o's summary into c. Both must summarise the same column.
func (c *Column) Merge(o *Column) error {
	if o.Kind != c.Kind {
		return fmt.Errorf("column %s: merging a %s summary into a %s one", c.Name, o.Kind, c.Kind)
	}
	c.Rows += o.Rows
	c.Nulls += o.Nulls
	c.NonFinite += o.NonFinite
	if c.Kind != Numeric {
		for _, k := range slices.Sorted(maps.Keys(o.items)) {
			if _, ok := c.items[k]; ok || len(c.items) < MaxItems {
				c.items[k] += o.items[k]
			} else {
				c.other += o.items[k]
			}
		}
		c.other += o.other
		return c.distinct.Merge(o.distinct)
	}
	if o.n == 0 {
		return nil
	}
	if err := c.sketch.MergeWith(o.sketch); err != nil {
		return fmt.Errorf("column %s: %w", c.Name, err)
	}
	n := c.n + o.n
	d := o.mean - c.mean
	c.m2 += o.m2 + d*d*float64(c.n)*float64(o.n)/float64(n)
	c.mean += d * float64(o.n) / float64(n)
	if n <= ExactLimit && (c.exact != nil || c.n == 0) && o.exact != nil {
		c.exact = append(c.exact, o.exact...)
	} else {
		c.exact = nil
	}
	c.n = n
	c.integers = c.integers && o.integers
	c.timestamps = c.timestamps || o.timestamps
	c.min, c.max = math.Min(c.min, o.min), math.Max(c.max, o.max)
	return nil
}

// Profile is the summary of a dataset: its rows and its columns in order.
type Profile struct {
	Rows    int64
	Columns []*Column
}

// New returns the empty profile of columns with these names and types.
func New(names []string, types []value.Type) (*Profile, error) {
	if len(names) != len(types) {
		return nil, fmt.Errorf("profile: %d column names for %d types", len(names), len(types))
	}
	p := &Profile{}
	seen := map[string]bool{}
	for i, n := range names {
		if seen[n] {
			return nil, fmt.Errorf("profile: column %s is named twice", n)
		}
		seen[n] = true
		c, err := NewColumn(n, types[i])
		if err != nil {
			return nil, err
		}
		p.Columns = append(p.Columns, c)
	}
	return p, nil
}

// Add summarises one row, its values in the order of the columns.
func (p *Profile) Add(row []value.Value) error {
	if len(row) != len(p.Columns) {
		return fmt.Errorf("profile: a row of %d values for %d columns", len(row), len(p.Columns))
	}
	// A row is summarised whole or not at all: its values are checked
	// before any is counted.
	for i, v := range row {
		if err := p.Columns[i].check(v); err != nil {
			return fmt.Errorf("row %d: %w", p.Rows+1, err)
		}
	}
	for i, v := range row {
		p.Columns[i].add(v)
	}
	p.Rows++
	return nil
}

// Column returns the column named name, or nil.
func (p *Profile) Column(name string) *Column {
	for _, c := range p.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Merge adds o into p. A column of o that p lacks is added (a model's
// features may differ between versions); one of the same name must be of
// the same kind.
func (p *Profile) Merge(o *Profile) error {
	for _, oc := range o.Columns {
		c := p.Column(oc.Name)
		if c == nil {
			c = newColumn(oc.Name, oc.Kind)
			c.Rows = p.Rows // every earlier row lacked it
			c.Nulls = p.Rows
			p.Columns = append(p.Columns, c)
		}
		if err := c.Merge(oc); err != nil {
			return err
		}
	}
	for _, c := range p.Columns {
		if o.Column(c.Name) == nil {
			c.Rows += o.Rows
			c.Nulls += o.Rows
		}
	}
	p.Rows += o.Rows
	return nil
}
