package definition_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/offline/offlineduckdb"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/registry/registrysqlite"
	"github.com/slipway-ml/slipway/resource"
)

// base is a small valid project: events.csv plus definitions over it.
const baseYAML = `entities:
  - name: user
  - name: shop
sources:
  - name: events
    file: events.csv
    timestamp_column: ts
transformations:
  - name: daily
    sql: |
      SELECT user_id, date_trunc('day', ts) AS day, count(*) AS n, max(kind) AS kind
      FROM {{ events }}
      GROUP BY ALL
features:
  - name: n_daily
    entity: user
    source: daily
    entity_column: user_id
    value_column: n
    timestamp_column: day
    type: int64
labels:
  - name: kind_label
    entity: user
    source: events
    entity_column: user_id
    value_column: kind
    timestamp_column: ts
    type: string
training_sets:
  - name: ts1
    label: kind_label
    features: [n_daily]
`

const eventsCSV = "user_id,ts,kind,amount\nu1,2026-01-01T10:00:00,open,1.5\nu2,2026-01-02T11:00:00,click,2\n"

type env struct {
	dir string
	s   definition.Stores
	c   *coordinator.Coordinator
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	reg, err := registrysqlite.New(ctx, registrysqlite.Config{Path: filepath.Join(dir, "reg.db")})
	if err != nil {
		t.Fatal(err)
	}
	off, err := offlineduckdb.New(ctx, offlineduckdb.Config{Path: filepath.Join(dir, "off.duckdb")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close(); off.Close() })
	proj := filepath.Join(dir, "proj")
	write(t, proj, "events.csv", eventsCSV)
	return &env{dir: proj, s: definition.Stores{Registry: reg, Offline: off}, c: &coordinator.Coordinator{Registry: reg, Offline: off}}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (e *env) plan(t *testing.T) (*definition.Plan, error) {
	t.Helper()
	defs, err := definition.LoadDir(e.dir)
	if err != nil {
		return nil, err
	}
	return definition.MakePlan(context.Background(), defs, e.s)
}

func (e *env) registered(t *testing.T) int {
	t.Helper()
	rs, err := e.s.Registry.List(context.Background(), &registry.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	return len(rs)
}

func TestPlanCreatesThenUnchanged(t *testing.T) {
	e := newEnv(t)
	write(t, e.dir, "defs.yaml", baseYAML)
	plan, err := e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range plan.Items {
		if it.Action != definition.Create {
			t.Errorf("%s: action %s, want create", it.Resource.ID, it.Action)
		}
	}
	// Dependencies come first.
	pos := map[string]int{}
	for i, it := range plan.Items {
		pos[it.Resource.Name] = i
	}
	if !(pos["events"] < pos["daily"] && pos["daily"] < pos["n_daily"] && pos["n_daily"] < pos["ts1"]) {
		t.Errorf("plan order %v does not put dependencies first", pos)
	}
	if _, err := e.c.Apply(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	if n := e.registered(t); n != len(plan.Items) {
		t.Fatalf("registered %d resources, want %d", n, len(plan.Items))
	}
	again, err := e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range again.Items {
		if it.Action != definition.Unchanged {
			t.Errorf("re-plan %s: action %s, want unchanged; diffs %v", it.Resource.ID, it.Action, it.Diffs)
		}
	}
	tf := again.Items[pos["daily"]].Resource
	if tf.State.Schema == nil || tf.State.Status != resource.StatusPending {
		t.Errorf("transformation state = %+v, want pending with a described schema", tf.State)
	}
}

func TestChangedVariantIsAConflictWithDiff(t *testing.T) {
	e := newEnv(t)
	write(t, e.dir, "defs.yaml", baseYAML)
	plan, err := e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Apply(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	before := e.registered(t)
	changed := strings.Replace(baseYAML, "    type: int64", "    type: float64\n    max_age: 30d", 1)
	changed += "  - name: ts2\n    label: kind_label\n    features: [n_daily]\n"
	write(t, e.dir, "defs.yaml", changed)
	plan, err = e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	conflicts := plan.Conflicts()
	if len(conflicts) != 1 || conflicts[0].Resource.Name != "n_daily" {
		t.Fatalf("conflicts = %v, want n_daily only", conflicts)
	}
	fields := map[string]resource.FieldDiff{}
	for _, d := range conflicts[0].Diffs {
		fields[d.Field] = d
	}
	if d := fields["feature.type"]; d.Registered != "int64" || d.Proposed != "float64" {
		t.Errorf("feature.type diff = %+v", d)
	}
	if d := fields["feature.max_age"]; d.Proposed != "30d" {
		t.Errorf("feature.max_age diff = %+v", d)
	}
	_, err = e.c.Apply(context.Background(), plan)
	if err == nil || !strings.Contains(err.Error(), "new variant") || !strings.Contains(err.Error(), "defs.yaml:") {
		t.Fatalf("apply of a conflicting plan: err = %v, want a refusal naming the file and suggesting a new variant", err)
	}
	if n := e.registered(t); n != before {
		t.Fatalf("conflicting apply registered %d new resources; want none (all or nothing)", n-before)
	}
	// The same change under a new variant is fine and coexists.
	write(t, e.dir, "defs.yaml", strings.Replace(changed, "  - name: n_daily\n", "  - name: n_daily\n    variant: v2\n", 1))
	plan, err = e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Conflicts()) != 0 {
		t.Fatalf("new variant conflicts: %v", plan.ConflictError())
	}
}

// badInputs are the bad definitions of TestBadInput (edits of baseYAML and
// extra files), each with what its error must say; FuzzLoadDir starts from them.
var badInputs = []struct {
	name  string
	edit  func(string) string
	files map[string]string
	want  []string // substrings of the error
}{
	{
		name: "YAMLSyntax",
		edit: func(s string) string { return strings.Replace(s, "  - name: shop\n", "  - name: shop\n   bad: [\n", 1) },
		want: []string{"defs.yaml:", "invalid YAML"},
	},
	{
		name: "UnknownField",
		edit: func(s string) string {
			return strings.Replace(s, "    type: int64\n", "    type: int64\n    maxage: 3d\n", 1)
		},
		want: []string{"defs.yaml:22: maxage: unknown field for a feature"},
	},
	{
		name: "MissingRequiredField",
		edit: func(s string) string { return strings.Replace(s, "    value_column: n\n", "", 1) },
		want: []string{"defs.yaml:15: value_column: missing"},
	},
	{
		name: "InvalidName",
		edit: func(s string) string { return strings.Replace(s, "name: n_daily", "name: N-Daily", 1) },
		want: []string{"defs.yaml:15: name: invalid name \"N-Daily\""},
	},
	{
		name: "TabIndent",
		edit: func(s string) string {
			return strings.Replace(s, "    entity: user\n    source: daily", "\tentity: user\n    source: daily", 1)
		},
		want: []string{"defs.yaml:16: invalid YAML: found a tab character"},
	},
	{
		name: "NullName",
		edit: func(s string) string { return strings.Replace(s, "name: n_daily", "name: ~", 1) },
		want: []string{"defs.yaml:15: name: must be a non-empty single value"},
	},
	{
		name: "LabelWithoutTimestamp",
		edit: func(s string) string {
			return strings.Replace(s, "    timestamp_column: ts\n    type: string", "    type: string", 1)
		},
		want: []string{"label: label kind_label:default has no timestamp_column"},
	},
	{
		name:  "ColumnNameClash",
		files: map[string]string{"ts.yaml": "features:\n  - name: timestamp\n    entity: user\n    source: daily\n    entity_column: user_id\n    value_column: n\n    type: int64\ntraining_sets:\n  - name: ts2\n    label: kind_label\n    features: [timestamp]\n"},
		want:  []string{`feature timestamp:default would be exported as column "timestamp", which is also the label time column`},
	},
	{
		name: "UnknownType",
		edit: func(s string) string { return strings.Replace(s, "type: int64", "type: integer", 1) },
		want: []string{"defs.yaml:21: type: unknown type \"integer\""},
	},
	{
		name:  "Duplicate",
		files: map[string]string{"more.yaml": "entities:\n  - name: user\n"},
		want:  []string{"more.yaml:2: entity user:default is defined twice (also at ", "defs.yaml:2"},
	},
	{
		name: "UnknownFeatureSource",
		edit: func(s string) string { return strings.Replace(s, "source: daily", "source: dayly", 1) },
		want: []string{"defs.yaml:17: source: unknown source or transformation dayly:default"},
	},
	{
		name: "UnknownSQLReference",
		edit: func(s string) string { return strings.Replace(s, "{{ events }}", "{{ evnts }}", 1) },
		want: []string{"defs.yaml:12: sql: {{ evnts }}: unknown source or transformation evnts:default"},
	},
	{
		name: "UnknownEntity",
		edit: func(s string) string {
			return strings.Replace(s, "    entity: user\n    source: daily", "    entity: usr\n    source: daily", 1)
		},
		want: []string{"defs.yaml:16: entity: unknown entity \"usr\""},
	},
	{
		name: "UnknownTrainingSetFeature",
		edit: func(s string) string {
			return strings.Replace(s, "features: [n_daily]", "features: [n_daily, nope:v3]", 1)
		},
		want: []string{"features: unknown feature nope:v3"},
	},
	{
		name: "Cycle",
		files: map[string]string{"cycle.yaml": `transformations:
  - name: a
    sql: SELECT * FROM {{ b }}
  - name: b
    sql: SELECT * FROM {{ a }}
`},
		want: []string{"cycle.yaml:", "reference cycle: a:default → b:default → a:default"},
	},
	{
		name: "BadSQLColumn",
		edit: func(s string) string { return strings.Replace(s, "max(kind) AS kind", "max(knd) AS kind", 1) },
		want: []string{"defs.yaml:11: sql: transformation daily:default: the offline engine rejected it", "knd"},
	},
	{
		name: "BadSQLOnALaterLine",
		edit: func(s string) string {
			return strings.Replace(s, "      GROUP BY ALL", "      GROUP BY user_id, nope", 1)
		},
		want: []string{"defs.yaml:13: sql: transformation daily:default: the offline engine rejected it", "LINE 3:"},
	},
	{
		name: "MissingColumn",
		edit: func(s string) string { return strings.Replace(s, "value_column: n\n", "value_column: m\n", 1) },
		want: []string{"defs.yaml:19: value_column: daily:default has no column \"m\"; its columns are: user_id, day, n, kind"},
	},
	{
		name: "TypeMismatch",
		edit: func(s string) string {
			return strings.Replace(s, "    value_column: kind\n", "    value_column: amount\n", 1)
		},
		want: []string{"defs.yaml:27: value_column: column \"amount\" of events:default has type DOUBLE (float64), which does not fit string"},
	},
	{
		name: "TimestampColumnNotATimestamp",
		edit: func(s string) string {
			return strings.Replace(s, "    timestamp_column: ts\ntransformations", "    timestamp_column: kind\ntransformations", 1)
		},
		want: []string{"defs.yaml:7: timestamp_column: source events:default: column \"kind\" of events.csv does not parse as timestamps"},
	},
	{
		name: "MissingFile",
		edit: func(s string) string { return strings.Replace(s, "file: events.csv", "file: nothere.csv", 1) },
		want: []string{"defs.yaml:6: file: source events:default: nothere.csv: no such file"},
	},
	{
		name: "EntityMismatch",
		edit: func(s string) string {
			return strings.Replace(s, "    entity: user\n    source: events", "    entity: shop\n    source: events", 1)
		},
		want: []string{"features: n_daily:default describes entity \"user\" but label kind_label:default describes \"shop\""},
	},
	{
		name: "InvalidFeatureSchedule",
		edit: func(s string) string {
			return strings.Replace(s, "    type: int64\n", "    type: int64\n    schedule: \"0 25 * * *\"\n", 1)
		},
		want: []string{`defs.yaml:22: schedule: schedule "0 25 * * *": `, "above maximum", `such as "0 * * * *"`},
	},
	{
		name: "InvalidTransformationSchedule",
		edit: func(s string) string {
			return strings.Replace(s, "  - name: daily\n", "  - name: daily\n    schedule: \"@fortnightly\"\n", 1)
		},
		want: []string{`defs.yaml:10: schedule: schedule "@fortnightly": `},
	},
	{
		name: "ScheduleWithTooFewFields",
		edit: func(s string) string {
			return strings.Replace(s, "  - name: daily\n", "  - name: daily\n    schedule: 0 6 *\n", 1)
		},
		want: []string{`defs.yaml:10: schedule: schedule "0 6 *": `, "five fields"},
	},
	{
		name: "EmptySchedule",
		edit: func(s string) string {
			return strings.Replace(s, "    type: int64\n", "    type: int64\n    schedule: \"\"\n", 1)
		},
		want: []string{"defs.yaml:22: schedule: is empty"},
	},
	{
		name: "UnquotedScheduleDescriptor",
		edit: func(s string) string {
			return strings.Replace(s, "  - name: daily\n", "  - name: daily\n    schedule: @daily\n", 1)
		},
		want: []string{"defs.yaml:10: invalid YAML", `a value starting with "@" must be quoted, like schedule: "@daily"`},
	},
	{
		name: "UnquotedScheduleStar",
		edit: func(s string) string {
			return strings.Replace(s, "  - name: daily\n", "  - name: daily\n    schedule: */5 * * * *\n", 1)
		},
		want: []string{"defs.yaml:10: invalid YAML", `a value starting with "*" must be quoted`},
	},
	{
		name: "ScheduleOnLabel",
		edit: func(s string) string {
			return strings.Replace(s, "    type: string\n", "    type: string\n    schedule: \"@daily\"\n", 1)
		},
		want: []string{"defs.yaml:30: schedule: labels are not materialized"},
	},
	{
		name: "LookbackOnLabel",
		edit: func(s string) string {
			return strings.Replace(s, "    type: string\n", "    type: string\n    lookback: 2d\n", 1)
		},
		want: []string{"defs.yaml:30: lookback: labels are not materialized", "has no lookback"},
	},
	{
		name: "ScheduleOnSource",
		edit: func(s string) string {
			return strings.Replace(s, "    timestamp_column: ts\ntransformations", "    timestamp_column: ts\n    schedule: \"@daily\"\ntransformations", 1)
		},
		want: []string{"defs.yaml:8: schedule: a source is a view", "has no schedule"},
	},
	{
		name: "LookbackOnTransformation",
		edit: func(s string) string {
			return strings.Replace(s, "  - name: daily\n", "  - name: daily\n    lookback: 2d\n", 1)
		},
		want: []string{"defs.yaml:10: lookback: a transformation is rebuilt whole"},
	},
	{
		name: "NegativeLookback",
		edit: func(s string) string {
			return strings.Replace(s, "    type: int64\n", "    type: int64\n    lookback: -2d\n", 1)
		},
		want: []string{`defs.yaml:22: lookback: "-2d" is negative`},
	},
	{
		name: "ZeroLookback",
		edit: func(s string) string {
			return strings.Replace(s, "    type: int64\n", "    type: int64\n    lookback: 0d\n", 1)
		},
		want: []string{"defs.yaml:22: lookback: must be positive (0 would mean the default, 1d)"},
	},
	{
		name: "InvalidLookback",
		edit: func(s string) string {
			return strings.Replace(s, "    type: int64\n", "    type: int64\n    lookback: 2 days\n", 1)
		},
		want: []string{`defs.yaml:22: lookback: invalid duration "2 days"`},
	},
	{
		name: "LookbackOnStaticFeature",
		edit: func(s string) string {
			return strings.Replace(s, "    timestamp_column: day\n    type: int64\n", "    type: int64\n    lookback: 2d\n", 1)
		},
		want: []string{"defs.yaml:21: lookback: needs timestamp_column"},
	},
	{
		name: "SQLFileMissing",
		edit: func(s string) string {
			return strings.Replace(s, "    sql: |\n      SELECT user_id", "    sql_file: daily.sql\n    x_sql: |\n      SELECT user_id", 1)
		},
		want: []string{"sql_file: cannot read daily.sql"},
	},
}

// TestBadInput checks that every kind of bad definition is reported with
// file, line and field before anything is written.
func TestBadInput(t *testing.T) {
	for _, tc := range badInputs {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			y := baseYAML
			if tc.edit != nil {
				y = tc.edit(y)
			}
			write(t, e.dir, "defs.yaml", y)
			for name, content := range tc.files {
				write(t, e.dir, name, content)
			}
			_, err := e.plan(t)
			if err == nil {
				t.Fatal("plan succeeded; want an error")
			}
			var errs definition.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v is not definition.Errors", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if n := e.registered(t); n != 0 {
				t.Errorf("%d resources registered after a failed plan", n)
			}
		})
	}
}

// TestScheduleAndLookback checks that schedules and lookbacks reach the
// resources, survive registration, and that changing them is a conflict
// shown field by field, like any change to a registered variant.
func TestScheduleAndLookback(t *testing.T) {
	e := newEnv(t)
	scheduled := strings.Replace(baseYAML, "  - name: daily\n", "  - name: daily\n    schedule: \"@daily\"\n", 1)
	scheduled = strings.Replace(scheduled, "    type: int64\n", "    type: int64\n    schedule: \"*/15  * * * *\"\n    lookback: 2d\n", 1)
	scheduled += `features:
  - name: kind_static
    entity: user
    source: events
    entity_column: user_id
    value_column: kind
    type: string
    schedule: 0 6 * * *
  - name: n_every
    entity: user
    source: daily
    entity_column: user_id
    value_column: n
    timestamp_column: day
    type: int64
    schedule: "@every 15m"
    lookback: 6h
`
	write(t, e.dir, "defs.yaml", scheduled)
	defs, err := definition.LoadDir(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*resource.Resource{}
	for _, d := range defs {
		got[d.Resource.Name] = d.Resource
	}
	if s := got["daily"].Transformation.Schedule; s != "@daily" {
		t.Errorf("daily schedule = %q, want @daily", s)
	}
	for name, want := range map[string]resource.FeatureSpec{
		"n_daily":     {Schedule: "*/15 * * * *", Lookback: resource.Duration(48 * time.Hour)}, // spaces normalized
		"kind_static": {Schedule: "0 6 * * *"},
		"n_every":     {Schedule: "@every 15m", Lookback: resource.Duration(6 * time.Hour)},
	} {
		f := got[name].Feature
		if f.Schedule != want.Schedule || f.Lookback != want.Lookback {
			t.Errorf("%s: schedule %q lookback %v, want %q and %v", name, f.Schedule, f.Lookback, want.Schedule, want.Lookback)
		}
		if f.Schedule != "" {
			if _, err := resource.ParseSchedule(f.Schedule); err != nil {
				t.Errorf("%s: stored schedule does not parse: %v", name, err)
			}
		}
	}

	// A label is never materialized: it has its own spec, without schedule or lookback.
	if l := got["kind_label"]; l.Feature != nil || l.Label == nil || l.Label.Entity != "user" || l.Label.ValueColumn != "kind" {
		t.Errorf("kind_label: feature spec %+v, label spec %+v; want a label spec only", l.Feature, l.Label)
	}

	plan, err := e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Apply(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	again, err := e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range again.Items {
		if it.Action != definition.Unchanged {
			t.Errorf("re-plan %s: action %s, want unchanged; diffs %v", it.Resource.ID, it.Action, it.Diffs)
		}
		if it.Resource.Name == "n_daily" && (it.Resource.Feature.Schedule != "*/15 * * * *" || it.Resource.Feature.Lookback != resource.Duration(48*time.Hour)) {
			t.Errorf("registered n_daily = %+v, want its schedule and lookback", it.Resource.Feature)
		}
		if it.Resource.Name == "daily" && it.Resource.Transformation.Schedule != "@daily" {
			t.Errorf("registered daily schedule = %q", it.Resource.Transformation.Schedule)
		}
	}

	changed := strings.Replace(scheduled, `schedule: "@daily"`, `schedule: "@hourly"`, 1)
	changed = strings.Replace(changed, "    lookback: 2d\n", "    lookback: 6h\n", 1)
	changed = strings.Replace(changed, "    schedule: 0 6 * * *\n", "", 1)
	write(t, e.dir, "defs.yaml", changed)
	plan, err = e.plan(t)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]resource.FieldDiff{
		"daily":       {{Field: "transformation.schedule", Registered: "@daily", Proposed: "@hourly"}},
		"n_daily":     {{Field: "feature.lookback", Registered: "2d", Proposed: "6h0m0s"}},
		"kind_static": {{Field: "feature.schedule", Registered: "0 6 * * *", Proposed: ""}},
	}
	conflicts := plan.Conflicts()
	if len(conflicts) != len(want) {
		t.Errorf("conflicts = %d, want %d (%v)", len(conflicts), len(want), plan.ConflictError())
	}
	for _, c := range conflicts {
		if w := want[c.Resource.Name]; !slices.EqualFunc(c.Diffs, w, sameDiff) {
			t.Errorf("%s diffs = %+v, want %+v", c.Resource.Name, c.Diffs, w)
		}
	}
	if err := plan.ConflictError(); err == nil || !strings.Contains(err.Error(), "transformation.schedule") {
		t.Errorf("conflict error %v does not name transformation.schedule", err)
	}
}

// sameDiff compares the field and the two values of a diff.
func sameDiff(a, b resource.FieldDiff) bool {
	return a.Field == b.Field && a.Registered == b.Registered && a.Proposed == b.Proposed
}
