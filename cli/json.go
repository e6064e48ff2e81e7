package cli

// The shapes --json prints. Where the HTTP API has an equivalent endpoint,
// the CLI prints the server's own types (server.ResourceBody, JobBody,
// JobLogLineBody); the types below are for output the API has no endpoint
// for.

import (
	"encoding/json"
	"errors"

	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/resource"
)

func printJSON(a *app, v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
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
