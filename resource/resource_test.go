package resource

import (
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/value"
)

func TestParseRef(t *testing.T) {
	cases := map[string]Ref{"opens": {"opens", "default"}, "opens:v2": {"opens", "v2"}, " a_1:2024_11 ": {"a_1", "2024_11"}}
	for in, want := range cases {
		if got, err := ParseRef(in); err != nil || got != want {
			t.Errorf("ParseRef(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "Opens", "1abc", "a:", "a:B", "a:b:c", "a-b"} {
		if _, err := ParseRef(bad); err == nil {
			t.Errorf("ParseRef(%q) succeeded", bad)
		}
	}
}

// TestIdentifierIsThePattern checks the written-out identifier check
// against the regular expressions it stands for, on every string of up to
// 3 characters from a small alphabet and on random longer ones around the
// 63-character limit.
func TestIdentifierIsThePattern(t *testing.T) {
	name := regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	variant := regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,62}$`)
	check := func(s string) {
		if got, want := identifier(s, false), name.MatchString(s); got != want {
			t.Errorf("identifier(%q, false) = %v; the pattern says %v", s, got, want)
		}
		if got, want := identifier(s, true), variant.MatchString(s); got != want {
			t.Errorf("identifier(%q, true) = %v; the pattern says %v", s, got, want)
		}
	}
	alphabet := []string{"a", "z", "0", "9", "_", "A", "-", ":", " ", "é", "\x00"}
	check("")
	for _, a := range alphabet {
		check(a)
		for _, b := range alphabet {
			check(a + b)
			for _, c := range alphabet {
				check(a + b + c)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, 60+r.IntN(6))
		for i := range b {
			b[i] = "abcxyz0189_"[r.IntN(11)]
		}
		if r.IntN(10) == 0 {
			b[r.IntN(len(b))] = "A-: \xff"[r.IntN(5)]
		}
		check(string(b))
	}
}

func TestParseKind(t *testing.T) {
	cases := map[string]Kind{"features": KindFeature, "entities": KindEntity, "training-sets": KindTrainingSet, "training_set": KindTrainingSet, "Source": KindSource, "models": KindModel, "model": KindModel, "experiments": KindExperiment}
	for in, want := range cases {
		if got, err := ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseKind("experimant"); err == nil || !strings.Contains(err.Error(), "training_set, model, endpoint, batch_prediction, experiment") {
		t.Errorf("ParseKind(experimant) = %v; want an error listing the kinds", err)
	}
}

func TestDuration(t *testing.T) {
	cases := map[string]time.Duration{"30d": 30 * 24 * time.Hour, "12h": 12 * time.Hour, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute}
	for in, want := range cases {
		d, err := ParseDuration(in)
		if err != nil || time.Duration(d) != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, d, err)
		}
	}
	for _, bad := range []string{"", "-1h", "3 days", "d", "1.5d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
	if s := Duration(30 * 24 * time.Hour).String(); s != "30d" {
		t.Errorf("String() = %s", s)
	}
}

func feature() *Resource {
	return &Resource{
		ID:    ID{Kind: KindFeature, Name: "opens", Variant: "default"},
		Owner: "growth", Tags: []string{"a"},
		Feature: &FeatureSpec{Entity: "subscriber", Source: ID{KindTransformation, "t", "default"}, EntityColumn: "id", ValueColumn: "v", Type: value.Int64},
	}
}

func TestDiffIgnoresStateAndFindsFields(t *testing.T) {
	a, b := feature(), feature()
	b.State = State{Status: StatusReady, Error: "x", CreatedAt: time.Now()}
	if d := Diff(a, b); len(d) != 0 {
		t.Fatalf("state-only difference gave diffs %v", d)
	}
	b.Feature.Type = value.Float64
	b.Feature.MaxAge = Duration(24 * time.Hour)
	b.Tags = []string{"a", "b"}
	d := Diff(a, b)
	want := []FieldDiff{
		{Field: "feature.max_age", Registered: "", Proposed: "1d"},
		{Field: "feature.type", Registered: "int64", Proposed: "float64"},
		{Field: "tags", Registered: "a", Proposed: "a, b", Added: []string{"b"}, Removed: []string{}},
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("Diff =\n %+v\nwant\n %+v", d, want)
	}
}

func TestDependencies(t *testing.T) {
	f := feature()
	deps := f.Dependencies()
	if len(deps) != 2 || deps[0] != (ID{KindEntity, "subscriber", "default"}) || deps[1] != f.Feature.Source {
		t.Errorf("Dependencies = %v", deps)
	}
}

func TestParseSchedule(t *testing.T) {
	for _, expr := range []string{"0 * * * *", "*/15 6-18 * * 1-5", "@hourly", "@daily", "@every 15m"} {
		if _, err := ParseSchedule(expr); err != nil {
			t.Errorf("ParseSchedule(%q): %v", expr, err)
		}
	}
	for _, expr := range []string{"", "0 * * *", "61 * * * *", "CRON_TZ=Europe/Paris 0 6 * * *", "TZ=UTC 0 6 * * *", "@sometimes"} {
		if _, err := ParseSchedule(expr); err == nil {
			t.Errorf("ParseSchedule(%q) succeeded; want an error", expr)
		}
	}
	s, err := ParseSchedule("30 6 * * *")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)
	if got, want := s.Next(from), time.Date(2026, 3, 2, 6, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("next firing of 30 6 * * * after %v = %v; want %v", from, got, want)
	}
}
