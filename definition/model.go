package definition

// Model definitions: the models: key of a definition file.

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// The keys of a model's trainer, validation and promote mappings.
var (
	trainerKeys    = []string{"builtin", "command"}
	validationKeys = []string{"holdout", "metric"}
	promoteKeys    = []string{"alias", "when", "experiment"}
	retrainKeys    = []string{"schedule", "feedback", "new_feedback"}
	challengerKeys = []string{"endpoint", "traffic", "metric", "min_samples"}
)

// model reads a model's fields (but its training set, which Plan resolves)
// with every default filled in, so that the stored definition is explicit.
func (it *item) model() *resource.ModelSpec {
	m := &resource.ModelSpec{
		Validation: resource.ModelValidation{HoldoutPercent: resource.DefaultHoldoutPercent},
		Promote:    resource.ModelPromote{Alias: resource.DefaultModelAlias, When: resource.PromoteBetter},
	}
	m.Task = it.required("task")
	taskOK := false
	if m.Task != "" {
		if err := model.CheckTask(m.Task); err != nil {
			it.fail("task", "%v", err)
		} else {
			taskOK = true
		}
	}
	m.Validation.Metric = model.DefaultMetric(m.Task)
	it.trainer(m, taskOK)
	if v := it.mapping("validation", validationKeys, "validation: {holdout: 20%, metric: auc}"); v != nil {
		if n, ok := v["holdout"]; ok {
			if s, ok := it.scalar("validation.holdout", n); ok {
				p, err := parseHoldout(s)
				if err != nil {
					it.errs.add(Pos{it.file, n.Line}, "validation.holdout", "%v", err)
				}
				m.Validation.HoldoutPercent = p
			}
		}
		if n, ok := v["metric"]; ok {
			if s, ok := it.scalar("validation.metric", n); ok {
				m.Validation.Metric = s
				if taskOK {
					if err := model.CheckMetric(m.Task, s); err != nil {
						it.errs.add(Pos{it.file, n.Line}, "validation.metric", "%v", err)
					}
				}
			}
		}
	}
	if p := it.mapping("promote", promoteKeys, "promote: {alias: production, when: better}"); p != nil {
		if n, ok := p["alias"]; ok {
			if s, ok := it.scalar("promote.alias", n); ok {
				m.Promote.Alias = s
				if err := resource.ValidateName(s); err != nil {
					it.errs.add(Pos{it.file, n.Line}, "promote.alias", "%v (an alias is named like a resource, such as production or staging)", err)
				}
			}
		}
		if n, ok := p["when"]; ok {
			if s, ok := it.scalar("promote.when", n); ok {
				m.Promote.When = s
				if !slices.Contains(resource.PromoteWhens, s) {
					it.errs.add(Pos{it.file, n.Line}, "promote.when", "unknown %q: use better (the alias moves to a new version whose validation metric beats its current version's), always (to every new version), never (promote by hand) or experiment (a better new version is tested against the alias's in an experiment first)", s)
				}
			}
		}
		n, ok := p["experiment"]
		switch {
		case ok && m.Promote.When != resource.PromoteExperiment:
			it.errs.add(Pos{it.file, n.Line}, "promote.experiment", "is only read with promote.when: experiment; remove it, or set when: experiment")
		case ok:
			m.Promote.Experiment = it.challenger(n)
		case m.Promote.When == resource.PromoteExperiment:
			it.fail("promote", "when: experiment needs the experiment to start: promote: {when: experiment, experiment: {endpoint: ENDPOINT, traffic: 50, metric: {feedback: purchased}}}")
		}
	}
	m.Schedule = it.schedule()
	it.retrain(m)
	return m
}

// retrain reads a model's optional retrain policy: a schedule (the same
// as the model's schedule field, which it may replace) and a count of new
// feedback events.
func (it *item) retrain(m *resource.ModelSpec) {
	const example = "retrain: {schedule: \"@daily\", feedback: purchased, new_feedback: 1000}"
	r := it.mapping("retrain", retrainKeys, example)
	if r == nil {
		return
	}
	it.within("retrain", it.fields["retrain"], r, func(sub *item) {
		if _, ok := sub.fields["schedule"]; ok {
			if m.Schedule != "" {
				sub.fail("schedule", "the model has a schedule field too: keep one of them")
			}
			m.Schedule = sub.schedule()
		}
		_, hasName := sub.fields["feedback"]
		_, hasCount := sub.fields["new_feedback"]
		if !hasName && !hasCount {
			if _, ok := sub.fields["schedule"]; !ok {
				sub.errs.add(Pos{sub.file, sub.line}, "", "is empty: say when to retrain, like %s", example)
			}
			return
		}
		rt := &resource.ModelRetrain{Feedback: sub.required("feedback")}
		if rt.Feedback != "" && !resource.ValidFeedbackName(rt.Feedback) {
			sub.fail("feedback", "invalid feedback name %q: feedback names are lower-case letters, digits and '_', starting with a letter, like purchased or clicked", rt.Feedback)
		}
		if s := sub.required("new_feedback"); s != "" {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil || n < 1 {
				sub.fail("new_feedback", "%q is not a positive whole number: write how many new %s events (received since the newest version was trained) start a training, like new_feedback: 1000", s, rt.Feedback)
			}
			rt.NewFeedback = n
		}
		m.Retrain = rt
	})
}

// challenger reads promote.experiment: the experiment a better new version
// is tested in, with every default filled in.
func (it *item) challenger(n *yaml.Node) *resource.PromoteExperimentSpec {
	const example = "experiment: {endpoint: purchase, traffic: 50, metric: {feedback: purchased, kind: conversion, window: 7d}, min_samples: 1000}"
	pe := &resource.PromoteExperimentSpec{Traffic: resource.DefaultChallengerTraffic,
		Metric:     resource.ExperimentMetric{Kind: resource.MetricConversion, Window: resource.DefaultExperimentWindow},
		MinSamples: resource.DefaultExperimentMinSamples}
	if n.Kind != yaml.MappingNode {
		it.errs.add(Pos{it.file, n.Line}, "promote.experiment", "expected a mapping, like %s", example)
		return pe
	}
	it.within("promote.experiment", n, it.nestedKeys("promote.experiment", n, challengerKeys), func(sub *item) {
		if s := sub.required("endpoint"); s != "" {
			ref, err := resource.ParseRef(s)
			if err != nil {
				sub.fail("endpoint", "%v (the endpoint that serves the model's alias, whose traffic the experiment splits)", err)
			} else {
				pe.Endpoint = resource.NewID(resource.KindEndpoint, ref)
			}
		}
		if s := sub.str("traffic"); s != "" {
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
			if err != nil || !(v > 0 && v < 100) {
				sub.fail("traffic", "%q is not a share above 0%% and below 100%%: write the challenger's share of the endpoint's entities, like traffic: 20%%", s)
			} else {
				pe.Traffic = v
			}
		}
		sub.metric(&pe.Metric)
		pe.MinSamples = sub.minSamples(pe.MinSamples)
	})
	return pe
}

// nestedKeys reads the keys of a mapping nested in field, reporting unknown
// and repeated keys at their line as "field.key".
func (it *item) nestedKeys(field string, n *yaml.Node, allowed []string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !slices.Contains(allowed, k.Value):
			it.errs.add(Pos{it.file, k.Line}, field+"."+k.Value, "unknown field of %s; allowed: %s", field, strings.Join(allowed, ", "))
		case out[k.Value] != nil:
			it.errs.add(Pos{it.file, k.Line}, field+"."+k.Value, "field given twice")
		default:
			out[k.Value] = v
		}
	}
	return out
}

// within runs read on the fields of a mapping nested in field (node n,
// keys fields) as if they were an item's own, so the readers of top-level
// fields serve nested ones; its problems are reported as "field.key".
func (it *item) within(field string, n *yaml.Node, fields map[string]*yaml.Node, read func(sub *item)) {
	sub := &item{file: it.file, line: n.Line, kind: it.kind, fields: fields, errs: &Errors{}}
	read(sub)
	for _, e := range *sub.errs {
		if e.Field == "" {
			e.Field = field
		} else {
			e.Field = field + "." + e.Field
		}
		*it.errs = append(*it.errs, e)
	}
}

// trainer reads a model's trainer: exactly one of builtin: and command:.
func (it *item) trainer(m *resource.ModelSpec, taskOK bool) {
	n, ok := it.fields["trainer"]
	if !ok {
		it.errs.add(Pos{it.file, it.line}, "trainer", "missing; a model needs it: trainer: {builtin: %s} (or %s), or trainer: {command: [python3, train.py]}", model.BuiltinLogistic, model.BuiltinLinear)
		return
	}
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == "") {
		it.fail("trainer", "is empty: write trainer: {builtin: %s} (or %s), or trainer: {command: [python3, train.py]}", model.BuiltinLogistic, model.BuiltinLinear)
		return
	}
	if n.Kind == yaml.ScalarNode {
		it.fail("trainer", "expected a mapping: write trainer: {builtin: %s} for a built-in trainer, or trainer: {command: [...]} for a command", n.Value)
		return
	}
	t := it.mapping("trainer", trainerKeys, "trainer: {builtin: logistic_regression} or trainer: {command: [python3, train.py]}")
	if t == nil {
		return
	}
	b, hasBuiltin := t["builtin"]
	c, hasCommand := t["command"]
	switch {
	case hasBuiltin && hasCommand:
		it.fail("trainer", "give either builtin or command, not both")
		return
	case !hasBuiltin && !hasCommand:
		it.fail("trainer", "needs builtin: (%s or %s) or command: (a list such as [python3, train.py])", model.BuiltinLogistic, model.BuiltinLinear)
		return
	case hasBuiltin:
		s, ok := it.scalar("trainer.builtin", b)
		if !ok {
			return
		}
		m.Trainer.Builtin = s
		if taskOK {
			if err := model.CheckBuiltin(s, m.Task); err != nil {
				it.errs.add(Pos{it.file, b.Line}, "trainer.builtin", "%v", err)
			}
		}
		return
	}
	if c.Kind == yaml.ScalarNode && c.Tag != "!!null" && c.Value != "" {
		it.errs.add(Pos{it.file, c.Line}, "trainer.command", "expected a list of arguments, like command: %s: the command is run directly, not by a shell, so each argument is one element", flowList(strings.Fields(c.Value)))
		return
	}
	if c.Kind != yaml.SequenceNode || len(c.Content) == 0 {
		it.errs.add(Pos{it.file, c.Line}, "trainer.command", "expected the program and its arguments as a non-empty list, like command: [python3, train.py]")
		return
	}
	for _, a := range c.Content {
		if a.Kind != yaml.ScalarNode || a.Tag == "!!null" || a.Value == "" {
			it.errs.add(Pos{it.file, a.Line}, "trainer.command", "expected each argument to be a non-empty single value, like command: [python3, train.py, --max-depth, \"6\"]")
			return
		}
		m.Trainer.Command = append(m.Trainer.Command, a.Value)
	}
}

// flowList writes args as a YAML flow list, quoting what YAML would not
// read back as the same plain string.
func flowList(args []string) string {
	if len(args) == 0 {
		return "[python3, train.py]"
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if strings.ContainsAny(a, ",[]{}#&*!|>'\"%@`:") {
			out[i] = strconv.Quote(a)
		}
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// mapping reads an optional mapping field whose keys are among allowed,
// reporting unknown and repeated keys at their line as "field.key"; it
// returns nil when the field is absent or not a mapping (reported).
func (it *item) mapping(field string, allowed []string, example string) map[string]*yaml.Node {
	n, ok := it.fields[field]
	if !ok || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		it.fail(field, "expected a mapping, like %s", example)
		return nil
	}
	return it.nestedKeys(field, n, allowed)
}

// scalar returns the value of a field inside a mapping, reporting anything
// but a non-empty single value.
func (it *item) scalar(field string, n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Value == "" {
		it.errs.add(Pos{it.file, n.Line}, field, "must be a non-empty single value")
		return "", false
	}
	return n.Value, true
}

// parseHoldout reads a holdout share: a percentage, written "20%" or 20.
func parseHoldout(s string) (float64, error) {
	num, pct := strings.CutSuffix(strings.TrimSpace(s), "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	switch {
	case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("%q is not a percentage: write the share of label rows to hold out, like holdout: 20%%", s)
	case v <= 0 || v >= 100:
		return 0, fmt.Errorf("%s%% is out of range: the holdout is a share of the label rows (the newest by time) above 0%% and below 100%%, like holdout: 20%%", strconv.FormatFloat(v, 'g', -1, 64))
	case v < 1 && !pct:
		// 0.2 is more likely a fraction meant as 20% than 0.2% of the rows.
		return 0, fmt.Errorf("%s is a percentage, so it would hold out %s%% of the label rows: write 20%% for a fifth of them, or %s%% if you mean it", s, s, s)
	}
	return v, nil
}

// labelTypes are the label types each task trains on; the values are
// checked when training reads them (a binary label is 0 or 1, a multiclass
// one 0, 1, …, K-1).
var labelTypes = map[string][]value.Type{
	model.TaskBinaryClassification: {value.Bool, value.Int64},
	model.TaskRegression:           {value.Int64, value.Float64},
	model.TaskMulticlass:           {value.Int64},
}

// labelTypeHint says which labels a task needs, for errors.
var labelTypeHint = map[string]string{
	model.TaskBinaryClassification: "a bool label, or an int64 one holding 0 and 1",
	model.TaskRegression:           "an int64 or float64 label",
	model.TaskMulticlass:           "an int64 label holding the classes 0, 1, …, K-1",
}

// checkModel checks that a model's training set's label fits its task.
func (p *planner) checkModel(d *Definition, r *resource.Resource) {
	p.checkChallenger(d, r)
	ts := p.lookup(r.Model.TrainingSet)
	if ts == nil || ts.TrainingSet == nil {
		return
	}
	label := p.lookup(ts.TrainingSet.Label)
	if label == nil || label.Label == nil || label.Label.Type == "" {
		return // left to training
	}
	want, ok := labelTypes[r.Model.Task]
	if !ok || slices.Contains(want, label.Label.Type) {
		return
	}
	p.errs.add(d.FieldPos("training_set"), "training_set", "training set %s has label %s of type %s, but a %s model needs %s: choose the task that fits the label, or a training set whose label fits the task",
		ts.Ref(), label.Ref(), label.Label.Type, r.Model.Task, labelTypeHint[r.Model.Task])
}

// resolveTrainingSet finds the training set a model names; a name that is
// some other kind is explained.
func (p *planner) resolveTrainingSet(ref string) (resource.ID, error) {
	r, err := resource.ParseRef(ref)
	if err != nil {
		return resource.ID{}, err
	}
	if id := resource.NewID(resource.KindTrainingSet, r); p.lookup(id) == nil && p.deleted[id] == nil {
		for _, k := range resource.Kinds {
			if k != resource.KindTrainingSet && p.lookup(resource.NewID(k, r)) != nil {
				return resource.ID{}, fmt.Errorf("%s is a %s, not a training set: a model trains on a training set (defined under training_sets:), and predicts its label", r, k)
			}
		}
	}
	return p.resolve(resource.KindTrainingSet, ref)
}

// checkChallenger checks a model's promote.experiment: its endpoint exists
// and serves the alias the model promotes, and the experiments it starts
// (MODEL_vN) can be named.
func (p *planner) checkChallenger(d *Definition, r *resource.Resource) {
	pe := r.Model.Promote.Experiment
	if pe == nil {
		return
	}
	if name := resource.ChallengerExperiment(r.Name, 99999); resource.ValidateName(name) != nil {
		p.errs.add(d.FieldPos("name"), "name", "a training starts experiments named like %s, which is too long: shorten the model's name to at most %d characters to promote through experiments",
			name, 63-len("_v99999"))
	}
	if pe.Endpoint == (resource.ID{}) {
		return
	}
	ep := p.lookup(pe.Endpoint)
	switch {
	case ep == nil || ep.Endpoint == nil:
		p.errs.add(d.FieldPos("promote"), "promote.experiment.endpoint", "unknown endpoint %s: define it (under endpoints:) serving model %s at alias %s", pe.Endpoint.Ref(), r.Name, r.Model.Promote.Alias)
	case ep.Endpoint.Model != r.Name || ep.Endpoint.Alias != r.Model.Promote.Alias:
		p.errs.add(d.FieldPos("promote"), "promote.experiment.endpoint", "endpoint %s serves %s@%s, but the experiment tests new versions of %s against alias %s: name an endpoint that serves %s@%s",
			pe.Endpoint.Ref(), ep.Endpoint.Model, ep.Endpoint.Alias, r.Name, r.Model.Promote.Alias, r.Name, r.Model.Promote.Alias)
	}
}

// minSamples reads the optional min_samples field of an experiment (def
// when absent): the exposures every arm needs before a winner may be called.
func (it *item) minSamples(def int64) int64 {
	s := it.str("min_samples")
	if s == "" {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 1 {
		it.fail("min_samples", "%q is not a positive whole number: write the number of exposed entities every arm needs before a winner may be called, like min_samples: 1000 (the default)", s)
		return def
	}
	return n
}
