package drift_test

import (
	"fmt"

	"github.com/slipway-ml/slipway/drift"
)

// A feature's reference and current window, tested by the method
// Evidently's table picks, and the dataset's verdict over its features.
// (scipy.stats.ks_2samp gives the same p-value, 0.049865, and
// scipy.stats.chisquare 0.51342.)
func Example() {
	ref := drift.Data{Sample: drift.Sample{Values: []float64{3, 5, 6, 7, 8, 9, 10, 12, 13, 15}}}
	cur := drift.Data{Sample: drift.Sample{Values: []float64{10, 11, 13, 14, 15, 16, 18, 19}}}
	m, err := drift.DefaultMethod(ref, cur, true, nil)
	if err != nil {
		panic(err)
	}
	amount, err := m.Test(ref, cur)
	if err != nil {
		panic(err)
	}
	fmt.Printf("amount: %s p=%.4f drifted=%v\n", amount.Method, amount.Score, amount.Drifted)

	segment, err := drift.NewMethod(drift.MethodChiSquare, drift.Thresholds{drift.MethodChiSquare: 0.01})
	if err != nil {
		panic(err)
	}
	seg, err := segment.Test(drift.Data{Counts: drift.Counts{"a": 50, "b": 30, "c": 20}},
		drift.Data{Counts: drift.Counts{"a": 45, "b": 35, "c": 20}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("segment: %s p=%.4f drifted=%v\n", seg.Method, seg.Score, seg.Drifted)

	dataset, share, err := drift.DatasetDrift([]drift.Result{amount, seg}, 0)
	if err != nil {
		panic(err)
	}
	fmt.Printf("dataset drifted=%v (share %.2f)\n", dataset, share)
	// Output:
	// amount: ks p=0.0499 drifted=true
	// segment: chisquare p=0.5134 drifted=false
	// dataset drifted=true (share 0.50)
}
