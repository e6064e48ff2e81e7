package registrytest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/registry"
)

// BenchmarkJobQueue measures the queue's cost per empty job: what a worker
// does around a job that does nothing (claim, two log lines, finish), with
// the enqueue (in batches of 100) included, for 1 and 4 concurrent workers.
// It reports jobs/s. s must hold no claimable job; the benchmark leaves its
// jobs in it, ended.
func BenchmarkJobQueue(b *testing.B, s registry.Store) {
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			ctx := b.Context()
			now := time.Now()
			start := time.Now()
			for done := 0; done < b.N; {
				n := min(100, b.N-done)
				batch := make([]registry.NewJob, n)
				for i := range batch {
					batch[i] = registry.NewJob{Kind: "noop", Resource: jobResource("bench"), MaxAttempts: 1}
				}
				if _, err := s.EnqueueJobs(ctx, &registry.EnqueueJobsParams{Jobs: batch, Now: now}); err != nil {
					b.Fatal(err)
				}
				done += n
			}
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					name := fmt.Sprintf("bench-%d", w)
					for {
						j, err := s.ClaimJob(ctx, &registry.ClaimJobParams{Worker: name, Now: now, Lease: time.Minute})
						if errors.Is(err, registry.ErrNoJob) {
							return
						}
						if err != nil {
							b.Error(err)
							return
						}
						if err := s.AppendJobLog(ctx, &registry.AppendJobLogParams{ID: j.ID, Time: now, Lines: []string{"started"}}); err != nil {
							b.Error(err)
						}
						if err := s.AppendJobLog(ctx, &registry.AppendJobLogParams{ID: j.ID, Time: now, Lines: []string{"succeeded"}}); err != nil {
							b.Error(err)
						}
						if err := s.FinishJob(ctx, &registry.FinishJobParams{ID: j.ID, Worker: name, Attempt: j.Attempts, Now: now, Status: registry.JobSucceeded}); err != nil {
							b.Error(err)
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
		})
	}
}
