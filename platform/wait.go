package platform

import (
	"context"
	"time"

	"github.com/slipway-ml/slipway/registry"
)

// Wait polls jobs through api until every one has ended, and returns them
// as they ended (in the order given). It polls every 20 ms at first,
// backing off to every 500 ms, and returns ctx's error if ctx ends first.
// Whether the jobs succeeded is the caller's to read; the CLI follows jobs
// with their log lines instead (cli/progress.go).
func Wait(ctx context.Context, api API, jobs []*registry.Job) ([]*registry.Job, error) {
	poll := 20 * time.Millisecond
	for {
		out := make([]*registry.Job, 0, len(jobs))
		ended := true
		for _, j := range jobs {
			cur, err := api.GetJob(ctx, j.ID)
			if err != nil {
				return nil, err
			}
			out = append(out, cur)
			ended = ended && cur.Status.Ended()
		}
		if ended {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(poll):
		}
		poll = min(2*poll, 500*time.Millisecond)
	}
}
