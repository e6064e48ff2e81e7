package definition

// Endpoint definitions: the endpoints: key of a definition file.

import (
	"fmt"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// endpoint reads an endpoint's fields with the alias's default filled in,
// so that the stored definition is explicit.
func (it *item) endpoint() *resource.EndpointSpec {
	model, alias := it.modelAlias("an endpoint")
	return &resource.EndpointSpec{Model: model, Alias: alias}
}

// modelAlias reads the model (a name, without a variant) and the alias
// (DefaultModelAlias when not given) of an endpoint or batch prediction
// (what).
func (it *item) modelAlias(what string) (model, alias string) {
	model, alias = it.required("model"), resource.DefaultModelAlias
	if model != "" {
		if err := resource.ValidateName(model); err != nil {
			it.fail("model", "%v (%s names a model by its name, without a variant: the versions and aliases of a model belong to its name)", err, what)
		}
	}
	if _, ok := it.fields["alias"]; ok {
		if s := it.required("alias"); s != "" {
			alias = s
			if err := resource.ValidateName(s); err != nil {
				it.fail("alias", "%v (an alias is named like a resource, such as production or staging)", err)
			}
		}
	}
	return model, alias
}

// checkModelName checks that the model an endpoint or a batch prediction
// names exists: defined in these files or in the registry (any
// variant, deprecated included), or registered from a file (it has versions
// but no definition). Whether its alias points at a version is not checked:
// it may be defined before its model is trained, and works once the alias
// is set.
func (p *planner) checkModelName(d *Definition, name string) {
	if name == "" {
		return
	}
	for id := range p.local {
		if id.Kind == resource.KindModel && id.Name == name {
			return
		}
	}
	defs, err := p.Registry.List(p.ctx, &registry.ListParams{Kind: resource.KindModel, Name: name})
	if err != nil {
		p.setFatal(fmt.Errorf("reading the registry: %w", err))
		return
	}
	if len(defs) > 0 {
		return
	}
	versions, err := p.Registry.ListModelVersions(p.ctx, &registry.ListModelVersionsParams{Model: name, Limit: 1})
	if err != nil {
		p.setFatal(fmt.Errorf("reading the versions of model %s from the registry: %w", name, err))
		return
	}
	if len(versions) > 0 {
		return
	}
	p.errs.add(d.FieldPos("model"), "model", "unknown model %q: it is neither defined nor registered; define the model (under models:), or register a version with slipway models register %s --file FILE --training-set NAME",
		name, name)
}

// checkPredictionsSource checks that the source an endpoint's prediction
// log is registered as can be: its name fits, and no other resource has it.
func (p *planner) checkPredictionsSource(d *Definition, r *resource.Resource) {
	own := resource.EndpointPredictions(r.Ref())
	if err := resource.ValidateName(own.Name); err != nil {
		p.errs.add(d.FieldPos("name"), "name", "the endpoint's prediction log is registered as the source %s, which is too long a name: shorten the endpoint's name to at most %d characters",
			own.Name, 63-len(resource.PredictionsSuffix))
		return
	}
	for _, kind := range []resource.Kind{resource.KindSource, resource.KindTransformation} {
		other := resource.ID{Kind: kind, Name: own.Name, Variant: own.Variant}
		if _, isLocal := p.local[other]; isLocal {
			p.errs.add(d.FieldPos("name"), "name", "%s is also defined in these files; endpoint %s logs its predictions as the source %s, so rename one of them", other, r.Ref(), own.Ref())
			continue
		}
		reg := p.registeredResource(other)
		if reg != nil && (reg.Source == nil || reg.Source.Table != offline.PredictionLogTable(r.Ref())) {
			p.errs.add(d.FieldPos("name"), "name", "%s is already registered; endpoint %s logs its predictions as the source %s, so give the endpoint another name or variant", other, r.Ref(), own.Ref())
		}
	}
}

// setFatal records the first store failure of a plan.
func (p *planner) setFatal(err error) {
	if p.fatal == nil {
		p.fatal = err
	}
}
