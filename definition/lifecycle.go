package definition

// Plan checks that come from the registry's lifecycle: names that would
// make references ambiguous, deleted variants, and references to
// deprecated resources.

import (
	"fmt"
	"sort"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// sharedNamespace maps each kind whose references are resolved by name
// alone to the other kinds sharing its names: {{ x }} and `source: x` name
// a source or a transformation, so one name may not be both.
var sharedNamespace = map[resource.Kind]resource.Kind{
	resource.KindSource:         resource.KindTransformation,
	resource.KindTransformation: resource.KindSource,
}

// checkNames reports new sources and transformations whose name is taken
// by the other kind, in the files or in the registry (any variant).
func (p *planner) checkNames(defs []*Definition) error {
	for _, d := range defs {
		r := d.Resource
		other, ok := sharedNamespace[r.Kind]
		if !ok || p.registeredResource(r.ID) != nil || p.deleted[r.ID] != nil {
			continue // only new resources are checked: a registered one was accepted before
		}
		for _, o := range defs {
			if o.Resource.Kind == other && o.Resource.Name == r.Name {
				p.errs.add(d.FieldPos("name"), "name", "%s: the name %q is also used by %s (at %s); a reference such as {{ %s }} could mean either, so rename one of them",
					r.ID, r.Name, o.Resource.ID, o.Pos, r.Name)
				break
			}
		}
		taken, err := p.Registry.List(p.ctx, &registry.ListParams{Kind: other, Name: r.Name})
		if err != nil {
			return fmt.Errorf("reading the registry: %w", err)
		}
		if len(taken) > 0 {
			t := taken[0]
			p.errs.add(d.FieldPos("name"), "name", "%s: the name %q is already registered as %s (created %s); references such as {{ %s }} name sources and transformations alike, so rename this %s",
				r.ID, r.Name, t.ID, t.State.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), r.Name, r.Kind)
		}
	}
	return p.fatal
}

// bothError explains a reference that names a source and a transformation.
func (p *planner) bothError(r resource.Ref) error {
	src, tf := resource.NewID(resource.KindSource, r), resource.NewID(resource.KindTransformation, r)
	if p.registeredResource(src) != nil && p.registeredResource(tf) != nil {
		return fmt.Errorf("%s is registered both as a source and as a transformation; delete the one you do not use (slipway delete transformation %s, or slipway delete source %s)", r, r, r)
	}
	return fmt.Errorf("%s is both a source and a transformation; rename one of them", r)
}

// deletedError explains a reference to a deleted resource (nil when none
// of ids is a tombstone).
func (p *planner) deletedError(ids ...resource.ID) error {
	for _, id := range ids {
		if t := p.deleted[id]; t != nil {
			return fmt.Errorf("%s was deleted %s; refer to another variant", id, registry.DescribeMark(t.State.Deleted))
		}
	}
	return nil
}

// checkLifecycle refuses definitions of deleted variants and warns about
// references to deprecated resources.
func (p *planner) checkLifecycle(plan *Plan) {
	for _, it := range plan.Items {
		d, r := it.Def, it.Resource
		if t := p.deleted[r.ID]; t != nil && it.Action == Create {
			p.errs.add(d.Pos, "", "%s was deleted %s, and a deleted variant is never registered again: give this definition a new variant (variant: v2) or remove it from the definitions",
				r.ID, registry.DescribeMark(t.State.Deleted))
		}
		for _, dep := range r.Dependencies() {
			reg := p.registeredResource(dep)
			if reg == nil || reg.State.Deprecated == nil {
				continue
			}
			field, pos := depField(d, r.Kind, dep.Kind)
			msg := fmt.Sprintf("%s refers to %s, deprecated %s", r.ID, dep, registry.DescribeMark(reg.State.Deprecated))
			plan.Warnings = append(plan.Warnings, &Error{Pos: pos, Field: field, Msg: msg})
		}
	}
	sort.SliceStable(plan.Warnings, func(i, j int) bool {
		a, b := plan.Warnings[i].Pos, plan.Warnings[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
}

// depField is the field (and its place) through which a resource of kind
// refers to a dependency of kind dep.
func depField(d *Definition, kind, dep resource.Kind) (string, Pos) {
	switch {
	case kind == resource.KindTransformation:
		return "sql", d.sqlPos
	case dep == resource.KindEntity:
		return "entity", d.FieldPos("entity")
	case dep == resource.KindLabel:
		return "label", d.FieldPos("label")
	case dep == resource.KindFeature:
		return "features", d.FieldPos("features")
	case dep == resource.KindTrainingSet:
		return "training_set", d.FieldPos("training_set")
	case dep == resource.KindEndpoint:
		return "endpoint", d.FieldPos("endpoint")
	}
	return "source", d.FieldPos("source")
}
