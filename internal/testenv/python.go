package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// PythonPath is the interpreter Python-backed tests run: Debian's, the one
// into which scripts/test.sh installs python3-xgboost and python3-sklearn
// with apt.
const PythonPath = "/usr/bin/python3"

// Python returns the Python interpreter for tests that compare Slipway with a
// Python library, after checking that it can import every module named (for
// example "xgboost"). When it cannot, the test is skipped with a message, or
// fails under SLIPWAY_TEST_REQUIRE_BACKENDS=1.
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	if _, err := os.Stat(PythonPath); err != nil {
		missing(t, PythonPath+" is not installed (apt-get install python3)")
		return ""
	}
	if len(modules) > 0 {
		out, err := exec.Command(PythonPath, "-c", "import "+strings.Join(modules, ", ")).CombinedOutput()
		if err != nil {
			// The last line of the traceback names the module.
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			missing(t, PythonPath+" cannot import "+strings.Join(modules, ", ")+": "+lines[len(lines)-1]+
				" (scripts/test.sh installs Debian's python3-xgboost and python3-sklearn with apt)")
			return ""
		}
	}
	return PythonPath
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s but %s=1: the test needs it", why, RequireEnv)
	}
	t.Skipf("%s; skipping", why)
}
