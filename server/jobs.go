package server

// The job queue endpoints (/v1/jobs): read the queue, read a job's log,
// cancel and retry jobs. Routes are registered, and errors become status
// codes, in server.go.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// Bounds of the limit query parameter of GET /v1/jobs and GET /v1/jobs/{id}/logs.
const (
	defaultJobLimit = 100
	defaultLogLimit = 1000
	maxLimit        = 1000
)

// JobBody is a job as the API shows it (and the CLI's --json). Times are
// RFC 3339 in UTC with microseconds, omitted when zero.
type JobBody struct {
	ID       int64       `json:"id"`
	Kind     string      `json:"kind"`
	Resource resource.ID `json:"resource"`
	// Args are the kind's arguments, stored as JSON and shown as they are.
	Args            json.RawMessage    `json:"args,omitempty"`
	Status          registry.JobStatus `json:"status"`
	Attempts        int                `json:"attempts"`
	MaxAttempts     int                `json:"max_attempts"`
	DependsOn       []int64            `json:"depends_on,omitempty"`
	BlockedBy       int64              `json:"blocked_by,omitempty"`
	CreatedAt       string             `json:"created_at,omitempty"`
	RunAfter        string             `json:"run_after,omitempty"`
	StartedAt       string             `json:"started_at,omitempty"`
	EndedAt         string             `json:"ended_at,omitempty"`
	Worker          string             `json:"worker,omitempty"`
	LeaseUntil      string             `json:"lease_until,omitempty"`
	CancelRequested bool               `json:"cancel_requested"`
	Rows            int64              `json:"rows"`
	Error           string             `json:"error,omitempty"`
	// Result is what a succeeded job produced, as JSON: a training job's
	// is its version, metrics and promotion (coordinator.TrainResult).
	Result json.RawMessage `json:"result,omitempty"`
}

// apiTime formats t as the API writes times; "" (omitted) for the zero time.
func apiTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(value.TimeFormat)
}

// jobToJSON shows j, logging a job whose stored arguments are not JSON.
func (s *server) jobToJSON(r *http.Request, j *registry.Job) JobBody {
	if len(j.Args) > 0 && !json.Valid(j.Args) {
		s.Logger.Warn("job arguments are not JSON", "method", r.Method, "path", r.URL.Path, "job", j.ID)
	}
	return NewJobBody(j)
}

// NewJobBody shows j. Arguments that are not JSON (the store keeps them
// opaque) are shown as a string: one bad job never breaks a response, as
// json.Marshal refuses an invalid RawMessage.
func NewJobBody(j *registry.Job) JobBody {
	out := JobBody{
		ID: j.ID, Kind: j.Kind, Resource: j.Resource, Status: j.Status,
		Attempts: j.Attempts, MaxAttempts: j.MaxAttempts, DependsOn: j.DependsOn, BlockedBy: j.BlockedBy,
		CreatedAt: apiTime(j.CreatedAt), RunAfter: apiTime(j.RunAfter), StartedAt: apiTime(j.StartedAt),
		EndedAt: apiTime(j.EndedAt), Worker: j.Worker, LeaseUntil: apiTime(j.LeaseUntil),
		CancelRequested: j.CancelRequested, Rows: j.Rows, Error: j.Error,
	}
	out.Args = rawJSON(j.Args)
	out.Result = rawJSON(j.Result)
	return out
}

// rawJSON shows stored JSON as it is, and anything else as a string.
func rawJSON(b []byte) json.RawMessage {
	switch {
	case len(b) == 0:
		return nil
	case json.Valid(b):
		return json.RawMessage(b)
	}
	s, _ := json.Marshal(string(b))
	return s
}

// JobFromBody is NewJobBody's inverse: times are parsed from RFC 3339
// (UTC), Args and Result are kept as the JSON they are. The field the API
// does not show (Key) is empty.
func JobFromBody(b JobBody) (*registry.Job, error) {
	j := &registry.Job{
		ID: b.ID, Kind: b.Kind, Resource: b.Resource, Status: b.Status,
		Attempts: b.Attempts, MaxAttempts: b.MaxAttempts, DependsOn: b.DependsOn, BlockedBy: b.BlockedBy,
		Worker: b.Worker, CancelRequested: b.CancelRequested, Rows: b.Rows, Error: b.Error,
	}
	if len(b.Args) > 0 {
		j.Args = []byte(b.Args)
	}
	if len(b.Result) > 0 {
		j.Result = []byte(b.Result)
	}
	for _, t := range []struct {
		name string
		s    string
		dst  *time.Time
	}{
		{"created_at", b.CreatedAt, &j.CreatedAt}, {"run_after", b.RunAfter, &j.RunAfter}, {"started_at", b.StartedAt, &j.StartedAt},
		{"ended_at", b.EndedAt, &j.EndedAt}, {"lease_until", b.LeaseUntil, &j.LeaseUntil},
	} {
		var err error
		if *t.dst, err = parseAPITime(t.s); err != nil {
			return nil, fmt.Errorf("job %d: %s: %w", b.ID, t.name, err)
		}
	}
	return j, nil
}

// parseAPITime reads a time as apiTime writes it; "" is the zero time.
func parseAPITime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// JobLogLineBody is one line of a job's log as the API shows it.
type JobLogLineBody struct {
	Seq  int64  `json:"seq"`
	Time string `json:"time,omitempty"`
	Line string `json:"line"`
}

// NewJobLogLineBody shows one log line.
func NewJobLogLineBody(l registry.JobLogLine) JobLogLineBody {
	return JobLogLineBody{Seq: l.Seq, Time: apiTime(l.Time), Line: l.Line}
}

// JobLogLineFromBody is NewJobLogLineBody's inverse.
func JobLogLineFromBody(b JobLogLineBody) (registry.JobLogLine, error) {
	t, err := parseAPITime(b.Time)
	if err != nil {
		return registry.JobLogLine{}, fmt.Errorf("log line %d: time: %w", b.Seq, err)
	}
	return registry.JobLogLine{Seq: b.Seq, Time: t, Line: b.Line}, nil
}

// JobsBody is the answer of the endpoints that queue jobs (run,
// materialize, export, retry) and of GET /v1/jobs.
type JobsBody struct {
	Jobs []JobBody `json:"jobs"`
}

// jobsBody shows jobs, logging any whose arguments are not JSON.
func (s *server) jobsBody(r *http.Request, jobs []*registry.Job) JobsBody {
	out := JobsBody{Jobs: make([]JobBody, len(jobs))}
	for i, j := range jobs {
		out.Jobs[i] = s.jobToJSON(r, j)
	}
	return out
}

// JobsFromBody is the inverse of JobsBody.
func JobsFromBody(b JobsBody) ([]*registry.Job, error) {
	out := make([]*registry.Job, len(b.Jobs))
	for i, jb := range b.Jobs {
		j, err := JobFromBody(jb)
		if err != nil {
			return nil, err
		}
		out[i] = j
	}
	return out, nil
}

// invalid returns a 400 error.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", serving.ErrInvalid, fmt.Sprintf(format, args...))
}

// checkQuery refuses query parameters other than allowed, so that a typo
// (?stauts=failed) is an error rather than a silently ignored filter.
func checkQuery(q url.Values, allowed ...string) error {
	for name := range q {
		if !slices.Contains(allowed, name) {
			if len(allowed) == 0 {
				return invalid("unknown query parameter %q: this endpoint takes none", name)
			}
			return invalid("unknown query parameter %q: use %s", name, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// queryOne returns the single value of a query parameter ("" when absent).
func queryOne(q url.Values, name string) (string, error) {
	vs := q[name]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", invalid("query parameter %s is given %d times; give it once", name, len(vs))
}

// queryLimit reads the limit query parameter: 1..maxLimit, def when absent.
func queryLimit(q url.Values, def int) (int, error) {
	s, err := queryOne(q, "limit")
	if err != nil || s == "" {
		return def, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, invalid("limit %q is not an integer from 1 to %d", s, maxLimit)
	}
	return n, nil
}

// jobStatuses lists the valid statuses for error messages.
func jobStatuses() string {
	names := make([]string, len(registry.JobStatuses))
	for i, st := range registry.JobStatuses {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}

// parseListJobs reads the query of GET /v1/jobs.
func parseListJobs(q url.Values) (*registry.ListJobsParams, error) {
	if err := checkQuery(q, "status", "kind", "resource", "key_prefix", "before", "limit"); err != nil {
		return nil, err
	}
	p := &registry.ListJobsParams{}
	// status repeats (status=queued&status=running) or lists (status=queued,running).
	for _, v := range q["status"] {
		for _, name := range strings.Split(v, ",") {
			st := registry.JobStatus(strings.TrimSpace(name))
			if !st.Valid() {
				return nil, invalid("unknown job status %q: use %s", name, jobStatuses())
			}
			if !slices.Contains(p.Statuses, st) {
				p.Statuses = append(p.Statuses, st)
			}
		}
	}
	kind, err := queryOne(q, "kind")
	if err != nil {
		return nil, err
	}
	p.Kind = kind
	res, err := queryOne(q, "resource")
	if err != nil {
		return nil, err
	}
	if res != "" {
		k, ref, ok := strings.Cut(res, "/")
		if !ok {
			return nil, invalid("resource %q is not kind/name or kind/name:variant (like feature/opens_30d:v1)", res)
		}
		kind, err := resource.ParseKind(k)
		if err != nil {
			return nil, invalid("resource %q: %v", res, err)
		}
		r, err := resource.ParseRef(ref)
		if err != nil {
			return nil, invalid("resource %q: %v", res, err)
		}
		p.Resource = resource.NewID(kind, r)
	}
	if p.KeyPrefix, err = queryOne(q, "key_prefix"); err != nil {
		return nil, err
	}
	before, err := queryOne(q, "before")
	if err != nil {
		return nil, err
	}
	if before != "" {
		if p.BeforeID, err = strconv.ParseInt(before, 10, 64); err != nil || p.BeforeID < 1 {
			return nil, invalid("before %q is not a job id (a positive integer)", before)
		}
	}
	if p.Limit, err = queryLimit(q, defaultJobLimit); err != nil {
		return nil, err
	}
	return p, nil
}

// pathJobID reads the {id} path segment.
func pathJobID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, invalid("job id %q is not a positive integer", s)
	}
	return id, nil
}

func (s *server) listJobs(w http.ResponseWriter, r *http.Request) {
	p, err := parseListJobs(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	jobs, err := s.Platform.ListJobs(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.jobsBody(r, jobs))
}

func (s *server) getJob(w http.ResponseWriter, r *http.Request) {
	pathOp(s, w, r, pathJobID, s.Platform.GetJob, func(j *registry.Job) any { return s.jobToJSON(r, j) })
}

// JobLogsBody is the answer of GET /v1/jobs/{id}/logs.
type JobLogsBody struct {
	Lines []JobLogLineBody `json:"lines"`
}

func (s *server) jobLogs(w http.ResponseWriter, r *http.Request) {
	id, err := pathJobID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := parseJobLogs(id, r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lines, err := s.Platform.JobLogs(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := JobLogsBody{Lines: make([]JobLogLineBody, len(lines))}
	for i, l := range lines {
		out.Lines[i] = NewJobLogLineBody(l)
	}
	writeJSON(w, http.StatusOK, out)
}

// parseJobLogs reads the query of GET /v1/jobs/{id}/logs.
func parseJobLogs(id int64, q url.Values) (*registry.JobLogsParams, error) {
	if err := checkQuery(q, "after", "limit"); err != nil {
		return nil, err
	}
	p := &registry.JobLogsParams{ID: id}
	after, err := queryOne(q, "after")
	if err != nil {
		return nil, err
	}
	if after != "" {
		if p.After, err = strconv.ParseInt(after, 10, 64); err != nil || p.After < 0 {
			return nil, invalid("after %q is not a sequence number (an integer, 0 or more)", after)
		}
	}
	if p.Limit, err = queryLimit(q, defaultLogLimit); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *server) cancelJob(w http.ResponseWriter, r *http.Request) {
	pathOp(s, w, r, pathJobID, s.Platform.CancelJob, func(j *registry.Job) any { return s.jobToJSON(r, j) })
}

// RetryRequest is the (optional) body of POST /v1/jobs/{id}/retry.
type RetryRequest struct {
	// Detach leaves the retried jobs to workers; otherwise the server
	// works them.
	Detach bool `json:"detach,omitempty"`
}

func (s *server) retryJob(w http.ResponseWriter, r *http.Request) {
	id, err := pathJobID(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	var req RetryRequest
	if err == nil {
		err = decodeOptional(r, &req)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	jobs, err := s.Platform.RetryJob(r.Context(), &platform.RetryJobParams{ID: id, Detach: req.Detach})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.jobsBody(r, jobs))
}
