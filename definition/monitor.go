package definition

// Monitor definitions: the monitors: key of a definition file.

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/slipway-ml/slipway/resource"
)

// The keys of a monitor's option blocks.
var (
	notifyKeys      = []string{"webhook"}
	driftKeys       = []string{"window", "min_rows", "share", "method", "thresholds"}
	thresholdKeys   = []string{"ks", "chisquare", "ztest", "wasserstein", "jensenshannon", "psi"}
	performanceKeys = []string{"feedback", "window", "min_samples", "max_drop"}
	freshnessKeys   = []string{"grace"}
	skewKeys        = []string{"sample", "max_share"}
)

// notifyExample shows how notify is written, for errors.
const notifyExample = `notify: [{webhook: "${ALERT_WEBHOOK_URL}"}]`

// monitor reads a monitor's fields with every default filled in, so that
// the stored definition is explicit. Plan checks the endpoint.
func (it *item) monitor(d *Definition) *resource.MonitorSpec {
	m := resource.DefaultMonitorSpec(resource.ID{})
	if s := it.required("endpoint"); s != "" {
		ref, err := resource.ParseRef(s)
		if err != nil {
			it.fail("endpoint", "%v (a monitor names the endpoint it watches: name or name:variant)", err)
		} else {
			m.Endpoint = resource.NewID(resource.KindEndpoint, ref)
		}
	}
	if _, ok := it.fields["checks"]; ok {
		m.Checks = it.checks()
	}
	if s := it.schedule(); s != "" {
		m.Schedule = s
	}
	m.Notify = it.notify()
	if f := it.mapping("drift", driftKeys, "drift: {window: 1d, min_rows: 100, share: 0.5, method: auto}"); f != nil {
		it.within("drift", it.fields["drift"], f, func(sub *item) { sub.drift(&m.Drift) })
	}
	if f := it.mapping("performance", performanceKeys, "performance: {feedback: purchased, window: 7d, min_samples: 100, max_drop: 0.05}"); f != nil {
		it.within("performance", it.fields["performance"], f, func(sub *item) {
			if _, ok := sub.fields["feedback"]; ok {
				m.Performance.Feedback = sub.str("feedback")
				if !resource.ValidFeedbackName(m.Performance.Feedback) {
					sub.fail("feedback", "invalid feedback name %q: feedback names are lower-case letters, digits and '_', starting with a letter, at most 63 characters, like purchased or clicked", m.Performance.Feedback)
				}
			}
			m.Performance.Window = sub.positiveDuration("window", m.Performance.Window, "how far back predictions are scored against their feedback")
			m.Performance.MinSamples = sub.count("min_samples", m.Performance.MinSamples, "predictions with feedback the check needs to decide")
			m.Performance.MaxDrop = sub.share("max_drop", m.Performance.MaxDrop, false, "how far the metric may fall below its validation value before the check fails, like 0.05")
		})
	}
	if m.Runs(resource.CheckPerformance) && m.Performance.Feedback == "" {
		it.fail("performance", "the performance check needs the feedback its predictions are scored against: write performance: {feedback: purchased}, or leave performance out of checks")
	}
	if f := it.mapping("freshness", freshnessKeys, "freshness: {grace: 10m}"); f != nil {
		it.within("freshness", it.fields["freshness"], f, func(sub *item) {
			m.Freshness.Grace = sub.duration("grace", m.Freshness.Grace, "how long past its schedule a materialization may be late")
		})
	}
	if f := it.mapping("skew", skewKeys, "skew: {sample: 1000, max_share: 0}"); f != nil {
		it.within("skew", it.fields["skew"], f, func(sub *item) {
			m.Skew.Sample = sub.count("sample", m.Skew.Sample, "logged predictions whose features are recomputed")
			m.Skew.MaxShare = sub.share("max_share", m.Skew.MaxShare, true, "the largest share of differing values a feature may have, 0 (the default) for none")
		})
	}
	return m
}

// checks reads a monitor's checks: known, each once, kept in
// resource.MonitorChecks' order so that reordering them changes nothing.
func (it *item) checks() []string {
	n := it.fields["checks"]
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		it.fail("checks", "expected a non-empty list of checks, like checks: [%s]", strings.Join(resource.MonitorChecks, ", "))
		return resource.MonitorChecks
	}
	seen := map[string]int{}
	for _, c := range n.Content {
		switch {
		case c.Kind != yaml.ScalarNode || c.Value == "":
			it.errs.add(Pos{it.file, c.Line}, "checks", "expected a check's name, one of %s", strings.Join(resource.MonitorChecks, ", "))
		case !slices.Contains(resource.MonitorChecks, c.Value):
			it.errs.add(Pos{it.file, c.Line}, "checks", "unknown check %q: use %s", c.Value, strings.Join(resource.MonitorChecks, ", "))
		case seen[c.Value] != 0:
			it.errs.add(Pos{it.file, c.Line}, "checks", "check %s is given twice (also at line %d); list each check once", c.Value, seen[c.Value])
		default:
			seen[c.Value] = c.Line
		}
	}
	var out []string
	for _, c := range resource.MonitorChecks {
		if seen[c] != 0 {
			out = append(out, c)
		}
	}
	return out
}

// notify reads a monitor's webhooks: each a ${ENV} reference or an http(s)
// URL; a referenced variable that is set here must hold an http(s) URL.
func (it *item) notify() []resource.MonitorNotify {
	n, ok := it.fields["notify"]
	if !ok || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		it.fail("notify", "expected a list of webhooks, like %s", notifyExample)
		return nil
	}
	var out []resource.MonitorNotify
	for _, w := range n.Content {
		if w.Kind != yaml.MappingNode {
			it.errs.add(Pos{it.file, w.Line}, "notify", "expected a webhook, a mapping like {webhook: \"${ALERT_WEBHOOK_URL}\"}")
			continue
		}
		f := it.nestedKeys("notify", w, notifyKeys)
		v, ok := f["webhook"]
		if !ok {
			it.errs.add(Pos{it.file, w.Line}, "notify.webhook", "missing; write %s", notifyExample)
			continue
		}
		s, ok := it.scalar("notify.webhook", v)
		if !ok {
			continue
		}
		s = strings.TrimSpace(s)
		if env := resource.WebhookEnv(s); env != "" {
			if val, set := os.LookupEnv(env); set && val != "" {
				if err := resource.CheckWebhookURL(val); err != nil {
					it.errs.add(Pos{it.file, v.Line}, "notify.webhook", "the environment variable %s is set to something %v; set it to the webhook's URL", env, err)
				}
			}
		} else if strings.Contains(s, "${") {
			it.errs.add(Pos{it.file, v.Line}, "notify.webhook", "write a reference to an environment variable alone, as \"${ALERT_WEBHOOK_URL}\" (a webhook URL holds a token: keep all of it in the variable)")
			continue
		} else if err := resource.CheckWebhookURL(s); err != nil {
			it.errs.add(Pos{it.file, v.Line}, "notify.webhook", "%q is %v; write the webhook's URL, or better a reference to an environment variable holding it, as \"${ALERT_WEBHOOK_URL}\" (a URL with a token is a secret, and definitions are stored in clear)", s, err)
			continue
		}
		out = append(out, resource.MonitorNotify{Webhook: s})
	}
	return out
}

// drift reads a monitor's drift block (the defaults already in d).
func (it *item) drift(d *resource.MonitorDrift) {
	d.Window = it.positiveDuration("window", d.Window, "the serving window compared with the training data")
	d.MinRows = it.count("min_rows", d.MinRows, "predictions the window needs for the check to decide")
	if _, ok := it.fields["share"]; ok {
		d.Share = it.share("share", d.Share, false, "the share of drifted features from which the dataset drifts, like 0.5")
	}
	if s := it.str("method"); s != "" {
		if s != resource.DriftAuto && s != resource.DriftPSI {
			it.fail("method", "unknown %q: use auto (each feature's test chosen by its type and the number of training rows, the default) or psi (the population stability index for every feature)", s)
		} else {
			d.Method = s
		}
	}
	f := it.mapping("thresholds", thresholdKeys, "thresholds: {ks: 0.05, wasserstein: 0.1}")
	if f == nil {
		return
	}
	it.within("thresholds", it.fields["thresholds"], f, func(sub *item) {
		t := &d.Thresholds
		const p = "a p-value: drift when the test's p-value is at or below it, like 0.05"
		t.KS = sub.share("ks", t.KS, false, p)
		t.ChiSquare = sub.share("chisquare", t.ChiSquare, false, p)
		t.ZTest = sub.share("ztest", t.ZTest, false, p)
		t.Wasserstein = sub.positive("wasserstein", t.Wasserstein, "a distance (normed Wasserstein): drift at or above it, like 0.1")
		t.JensenShannon = sub.share("jensenshannon", t.JensenShannon, false, "a Jensen-Shannon distance, between 0 and 1: drift at or above it, like 0.1")
		t.PSI = sub.positive("psi", t.PSI, "a population stability index: drift at or above it, like 0.1 (0.25 is often read as a large shift)")
	})
}

// number reads an optional numeric field (def when absent).
func (it *item) number(field string, def float64, what string) (float64, bool) {
	s := it.str(field)
	if s == "" {
		return def, false
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		it.fail(field, "%q is not a number: it is %s", s, what)
		return def, false
	}
	return v, true
}

// share reads an optional number in [0, 1] ((0, 1] unless zeroOK).
func (it *item) share(field string, def float64, zeroOK bool, what string) float64 {
	v, ok := it.number(field, def, what)
	if !ok {
		return def
	}
	if v < 0 || v > 1 || (v == 0 && !zeroOK) {
		lo := "above 0"
		if zeroOK {
			lo = "from 0"
		}
		it.fail(field, "%s is out of range: write a number %s up to 1, %s", it.str(field), lo, what)
		return def
	}
	return v
}

// positive reads an optional positive number.
func (it *item) positive(field string, def float64, what string) float64 {
	v, ok := it.number(field, def, what)
	if ok && v <= 0 {
		it.fail(field, "%s is out of range: write a positive number, %s", it.str(field), what)
		return def
	}
	return v
}

// count reads an optional positive whole number.
func (it *item) count(field string, def int64, what string) int64 {
	s := it.str(field)
	if s == "" {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 1 {
		it.fail(field, "%q is not a positive whole number: write the number of %s, like %s: %d (the default)", s, what, field, def)
		return def
	}
	return n
}

// duration reads an optional duration (zero allowed).
func (it *item) duration(field string, def resource.Duration, what string) resource.Duration {
	s := it.str(field)
	if s == "" {
		return def
	}
	d, err := resource.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		it.fail(field, "%v (%s; the default is %s)", err, what, def)
		return def
	}
	return d
}

// positiveDuration reads an optional positive duration.
func (it *item) positiveDuration(field string, def resource.Duration, what string) resource.Duration {
	s := it.str(field)
	d := it.duration(field, def, what)
	if s != "" && d == 0 {
		it.fail(field, "must be positive: it is %s, like %s (the default)", what, def)
		return def
	}
	return d
}

// resolveMonitor checks a monitor against its endpoint: it must exist.
func (p *planner) resolveMonitor(d *Definition, r *resource.Resource) {
	m := r.Monitor
	if m.Endpoint == (resource.ID{}) {
		return // reported by the loader
	}
	if p.lookup(m.Endpoint) != nil {
		return
	}
	if err := p.deletedError(m.Endpoint); err != nil {
		p.errs.add(d.FieldPos("endpoint"), "endpoint", "%v", err)
		return
	}
	p.errs.add(d.FieldPos("endpoint"), "endpoint", "%s", fmt.Sprintf("unknown endpoint %s: define it under endpoints:, or fix the reference", m.Endpoint.Ref()))
}
