package resource

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/value"
)

// Definitions as registries stored them before a feature's source was
// "source" (it was "dataset") and before labels had their own spec (a
// label's was under "feature").
const (
	oldFeature = `{"kind":"feature","name":"opens_30d","variant":"v1","description":"Opens in the last 30 days.","owner":"growth","tags":["email"],` +
		`"feature":{"entity":"subscriber","dataset":{"kind":"transformation","name":"daily_opens","variant":"default"},` +
		`"entity_column":"subscriber_id","value_column":"opens","timestamp_column":"day","type":"int64","max_age":"30d","schedule":"0 * * * *","lookback":"2d"}}`
	oldLabel = `{"kind":"label","name":"purchased","variant":"default",` +
		`"feature":{"entity":"subscriber","dataset":{"kind":"source","name":"orders","variant":"default"},` +
		`"entity_column":"subscriber_id","value_column":"purchased","timestamp_column":"ordered_at","type":"bool"}}`
	// Before labels refused max_age, a label could carry one; it never had an effect.
	oldLabelWithMaxAge = `{"kind":"label","name":"purchased","variant":"default",` +
		`"feature":{"entity":"subscriber","dataset":{"kind":"source","name":"orders","variant":"default"},` +
		`"entity_column":"subscriber_id","value_column":"purchased","timestamp_column":"ordered_at","type":"bool","max_age":"7d"}}`
)

func newFeature() *Resource {
	return &Resource{
		ID: ID{KindFeature, "opens_30d", "v1"}, Description: "Opens in the last 30 days.", Owner: "growth", Tags: []string{"email"},
		Feature: &FeatureSpec{Entity: "subscriber", Source: ID{KindTransformation, "daily_opens", DefaultVariant},
			EntityColumn: "subscriber_id", ValueColumn: "opens", TimestampColumn: "day", Type: value.Int64,
			MaxAge: Duration(30 * 24 * time.Hour), Schedule: "0 * * * *", Lookback: Duration(48 * time.Hour)},
	}
}

func newLabel() *Resource {
	return &Resource{
		ID: ID{KindLabel, "purchased", DefaultVariant},
		Label: &LabelSpec{Entity: "subscriber", Source: ID{KindSource, "orders", DefaultVariant},
			EntityColumn: "subscriber_id", ValueColumn: "purchased", TimestampColumn: "ordered_at", Type: value.Bool},
	}
}

func TestOldStoredDefinitionsDecodeAsTheCurrentShape(t *testing.T) {
	for _, c := range []struct {
		name, stored string
		want         *Resource
	}{
		{"feature", oldFeature, newFeature()},
		{"label", oldLabel, newLabel()},
		{"label with max_age", oldLabelWithMaxAge, newLabel()},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got Resource
			if err := json.Unmarshal([]byte(c.stored), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&got, c.want) {
				t.Errorf("decoded %s as\n %+v\nwant\n %+v", c.stored, got, c.want)
			}
			// What a re-apply compares: the registered definition, decoded,
			// against the same definition loaded from YAML today.
			if d := Diff(&got, c.want); len(d) != 0 {
				t.Errorf("Diff(stored, same definition) = %+v; want none", d)
			}
			if g, w := string(got.Definition()), string(c.want.Definition()); g != w {
				t.Errorf("Definition of the stored resource\n %s\nwant\n %s", g, w)
			}
		})
	}
}

func TestCurrentShapeRoundTrips(t *testing.T) {
	for _, r := range []*Resource{newFeature(), newLabel()} {
		def := r.Definition()
		var got Resource
		if err := json.Unmarshal(def, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&got, r) {
			t.Errorf("%s does not round-trip: %+v", def, got)
		}
	}
	f := string(newFeature().Definition())
	l := string(newLabel().Definition())
	for _, c := range []struct{ def, want string }{
		{f, `"source":{"kind":"transformation","name":"daily_opens","variant":"default"}`},
		{l, `"label":{"entity":"subscriber","source":{"kind":"source"`},
	} {
		if !strings.Contains(c.def, c.want) {
			t.Errorf("definition %s lacks %s", c.def, c.want)
		}
	}
	for _, old := range []string{`"dataset"`, `"feature"`} {
		if strings.Contains(l, old) {
			t.Errorf("label definition %s still has %s", l, old)
		}
	}
}

func TestLabelDependencies(t *testing.T) {
	l := newLabel()
	want := []ID{{KindEntity, "subscriber", DefaultVariant}, {KindSource, "orders", DefaultVariant}}
	if got := l.Dependencies(); !reflect.DeepEqual(got, want) {
		t.Errorf("Dependencies = %v, want %v", got, want)
	}
}
