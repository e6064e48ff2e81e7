package definition

// Experiment definitions: the experiments: key of a definition file.

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// The keys of an experiment's arms and of its metric.
var (
	armKeys    = []string{"name", "model", "weight"}
	metricKeys = []string{"feedback", "kind", "window"}
)

// armsExample shows how arms are written, for errors.
const armsExample = "arms: [{name: control, model: MODEL@production}, {name: treatment, model: MODEL@7}]"

// experiment reads an experiment's fields with every default filled in, so
// that the stored definition is explicit. The endpoint is a reference to
// one kind only, so it is resolved here; Plan checks that it exists.
func (it *item) experiment(d *Definition) *resource.ExperimentSpec {
	x := &resource.ExperimentSpec{
		Metric:     resource.ExperimentMetric{Kind: resource.MetricConversion, Window: resource.DefaultExperimentWindow},
		MinSamples: resource.DefaultExperimentMinSamples,
	}
	if s := it.required("endpoint"); s != "" {
		ref, err := resource.ParseRef(s)
		if err != nil {
			it.fail("endpoint", "%v (an experiment names the endpoint whose traffic it splits: name or name:variant)", err)
		} else {
			x.Endpoint = resource.NewID(resource.KindEndpoint, ref)
		}
	}
	x.Arms = it.arms(d)
	it.metric(&x.Metric)
	x.MinSamples = it.minSamples(x.MinSamples)
	if s := it.str("auto_conclude"); s != "" {
		switch strings.TrimSpace(s) {
		case "true":
			x.AutoConclude, x.Review = true, resource.DefaultExperimentReview
		case "false":
		default:
			it.fail("auto_conclude", "%q is not true or false: auto_conclude: true has the experiment reviewed on its review schedule and concluded (or stopped) by itself", s)
		}
	}
	if _, ok := it.fields["review"]; ok {
		if !x.AutoConclude {
			it.fail("review", "is only read with auto_conclude: true; remove it, or add auto_conclude: true")
		} else if r := it.cron("review"); r != "" {
			x.Review = r
		}
	}
	return x
}

// arms reads an experiment's arms: at least two, the control first, with
// distinct names, and either every arm weighted or none (then 1 each).
// Where each arm's model is written is recorded as the field
// "arms[i].model" of d, for Plan's checks.
func (it *item) arms(d *Definition) []resource.ExperimentArm {
	n, ok := it.fields["arms"]
	if !ok {
		it.errs.add(Pos{it.file, it.line}, "arms", "missing; an experiment needs at least two arms, the control first: %s", armsExample)
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		it.fail("arms", "expected a list of arms, the control first: %s", armsExample)
		return nil
	}
	if len(n.Content) < 2 {
		it.fail("arms", "has %s; an experiment compares at least two arms, the control first: %s", [...]string{"no arm", "one arm"}[len(n.Content)], armsExample)
	}
	var (
		arms       []resource.ExperimentArm
		unweighted []*yaml.Node // arms without a weight
		names      = map[string]int{}
	)
	for i, a := range n.Content {
		if a.Kind != yaml.MappingNode {
			it.errs.add(Pos{it.file, a.Line}, "arms", "expected an arm, a mapping like {name: treatment, model: MODEL@7, weight: 50}")
			continue
		}
		f := it.nestedKeys("arms", a, armKeys)
		arm := resource.ExperimentArm{Weight: 1}
		if v, ok := f["name"]; !ok {
			it.errs.add(Pos{it.file, a.Line}, "arms.name", "missing; every arm needs a name, such as control or treatment")
		} else if s, ok := it.scalar("arms.name", v); ok {
			arm.Name = s
			if err := resource.ValidateName(s); err != nil {
				it.errs.add(Pos{it.file, v.Line}, "arms.name", "%v", err)
			} else if line, dup := names[s]; dup {
				it.errs.add(Pos{it.file, v.Line}, "arms.name", "arm %q is given twice (also at line %d); give each arm its own name", s, line)
			}
			names[s] = v.Line
		}
		if v, ok := f["model"]; !ok {
			it.errs.add(Pos{it.file, a.Line}, "arms.model", "missing; every arm needs a version of the endpoint's model, written MODEL@ALIAS (purchase_model@production) or MODEL@VERSION (purchase_model@7)")
		} else if s, ok := it.scalar("arms.model", v); ok {
			d.fields[fmt.Sprintf("arms[%d].model", i)] = Pos{it.file, v.Line}
			var err error
			if arm.Model, arm.Alias, arm.Version, err = parseArmModel(s); err != nil {
				it.errs.add(Pos{it.file, v.Line}, "arms.model", "%v", err)
			}
		}
		if v, ok := f["weight"]; !ok {
			unweighted = append(unweighted, a)
		} else if s, ok := it.scalar("arms.weight", v); ok {
			w, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			switch {
			case err != nil && !errors.Is(err, strconv.ErrRange):
				it.errs.add(Pos{it.file, v.Line}, "arms.weight", "%q is not a number: a weight is the arm's share of the traffic relative to the other arms' (weights 90 and 10 send 90%% of the entities to the first arm)", s)
			case err != nil || math.IsInf(w, 0) || math.IsNaN(w) || w <= 0:
				it.errs.add(Pos{it.file, v.Line}, "arms.weight", "%s is not a positive finite number: a weight is the arm's share of the traffic relative to the other arms' (weights 90 and 10 send 90%% of the entities to the first arm)", s)
			default:
				arm.Weight = w
			}
		}
		arms = append(arms, arm)
	}
	if len(unweighted) > 0 && len(unweighted) < len(n.Content) {
		for _, a := range unweighted {
			it.errs.add(Pos{it.file, a.Line}, "arms.weight", "missing, while other arms have one: give every arm a weight, or none for equal shares")
		}
	}
	return arms
}

// parseArmModel reads an arm's model: MODEL@ALIAS, MODEL@VERSION (a
// positive number) or MODEL (its DefaultModelAlias).
func parseArmModel(s string) (model, alias string, version int, err error) {
	model, at, found := strings.Cut(s, "@")
	if err := resource.ValidateName(model); err != nil {
		return "", "", 0, fmt.Errorf("%v (an arm names the endpoint's model by its name, without a variant, then @ and an alias or a version: purchase_model@production, purchase_model@7)", err)
	}
	switch {
	case !found:
		return model, resource.DefaultModelAlias, 0, nil
	case at == "":
		return "", "", 0, fmt.Errorf("%q names no alias or version after @: write %s@production (the version an alias points at) or %s@7 (version 7)", s, model, model)
	case strings.Trim(at, "0123456789") == "":
		n, err := strconv.Atoi(at)
		if err != nil || n < 1 {
			return "", "", 0, fmt.Errorf("%q: version %s does not exist: versions are numbered 1, 2, 3, … (see them with slipway models show %s)", s, at, model)
		}
		return model, "", n, nil
	}
	if err := resource.ValidateName(at); err != nil {
		return "", "", 0, fmt.Errorf("%q: %v (after @ comes an alias, named like a resource such as production or staging, or a version number such as 7)", s, err)
	}
	return model, at, 0, nil
}

// metric reads an experiment's metric: the feedback it counts (required),
// its kind and its window, the defaults already in m.
func (it *item) metric(m *resource.ExperimentMetric) {
	const example = "metric: {feedback: purchased, kind: conversion, window: 7d}"
	n, ok := it.fields["metric"]
	if !ok {
		it.errs.add(Pos{it.file, it.line}, "metric", "missing; an experiment needs it: %s", example)
		return
	}
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == "") {
		it.fail("metric", "is empty: write %s", example)
		return
	}
	f := it.mapping("metric", metricKeys, example)
	if f == nil {
		return
	}
	if v, ok := f["feedback"]; !ok {
		it.errs.add(Pos{it.file, n.Line}, "metric.feedback", "missing; name the feedback the arms are compared on, as posted to /v1/feedback: %s", example)
	} else if s, ok := it.scalar("metric.feedback", v); ok {
		m.Feedback = s
		if !resource.ValidFeedbackName(s) {
			it.errs.add(Pos{it.file, v.Line}, "metric.feedback", "invalid feedback name %q: feedback names are lower-case letters, digits and '_', starting with a letter, at most 63 characters, like purchased or clicked", s)
		}
	}
	if v, ok := f["kind"]; ok {
		if s, ok := it.scalar("metric.kind", v); ok {
			m.Kind = s
			if s != resource.MetricConversion && s != resource.MetricMean {
				it.errs.add(Pos{it.file, v.Line}, "metric.kind", "unknown %q: use conversion (the share of exposed entities with positive feedback, the default) or mean (the mean of their feedback values)", s)
			}
		}
	}
	if v, ok := f["window"]; ok {
		if s, ok := it.scalar("metric.window", v); ok {
			w, err := resource.ParseDuration(strings.TrimSpace(s))
			switch {
			case err != nil:
				it.errs.add(Pos{it.file, v.Line}, "metric.window", "%v (how long after an entity's first exposure its feedback counts)", err)
			case w == 0:
				it.errs.add(Pos{it.file, v.Line}, "metric.window", "must be positive: it is how long after an entity's first exposure its feedback counts, like 7d (the default) or 12h")
			default:
				m.Window = w
			}
		}
	}
}

// resolveExperiment checks an experiment against its endpoint: the endpoint
// exists, every arm is a version of the model it serves, every fixed
// version is registered, and no other experiment runs on it.
func (p *planner) resolveExperiment(d *Definition, r *resource.Resource) {
	x := r.Experiment
	if x.Endpoint == (resource.ID{}) {
		return // reported by the loader
	}
	ep := p.lookup(x.Endpoint)
	switch {
	case ep == nil:
		if err := p.deletedError(x.Endpoint); err != nil {
			p.errs.add(d.FieldPos("endpoint"), "endpoint", "%v", err)
		} else {
			p.errs.add(d.FieldPos("endpoint"), "endpoint", "unknown endpoint %s: define it under endpoints:, or fix the reference", x.Endpoint.Ref())
		}
	case ep.Endpoint != nil:
		for i, a := range x.Arms {
			if a.Model != "" && a.Model != ep.Endpoint.Model {
				p.errs.add(d.FieldPos(fmt.Sprintf("arms[%d].model", i)), "arms.model", "arm %q: model %s is not the model endpoint %s serves (%s): an experiment compares versions of the model the endpoint serves, so that concluding it can move the endpoint's alias; write %s@ALIAS or %s@VERSION",
					a.Name, a.Model, x.Endpoint.Ref(), ep.Endpoint.Model, ep.Endpoint.Model, ep.Endpoint.Model)
			}
		}
	}
	latest := map[string]int{}
	for i, a := range x.Arms {
		if a.Version == 0 {
			continue
		}
		n, seen := latest[a.Model]
		if !seen {
			vs, err := p.Registry.ListModelVersions(p.ctx, &registry.ListModelVersionsParams{Model: a.Model, Limit: 1})
			if err != nil {
				p.setFatal(fmt.Errorf("reading the versions of model %s from the registry: %w", a.Model, err))
				return
			}
			if len(vs) > 0 {
				n = vs[0].Version // the newest; versions are numbered 1, 2, 3, … and never removed
			}
			latest[a.Model] = n
		}
		if a.Version <= n {
			continue
		}
		has := "it has no versions yet"
		if n > 0 {
			has = fmt.Sprintf("its versions are 1 to %d", n)
		}
		p.errs.add(d.FieldPos(fmt.Sprintf("arms[%d].model", i)), "arms.model", "arm %q: model %s has no version %d (%s); an arm's fixed version must be registered before the experiment is applied: see the versions with slipway models show %s, or name an alias (%s@production)",
			a.Name, a.Model, a.Version, has, a.Model, a.Model)
	}
	p.checkOneExperiment(d, r)
}

// checkOneExperiment refuses a new experiment on an endpoint that another
// experiment splits already: one defined in these files (unless it is
// registered and ended), or registered and running (neither deprecated nor
// deleted). A registered experiment is not checked: it was accepted when it
// was applied, and re-applying it (running or ended) changes nothing.
func (p *planner) checkOneExperiment(d *Definition, r *resource.Resource) {
	if p.registeredResource(r.ID) != nil || p.deleted[r.ID] != nil {
		return
	}
	ep := r.Experiment.Endpoint
	var local []*Definition
	for id, o := range p.local {
		if id.Kind == resource.KindExperiment && id != r.ID && o.Resource.Experiment.Endpoint == ep {
			local = append(local, o)
		}
	}
	slices.SortFunc(local, func(a, b *Definition) int { return strings.Compare(a.Resource.ID.String(), b.Resource.ID.String()) })
	for _, o := range local {
		reg := p.registeredResource(o.Resource.ID)
		switch {
		case reg == nil:
			p.errs.add(d.FieldPos("endpoint"), "endpoint", "experiment %s (at %s) splits endpoint %s too, and at most one experiment runs per endpoint: apply one of them now, and the other once the first is concluded or stopped (slipway experiments conclude NAME --winner ARM, or slipway experiments stop NAME)",
				o.Resource.Ref(), o.Pos, ep.Ref())
		case reg.State.Deprecated == nil:
			p.errs.add(d.FieldPos("endpoint"), "endpoint", "%s", p.runningMsg(reg, ep))
		}
	}
	running, err := p.Registry.List(p.ctx, &registry.ListParams{Kind: resource.KindExperiment, NotDeprecated: true})
	if err != nil {
		p.setFatal(fmt.Errorf("reading the registry: %w", err))
		return
	}
	for _, o := range running {
		if _, isLocal := p.local[o.ID]; isLocal || o.ID == r.ID || o.Experiment == nil || o.Experiment.Endpoint != ep {
			continue
		}
		p.errs.add(d.FieldPos("endpoint"), "endpoint", "%s", p.runningMsg(o, ep))
	}
}

// runningMsg explains that a registered experiment o already runs on ep.
func (p *planner) runningMsg(o *resource.Resource, ep resource.ID) string {
	return fmt.Sprintf("experiment %s already runs on endpoint %s (applied %s), and at most one experiment runs per endpoint: conclude or stop it first (slipway experiments conclude %s --winner ARM, or slipway experiments stop %s)",
		o.Ref(), ep.Ref(), o.State.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), o.Ref(), o.Ref())
}
