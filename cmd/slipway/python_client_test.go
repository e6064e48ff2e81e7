package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/testenv"
)

// pyEndpoints and pyModels are the definitions the Python client's tests
// use (clients/python/tests/test_client.py names them): two endpoints to
// predict with, an A/A experiment on a third, and a model whose trainer
// fails. They are applied from their own directory next to the
// quickstart's definitions.
const pyEndpoints = `endpoints:
  - name: py_purchase
    model: purchase_model
  - name: py_purchase_staging
    model: purchase_model
    alias: staging
  - name: py_experiment
    model: purchase_model
experiments:
  - name: py_aa_test
    endpoint: py_experiment
    arms:
      - {name: control, model: purchase_model@production}
      - {name: treatment, model: purchase_model@production}
    metric: {feedback: purchased}
monitors:
  - name: py_health
    endpoint: py_purchase
    checks: [freshness, skew]
    schedule: "@daily"
`

const pyModels = `models:
  - name: py_failing_model
    training_set: purchase_propensity
    task: binary_classification
    trainer: {command: [sh, -c, "echo no model today >&2; exit 3"]}
    validation: {holdout: 20%, metric: auc}
`

// TestPythonClient runs the Python client's tests (clients/python/tests,
// unittest) with Debian's /usr/bin/python3 against a real `slipway serve`
// on the quickstart demo: online features, predictions (XGBoost trained in
// the test, registered and served, against Booster.predict), training sets
// as CSV and DataFrames, the encoded export, models list, show, train,
// register, promote and rollback, the server's errors as SlipwayError and a
// failed training as JobFailedError.
// Every Python test must run: a skipped one fails this test.
func TestPythonClient(t *testing.T) {
	python := testenv.Python(t, "xgboost", "numpy", "pandas")
	clientDir, err := filepath.Abs(filepath.Join("..", "..", "clients", "python"))
	must(t, err)
	dir := quickstart(t)
	defs := filepath.Join(dir, "py_definitions")
	must(t, os.MkdirAll(defs, 0o755))
	must(t, os.WriteFile(filepath.Join(defs, "endpoints.yaml"), []byte(pyEndpoints), 0o644))
	must(t, os.WriteFile(filepath.Join(defs, "models.yaml"), []byte(pyModels), 0o644))
	mustRun(t, dir, "apply", "py_definitions")
	base, _ := startServe(t, dir)

	cmd := exec.Command(python, "-m", "unittest", "discover", "-v", "-s", "tests", "-t", ".")
	cmd.Dir = clientDir
	cmd.Env = append(os.Environ(), "SLIPWAY_URL="+base, "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the Python client's tests failed (%v):\n%s", err, out)
	}
	ran := regexp.MustCompile(`(?m)^Ran (\d+) tests? in`).FindSubmatch(out)
	if ran == nil || !strings.Contains(string(out), "\nOK") {
		t.Fatalf("the Python client's tests did not report OK:\n%s", out)
	}
	if strings.Contains(string(out), "skipped") {
		t.Errorf("Python client tests were skipped; every one must run here:\n%s", out)
	}
	t.Logf("%s Python client tests passed", ran[1])
}
