package definition

// Batch prediction definitions: the batch_predictions: key of a definition file.

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// batchPrediction reads a batch prediction's fields (but its entities,
// which Plan resolves, and a default entity column, which Plan fills in).
func (it *item) batchPrediction(d *Definition) *resource.BatchPredictionSpec {
	b := &resource.BatchPredictionSpec{EntityColumn: it.str("entity_column"), Schedule: it.schedule()}
	b.Model, b.Alias = it.modelAlias("a batch prediction")
	d.entities = it.required("entities")
	return b
}

// resolveBatchPrediction resolves a batch prediction's entities, checks its
// model exists and checks that the source and feature its runs register do
// not take names already in use.
func (p *planner) resolveBatchPrediction(d *Definition, r *resource.Resource) {
	b := r.BatchPrediction
	id, err := p.resolveSource(d.entities)
	if err != nil {
		p.errs.add(d.FieldPos("entities"), "entities", "%v", err)
	}
	b.Entities = id
	p.checkModelName(d, b.Model)
	own := resource.BatchPredictionSource(r.ID)
	if base, ok := strings.CutSuffix(r.Name, resource.PredictionsSuffix); ok {
		ep := resource.ID{Kind: resource.KindEndpoint, Name: base, Variant: r.Variant}
		if _, isLocal := p.local[ep]; isLocal || p.registeredResource(ep) != nil {
			p.errs.add(d.FieldPos("name"), "name", "endpoint %s logs its predictions as the source %s, which this batch prediction's source would take; give the batch prediction another name", ep.Ref(), own.Ref())
		}
	}
	if r.Name == resource.FeedbackSource {
		p.errs.add(d.FieldPos("name"), "name", "the name %s is kept for the source of feedback events (POST /v1/feedback); give the batch prediction another name", resource.FeedbackSource)
	}
	for _, kind := range []resource.Kind{resource.KindSource, resource.KindTransformation, resource.KindFeature} {
		other := resource.ID{Kind: kind, Name: r.Name, Variant: r.Variant}
		if _, isLocal := p.local[other]; isLocal {
			p.errs.add(d.FieldPos("name"), "name", "%s is also defined in these files; a batch prediction registers a source and a feature of its own name and variant, so rename one of them", other)
			continue
		}
		reg := p.registeredResource(other)
		derived := reg != nil && ((reg.Source != nil && reg.Source.Table == offline.TableName(r.ID)) ||
			(reg.Feature != nil && reg.Feature.Source == own))
		if reg != nil && !derived {
			p.errs.add(d.FieldPos("name"), "name", "%s is already registered; a batch prediction registers a source and a feature of its own name and variant, so give the batch prediction another name or variant", other)
		}
	}
}

// defaultEntityColumn fills in a batch prediction's entity column when its
// definition names none, once every model's training set is resolved.
func (p *planner) defaultEntityColumn(d *Definition) {
	b := d.Resource.BatchPrediction
	if b.EntityColumn != "" {
		return
	}
	b.EntityColumn = p.labelEntityColumn(b.Model)
	if b.EntityColumn == "" && p.fatal == nil {
		p.errs.add(d.Pos, "entity_column", "missing, and model %s has no definition whose label gives the entity column; write entity_column: (the column of %s holding the entity keys)", b.Model, d.entities)
	}
}

// checkBatchPrediction checks the entity column against the entities' schema.
func (p *planner) checkBatchPrediction(d *Definition, r *resource.Resource) {
	b := r.BatchPrediction
	if b.Entities == (resource.ID{}) || b.EntityColumn == "" {
		return
	}
	cols, ok := p.schema(b.Entities)
	if !ok {
		return
	}
	p.checkColumn(d, "entity_column", b.Entities, cols, b.EntityColumn, value.Null)
}

// labelEntityColumn returns the entity column of the label of the training
// set of a model's definition (these files first, the default variant
// first, then by variant; then the registry's), or "".
func (p *planner) labelEntityColumn(modelName string) string {
	var defs []*resource.Resource
	for id, d := range p.local {
		if id.Kind == resource.KindModel && id.Name == modelName {
			defs = append(defs, d.Resource)
		}
	}
	// The same answer every time: the default variant first, then by variant.
	slices.SortFunc(defs, func(a, b *resource.Resource) int {
		if ad, bd := a.Variant == resource.DefaultVariant, b.Variant == resource.DefaultVariant; ad != bd {
			if ad {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Variant, b.Variant)
	})
	reg, err := p.Registry.List(p.ctx, &registry.ListParams{Kind: resource.KindModel, Name: modelName})
	if err != nil {
		p.setFatal(fmt.Errorf("reading the registry: %w", err))
		return ""
	}
	for _, m := range append(defs, reg...) {
		ts := p.lookup(m.Model.TrainingSet)
		if ts == nil || ts.TrainingSet == nil {
			continue
		}
		if l := p.lookup(ts.TrainingSet.Label); l != nil && l.Label != nil {
			return l.Label.EntityColumn
		}
	}
	return ""
}
