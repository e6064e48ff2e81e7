package definition

import "github.com/slipway-ml/slipway/resource"

// checkReserved reports a source or transformation named like a source
// Slipway registers itself.
func (p *planner) checkReserved(d *Definition) {
	r := d.Resource
	if (r.Kind == resource.KindSource || r.Kind == resource.KindTransformation) && r.Name == resource.FeedbackSource {
		p.errs.add(d.FieldPos("name"), "name", "the name %s is kept for the source of feedback events (POST /v1/feedback), which SQL reads as {{ %s }}; rename this %s",
			resource.FeedbackSource, resource.FeedbackSource, r.Kind)
	}
}
