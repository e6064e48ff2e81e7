package resource

import (
	"reflect"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/value"
)

func TestUnifiedDiff(t *testing.T) {
	a := "SELECT user_id,\n  count(*) AS n\nFROM {{ events }}\nWHERE kind = 'open'\nGROUP BY ALL\n-- 1\n-- 2\n-- 3\n-- 4\n-- 5\n-- 6\n-- 7\n-- 8\nORDER BY 1\n"
	b := "SELECT user_id,\n  count(*) AS opens\nFROM {{ events }}\nWHERE kind = 'open'\nGROUP BY ALL\n-- 1\n-- 2\n-- 3\n-- 4\n-- 5\n-- 6\n-- 7\n-- 8\n"
	want := []string{
		"--- registered",
		"+++ proposed",
		"@@ -1,5 +1,5 @@",
		" SELECT user_id,",
		"-  count(*) AS n",
		"+  count(*) AS opens",
		" FROM {{ events }}",
		" WHERE kind = 'open'",
		" GROUP BY ALL",
		"@@ -11,4 +11,3 @@",
		" -- 6",
		" -- 7",
		" -- 8",
		"-ORDER BY 1",
	}
	if got := UnifiedDiff(a, b, "registered", "proposed"); !reflect.DeepEqual(got, want) {
		t.Errorf("UnifiedDiff =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := UnifiedDiff(a, a, "x", "y"); got != nil {
		t.Errorf("diff of equal texts = %q", got)
	}
	// A trailing newline alone is no change in the lines.
	if got := UnifiedDiff("a\nb", "a\nb\nc\n", "x", "y"); !reflect.DeepEqual(got, []string{"--- x", "+++ y", "@@ -1,2 +1,3 @@", " a", " b", "+c"}) {
		t.Errorf("appended line: %q", got)
	}
	if got := UnifiedDiff("", "a\n", "x", "y"); !reflect.DeepEqual(got, []string{"--- x", "+++ y", "@@ -0,0 +1 @@", "+a"}) {
		t.Errorf("from empty: %q", got)
	}
}

func trainingSet(label string, features ...string) *Resource {
	ts := &TrainingSetSpec{Label: ID{KindLabel, label, "default"}}
	for _, f := range features {
		name, variant, _ := strings.Cut(f, ":")
		ts.Features = append(ts.Features, ID{KindFeature, name, variant})
	}
	return &Resource{ID: ID{KindTrainingSet, "ts", "default"}, TrainingSet: ts}
}

func lines(diffs []FieldDiff) []string {
	var out []string
	for _, d := range diffs {
		out = append(out, d.Lines()...)
	}
	return out
}

func TestDiffOfATrainingSetNamesFeaturesAndLabel(t *testing.T) {
	a := trainingSet("churned", "opens:default", "clicks:default", "orders:default")
	b := trainingSet("churned_v", "opens:default", "orders:v2", "clicks:default", "spend:default")
	want := []string{
		"training_set.features: added feature orders:v2, feature spend:default; removed feature orders:default",
		"training_set.label: label churned:default → label churned_v:default",
	}
	if got := lines(Diff(a, b)); !reflect.DeepEqual(got, want) {
		t.Errorf("lines =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Only the order changed: both lists are shown.
	c := trainingSet("churned", "clicks:default", "opens:default", "orders:default")
	want = []string{"training_set.features: reordered feature opens:default, feature clicks:default, feature orders:default → feature clicks:default, feature opens:default, feature orders:default"}
	if got := lines(Diff(a, c)); !reflect.DeepEqual(got, want) {
		t.Errorf("reordered: %q", got)
	}
}

func TestDiffOfSQLIsUnified(t *testing.T) {
	tf := func(sql string) *Resource {
		return &Resource{ID: ID{KindTransformation, "t", "default"}, Transformation: &TransformationSpec{SQL: sql, Inputs: []ID{{KindSource, "events", "default"}}}}
	}
	got := lines(Diff(tf("SELECT a,\n  b\nFROM {{ events }}\n"), tf("SELECT a,\n  c\nFROM {{ events }}\n")))
	want := []string{"transformation.sql:", "--- registered", "+++ proposed", "@@ -1,3 +1,3 @@", " SELECT a,", "-  b", "+  c", " FROM {{ events }}"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lines = %q, want %q", got, want)
	}
	// Other fields keep one line each; an unset value shows as "".
	f, g := feature(), feature()
	g.Feature.Source = ID{KindSource, "t", "default"}
	g.Feature.Type = value.Float64
	g.Description = "Opens."
	want = []string{`description: "" → Opens.`, "feature.source: transformation t:default → source t:default", "feature.type: int64 → float64"}
	if got := lines(Diff(f, g)); !reflect.DeepEqual(got, want) {
		t.Errorf("lines = %q, want %q", got, want)
	}
}

// An entity's definition without a description is {kind, name, variant}:
// the shape of an ID, which Diff must not mistake for one when it is the
// whole definition.
func TestDiffOfAnEntityDescription(t *testing.T) {
	id := ID{KindEntity, "subscriber", DefaultVariant}
	bare, described := &Resource{ID: id}, &Resource{ID: id, Description: "A person on a mailing list."}
	want := []FieldDiff{{Field: "description", Registered: "", Proposed: "A person on a mailing list."}}
	if d := Diff(bare, described); !reflect.DeepEqual(d, want) {
		t.Errorf("Diff(no description, description) =\n %+v\nwant\n %+v", d, want)
	}
	want[0].Registered, want[0].Proposed = want[0].Proposed, want[0].Registered
	if d := Diff(described, bare); !reflect.DeepEqual(d, want) {
		t.Errorf("Diff(description, no description) =\n %+v\nwant\n %+v", d, want)
	}
}
