package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// faultyOffline wraps a real offline store and injects faults into
// CreateTable: the first failures calls fail with err, and with block set
// every call waits for its context to end.
type faultyOffline struct {
	offline.Store
	failures atomic.Int32
	err      error
	block    bool
	calls    atomic.Int32
	started  chan struct{} // receives once per call, when set
}

func (f *faultyOffline) CreateTable(ctx context.Context, p *offline.CreateTableParams) (*offline.CreateTableResult, error) {
	f.calls.Add(1)
	if f.started != nil {
		f.started <- struct{}{}
	}
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if f.failures.Add(-1) >= 0 {
		return nil, f.err
	}
	return f.Store.CreateTable(ctx, p)
}

// connRefused is what a dial to a stopped server returns.
var connRefused = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func transformationID(name string) resource.ID {
	return resource.ID{Kind: resource.KindTransformation, Name: name, Variant: resource.DefaultVariant}
}

// fastWorker retries at once, so tests do not sleep through backoff.
func fastWorker(c *coordinator.Coordinator) *coordinator.Worker {
	return &coordinator.Worker{Coordinator: c, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond, Poll: 10 * time.Millisecond, Heartbeat: 10 * time.Millisecond}
}

// runJobs enqueues a run of the named transformations and works it.
func runJobs(t *testing.T, c *coordinator.Coordinator, w *coordinator.Worker, names ...string) map[string]*registry.Job {
	t.Helper()
	var ids []resource.ID
	for _, n := range names {
		ids = append(ids, transformationID(n))
	}
	jobs, err := c.EnqueueRun(t.Context(), &coordinator.RunParams{IDs: ids, Rebuild: true})
	if err != nil {
		t.Fatal(err)
	}
	ended, err := w.Work(t.Context(), coordinator.JobIDs(jobs))
	if err != nil {
		t.Fatalf("Work: %v", err)
	}
	byName := map[string]*registry.Job{}
	for _, j := range ended {
		byName[j.Resource.Name] = j
	}
	return byName
}

func logText(t *testing.T, c *coordinator.Coordinator, id int64) string {
	t.Helper()
	lines, err := c.Registry.JobLogs(t.Context(), &registry.JobLogsParams{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Line + "\n")
	}
	return b.String()
}

func TestTransientFailuresAreRetried(t *testing.T) {
	c, _ := setup(t)
	f := &faultyOffline{Store: c.Offline, err: connRefused}
	f.failures.Store(2)
	c.Offline = f
	jobs := runJobs(t, c, fastWorker(c), "clean")
	j := jobs["clean"]
	if j.Status != registry.JobSucceeded || j.Attempts != 3 {
		t.Fatalf("job after two refused connections: status %s, %d attempts, error %q; want succeeded on attempt 3", j.Status, j.Attempts, j.Error)
	}
	if log := logText(t, c, j.ID); strings.Count(log, "retrying in") != 2 {
		t.Errorf("log should record two retries:\n%s", log)
	}
	if st := status(t, c, resource.KindTransformation, "clean"); st.Status != resource.StatusReady || st.Error != "" {
		t.Errorf("transformation after the retried job: %+v; want ready", st)
	}
}

func TestTransientFailuresRunOutOfAttempts(t *testing.T) {
	c, _ := setup(t)
	c.MaxAttempts = 3
	f := &faultyOffline{Store: c.Offline, err: connRefused}
	f.failures.Store(100)
	c.Offline = f
	jobs := runJobs(t, c, fastWorker(c), "clean")
	j := jobs["clean"]
	if j.Status != registry.JobFailed || j.Attempts != 3 || !strings.Contains(j.Error, "connection refused") {
		t.Fatalf("job refused on every attempt: status %s, %d attempts, error %q; want failed after 3 with the cause", j.Status, j.Attempts, j.Error)
	}
	if got := f.calls.Load(); got != 3 {
		t.Errorf("CreateTable called %d times; want 3", got)
	}
	st := status(t, c, resource.KindTransformation, "clean")
	if st.Status != resource.StatusFailed || !strings.Contains(st.Error, "connection refused") {
		t.Errorf("transformation: %+v; want failed with the cause", st)
	}
}

func TestPermanentFailureFailsAtOnceAndEndsDependents(t *testing.T) {
	c, _ := setup(t)
	jobs := runJobs(t, c, fastWorker(c), "clean", "after_broken")
	broken, after := jobs["broken"], jobs["after_broken"]
	if broken.Status != registry.JobFailed || broken.Attempts != 1 {
		t.Fatalf("broken: status %s after %d attempts; want failed after 1", broken.Status, broken.Attempts)
	}
	// The engine's own message, and the resource it came from.
	if !strings.Contains(broken.Error, "transformation broken:default") || !strings.Contains(broken.Error, "Could not convert string 'open'") {
		t.Errorf("broken's error %q; want the resource and DuckDB's conversion message", broken.Error)
	}
	if after.Status != registry.JobFailed || after.BlockedBy != broken.ID || after.Attempts != 0 ||
		!strings.Contains(after.Error, "upstream job") || !strings.Contains(after.Error, "broken:default") {
		t.Errorf("after_broken: %+v; want failed without running, ended by job %d", after, broken.ID)
	}
	if jobs["clean"].Status != registry.JobSucceeded {
		t.Errorf("clean, independent of broken: %s", jobs["clean"].Status)
	}
}

// workInBackground starts Work on the jobs and returns a channel with its outcome.
func workInBackground(ctx context.Context, w *coordinator.Worker, jobs []*registry.Job) chan error {
	done := make(chan error, 1)
	go func() {
		_, err := w.Work(ctx, coordinator.JobIDs(jobs))
		done <- err
	}()
	return done
}

func TestCancelStopsARunningJob(t *testing.T) {
	c, ctx := setup(t)
	// A ready transformation rebuilt and cancelled stays ready: its table is untouched.
	if _, err := c.Run(ctx, &coordinator.RunParams{IDs: []resource.ID{transformationID("clean")}}); err != nil {
		t.Fatal(err)
	}
	f := &faultyOffline{Store: c.Offline, block: true, started: make(chan struct{}, 1)}
	c.Offline = f
	jobs, err := c.EnqueueRun(ctx, &coordinator.RunParams{IDs: []resource.ID{transformationID("clean")}, Rebuild: true})
	if err != nil {
		t.Fatal(err)
	}
	done := workInBackground(ctx, fastWorker(c), jobs)
	<-f.started
	if j, err := c.Registry.CancelJob(ctx, &registry.CancelJobParams{ID: jobs[0].ID, Now: time.Now()}); err != nil || !j.CancelRequested {
		t.Fatalf("CancelJob = %+v, %v", j, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Work: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the cancelled job did not stop")
	}
	if j, _ := c.Registry.GetJob(ctx, jobs[0].ID); j.Status != registry.JobCancelled {
		t.Errorf("job after cancel: %s; want cancelled", j.Status)
	}
	if st := status(t, c, resource.KindTransformation, "clean"); st.Status != resource.StatusReady {
		t.Errorf("transformation after a cancelled rebuild: %s; want ready as before", st.Status)
	}
}

func TestInterruptCancelsTheWork(t *testing.T) {
	c, ctx := setup(t)
	f := &faultyOffline{Store: c.Offline, block: true, started: make(chan struct{}, 1)}
	c.Offline = f
	// after_broken waits for broken, which blocks.
	jobs, err := c.EnqueueRun(ctx, &coordinator.RunParams{IDs: []resource.ID{transformationID("after_broken")}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, interrupt := context.WithCancel(ctx)
	done := workInBackground(wctx, fastWorker(c), jobs)
	<-f.started
	interrupt() // Ctrl-C
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Work after Ctrl-C: %v; want context.Canceled", err)
	}
	for _, j := range jobs {
		if got, _ := c.Registry.GetJob(ctx, j.ID); got.Status != registry.JobCancelled {
			t.Errorf("job %d (%s) after Ctrl-C: %s; want cancelled", j.ID, j.Resource.Name, got.Status)
		}
	}
}

func TestWorkerShutdownQueuesRunningJobsAgain(t *testing.T) {
	c, ctx := setup(t)
	f := &faultyOffline{Store: c.Offline, block: true, started: make(chan struct{}, 1)}
	c.Offline = f
	jobs, err := c.EnqueueRun(ctx, &coordinator.RunParams{IDs: []resource.ID{transformationID("clean")}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- fastWorker(c).Run(wctx) }()
	<-f.started
	stop() // SIGTERM
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	j, _ := c.Registry.GetJob(ctx, jobs[0].ID)
	if j.Status != registry.JobQueued || j.Worker != "" || j.Attempts != 0 {
		t.Fatalf("job after its worker stopped: %+v; want queued again with its attempt given back", j)
	}
	// Another worker finishes it, on what counts as its first attempt.
	f.block = false
	ended, err := fastWorker(c).Work(ctx, coordinator.JobIDs(jobs))
	if err != nil || ended[0].Status != registry.JobSucceeded || ended[0].Attempts != 1 {
		t.Fatalf("second worker: %+v, %v; want succeeded on attempt 1", ended[0], err)
	}
}

// TestDeadWorkersJobIsTakenOver: a worker that stops renewing its lease
// (killed) loses the job to another once the lease has expired.
func TestDeadWorkersJobIsTakenOver(t *testing.T) {
	c, ctx := setup(t)
	clock := &fakeClock{t: time.Now()}
	c.Now = clock.Now
	jobs, err := c.EnqueueRun(ctx, &coordinator.RunParams{IDs: []resource.ID{transformationID("clean")}})
	if err != nil {
		t.Fatal(err)
	}
	dead, err := c.Registry.ClaimJob(ctx, &registry.ClaimJobParams{Worker: "dead", Now: clock.Now(), Lease: coordinator.DefaultLease})
	if err != nil || dead.ID != jobs[0].ID {
		t.Fatalf("claim by the doomed worker: %+v, %v", dead, err)
	}
	// Inside the lease nobody else may run it.
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	w := fastWorker(c)
	if _, err := w.Work(wctx, coordinator.JobIDs(jobs)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Work stopped by its context: %v; want the context's error", err)
	}
	if j, _ := c.Registry.GetJob(ctx, dead.ID); j.Worker != "dead" || j.Attempts != 1 {
		t.Fatalf("job taken inside the dead worker's lease: %+v", j)
	}
	// Work was interrupted and cancels what it waited for; queue a fresh run.
	jobs, err = c.EnqueueRun(ctx, &coordinator.RunParams{IDs: []resource.ID{transformationID("clean")}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Registry.ClaimJob(ctx, &registry.ClaimJobParams{Worker: "dead", Now: clock.Now(), Lease: coordinator.DefaultLease})
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(coordinator.DefaultLease + time.Second)
	ended, err := fastWorker(c).Work(ctx, []int64{second.ID})
	if err != nil || ended[0].Status != registry.JobSucceeded || ended[0].Attempts != 2 {
		t.Fatalf("after the lease expired: %+v, %v; want succeeded on attempt 2", ended[0], err)
	}
	err = c.Registry.FinishJob(ctx, &registry.FinishJobParams{ID: second.ID, Worker: "dead", Attempt: 1, Now: clock.Now(), Status: registry.JobFailed})
	if !errors.Is(err, registry.ErrLeaseLost) {
		t.Errorf("the dead worker's late FinishJob: %v; want ErrLeaseLost", err)
	}
}

// sqlError is a database error with a SQLSTATE, like pgx's PgError.
type sqlError string

func (e sqlError) Error() string    { return "SQLSTATE " + string(e) }
func (e sqlError) SQLState() string { return string(e) }

func TestTransient(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{connRefused, true},
		{syscall.ECONNRESET, true},
		{context.DeadlineExceeded, true},
		{errors.New(`Conversion Error: Could not convert string "open" to INT32`), false},
		{context.Canceled, false},
		{nil, false},
		{sqlError("57P01"), true},  // admin shutdown
		{sqlError("08006"), true},  // connection failure
		{sqlError("40001"), true},  // serialization failure
		{sqlError("42703"), false}, // undefined column
		{fmt.Errorf("running x: %w", sqlError("53300")), true},
	} {
		if got := coordinator.Transient(c.err); got != c.want {
			t.Errorf("Transient(%v) = %v; want %v", c.err, got, c.want)
		}
	}
}

// TestRebuildDoesNotBlockReaders: while another job rebuilds a
// transformation (status running), its previous table stays readable, so a
// materialization of its features goes ahead.
func TestRebuildDoesNotBlockReaders(t *testing.T) {
	c, ctx := setup(t)
	if _, err := c.Run(ctx, &coordinator.RunParams{IDs: []resource.ID{transformationID("clean")}}); err != nil {
		t.Fatal(err)
	}
	jobs, err := c.EnqueueMaterialize(ctx, &coordinator.MaterializeParams{Features: []resource.ID{{Kind: resource.KindFeature, Name: "amount", Variant: resource.DefaultVariant}}})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("EnqueueMaterialize over a ready transformation: %+v, %v; want one job", jobs, err)
	}
	// Another job starts rebuilding clean.
	if err := c.Registry.SetStatus(ctx, &registry.SetStatusParams{ID: transformationID("clean"), Status: resource.StatusRunning}); err != nil {
		t.Fatal(err)
	}
	ended, err := fastWorker(c).Work(ctx, coordinator.JobIDs(jobs))
	if err != nil || ended[0].Status != registry.JobSucceeded || ended[0].Rows != 3 {
		t.Fatalf("materializing while its transformation is rebuilt: %+v, %v; want 3 values", ended[0], err)
	}
}

// faultyOnline fails the first failures writes with err.
type faultyOnline struct {
	online.Store
	failures atomic.Int32
	err      error
}

func (f *faultyOnline) Write(ctx context.Context, p *online.WriteParams) error {
	if f.failures.Add(-1) >= 0 {
		return f.err
	}
	return f.Store.Write(ctx, p)
}

func TestOnlineWriteFailuresAreRetried(t *testing.T) {
	c, ctx := setup(t)
	f := &faultyOnline{Store: c.Online, err: &net.OpError{Op: "write", Net: "tcp", Err: syscall.ECONNRESET}}
	f.failures.Store(2)
	c.Online = f
	amount := resource.ID{Kind: resource.KindFeature, Name: "amount", Variant: resource.DefaultVariant}
	jobs, err := c.EnqueueMaterialize(ctx, &coordinator.MaterializeParams{Features: []resource.ID{amount}})
	if err != nil {
		t.Fatal(err)
	}
	ended, err := fastWorker(c).Work(ctx, coordinator.JobIDs(jobs))
	if err != nil {
		t.Fatal(err)
	}
	m := ended[len(ended)-1]
	if m.Kind != coordinator.JobMaterialize || m.Status != registry.JobSucceeded || m.Attempts != 3 {
		t.Fatalf("materialize job after two reset connections: %+v; want succeeded on attempt 3", m)
	}
	got, err := f.Store.Read(ctx, &online.ReadParams{Features: []string{"amount:default"}, Entities: []string{"u1"}})
	if err != nil || got.Entries[0][0].Value.String() != "4" {
		t.Errorf("u1's amount after the retries: %+v, %v; want 4", got, err)
	}
}

// TestRetryWorksTheUpstreamItNeeds: C waits for A and B; A is cancelled
// (and C with it), then retried. Working A's downstream must include B, or
// C would wait for ever in a process that never claims B.
func TestRetryWorksTheUpstreamItNeeds(t *testing.T) {
	c, ctx := setup(t)
	build := func(after ...int) registry.NewJob {
		return registry.NewJob{Kind: coordinator.JobTransformation, Resource: transformationID("clean"), MaxAttempts: 1, After: after}
	}
	jobs, err := c.Registry.EnqueueJobs(ctx, &registry.EnqueueJobsParams{Jobs: []registry.NewJob{build(), build(), build(0, 1)}, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Registry.CancelJob(ctx, &registry.CancelJobParams{ID: jobs[0].ID, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	a, err := c.Registry.RetryJob(ctx, &registry.RetryJobParams{ID: jobs[0].ID, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	set, err := c.Downstream(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if got := coordinator.JobIDs(set); len(got) != 3 {
		t.Fatalf("Downstream(A) = %v; want A, C and C's other upstream B", got)
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	ended, err := fastWorker(c).Work(wctx, coordinator.JobIDs(set))
	if err != nil {
		t.Fatalf("working the retried set: %v", err)
	}
	for _, j := range ended {
		if j.Status != registry.JobSucceeded {
			t.Errorf("job %d: %s %s", j.ID, j.Status, j.Error)
		}
	}
}

// TestReconcileRestoresOrphanedStatuses: a resource left running by a job
// that ended without its worker gets its status back; one a live job works
// on keeps it.
func TestReconcileRestoresOrphanedStatuses(t *testing.T) {
	c, ctx := setup(t)
	if _, err := c.Run(ctx, &coordinator.RunParams{}); err == nil {
		t.Fatal("the setup's broken transformation should fail the run")
	}
	for _, name := range []string{"clean", "after_broken"} {
		if err := c.Registry.SetStatus(ctx, &registry.SetStatusParams{ID: transformationID(name), Status: resource.StatusRunning}); err != nil {
			t.Fatal(err)
		}
	}
	// A running job works on after_broken.
	if _, err := c.Registry.EnqueueJobs(ctx, &registry.EnqueueJobsParams{Jobs: []registry.NewJob{{Kind: coordinator.JobTransformation, Resource: transformationID("after_broken"), MaxAttempts: 1}}, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Registry.ClaimJob(ctx, &registry.ClaimJobParams{Worker: "w", Now: time.Now(), Lease: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := c.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if st := status(t, c, resource.KindTransformation, "clean"); st.Status != resource.StatusReady {
		t.Errorf("clean, built before and left running: %s; want ready", st.Status)
	}
	if st := status(t, c, resource.KindTransformation, "after_broken"); st.Status != resource.StatusRunning {
		t.Errorf("after_broken, with a running job: %s; want running as it was", st.Status)
	}
}
