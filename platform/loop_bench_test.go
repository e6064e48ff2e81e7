//go:build linux

package platform_test

import (
	"math"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSimulatedWorld runs TestSimulatedWorldClosesTheLoop's world at a
// larger size: SLIPWAY_SIM_SUBSCRIBERS subscribers (default 20,000, ten
// times the test's), each scored every simulated day, with the retrain
// policy's feedback count and the experiment's min_samples grown in
// proportion. Each run is a new world from the same seed, from the history
// to the endpoint serving the experiment's winner. bench/simulate.sh runs
// it once.
//
// Reported per run: the simulated day the experiment concluded (the shift
// is after day 5), the winner's lift and p-value (as −log10 p),
// predictions/s and feedback events/s through the platform (counted over
// the time spent in Platform.Predict and Platform.RecordFeedback calls),
// the seconds spent shipping the logs into DuckDB, the wall seconds, and
// the peak resident set size of the process (its high-water mark, DuckDB's
// memory included; Linux only, for getrusage's unit).
func BenchmarkSimulatedWorld(b *testing.B) {
	subscribers := 20000
	if v := os.Getenv("SLIPWAY_SIM_SUBSCRIBERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("SLIPWAY_SIM_SUBSCRIBERS=%q: want a whole number of subscribers, at least 100", v)
		}
		subscribers = n
	}
	b.ReportAllocs()
	var runs int
	var day, lift, nlp, wall, predictions, events, predicting, posting, shipping float64
	for b.Loop() {
		start := time.Now()
		r := simulateWorld(b, subscribers)
		wall += time.Since(start).Seconds()
		runs++
		day += float64(r.day)
		lift += r.lift
		nlp -= math.Log10(r.p)
		predictions += float64(r.sim.predictions)
		events += float64(r.sim.events)
		predicting += r.sim.predicting.Seconds()
		posting += r.sim.posting.Seconds()
		shipping += r.sim.shipping.Seconds()
		b.Logf("%d subscribers: concluded on day %d, lift %+.1f%%, p = %.3g; %d predictions in %.2f s, %d feedback events in %.2f s, shipping %.2f s; %.1f s in all",
			subscribers, r.day, 100*r.lift, r.p, r.sim.predictions, r.sim.predicting.Seconds(), r.sim.events, r.sim.posting.Seconds(), r.sim.shipping.Seconds(), time.Since(start).Seconds())
	}
	n := float64(runs)
	b.ReportMetric(day/n, "concluded-day")
	b.ReportMetric(100*lift/n, "lift-%")
	b.ReportMetric(nlp/n, "-log10(p)")
	b.ReportMetric(predictions/predicting, "predictions/s")
	b.ReportMetric(events/posting, "feedback-events/s")
	b.ReportMetric(shipping/n, "ship-s")
	b.ReportMetric(wall/n, "wall-s")
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB") // Maxrss is in KiB on Linux
	}
}
