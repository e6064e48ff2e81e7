package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/server"
)

// JobsBody is what a command that queues a job prints with --json: the
// jobs, and the last one's result once it has succeeded (null otherwise).
type JobsBody[T any] struct {
	Jobs   []server.JobBody `json:"jobs"`
	Result *T               `json:"result"`
}

// runJobs follows queued jobs as the CLI does (not when --detach and
// --json: the jobs are printed as queued), and reads the last one's
// result when it is of kind and succeeded. With --json it prints a
// JobsBody and printed is true. err is the jobs' failure, or reading or
// printing's.
func runJobs[T any](ctx context.Context, a *app, api platform.API, jobs []*registry.Job, kind string, detach, asJSON bool) (res *T, ended []*registry.Job, printed bool, err error) {
	ended, ferr := jobs, error(nil)
	if !(detach && asJSON) {
		ended, ferr = a.follow(ctx, api, jobs, detach, a.stderr)
	}
	last := ended[len(ended)-1]
	if last.Kind == kind && last.Status == registry.JobSucceeded {
		res = new(T)
		if err := json.Unmarshal(last.Result, res); err != nil {
			return nil, ended, false, fmt.Errorf("reading the result of %s job %d: %w", kind, last.ID, err)
		}
	}
	if !asJSON {
		return res, ended, false, ferr
	}
	out := JobsBody[T]{Jobs: make([]server.JobBody, len(ended)), Result: res}
	for i, j := range ended {
		out.Jobs[i] = server.NewJobBody(j)
	}
	if err := printJSON(a, out); err != nil {
		return res, ended, true, err
	}
	return res, ended, true, ferr
}
