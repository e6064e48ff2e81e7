package testenv

import (
	"os"
	"testing"
)

// ChromiumPath is the browser that browser tests drive headless: Debian's
// chromium, which scripts/test.sh installs with apt.
const ChromiumPath = "/usr/bin/chromium"

// Chromium returns the Chromium binary for tests that load a web page in a
// real browser (run it with --headless, and --no-sandbox when running as
// root, as CI does). When it is not installed, the test is skipped with a
// message, or fails under SLIPWAY_TEST_REQUIRE_BACKENDS=1.
func Chromium(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		missing(t, ChromiumPath+" is not installed (scripts/test.sh installs Debian's chromium with apt: apt-get install chromium)")
		return ""
	}
	return ChromiumPath
}
