// Package resource defines Slipway's resources (entities, sources,
// transformations, features, labels, training sets, models, endpoints, batch predictions, experiments, monitors), their
// identifiers and their validation. It does no I/O.
//
// A resource is identified by kind, name and variant. Its definition (every
// field but the State) never changes once registered: a change is a new variant.
package resource

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/slipway-ml/slipway/value"
)

// Kind is a resource kind.
type Kind string

// The resource kinds, in the order definitions are applied.
const (
	KindEntity         Kind = "entity"
	KindSource         Kind = "source"
	KindTransformation Kind = "transformation"
	KindFeature        Kind = "feature"
	KindLabel          Kind = "label"
	KindTrainingSet    Kind = "training_set"
)

// Kinds lists every kind in dependency order.
var Kinds = []Kind{KindEntity, KindSource, KindTransformation, KindFeature, KindLabel, KindTrainingSet, KindModel, KindEndpoint, KindBatchPrediction, KindExperiment, KindMonitor}

// ParseKind accepts a kind as written on the command line: singular or plural,
// with "-" or "_" ("training-sets" is KindTrainingSet).
func ParseKind(s string) (Kind, error) {
	k := strings.ReplaceAll(strings.ToLower(s), "-", "_")
	k = strings.TrimSuffix(k, "s")
	if k == "entitie" {
		k = "entity"
	}
	for _, kind := range Kinds {
		if string(kind) == k {
			return kind, nil
		}
	}
	return "", fmt.Errorf("unknown kind %q: use one of entity, source, transformation, feature, label, training_set, model, endpoint, batch_prediction, experiment, monitor", s)
}

// DefaultVariant is the variant of a reference that names none.
const DefaultVariant = "default"

// identifier says whether s is 1 to 63 lower-case letters, digits and '_',
// starting with a letter (or, with digitFirst, a digit too). It is the
// pattern ^[a-z][a-z0-9_]{0,62}$ written out: the prediction log checks
// every logged prediction's endpoint with it, where a regexp cost 2% of a
// busy server's CPU.
func identifier(s string, digitFirst bool) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && (i > 0 || digitFirst):
		case c == '_' && i > 0:
		default:
			return false
		}
	}
	return true
}

// ValidateName checks a resource name: lower-case letters, digits and '_',
// starting with a letter, with no "__" and no trailing '_' (the offline store
// joins kind, name and variant with "__" into one table name, which must stay
// unambiguous).
func ValidateName(s string) error {
	if !identifier(s, false) || strings.Contains(s, "__") || strings.HasSuffix(s, "_") {
		return fmt.Errorf("invalid name %q: use lower-case letters, digits and single '_' between them, starting with a letter, at most 63 characters", s)
	}
	return nil
}

// ValidFeedbackName says whether s can name feedback (clicked, relevant,
// purchased), as POST /v1/feedback takes it and experiments and retrain
// policies name it: lower-case letters, digits and '_', starting with a
// letter, at most 63 characters.
func ValidFeedbackName(s string) bool { return identifier(s, false) }

// ValidateVariant checks a variant: like a name, but it may start with a digit.
func ValidateVariant(s string) error {
	if !identifier(s, true) || strings.Contains(s, "__") || strings.HasSuffix(s, "_") {
		return fmt.Errorf("invalid variant %q: use lower-case letters, digits and single '_' between them, at most 63 characters", s)
	}
	return nil
}

// Ref is a reference as written by users: name or name:variant.
type Ref struct {
	Name    string
	Variant string
}

// ParseRef parses "name" or "name:variant"; an omitted variant is DefaultVariant.
func ParseRef(s string) (Ref, error) {
	name, variant, found := strings.Cut(s, ":")
	name, variant = strings.TrimSpace(name), strings.TrimSpace(variant)
	if !found {
		variant = DefaultVariant
	}
	if err := ValidateName(name); err != nil {
		return Ref{}, err
	}
	if err := ValidateVariant(variant); err != nil {
		return Ref{}, err
	}
	return Ref{Name: name, Variant: variant}, nil
}

func (r Ref) String() string { return r.Name + ":" + r.Variant }

// ID identifies a resource.
type ID struct {
	Kind    Kind   `json:"kind"`
	Name    string `json:"name"`
	Variant string `json:"variant"`
}

// NewID builds an ID from a kind and a reference.
func NewID(kind Kind, r Ref) ID { return ID{Kind: kind, Name: r.Name, Variant: r.Variant} }

// Ref returns the name:variant part of the ID.
func (id ID) Ref() Ref { return Ref{Name: id.Name, Variant: id.Variant} }

// Validate checks the kind, name and variant.
func (id ID) Validate() error {
	if !slices.Contains(Kinds, id.Kind) {
		return fmt.Errorf("unknown kind %q", id.Kind)
	}
	if err := ValidateName(id.Name); err != nil {
		return err
	}
	return ValidateVariant(id.Variant)
}

// String formats the ID as "kind name:variant".
func (id ID) String() string { return string(id.Kind) + " " + id.Name + ":" + id.Variant }

// Status is where a resource is in its life.
type Status string

// Statuses: pending → running → ready | failed.
const (
	StatusPending Status = "pending"
	StatusRunning Status = "running"
	StatusReady   Status = "ready"
	StatusFailed  Status = "failed"
)

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusRunning, StatusReady, StatusFailed:
		return true
	}
	return false
}

// Column is one column of a source's or transformation's discovered schema.
type Column struct {
	Name string `json:"name"`
	// EngineType is the type as the offline engine names it (BIGINT, VARCHAR, …).
	EngineType string `json:"engine_type"`
	// Type is the value type the column maps to; Null when Slipway cannot serve it.
	Type value.Type `json:"type,omitempty"`
}

// Resource is one registered (or to-be-registered) resource.
type Resource struct {
	ID
	Description string   `json:"description,omitempty"`
	Owner       string   `json:"owner,omitempty"`
	Tags        []string `json:"tags,omitempty"`

	// Exactly one spec is set, matching ID.Kind (entities have none).
	Source          *SourceSpec          `json:"source,omitempty"`
	Transformation  *TransformationSpec  `json:"transformation,omitempty"`
	Feature         *FeatureSpec         `json:"feature,omitempty"`
	Label           *LabelSpec           `json:"label,omitempty"`
	TrainingSet     *TrainingSetSpec     `json:"training_set,omitempty"`
	Model           *ModelSpec           `json:"model,omitempty"`
	Endpoint        *EndpointSpec        `json:"endpoint,omitempty"`
	BatchPrediction *BatchPredictionSpec `json:"batch_prediction,omitempty"`
	Experiment      *ExperimentSpec      `json:"experiment,omitempty"`
	Monitor         *MonitorSpec         `json:"monitor,omitempty"`

	State State `json:"-"`
}

// State is what the registry records about a resource over time; it is not part of the definition.
type State struct {
	CreatedAt time.Time `json:"created_at"`
	Status    Status    `json:"status"`
	Error     string    `json:"error,omitempty"`
	// Schema is the discovered schema of a source or transformation.
	Schema []Column `json:"schema,omitempty"`
	// UpdatedAt is when Status last changed.
	UpdatedAt time.Time `json:"updated_at"`
	// Watermark is, for a feature, the newest timestamp that materialization
	// has read from its source: the next incremental run reads rows after
	// it (less the feature's lookback). Zero until the first run.
	Watermark time.Time `json:"watermark,omitzero"`
	// Materialized is, for a feature, its last successful materialization
	// (nil until the first): what freshness reports age from.
	Materialized *Materialization `json:"materialized,omitempty"`
	// Deprecated is set while the resource is deprecated: still readable
	// and usable, hidden from default listings, warned about when a
	// definition refers to it.
	Deprecated *Mark `json:"deprecated,omitempty"`
	// Deleted is set once the resource is deleted. The registry keeps the
	// definition as a tombstone, for history and lineage; a deleted
	// name:variant is never registered again.
	Deleted *Mark `json:"deleted,omitempty"`
	// SourceFile is, for a file source, the file its offline view reads, as
	// the last apply found it.
	SourceFile *FileState `json:"source_file,omitempty"`
	// Dir is, for a model, the absolute directory of the YAML file that
	// defines it, as the last apply found it: a command trainer runs there.
	Dir string `json:"dir,omitempty"`
}

// Materialization is a successful materialization of a feature: when it
// ended (the coordinator's clock) and the job that wrote it (the commit job
// of a chunked one).
type Materialization struct {
	At  time.Time `json:"at"`
	Job int64     `json:"job"`
}

// FileState is where a file source's file was found by an apply, and its
// size and modification time then: what its data was, since the definition
// records the path relative to its YAML file only.
type FileState struct {
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
}

// Mark records a lifecycle change of a resource: when, by whom and why.
type Mark struct {
	At     time.Time `json:"at"`
	By     string    `json:"by,omitempty"`
	Reason string    `json:"reason,omitempty"`
}

// SourceSpec says where a source's rows are: a file or an existing table.
type SourceSpec struct {
	// File is the path of a CSV or Parquet file as the definition wrote it,
	// relative to the YAML file that defines the source, cleaned and with "/"
	// separators (absolute only when written so). It does not depend on the
	// directory given to plan or apply nor on the checkout, so the same files
	// are the same definition from any of them. The offline store reads the
	// file relative to the YAML file being applied (offline.SourceQueryParams.Dir).
	File string `json:"file,omitempty"`
	// Format is csv or parquet (for files).
	Format string `json:"format,omitempty"`
	// Table is an existing table in the offline store, optionally schema-qualified.
	Table string `json:"table,omitempty"`
	// TimestampColumn is the event time column, if the source has one.
	TimestampColumn string `json:"timestamp_column,omitempty"`
	// Columns declares the types of some columns of a CSV file; the others
	// are inferred by the offline engine.
	Columns map[string]value.Type `json:"columns,omitempty"`
}

// TransformationSpec is SQL over other sources and transformations.
type TransformationSpec struct {
	// SQL as written, with references as {{ name }} or {{ name:variant }}.
	SQL string `json:"sql"`
	// Inputs are the resolved references of SQL, in order of first appearance.
	Inputs []ID `json:"inputs"`
	// Schedule, a cron expression (ParseSchedule), rebuilds the table on schedule.
	Schedule string `json:"schedule,omitempty"`
}

// FeatureSpec is one value per entity over time, read from a source or
// transformation, served online and joined into training sets.
type FeatureSpec struct {
	Entity string `json:"entity"`
	// Source is the source or transformation the values are read from.
	Source          ID         `json:"source"`
	EntityColumn    string     `json:"entity_column"`
	ValueColumn     string     `json:"value_column"`
	TimestampColumn string     `json:"timestamp_column,omitempty"`
	Type            value.Type `json:"type"`
	// MaxAge, when positive, makes values older than this (relative to the label
	// time offline, to now online) count as missing.
	MaxAge Duration `json:"max_age,omitempty"`
	// Schedule, a cron expression (ParseSchedule), refreshes the feature on
	// schedule: its transformation is rebuilt, then it is materialized.
	Schedule string `json:"schedule,omitempty"`
	// Lookback is how far before the watermark an incremental
	// materialization reads again, to pick up late-arriving rows (0:
	// DefaultLookback).
	Lookback Duration `json:"lookback,omitempty"`
}

// LabelSpec is the value a training set predicts: one value per entity
// and time, read from a source or transformation. Unlike a feature, a label
// is never materialized, so it has no max age, schedule or lookback: a
// training set keeps every row of its label.
type LabelSpec struct {
	Entity string `json:"entity"`
	// Source is the source or transformation the values are read from.
	Source          ID         `json:"source"`
	EntityColumn    string     `json:"entity_column"`
	ValueColumn     string     `json:"value_column"`
	TimestampColumn string     `json:"timestamp_column,omitempty"`
	Type            value.Type `json:"type"`
}

// UnmarshalJSON reads a resource, including definitions stored before
// labels had their own spec: a label's spec under "feature" becomes Label
// (FeatureSpec.UnmarshalJSON reads the rest of the old shape). Definition
// then gives the current canonical JSON, so a registered old-shape
// definition equals the same definition applied again.
func (r *Resource) UnmarshalJSON(b []byte) error {
	type plain Resource // Resource without its methods, so this does not recurse
	if err := json.Unmarshal(b, (*plain)(r)); err != nil {
		return err
	}
	if r.Kind == KindLabel && r.Feature != nil && r.Label == nil {
		// A label's max age, schedule and lookback never had an effect (and
		// definitions refuse them now): they are dropped.
		f := r.Feature
		r.Label = &LabelSpec{Entity: f.Entity, Source: f.Source, EntityColumn: f.EntityColumn,
			ValueColumn: f.ValueColumn, TimestampColumn: f.TimestampColumn, Type: f.Type}
		r.Feature = nil
	}
	return nil
}

// UnmarshalJSON reads a feature's (or an old-shape label's) spec, including
// the name stored before "source": "dataset".
func (f *FeatureSpec) UnmarshalJSON(b []byte) error {
	type plain FeatureSpec // FeatureSpec without its methods, so this does not recurse
	var v struct {
		plain
		Dataset *ID `json:"dataset"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = FeatureSpec(v.plain)
	if v.Dataset != nil && f.Source == (ID{}) {
		f.Source = *v.Dataset
	}
	return nil
}

// DefaultLookback is a feature's lookback when its definition gives none.
const DefaultLookback = Duration(24 * time.Hour)

// ParseSchedule reads a cron expression: five fields (minute hour
// day-of-month month day-of-week, as in crontab) or a descriptor such as
// @hourly, @daily or "@every 15m". Times are in UTC.
func ParseSchedule(expr string) (cron.Schedule, error) {
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, fmt.Errorf("schedule %q: schedules are in UTC; remove the time zone and write the times in UTC", expr)
	}
	s, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %v; write five fields (minute hour day-of-month month day-of-week) such as \"0 * * * *\", or @hourly, @daily, \"@every 15m\"", expr, err)
	}
	return s, nil
}

// TrainingSetSpec joins a label point-in-time with features.
type TrainingSetSpec struct {
	Label    ID   `json:"label"`
	Features []ID `json:"features"`
}

// TrainingSetTimestampColumn names a training set's label-time column.
const TrainingSetTimestampColumn = "timestamp"

// FeatureColumns returns the output column name of each feature of a
// training set: the feature's name, or name__variant when two variants of one
// feature are in the set.
func (ts *TrainingSetSpec) FeatureColumns() []string {
	count := map[string]int{}
	for _, f := range ts.Features {
		count[f.Name]++
	}
	names := make([]string, len(ts.Features))
	for i, f := range ts.Features {
		names[i] = f.Name
		if count[f.Name] > 1 {
			names[i] = f.Name + "__" + f.Variant
		}
	}
	return names
}

// Duration is a time.Duration written in whole days ("30d") in JSON and YAML,
// or like a Go duration ("12h") when it is not a whole number of days.
type Duration time.Duration

// MarshalJSON writes the duration as String formats it.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration as ParseDuration accepts it.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseDuration(s)
	*d = v
	return err
}

// ParseDuration accepts Go durations plus a day suffix ("30d").
func ParseDuration(s string) (Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err == nil && fmt.Sprint(days) == n && days >= 0 {
			return Duration(time.Duration(days) * 24 * time.Hour), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q: write it like 30d, 12h or 90m", s)
	}
	return Duration(d), nil
}

// Dependencies returns the IDs this resource's definition refers to.
func (r *Resource) Dependencies() []ID {
	var deps []ID
	switch {
	case r.Transformation != nil:
		deps = append(deps, r.Transformation.Inputs...)
	case r.Feature != nil:
		deps = append(deps, ID{Kind: KindEntity, Name: r.Feature.Entity, Variant: DefaultVariant}, r.Feature.Source)
	case r.Label != nil:
		deps = append(deps, ID{Kind: KindEntity, Name: r.Label.Entity, Variant: DefaultVariant}, r.Label.Source)
	case r.TrainingSet != nil:
		deps = append(deps, r.TrainingSet.Label)
		deps = append(deps, r.TrainingSet.Features...)
	case r.Model != nil:
		deps = append(deps, r.Model.TrainingSet)
	case r.BatchPrediction != nil:
		deps = append(deps, r.BatchPrediction.Entities)
	case r.Experiment != nil:
		deps = append(deps, r.Experiment.Endpoint)
	case r.Monitor != nil:
		deps = append(deps, r.Monitor.Endpoint)
	}
	return deps
}

// Definition returns the resource's definition as canonical JSON: what is
// compared to decide whether a re-applied variant changed.
func (r *Resource) Definition() []byte {
	c := *r
	c.State = State{}
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	b, err := json.Marshal(&c)
	if err != nil {
		panic(fmt.Sprintf("resource definitions are plain data and always marshal: %v", err))
	}
	return b
}

// FieldDiff is one field that differs between a registered definition and a new one.
// Lines formats it for people.
type FieldDiff struct {
	Field string `json:"field"`
	// Registered and Proposed are the field's values as text: strings as
	// they are, IDs as "kind name:variant", lists as their elements joined
	// by ", ", anything else as JSON; "" when the field is not set.
	Registered string `json:"registered"`
	Proposed   string `json:"proposed"`
	// Added and Removed are, for a list field, the elements only the
	// proposed list has and those only the registered one has; both are
	// non-nil (and may be empty: only the order changed). Nil for other fields.
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// Diff compares two definitions field by field (fields as dotted JSON paths;
// an ID or a list is one field).
func Diff(registered, proposed *Resource) []FieldDiff {
	a, b := flatten(registered.Definition()), flatten(proposed.Definition())
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var diffs []FieldDiff
	for k := range keys {
		va, vb := a[k], b[k]
		if va.list != nil || vb.list != nil {
			if !slices.Equal(va.list, vb.list) {
				d := FieldDiff{Field: k}
				listDiff(&d, va.list, vb.list)
				diffs = append(diffs, d)
			}
			continue
		}
		if va.text != vb.text {
			diffs = append(diffs, FieldDiff{Field: k, Registered: va.text, Proposed: vb.text})
		}
	}
	sort.Slice(diffs, func(i, j int) bool { return diffs[i].Field < diffs[j].Field })
	return diffs
}

// flatValue is one field of a flattened definition: text, or the elements of a list.
type flatValue struct {
	text string
	list []string // non-nil for a list, even an empty one
}

func flatten(def []byte) map[string]flatValue {
	var m any
	if err := json.Unmarshal(def, &m); err != nil {
		panic(fmt.Sprintf("definition JSON does not round-trip: %v", err))
	}
	marshal := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	out := map[string]flatValue{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		// The whole definition of an entity without a description has an
		// ID's shape too, but it is a resource: its fields are diffed.
		if id, ok := idString(v); ok && prefix != "" {
			out[prefix] = flatValue{text: id}
			return
		}
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				walk(join(prefix, k), x)
			}
		case []any:
			// A list is one field, so a reordered list is a change worth seeing.
			out[prefix] = flatValue{list: listStrings(t, marshal)}
		case string:
			out[prefix] = flatValue{text: t}
		default:
			out[prefix] = flatValue{text: marshal(t)}
		}
	}
	walk("", m)
	return out
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// String formats the duration in days when it is a whole number of days ("30d"), else like time.Duration.
func (d Duration) String() string {
	td := time.Duration(d)
	if td > 0 && td%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", td/(24*time.Hour))
	}
	return td.String()
}
