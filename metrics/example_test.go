package metrics_test

import (
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/metrics"
)

// A server counts each request under its route pattern; the handler
// serves what was counted (here read back through the Gatherer).
func ExampleMetrics_ObserveRequest() {
	m := metrics.New(metrics.Config{})
	m.ObserveRequest("POST /v1/online-features", 200, 2*time.Millisecond)
	m.ObserveRequest("POST /v1/online-features", 404, time.Millisecond)
	fams, err := m.Gatherer().Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range fams {
		if f.GetName() != "slipway_http_requests_total" {
			continue
		}
		for _, s := range f.Metric {
			fmt.Printf("%s{code=%s} %v\n", f.GetName(), s.Label[0].GetValue(), s.Counter.GetValue())
		}
	}
	// Output:
	// slipway_http_requests_total{code=200} 1
	// slipway_http_requests_total{code=404} 1
}
