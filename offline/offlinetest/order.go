package offlinetest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/value"
)

// orderCase is a training set made to find an unspecified row order: label
// rows that share entity and time with other labels, exact duplicates,
// null entities, times and labels, feature ties and a static feature, in
// an order unrelated to the output's. reversed gives the same rows in
// another physical order.
func orderCase(reversed bool) *pitCase {
	r := rand.New(rand.NewPCG(7, 11))
	entity := func() value.Value { return str(fmt.Sprintf("u%02d", r.IntN(30))) }
	c := &pitCase{Name: "order", EntityType: value.String, LabelType: value.Int64}
	for range 400 {
		row := pitRow{Entity: entity(), TS: ts(r.IntN(40)), Value: i64(int64(r.IntN(3)))}
		switch r.IntN(40) {
		case 0:
			row.Entity = null
		case 1:
			row.TS = null
		case 2:
			row.Value = null
		}
		c.Label = append(c.Label, row)
	}
	c.Label = append(c.Label, c.Label[:20]...) // exact duplicates
	opens := pitFeature{Name: "opens", Type: value.Float64, EntityType: value.String}
	for range 300 {
		opens.Rows = append(opens.Rows, pitRow{Entity: entity(), TS: ts(r.IntN(40)), Value: f64(float64(r.IntN(5)) / 2)})
	}
	plan := pitFeature{Name: "plan", Type: value.String, EntityType: value.String, Static: true}
	for i := range 30 {
		plan.Rows = append(plan.Rows, pitRow{Entity: str(fmt.Sprintf("u%02d", i)), TS: null, Value: str([]string{"free", "pro", "team"}[r.IntN(3)])})
	}
	c.Features = []pitFeature{opens, plan}
	if reversed {
		slices.Reverse(c.Label)
		for i := range c.Features {
			slices.Reverse(c.Features[i].Rows)
		}
	}
	c.Expect = reference(c)
	return c
}

// compareOrder orders training-set rows as offline.TrainingSetParams
// documents: entity, label time, label value (the last column), each
// ascending with nulls last.
func compareOrder(a, b []value.Value) int {
	for _, i := range []int{0, 1, len(a) - 1} {
		x, y := a[i], b[i]
		switch {
		case x.IsNull() && y.IsNull():
			continue
		case x.IsNull():
			return 1
		case y.IsNull():
			return -1
		}
		if c := compareValues(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// testRowOrder checks that a training set's rows come in the documented order.
func testRowOrder(t *testing.T, s offline.Store) {
	c := orderCase(true)
	rs, err := s.ReadTrainingSet(t.Context(), pitParams(t, s, c))
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, rs)
	if d := diffRows(got, c.Expect); d != "" {
		t.Fatalf("rows:\n%s", d)
	}
	for i := 1; i < len(got); i++ {
		if compareOrder(got[i-1], got[i]) > 0 {
			t.Fatalf("row %d (%s) comes after row %d (%s); want rows ordered by entity, timestamp, label with nulls last",
				i+1, rowKey(got[i]), i, rowKey(got[i-1]))
		}
	}
	want := slices.Clone(c.Expect)
	slices.SortStableFunc(want, compareOrder)
	for i := range want {
		// Rows equal on entity, time and label are equal on every column.
		if rowKey(got[i]) != rowKey(want[i]) {
			t.Fatalf("row %d = %s, want %s", i+1, rowKey(got[i]), rowKey(want[i]))
		}
	}
}

// testExportDeterministic exports one training set twice, and once more
// from the same rows stored in another physical order: the three files
// must be byte-identical.
func testExportDeterministic(t *testing.T, s offline.Store, format string) {
	if !slices.Contains(s.Capabilities().ExportFormats, format) {
		t.Skipf("store does not export %s", format)
	}
	dir := t.TempDir()
	export := func(c *pitCase, name string) []byte {
		t.Helper()
		file := filepath.Join(dir, name+"."+format)
		n, err := s.ExportTrainingSet(t.Context(), &offline.ExportParams{TrainingSet: pitParams(t, s, c), Format: format, Path: file})
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(c.Expect)) {
			t.Errorf("%s: exported %d rows, want %d", name, n, len(c.Expect))
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := export(orderCase(false), "first")
	again := export(orderCase(false), "again")
	reversed := export(orderCase(true), "reversed")
	if !bytes.Equal(first, again) {
		t.Errorf("two exports of the same data differ (%d and %d bytes, first difference at byte %d)", len(first), len(again), firstDifference(first, again))
	}
	if !bytes.Equal(first, reversed) {
		t.Errorf("exports of the same rows stored in another order differ (%d and %d bytes, first difference at byte %d)", len(first), len(reversed), firstDifference(first, reversed))
	}
}

func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
