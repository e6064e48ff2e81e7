package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// version and --version say which build this is: module version, commit
// and modified flag (from the build's VCS stamp), Go and DuckDB versions.
func TestVersion(t *testing.T) {
	dir := t.TempDir()
	// The shared binary may be built without VCS stamping (GOFLAGS=-buildvcs=false);
	// build one with it, so that the commit is there to report.
	bin := filepath.Join(t.TempDir(), "slipway")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Skipf("cannot build with VCS stamping here: %v\n%s", err, out)
	}
	stamp, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	setting := func(key string) string {
		m := regexp.MustCompile(`(?m)^\s+build\s+` + regexp.QuoteMeta(key) + `=(\S*)$`).FindStringSubmatch(string(stamp))
		if m == nil {
			return ""
		}
		return m[1]
	}
	mod := regexp.MustCompile(`(?m)^\s+mod\s+\S+\s+(\S+)`).FindStringSubmatch(string(stamp))
	if mod == nil || setting("vcs.revision") == "" {
		t.Skipf("the build recorded no VCS revision (not a git checkout?):\n%s", stamp)
	}
	run := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("slipway %s: %v", strings.Join(args, " "), err)
		}
		return string(out)
	}

	var v struct {
		Version, Commit, Go, DuckDB string
		Modified                    bool
	}
	out := run("version", "--json")
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("version --json: %v\n%s", err, out)
	}
	if v.Version != mod[1] || v.Commit != setting("vcs.revision") || v.Modified != (setting("vcs.modified") == "true") || v.Go != runtime.Version() {
		t.Errorf("version --json = %+v; the build says version %s, revision %s, modified %s, %s", v, mod[1], setting("vcs.revision"), setting("vcs.modified"), runtime.Version())
	}
	if !regexp.MustCompile(`^v1\.\d+\.\d+`).MatchString(v.DuckDB) {
		t.Errorf("version --json: duckdb %q is not a DuckDB version", v.DuckDB)
	}

	text := run("version")
	for _, want := range []string{"slipway " + v.Version, "commit  " + v.Commit, "go      " + v.Go, "duckdb  " + v.DuckDB} {
		if !strings.Contains(text, want) {
			t.Errorf("version lacks %q:\n%s", want, text)
		}
	}
	if got := run("--version"); got != text {
		t.Errorf("--version differs from version:\n%s\nwant\n%s", got, text)
	}
}

// --log-format json writes each log line as one JSON object; --log-level
// chooses the least severe line written; both are refused with the accepted
// values when wrong, and both are read from the environment too.
func TestLogFlags(t *testing.T) {
	dir := t.TempDir()
	writePlanProject(t, dir)
	r := mustRun(t, dir, "apply", "proj", "--log-format", "json", "--log-level", "debug")
	var logs int
	for _, line := range strings.Split(r.stderr, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var rec struct{ Time, Level, Msg string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Time == "" || rec.Level == "" || rec.Msg == "" {
			t.Errorf("log line is not a JSON record with time, level and msg (%v): %s", err, line)
		}
		logs++
	}
	if logs == 0 || !strings.Contains(r.stderr, `"level":"DEBUG","msg":"registry apply"`) {
		t.Errorf("apply --log-format json --log-level debug wrote no JSON debug lines:\n%s", r.stderr)
	}

	// The default (info, text) hides debug lines; the environment sets both.
	if r := mustRun(t, dir, "plan", "proj"); r.stderr != "" {
		t.Errorf("plan at the default level wrote log lines:\n%s", r.stderr)
	}
	r = slipwayWithEnv(t, dir, []string{"SLIPWAY_LOG_LEVEL=debug", "SLIPWAY_LOG_FORMAT=text"}, "plan", "proj")
	if r.code != 0 || !strings.Contains(r.stderr, "level=DEBUG msg=describe") {
		t.Errorf("plan with SLIPWAY_LOG_LEVEL=debug: exit %d, want text debug lines:\n%s", r.code, r.stderr)
	}
	// The flag wins over the environment.
	if r := slipwayWithEnv(t, dir, []string{"SLIPWAY_LOG_LEVEL=debug"}, "plan", "proj", "--log-level", "warn"); r.code != 0 || r.stderr != "" {
		t.Errorf("--log-level warn over SLIPWAY_LOG_LEVEL=debug: exit %d\n%s", r.code, r.stderr)
	}

	for _, c := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"list", "--log-format", "xml"}, `--log-format "xml" (or SLIPWAY_LOG_FORMAT): use text or json`},
		{nil, []string{"list", "--log-level", "loud"}, `--log-level "loud" (or SLIPWAY_LOG_LEVEL): use one of debug, info, warn, error`},
		{[]string{"SLIPWAY_LOG_FORMAT=yaml"}, []string{"list"}, `--log-format "yaml"`},
		{[]string{"SLIPWAY_LOG_LEVEL=trace"}, []string{"list"}, `--log-level "trace"`},
	} {
		if r := slipwayWithEnv(t, dir, c.env, c.args...); r.code != 1 || !strings.Contains(r.stderr, c.want) || r.stdout != "" {
			t.Errorf("%v slipway %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", c.env, strings.Join(c.args, " "), r.code, r.stdout, r.stderr, c.want)
		}
	}
}

// slipwayWithEnv runs slipway in dir with env added to the test's environment.
func slipwayWithEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "SLIPWAY_DATA_DIR="), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("running slipway %v: %v", args, err)
	}
	return r
}
