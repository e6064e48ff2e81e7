package cli

// --json prints the HTTP API's shapes: the server's own types
// (server.ResourceBody, JobBody, JobLogLineBody) and the platform's results
// (platform.PlanResult, DoctorReport, Lineage).

import (
	"encoding/json"
)

func printJSON(a *app, v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
