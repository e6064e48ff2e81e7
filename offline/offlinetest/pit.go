package offlinetest

import (
	"bufio"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/value"
)

// A pitCase is one point-in-time join scenario, read from testdata/pit/*.txt.
//
// The format, line by line ('#' starts a comment line, blank lines are ignored):
//
//	entity <type>                      entity type of label and features (default string)
//	label <type>                       starts the label rows: <entity> <timestamp> <value>
//	feature <name> <type> [max_age=<duration>] [static] [entity=<type>]
//	                                   starts a feature's rows: <entity> <timestamp> <value>,
//	                                   or <entity> <value> when static
//	expect                             starts the expected rows:
//	                                   <entity> <timestamp> <feature values…> <label value>
//
// Types are int64, float64, string, bool, timestamp. A field is "null", a
// bare word, or a Go-quoted string. Timestamps are written 2024-01-02,
// 2024-01-02T15:04, 2024-01-02T15:04:05 or with fractional seconds, in UTC.
type pitCase struct {
	Name       string
	EntityType value.Type
	LabelType  value.Type
	Label      []pitRow
	Features   []pitFeature
	Expect     [][]value.Value
}

type pitFeature struct {
	Name       string
	Type       value.Type
	EntityType value.Type
	MaxAge     time.Duration
	Static     bool
	Rows       []pitRow
}

// pitRow is one label or feature row; TS is null for static features.
type pitRow struct {
	Entity, TS, Value value.Value
}

func parsePITCase(name, text string) (*pitCase, error) {
	c := &pitCase{Name: name, EntityType: value.String}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields, err := splitFields(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if err := c.parseLine(&section, fields); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	if c.LabelType == value.Null {
		return nil, fmt.Errorf("%s: no label section", name)
	}
	return c, sc.Err()
}

func (c *pitCase) parseLine(section *string, f []string) error {
	switch f[0] {
	case "entity":
		if len(f) != 2 {
			return fmt.Errorf("write: entity <type>")
		}
		t, err := value.ParseType(f[1])
		c.EntityType = t
		return err
	case "label":
		if len(f) != 2 {
			return fmt.Errorf("write: label <type>")
		}
		t, err := value.ParseType(f[1])
		c.LabelType, *section = t, "label"
		return err
	case "feature":
		if len(f) < 3 {
			return fmt.Errorf("write: feature <name> <type> [max_age=<duration>] [static] [entity=<type>]")
		}
		t, err := value.ParseType(f[2])
		if err != nil {
			return err
		}
		feat := pitFeature{Name: f[1], Type: t, EntityType: c.EntityType}
		for _, opt := range f[3:] {
			switch k, v, _ := strings.Cut(opt, "="); k {
			case "static":
				feat.Static = true
			case "max_age":
				if feat.MaxAge, err = time.ParseDuration(v); err != nil {
					return err
				}
			case "entity":
				if feat.EntityType, err = value.ParseType(v); err != nil {
					return err
				}
			default:
				return fmt.Errorf("unknown feature option %q", opt)
			}
		}
		c.Features = append(c.Features, feat)
		*section = "feature"
		return nil
	case "expect":
		*section = "expect"
		return nil
	}
	switch *section {
	case "label":
		r, err := parseRow(f, c.EntityType, c.LabelType, false)
		c.Label = append(c.Label, r)
		return err
	case "feature":
		feat := &c.Features[len(c.Features)-1]
		r, err := parseRow(f, feat.EntityType, feat.Type, feat.Static)
		feat.Rows = append(feat.Rows, r)
		return err
	case "expect":
		types := []value.Type{c.EntityType, value.Timestamp}
		for _, feat := range c.Features {
			types = append(types, feat.Type)
		}
		types = append(types, c.LabelType)
		if len(f) != len(types) {
			return fmt.Errorf("expected row has %d fields, want %d (entity, timestamp, %d features, label)", len(f), len(types), len(c.Features))
		}
		row := make([]value.Value, len(f))
		for i := range f {
			v, err := parseValue(f[i], types[i])
			if err != nil {
				return err
			}
			row[i] = v
		}
		c.Expect = append(c.Expect, row)
		return nil
	}
	return fmt.Errorf("row %q outside a label, feature or expect section", strings.Join(f, " "))
}

func parseRow(f []string, entityType, valueType value.Type, static bool) (pitRow, error) {
	want := 3
	if static {
		want = 2
	}
	if len(f) != want {
		return pitRow{}, fmt.Errorf("row has %d fields, want %d", len(f), want)
	}
	var r pitRow
	var err error
	if r.Entity, err = parseValue(f[0], entityType); err != nil {
		return r, err
	}
	if !static {
		if r.TS, err = parseValue(f[1], value.Timestamp); err != nil {
			return r, err
		}
	}
	r.Value, err = parseValue(f[len(f)-1], valueType)
	return r, err
}

var timeLayouts = []string{"2006-01-02T15:04:05.999999", "2006-01-02T15:04", "2006-01-02"}

func parseValue(s string, t value.Type) (value.Value, error) {
	if s == "null" {
		return value.NullValue(), nil
	}
	switch t {
	case value.Int64:
		i, err := strconv.ParseInt(s, 10, 64)
		return value.FromInt64(i), err
	case value.Float64:
		f, err := strconv.ParseFloat(s, 64)
		return value.FromFloat64(f), err
	case value.Bool:
		b, err := strconv.ParseBool(s)
		return value.FromBool(b), err
	case value.String:
		return value.FromString(s), nil
	case value.Timestamp:
		for _, l := range timeLayouts {
			if ts, err := time.Parse(l, s); err == nil {
				return value.FromTime(ts), nil
			}
		}
		return value.Value{}, fmt.Errorf("timestamp %q: write it like 2024-01-02T15:04:05", s)
	}
	return value.Value{}, fmt.Errorf("unknown type %q", t)
}

// splitFields splits on spaces; a field starting with '"' is a Go-quoted string.
func splitFields(line string) ([]string, error) {
	var out []string
	for {
		line = strings.TrimLeft(line, " \t")
		if line == "" {
			return out, nil
		}
		if line[0] == '"' {
			q, err := strconv.QuotedPrefix(line)
			if err != nil {
				return nil, fmt.Errorf("bad quoted field in %q", line)
			}
			s, _ := strconv.Unquote(q)
			out = append(out, s)
			line = line[len(q):]
			continue
		}
		i := strings.IndexAny(line, " \t")
		if i < 0 {
			i = len(line)
		}
		out = append(out, line[:i])
		line = line[i:]
	}
}

// reference computes a training set in Go, by brute force, exactly as
// offline.TrainingSetParams documents it. Its output rows are
// entity, timestamp, features…, label.
func reference(c *pitCase) [][]value.Value {
	out := make([][]value.Value, 0, len(c.Label))
	for _, l := range c.Label {
		row := []value.Value{l.Entity, l.TS}
		for _, f := range c.Features {
			row = append(row, referenceValue(l, f))
		}
		out = append(out, append(row, l.Value))
	}
	return out
}

func referenceValue(l pitRow, f pitFeature) value.Value {
	if l.Entity.IsNull() {
		return value.NullValue()
	}
	// Candidate rows: the entity's rows, and for timestamped features those
	// with a timestamp at or before the label time.
	var cand []pitRow
	for _, r := range f.Rows {
		if r.Entity.IsNull() || !sameEntity(l.Entity, r.Entity) {
			continue
		}
		if !f.Static && (r.TS.IsNull() || l.TS.IsNull() || r.TS.Micros() > l.TS.Micros()) {
			continue
		}
		cand = append(cand, r)
	}
	if len(cand) == 0 {
		return value.NullValue()
	}
	if !f.Static {
		newest := cand[0].TS.Micros()
		for _, r := range cand {
			newest = max(newest, r.TS.Micros())
		}
		if f.MaxAge > 0 && newest < l.TS.Micros()-f.MaxAge.Microseconds() {
			return value.NullValue()
		}
		cand = slices.DeleteFunc(cand, func(r pitRow) bool { return r.TS.Micros() != newest })
	}
	// Tie rule: the greatest non-null value (null sorts first, so it only wins alone).
	best := cand[0].Value
	for _, r := range cand[1:] {
		if compareValues(r.Value, best) > 0 {
			best = r.Value
		}
	}
	return best
}

// sameEntity compares entities, as text when their types differ (as the
// stores do when label and feature entity columns have different types).
func sameEntity(a, b value.Value) bool {
	if a.Type() == b.Type() {
		return a.Equal(b)
	}
	return a.String() == b.String()
}

// compareValues orders values of one type the way SQL's max does; null is
// smallest, so max ignores it unless every value is null.
func compareValues(a, b value.Value) int {
	switch {
	case a.IsNull() && b.IsNull():
		return 0
	case a.IsNull():
		return -1
	case b.IsNull():
		return 1
	}
	switch a.Type() {
	case value.Int64:
		return cmp.Compare(a.Int64(), b.Int64())
	case value.Float64:
		return cmp.Compare(a.Float64(), b.Float64())
	case value.String:
		return strings.Compare(a.Str(), b.Str())
	case value.Bool:
		return cmp.Compare(a.Micros(), b.Micros())
	case value.Timestamp:
		return cmp.Compare(a.Micros(), b.Micros())
	}
	return 0
}

// rowKey formats a row for multiset comparison and error messages.
func rowKey(row []value.Value) string {
	parts := make([]string, len(row))
	for i, v := range row {
		if v.IsNull() {
			parts[i] = "null"
		} else {
			parts[i] = string(v.Type()) + ":" + strconv.Quote(v.String())
		}
	}
	return strings.Join(parts, " ")
}

// diffRows compares two multisets of rows and describes the difference, or returns "".
func diffRows(got, want [][]value.Value) string {
	g := make([]string, len(got))
	for i, r := range got {
		g[i] = rowKey(r)
	}
	w := make([]string, len(want))
	for i, r := range want {
		w[i] = rowKey(r)
	}
	slices.Sort(g)
	slices.Sort(w)
	if slices.Equal(g, w) {
		return ""
	}
	var b strings.Builder
	var missing, extra []string
	i, j := 0, 0
	for i < len(g) || j < len(w) {
		switch {
		case j == len(w) || (i < len(g) && g[i] < w[j]):
			extra = append(extra, g[i])
			i++
		case i == len(g) || w[j] < g[i]:
			missing = append(missing, w[j])
			j++
		default:
			i++
			j++
		}
	}
	fmt.Fprintf(&b, "got %d rows, want %d\n", len(got), len(want))
	for _, m := range missing {
		fmt.Fprintf(&b, "  missing: %s\n", m)
	}
	for _, e := range extra {
		fmt.Fprintf(&b, "  unexpected: %s\n", e)
	}
	return b.String()
}
