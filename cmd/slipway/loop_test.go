package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/platform"
)

const loopDefs = `models:
  - name: purchase_loop
    training_set: purchase_propensity
    task: binary_classification
    trainer: {builtin: logistic_regression}
    retrain: {schedule: "0 3 * * *", feedback: purchased, new_feedback: 50}
  - name: purchase_broken
    training_set: purchase_propensity
    task: binary_classification
    trainer: {command: [sh, -c, "echo no GPU here >&2; exit 3"]}
`

// TestLoopStatusCommand: `slipway loop status` on the quickstart's project
// with a model that retrains on feedback and a schedule: before and after
// its first training, a model trained again by hand and not promoted, as
// JSON and through a server, and the refusals.
func TestLoopStatusCommand(t *testing.T) {
	dir := modelsProject(t)
	if err := os.WriteFile(filepath.Join(dir, "definitions", "loop.yaml"), []byte(loopDefs), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, dir, "apply", "definitions")

	r := mustRun(t, dir, "loop", "status", "purchase_loop")
	for _, want := range []string{
		"model purchase_loop: no version yet, at ",
		`definition purchase_loop:default: retrains after 50 new purchased events; retrains on schedule "0 3 * * *"; promotes to production when better` + "\n",
		"STEP        STATE       JOB  WHERE IT STANDS\n",
		"feedback    collecting  -    0 of 50 new purchased events since it was registered; it retrains at 50\n",
		`schedule    scheduled   -    retrains on schedule "0 3 * * *"; next firing at `,
		"training    none        -    no training yet (`slipway train purchase_loop` starts one)\n",
		"validation  none        -    no version validated yet\n",
		"serving     none        -    production points at no version yet; no endpoint serves it\n",
		"alias production -> no version\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status before training: no %q in\n%s", want, r.stdout)
		}
	}
	if !regexp.MustCompile(`next firing at \d{4}-\d\d-\d\d 03:00:00 UTC\n`).MatchString(r.stdout) {
		t.Errorf("the schedule's next firing is not at 03:00 UTC:\n%s", r.stdout)
	}

	mustRun(t, dir, "train", "purchase_loop", "--by", "ana")
	mustRun(t, dir, "train", "purchase_model", "--by", "bo")
	var loop platform.LoopStatus
	decodeStrictJSON(t, mustRun(t, dir, "loop", "status", "purchase_loop", "--json"), &loop)
	if len(loop.Trainings) != 1 || loop.Trainings[0].By != "ana" || loop.Trainings[0].Result == nil || loop.Trainings[0].Result.Version != 1 {
		t.Fatalf("loop status --json: trainings %+v", loop.Trainings)
	}
	job := loop.Trainings[0].Job
	r = mustRun(t, dir, "loop", "status", "purchase_loop")
	for _, want := range []string{
		"model purchase_loop: newest version 1, at ",
		"feedback    collecting  -    0 of 50 new purchased events since version 1; it retrains at 50\n",
		"training    succeeded   " + itoa(job) + "   job " + itoa(job) + " succeeded at ",
		", queued by ana: version 1\n",
		"validation  promoted    " + itoa(job) + "   version 1 promoted to production: production pointed at no version\n",
		"serving     serving     -    production -> version 1 (moved at ",
		"trainings (newest first):\n",
		"alias production -> version 1; last moves:\n  created -> 1 by ana at ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status after training: no %q in\n%s", want, r.stdout)
		}
	}
	// The job the training step names has the training's log.
	if logs := mustRun(t, dir, "jobs", "logs", itoa(job)); !strings.Contains(logs.stdout, "version 1 of purchase_loop is production") {
		t.Errorf("jobs logs %d:\n%s", job, logs.stdout)
	}

	r = mustRun(t, dir, "loop", "status", "purchase_model")
	for _, want := range []string{
		"definition purchase_model:default: trained by hand (no schedule or retrain policy); promotes to production when better\n",
		"feedback    off ",
		"no retrain policy on feedback",
		"validation  not_promoted ",
		"version 2: its auc ",
		"is not better than production's (version 1)",
		"served by endpoint purchase:default\n",
		", queued by bo: version 2\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status of purchase_model: no %q in\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "schedule    ") {
		t.Errorf("a model without a schedule shows one:\n%s", r.stdout)
	}

	// A training that failed: the step says so and names its job.
	if r := slipway(t, dir, "train", "purchase_broken"); r.code != 1 {
		t.Fatalf("train purchase_broken: exit %d\n%s", r.code, r.stderr)
	}
	var broken platform.LoopStatus
	decodeStrictJSON(t, mustRun(t, dir, "loop", "status", "purchase_broken", "--json"), &broken)
	if len(broken.Trainings) != 1 || broken.Trainings[0].Status != "failed" || broken.Trainings[0].Result != nil || broken.Trainings[0].Error == "" {
		t.Fatalf("trainings of purchase_broken: %+v", broken.Trainings)
	}
	bj := itoa(broken.Trainings[0].Job)
	r = mustRun(t, dir, "loop", "status", "purchase_broken")
	for _, want := range []string{
		`\ntraining +failed +` + bj + ` +job ` + bj + ` failed at [0-9: -]+ UTC, queued by [^:]+: `,
		`\nvalidation +none +- +no version validated yet\n`,
	} {
		if !regexp.MustCompile(want).MatchString(r.stdout) {
			t.Errorf("status of purchase_broken: no %s in\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, firstLine(broken.Trainings[0].Error)) {
		t.Errorf("status of purchase_broken does not show the training's error %q:\n%s", broken.Trainings[0].Error, r.stdout)
	}

	if r := slipway(t, dir, "loop", "status", "nope"); r.code != 1 || !strings.Contains(r.stderr, "model nope: not found: it is neither defined nor registered") {
		t.Errorf("status of an unknown model: exit %d, %s", r.code, r.stderr)
	}
	if r := slipway(t, dir, "loop", "status", "Bad Name"); r.code != 1 || !strings.Contains(r.stderr, "model") {
		t.Errorf("status of a bad name: exit %d, %s", r.code, r.stderr)
	}
	if r := mustRun(t, dir, "loop", "--help"); !strings.Contains(r.stdout, "slipway jobs logs ID") || !strings.Contains(r.stdout, "status") {
		t.Errorf("loop --help:\n%s", r.stdout)
	}

	// Through a server: the same status.
	base, _ := startServe(t, dir)
	var remote platform.LoopStatus
	decodeStrictJSON(t, mustRun(t, t.TempDir(), "--server", base, "loop", "status", "purchase_loop", "--json"), &remote)
	if !reflect.DeepEqual(remote.Steps, loop.Steps) || !reflect.DeepEqual(remote.Trainings, loop.Trainings) || !reflect.DeepEqual(remote.Aliases, loop.Aliases) {
		t.Errorf("through the server:\n%+v\nlocally:\n%+v", remote, loop)
	}
	if r := mustRun(t, t.TempDir(), "--server", base, "loop", "status", "purchase_loop"); !strings.Contains(r.stdout, "training    succeeded   "+itoa(job)) {
		t.Errorf("through the server:\n%s", r.stdout)
	}
}

// TestLoopStatusOfAnExperiment: a model registered from files, with an
// experiment running on its endpoint, shows what exists.
func TestLoopStatusOfAnExperiment(t *testing.T) {
	dir := experimentDataDir(t)
	r := mustRun(t, dir, "loop", "status", "m")
	for _, want := range []string{
		"model m: newest version 2, at ",
		"training    off      -    model m has no definition: its versions are registered from files",
		"experiment  running  -    purchase_test on endpoint purchase:default: exposures control ",
		"(min_samples 100 per arm); treatment wins",
		"; it ends by hand (`slipway experiments conclude|stop purchase_test`)\n",
		"serving     serving  -    production -> version 1 (moved at ",
		"experiments:\n  purchase_test on endpoint purchase:default: running\n    arms: control m@production (version 1) ",
		"treatment m@2 (version 2) ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status of m: no %q in\n%s", want, r.stdout)
		}
	}
	mustRun(t, dir, "experiments", "conclude", "purchase_test", "--winner", "treatment", "--by", "ana")
	r = mustRun(t, dir, "loop", "status", "m")
	for _, want := range []string{
		"experiment  none     -    none running; last: purchase_test concluded: winner treatment (model m version 2) at ",
		"production -> version 2 (moved at ",
		" by ana (experiment purchase_test:default)); served by endpoint purchase:default\n",
		"  purchase_test on endpoint purchase:default: concluded at ",
		"  1 -> 2 by ana (experiment purchase_test:default) at ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status of m after the conclusion: no %q in\n%s", want, r.stdout)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// firstLine is the first line of s.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
