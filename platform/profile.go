package platform

// A model version's baseline profile, as people and the API read it.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/slipway-ml/slipway/profile"
	"github.com/slipway-ml/slipway/registry"
)

// ModelProfile is a model version's baseline profile (profile.Summary)
// summarised: per feature of the rows it was trained on, and for its
// predictions on the holdout.
type ModelProfile struct {
	Model   string `json:"model"`
	Version int    `json:"version"`
	// TrainingRows and HoldoutRows are the rows each part summarises.
	TrainingRows int64           `json:"training_rows"`
	HoldoutRows  int64           `json:"holdout_rows"`
	Features     []ColumnSummary `json:"features"`
	Predictions  []ColumnSummary `json:"predictions"`
}

// ColumnSummary is one column of a profile. Numbers are absent where they
// do not apply (a categorical column has no mean) or there are no values.
type ColumnSummary struct {
	Name      string  `json:"name"`
	Kind      string  `json:"kind"` // numeric, categorical or boolean
	Rows      int64   `json:"rows"`
	Nulls     int64   `json:"nulls"`
	NullRate  float64 `json:"null_rate"`
	NonFinite int64   `json:"non_finite,omitempty"`
	// Numeric columns: moments, extremes and quantiles (exact up to
	// profile.ExactLimit values, else within 0.5%).
	Mean *float64 `json:"mean,omitempty"`
	Std  *float64 `json:"std,omitempty"`
	Min  *float64 `json:"min,omitempty"`
	P05  *float64 `json:"p05,omitempty"`
	P50  *float64 `json:"p50,omitempty"`
	P95  *float64 `json:"p95,omitempty"`
	Max  *float64 `json:"max,omitempty"`
	// Categorical and boolean columns: the distinct values (estimated
	// beyond profile.MaxItems) and the most frequent ones.
	Distinct uint64      `json:"distinct,omitempty"`
	Top      []ItemCount `json:"top,omitempty"`
}

// ItemCount is a value and how many rows hold it (profile.OtherItem for
// the values counted together).
type ItemCount struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

// TopItems is how many of a column's most frequent values a summary lists.
const TopItems = 10

// ModelProfile reads the baseline profile recorded with a version (by
// number or through an alias).
func (p *Platform) ModelProfile(ctx context.Context, ref ModelRef) (*ModelProfile, error) {
	v, err := p.GetModelVersion(ctx, ref)
	if err != nil {
		return nil, err
	}
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := reg.ModelVersionProfile(ctx, v.Model, v.Version)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, fmt.Errorf("version %d of model %s has no baseline profile: %w (versions trained or registered before profiles were recorded have none; train or register the model again)",
			v.Version, v.Model, registry.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	b, err := profile.ParseSummary(raw)
	if err != nil {
		return nil, fmt.Errorf("version %d of model %s: %w", v.Version, v.Model, err)
	}
	return &ModelProfile{Model: v.Model, Version: v.Version, TrainingRows: b.Features.Rows, HoldoutRows: b.Predictions.Rows,
		Features: summarise(b.Features), Predictions: summarise(b.Predictions)}, nil
}

func summarise(p *profile.Profile) []ColumnSummary {
	out := make([]ColumnSummary, 0, len(p.Columns))
	for _, c := range p.Columns {
		s := ColumnSummary{Name: c.Name, Kind: string(c.Kind), Rows: c.Rows, Nulls: c.Nulls, NullRate: c.NullRate(), NonFinite: c.NonFinite}
		if c.Kind == profile.Numeric {
			s.Mean, s.Std, s.Min, s.Max = number(c.Mean()), number(c.Std()), number(c.Min()), number(c.Max())
			if !c.Timestamps() || c.Exact() {
				// A timestamp's sketched quantile is months off (0.5% of
				// its value in seconds): only kept values give them.
				s.P05, s.P50, s.P95 = number(c.Quantile(0.05)), number(c.Quantile(0.5)), number(c.Quantile(0.95))
			}
		} else {
			s.Distinct = c.Distinct()
			counts := c.Counts()
			keys := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
				return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
			})
			for _, k := range keys[:min(len(keys), TopItems)] {
				s.Top = append(s.Top, ItemCount{Value: k, Count: int64(counts[k])})
			}
		}
		out = append(out, s)
	}
	return out
}

// number is x, or nil when x is not a number (no values).
func number(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}
