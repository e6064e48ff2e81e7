package server_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
)

// jobBody is the documented job shape; decoding it strictly catches fields
// the API grows without the docs.
type jobBody struct {
	ID       int64  `json:"id"`
	Kind     string `json:"kind"`
	Resource struct {
		Kind    string `json:"kind"`
		Name    string `json:"name"`
		Variant string `json:"variant"`
	} `json:"resource"`
	Args            json.RawMessage `json:"args"`
	Status          string          `json:"status"`
	Attempts        int             `json:"attempts"`
	MaxAttempts     int             `json:"max_attempts"`
	DependsOn       []int64         `json:"depends_on"`
	BlockedBy       int64           `json:"blocked_by"`
	CreatedAt       string          `json:"created_at"`
	RunAfter        string          `json:"run_after"`
	StartedAt       string          `json:"started_at"`
	EndedAt         string          `json:"ended_at"`
	Worker          string          `json:"worker"`
	LeaseUntil      string          `json:"lease_until"`
	CancelRequested bool            `json:"cancel_requested"`
	Rows            int64           `json:"rows"`
	Error           string          `json:"error"`
	Result          json.RawMessage `json:"result"`
}

type jobLinesBody struct {
	Lines []struct {
		Seq  int64  `json:"seq"`
		Time string `json:"time"`
		Line string `json:"line"`
	} `json:"lines"`
}

// apiTime is t as the API writes it.
func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// The jobs fixture's history, on the fixture clock (every store call gets
// its time, so responses are deterministic):
//
//	1 transformation subscriber_engagement_30d  succeeded (1234 rows, 3 log lines)
//	2 materialize opens_30d:v1, after 1          failed
//	3 export churn_training, after 2             failed, blocked by 2
//	4 materialize avg_order_value                queued
//	5 transformation shop_stats                  running on worker-b
var (
	jobsT0        = now.Add(-time.Hour)
	jobsBatchB    = jobsT0.Add(5 * time.Minute)
	job5Claimed   = now.Add(-5 * time.Minute)
	job5Heartbeat = now.Add(-time.Minute)
	// job5Lease outlasts the wall clock's lead over the fixture clock: the
	// platform's cancellations and retries read leases at time.Now.
	job5Lease = 100 * 365 * 24 * time.Hour
)

type jobsFixture struct {
	registry registry.Store
	handler  http.Handler
}

func newJobsFixture(t *testing.T) jobsFixture {
	t.Helper()
	p, reg, _ := newBackends(t)
	ctx := t.Context()
	id := func(kind resource.Kind, ref string) resource.ID {
		r, err := resource.ParseRef(ref)
		if err != nil {
			t.Fatal(err)
		}
		return resource.NewID(kind, r)
	}
	enqueue := func(at time.Time, jobs ...registry.NewJob) {
		t.Helper()
		if _, err := reg.EnqueueJobs(ctx, &registry.EnqueueJobsParams{Jobs: jobs, Now: at}); err != nil {
			t.Fatal(err)
		}
	}
	claim := func(worker string, at time.Time, lease time.Duration, only int64) *registry.Job {
		t.Helper()
		j, err := reg.ClaimJob(ctx, &registry.ClaimJobParams{Worker: worker, Now: at, Lease: lease, Only: []int64{only}})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	finish := func(j *registry.Job, at time.Time, status registry.JobStatus, rows int64, msg string) {
		t.Helper()
		if err := reg.FinishJob(ctx, &registry.FinishJobParams{ID: j.ID, Worker: j.Worker, Attempt: j.Attempts, Now: at, Status: status, Rows: rows, Error: msg}); err != nil {
			t.Fatal(err)
		}
	}

	enqueue(jobsT0,
		registry.NewJob{Kind: "transformation", Resource: id(resource.KindTransformation, "subscriber_engagement_30d"), MaxAttempts: 5},
		registry.NewJob{Kind: "materialize", Resource: id(resource.KindFeature, "opens_30d:v1"), MaxAttempts: 5, After: []int{0},
			Args: []byte(`{"features":[{"kind":"feature","name":"opens_30d","variant":"v1"}],"batch_size":500}`)},
		registry.NewJob{Kind: "export", Resource: id(resource.KindTrainingSet, "churn_training"), MaxAttempts: 1, After: []int{1},
			Args: []byte(`{"format":"parquet","path":"/data/churn_training.parquet"}`)},
	)
	enqueue(jobsBatchB,
		registry.NewJob{Kind: "materialize", Resource: id(resource.KindFeature, "avg_order_value"), MaxAttempts: 5,
			Args: []byte(`{"features":[{"kind":"feature","name":"avg_order_value","variant":"default"}]}`)},
		registry.NewJob{Kind: "transformation", Resource: id(resource.KindTransformation, "shop_stats"), MaxAttempts: 5},
	)

	j1 := claim("worker-a", jobsT0.Add(time.Minute), 5*time.Minute, 1)
	for i, line := range []string{"reading 2 inputs", "building subscriber_engagement_30d", "wrote 1234 rows"} {
		if err := reg.AppendJobLog(ctx, &registry.AppendJobLogParams{ID: 1, Time: jobsT0.Add(time.Minute + time.Duration(i+1)*10*time.Second), Lines: []string{line}}); err != nil {
			t.Fatal(err)
		}
	}
	finish(j1, jobsT0.Add(2*time.Minute), registry.JobSucceeded, 1234, "")

	j2 := claim("worker-a", jobsT0.Add(10*time.Minute), 5*time.Minute, 2)
	finish(j2, jobsT0.Add(11*time.Minute), registry.JobFailed, 0, "writing the online store: connection refused")

	j5 := claim("worker-b", job5Claimed, job5Lease, 5)
	if _, err := reg.UpdateJob(ctx, &registry.UpdateJobParams{ID: 5, Worker: j5.Worker, Attempt: j5.Attempts, Now: job5Heartbeat, Lease: job5Lease, Rows: 500}); err != nil {
		t.Fatal(err)
	}

	h := server.New(server.Config{Platform: p})
	return jobsFixture{registry: reg, handler: h}
}

func (f jobsFixture) get(t *testing.T, path string) jobBody {
	t.Helper()
	status, body := do(t, f.handler, "GET", path, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", path, status, body)
	}
	var j jobBody
	decodeStrict(t, body, &j)
	return j
}

func (f jobsFixture) post(t *testing.T, path string) jobBody {
	t.Helper()
	status, body := do(t, f.handler, "POST", path, "")
	if status != http.StatusOK {
		t.Fatalf("POST %s: status %d: %s", path, status, body)
	}
	var j jobBody
	decodeStrict(t, body, &j)
	return j
}

// retry retries a job, leaving the jobs to workers (none runs here), and
// returns the jobs queued again.
func (f jobsFixture) retry(t *testing.T, id int64) []jobBody {
	t.Helper()
	path := "/v1/jobs/" + strconv.FormatInt(id, 10) + "/retry"
	status, body := do(t, f.handler, "POST", path, `{"detach":true}`)
	if status != http.StatusAccepted {
		t.Fatalf("POST %s: status %d: %s", path, status, body)
	}
	var got struct {
		Jobs []jobBody `json:"jobs"`
	}
	decodeStrict(t, body, &got)
	return got.Jobs
}

// wallClock checks that an API time is between two instants of the wall clock.
func wallClock(t *testing.T, what, got string, from, to time.Time) {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, got)
	if err != nil || at.Before(from.Truncate(time.Microsecond)) || at.After(to) {
		t.Errorf("%s %q, want a time between %s and %s", what, got, apiTime(from), apiTime(to))
	}
}

func (f jobsFixture) list(t *testing.T, query string) []int64 {
	t.Helper()
	status, body := do(t, f.handler, "GET", "/v1/jobs"+query, "")
	if status != http.StatusOK {
		t.Fatalf("GET /v1/jobs%s: status %d: %s", query, status, body)
	}
	var got struct {
		Jobs []jobBody `json:"jobs"`
	}
	decodeStrict(t, body, &got)
	if got.Jobs == nil {
		t.Fatalf("GET /v1/jobs%s: %s has no jobs array", query, body)
	}
	ids := []int64{}
	for _, j := range got.Jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

func TestListJobs(t *testing.T) {
	f := newJobsFixture(t)
	for _, tc := range []struct {
		name, query string
		want        []int64
	}{
		{"All", "", []int64{5, 4, 3, 2, 1}},
		{"RepeatedStatus", "?status=queued&status=running", []int64{5, 4}},
		{"CommaStatus", "?status=queued,running", []int64{5, 4}},
		{"Failed", "?status=failed", []int64{3, 2}},
		{"Kind", "?kind=materialize", []int64{4, 2}},
		{"KindAndStatus", "?kind=materialize&status=failed", []int64{2}},
		{"Resource", "?resource=feature/opens_30d:v1", []int64{2}},
		{"ResourcePluralKind", "?resource=features/opens_30d:v1", []int64{2}},
		{"ResourceDefaultVariant", "?resource=feature/avg_order_value", []int64{4}},
		{"ResourceEscaped", "?resource=feature%2Favg_order_value%3Adefault", []int64{4}},
		{"Limit", "?limit=2", []int64{5, 4}},
		{"MaxLimit", "?limit=1000", []int64{5, 4, 3, 2, 1}},
		{"NoMatchIsEmpty", "?kind=export&status=running", []int64{}},
		{"UnknownKindIsEmpty", "?kind=backfill", []int64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := f.list(t, tc.query); !slices.Equal(got, tc.want) {
				t.Errorf("GET /v1/jobs%s listed %v, want %v", tc.query, got, tc.want)
			}
		})
	}
	t.Run("EmptyIsAnEmptyList", func(t *testing.T) {
		status, body := do(t, f.handler, "GET", "/v1/jobs?status=cancelled", "")
		if status != http.StatusOK || strings.TrimSpace(string(body)) != `{"jobs":[]}` {
			t.Errorf("GET /v1/jobs?status=cancelled = %d %s, want 200 {\"jobs\":[]}", status, body)
		}
	})
}

func TestListJobsBadRequests(t *testing.T) {
	f := newJobsFixture(t)
	for _, tc := range []struct {
		name, query string
		fragments   []string
	}{
		{"UnknownStatus", "?status=queued&status=done", []string{`unknown job status "done"`, "queued, running, succeeded, failed, cancelled"}},
		{"UnknownStatusInList", "?status=queued,Failed", []string{`"Failed"`, "queued, running, succeeded, failed, cancelled"}},
		{"EmptyStatus", "?status=", []string{`unknown job status ""`}},
		{"LimitZero", "?limit=0", []string{`limit "0"`, "1 to 1000"}},
		{"LimitTooLarge", "?limit=1001", []string{`limit "1001"`, "1 to 1000"}},
		{"LimitNegative", "?limit=-5", []string{`limit "-5"`}},
		{"LimitNotANumber", "?limit=ten", []string{`limit "ten"`}},
		{"LimitTwice", "?limit=1&limit=2", []string{"limit is given 2 times"}},
		{"KindTwice", "?kind=export&kind=materialize", []string{"kind is given 2 times"}},
		{"ResourceWithoutKind", "?resource=opens_30d:v1", []string{`resource "opens_30d:v1"`, "kind/name"}},
		{"ResourceUnknownKind", "?resource=widget/opens_30d", []string{`unknown kind "widget"`}},
		{"ResourceBadName", "?resource=feature/Opens-30d", []string{`invalid name "Opens-30d"`}},
		{"UnknownParameter", "?stauts=failed", []string{`unknown query parameter "stauts"`, "status, kind, resource, key_prefix, before, limit"}},
		{"BeforeNotAnID", "?before=x", []string{`before "x"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, f.handler, "GET", "/v1/jobs"+tc.query, "")
			wantError(t, status, body, http.StatusBadRequest, "invalid_request", tc.fragments...)
		})
	}
}

func TestGetJob(t *testing.T) {
	f := newJobsFixture(t)
	t.Run("Succeeded", func(t *testing.T) {
		j := f.get(t, "/v1/jobs/1")
		if j.ID != 1 || j.Kind != "transformation" || j.Status != "succeeded" || j.Rows != 1234 || j.Attempts != 1 || j.MaxAttempts != 5 {
			t.Errorf("job 1: %+v", j)
		}
		if j.Resource.Kind != "transformation" || j.Resource.Name != "subscriber_engagement_30d" || j.Resource.Variant != "default" {
			t.Errorf("job 1 resource %+v", j.Resource)
		}
		if j.CreatedAt != apiTime(jobsT0) || j.StartedAt != apiTime(jobsT0.Add(time.Minute)) || j.EndedAt != apiTime(jobsT0.Add(2*time.Minute)) {
			t.Errorf("job 1 created %s started %s ended %s", j.CreatedAt, j.StartedAt, j.EndedAt)
		}
		if j.Args != nil || j.DependsOn != nil || j.BlockedBy != 0 || j.Error != "" {
			t.Errorf("job 1: args %s, depends_on %v, blocked_by %d, error %q: want all omitted", j.Args, j.DependsOn, j.BlockedBy, j.Error)
		}
	})
	t.Run("ArgsAreJSON", func(t *testing.T) {
		j := f.get(t, "/v1/jobs/3")
		var args struct{ Format, Path string }
		if err := json.Unmarshal(j.Args, &args); err != nil || args.Format != "parquet" || args.Path != "/data/churn_training.parquet" {
			t.Errorf("job 3 args %s (%v), want the export's format and path as an object", j.Args, err)
		}
	})
	t.Run("Blocked", func(t *testing.T) {
		j := f.get(t, "/v1/jobs/3")
		if j.Status != "failed" || j.BlockedBy != 2 || !slices.Equal(j.DependsOn, []int64{2}) || !strings.Contains(j.Error, "upstream job 2") {
			t.Errorf("job 3: status %s, blocked_by %d, depends_on %v, error %q", j.Status, j.BlockedBy, j.DependsOn, j.Error)
		}
		if j.StartedAt != "" || j.Attempts != 0 {
			t.Errorf("job 3 never ran, got started_at %q, attempts %d", j.StartedAt, j.Attempts)
		}
	})
	t.Run("Running", func(t *testing.T) {
		j := f.get(t, "/v1/jobs/5")
		if j.Status != "running" || j.Worker != "worker-b" || j.Rows != 500 || j.LeaseUntil != apiTime(job5Heartbeat.Add(job5Lease)) || j.EndedAt != "" {
			t.Errorf("job 5: %+v", j)
		}
	})
	t.Run("UnknownJob", func(t *testing.T) {
		status, body := do(t, f.handler, "GET", "/v1/jobs/99", "")
		wantError(t, status, body, http.StatusNotFound, "not_found", "job 99 does not exist", "slipway jobs list")
	})
	for _, id := range []string{"abc", "0", "-1", "1.5", "99999999999999999999"} {
		t.Run("BadID/"+id, func(t *testing.T) {
			status, body := do(t, f.handler, "GET", "/v1/jobs/"+id, "")
			wantError(t, status, body, http.StatusBadRequest, "invalid_request", `job id "`+id+`" is not a positive integer`)
		})
	}
	t.Run("UnknownParameter", func(t *testing.T) {
		status, body := do(t, f.handler, "GET", "/v1/jobs/1?verbose=1", "")
		wantError(t, status, body, http.StatusBadRequest, "invalid_request", `unknown query parameter "verbose"`)
	})
}

func TestJobLogs(t *testing.T) {
	f := newJobsFixture(t)
	logs := func(t *testing.T, query string) []string {
		t.Helper()
		status, body := do(t, f.handler, "GET", "/v1/jobs/1/logs"+query, "")
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, body)
		}
		var got jobLinesBody
		decodeStrict(t, body, &got)
		if got.Lines == nil {
			t.Fatalf("%s has no lines array", body)
		}
		out := []string{}
		for _, l := range got.Lines {
			out = append(out, strconv.FormatInt(l.Seq, 10)+" "+l.Line)
			if l.Time == "" {
				t.Errorf("line %d has no time", l.Seq)
			}
		}
		return out
	}
	// The claim wrote the first line.
	all := []string{"1 attempt 1 of 5 started on worker worker-a", "2 reading 2 inputs", "3 building subscriber_engagement_30d", "4 wrote 1234 rows"}
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"All", "", all},
		{"After", "?after=1", all[1:]},
		{"AfterZero", "?after=0", all},
		{"AfterTheEnd", "?after=4", []string{}},
		{"Limit", "?limit=2", all[:2]},
		{"AfterAndLimit", "?after=1&limit=1", all[1:2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := logs(t, tc.query); !slices.Equal(got, tc.want) {
				t.Errorf("GET /v1/jobs/1/logs%s = %q, want %q", tc.query, got, tc.want)
			}
		})
	}
	t.Run("NoLogIsEmpty", func(t *testing.T) {
		status, body := do(t, f.handler, "GET", "/v1/jobs/4/logs", "")
		if status != http.StatusOK || strings.TrimSpace(string(body)) != `{"lines":[]}` {
			t.Errorf("GET /v1/jobs/4/logs = %d %s, want 200 {\"lines\":[]}", status, body)
		}
	})
	t.Run("UnknownJob", func(t *testing.T) {
		status, body := do(t, f.handler, "GET", "/v1/jobs/99/logs", "")
		wantError(t, status, body, http.StatusNotFound, "not_found", "job 99 does not exist")
	})
	for _, tc := range []struct {
		name, path string
		fragments  []string
	}{
		{"BadID", "/v1/jobs/x/logs", []string{`job id "x"`}},
		{"NegativeAfter", "/v1/jobs/1/logs?after=-1", []string{`after "-1"`}},
		{"AfterNotANumber", "/v1/jobs/1/logs?after=last", []string{`after "last"`}},
		{"LimitZero", "/v1/jobs/1/logs?limit=0", []string{`limit "0"`, "1 to 1000"}},
		{"LimitTooLarge", "/v1/jobs/1/logs?limit=5000", []string{`limit "5000"`, "1 to 1000"}},
		{"UnknownParameter", "/v1/jobs/1/logs?since=1", []string{`unknown query parameter "since"`, "after, limit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, f.handler, "GET", tc.path, "")
			wantError(t, status, body, http.StatusBadRequest, "invalid_request", tc.fragments...)
		})
	}
}

func TestCancelJob(t *testing.T) {
	t.Run("Queued", func(t *testing.T) {
		f := newJobsFixture(t)
		before := time.Now()
		j := f.post(t, "/v1/jobs/4/cancel")
		if j.ID != 4 || j.Status != "cancelled" {
			t.Errorf("cancelled job 4: status %s; want cancelled", j.Status)
		}
		wallClock(t, "cancelled job 4: ended_at", j.EndedAt, before, time.Now())
		if got := f.get(t, "/v1/jobs/4"); got.Status != "cancelled" {
			t.Errorf("GET after cancel: status %s", got.Status)
		}
	})
	t.Run("RunningIsRequested", func(t *testing.T) {
		f := newJobsFixture(t)
		j := f.post(t, "/v1/jobs/5/cancel")
		if j.Status != "running" || !j.CancelRequested {
			t.Errorf("cancelled running job 5: status %s, cancel_requested %v; want running, true", j.Status, j.CancelRequested)
		}
	})
	f := newJobsFixture(t)
	for _, id := range []string{"1", "2", "3"} {
		t.Run("Ended/"+id, func(t *testing.T) {
			status, body := do(t, f.handler, "POST", "/v1/jobs/"+id+"/cancel", "")
			wantError(t, status, body, http.StatusConflict, "conflict", "cancelling job "+id, "already ended")
		})
	}
	t.Run("UnknownJob", func(t *testing.T) {
		status, body := do(t, f.handler, "POST", "/v1/jobs/99/cancel", "")
		wantError(t, status, body, http.StatusNotFound, "not_found", "job 99 does not exist")
	})
	t.Run("BadID", func(t *testing.T) {
		status, body := do(t, f.handler, "POST", "/v1/jobs/four/cancel", "")
		wantError(t, status, body, http.StatusBadRequest, "invalid_request", `job id "four"`)
	})
	t.Run("WrongMethod", func(t *testing.T) {
		status, body := do(t, f.handler, "GET", "/v1/jobs/4/cancel", "")
		wantError(t, status, body, http.StatusMethodNotAllowed, "method_not_allowed", "GET /v1/jobs/4/cancel", "this path takes POST")
		if j := f.get(t, "/v1/jobs/4"); j.Status != "queued" {
			t.Errorf("GET .../cancel changed job 4 to %s", j.Status)
		}
	})
}

func TestRetryJob(t *testing.T) {
	t.Run("Failed", func(t *testing.T) {
		f := newJobsFixture(t)
		before := time.Now()
		jobs := f.retry(t, 2)
		if len(jobs) != 2 || jobs[0].ID != 2 || jobs[1].ID != 3 {
			t.Fatalf("retrying job 2 answered %+v; want job 2 and job 3, which it had ended", jobs)
		}
		j := jobs[0]
		if j.Status != "queued" || j.Attempts != 0 || j.Error != "" || j.EndedAt != "" {
			t.Errorf("retried job 2: %+v; want queued, no attempts, no error", j)
		}
		wallClock(t, "retried job 2: run_after", j.RunAfter, before, time.Now())
		// The job it blocked is queued again too.
		if got := f.get(t, "/v1/jobs/3"); got.Status != "queued" || got.BlockedBy != 0 || got.Error != "" {
			t.Errorf("job 3 after retrying job 2: status %s, blocked_by %d, error %q", got.Status, got.BlockedBy, got.Error)
		}
		if got := f.list(t, "?status=queued"); !slices.Equal(got, []int64{4, 3, 2}) {
			t.Errorf("queued jobs after the retry: %v, want [4 3 2]", got)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		f := newJobsFixture(t)
		f.post(t, "/v1/jobs/4/cancel")
		if jobs := f.retry(t, 4); len(jobs) != 1 || jobs[0].Status != "queued" {
			t.Errorf("retried cancelled job 4: %+v; want it alone, queued", jobs)
		}
	})
	f := newJobsFixture(t)
	for _, tc := range []struct {
		name, id  string
		fragments []string
	}{
		{"Succeeded", "1", []string{"retrying job 1", "succeeded"}},
		{"Queued", "4", []string{"retrying job 4", "queued"}},
		{"Running", "5", []string{"retrying job 5", "running"}},
		{"Blocked", "3", []string{"retrying job 3", "retry job 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, f.handler, "POST", "/v1/jobs/"+tc.id+"/retry", "")
			wantError(t, status, body, http.StatusConflict, "conflict", tc.fragments...)
		})
	}
	t.Run("UnknownJob", func(t *testing.T) {
		status, body := do(t, f.handler, "POST", "/v1/jobs/99/retry", "")
		wantError(t, status, body, http.StatusNotFound, "not_found", "job 99 does not exist")
	})
	t.Run("BadBody", func(t *testing.T) {
		status, body := do(t, f.handler, "POST", "/v1/jobs/2/retry", `{"detach":"yes"}`)
		wantError(t, status, body, http.StatusBadRequest, "invalid_request", "detach")
	})
	t.Run("BadID", func(t *testing.T) {
		status, body := do(t, f.handler, "POST", "/v1/jobs/2x/retry", "")
		wantError(t, status, body, http.StatusBadRequest, "invalid_request", `job id "2x"`)
	})
}

func TestJobsStoreFailure(t *testing.T) {
	f := newJobsFixture(t)
	if err := f.registry.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/jobs"},
		{"GET", "/v1/jobs/1"},
		{"GET", "/v1/jobs/1/logs"},
		{"POST", "/v1/jobs/4/cancel"},
		{"POST", "/v1/jobs/2/retry"},
	} {
		status, body := do(t, f.handler, tc.method, tc.path, "")
		wantError(t, status, body, http.StatusInternalServerError, "internal")
	}
}

// apiTimeRE matches the times of job bodies.
var apiTimeRE = regexp.MustCompile(`"(created_at|run_after|started_at|ended_at|lease_until|time)":"([^"]*)"`)

// wallTimes replaces the times the platform set from the wall clock (a
// retry's run_after) with <now>; the fixture's times are kept.
func wallTimes(body []byte) []byte {
	return apiTimeRE.ReplaceAllFunc(body, func(m []byte) []byte {
		sub := apiTimeRE.FindSubmatch(m)
		if t, err := time.Parse(time.RFC3339Nano, string(sub[2])); err == nil && t.After(now.Add(24*time.Hour)) && t.Before(now.Add(job5Lease/2)) {
			return []byte(`"` + string(sub[1]) + `":"<now>"`)
		}
		return m
	})
}

// TestGoldenJobs pins the JSON shape of the jobs endpoints. The fixture's
// clock is fixed, so times are kept. Regenerate with:
// go test ./server -run TestGolden -update
func TestGoldenJobs(t *testing.T) {
	for _, tc := range []struct {
		file, method, path, body string
	}{
		{"jobs_list.golden", "GET", "/v1/jobs", ""},
		{"job_logs.golden", "GET", "/v1/jobs/1/logs?after=1", ""},
		{"job_retry.golden", "POST", "/v1/jobs/2/retry", `{"detach":true}`},
		{"error_job_state.golden", "POST", "/v1/jobs/1/cancel", ""},
		{"error_job_status.golden", "GET", "/v1/jobs?status=done", ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f := newJobsFixture(t)
			status, body := do(t, f.handler, tc.method, tc.path, tc.body)
			checkGolden(t, tc.file, tc.method, tc.path, tc.body, status, wallTimes(body))
		})
	}
}
