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

// pyEndpoints are the endpoints the Python client's tests predict with
// (clients/python/tests/test_client.py names them), applied from their own
// directory next to the quickstart's definitions.
const pyEndpoints = `endpoints:
  - name: py_purchase
    model: purchase_model
  - name: py_purchase_staging
    model: purchase_model
    alias: staging
`

// TestPythonClient runs the Python client's tests (clients/python/tests,
// unittest) with Debian's /usr/bin/python3 against a real `slipway serve`
// on the quickstart demo: online features, predictions (XGBoost trained in
// the test, registered and served, against Booster.predict), training sets
// as CSV and DataFrames, the encoded export, models list, show, train,
// register, promote and rollback, and the server's errors as SlipwayError.
// Every Python test must run: a skipped one fails this test.
func TestPythonClient(t *testing.T) {
	python := testenv.Python(t, "xgboost", "numpy", "pandas")
	clientDir, err := filepath.Abs(filepath.Join("..", "..", "clients", "python"))
	must(t, err)
	dir := quickstart(t)
	must(t, os.MkdirAll(filepath.Join(dir, "py_endpoints"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "py_endpoints", "endpoints.yaml"), []byte(pyEndpoints), 0o644))
	mustRun(t, dir, "apply", "py_endpoints")
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
