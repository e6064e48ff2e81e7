package profile

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/store"
	"github.com/axiomhq/hyperloglog"
)

// columnJSON is a Column as stored: the sketches in their libraries' own
// binary encodings (base64 in JSON), so that a stored profile merges
// exactly with a new one.
type columnJSON struct {
	Name      string  `json:"name"`
	Kind      Kind    `json:"kind"`
	Rows      int64   `json:"rows"`
	Nulls     int64   `json:"nulls"`
	NonFinite int64   `json:"non_finite,omitempty"`
	Count     int64   `json:"count"`
	Mean      float64 `json:"mean,omitempty"`
	M2        float64 `json:"m2,omitempty"`
	Min       float64 `json:"min,omitempty"`
	Max       float64 `json:"max,omitempty"`
	// Sketch is the DDSketch; Exact the values while there are at most
	// ExactLimit of them.
	Sketch     []byte    `json:"sketch,omitempty"`
	Exact      []float64 `json:"exact,omitempty"`
	Integers   bool      `json:"integers,omitempty"`
	Timestamps bool      `json:"timestamps,omitempty"`
	// Items counts each value; Other those beyond MaxItems; Distinct is the
	// HyperLogLog sketch.
	Items    map[string]int64 `json:"items,omitempty"`
	Other    int64            `json:"other,omitempty"`
	Distinct []byte           `json:"distinct,omitempty"`
}

type profileJSON struct {
	Rows    int64        `json:"rows"`
	Columns []columnJSON `json:"columns"`
}

// MarshalJSON stores the profile.
func (p *Profile) MarshalJSON() ([]byte, error) {
	out := profileJSON{Rows: p.Rows, Columns: make([]columnJSON, 0, len(p.Columns))}
	for _, c := range p.Columns {
		j := columnJSON{Name: c.Name, Kind: c.Kind, Rows: c.Rows, Nulls: c.Nulls, NonFinite: c.NonFinite, Count: c.Count()}
		if c.Kind == Numeric {
			if c.n > 0 {
				j.Mean, j.M2, j.Min, j.Max = c.mean, c.m2, c.min, c.max
			}
			c.sketch.Encode(&j.Sketch, false)
			j.Exact, j.Integers, j.Timestamps = c.exact, c.integers, c.timestamps
		} else {
			j.Items, j.Other = c.items, c.other
			b, err := c.distinct.MarshalBinary()
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", c.Name, err)
			}
			j.Distinct = b
		}
		out.Columns = append(out.Columns, j)
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads a stored profile, checking that its parts agree.
func (p *Profile) UnmarshalJSON(b []byte) error {
	var in profileJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("reading a profile: %w", err)
	}
	if in.Rows < 0 {
		return fmt.Errorf("reading a profile: %d rows", in.Rows)
	}
	out := Profile{Rows: in.Rows}
	for _, j := range in.Columns {
		c, err := j.column()
		if err != nil {
			return fmt.Errorf("reading a profile: column %q: %w", j.Name, err)
		}
		out.Columns = append(out.Columns, c)
	}
	*p = out
	return nil
}

func (j columnJSON) column() (*Column, error) {
	if j.Kind != Numeric && j.Kind != Categorical && j.Kind != Boolean {
		return nil, fmt.Errorf("unknown kind %q", j.Kind)
	}
	if j.Rows < 0 || j.Nulls < 0 || j.NonFinite < 0 || j.Count < 0 || j.Other < 0 || j.Nulls+j.NonFinite+j.Count > j.Rows {
		return nil, fmt.Errorf("counts do not add up: %d rows, %d nulls, %d not finite, %d values", j.Rows, j.Nulls, j.NonFinite, j.Count)
	}
	c := newColumn(j.Name, j.Kind)
	c.Rows, c.Nulls, c.NonFinite = j.Rows, j.Nulls, j.NonFinite
	if j.Kind == Numeric {
		s, err := ddsketch.DecodeDDSketch(j.Sketch, store.DefaultProvider, nil)
		if err != nil {
			return nil, fmt.Errorf("its quantile sketch: %w", err)
		}
		if math.Abs(s.GetCount()-float64(j.Count)) > 0.5 {
			return nil, fmt.Errorf("its quantile sketch counts %g values, the column %d", s.GetCount(), j.Count)
		}
		if len(j.Exact) > 0 && int64(len(j.Exact)) != j.Count {
			return nil, fmt.Errorf("%d values kept for %d counted", len(j.Exact), j.Count)
		}
		c.sketch, c.n, c.exact, c.integers, c.timestamps = s, j.Count, j.Exact, j.Integers, j.Timestamps
		if j.Count > 0 {
			c.mean, c.m2, c.min, c.max = j.Mean, j.M2, j.Min, j.Max
		}
		return c, nil
	}
	var sum int64
	for k, n := range j.Items {
		if n < 0 {
			return nil, fmt.Errorf("item %q counted %d times", k, n)
		}
		sum += n
	}
	if sum+j.Other != j.Count {
		return nil, fmt.Errorf("items and other count %d values, the column %d", sum+j.Other, j.Count)
	}
	if len(j.Items) > MaxItems {
		return nil, fmt.Errorf("%d items, more than %d", len(j.Items), MaxItems)
	}
	h := hyperloglog.New14()
	if err := h.UnmarshalBinary(j.Distinct); err != nil {
		return nil, fmt.Errorf("its distinct-count sketch: %w", err)
	}
	c.distinct, c.other = h, j.Other
	if j.Items != nil {
		c.items = j.Items
	}
	return c, nil
}
