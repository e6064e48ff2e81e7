package metrics_test

import (
	"testing"
	"time"

	"github.com/slipway-ml/slipway/metrics"
)

// BenchmarkPredictRequest is what the metrics add to one answered predict
// request: the HTTP counters and histogram, the predict histogram and the
// predictions counter; one goroutine. The online store's wrapper adds two
// clock reads and one observation per read.
func BenchmarkPredictRequest(b *testing.B) {
	m := metrics.New(metrics.Config{})
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveRequest("POST /v1/endpoints/{name}/predict", 200, 300*time.Microsecond)
		m.ObservePredict("purchase:default", 3, 300*time.Microsecond)
		m.AddPredictions("purchase:default", 3, 1)
	}
}
