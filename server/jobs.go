package server

// The job queue endpoints (/v1/jobs): read the queue, read a job's log,
// cancel and retry jobs. Routes are registered, and errors become status
// codes, in server.go.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

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
	switch {
	case len(j.Args) == 0:
	case json.Valid(j.Args):
		out.Args = json.RawMessage(j.Args)
	default:
		b, _ := json.Marshal(string(j.Args))
		out.Args = b
	}
	return out
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
	if err := checkQuery(q, "status", "kind", "resource", "limit"); err != nil {
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

// jobErr rewords a store's not-found error so that it names the job and
// says where to look; other errors pass as they are.
func jobErr(id int64, err error) error {
	if errors.Is(err, registry.ErrNotFound) {
		return fmt.Errorf("%w: job %d does not exist; GET /v1/jobs lists jobs", registry.ErrNotFound, id)
	}
	return err
}

func (s *server) listJobs(w http.ResponseWriter, r *http.Request) {
	p, err := parseListJobs(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	jobs, err := s.Registry.ListJobs(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]JobBody, len(jobs))
	for i, j := range jobs {
		out[i] = s.jobToJSON(r, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": out})
}

func (s *server) getJob(w http.ResponseWriter, r *http.Request) {
	id, err := pathJobID(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	j, err := s.Registry.GetJob(r.Context(), id)
	if err != nil {
		s.fail(w, r, jobErr(id, err))
		return
	}
	writeJSON(w, http.StatusOK, s.jobToJSON(r, j))
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
	lines, err := s.Registry.JobLogs(r.Context(), p)
	if err != nil {
		s.fail(w, r, jobErr(id, err))
		return
	}
	out := make([]JobLogLineBody, len(lines))
	for i, l := range lines {
		out[i] = NewJobLogLineBody(l)
	}
	writeJSON(w, http.StatusOK, map[string]any{"lines": out})
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
	s.changeJob(w, r, func(id int64) (*registry.Job, error) {
		return s.Registry.CancelJob(r.Context(), &registry.CancelJobParams{ID: id, Now: s.Now()})
	})
}

func (s *server) retryJob(w http.ResponseWriter, r *http.Request) {
	s.changeJob(w, r, func(id int64) (*registry.Job, error) {
		return s.Registry.RetryJob(r.Context(), &registry.RetryJobParams{ID: id, Now: s.Now()})
	})
}

// changeJob runs a POST /v1/jobs/{id}/... action and answers the job after it.
// The actions take no body and no query parameters.
func (s *server) changeJob(w http.ResponseWriter, r *http.Request, action func(id int64) (*registry.Job, error)) {
	id, err := pathJobID(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	j, err := action(id)
	if err != nil {
		s.fail(w, r, jobErr(id, err))
		return
	}
	writeJSON(w, http.StatusOK, s.jobToJSON(r, j))
}
