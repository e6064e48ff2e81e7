package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const experimentDefs = `experiments:
  - name: purchase_v2_test
    owner: growth
    endpoint: purchase
    arms:
      - {name: control, model: purchase_model@production, weight: 90}
      - {name: treatment, model: purchase_model@1, weight: 10}
    metric: {feedback: purchased}
`

// TestExperimentListAndShow: an experiment applied on the quickstart's
// endpoint is listed and shown with its endpoint, arms, metric (defaults
// filled in) and state; a second one on the endpoint is refused while it
// runs; once it ended (deprecated, as conclude and stop do) it is listed
// with --all only, shown ended with the reason, and re-applies unchanged
// next to a new experiment on the endpoint.
func TestExperimentListAndShow(t *testing.T) {
	dir := quickstart(t)
	defs := filepath.Join(dir, "definitions")
	must(t, os.WriteFile(filepath.Join(defs, "experiments.yaml"), []byte(experimentDefs), 0o644))
	mustRun(t, dir, "apply", "definitions")

	row := regexp.MustCompile(`(?m)^purchase_v2_test:default\s+purchase:default\s+running\s+control purchase_model@production 90, treatment purchase_model@1 10\s+conversion purchased 7d\s+1000\s+growth$`)
	if r := mustRun(t, dir, "list", "experiments"); !strings.HasPrefix(r.stdout, "NAME:VARIANT") || !row.MatchString(r.stdout) {
		t.Errorf("list experiments:\n%s", r.stdout)
	}
	r := mustRun(t, dir, "show", "experiment", "purchase_v2_test")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^  status: +ready$`),
		regexp.MustCompile(`(?m)^  endpoint: +purchase:default$`),
		regexp.MustCompile(`(?m)^  state: +running$`),
		regexp.MustCompile(`(?m)^    control +purchase_model@production +weight 90 \(90%\)  \(control\)$`),
		regexp.MustCompile(`(?m)^    treatment +purchase_model@1 +weight 10 \(10%\)$`),
		regexp.MustCompile(`(?m)^  metric: +conversion of feedback purchased within 7d of an entity's first exposure$`),
		regexp.MustCompile(`(?m)^  min samples: 1000 exposed entities per arm before a winner may be called$`),
		regexp.MustCompile(`(?m)^  depends on:\n    endpoint purchase:default$`),
	} {
		if !want.MatchString(r.stdout) {
			t.Errorf("show experiment lacks %s:\n%s", want, r.stdout)
		}
	}

	second := strings.ReplaceAll(experimentDefs, "purchase_v2_test", "purchase_v3_test")
	must(t, os.WriteFile(filepath.Join(defs, "experiments_v3.yaml"), []byte(second), 0o644))
	if r := slipway(t, dir, "apply", "definitions"); r.code == 0 || !strings.Contains(r.stderr, "experiments_v3.yaml:4: endpoint: experiment purchase_v2_test:default already runs on endpoint purchase:default") {
		t.Fatalf("a second experiment on the endpoint: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	mustRun(t, dir, "deprecate", "experiment", "purchase_v2_test", "--by", "ana", "--reason", "stopped: no difference")
	if r := mustRun(t, dir, "list", "experiments"); strings.Contains(r.stdout, "purchase_v2_test") {
		t.Errorf("list experiments shows the ended experiment:\n%s", r.stdout)
	}
	if r := mustRun(t, dir, "list", "experiments", "--all"); !regexp.MustCompile(`purchase_v2_test:default\s+purchase:default\s+ended at \S+ \S+ UTC by ana \(stopped: no difference\)`).MatchString(r.stdout) {
		t.Errorf("list experiments --all:\n%s", r.stdout)
	}
	if r := mustRun(t, dir, "show", "experiment", "purchase_v2_test"); !regexp.MustCompile(`(?m)^  state: +ended at \S+ \S+ UTC by ana \(stopped: no difference\)$`).MatchString(r.stdout) {
		t.Errorf("show an ended experiment:\n%s", r.stdout)
	}
	// The ended experiment stays in the files, unchanged, next to the new one.
	mustRun(t, dir, "apply", "definitions")
	if r := mustRun(t, dir, "list", "experiments"); !strings.Contains(r.stdout, "purchase_v3_test:default") || strings.Contains(r.stdout, "purchase_v2_test") {
		t.Errorf("list experiments after the second started:\n%s", r.stdout)
	}
}
