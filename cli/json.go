package cli

// The shapes --json prints. Where the HTTP API has an equivalent endpoint,
// the shape is the API's (docs/openapi.yaml): the types below mirror the
// server's, field for field, and the e2e tests compare the two outputs.

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

func printJSON(a *app, v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// resourceJSON is a resource as GET /v1/resources/{kind}/{ref} shows it:
// its definition and its state.
type resourceJSON struct {
	*resource.Resource
	CreatedAt  time.Time           `json:"created_at"`
	UpdatedAt  time.Time           `json:"updated_at"`
	Status     resource.Status     `json:"status"`
	Error      string              `json:"error,omitempty"`
	Schema     []resource.Column   `json:"schema,omitempty"`
	Deprecated *resource.Mark      `json:"deprecated,omitempty"`
	Deleted    *resource.Mark      `json:"deleted,omitempty"`
	SourceFile *resource.FileState `json:"source_file,omitempty"`
	Dependents []resource.ID       `json:"dependents,omitempty"`
}

func toResourceJSON(r *resource.Resource, dependents []resource.ID) resourceJSON {
	return resourceJSON{Resource: r, CreatedAt: r.State.CreatedAt, UpdatedAt: r.State.UpdatedAt, Status: r.State.Status, Error: r.State.Error, Schema: r.State.Schema,
		Deprecated: r.State.Deprecated, Deleted: r.State.Deleted, SourceFile: r.State.SourceFile, Dependents: dependents}
}

// jobJSON is a job as GET /v1/jobs/{id} shows it. Times are RFC 3339 in UTC
// with microseconds, omitted when zero.
type jobJSON struct {
	ID              int64              `json:"id"`
	Kind            string             `json:"kind"`
	Resource        resource.ID        `json:"resource"`
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

// jobLogLineJSON is one line of a job's log, as GET /v1/jobs/{id}/logs shows it.
type jobLogLineJSON struct {
	Seq  int64  `json:"seq"`
	Time string `json:"time,omitempty"`
	Line string `json:"line"`
}

// apiTime formats t as the API writes times; "" (omitted) for the zero time.
func apiTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(value.TimeFormat)
}

func toJobJSON(j *registry.Job) jobJSON {
	out := jobJSON{
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
		// The store keeps args opaque: shown as a string, like the API does.
		b, _ := json.Marshal(string(j.Args))
		out.Args = b
	}
	return out
}

// planJSON is what 'slipway plan --json' prints: each definition with
// what apply would do, the warnings, and the errors that stop it.
type planJSON struct {
	Items    []planItemJSON    `json:"items"`
	Warnings []definitionError `json:"warnings"`
	Errors   []definitionError `json:"errors"`
}

// planItemJSON is one definition of a plan.
type planItemJSON struct {
	// Action is create, unchanged or conflict.
	Action definition.Action `json:"action"`
	Kind   resource.Kind     `json:"kind"`
	// ID is the resource's name:variant.
	ID string `json:"id"`
	// File and Line are where it is defined.
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	// Diffs are the changed fields of a conflict.
	Diffs []resource.FieldDiff `json:"diffs,omitempty"`
}

// definitionError is a problem in the definitions, with where it is.
type definitionError struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func toDefinitionErrors(es definition.Errors) []definitionError {
	out := make([]definitionError, len(es))
	for i, e := range es {
		out[i] = definitionError{File: e.Pos.File, Line: e.Pos.Line, Field: e.Field, Message: e.Msg}
	}
	return out
}

// toPlanJSON shows a plan, or the definition errors that stopped it (err);
// ok is false when err is another error, which has no JSON shape.
func toPlanJSON(plan *definition.Plan, err error) (out planJSON, ok bool) {
	out = planJSON{Items: []planItemJSON{}, Warnings: []definitionError{}, Errors: []definitionError{}}
	if err != nil {
		var es definition.Errors
		var e *definition.Error
		switch {
		case errors.As(err, &es):
			out.Errors = toDefinitionErrors(es)
		case errors.As(err, &e):
			out.Errors = toDefinitionErrors(definition.Errors{e})
		default:
			return out, false
		}
		return out, true
	}
	for _, it := range plan.Items {
		out.Items = append(out.Items, planItemJSON{Action: it.Action, Kind: it.Resource.Kind, ID: it.Resource.Ref().String(),
			File: it.Def.Pos.File, Line: it.Def.Pos.Line, Diffs: it.Diffs})
	}
	out.Warnings = toDefinitionErrors(plan.Warnings)
	return out, true
}
