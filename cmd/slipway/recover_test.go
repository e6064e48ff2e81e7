package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/registry/registrysqlite"
	"github.com/slipway-ml/slipway/resource"
)

// crashLease is the jobs' lease in the crash tests: short, so they wait
// little for a killed command's leases to expire.
const crashLease = 2 * time.Second

// TestKilledCommandsAreRecoveredByTheNextCommand kills `run`, `materialize`
// and `training-set export` with SIGKILL while one of their jobs runs, on
// the embedded stores. Once the lease has expired, whatever slipway command
// runs next ends the dead attempts: no job stays running, the killed jobs
// are queued again by the queue's rules, every resource has its status of
// before, and the export's partial file is gone. A job so queued that is
// then cancelled is never run again, even by a worker.
func TestKilledCommandsAreRecoveredByTheNextCommand(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "quickstart", "--scale", "2", "--seed", "3")
	must(t, os.WriteFile(filepath.Join(dir, "slipway.yaml"), []byte(fmt.Sprintf("jobs:\n  lease: %s\n", crashLease)), 0o644))
	reg, err := registrysqlite.New(context.Background(), registrysqlite.Config{Path: filepath.Join(dir, ".slipway", "registry.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	out := t.TempDir()

	t.Run("run", func(t *testing.T) {
		killed := killWhileRunning(t, dir, reg, "transformation", nil, "run", "--rebuild")
		next := mustRun(t, dir, "list")
		checkRecovered(t, reg, killed, next.stderr)
	})
	t.Run("materialize", func(t *testing.T) {
		killed := killWhileRunning(t, dir, reg, "materialize", nil, "materialize", "--full")
		next := mustRun(t, dir, "jobs", "list", "--limit", "1000")
		checkRecovered(t, reg, killed, next.stderr)
		for _, j := range killed.jobs {
			if !regexp.MustCompile(fmt.Sprintf(`(?m)^%d\s+queued\s`, j)).MatchString(next.stdout) {
				t.Errorf("jobs list does not show job %d queued again:\n%s", j, next.stdout)
			}
		}
		if strings.Contains(next.stdout, "running") {
			t.Errorf("jobs list after the lease shows a running job:\n%s", next.stdout)
		}
	})
	t.Run("export", func(t *testing.T) {
		path := filepath.Join(out, "set.parquet")
		partials := func() []string {
			m, _ := filepath.Glob(filepath.Join(out, ".set.parquet.*.partial"))
			return m
		}
		killed := killWhileRunning(t, dir, reg, "export", func() bool { return len(partials()) > 0 },
			"training-set", "export", "purchase_propensity", "--out", path)
		next := mustRun(t, dir, "training-set", "export", "purchase_propensity", "--out", path)
		checkRecovered(t, reg, killed, next.stderr)
		if p := partials(); len(p) > 0 {
			t.Errorf("partial files left after the killed export was recovered: %v", p)
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("the next export did not write %s: %v", path, err)
		}
	})

	// Cancel every job the kills left queued: each ends at once, and a
	// worker running afterwards starts none of them.
	live, err := reg.ListJobs(context.Background(), &registry.ListJobsParams{Statuses: []registry.JobStatus{registry.JobQueued, registry.JobRunning}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(live) == 0 {
		t.Fatal("the kills left no job queued again")
	}
	for _, j := range live {
		r := mustRun(t, dir, "jobs", "cancel", fmt.Sprint(j.ID))
		if want := fmt.Sprintf("job %d: cancelled", j.ID); !strings.Contains(r.stdout, want) {
			t.Errorf("jobs cancel %d: %q; want %q", j.ID, r.stdout, want)
		}
	}
	worker := exec.Command(binary, "worker")
	worker.Dir = dir
	worker.Env = append(os.Environ(), "SLIPWAY_DATA_DIR=")
	var werr bytes.Buffer
	worker.Stderr = &werr
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(crashLease + time.Second)
	worker.Process.Signal(syscall.SIGINT)
	worker.Wait()
	for _, before := range live {
		j, err := reg.GetJob(context.Background(), before.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != registry.JobCancelled || j.Attempts != before.Attempts {
			t.Errorf("cancelled job %d after a worker ran: %s with %d attempts; want cancelled with %d (never run again)\nworker stderr:\n%s",
				j.ID, j.Status, j.Attempts, before.Attempts, werr.String())
		}
	}
}

// killed is what killWhileRunning saw: the jobs running when the command
// was killed, and every resource's status before the command started.
type killed struct {
	jobs     []int64
	statuses map[resource.ID]resource.Status
}

// killWhileRunning runs slipway with args, and kills it with SIGKILL once a
// job of kind is running (and ready says so, when given). The command's
// jobs then stay running in the registry until their lease expires, which
// it waits for.
func killWhileRunning(t *testing.T, dir string, reg registry.Store, kind string, ready func() bool, args ...string) killed {
	t.Helper()
	ctx := context.Background()
	k := killed{statuses: statuses(t, reg)}
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SLIPWAY_DATA_DIR=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for {
		select {
		case err := <-exited:
			t.Fatalf("slipway %s ended (%v) before a %s job was seen running; make it run longer", strings.Join(args, " "), err, kind)
		case <-time.After(5 * time.Millisecond):
		}
		running, err := reg.ListJobs(ctx, &registry.ListJobsParams{Statuses: []registry.JobStatus{registry.JobRunning}, Kind: kind})
		if err != nil || len(running) == 0 || ready != nil && !ready() {
			continue
		}
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		break
	}
	running, err := reg.ListJobs(ctx, &registry.ListJobsParams{Statuses: []registry.JobStatus{registry.JobRunning}})
	if err != nil {
		t.Fatal(err)
	}
	if len(running) == 0 {
		t.Fatalf("no job left running by the killed slipway %s", strings.Join(args, " "))
	}
	for _, j := range running {
		k.jobs = append(k.jobs, j.ID)
	}
	time.Sleep(crashLease + 500*time.Millisecond)
	return k
}

func statuses(t *testing.T, reg registry.Store) map[resource.ID]resource.Status {
	t.Helper()
	all, err := reg.List(context.Background(), &registry.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	m := map[resource.ID]resource.Status{}
	for _, r := range all {
		m[r.ID] = r.State.Status
	}
	return m
}

// checkRecovered checks that after the next command no job is running, the
// killed ones are queued again after their attempt, the next command said
// so, and every resource has its status of before.
func checkRecovered(t *testing.T, reg registry.Store, k killed, stderr string) {
	t.Helper()
	ctx := context.Background()
	running, err := reg.ListJobs(ctx, &registry.ListJobsParams{Statuses: []registry.JobStatus{registry.JobRunning}})
	if err != nil {
		t.Fatal(err)
	}
	if len(running) > 0 {
		t.Errorf("%d jobs still running past their lease after the next command, first job %d", len(running), running[0].ID)
	}
	for _, id := range k.jobs {
		j, err := reg.GetJob(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != registry.JobQueued || j.Attempts != 1 || !strings.Contains(j.Error, "stopped renewing its lease") {
			t.Errorf("killed job %d: %s, attempts %d, error %q; want queued again after attempt 1, saying its worker stopped", id, j.Status, j.Attempts, j.Error)
		}
		if want := fmt.Sprintf("job %d (", id); !strings.Contains(stderr, want) || !strings.Contains(stderr, "queued again") {
			t.Errorf("the next command did not say it recovered job %d:\n%s", id, stderr)
		}
	}
	after := statuses(t, reg)
	for id, st := range k.statuses {
		if after[id] != st {
			t.Errorf("%s after recovery: %s; want %s as before the killed command", id, after[id], st)
		}
	}
}

// TestExportToABadPath: an --out that cannot be written is refused before
// anything runs, with an error naming the path as given, and the training
// set keeps its status.
func TestExportToABadPath(t *testing.T) {
	dir := quickstart(t)
	must(t, os.WriteFile(filepath.Join(dir, "a_file"), []byte("x"), 0o644))
	jobsBefore := mustRun(t, dir, "jobs", "list", "--limit", "1000").stdout
	for _, tc := range []struct{ out, want string }{
		{out: filepath.Join("missing", "set.csv"), want: "does not exist; create it first"},
		{out: filepath.Join("a_file", "set.csv"), want: "a_file is a file, not a directory"},
	} {
		r := slipway(t, dir, "training-set", "export", "purchase_propensity", "--out", tc.out)
		if r.code == 0 || !strings.Contains(r.stderr, "cannot write "+tc.out) || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, ".partial") {
			t.Errorf("export --out %s: exit %d, stderr %q; want a failure naming %s and saying %q", tc.out, r.code, r.stderr, tc.out, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); err == nil {
		t.Error("the export created the missing directory")
	}
	if after := mustRun(t, dir, "jobs", "list", "--limit", "1000").stdout; after != jobsBefore {
		t.Errorf("refused exports changed the jobs:\nbefore:\n%s\nafter:\n%s", jobsBefore, after)
	}
	if r := mustRun(t, dir, "show", "training_set", "purchase_propensity"); !regexp.MustCompile(`(?m)^\s*status:\s+ready`).MatchString(r.stdout) {
		t.Errorf("training set after refused exports is not ready:\n%s", r.stdout)
	}
}
