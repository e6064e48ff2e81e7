package registrytest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// exerciseJobs runs the job queue's behaviours (registry.JobStore).
func exerciseJobs(t *testing.T, open func(t *testing.T) registry.Store) {
	t.Run("Enqueue/RoundTrip", func(t *testing.T) { testEnqueueRoundTrip(t, open(t)) })
	t.Run("Enqueue/InvalidBatchWritesNothing", func(t *testing.T) { testEnqueueInvalidBatch(t, open(t)) })
	t.Run("Enqueue/DuplicateKeyWritesNothing", func(t *testing.T) { testEnqueueDuplicateKey(t, open(t)) })
	t.Run("Claim/LowestIDFirst", func(t *testing.T) { testClaimLowestIDFirst(t, open(t)) })
	t.Run("Claim/WaitsForRunAfter", func(t *testing.T) { testClaimWaitsForRunAfter(t, open(t)) })
	t.Run("Claim/WaitsForDependencies", func(t *testing.T) { testClaimWaitsForDependencies(t, open(t)) })
	t.Run("Claim/Only", func(t *testing.T) { testClaimOnly(t, open(t)) })
	t.Run("Claim/ExpiredLeaseIsLeftToRecover", func(t *testing.T) { testClaimExpiredLease(t, open(t)) })
	t.Run("Claim/ConcurrentClaimsNeverShare", func(t *testing.T) { testClaimConcurrent(t, open(t)) })
	t.Run("Update/ExtendsLeaseAndRecordsRows", func(t *testing.T) { testUpdateExtendsLease(t, open(t)) })
	t.Run("Update/Fenced", func(t *testing.T) { testUpdateFenced(t, open(t)) })
	t.Run("Finish/Succeeded", func(t *testing.T) { testFinishSucceeded(t, open(t)) })
	t.Run("Finish/RetryLater", func(t *testing.T) { testFinishRetryLater(t, open(t)) })
	t.Run("Finish/FailureEndsDependents", func(t *testing.T) { testFinishFailureCascades(t, open(t)) })
	t.Run("Finish/InvalidStatus", func(t *testing.T) { testFinishInvalidStatus(t, open(t)) })
	t.Run("Finish/Result", func(t *testing.T) { testFinishResult(t, open(t)) })
	t.Run("Finish/ReleaseGivesTheAttemptBack", func(t *testing.T) { testFinishRelease(t, open(t)) })
	t.Run("Finish/ReleaseOfCancelRequestedCancels", func(t *testing.T) { testFinishReleaseCancelRequested(t, open(t)) })
	t.Run("Finish/ReleaseNeedsQueued", func(t *testing.T) { testFinishReleaseNeedsQueued(t, open(t)) })
	t.Run("Cancel/Queued", func(t *testing.T) { testCancelQueued(t, open(t)) })
	t.Run("Cancel/RunningIsRequested", func(t *testing.T) { testCancelRunning(t, open(t)) })
	t.Run("Cancel/EndedIsRefused", func(t *testing.T) { testCancelEnded(t, open(t)) })
	t.Run("Cancel/ExpiredLeaseCancelsAtOnce", func(t *testing.T) { testCancelExpiredLease(t, open(t)) })
	t.Run("Recover/EndsExpiredAttempts", func(t *testing.T) { testRecoverJobs(t, open(t)) })
	t.Run("Retry/RequeuesBlockedDependents", func(t *testing.T) { testRetryRequeues(t, open(t)) })
	t.Run("Retry/Refused", func(t *testing.T) { testRetryRefused(t, open(t)) })
	t.Run("Retry/EndsAgainBehindAnotherEndedUpstream", func(t *testing.T) { testRetryEndsAgainBehindEndedUpstream(t, open(t)) })
	t.Run("Retry/RetriedJobBehindEndedUpstreamEndsAgain", func(t *testing.T) { testRetryRetriedJobEndsAgain(t, open(t)) })
	t.Run("Retry/RacesUpstreamFailure", func(t *testing.T) { testRetryRacesUpstreamFailure(t, open(t)) })
	t.Run("List/Filters", func(t *testing.T) { testListJobs(t, open(t)) })
	t.Run("List/KeyPrefix", func(t *testing.T) { testListJobsKeyPrefix(t, open(t)) })
	t.Run("Count/ByStatus", func(t *testing.T) { testCountJobs(t, open(t)) })
	t.Run("Logs/AppendAndRead", func(t *testing.T) { testJobLogs(t, open(t)) })
	t.Run("Logs/ManyLinesAndConcurrentAppends", func(t *testing.T) { testJobLogsMany(t, open(t)) })
	t.Run("Enqueue/LargeBatch", func(t *testing.T) { testEnqueueLargeBatch(t, open(t)) })
	t.Run("UnknownJobIsNotFound", func(t *testing.T) { testUnknownJob(t, open(t)) })
}

// t0 is the suite's clock: the store must use the times it is given.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const lease = 30 * time.Second

func jobResource(name string) resource.ID {
	return resource.ID{Kind: resource.KindTransformation, Name: name, Variant: resource.DefaultVariant}
}

func newJob(name string, after ...int) registry.NewJob {
	return registry.NewJob{Kind: "transformation", Resource: jobResource(name), Args: []byte(`{"name":"` + name + `"}`), MaxAttempts: 3, After: after}
}

func enqueue(t *testing.T, s registry.Store, jobs ...registry.NewJob) []*registry.Job {
	t.Helper()
	got, err := s.EnqueueJobs(t.Context(), &registry.EnqueueJobsParams{Jobs: jobs, Now: t0})
	if err != nil {
		t.Fatalf("EnqueueJobs: %v", err)
	}
	if len(got) != len(jobs) {
		t.Fatalf("EnqueueJobs returned %d jobs, want %d", len(got), len(jobs))
	}
	return got
}

// claim claims a job, and checks that the claim logged the attempt's
// start in the job's log.
func claim(t *testing.T, s registry.Store, worker string, now time.Time, only ...int64) *registry.Job {
	t.Helper()
	j, err := s.ClaimJob(t.Context(), &registry.ClaimJobParams{Worker: worker, Now: now, Lease: lease, Only: only})
	if err != nil {
		t.Fatalf("ClaimJob(%s at %s): %v", worker, now.Format(time.TimeOnly), err)
	}
	lines, err := s.JobLogs(t.Context(), &registry.JobLogsParams{ID: j.ID})
	if err != nil {
		t.Fatalf("JobLogs(%d): %v", j.ID, err)
	}
	if want := registry.AttemptStarted(j.Attempts, j.MaxAttempts, worker); len(lines) == 0 || lines[len(lines)-1].Line != want || !sameTime(lines[len(lines)-1].Time, now) {
		t.Fatalf("job %d's log after the claim ends %+v; want %q at %s", j.ID, lines, want, now.Format(time.TimeOnly))
	}
	return j
}

func requireNoClaim(t *testing.T, s registry.Store, now time.Time, only ...int64) {
	t.Helper()
	j, err := s.ClaimJob(t.Context(), &registry.ClaimJobParams{Worker: "w-none", Now: now, Lease: lease, Only: only})
	if !errors.Is(err, registry.ErrNoJob) {
		t.Fatalf("ClaimJob at %s = %+v, %v; want ErrNoJob", now.Format(time.TimeOnly), j, err)
	}
}

// finish ends a claimed job's attempt with an optional error message.
func finish(t *testing.T, s registry.Store, j *registry.Job, st registry.JobStatus, now time.Time, msg ...string) {
	t.Helper()
	err := s.FinishJob(t.Context(), &registry.FinishJobParams{ID: j.ID, Worker: j.Worker, Attempt: j.Attempts, Now: now, Status: st, Error: strings.Join(msg, ""), Rows: 7})
	if err != nil {
		t.Fatalf("FinishJob(%d, %s): %v", j.ID, st, err)
	}
}

func getJob(t *testing.T, s registry.Store, id int64) *registry.Job {
	t.Helper()
	j, err := s.GetJob(t.Context(), id)
	if err != nil {
		t.Fatalf("GetJob(%d): %v", id, err)
	}
	return j
}

func requireStatus(t *testing.T, s registry.Store, id int64, want registry.JobStatus) *registry.Job {
	t.Helper()
	j := getJob(t, s, id)
	if j.Status != want {
		t.Fatalf("job %d is %s (error %q); want %s", id, j.Status, j.Error, want)
	}
	return j
}

func sameTime(got, want time.Time) bool { return got.Equal(want) }

func testEnqueueRoundTrip(t *testing.T, s registry.Store) {
	a := newJob("a")
	a.Key = "schedule:a@1"
	b := newJob("b", 0)
	b.Kind = "materialize"
	b.Resource = resource.ID{Kind: resource.KindFeature, Name: "opens", Variant: "v2"}
	b.MaxAttempts = 5
	c := newJob("c", 0, 1)
	c.Args = nil
	jobs := enqueue(t, s, a, b, c)
	if jobs[0].ID <= 0 || jobs[1].ID <= jobs[0].ID || jobs[2].ID <= jobs[1].ID {
		t.Fatalf("ids %d, %d, %d; want positive and increasing in batch order", jobs[0].ID, jobs[1].ID, jobs[2].ID)
	}
	for i, want := range []registry.NewJob{a, b, c} {
		for _, got := range []*registry.Job{jobs[i], getJob(t, s, jobs[i].ID)} {
			if got.Kind != want.Kind || got.Resource != want.Resource || string(got.Args) != string(want.Args) ||
				got.Key != want.Key || got.MaxAttempts != want.MaxAttempts {
				t.Errorf("job %d = kind %q resource %v args %q key %q max %d; want %q %v %q %q %d",
					i, got.Kind, got.Resource, got.Args, got.Key, got.MaxAttempts, want.Kind, want.Resource, want.Args, want.Key, want.MaxAttempts)
			}
			if got.Status != registry.JobQueued || got.Attempts != 0 || got.Worker != "" || got.Rows != 0 || got.Error != "" ||
				got.BlockedBy != 0 || got.CancelRequested {
				t.Errorf("new job %d = %+v; want queued with nothing run", i, got)
			}
			if !sameTime(got.CreatedAt, t0) || !sameTime(got.RunAfter, t0) || !got.StartedAt.IsZero() || !got.EndedAt.IsZero() || !got.LeaseUntil.IsZero() {
				t.Errorf("new job %d times: created %v run after %v started %v ended %v lease %v; want created = run after = %v, others zero",
					i, got.CreatedAt, got.RunAfter, got.StartedAt, got.EndedAt, got.LeaseUntil, t0)
			}
		}
	}
	want := [][]int64{nil, {jobs[0].ID}, {jobs[0].ID, jobs[1].ID}}
	for i := range jobs {
		got := getJob(t, s, jobs[i].ID).DependsOn
		if len(got) == 0 && len(want[i]) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("job %d depends on %v; want %v", i, got, want[i])
		}
	}
}

func testEnqueueInvalidBatch(t *testing.T, s registry.Store) {
	bad := map[string][]registry.NewJob{
		"empty batch":        nil,
		"forward dependency": {newJob("a", 1), newJob("b")},
		"self dependency":    {newJob("a", 0)},
		"no attempts":        {newJob("a"), {Kind: "transformation", Resource: jobResource("b")}},
		"no kind":            {newJob("a"), {Resource: jobResource("b"), MaxAttempts: 1}},
		"invalid resource":   {newJob("a"), {Kind: "transformation", Resource: resource.ID{Kind: resource.KindFeature, Name: "Bad Name"}, MaxAttempts: 1}},
	}
	for what, jobs := range bad {
		if got, err := s.EnqueueJobs(t.Context(), &registry.EnqueueJobsParams{Jobs: jobs, Now: t0}); err == nil {
			t.Errorf("EnqueueJobs with %s = %d jobs; want an error", what, len(got))
		}
	}
	if jobs, err := s.ListJobs(t.Context(), &registry.ListJobsParams{}); err != nil || len(jobs) != 0 {
		t.Errorf("after refused batches ListJobs = %d jobs, %v; want none", len(jobs), err)
	}
}

func testEnqueueDuplicateKey(t *testing.T, s registry.Store) {
	a := newJob("a")
	a.Key = "schedule:a@1"
	first := enqueue(t, s, a)
	b := newJob("b")
	again := newJob("a2", 0)
	again.Key = a.Key
	_, err := s.EnqueueJobs(t.Context(), &registry.EnqueueJobsParams{Jobs: []registry.NewJob{b, again}, Now: t0})
	if !errors.Is(err, registry.ErrDuplicateKey) {
		t.Fatalf("EnqueueJobs reusing key %q: %v; want ErrDuplicateKey", a.Key, err)
	}
	jobs, err := s.ListJobs(t.Context(), &registry.ListJobsParams{})
	if err != nil || len(jobs) != 1 || jobs[0].ID != first[0].ID {
		t.Errorf("after a refused batch ListJobs = %d jobs, %v; want only job %d", len(jobs), err, first[0].ID)
	}
	dup := []registry.NewJob{newJob("x"), newJob("y")}
	dup[0].Key, dup[1].Key = "k", "k"
	if _, err := s.EnqueueJobs(t.Context(), &registry.EnqueueJobsParams{Jobs: dup, Now: t0}); !errors.Is(err, registry.ErrDuplicateKey) {
		t.Errorf("EnqueueJobs with one key twice in the batch: %v; want ErrDuplicateKey", err)
	}
}

func testClaimLowestIDFirst(t *testing.T, s registry.Store) {
	requireNoClaim(t, s, t0)
	jobs := enqueue(t, s, newJob("a"), newJob("b"), newJob("c"))
	now := t0.Add(time.Second)
	for i, want := range jobs {
		got := claim(t, s, fmt.Sprintf("w%d", i), now)
		if got.ID != want.ID {
			t.Fatalf("claim %d got job %d; want %d", i, got.ID, want.ID)
		}
		if got.Status != registry.JobRunning || got.Attempts != 1 || got.Worker != fmt.Sprintf("w%d", i) ||
			!sameTime(got.StartedAt, now) || !sameTime(got.LeaseUntil, now.Add(lease)) {
			t.Errorf("claimed job = status %s attempts %d worker %q started %v lease %v; want running, 1, w%d, %v, %v",
				got.Status, got.Attempts, got.Worker, got.StartedAt, got.LeaseUntil, i, now, now.Add(lease))
		}
		if string(got.Args) != string(want.Args) || got.Resource != want.Resource {
			t.Errorf("claimed job args %q resource %v; want %q %v", got.Args, got.Resource, want.Args, want.Resource)
		}
	}
	requireNoClaim(t, s, now)
}

func testClaimWaitsForRunAfter(t *testing.T, s registry.Store) {
	jobs, err := s.EnqueueJobs(t.Context(), &registry.EnqueueJobsParams{Jobs: []registry.NewJob{newJob("a")}, Now: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	requireNoClaim(t, s, t0.Add(59*time.Second))
	if got := claim(t, s, "w", t0.Add(time.Minute)); got.ID != jobs[0].ID {
		t.Errorf("claimed job %d; want %d", got.ID, jobs[0].ID)
	}
}

func testClaimWaitsForDependencies(t *testing.T, s registry.Store) {
	// a → b → d, a → c → d: a diamond.
	jobs := enqueue(t, s, newJob("a"), newJob("b", 0), newJob("c", 0), newJob("d", 1, 2))
	now := t0.Add(time.Second)
	a := claim(t, s, "w1", now)
	if a.ID != jobs[0].ID {
		t.Fatalf("first claim got job %d; want %d", a.ID, jobs[0].ID)
	}
	requireNoClaim(t, s, now)
	finish(t, s, a, registry.JobSucceeded, now)
	b := claim(t, s, "w1", now)
	c := claim(t, s, "w2", now)
	if b.ID != jobs[1].ID || c.ID != jobs[2].ID {
		t.Fatalf("claims after a succeeded got %d, %d; want %d, %d", b.ID, c.ID, jobs[1].ID, jobs[2].ID)
	}
	finish(t, s, b, registry.JobSucceeded, now)
	requireNoClaim(t, s, now) // d still waits for c
	finish(t, s, c, registry.JobSucceeded, now)
	if d := claim(t, s, "w1", now); d.ID != jobs[3].ID {
		t.Fatalf("claim after b and c got %d; want %d", d.ID, jobs[3].ID)
	}
}

func testClaimOnly(t *testing.T, s registry.Store) {
	jobs := enqueue(t, s, newJob("a"), newJob("b"), newJob("c"))
	if got := claim(t, s, "w", t0, jobs[2].ID, jobs[1].ID); got.ID != jobs[1].ID {
		t.Errorf("claim only {c, b} got %d; want b = %d", got.ID, jobs[1].ID)
	}
	if got := claim(t, s, "w", t0, jobs[2].ID); got.ID != jobs[2].ID {
		t.Errorf("claim only {c} got %d; want %d", got.ID, jobs[2].ID)
	}
	requireNoClaim(t, s, t0, jobs[1].ID, jobs[2].ID)
	if got := claim(t, s, "w", t0); got.ID != jobs[0].ID {
		t.Errorf("claim any got %d; want %d", got.ID, jobs[0].ID)
	}
}

// testClaimExpiredLease checks that ClaimJob leaves a job whose lease
// expired running, whatever RecoverJobs would make of it, so that the
// caller that recovers it can clean up after its attempt; once recovered,
// it is claimed again as its next attempt, and the old worker is fenced
// off.
func testClaimExpiredLease(t *testing.T, s registry.Store) {
	last := newJob("last")
	last.MaxAttempts = 1
	jobs := enqueue(t, s, newJob("a"), last, newJob("cancel_asked"))
	for _, j := range jobs {
		claim(t, s, "w1", t0, j.ID)
	}
	if _, err := s.CancelJob(t.Context(), &registry.CancelJobParams{ID: jobs[2].ID, Now: t0}); err != nil {
		t.Fatalf("CancelJob: %v", err)
	}
	later := t0.Add(lease + time.Second)
	requireNoClaim(t, s, later)
	for _, j := range jobs {
		if got := requireStatus(t, s, j.ID, registry.JobRunning); got.Worker != "w1" || got.Attempts != 1 || got.Error != "" {
			t.Errorf("job %d (%s) after a claim past its lease: worker %q attempts %d error %q; want still w1's first attempt",
				got.ID, got.Resource.Name, got.Worker, got.Attempts, got.Error)
		}
	}
	if _, err := s.RecoverJobs(t.Context(), &registry.RecoverJobsParams{Now: later}); err != nil {
		t.Fatalf("RecoverJobs: %v", err)
	}
	second := claim(t, s, "w2", later)
	if second.ID != jobs[0].ID || second.Worker != "w2" || second.Attempts != 2 || !sameTime(second.LeaseUntil, later.Add(lease)) {
		t.Fatalf("claim after recovery = job %d worker %q attempts %d lease %v; want job %d, w2, 2, %v",
			second.ID, second.Worker, second.Attempts, second.LeaseUntil, jobs[0].ID, later.Add(lease))
	}
	requireNoClaim(t, s, later)
	// The first worker has lost the job: its writes are refused.
	if _, err := s.UpdateJob(t.Context(), &registry.UpdateJobParams{ID: jobs[0].ID, Worker: "w1", Attempt: 1, Now: later, Lease: lease}); !errors.Is(err, registry.ErrLeaseLost) {
		t.Errorf("UpdateJob by the old worker: %v; want ErrLeaseLost", err)
	}
	err := s.FinishJob(t.Context(), &registry.FinishJobParams{ID: jobs[0].ID, Worker: "w1", Attempt: 1, Now: later, Status: registry.JobSucceeded,
		Log: []string{"succeeded by the old worker"}})
	if !errors.Is(err, registry.ErrLeaseLost) {
		t.Errorf("FinishJob by the old worker: %v; want ErrLeaseLost", err)
	}
	// The new worker's finish writes its log lines with it; the old one's
	// refused finish wrote none.
	if err := s.FinishJob(t.Context(), &registry.FinishJobParams{ID: second.ID, Worker: second.Worker, Attempt: second.Attempts, Now: later,
		Status: registry.JobSucceeded, Log: []string{"succeeded", "by w2"}}); err != nil {
		t.Fatalf("FinishJob by the new worker: %v", err)
	}
	if got := requireStatus(t, s, jobs[0].ID, registry.JobSucceeded); got.Error != "" {
		t.Errorf("error %q after success; want none", got.Error)
	}
	lines, err := s.JobLogs(t.Context(), &registry.JobLogsParams{ID: jobs[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, l := range lines {
		text = append(text, l.Line)
	}
	want := []string{registry.AttemptStarted(1, second.MaxAttempts, "w1"), registry.AttemptStarted(2, second.MaxAttempts, "w2"), "succeeded", "by w2"}
	if !slices.Equal(text, want) {
		t.Errorf("job log %q; want %q: each claim's start line, then the new worker's finish lines only", text, want)
	}
}

// testRecoverJobs checks that RecoverJobs ends the attempts of running jobs
// whose lease expired, and only those: queued again with attempts left,
// failed without, cancelled when asked, dependents ended with them.
func testRecoverJobs(t *testing.T, s registry.Store) {
	one := func(name string, after ...int) registry.NewJob {
		j := newJob(name, after...)
		j.MaxAttempts = 1
		return j
	}
	jobs := enqueue(t, s,
		newJob("retried"), one("failed"), newJob("cancelled"), newJob("renewed"), newJob("waiting"),
		newJob("after_failed", 1), newJob("after_cancelled", 2))
	retried, failed, cancelled, renewed, waiting := jobs[0], jobs[1], jobs[2], jobs[3], jobs[4]
	for _, j := range jobs[:4] {
		claim(t, s, "w-"+j.Resource.Name, t0, j.ID)
	}
	if _, err := s.CancelJob(t.Context(), &registry.CancelJobParams{ID: cancelled.ID, Now: t0}); err != nil {
		t.Fatalf("CancelJob: %v", err)
	}
	if _, err := s.UpdateJob(t.Context(), &registry.UpdateJobParams{ID: renewed.ID, Worker: "w-renewed", Attempt: 1, Now: t0.Add(lease / 2), Lease: lease}); err != nil {
		t.Fatalf("UpdateJob: %v", err)
	}
	recoverAt := func(now time.Time) []*registry.Job {
		t.Helper()
		got, err := s.RecoverJobs(t.Context(), &registry.RecoverJobsParams{Now: now})
		if err != nil {
			t.Fatalf("RecoverJobs at %s: %v", now.Format(time.TimeOnly), err)
		}
		return got
	}
	if got := recoverAt(t0.Add(lease)); len(got) != 0 { // the lease runs until t0+lease inclusive
		t.Fatalf("RecoverJobs inside the leases recovered %d jobs; want none", len(got))
	}
	past := t0.Add(lease + time.Second)
	got := recoverAt(past)
	var ids []int64
	for _, j := range got {
		ids = append(ids, j.ID)
	}
	if want := []int64{retried.ID, failed.ID, cancelled.ID}; !slices.Equal(ids, want) {
		t.Fatalf("RecoverJobs recovered jobs %v; want %v", ids, want)
	}
	r := got[0]
	if r.Status != registry.JobQueued || r.Attempts != 1 || r.Worker != "" || !r.LeaseUntil.IsZero() || !r.EndedAt.IsZero() ||
		!sameTime(r.RunAfter, past) || !strings.Contains(r.Error, "w-retried") || !strings.Contains(r.Error, "attempt 1 of 3") {
		t.Errorf("recovered job with attempts left: status %s attempts %d worker %q lease %v ended %v run after %v error %q; "+
			"want queued, 1, none, zero, zero, %v, naming the worker and the attempt",
			r.Status, r.Attempts, r.Worker, r.LeaseUntil, r.EndedAt, r.RunAfter, r.Error, past)
	}
	if f := got[1]; f.Status != registry.JobFailed || !sameTime(f.EndedAt, past) || !strings.Contains(f.Error, "w-failed") {
		t.Errorf("recovered job without attempts: status %s ended %v error %q; want failed at %v naming the worker", f.Status, f.EndedAt, f.Error, past)
	}
	if c := got[2]; c.Status != registry.JobCancelled || !sameTime(c.EndedAt, past) || c.Error != "cancelled" {
		t.Errorf("recovered job whose cancel was asked: status %s ended %v error %q; want cancelled at %v", c.Status, c.EndedAt, c.Error, past)
	}
	for i, up := range map[int]*registry.Job{5: failed, 6: cancelled} {
		want := registry.JobFailed
		if up == cancelled {
			want = registry.JobCancelled
		}
		if dep := requireStatus(t, s, jobs[i].ID, want); dep.BlockedBy != up.ID {
			t.Errorf("job %d after a recovered job: blocked by %d; want %d", dep.ID, dep.BlockedBy, up.ID)
		}
	}
	requireStatus(t, s, renewed.ID, registry.JobRunning)
	requireStatus(t, s, waiting.ID, registry.JobQueued)
	if again := recoverAt(past); len(again) != 0 {
		t.Errorf("a second RecoverJobs recovered %d jobs; want none", len(again))
	}
	// The requeued job runs again as its next attempt; the ended ones never do.
	if j := claim(t, s, "w2", past); j.ID != retried.ID || j.Attempts != 2 {
		t.Errorf("claim after recovery got job %d attempt %d; want %d attempt 2", j.ID, j.Attempts, retried.ID)
	}
	if j := claim(t, s, "w2", past); j.ID != waiting.ID {
		t.Errorf("second claim after recovery got job %d; want %d", j.ID, waiting.ID)
	}
	requireNoClaim(t, s, past)
}

func testClaimConcurrent(t *testing.T, s registry.Store) {
	const n, workers = 40, 8
	var batch []registry.NewJob
	for i := range n {
		batch = append(batch, newJob(fmt.Sprintf("j%d", i)))
	}
	enqueue(t, s, batch...)
	claimed := claimConcurrently(t, []registry.Store{s}, workers)
	if len(claimed) != n {
		t.Errorf("%d jobs claimed; want %d", len(claimed), n)
	}
}

func testUpdateExtendsLease(t *testing.T, s registry.Store) {
	enqueue(t, s, newJob("a"))
	j := claim(t, s, "w1", t0)
	now := t0.Add(20 * time.Second)
	got, err := s.UpdateJob(t.Context(), &registry.UpdateJobParams{ID: j.ID, Worker: "w1", Attempt: 1, Now: now, Lease: lease, Rows: 1234})
	if err != nil {
		t.Fatalf("UpdateJob: %v", err)
	}
	if got.Rows != 1234 || !sameTime(got.LeaseUntil, now.Add(lease)) || got.CancelRequested {
		t.Errorf("updated job rows %d lease %v cancel %v; want 1234, %v, false", got.Rows, got.LeaseUntil, now.Add(lease), got.CancelRequested)
	}
	// Past the first lease but inside the extended one, nobody can take it.
	requireNoClaim(t, s, t0.Add(lease+time.Second))
	if j := getJob(t, s, j.ID); j.Rows != 1234 {
		t.Errorf("stored rows %d; want 1234", j.Rows)
	}
}

func testUpdateFenced(t *testing.T, s registry.Store) {
	enqueue(t, s, newJob("a"), newJob("b"))
	j := claim(t, s, "w1", t0)
	for what, p := range map[string]registry.UpdateJobParams{
		"another worker":  {ID: j.ID, Worker: "w2", Attempt: 1},
		"another attempt": {ID: j.ID, Worker: "w1", Attempt: 2},
	} {
		p.Now, p.Lease = t0, lease
		if _, err := s.UpdateJob(t.Context(), &p); !errors.Is(err, registry.ErrLeaseLost) {
			t.Errorf("UpdateJob by %s: %v; want ErrLeaseLost", what, err)
		}
		f := registry.FinishJobParams{ID: p.ID, Worker: p.Worker, Attempt: p.Attempt, Now: t0, Status: registry.JobSucceeded}
		if err := s.FinishJob(t.Context(), &f); !errors.Is(err, registry.ErrLeaseLost) {
			t.Errorf("FinishJob by %s: %v; want ErrLeaseLost", what, err)
		}
	}
	requireStatus(t, s, j.ID, registry.JobRunning)
	// A queued job has no holder.
	queued := getJob(t, s, j.ID+1)
	if _, err := s.UpdateJob(t.Context(), &registry.UpdateJobParams{ID: queued.ID, Worker: "w1", Attempt: 0, Now: t0, Lease: lease}); !errors.Is(err, registry.ErrLeaseLost) {
		t.Errorf("UpdateJob of a queued job: %v; want ErrLeaseLost", err)
	}
	finish(t, s, j, registry.JobSucceeded, t0)
	if _, err := s.UpdateJob(t.Context(), &registry.UpdateJobParams{ID: j.ID, Worker: "w1", Attempt: 1, Now: t0, Lease: lease}); !errors.Is(err, registry.ErrLeaseLost) {
		t.Errorf("UpdateJob of a finished job: %v; want ErrLeaseLost", err)
	}
}

func testFinishSucceeded(t *testing.T, s registry.Store) {
	enqueue(t, s, newJob("a"))
	j := claim(t, s, "w1", t0)
	end := t0.Add(5 * time.Second)
	finish(t, s, j, registry.JobSucceeded, end)
	got := requireStatus(t, s, j.ID, registry.JobSucceeded)
	if got.Rows != 7 || !sameTime(got.EndedAt, end) || !sameTime(got.StartedAt, t0) || got.Attempts != 1 {
		t.Errorf("succeeded job rows %d started %v ended %v attempts %d; want 7, %v, %v, 1", got.Rows, got.StartedAt, got.EndedAt, got.Attempts, t0, end)
	}
	requireNoClaim(t, s, end.Add(time.Hour))
}

func testFinishRetryLater(t *testing.T, s registry.Store) {
	enqueue(t, s, newJob("a"))
	j := claim(t, s, "w1", t0)
	retryAt := t0.Add(10 * time.Second)
	err := s.FinishJob(t.Context(), &registry.FinishJobParams{ID: j.ID, Worker: "w1", Attempt: 1, Now: t0, Status: registry.JobQueued, RunAfter: retryAt, Error: "connection refused"})
	if err != nil {
		t.Fatalf("FinishJob queued: %v", err)
	}
	got := requireStatus(t, s, j.ID, registry.JobQueued)
	if got.Attempts != 1 || got.Error != "connection refused" || !sameTime(got.RunAfter, retryAt) || got.Worker != "" || !got.EndedAt.IsZero() {
		t.Errorf("requeued job attempts %d error %q run after %v worker %q ended %v; want 1, the last error, %v, none, zero",
			got.Attempts, got.Error, got.RunAfter, got.Worker, got.EndedAt, retryAt)
	}
	requireNoClaim(t, s, retryAt.Add(-time.Millisecond))
	again := claim(t, s, "w2", retryAt)
	if again.ID != j.ID || again.Attempts != 2 {
		t.Errorf("retry claim got job %d attempt %d; want %d attempt 2", again.ID, again.Attempts, j.ID)
	}
}

func testFinishFailureCascades(t *testing.T, s registry.Store) {
	// a → b → c, and d independent.
	jobs := enqueue(t, s, newJob("a"), newJob("b", 0), newJob("c", 1), newJob("d"))
	a := claim(t, s, "w1", t0)
	end := t0.Add(time.Second)
	finish(t, s, a, registry.JobFailed, end, `column "x" does not exist`)
	if got := requireStatus(t, s, a.ID, registry.JobFailed); got.Error != `column "x" does not exist` || got.BlockedBy != 0 {
		t.Errorf("failed job error %q blocked by %d; want the engine's message and 0", got.Error, got.BlockedBy)
	}
	wantErr := registry.BlockedError(a, registry.JobFailed, `column "x" does not exist`)
	for _, id := range []int64{jobs[1].ID, jobs[2].ID} {
		got := requireStatus(t, s, id, registry.JobFailed)
		if got.BlockedBy != a.ID || got.Error != wantErr || !sameTime(got.EndedAt, end) || got.Attempts != 0 {
			t.Errorf("dependent %d blocked by %d error %q ended %v attempts %d; want %d, %q, %v, 0", id, got.BlockedBy, got.Error, got.EndedAt, got.Attempts, a.ID, wantErr, end)
		}
	}
	requireStatus(t, s, jobs[3].ID, registry.JobQueued)
	if got := claim(t, s, "w1", end); got.ID != jobs[3].ID {
		t.Errorf("claim after the failure got %d; want the independent job %d", got.ID, jobs[3].ID)
	}
}

func testFinishInvalidStatus(t *testing.T, s registry.Store) {
	enqueue(t, s, newJob("a"))
	j := claim(t, s, "w1", t0)
	for _, st := range []registry.JobStatus{registry.JobRunning, "done", ""} {
		err := s.FinishJob(t.Context(), &registry.FinishJobParams{ID: j.ID, Worker: "w1", Attempt: 1, Now: t0, Status: st})
		if err == nil {
			t.Errorf("FinishJob with status %q succeeded; want an error", st)
		}
	}
	requireStatus(t, s, j.ID, registry.JobRunning)
}

// testFinishResult checks that FinishJob replaces a job's Result when it
// gives one, whatever the status, keeps it otherwise, that every read
// returns it, and that RetryJob clears it.
func testFinishResult(t *testing.T, s registry.Store) {
	jobs := enqueue(t, s, newJob("a"), newJob("b"), newJob("c"))
	for _, j := range jobs {
		if len(j.Result) != 0 || len(getJob(t, s, j.ID).Result) != 0 {
			t.Fatalf("new job %d has result %q; want none", j.ID, j.Result)
		}
	}
	finishWith := func(j *registry.Job, st registry.JobStatus, result string) {
		t.Helper()
		p := registry.FinishJobParams{ID: j.ID, Worker: j.Worker, Attempt: j.Attempts, Now: t0, Status: st, RunAfter: t0}
		if result != "" {
			p.Result = []byte(result)
		}
		if err := s.FinishJob(t.Context(), &p); err != nil {
			t.Fatalf("FinishJob(%d, %s): %v", j.ID, st, err)
		}
	}
	requireResult := func(what string, got []byte, want string) {
		t.Helper()
		if string(got) != want {
			t.Errorf("%s: result %q; want %q", what, got, want)
		}
	}
	const first, second = `{"watermark":"2026-03-01T11:00:00Z"}`, `{"rows":12,"tables":["a"]}`

	a := claim(t, s, "w1", t0, jobs[0].ID)
	finishWith(a, registry.JobQueued, first)
	requireResult("GetJob after a retry with a result", getJob(t, s, a.ID).Result, first)
	a = claim(t, s, "w1", t0, jobs[0].ID)
	requireResult("ClaimJob", a.Result, first)
	finishWith(a, registry.JobQueued, "")
	requireResult("GetJob after a retry without a result", getJob(t, s, a.ID).Result, first)
	a = claim(t, s, "w1", t0, jobs[0].ID)
	finishWith(a, registry.JobSucceeded, second)
	requireResult("GetJob after success with a result", getJob(t, s, a.ID).Result, second)
	listed, err := s.ListJobs(t.Context(), &registry.ListJobsParams{})
	if err != nil || len(listed) != 3 {
		t.Fatalf("ListJobs = %d jobs, %v; want 3", len(listed), err)
	}
	for _, j := range listed {
		want := ""
		if j.ID == a.ID {
			want = second
		}
		requireResult(fmt.Sprintf("ListJobs, job %d", j.ID), j.Result, want)
	}

	b := claim(t, s, "w1", t0, jobs[1].ID)
	finishWith(b, registry.JobFailed, `{"partial":true}`)
	requireResult("GetJob after failure with a result", getJob(t, s, b.ID).Result, `{"partial":true}`)
	retried, err := s.RetryJob(t.Context(), &registry.RetryJobParams{ID: b.ID, Now: t0})
	if err != nil {
		t.Fatalf("RetryJob: %v", err)
	}
	requireResult("RetryJob", retried.Result, "")
	requireResult("GetJob after RetryJob", getJob(t, s, b.ID).Result, "")

	c := claim(t, s, "w1", t0, jobs[2].ID)
	finishWith(c, registry.JobCancelled, `{"cancelled_at":"step 2"}`)
	requireResult("GetJob after cancellation with a result", getJob(t, s, c.ID).Result, `{"cancelled_at":"step 2"}`)
}

// release requeues a claimed job's attempt as a worker shutting down does.
func release(t *testing.T, s registry.Store, j *registry.Job, now time.Time) {
	t.Helper()
	err := s.FinishJob(t.Context(), &registry.FinishJobParams{ID: j.ID, Worker: j.Worker, Attempt: j.Attempts, Now: now,
		Status: registry.JobQueued, RunAfter: now, Rows: 7, Error: "worker stopped; queued again", Release: true})
	if err != nil {
		t.Fatalf("FinishJob(%d, queued, Release): %v", j.ID, err)
	}
}

// testFinishRelease checks that a released attempt does not count: the job
// is queued again at once with its attempts as before the claim, fenced
// like any FinishJob, and a release after a retry only gives back its own
// attempt.
func testFinishRelease(t *testing.T, s registry.Store) {
	enqueue(t, s, newJob("a"))
	j := claim(t, s, "w1", t0)
	if j.Attempts != 1 {
		t.Fatalf("claimed job attempts %d; want 1", j.Attempts)
	}
	stop := t0.Add(5 * time.Second)
	release(t, s, j, stop)
	got := requireStatus(t, s, j.ID, registry.JobQueued)
	if got.Attempts != 0 || got.Worker != "" || !got.LeaseUntil.IsZero() || !got.EndedAt.IsZero() || got.CancelRequested ||
		!sameTime(got.RunAfter, stop) || got.Error != "worker stopped; queued again" {
		t.Errorf("released job attempts %d worker %q lease %v ended %v cancel requested %v run after %v error %q; "+
			"want 0, none, zero, zero, false, %v, the release's error",
			got.Attempts, got.Worker, got.LeaseUntil, got.EndedAt, got.CancelRequested, got.RunAfter, got.Error, stop)
	}
	// The released attempt no longer holds the job.
	err := s.FinishJob(t.Context(), &registry.FinishJobParams{ID: j.ID, Worker: "w1", Attempt: 1, Now: stop,
		Status: registry.JobQueued, RunAfter: stop, Release: true})
	if !errors.Is(err, registry.ErrLeaseLost) {
		t.Errorf("releasing the released attempt again: %v; want ErrLeaseLost", err)
	}
	if got := getJob(t, s, j.ID); got.Status != registry.JobQueued || got.Attempts != 0 {
		t.Errorf("after a second release, job is %s with attempts %d; want queued with 0", got.Status, got.Attempts)
	}

	again := claim(t, s, "w2", stop)
	if again.ID != j.ID || again.Attempts != 1 || again.Worker != "w2" {
		t.Fatalf("claim after the release got job %d attempt %d worker %s; want %d attempt 1 w2", again.ID, again.Attempts, again.Worker, j.ID)
	}
	// A retry counts its attempt; a release after it gives back only its own.
	err = s.FinishJob(t.Context(), &registry.FinishJobParams{ID: j.ID, Worker: "w2", Attempt: 1, Now: stop,
		Status: registry.JobQueued, RunAfter: stop, Error: "connection refused"})
	if err != nil {
		t.Fatalf("FinishJob queued to retry: %v", err)
	}
	retry := claim(t, s, "w3", stop)
	if retry.Attempts != 2 {
		t.Fatalf("retry claim attempt %d; want 2", retry.Attempts)
	}
	release(t, s, retry, stop)
	if got := requireStatus(t, s, j.ID, registry.JobQueued); got.Attempts != 1 {
		t.Errorf("released retry attempts %d; want 1", got.Attempts)
	}
	if got := claim(t, s, "w4", stop); got.Attempts != 2 {
		t.Errorf("claim after releasing the retry got attempt %d; want 2", got.Attempts)
	}
}

// testFinishReleaseCancelRequested checks that releasing a job whose cancel
// was requested cancels it and its dependents, as CancelJob does a queued
// job, instead of queueing it for a worker that would only cancel it.
func testFinishReleaseCancelRequested(t *testing.T, s registry.Store) {
	// a → b → c, and d independent.
	jobs := enqueue(t, s, newJob("a"), newJob("b", 0), newJob("c", 1), newJob("d"))
	a := claim(t, s, "w1", t0, jobs[0].ID)
	requested, err := s.CancelJob(t.Context(), &registry.CancelJobParams{ID: a.ID, Now: t0})
	if err != nil {
		t.Fatalf("CancelJob: %v", err)
	}
	if requested.Status != registry.JobRunning || !requested.CancelRequested {
		t.Fatalf("CancelJob of a running job: status %s requested %v; want running with cancel requested", requested.Status, requested.CancelRequested)
	}
	stop := t0.Add(5 * time.Second)
	release(t, s, a, stop)
	got := requireStatus(t, s, a.ID, registry.JobCancelled)
	if !sameTime(got.EndedAt, stop) || got.Error != "cancelled" || got.BlockedBy != 0 || got.Rows != 7 {
		t.Errorf("released cancel-requested job ended %v error %q blocked by %d rows %d; want %v, \"cancelled\", 0, 7",
			got.EndedAt, got.Error, got.BlockedBy, got.Rows, stop)
	}
	want := registry.BlockedError(a, registry.JobCancelled, "cancelled")
	for _, id := range []int64{jobs[1].ID, jobs[2].ID} {
		dep := requireStatus(t, s, id, registry.JobCancelled)
		if dep.BlockedBy != a.ID || dep.Error != want || !sameTime(dep.EndedAt, stop) {
			t.Errorf("dependent %d blocked by %d error %q ended %v; want %d, %q, %v", id, dep.BlockedBy, dep.Error, dep.EndedAt, a.ID, want, stop)
		}
	}
	requireStatus(t, s, jobs[3].ID, registry.JobQueued)
	requireNoClaim(t, s, stop.Add(time.Hour), a.ID, jobs[1].ID, jobs[2].ID)
	if _, err := s.CancelJob(t.Context(), &registry.CancelJobParams{ID: a.ID, Now: stop}); !errors.Is(err, registry.ErrJobState) {
		t.Errorf("CancelJob of the cancelled job: %v; want ErrJobState", err)
	}
}

// testFinishReleaseNeedsQueued checks that Release with any status but
// queued is refused and changes nothing.
func testFinishReleaseNeedsQueued(t *testing.T, s registry.Store) {
	enqueue(t, s, newJob("a"))
	j := claim(t, s, "w1", t0)
	for _, st := range []registry.JobStatus{registry.JobSucceeded, registry.JobFailed, registry.JobCancelled} {
		err := s.FinishJob(t.Context(), &registry.FinishJobParams{ID: j.ID, Worker: "w1", Attempt: 1, Now: t0,
			Status: st, Rows: 7, Error: "boom", Release: true})
		if err == nil {
			t.Errorf("FinishJob with status %s and Release succeeded; want an error", st)
		}
	}
	got := requireStatus(t, s, j.ID, registry.JobRunning)
	if got.Attempts != 1 || got.Worker != "w1" || got.Rows != 0 || got.Error != "" || !got.EndedAt.IsZero() {
		t.Errorf("job after refused releases: attempts %d worker %q rows %d error %q ended %v; want 1, w1, 0, none, zero",
			got.Attempts, got.Worker, got.Rows, got.Error, got.EndedAt)
	}
	// The attempt still holds the job.
	finish(t, s, j, registry.JobSucceeded, t0)
	requireStatus(t, s, j.ID, registry.JobSucceeded)
}

func testCancelQueued(t *testing.T, s registry.Store) {
	jobs := enqueue(t, s, newJob("a"), newJob("b", 0), newJob("c"))
	now := t0.Add(time.Second)
	got, err := s.CancelJob(t.Context(), &registry.CancelJobParams{ID: jobs[0].ID, Now: now})
	if err != nil {
		t.Fatalf("CancelJob: %v", err)
	}
	if got.Status != registry.JobCancelled || !sameTime(got.EndedAt, now) {
		t.Errorf("cancelled job status %s ended %v; want cancelled at %v", got.Status, got.EndedAt, now)
	}
	dep := requireStatus(t, s, jobs[1].ID, registry.JobCancelled)
	if want := registry.BlockedError(jobs[0], registry.JobCancelled, ""); dep.BlockedBy != jobs[0].ID || dep.Error != want {
		t.Errorf("dependent blocked by %d error %q; want %d, %q", dep.BlockedBy, dep.Error, jobs[0].ID, want)
	}
	requireStatus(t, s, jobs[2].ID, registry.JobQueued)
}

func testCancelRunning(t *testing.T, s registry.Store) {
	jobs := enqueue(t, s, newJob("a"), newJob("b", 0))
	j := claim(t, s, "w1", t0)
	got, err := s.CancelJob(t.Context(), &registry.CancelJobParams{ID: j.ID, Now: t0})
	if err != nil {
		t.Fatalf("CancelJob: %v", err)
	}
	if got.Status != registry.JobRunning || !got.CancelRequested {
		t.Fatalf("cancelling a running job: status %s requested %v; want running with cancel requested", got.Status, got.CancelRequested)
	}
	upd, err := s.UpdateJob(t.Context(), &registry.UpdateJobParams{ID: j.ID, Worker: "w1", Attempt: 1, Now: t0, Lease: lease})
	if err != nil || !upd.CancelRequested {
		t.Fatalf("UpdateJob after cancel = %+v, %v; want CancelRequested", upd, err)
	}
	finish(t, s, j, registry.JobCancelled, t0, "cancelled")
	requireStatus(t, s, j.ID, registry.JobCancelled)
	requireStatus(t, s, jobs[1].ID, registry.JobCancelled)
}

func testCancelEnded(t *testing.T, s registry.Store) {
	enqueue(t, s, newJob("a"))
	j := claim(t, s, "w1", t0)
	finish(t, s, j, registry.JobSucceeded, t0)
	if _, err := s.CancelJob(t.Context(), &registry.CancelJobParams{ID: j.ID, Now: t0}); !errors.Is(err, registry.ErrJobState) {
		t.Errorf("CancelJob of a succeeded job: %v; want ErrJobState", err)
	}
	requireStatus(t, s, j.ID, registry.JobSucceeded)
}

// testCancelExpiredLease checks that CancelJob ends at once a running job
// whose lease has expired (its worker died), with its dependents, and only
// asks a job inside its lease to stop.
func testCancelExpiredLease(t *testing.T, s registry.Store) {
	jobs := enqueue(t, s, newJob("a"), newJob("b", 0), newJob("c"))
	a := claim(t, s, "w1", t0, jobs[0].ID)
	// The lease runs until t0+lease inclusive.
	got, err := s.CancelJob(t.Context(), &registry.CancelJobParams{ID: a.ID, Now: t0.Add(lease)})
	if err != nil {
		t.Fatalf("CancelJob inside the lease: %v", err)
	}
	if got.Status != registry.JobRunning || !got.CancelRequested || !got.EndedAt.IsZero() {
		t.Fatalf("CancelJob inside the lease: status %s requested %v ended %v; want running, cancel requested, not ended",
			got.Status, got.CancelRequested, got.EndedAt)
	}
	requireStatus(t, s, jobs[1].ID, registry.JobQueued)

	past := t0.Add(lease + time.Second)
	got, err = s.CancelJob(t.Context(), &registry.CancelJobParams{ID: a.ID, Now: past})
	if err != nil {
		t.Fatalf("CancelJob past the lease: %v", err)
	}
	for _, j := range []*registry.Job{got, getJob(t, s, a.ID)} {
		if j.Status != registry.JobCancelled || !sameTime(j.EndedAt, past) || j.Error != "cancelled" || j.BlockedBy != 0 {
			t.Errorf("job cancelled past its lease: status %s ended %v error %q blocked by %d; want cancelled at %v, \"cancelled\", 0",
				j.Status, j.EndedAt, j.Error, j.BlockedBy, past)
		}
	}
	dep := requireStatus(t, s, jobs[1].ID, registry.JobCancelled)
	if want := registry.BlockedError(a, registry.JobCancelled, "cancelled"); dep.BlockedBy != a.ID || dep.Error != want || !sameTime(dep.EndedAt, past) {
		t.Errorf("dependent blocked by %d error %q ended %v; want %d, %q, %v", dep.BlockedBy, dep.Error, dep.EndedAt, a.ID, want, past)
	}
	requireStatus(t, s, jobs[2].ID, registry.JobQueued)

	// The dead worker's attempt is over, and nobody gets the job again.
	if _, err := s.UpdateJob(t.Context(), &registry.UpdateJobParams{ID: a.ID, Worker: "w1", Attempt: 1, Now: past, Lease: lease}); !errors.Is(err, registry.ErrLeaseLost) {
		t.Errorf("UpdateJob by the worker of the cancelled job: %v; want ErrLeaseLost", err)
	}
	if err := s.FinishJob(t.Context(), &registry.FinishJobParams{ID: a.ID, Worker: "w1", Attempt: 1, Now: past, Status: registry.JobSucceeded}); !errors.Is(err, registry.ErrLeaseLost) {
		t.Errorf("FinishJob by the worker of the cancelled job: %v; want ErrLeaseLost", err)
	}
	requireNoClaim(t, s, past, a.ID, jobs[1].ID)
	if _, err := s.CancelJob(t.Context(), &registry.CancelJobParams{ID: a.ID, Now: past}); !errors.Is(err, registry.ErrJobState) {
		t.Errorf("CancelJob of the cancelled job: %v; want ErrJobState", err)
	}
	requireStatus(t, s, a.ID, registry.JobCancelled)
}

func testRetryRequeues(t *testing.T, s registry.Store) {
	jobs := enqueue(t, s, newJob("a"), newJob("b", 0), newJob("c", 1))
	a := claim(t, s, "w1", t0)
	finish(t, s, a, registry.JobFailed, t0, "boom")
	now := t0.Add(time.Hour)
	got, err := s.RetryJob(t.Context(), &registry.RetryJobParams{ID: a.ID, Now: now})
	if err != nil {
		t.Fatalf("RetryJob: %v", err)
	}
	for _, j := range []*registry.Job{got, getJob(t, s, jobs[1].ID), getJob(t, s, jobs[2].ID)} {
		if j.Status != registry.JobQueued || j.Attempts != 0 || j.Error != "" || j.BlockedBy != 0 || !j.EndedAt.IsZero() ||
			j.Worker != "" || j.Rows != 0 || !sameTime(j.RunAfter, now) {
			t.Errorf("after retry job %d = %+v; want queued afresh, run after %v", j.ID, j, now)
		}
	}
	// The dependency chain holds again.
	if j := claim(t, s, "w1", now); j.ID != a.ID {
		t.Fatalf("claim after retry got %d; want %d", j.ID, a.ID)
	}
	requireNoClaim(t, s, now)
}

func testRetryRefused(t *testing.T, s registry.Store) {
	jobs := enqueue(t, s, newJob("a"), newJob("b", 0), newJob("c"))
	a := claim(t, s, "w1", t0)
	finish(t, s, a, registry.JobFailed, t0, "boom")
	_, err := s.RetryJob(t.Context(), &registry.RetryJobParams{ID: jobs[1].ID, Now: t0})
	if !errors.Is(err, registry.ErrJobState) || !strings.Contains(err.Error(), fmt.Sprint(a.ID)) {
		t.Errorf("RetryJob of a blocked job: %v; want ErrJobState naming upstream job %d", err, a.ID)
	}
	if _, err := s.RetryJob(t.Context(), &registry.RetryJobParams{ID: jobs[2].ID, Now: t0}); !errors.Is(err, registry.ErrJobState) {
		t.Errorf("RetryJob of a queued job: %v; want ErrJobState", err)
	}
	c := claim(t, s, "w1", t0)
	if _, err := s.RetryJob(t.Context(), &registry.RetryJobParams{ID: c.ID, Now: t0}); !errors.Is(err, registry.ErrJobState) {
		t.Errorf("RetryJob of a running job: %v; want ErrJobState", err)
	}
	finish(t, s, c, registry.JobSucceeded, t0)
	if _, err := s.RetryJob(t.Context(), &registry.RetryJobParams{ID: c.ID, Now: t0}); !errors.Is(err, registry.ErrJobState) {
		t.Errorf("RetryJob of a succeeded job: %v; want ErrJobState", err)
	}
}

// testRetryEndsAgainBehindEndedUpstream retries one upstream of a diamond
// while the other is still failed: the requeued jobs that wait for it, or
// for a job it blocked, end again blocked by it, until it is retried too.
func testRetryEndsAgainBehindEndedUpstream(t *testing.T, s registry.Store) {
	// a → x, b → x, a → y, b → c → y, x → z.
	jobs := enqueue(t, s, newJob("a"), newJob("b"), newJob("c", 1), newJob("x", 0, 1), newJob("y", 0, 2), newJob("z", 3))
	a, b, c, x, y, z := jobs[0], jobs[1], jobs[2], jobs[3], jobs[4], jobs[5]

	ca := claim(t, s, "w1", t0, a.ID)
	finish(t, s, ca, registry.JobFailed, t0.Add(time.Second), "a broke")
	for _, j := range []*registry.Job{x, y, z} {
		if got := requireStatus(t, s, j.ID, registry.JobFailed); got.BlockedBy != a.ID {
			t.Fatalf("job %d blocked by %d after a failed; want %d", j.ID, got.BlockedBy, a.ID)
		}
	}
	cb := claim(t, s, "w1", t0, b.ID)
	finish(t, s, cb, registry.JobFailed, t0.Add(2*time.Second), "b broke")
	if got := requireStatus(t, s, c.ID, registry.JobFailed); got.BlockedBy != b.ID {
		t.Fatalf("c blocked by %d after b failed; want %d", got.BlockedBy, b.ID)
	}
	if got := requireStatus(t, s, x.ID, registry.JobFailed); got.BlockedBy != a.ID {
		t.Fatalf("x, already ended, blocked by %d after b failed; want still %d", got.BlockedBy, a.ID)
	}

	now := t0.Add(time.Hour)
	got, err := s.RetryJob(t.Context(), &registry.RetryJobParams{ID: a.ID, Now: now})
	if err != nil {
		t.Fatalf("RetryJob(a): %v", err)
	}
	if got.Status != registry.JobQueued || got.BlockedBy != 0 {
		t.Errorf("RetryJob(a) = status %s blocked by %d; want queued, 0", got.Status, got.BlockedBy)
	}
	requireStatus(t, s, a.ID, registry.JobQueued)
	// x waits for b; y waits for c, which b blocked; z waits for x: all
	// end again, blocked by b, as b's failure would have ended them.
	wantErr := registry.BlockedError(cb, registry.JobFailed, "b broke")
	for name, j := range map[string]*registry.Job{"x": x, "y": y, "z": z} {
		got := requireStatus(t, s, j.ID, registry.JobFailed)
		if got.BlockedBy != b.ID || got.Error != wantErr || !sameTime(got.EndedAt, now) || got.Attempts != 0 {
			t.Errorf("%s after RetryJob(a): blocked by %d error %q ended %v attempts %d; want %d, %q, %v, 0",
				name, got.BlockedBy, got.Error, got.EndedAt, got.Attempts, b.ID, wantErr, now)
		}
	}
	if got := requireStatus(t, s, c.ID, registry.JobFailed); got.BlockedBy != b.ID || !sameTime(got.EndedAt, t0.Add(2*time.Second)) {
		t.Errorf("c after RetryJob(a): blocked by %d ended %v; want untouched (%d, %v)", got.BlockedBy, got.EndedAt, b.ID, t0.Add(2*time.Second))
	}
	// Retrying x is refused: b is the job to retry.
	if _, err := s.RetryJob(t.Context(), &registry.RetryJobParams{ID: x.ID, Now: now}); !errors.Is(err, registry.ErrJobState) {
		t.Errorf("RetryJob(x): %v; want ErrJobState", err)
	}

	// b's retry requeues what it blocked; a is queued, so nothing ends again.
	later := now.Add(time.Minute)
	if _, err := s.RetryJob(t.Context(), &registry.RetryJobParams{ID: b.ID, Now: later}); err != nil {
		t.Fatalf("RetryJob(b): %v", err)
	}
	for name, j := range map[string]*registry.Job{"a": a, "b": b, "c": c, "x": x, "y": y, "z": z} {
		got := requireStatus(t, s, j.ID, registry.JobQueued)
		if got.BlockedBy != 0 || got.Error != "" || !got.EndedAt.IsZero() {
			t.Errorf("%s after RetryJob(b): blocked by %d error %q ended %v; want queued afresh", name, got.BlockedBy, got.Error, got.EndedAt)
		}
	}
	// The diamond runs to the end, in dependency order.
	for range jobs {
		finish(t, s, claim(t, s, "w1", later), registry.JobSucceeded, later)
	}
	for _, j := range jobs {
		requireStatus(t, s, j.ID, registry.JobSucceeded)
	}
}

// testRetryRetriedJobEndsAgain retries a job cancelled while it waited for
// an upstream job that has failed since: the retried job itself ends again,
// blocked by that upstream, and so do the jobs it requeued.
func testRetryRetriedJobEndsAgain(t *testing.T, s registry.Store) {
	// u → a → d.
	jobs := enqueue(t, s, newJob("u"), newJob("a", 0), newJob("d", 1))
	u, a, d := jobs[0], jobs[1], jobs[2]
	if _, err := s.CancelJob(t.Context(), &registry.CancelJobParams{ID: a.ID, Now: t0}); err != nil {
		t.Fatalf("CancelJob(a): %v", err)
	}
	cu := claim(t, s, "w1", t0, u.ID)
	finish(t, s, cu, registry.JobFailed, t0, "u broke")
	if got := requireStatus(t, s, a.ID, registry.JobCancelled); got.BlockedBy != 0 {
		t.Fatalf("a, cancelled before u failed, blocked by %d; want 0", got.BlockedBy)
	}

	now := t0.Add(time.Hour)
	got, err := s.RetryJob(t.Context(), &registry.RetryJobParams{ID: a.ID, Now: now})
	if err != nil {
		t.Fatalf("RetryJob(a): %v", err)
	}
	wantErr := registry.BlockedError(cu, registry.JobFailed, "u broke")
	for name, j := range map[string]*registry.Job{"a (returned)": got, "a": getJob(t, s, a.ID), "d": getJob(t, s, d.ID)} {
		if j.Status != registry.JobFailed || j.BlockedBy != u.ID || j.Error != wantErr || !sameTime(j.EndedAt, now) {
			t.Errorf("%s after RetryJob(a): status %s blocked by %d error %q ended %v; want failed, %d, %q, %v",
				name, j.Status, j.BlockedBy, j.Error, j.EndedAt, u.ID, wantErr, now)
		}
	}
	requireNoClaim(t, s, now)

	if _, err := s.RetryJob(t.Context(), &registry.RetryJobParams{ID: u.ID, Now: now}); err != nil {
		t.Fatalf("RetryJob(u): %v", err)
	}
	for _, j := range jobs {
		requireStatus(t, s, j.ID, registry.JobQueued)
	}
}

func testListJobs(t *testing.T, s registry.Store) {
	m := newJob("x")
	m.Kind = "materialize"
	m.Resource = resource.ID{Kind: resource.KindFeature, Name: "opens", Variant: resource.DefaultVariant}
	jobs := enqueue(t, s, newJob("a"), newJob("b"), m)
	j := claim(t, s, "w1", t0)
	finish(t, s, j, registry.JobSucceeded, t0)
	ids := func(js []*registry.Job) []int64 {
		var out []int64
		for _, j := range js {
			out = append(out, j.ID)
		}
		return out
	}
	for what, c := range map[string]struct {
		p    registry.ListJobsParams
		want []int64
	}{
		"all, newest first": {registry.ListJobsParams{}, []int64{jobs[2].ID, jobs[1].ID, jobs[0].ID}},
		"limit":             {registry.ListJobsParams{Limit: 2}, []int64{jobs[2].ID, jobs[1].ID}},
		"next page":         {registry.ListJobsParams{Limit: 2, BeforeID: jobs[1].ID}, []int64{jobs[0].ID}},
		"queued, next page": {registry.ListJobsParams{Statuses: []registry.JobStatus{registry.JobQueued}, BeforeID: jobs[2].ID}, []int64{jobs[1].ID}},
		"queued":            {registry.ListJobsParams{Statuses: []registry.JobStatus{registry.JobQueued}}, []int64{jobs[2].ID, jobs[1].ID}},
		"succeeded or failed": {registry.ListJobsParams{Statuses: []registry.JobStatus{registry.JobSucceeded, registry.JobFailed}},
			[]int64{jobs[0].ID}},
		"kind":     {registry.ListJobsParams{Kind: "materialize"}, []int64{jobs[2].ID}},
		"resource": {registry.ListJobsParams{Resource: jobResource("b")}, []int64{jobs[1].ID}},
	} {
		got, err := s.ListJobs(t.Context(), &c.p)
		if err != nil {
			t.Errorf("ListJobs %s: %v", what, err)
			continue
		}
		if !reflect.DeepEqual(ids(got), c.want) {
			t.Errorf("ListJobs %s = %v; want %v", what, ids(got), c.want)
		}
	}
}

func testCountJobs(t *testing.T, s registry.Store) {
	count := func(p *registry.CountJobsParams) map[registry.JobStatus]int64 {
		t.Helper()
		got, err := s.CountJobs(t.Context(), p)
		if err != nil {
			t.Fatalf("CountJobs(%+v): %v", p, err)
		}
		return got
	}
	zero := map[registry.JobStatus]int64{}
	for _, st := range registry.JobStatuses {
		zero[st] = 0
	}
	if got := count(nil); !reflect.DeepEqual(got, zero) {
		t.Errorf("CountJobs of an empty queue = %v; want every status at 0: %v", got, zero)
	}
	materialize := func(name string) registry.NewJob {
		j := newJob(name)
		j.Kind = "materialize"
		return j
	}
	jobs := enqueue(t, s, newJob("a"), newJob("b", 0), newJob("c"), newJob("d"), materialize("e"), newJob("f"), newJob("g"), materialize("h"))
	a := claim(t, s, "w1", t0) // running
	if a.ID != jobs[0].ID {
		t.Fatalf("claimed job %d; want %d", a.ID, jobs[0].ID)
	}
	for _, st := range []registry.JobStatus{registry.JobSucceeded, registry.JobSucceeded, registry.JobFailed} { // c, d, e
		finish(t, s, claim(t, s, "w2", t0), st, t0)
	}
	if _, err := s.CancelJob(t.Context(), &registry.CancelJobParams{ID: jobs[5].ID, Now: t0}); err != nil { // f
		t.Fatal(err)
	}
	want := map[registry.JobStatus]int64{registry.JobQueued: 3, registry.JobRunning: 1, registry.JobSucceeded: 2, registry.JobFailed: 1, registry.JobCancelled: 1}
	if got := count(&registry.CountJobsParams{}); !reflect.DeepEqual(got, want) {
		t.Errorf("CountJobs = %v; want %v", got, want)
	}
	// The same counts as listing each status.
	for _, st := range registry.JobStatuses {
		listed, err := s.ListJobs(t.Context(), &registry.ListJobsParams{Statuses: []registry.JobStatus{st}, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(listed)) != want[st] {
			t.Errorf("ListJobs lists %d %s jobs; CountJobs says %d", len(listed), st, want[st])
		}
	}
	wantKind := map[registry.JobStatus]int64{registry.JobQueued: 1, registry.JobRunning: 0, registry.JobSucceeded: 0, registry.JobFailed: 1, registry.JobCancelled: 0}
	if got := count(&registry.CountJobsParams{Kind: "materialize"}); !reflect.DeepEqual(got, wantKind) {
		t.Errorf("CountJobs of kind materialize = %v; want %v", got, wantKind)
	}
	if got := count(&registry.CountJobsParams{Kind: "nothing"}); !reflect.DeepEqual(got, zero) {
		t.Errorf("CountJobs of an unknown kind = %v; want zeros", got)
	}
}

func testJobLogs(t *testing.T, s registry.Store) {
	jobs := enqueue(t, s, newJob("a"), newJob("b"))
	id := jobs[0].ID
	if err := s.AppendJobLog(t.Context(), &registry.AppendJobLogParams{ID: id, Time: t0, Lines: []string{"first", "second"}}); err != nil {
		t.Fatalf("AppendJobLog: %v", err)
	}
	if err := s.AppendJobLog(t.Context(), &registry.AppendJobLogParams{ID: jobs[1].ID, Time: t0, Lines: []string{"other job"}}); err != nil {
		t.Fatalf("AppendJobLog: %v", err)
	}
	later := t0.Add(time.Second)
	if err := s.AppendJobLog(t.Context(), &registry.AppendJobLogParams{ID: id, Time: later, Lines: []string{"third"}}); err != nil {
		t.Fatalf("AppendJobLog: %v", err)
	}
	lines, err := s.JobLogs(t.Context(), &registry.JobLogsParams{ID: id})
	if err != nil {
		t.Fatalf("JobLogs: %v", err)
	}
	want := []registry.JobLogLine{{Seq: 1, Time: t0, Line: "first"}, {Seq: 2, Time: t0, Line: "second"}, {Seq: 3, Time: later, Line: "third"}}
	if len(lines) != len(want) {
		t.Fatalf("JobLogs = %+v; want %+v", lines, want)
	}
	for i := range want {
		if lines[i].Seq != want[i].Seq || lines[i].Line != want[i].Line || !sameTime(lines[i].Time, want[i].Time) {
			t.Errorf("line %d = %+v; want %+v", i, lines[i], want[i])
		}
	}
	tail, err := s.JobLogs(t.Context(), &registry.JobLogsParams{ID: id, After: 1, Limit: 1})
	if err != nil || len(tail) != 1 || tail[0].Line != "second" {
		t.Errorf("JobLogs after 1, limit 1 = %+v, %v; want [second]", tail, err)
	}
}

func testUnknownJob(t *testing.T, s registry.Store) {
	ctx := t.Context()
	const id = 987654
	if _, err := s.GetJob(ctx, id); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetJob: %v; want ErrNotFound", err)
	}
	if _, err := s.CancelJob(ctx, &registry.CancelJobParams{ID: id, Now: t0}); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("CancelJob: %v; want ErrNotFound", err)
	}
	if _, err := s.RetryJob(ctx, &registry.RetryJobParams{ID: id, Now: t0}); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("RetryJob: %v; want ErrNotFound", err)
	}
	if err := s.AppendJobLog(ctx, &registry.AppendJobLogParams{ID: id, Time: t0, Lines: []string{"x"}}); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("AppendJobLog: %v; want ErrNotFound", err)
	}
	if _, err := s.JobLogs(ctx, &registry.JobLogsParams{ID: id}); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("JobLogs: %v; want ErrNotFound", err)
	}
}

// testListJobsKeyPrefix checks that KeyPrefix compares bytes: no
// wildcards (% and _ are literal), no case folding, jobs without a key never match.
func testListJobsKeyPrefix(t *testing.T, s registry.Store) {
	keys := []string{"sched:a%1", "sched:aX1", "sched_b", "schedXb", "Sched:a", "é:1", ""}
	var batch []registry.NewJob
	for i, k := range keys {
		j := newJob(fmt.Sprintf("j%d", i))
		j.Key = k
		batch = append(batch, j)
	}
	jobs := enqueue(t, s, batch...)
	id := map[string]int64{}
	for i, k := range keys {
		id[k] = jobs[i].ID
	}
	for _, c := range []struct {
		prefix string
		limit  int
		want   []string // newest first
	}{
		{"sched:a%", 0, []string{"sched:a%1"}},
		{"sched_", 0, []string{"sched_b"}},
		{"%", 0, nil},
		{"_", 0, nil},
		{"sched", 0, []string{"schedXb", "sched_b", "sched:aX1", "sched:a%1"}},
		{"sched", 2, []string{"schedXb", "sched_b"}},
		{"Sched", 0, []string{"Sched:a"}},
		{"sched:a%1", 0, []string{"sched:a%1"}},
		{"sched:a%1+", 0, nil},
		{"é", 0, []string{"é:1"}},
		{"", 0, []string{"", "é:1", "Sched:a", "schedXb", "sched_b", "sched:aX1", "sched:a%1"}},
	} {
		got, err := s.ListJobs(t.Context(), &registry.ListJobsParams{KeyPrefix: c.prefix, Limit: c.limit})
		if err != nil {
			t.Errorf("ListJobs with key prefix %q: %v", c.prefix, err)
			continue
		}
		var gotKeys, wantKeys []string
		for _, j := range got {
			gotKeys = append(gotKeys, fmt.Sprintf("%d:%q", j.ID, j.Key))
		}
		for _, k := range c.want {
			wantKeys = append(wantKeys, fmt.Sprintf("%d:%q", id[k], k))
		}
		if !reflect.DeepEqual(gotKeys, wantKeys) {
			t.Errorf("ListJobs with key prefix %q, limit %d = %v; want %v", c.prefix, c.limit, gotKeys, wantKeys)
		}
	}
	// The prefix combines with the other filters.
	claimed := claim(t, s, "w1", t0, id["sched_b"])
	got, err := s.ListJobs(t.Context(), &registry.ListJobsParams{KeyPrefix: "sched", Statuses: []registry.JobStatus{registry.JobQueued}})
	if err != nil || len(got) != 3 || got[0].ID != id["schedXb"] || got[1].ID != id["sched:aX1"] || got[2].ID != id["sched:a%1"] {
		t.Errorf("ListJobs with key prefix \"sched\" and status queued = %d jobs, %v; want 3, without running job %d", len(got), err, claimed.ID)
	}
}

// testRetryRacesUpstreamFailure retries a job while another upstream of its
// dependent fails at the same moment, in another transaction: whichever
// commits first, the dependent must not stay queued behind the failed job
// (where no claim would ever take it); RetryJob ends it again, or the
// failure's cascade does.
func testRetryRacesUpstreamFailure(t *testing.T, s registry.Store) {
	ctx := t.Context()
	for round := range 40 {
		// a → x ← b: a has failed (x blocked by a), b is running.
		jobs := enqueue(t, s, newJob("a"), newJob("b"), newJob("x", 0, 1))
		a, b, x := jobs[0], jobs[1], jobs[2]
		finish(t, s, claim(t, s, "w", t0, a.ID), registry.JobFailed, t0, "a broke")
		cb := claim(t, s, "w", t0, b.ID)
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := s.RetryJob(ctx, &registry.RetryJobParams{ID: a.ID, Now: t0}); err != nil {
				t.Errorf("round %d: RetryJob: %v", round, err)
			}
		})
		wg.Go(func() {
			if err := s.FinishJob(ctx, &registry.FinishJobParams{ID: b.ID, Worker: "w", Attempt: cb.Attempts, Now: t0,
				Status: registry.JobFailed, Error: "b broke"}); err != nil {
				t.Errorf("round %d: FinishJob: %v", round, err)
			}
		})
		wg.Wait()
		if got := getJob(t, s, x.ID); got.Status != registry.JobFailed || got.BlockedBy != b.ID {
			t.Fatalf("round %d: x is %s blocked by %d; want failed, blocked by b = %d", round, got.Status, got.BlockedBy, b.ID)
		}
		if got := getJob(t, s, a.ID); got.Status != registry.JobQueued {
			t.Fatalf("round %d: retried a is %s; want queued", round, got.Status)
		}
	}
}

// testJobLogsMany appends more lines in one call than a store may write per
// statement, then appends from several goroutines at once: every line gets
// the next sequence number, none is lost or numbered twice, and the lines of
// one call stay together and in order.
func testJobLogsMany(t *testing.T, s registry.Store) {
	ctx := t.Context()
	id := enqueue(t, s, newJob("a"))[0].ID
	var many []string
	for i := range 250 {
		many = append(many, fmt.Sprintf("line %d", i+1))
	}
	if err := s.AppendJobLog(ctx, &registry.AppendJobLogParams{ID: id, Time: t0, Lines: many}); err != nil {
		t.Fatalf("AppendJobLog of %d lines: %v", len(many), err)
	}
	const writers, calls = 4, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for c := range calls {
				lines := []string{fmt.Sprintf("w%d c%d 1", w, c), fmt.Sprintf("w%d c%d 2", w, c)}
				if err := s.AppendJobLog(ctx, &registry.AppendJobLogParams{ID: id, Time: t0, Lines: lines}); err != nil {
					t.Errorf("writer %d: AppendJobLog: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := s.JobLogs(ctx, &registry.JobLogsParams{ID: id, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if want := len(many) + writers*calls*2; len(got) != want {
		t.Fatalf("JobLogs returned %d lines; want %d", len(got), want)
	}
	seen := map[string]bool{}
	for i, l := range got {
		if l.Seq != int64(i+1) {
			t.Fatalf("line %d has seq %d; want %d (contiguous, from 1)", i, l.Seq, i+1)
		}
		if i < len(many) && l.Line != many[i] {
			t.Fatalf("line %d = %q; want %q", i, l.Line, many[i])
		}
		if seen[l.Line] {
			t.Fatalf("line %q recorded twice", l.Line)
		}
		seen[l.Line] = true
		if i >= len(many) && strings.HasSuffix(l.Line, " 1") {
			if next := strings.TrimSuffix(l.Line, "1") + "2"; i+1 >= len(got) || got[i+1].Line != next {
				t.Errorf("line %d %q is not followed by %q", i, l.Line, next)
			}
		}
	}
}

// testEnqueueLargeBatch enqueues more jobs in one batch than a store may
// write per statement, each waiting for the two before it.
func testEnqueueLargeBatch(t *testing.T, s registry.Store) {
	var batch []registry.NewJob
	for i := range 250 {
		j := newJob(fmt.Sprintf("j%d", i))
		if i >= 2 {
			j.After = []int{i - 2, i - 1, i - 1}
		}
		batch = append(batch, j)
	}
	jobs := enqueue(t, s, batch...)
	for i, j := range jobs {
		var want []int64
		if i >= 2 {
			want = []int64{jobs[i-2].ID, jobs[i-1].ID}
		}
		if i > 0 && j.ID <= jobs[i-1].ID {
			t.Fatalf("job %d has id %d after %d; want increasing", i, j.ID, jobs[i-1].ID)
		}
		if got := getJob(t, s, j.ID); !slices.Equal(got.DependsOn, want) || !slices.Equal(j.DependsOn, want) || got.Resource != batch[i].Resource {
			t.Fatalf("job %d: enqueued %v, read back %v (resource %s); want dependencies %v on %s", i, j.DependsOn, got.DependsOn, got.Resource, want, batch[i].Resource)
		}
	}
}

// claimConcurrently claims jobs at t0 from perStore workers on each store
// until none is left, failing the test when a job is given to two workers,
// and returns which worker ("s0-w1") got each job.
func claimConcurrently(t *testing.T, stores []registry.Store, perStore int) map[int64]string {
	t.Helper()
	var (
		mu      sync.Mutex
		claimed = map[int64]string{}
		wg      sync.WaitGroup
	)
	for si, s := range stores {
		for w := range perStore {
			wg.Go(func() {
				name := fmt.Sprintf("s%d-w%d", si, w)
				for {
					j, err := s.ClaimJob(t.Context(), &registry.ClaimJobParams{Worker: name, Now: t0, Lease: lease})
					if errors.Is(err, registry.ErrNoJob) {
						return
					}
					if err != nil {
						t.Errorf("%s: ClaimJob: %v", name, err)
						return
					}
					mu.Lock()
					if other, ok := claimed[j.ID]; ok {
						t.Errorf("job %d claimed by %s and %s", j.ID, other, name)
					}
					claimed[j.ID] = name
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	return claimed
}
