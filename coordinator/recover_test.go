package coordinator_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

const trainingSetDefs = `labels:
  - name: spent
    entity: user
    source: clean
    entity_column: user_id
    value_column: amount
    timestamp_column: ts
    type: float64
training_sets:
  - name: spending
    label: spent
    features: [last_kind]
`

var spending = resource.ID{Kind: resource.KindTrainingSet, Name: "spending", Variant: resource.DefaultVariant}

// setupTrainingSet is setup with a training set over clean, exported once
// (so it is ready), and a directory to export into.
func setupTrainingSet(t *testing.T) (*coordinator.Coordinator, context.Context, string) {
	t.Helper()
	dir := t.TempDir()
	c := newCoordinator(t, dir)
	must(t, os.WriteFile(filepath.Join(dir, "events.csv"), []byte(events), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "defs.yaml"), []byte(defs), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "training.yaml"), []byte(trainingSetDefs), 0o644))
	applyDir(t, c, dir)
	out := t.TempDir()
	if _, err := c.Export(t.Context(), &coordinator.ExportParams{TrainingSet: spending, Format: "csv", Path: filepath.Join(out, "first.csv")}); err != nil {
		t.Fatal(err)
	}
	return c, t.Context(), out
}

// TestRecoverEndsADeadWorkersAttempts: a worker whose process died (it
// stopped renewing its leases) leaves its jobs running and their resources
// marked running. Recover, called by whatever command opens the queue
// next, ends those attempts by the queue's rules and gives each resource
// back the status it had: ready for one built before, failed (with its
// error) for one whose last run failed.
func TestRecoverEndsADeadWorkersAttempts(t *testing.T) {
	c, ctx := setup(t)
	if _, err := c.Run(ctx, &coordinator.RunParams{}); err == nil {
		t.Fatal("the setup's broken transformation should fail the run")
	}
	brokenBefore := status(t, c, resource.KindTransformation, "broken")
	if brokenBefore.Status != resource.StatusFailed || brokenBefore.Error == "" {
		t.Fatalf("broken after the first run: %s %q; want failed with an error", brokenBefore.Status, brokenBefore.Error)
	}
	jobs, err := c.EnqueueRun(ctx, &coordinator.RunParams{IDs: []resource.ID{transformationID("clean"), transformationID("broken")}, Rebuild: true})
	if err != nil {
		t.Fatal(err)
	}

	// The doomed worker's clock stands still: its heartbeats renew the
	// leases to a time the rest of the world has passed, as if it had died.
	t0 := time.Now()
	blocked := &faultyOffline{Store: c.Offline, block: true, started: make(chan struct{}, 2)}
	doomed := &coordinator.Coordinator{Registry: c.Registry, Offline: blocked, Online: c.Online, Now: (&fakeClock{t: t0}).Now}
	w := fastWorker(doomed)
	w.Name = "doomed"
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { stop(); <-done }()
	<-blocked.started
	<-blocked.started
	for _, name := range []string{"clean", "broken"} {
		if st := status(t, c, resource.KindTransformation, name); st.Status != resource.StatusRunning {
			t.Fatalf("%s while its job runs: %s; want running", name, st.Status)
		}
	}
	if st := status(t, c, resource.KindTransformation, "broken"); st.Error != brokenBefore.Error {
		t.Errorf("broken while running keeps the error of its last failed run %q; got %q", brokenBefore.Error, st.Error)
	}

	// Nothing to recover inside the leases.
	c.Now = (&fakeClock{t: t0}).Now
	if got, err := c.Recover(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Recover inside the leases: %d jobs, %v; want none", len(got), err)
	}
	c.Now = (&fakeClock{t: t0.Add(coordinator.DefaultLease + time.Second)}).Now
	got, err := c.Recover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("Recover ended %d attempts; want 2", len(got))
	}
	for _, j := range jobs {
		j, err := c.Registry.GetJob(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != registry.JobQueued || j.Attempts != 1 || !strings.Contains(j.Error, "doomed") {
			t.Errorf("job %d (%s) after recovery: %s, attempt %d, error %q; want queued again after attempt 1, naming the worker", j.ID, j.Resource.Name, j.Status, j.Attempts, j.Error)
		}
		if !strings.Contains(logText(t, c, j.ID), "lease expired") {
			t.Errorf("job %d's log does not say its attempt ended with the lease:\n%s", j.ID, logText(t, c, j.ID))
		}
	}
	if st := status(t, c, resource.KindTransformation, "clean"); st.Status != resource.StatusReady || st.Error != "" {
		t.Errorf("clean, ready before its dead attempt: %s %q; want ready", st.Status, st.Error)
	}
	if st := status(t, c, resource.KindTransformation, "broken"); st.Status != resource.StatusFailed || st.Error != brokenBefore.Error {
		t.Errorf("broken, failed before its dead attempt: %s %q; want failed with %q", st.Status, st.Error, brokenBefore.Error)
	}
}

// TestRecoverRemovesADeadExportsPartialFile: an export whose process died
// leaves its temporary file; recovery removes it, unless another running
// export writes the same file.
func TestRecoverRemovesADeadExportsPartialFile(t *testing.T) {
	c, ctx, out := setupTrainingSet(t)
	t0 := time.Now()
	c.Now = (&fakeClock{t: t0}).Now
	path := filepath.Join(out, "set[1].csv") // a glob character in the name is no pattern
	claimExport := func(worker string, lease time.Duration) *registry.Job {
		t.Helper()
		jobs, err := c.EnqueueExport(ctx, &coordinator.ExportParams{TrainingSet: spending, Format: "csv", Path: path})
		if err != nil {
			t.Fatal(err)
		}
		j, err := c.Registry.ClaimJob(ctx, &registry.ClaimJobParams{Worker: worker, Now: t0, Lease: lease, Only: coordinator.JobIDs(jobs)})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	dead := claimExport("dead", coordinator.DefaultLease)
	partial, err := offline.PartialPath(path) // the file the dead attempt was writing
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(out, ".set1.csv.5.partial") // another output's: not touched
	must(t, os.WriteFile(other, nil, 0o644))

	// While another export of the same file runs, its partial file may be the one.
	live := claimExport("live", time.Hour)
	c.Now = (&fakeClock{t: t0.Add(coordinator.DefaultLease + time.Second)}).Now
	if _, err := c.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if j, _ := c.Registry.GetJob(ctx, dead.ID); j.Status != registry.JobQueued {
		t.Fatalf("the dead export after recovery: %s; want queued again", j.Status)
	}
	if _, err := os.Stat(partial); err != nil {
		t.Fatalf("the partial file was removed while another export of %s runs: %v", path, err)
	}

	// Once nobody writes the file, the next recovery of a dead export removes it.
	if err := c.Registry.FinishJob(ctx, &registry.FinishJobParams{ID: live.ID, Worker: "live", Attempt: live.Attempts, Now: t0, Status: registry.JobCancelled}); err != nil {
		t.Fatal(err)
	}
	again, err := c.Registry.ClaimJob(ctx, &registry.ClaimJobParams{Worker: "dead", Now: c.Now(), Lease: coordinator.DefaultLease, Only: []int64{dead.ID}})
	if err != nil {
		t.Fatal(err)
	}
	c.Now = (&fakeClock{t: t0.Add(2 * (coordinator.DefaultLease + time.Second))}).Now
	if _, err := c.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(partial); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dead export's partial file %s after recovery: %v; want it removed", partial, err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another output's partial file was removed: %v", err)
	}
	if log := logText(t, c, again.ID); !strings.Contains(log, "removed the partial file "+partial) {
		t.Errorf("the job's log does not name the partial file it removed:\n%s", log)
	}
}

// TestExportPathIsMadeAbsolute: the job may run in another process, with
// another working directory.
func TestExportPathIsMadeAbsolute(t *testing.T) {
	c, ctx, out := setupTrainingSet(t)
	t.Chdir(out)
	jobs, err := c.EnqueueExport(ctx, &coordinator.ExportParams{TrainingSet: spending, Format: "csv", Path: "rel.csv"})
	if err != nil {
		t.Fatal(err)
	}
	args := string(jobs[len(jobs)-1].Args)
	if want := filepath.Join(out, "rel.csv"); !strings.Contains(args, `"`+want+`"`) {
		t.Errorf("export job arguments %s; want the path made absolute, %s", args, want)
	}
}

// TestBadExportPath: a path that cannot be written is refused before
// anything is queued, and when it goes bad after queueing, the job fails at
// once; either way the error names the path (never a temporary file), and
// the training set keeps its status.
func TestBadExportPath(t *testing.T) {
	c, ctx, out := setupTrainingSet(t)
	file := filepath.Join(out, "a_file")
	must(t, os.WriteFile(file, []byte("x"), 0o644))
	locked := filepath.Join(out, "locked")
	must(t, os.Mkdir(locked, 0o555))
	cases := []struct {
		name, path, want string
		skip             string
	}{
		{name: "MissingDirectory", path: filepath.Join(out, "missing", "set.csv"), want: "does not exist"},
		{name: "FileAsParent", path: filepath.Join(file, "set.csv"), want: file + " is a file"},
		{name: "FileAsGrandparent", path: filepath.Join(file, "sub", "set.csv"), want: file + " is a file"},
		{name: "NoPermission", path: filepath.Join(locked, "set.csv"), want: "no permission", skip: rootSkip()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			before, err := c.Registry.ListJobs(ctx, &registry.ListJobsParams{Limit: 1000})
			must(t, err)
			_, err = c.Export(ctx, &coordinator.ExportParams{TrainingSet: spending, Format: "csv", Path: tc.path})
			if err == nil || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), ".partial") {
				t.Fatalf("export to %s: %v; want an error naming the path and saying %q", tc.path, err, tc.want)
			}
			if after, err := c.Registry.ListJobs(ctx, &registry.ListJobsParams{Limit: 1000}); err != nil || len(after) != len(before) {
				t.Errorf("a refused export queued %d jobs (%v)", len(after)-len(before), err)
			}
			if st := status(t, c, resource.KindTrainingSet, "spending"); st.Status != resource.StatusReady {
				t.Errorf("training set after a refused export: %s; want ready as before", st.Status)
			}
		})
	}

	t.Run("GoneBadAfterQueueing", func(t *testing.T) {
		dir := filepath.Join(out, "later")
		must(t, os.Mkdir(dir, 0o755))
		path := filepath.Join(dir, "set.csv")
		jobs, err := c.EnqueueExport(ctx, &coordinator.ExportParams{TrainingSet: spending, Format: "csv", Path: path})
		if err != nil {
			t.Fatal(err)
		}
		must(t, os.Remove(dir))
		must(t, os.WriteFile(dir, []byte("now a file"), 0o644))
		ended, err := fastWorker(c).Work(ctx, coordinator.JobIDs(jobs))
		if err != nil {
			t.Fatal(err)
		}
		j := ended[len(ended)-1]
		if j.Status != registry.JobFailed || j.Attempts != 1 || !strings.Contains(j.Error, path) || !strings.Contains(j.Error, dir+" is a file") || strings.Contains(j.Error, ".partial") {
			t.Errorf("export job whose directory became a file: %s after %d attempts, error %q; want failed at once, naming %s", j.Status, j.Attempts, j.Error, path)
		}
		if st := status(t, c, resource.KindTrainingSet, "spending"); st.Status != resource.StatusReady || st.Error != "" {
			t.Errorf("training set after an export to a bad path: %s %q; want ready as before", st.Status, st.Error)
		}
	})
}

// rootSkip says why a permission test cannot run, or "".
func rootSkip() string {
	if os.Geteuid() == 0 {
		return "running as root, which may write anywhere: the permission case needs an ordinary user"
	}
	return ""
}

// TestWorkCleansUpAfterDeadAttempts: jobs whose lease expires while a
// command works its own jobs (a long `slipway run`) are recovered by its
// worker loop with the whole clean-up: the dead export's partial file is
// removed and the resource its dead attempt left running gets its status
// back, not only the job queued again.
func TestWorkCleansUpAfterDeadAttempts(t *testing.T) {
	c, ctx, out := setupTrainingSet(t)
	t0 := time.Now()
	c.Now = (&fakeClock{t: t0}).Now

	// A dead export, with the partial file it was writing.
	path := filepath.Join(out, "dead.csv")
	exports, err := c.EnqueueExport(ctx, &coordinator.ExportParams{TrainingSet: spending, Format: "csv", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	dead, err := c.Registry.ClaimJob(ctx, &registry.ClaimJobParams{Worker: "dead", Now: t0, Lease: coordinator.DefaultLease, Only: coordinator.JobIDs(exports)})
	if err != nil {
		t.Fatal(err)
	}
	partial, err := offline.PartialPath(path)
	if err != nil {
		t.Fatal(err)
	}

	// A dead rebuild of clean, which marked clean running: its worker's
	// clock stands still, so its leases expire for everyone else.
	if _, err := c.EnqueueRun(ctx, &coordinator.RunParams{IDs: []resource.ID{transformationID("clean")}, Rebuild: true}); err != nil {
		t.Fatal(err)
	}
	blocked := &faultyOffline{Store: c.Offline, block: true, started: make(chan struct{}, 1)}
	doomed := &coordinator.Coordinator{Registry: c.Registry, Offline: blocked, Online: c.Online, Now: (&fakeClock{t: t0}).Now}
	w := fastWorker(doomed)
	w.Name = "doomed"
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { stop(); <-done }()
	<-blocked.started
	if st := status(t, c, resource.KindTransformation, "clean"); st.Status != resource.StatusRunning {
		t.Fatalf("clean while its job runs: %s; want running", st.Status)
	}

	// Past those leases, a command works a job of its own, on another resource.
	c.Now = (&fakeClock{t: t0.Add(coordinator.DefaultLease + time.Second)}).Now
	own, err := c.EnqueueRun(ctx, &coordinator.RunParams{IDs: []resource.ID{transformationID("broken")}, Rebuild: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fastWorker(c).Work(ctx, coordinator.JobIDs(own)); err != nil {
		t.Fatal(err)
	}
	if j, _ := c.Registry.GetJob(ctx, dead.ID); j.Status != registry.JobQueued {
		t.Fatalf("the dead export after the command: %s; want queued again", j.Status)
	}
	if _, err := os.Stat(partial); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dead export's partial file %s after the command: %v; want it removed", partial, err)
	}
	if st := status(t, c, resource.KindTransformation, "clean"); st.Status != resource.StatusReady {
		t.Errorf("clean after the command recovered its dead attempt: %s; want ready, as before", st.Status)
	}
}
