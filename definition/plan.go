package definition

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// Action is what apply would do with one definition.
type Action string

// Actions.
const (
	Create    Action = "create"
	Unchanged Action = "unchanged"
	Conflict  Action = "conflict"
)

// Item is one definition in a plan.
type Item struct {
	Def    *Definition
	Action Action
	// Resource is the resolved definition; for new sources and transformations
	// its State.Schema holds the schema the offline engine described.
	Resource *resource.Resource
	// Diffs lists the changed fields of a conflict.
	Diffs []resource.FieldDiff
}

// Plan is what apply would do, in apply order (dependencies first).
type Plan struct {
	Items []*Item
	// Warnings do not stop an apply: definitions that refer to deprecated resources.
	Warnings Errors
}

// Conflicts returns the items that change a registered variant.
func (p *Plan) Conflicts() []*Item {
	var out []*Item
	for _, it := range p.Items {
		if it.Action == Conflict {
			out = append(out, it)
		}
	}
	return out
}

// ConflictError returns an error describing every conflict, or nil.
func (p *Plan) ConflictError() error {
	var errs Errors
	for _, it := range p.Conflicts() {
		ce := &registry.ConflictError{ID: it.Resource.ID, Diffs: it.Diffs}
		errs.add(it.Def.Pos, "", "%s", ce.Error())
	}
	return errs.err()
}

// Stores are what planning reads: the registry for what is registered, the
// offline store to describe sources and SQL.
type Stores struct {
	Registry registry.Store
	Offline  offline.Store
	// EmptyOffline says the offline store holds none of the registry's
	// views and tables (plan opened an empty one because the configured one
	// does not exist yet): registered sources and transformations are then
	// described from their definitions, never read from the offline store.
	EmptyOffline bool
}

// MakePlan resolves references, compares with the registry and checks
// schemas, SQL and types. It writes nothing. All problems are returned together
// as Errors; a conflict is not an error but an Item with Action Conflict.
func MakePlan(ctx context.Context, defs []*Definition, s Stores) (*Plan, error) {
	p := &planner{
		ctx: ctx, Stores: s,
		local:      map[resource.ID]*Definition{},
		registered: map[resource.ID]*resource.Resource{},
		schemas:    map[resource.ID][]resource.Column{},
		schemaErr:  map[resource.ID]bool{},
		visiting:   map[resource.ID]bool{},
		deleted:    map[resource.ID]*resource.Resource{},
	}
	for _, d := range defs {
		if prev, dup := p.local[d.Resource.ID]; dup {
			p.errs.add(d.Pos, "", "%s is defined twice (also at %s); give one of them another name or variant", d.Resource.ID, prev.Pos)
			continue
		}
		p.local[d.Resource.ID] = d
	}
	if err := p.checkNames(defs); err != nil {
		return nil, err
	}
	if err := p.resolveAll(defs); err != nil {
		return nil, err
	}
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	if len(defs) > 0 {
		p.dir = defs[0].root
	}
	plan, err := p.compare(defs)
	if err != nil {
		return nil, err
	}
	p.checkLifecycle(plan)
	p.checkSchemas(plan)
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	return plan, nil
}

type planner struct {
	ctx context.Context
	Stores
	local      map[resource.ID]*Definition
	registered map[resource.ID]*resource.Resource // nil value: looked up, not registered
	schemas    map[resource.ID][]resource.Column
	schemaErr  map[resource.ID]bool
	visiting   map[resource.ID]bool
	deleted    map[resource.ID]*resource.Resource // tombstones met while looking up
	errs       Errors
	fatal      error  // a store failure, not a definition problem
	dir        string // the absolute definitions directory
}

// lookup returns the definition of id from the files or the registry (nil when neither has it).
func (p *planner) lookup(id resource.ID) *resource.Resource {
	if d, ok := p.local[id]; ok {
		return d.Resource
	}
	return p.registeredResource(id)
}

func (p *planner) registeredResource(id resource.ID) *resource.Resource {
	if r, ok := p.registered[id]; ok {
		return r
	}
	r, err := p.Registry.Get(p.ctx, id)
	if err != nil {
		r = nil
		var de *registry.DeletedError
		if errors.As(err, &de) {
			p.deleted[id] = de.Resource
		}
		if !errors.Is(err, registry.ErrNotFound) && p.fatal == nil {
			p.fatal = fmt.Errorf("reading %s from the registry: %w", id, err)
		}
	}
	p.registered[id] = r
	return r
}

// resolveSource finds the source or transformation a reference names: a
// transformation's input, or what a feature or label reads.
func (p *planner) resolveSource(ref string) (resource.ID, error) {
	r, err := resource.ParseRef(ref)
	if err != nil {
		return resource.ID{}, err
	}
	src, tf := resource.NewID(resource.KindSource, r), resource.NewID(resource.KindTransformation, r)
	hasSrc, hasTf := p.lookup(src) != nil, p.lookup(tf) != nil
	switch {
	case hasSrc && hasTf:
		return resource.ID{}, p.bothError(r)
	case hasSrc:
		return src, nil
	case hasTf:
		return tf, nil
	}
	if err := p.deletedError(src, tf); err != nil {
		return resource.ID{}, err
	}
	return resource.ID{}, fmt.Errorf("unknown source or transformation %s: define it or fix the reference", r)
}

func (p *planner) resolve(kind resource.Kind, ref string) (resource.ID, error) {
	r, err := resource.ParseRef(ref)
	if err != nil {
		return resource.ID{}, err
	}
	id := resource.NewID(kind, r)
	if p.lookup(id) == nil {
		if err := p.deletedError(id); err != nil {
			return resource.ID{}, err
		}
		return resource.ID{}, fmt.Errorf("unknown %s %s: define it or fix the reference", kind, r)
	}
	return id, nil
}

func (p *planner) resolveAll(defs []*Definition) error {
	for _, d := range defs {
		r := d.Resource
		p.checkReserved(d)
		switch r.Kind {
		case resource.KindTransformation:
			seen := map[resource.ID]bool{}
			for _, ref := range d.sqlRefs {
				pos := Pos{d.sqlPos.File, d.sqlPos.Line + ref.line}
				id, err := p.resolveSource(ref.ref)
				if err != nil {
					p.errs.add(pos, "sql", "{{ %s }}: %v", ref.ref, err)
					continue
				}
				if !seen[id] {
					seen[id] = true
					r.Transformation.Inputs = append(r.Transformation.Inputs, id)
				}
			}
			if len(d.sqlRefs) == 0 {
				p.errs.add(d.sqlPos, "sql", "references no source or transformation; write them as {{ name }} so Slipway knows the lineage")
			}
		case resource.KindFeature, resource.KindLabel:
			id, err := p.resolveSource(d.source)
			if err != nil {
				p.errs.add(d.FieldPos("source"), "source", "%v", err)
			}
			entity := ""
			if r.Feature != nil {
				r.Feature.Source, entity = id, r.Feature.Entity
			} else {
				r.Label.Source, entity = id, r.Label.Entity
			}
			if ent := (resource.ID{Kind: resource.KindEntity, Name: entity, Variant: resource.DefaultVariant}); p.lookup(ent) == nil {
				if err := p.deletedError(ent); err != nil {
					p.errs.add(d.FieldPos("entity"), "entity", "%v", err)
				} else {
					p.errs.add(d.FieldPos("entity"), "entity", "unknown entity %q: define it under entities:", entity)
				}
			}
		case resource.KindTrainingSet:
			ts := r.TrainingSet
			label, err := p.resolve(resource.KindLabel, d.label)
			if err != nil {
				p.errs.add(d.FieldPos("label"), "label", "%v", err)
			}
			ts.Label = label
			seen := map[resource.ID]bool{}
			for _, f := range d.features {
				id, err := p.resolve(resource.KindFeature, f)
				if err != nil {
					p.errs.add(d.FieldPos("features"), "features", "%v", err)
					continue
				}
				if seen[id] {
					p.errs.add(d.FieldPos("features"), "features", "%s is listed twice", id.Ref())
					continue
				}
				seen[id] = true
				ts.Features = append(ts.Features, id)
			}
		case resource.KindModel:
			id, err := p.resolveTrainingSet(d.trainingSet)
			if err != nil {
				p.errs.add(d.FieldPos("training_set"), "training_set", "%v", err)
			}
			r.Model.TrainingSet = id
		case resource.KindEndpoint:
			p.checkModelName(d, r.Endpoint.Model)
			p.checkPredictionsSource(d, r)
		case resource.KindBatchPrediction:
			p.resolveBatchPrediction(d, r)
		case resource.KindExperiment:
			p.resolveExperiment(d, r)
		case resource.KindMonitor:
			p.resolveMonitor(d, r)
		}
	}
	for _, d := range defs {
		if d.Resource.BatchPrediction != nil {
			p.defaultEntityColumn(d)
		}
	}
	p.checkCycles(defs)
	return p.fatal
}

// checkCycles reports transformations that reach themselves through their inputs.
func (p *planner) checkCycles(defs []*Definition) {
	const (
		unseen = iota
		active
		done
	)
	state := map[resource.ID]int{}
	var visit func(id resource.ID, path []string) bool
	visit = func(id resource.ID, path []string) bool {
		d, ok := p.local[id]
		if !ok || id.Kind != resource.KindTransformation {
			return false
		}
		switch state[id] {
		case active:
			p.errs.add(d.sqlPos, "sql", "reference cycle: %s", strings.Join(append(path, id.Ref().String()), " → "))
			return true
		case done:
			return false
		}
		state[id] = active
		for _, in := range d.Resource.Transformation.Inputs {
			if visit(in, append(path, id.Ref().String())) {
				break
			}
		}
		state[id] = done
		return false
	}
	for _, d := range defs {
		visit(d.Resource.ID, nil)
	}
}

// compare decides each definition's action and orders items dependencies first.
func (p *planner) compare(defs []*Definition) (*Plan, error) {
	plan := &Plan{}
	for _, d := range order(defs, p.local) {
		it := &Item{Def: d, Action: Create, Resource: d.Resource}
		if reg := p.registeredResource(d.Resource.ID); reg != nil {
			if diffs := resource.Diff(reg, sameFile(reg, d)); len(diffs) > 0 {
				it.Action, it.Diffs = Conflict, diffs
			} else {
				it.Action, it.Resource = Unchanged, reg
			}
		}
		if it.Resource.Kind == resource.KindModel {
			// Where a command trainer runs: this apply's YAML file's
			// directory, recorded by the registry's Apply even for an
			// unchanged model (another checkout of the same definitions).
			it.Resource.State.Dir = d.fileDir
		}
		plan.Items = append(plan.Items, it)
	}
	return plan, p.fatal
}

// sameFile returns d's resource with the registered variant reg's source
// file when d's file, written otherwise, is the file reg names absolutely:
// reg's recorded path is absolute (as Slipway recorded every path before it
// recorded them as written), or the last apply found reg's file there
// (State.SourceFile). So a definition moved to a YAML file in another
// directory, or written absolute where it was relative, is the same
// definition on the machine that applied it. Otherwise it returns d's resource.
func sameFile(reg *resource.Resource, d *Definition) *resource.Resource {
	r := d.Resource
	if reg.Source == nil || r.Source == nil || r.Source.File == "" || reg.Source.File == r.Source.File {
		return r
	}
	path := d.SourceQueryParams().Path()
	regPath := ""
	switch {
	case filepath.IsAbs(reg.Source.File):
		regPath = reg.Source.File
	case reg.State.SourceFile != nil:
		regPath = reg.State.SourceFile.Path
	}
	if regPath != path {
		return r
	}
	c, s := *r, *r.Source
	s.File = reg.Source.File
	c.Source = &s
	return &c
}

// order sorts definitions by kind, transformations after their inputs, otherwise as read.
func order(defs []*Definition, local map[resource.ID]*Definition) []*Definition {
	rank := map[resource.Kind]int{}
	for i, k := range resource.Kinds {
		rank[k] = i
	}
	sorted := append([]*Definition{}, defs...)
	sort.SliceStable(sorted, func(i, j int) bool { return rank[sorted[i].Resource.Kind] < rank[sorted[j].Resource.Kind] })
	var out []*Definition
	placed := map[*Definition]bool{}
	var place func(d *Definition)
	place = func(d *Definition) {
		if placed[d] {
			return
		}
		placed[d] = true
		if t := d.Resource.Transformation; t != nil {
			for _, in := range t.Inputs {
				if dep, ok := local[in]; ok && dep.Resource.Kind == resource.KindTransformation {
					place(dep)
				}
			}
		}
		out = append(out, d)
	}
	for _, d := range sorted {
		place(d)
	}
	return out
}

// checkSchemas describes new sources and transformations in the offline engine
// and checks every feature's, label's and training set's columns and types.
func (p *planner) checkSchemas(plan *Plan) {
	for _, it := range plan.Items {
		r, d := it.Resource, it.Def
		switch r.Kind {
		case resource.KindSource, resource.KindTransformation:
			if r.Source != nil && r.Source.File != "" && !p.checkSource(d, r) {
				continue
			}
			cols, ok := p.schema(r.ID)
			if !ok {
				continue
			}
			if it.Action == Create {
				r.State.Schema = cols
			}
			if r.Source != nil && r.Source.TimestampColumn != "" && !p.checkFileTimestamp(d, r, cols) {
				p.checkColumn(d, "timestamp_column", r.ID, cols, r.Source.TimestampColumn, value.Timestamp)
			}
		case resource.KindFeature:
			f := r.Feature
			p.checkColumns(d, f.Source, f.EntityColumn, f.ValueColumn, f.TimestampColumn, f.Type)
		case resource.KindLabel:
			l := r.Label
			p.checkColumns(d, l.Source, l.EntityColumn, l.ValueColumn, l.TimestampColumn, l.Type)
		case resource.KindTrainingSet:
			label := p.lookup(r.TrainingSet.Label)
			if label != nil && label.Label.TimestampColumn == "" {
				p.errs.add(d.FieldPos("label"), "label", "label %s has no timestamp_column; a training set joins features as of each label's time, so its label needs one", label.Ref())
			}
			if label != nil {
				p.checkColumnNames(d, label, r.TrainingSet)
			}
			for _, fid := range r.TrainingSet.Features {
				f := p.lookup(fid)
				if label != nil && f != nil && f.Feature.Entity != label.Label.Entity {
					p.errs.add(d.FieldPos("features"), "features", "%s describes entity %q but label %s describes %q; a training set joins features of the label's entity",
						fid.Ref(), f.Feature.Entity, label.Ref(), label.Label.Entity)
				}
			}
		case resource.KindModel:
			p.checkModel(d, r)
		case resource.KindBatchPrediction:
			p.checkBatchPrediction(d, r)
		}
	}
}

// checkColumns checks the columns a feature or label reads from its source.
func (p *planner) checkColumns(d *Definition, source resource.ID, entityColumn, valueColumn, timestampColumn string, typ value.Type) {
	cols, ok := p.schema(source)
	if !ok {
		return
	}
	p.checkColumn(d, "entity_column", source, cols, entityColumn, value.Null)
	p.checkColumn(d, "value_column", source, cols, valueColumn, typ)
	if timestampColumn != "" {
		p.checkColumn(d, "timestamp_column", source, cols, timestampColumn, value.Timestamp)
	}
}

// checkFileTimestamp reports a file source's timestamp column that the
// engine read as text, with what to do about it; it returns whether it did.
func (p *planner) checkFileTimestamp(d *Definition, r *resource.Resource, cols []resource.Column) bool {
	name := r.Source.TimestampColumn
	for _, c := range cols {
		if r.Source.File == "" || c.Name != name || c.Type != value.String {
			continue
		}
		p.errs.add(d.FieldPos("timestamp_column"), "timestamp_column",
			"source %s: column %q of %s does not parse as timestamps (the offline engine read it as %s); write its values like 2026-01-31 14:05:00 or 2026-01-31T14:05:00Z, or remove timestamp_column here and parse the column in a transformation (DuckDB: strptime(%s, '%%d/%%m/%%Y %%H:%%M'))",
			r.Ref(), name, r.Source.File, c.EngineType, offline.QuoteIdent(name))
		// What reads the source would only repeat it.
		delete(p.schemas, r.ID)
		p.schemaErr[r.ID] = true
		return true
	}
	return false
}

// checkColumnNames reports training-set output columns that would share a name.
func (p *planner) checkColumnNames(d *Definition, label *resource.Resource, ts *resource.TrainingSetSpec) {
	seen := map[string]string{
		label.Label.Entity:                  "the entity column",
		resource.TrainingSetTimestampColumn: "the label time column",
	}
	for i, col := range ts.FeatureColumns() {
		if what, dup := seen[col]; dup {
			p.errs.add(d.FieldPos("features"), "features", "feature %s would be exported as column %q, which is also %s; rename the feature", ts.Features[i].Ref(), col, what)
			continue
		}
		seen[col] = "feature " + ts.Features[i].Ref().String()
	}
	if what, dup := seen[label.Name]; dup {
		p.errs.add(d.FieldPos("label"), "label", "label %s would be exported as column %q, which is also %s; rename one of them", label.Ref(), label.Name, what)
	}
}

// checkColumn checks that a column exists and fits the wanted type (value.Null: any type).
func (p *planner) checkColumn(d *Definition, field string, source resource.ID, cols []resource.Column, name string, want value.Type) {
	for _, c := range cols {
		if c.Name != name {
			continue
		}
		if want == value.Null {
			if c.Type == value.Null {
				p.errs.add(d.FieldPos(field), field, "column %q of %s has type %s, which Slipway cannot use as a key", name, source.Ref(), c.EngineType)
			}
			return
		}
		if !fits(c.Type, want) {
			p.errs.add(d.FieldPos(field), field, "column %q of %s has type %s (%s), which does not fit %s; cast it in a transformation or change the declared type",
				name, source.Ref(), c.EngineType, orNone(c.Type), want)
		}
		return
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	p.errs.add(d.FieldPos(field), field, "%s has no column %q; its columns are: %s", source.Ref(), name, strings.Join(names, ", "))
}

func orNone(t value.Type) string {
	if t == value.Null {
		return "unsupported"
	}
	return string(t)
}

// fits reports whether a column of type have can hold a declared type want.
func fits(have, want value.Type) bool {
	return have == want || (want == value.Float64 && have == value.Int64)
}

// schema returns the columns of a source or transformation: recorded in the
// registry, or described by the offline engine for new ones.
func (p *planner) schema(id resource.ID) ([]resource.Column, bool) {
	if cols, ok := p.schemas[id]; ok {
		return cols, true
	}
	if p.schemaErr[id] {
		return nil, false
	}
	if _, isLocal := p.local[id]; !isLocal {
		if r := p.registeredResource(id); r != nil && r.State.Schema != nil {
			p.schemas[id] = r.State.Schema
			return r.State.Schema, true
		}
	}
	q, with, err := p.query(id)
	var cols []resource.Column
	if err == nil {
		cols, err = p.Offline.Describe(p.ctx, &offline.DescribeParams{SQL: q, With: with})
	}
	if errors.Is(err, errFailedSource) {
		p.schemaErr[id] = true // reported with the source
		return nil, false
	}
	if err != nil {
		p.schemaErr[id] = true
		pos, field := Pos{}, ""
		if d, ok := p.local[id]; ok {
			switch {
			case id.Kind == resource.KindTransformation:
				pos, field = d.sqlPos, "sql"
				var qe *offline.QueryError
				if errors.As(err, &qe) && qe.Line > 0 && d.sqlExact {
					pos.Line += qe.Line - 1
				}
			case d.Resource.Source.Table != "":
				pos, field = d.FieldPos("table"), "table"
			default:
				pos, field = d.FieldPos("file"), "file"
			}
		}
		p.errs.add(pos, field, "%s: the offline engine rejected it: %v", id, err)
		return nil, false
	}
	p.schemas[id] = cols
	return cols, true
}

// errFailedSource stops describing what reads a source whose check failed.
var errFailedSource = errors.New("source failed its check")

// registeredSourceParams returns what the offline store needs to read a
// registered source that the definitions do not define: its file where the
// last apply found it, or else its recorded file relative to the definitions
// directory.
func (p *planner) registeredSourceParams(r *resource.Resource) *offline.SourceQueryParams {
	s := r.Source
	params := &offline.SourceQueryParams{File: s.File, Dir: p.dir, Format: s.Format, Table: s.Table, Columns: s.Columns}
	if sf := r.State.SourceFile; sf != nil && s.File != "" {
		params.File = sf.Path
	}
	return params
}

// checkSource has the offline store read a file source whole (its file
// exists and has rows, and every value converts to its column's type) and
// reports what is wrong at the file: field. It returns whether the source passed.
func (p *planner) checkSource(d *Definition, r *resource.Resource) bool {
	params := d.SourceQueryParams()
	err := p.Offline.CheckSource(p.ctx, params)
	if err == nil {
		return true
	}
	p.schemaErr[r.ID] = true
	var se *offline.SourceError
	if errors.As(err, &se) {
		// Name the file as the user wrote it, and where a relative one was looked for.
		se.File = d.srcFile
		if _, err := os.Stat(params.Path()); errors.Is(err, fs.ErrNotExist) && !filepath.IsAbs(d.srcFile) {
			se.Msg += fmt.Sprintf(" (looked for %s: a relative file is relative to the YAML file that names it)", params.Path())
		}
	}
	field := "file"
	if se != nil && se.Column != "" && r.Source.Columns[se.Column] != "" {
		field = "columns"
	}
	p.errs.add(d.FieldPos(field), field, "source %s: %v", r.Ref(), err)
	return false
}

// query returns the SQL of a source or transformation with the inputs that
// are not yet tables in the offline store as common table expressions.
func (p *planner) query(id resource.ID) (string, []offline.Input, error) {
	var with []offline.Input
	added := map[resource.ID]bool{}
	var add func(id resource.ID) (string, error)
	// add returns id's own SQL and appends its unbuilt inputs to with, dependencies first.
	add = func(id resource.ID) (string, error) {
		r := p.lookup(id)
		if r == nil {
			return "", fmt.Errorf("unknown %s", id)
		}
		if r.Source != nil {
			if p.schemaErr[id] {
				return "", errFailedSource
			}
			d, isLocal := p.local[id]
			if isLocal {
				return p.Offline.SourceQuery(d.SourceQueryParams())
			}
			if r.State.Status == resource.StatusReady && !p.EmptyOffline {
				// Its view knows where its file is; these definitions may not.
				return "SELECT * FROM " + offline.QuoteIdent(offline.TableName(id)), nil
			}
			return p.Offline.SourceQuery(p.registeredSourceParams(r))
		}
		if p.visiting[id] {
			return "", fmt.Errorf("reference cycle through %s", id.Ref())
		}
		p.visiting[id] = true
		defer delete(p.visiting, id)
		for _, in := range r.Transformation.Inputs {
			if added[in] || p.built(in) {
				continue
			}
			sql, err := add(in)
			if err != nil {
				return "", err
			}
			added[in] = true
			with = append(with, offline.Input{Name: offline.TableName(in), SQL: sql})
		}
		return TransformationSQL(r), nil
	}
	sql, err := add(id)
	return sql, with, err
}

// built reports whether a registered transformation already has its table
// (none has when the offline store is empty).
// Sources are always described from their own query, so planning works even
// when a source's view has to be recreated by the apply.
func (p *planner) built(id resource.ID) bool {
	if id.Kind == resource.KindSource || p.EmptyOffline {
		return false
	}
	if _, isLocal := p.local[id]; isLocal {
		if reg := p.registeredResource(id); reg == nil || resource.Diff(reg, p.local[id].Resource) != nil {
			return false
		}
	}
	r := p.registeredResource(id)
	return r != nil && r.State.Status == resource.StatusReady
}
