package profile

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/value"
)

// data is a seeded dataset of four columns: a skewed amount (float64,
// some null, a few NaN), a count (int64), a segment (string) and a flag
// (bool).
func data(seed uint64, rows int) [][]value.Value {
	r := rand.New(rand.NewPCG(seed, 7))
	segments := []string{"a", "b", "c", "d"}
	out := make([][]value.Value, rows)
	for i := range out {
		amount := value.FromFloat64(math.Exp(r.NormFloat64()) * 40)
		switch {
		case r.IntN(20) == 0:
			amount = value.NullValue()
		case r.IntN(500) == 0:
			amount = value.FromFloat64(math.NaN())
		}
		out[i] = []value.Value{amount, value.FromInt64(int64(r.IntN(30)) - 5),
			value.FromString(segments[min(r.IntN(7), 3)]), value.FromBool(r.IntN(3) == 0)}
	}
	return out
}

var (
	names = []string{"amount", "orders", "segment", "active"}
	types = []value.Type{value.Float64, value.Int64, value.String, value.Bool}
)

func build(t testing.TB, rows [][]value.Value) *Profile {
	t.Helper()
	p, err := New(names, types)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := p.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func near(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))+1e-12
}

// TestNumbersSummariseTheData: counts, moments and extremes equal a direct
// computation; quantiles are within the sketch's relative accuracy of the
// value at that rank.
func TestNumbersSummariseTheData(t *testing.T) {
	rows := data(1, 50_000)
	p := build(t, rows)
	for ci, name := range []string{"amount", "orders"} {
		var xs []float64
		nulls, nonFinite := 0, 0
		for _, r := range rows {
			v := r[ci]
			switch {
			case v.IsNull():
				nulls++
			case v.Type() == value.Int64:
				xs = append(xs, float64(v.Int64()))
			case math.IsNaN(v.Float64()):
				nonFinite++
			default:
				xs = append(xs, v.Float64())
			}
		}
		var sum float64
		for _, x := range xs {
			sum += x
		}
		mean := sum / float64(len(xs))
		var ss float64
		for _, x := range xs {
			ss += (x - mean) * (x - mean)
		}
		std := math.Sqrt(ss / float64(len(xs)-1))
		slices.Sort(xs)
		c := p.Column(name)
		if c.Rows != 50_000 || c.Nulls != int64(nulls) || c.NonFinite != int64(nonFinite) || c.Count() != int64(len(xs)) {
			t.Fatalf("%s: rows %d nulls %d non-finite %d count %d; want 50000, %d, %d, %d", name, c.Rows, c.Nulls, c.NonFinite, c.Count(), nulls, nonFinite, len(xs))
		}
		if !near(c.Mean(), mean, 1e-9) || !near(c.Std(), std, 1e-9) || c.Min() != xs[0] || c.Max() != xs[len(xs)-1] {
			t.Fatalf("%s: mean %v std %v min %v max %v; want %v %v %v %v", name, c.Mean(), c.Std(), c.Min(), c.Max(), mean, std, xs[0], xs[len(xs)-1])
		}
		if !near(c.NullRate(), float64(nulls)/50_000, 1e-12) {
			t.Fatalf("%s: null rate %v", name, c.NullRate())
		}
		for _, q := range []float64{0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1} {
			want := xs[int(q*float64(len(xs)-1))]
			if got := c.Quantile(q); !near(got, want, RelativeAccuracy*1.0001) {
				t.Errorf("%s: quantile %v is %v; the value at that rank is %v (accuracy %v)", name, q, got, want, RelativeAccuracy)
			}
			// Integers under 100 are within 0.5 of the sketch's value:
			// rounded, they are exact.
			if got := c.Quantile(q); name == "orders" && got != want {
				t.Errorf("orders (int64): quantile %v is %v; want the integer %v", q, got, want)
			}
		}
		if c.Exact() {
			t.Errorf("%s: %d values kept; only up to %d are", name, len(xs), ExactLimit)
		}
		values, weights := c.Sample()
		var total float64
		for i, w := range weights {
			total += w
			if i > 0 && values[i] < values[i-1] {
				t.Fatalf("%s: sample not in ascending order at %d", name, i)
			}
		}
		if total != float64(len(xs)) || len(values) > 2000 {
			t.Errorf("%s: sample of %d bins weighing %v; want a few hundred bins weighing %d", name, len(values), total, len(xs))
		}
	}
}

// TestSmallColumnsKeepTheirValues: up to ExactLimit values are kept as
// they are, and a merge past the limit drops them.
func TestSmallColumnsKeepTheirValues(t *testing.T) {
	rows := data(2, 600)
	p := build(t, rows)
	c := p.Column("amount")
	var want []float64
	for _, r := range rows {
		if !r[0].IsNull() && !math.IsNaN(r[0].Float64()) {
			want = append(want, r[0].Float64())
		}
	}
	slices.Sort(want)
	values, weights := c.Sample()
	if !c.Exact() || weights != nil || !slices.Equal(values, want) {
		t.Fatalf("600 rows: exact %v, %d values, weights %v; want the %d values themselves", c.Exact(), len(values), weights != nil, len(want))
	}
	if got := c.Quantile(0.5); got != want[int(math.Round(0.5*float64(len(want)-1)))] {
		t.Errorf("median of kept values: %v", got)
	}
	if err := p.Merge(build(t, data(3, 600))); err != nil {
		t.Fatal(err)
	}
	if c := p.Column("amount"); c.Exact() || c.Count() <= ExactLimit {
		t.Fatalf("after a merge to %d values: exact %v", c.Count(), c.Exact())
	}
}

// TestMergeEqualsTheProfileOfBoth: a week of daily profiles merged equals
// the profile of the week, before and after storing them.
func TestMergeEqualsTheProfileOfBoth(t *testing.T) {
	rows := data(4, 70_000)
	whole := build(t, rows)
	for _, stored := range []bool{false, true} {
		week, err := New(names, types)
		if err != nil {
			t.Fatal(err)
		}
		for day := range 7 {
			d := build(t, rows[day*10_000:(day+1)*10_000])
			if stored {
				d = roundTrip(t, d)
			}
			if err := week.Merge(d); err != nil {
				t.Fatal(err)
			}
		}
		t.Run(fmt.Sprintf("stored=%v", stored), func(t *testing.T) { sameProfile(t, week, whole) })
	}
}

func roundTrip(t *testing.T, p *Profile) *Profile {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var out Profile
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(&out)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(b) {
		t.Fatalf("a stored profile reads back differently:\n%s\n%s", b[:min(len(b), 300)], again[:min(len(again), 300)])
	}
	return &out
}

func sameProfile(t *testing.T, got, want *Profile) {
	t.Helper()
	if got.Rows != want.Rows || len(got.Columns) != len(want.Columns) {
		t.Fatalf("rows %d, %d columns; want %d, %d", got.Rows, len(got.Columns), want.Rows, len(want.Columns))
	}
	for _, w := range want.Columns {
		g := got.Column(w.Name)
		if g.Rows != w.Rows || g.Nulls != w.Nulls || g.NonFinite != w.NonFinite || g.Count() != w.Count() {
			t.Fatalf("%s: counts %d/%d/%d/%d; want %d/%d/%d/%d", w.Name, g.Rows, g.Nulls, g.NonFinite, g.Count(), w.Rows, w.Nulls, w.NonFinite, w.Count())
		}
		if w.Kind == Numeric {
			if !near(g.Mean(), w.Mean(), 1e-12) || !near(g.Std(), w.Std(), 1e-9) || g.Min() != w.Min() || g.Max() != w.Max() {
				t.Fatalf("%s: mean %v std %v min %v max %v; want %v %v %v %v", w.Name, g.Mean(), g.Std(), g.Min(), g.Max(), w.Mean(), w.Std(), w.Min(), w.Max())
			}
			for _, q := range []float64{0.05, 0.5, 0.95} {
				if g.Quantile(q) != w.Quantile(q) {
					t.Fatalf("%s: quantile %v is %v; want %v", w.Name, q, g.Quantile(q), w.Quantile(q))
				}
			}
			gv, gw := g.Sample()
			wv, ww := w.Sample()
			if !slices.Equal(gv, wv) || !slices.Equal(gw, ww) {
				t.Fatalf("%s: merged sketch bins differ from the whole's", w.Name)
			}
			continue
		}
		if fmt.Sprint(g.Counts()) != fmt.Sprint(w.Counts()) || g.Distinct() != w.Distinct() {
			t.Fatalf("%s: counts %v distinct %d; want %v %d", w.Name, g.Counts(), g.Distinct(), w.Counts(), w.Distinct())
		}
	}
}

// TestCategoricalCounts: values are counted exactly up to MaxItems, the
// rest together; the distinct count estimates what was seen.
func TestCategoricalCounts(t *testing.T) {
	c, err := NewColumn("email_domain", value.String)
	if err != nil {
		t.Fatal(err)
	}
	const distinct = 20_000
	for i := range 3 * distinct {
		if err := c.Add(value.FromString(fmt.Sprintf("d%05d.example", i%distinct))); err != nil {
			t.Fatal(err)
		}
	}
	counts := c.Counts()
	if len(counts) != MaxItems+1 || counts["d00000.example"] != 3 || counts[OtherItem] != 3*(distinct-MaxItems) {
		t.Fatalf("%d items, d00000 counted %v, other %v; want %d items counted 3 times each and %d other", len(counts), counts["d00000.example"], counts[OtherItem], MaxItems, 3*(distinct-MaxItems))
	}
	if d := c.Distinct(); !near(float64(d), distinct, 0.03) {
		t.Fatalf("distinct estimate %d; want %d within 3%%", d, distinct)
	}
	b, err := NewColumn("active", value.Bool)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []value.Value{value.FromBool(true), value.FromBool(false), value.FromBool(true), value.NullValue()} {
		if err := b.Add(v); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(b.Counts()); got != "map[false:1 true:2]" || b.Distinct() != 2 || b.NullRate() != 0.25 {
		t.Fatalf("bool column: counts %s, distinct %d, null rate %v", got, b.Distinct(), b.NullRate())
	}
}

// TestTimestampsAreSeconds: a timestamp column is summarised as Unix
// seconds.
func TestTimestampsAreSeconds(t *testing.T) {
	c, err := NewColumn("last_order_at", value.Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if err := c.Add(value.FromTime(at.Add(time.Duration(i) * time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if !c.Timestamps() || c.Min() != float64(at.Unix()) || c.Mean() != float64(at.Unix()+3600) {
		t.Fatalf("min %v mean %v; want %d and %d", c.Min(), c.Mean(), at.Unix(), at.Unix()+3600)
	}
}

// TestBadInputIsRefusedWhole: a row with a value of the wrong type is
// refused with the column named, and no column counts any of it.
func TestBadInputIsRefusedWhole(t *testing.T) {
	p := build(t, data(5, 100))
	before, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Add([]value.Value{value.FromFloat64(1), value.FromInt64(2), value.FromInt64(3), value.FromBool(true)})
	if err == nil || !strings.Contains(err.Error(), "row 101: column segment holds strings and was given int64 3") {
		t.Fatalf("a row with an int64 for a string column: %v", err)
	}
	if err := p.Add([]value.Value{value.FromFloat64(1)}); err == nil || !strings.Contains(err.Error(), "a row of 1 values for 4 columns") {
		t.Fatalf("a short row: %v", err)
	}
	after, _ := json.Marshal(p)
	if string(after) != string(before) {
		t.Fatal("a refused row changed the profile")
	}
	if _, err := New([]string{"x", "x"}, []value.Type{value.Int64, value.Int64}); err == nil || !strings.Contains(err.Error(), "column x is named twice") {
		t.Fatalf("a name twice: %v", err)
	}
	if _, err := NewColumn("v", value.Type("vector")); err == nil || !strings.Contains(err.Error(), `column v: type "vector" cannot be profiled`) {
		t.Fatalf("an unknown type: %v", err)
	}
	var q Profile
	for _, bad := range []struct{ json, want string }{
		{`{"rows":1,"columns":[{"name":"x","kind":"numeric","rows":1,"nulls":1,"count":1}]}`, "counts do not add up"},
		{`{"rows":1,"columns":[{"name":"x","kind":"weird","rows":1}]}`, `unknown kind "weird"`},
		{`{"rows":2,"columns":[{"name":"s","kind":"categorical","rows":2,"count":2,"items":{"a":1}}]}`, "items and other count 1 values, the column 2"},
	} {
		if err := json.Unmarshal([]byte(bad.json), &q); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("reading %s: %v; want %q", bad.json, err, bad.want)
		}
	}
}

// TestMergeAcrossColumnSets: a column one profile lacks counts as null
// for its rows.
func TestMergeAcrossColumnSets(t *testing.T) {
	a := build(t, data(6, 100))
	b, err := New([]string{"amount", "tenure_days"}, []value.Type{value.Float64, value.Int64})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := b.Add([]value.Value{value.FromFloat64(float64(i)), value.FromInt64(int64(i))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if a.Rows != 150 || a.Column("tenure_days").Nulls != 100 || a.Column("tenure_days").Count() != 50 || a.Column("segment").Nulls != 50 || a.Column("segment").Rows != 150 {
		t.Fatalf("rows %d; tenure_days nulls %d count %d; segment nulls %d rows %d", a.Rows, a.Column("tenure_days").Nulls, a.Column("tenure_days").Count(), a.Column("segment").Nulls, a.Column("segment").Rows)
	}
	c, _ := New([]string{"amount"}, []value.Type{value.String})
	if err := a.Merge(c); err == nil || !strings.Contains(err.Error(), "merging a categorical summary into a numeric one") {
		t.Fatalf("merging a string column into a numeric one: %v", err)
	}
}

// TestStoredSizeIsBounded: a numeric column of a million values stores in
// a few kilobytes (sketches, not values).
func TestStoredSizeIsBounded(t *testing.T) {
	c, err := NewColumn("x", value.Float64)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(8, 8))
	for range 1_000_000 {
		c.AddNumber(math.Exp(r.NormFloat64()*2) * 100)
	}
	b, err := json.Marshal(&Profile{Rows: 1_000_000, Columns: []*Column{c}})
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 32<<10 {
		t.Fatalf("a million values store in %d bytes; want at most 32 KiB", len(b))
	}
	t.Logf("a million values over 6 orders of magnitude: %d bytes stored", len(b))
}

func BenchmarkAdd(b *testing.B) {
	rows := data(9, 100_000)
	p, err := New(names, types)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if err := p.Add(rows[i%len(rows)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(names))/b.Elapsed().Seconds(), "values/s")
}
