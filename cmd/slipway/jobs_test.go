package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const jobsDefs = `entities:
  - name: user
sources:
  - name: events
    file: events.csv
    timestamp_column: ts
transformations:
  - name: clean
    sql: SELECT user_id, ts, kind FROM {{ events }}
  - name: coded
    sql: SELECT user_id, ts, CAST(kind AS INTEGER) AS code FROM {{ events }}
  - name: latest_code
    sql: SELECT user_id, max(ts) AS ts, max(code) AS code FROM {{ coded }} GROUP BY user_id
features:
  - name: code
    entity: user
    source: latest_code
    entity_column: user_id
    value_column: code
    timestamp_column: ts
    type: int64
`

// jobID finds the id of the job of a resource in 'jobs list' output.
func jobID(t *testing.T, list, resource string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^(\d+)\s+\w+\s+\w+\s+` + regexp.QuoteMeta(resource) + `\s`).FindStringSubmatch(list)
	if m == nil {
		t.Fatalf("no job of %s in:\n%s", resource, list)
	}
	return m[1]
}

// TestJobsCommands fails a run on bad data, inspects its jobs, fixes the
// data and retries, the way a data scientist would.
func TestJobsCommands(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "events.csv"), []byte("user_id,ts,kind\nu1,2026-01-01T10:00:00,7\nu2,2026-01-02T10:00:00,open\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "defs.yaml"), []byte(jobsDefs), 0o644))
	mustRun(t, dir, "apply", ".")

	r := slipway(t, dir, "run")
	if r.code != 1 || !strings.Contains(r.stdout, "jobs: 1 succeeded, 2 failed") {
		t.Fatalf("run with bad data: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "Could not convert string 'open'") || !strings.Contains(r.stderr, "transformation coded:default") {
		t.Errorf("run should say which transformation failed and the engine's message:\n%s", r.stderr)
	}
	list := mustRun(t, dir, "jobs", "list").stdout
	coded, latest := jobID(t, list, "coded:default"), jobID(t, list, "latest_code:default")

	failed := mustRun(t, dir, "jobs", "list", "--status", "failed").stdout
	if strings.Count(failed, "\n") != 3 || strings.Contains(failed, "clean:default") {
		t.Errorf("jobs list --status failed: want the header and two jobs:\n%s", failed)
	}
	show := mustRun(t, dir, "jobs", "show", latest).stdout
	for _, want := range []string{"status:          failed", "attempts:        0 of 5", "ended by job:    " + coded, "upstream job " + coded} {
		if !strings.Contains(show, want) {
			t.Errorf("jobs show %s lacks %q:\n%s", latest, want, show)
		}
	}
	if logs := mustRun(t, dir, "jobs", "logs", coded).stdout; !strings.Contains(logs, "attempt 1 of 5 started") || !strings.Contains(logs, "failed: ") {
		t.Errorf("jobs logs %s:\n%s", coded, logs)
	}
	if r := slipway(t, dir, "jobs", "retry", latest); r.code != 1 || !strings.Contains(r.stderr, "retry job "+coded) {
		t.Errorf("retrying the blocked job should point at its upstream: exit %d\n%s", r.code, r.stderr)
	}

	// Fix the data, retry the failed job: it and the job it blocked run.
	must(t, os.WriteFile(filepath.Join(dir, "events.csv"), []byte("user_id,ts,kind\nu1,2026-01-01T10:00:00,7\nu2,2026-01-02T10:00:00,9\n"), 0o644))
	r = mustRun(t, dir, "jobs", "retry", coded)
	if !strings.Contains(r.stdout, "jobs: 2 succeeded") {
		t.Errorf("retry after the fix:\n%s\n%s", r.stdout, r.stderr)
	}
	if r := slipway(t, dir, "jobs", "cancel", coded); r.code != 1 || !strings.Contains(r.stderr, "succeeded") {
		t.Errorf("cancelling a succeeded job: exit %d\n%s", r.code, r.stderr)
	}

	// Detached jobs wait in the queue; a queued job is cancelled at once.
	r = mustRun(t, dir, "materialize", "--detach")
	if !strings.Contains(r.stdout, "queued job") || !strings.Contains(r.stdout, "slipway worker") {
		t.Errorf("materialize --detach:\n%s", r.stdout)
	}
	queued := mustRun(t, dir, "jobs", "list", "--status", "queued").stdout
	id := jobID(t, queued, "code:default")
	if r := mustRun(t, dir, "jobs", "cancel", id); !strings.Contains(r.stdout, "job "+id+": cancelled") {
		t.Errorf("cancelling a queued job: %s", r.stdout)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"jobs", "show", "999"}, "job 999 does not exist"},
		{[]string{"jobs", "show", "abc"}, "not a job number"},
		{[]string{"jobs", "list", "--status", "done"}, "queued, running, succeeded, failed, cancelled"},
		{[]string{"materialize", "--chunks", "0"}, "--chunks 0"},
	} {
		if r := slipway(t, dir, c.args...); r.code != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("slipway %s: exit %d, stderr %q; want exit 1 and %q", strings.Join(c.args, " "), r.code, r.stderr, c.want)
		}
	}
}
