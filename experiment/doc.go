// Package experiment splits an endpoint's traffic between model versions and says, with statistics checked against scipy, which arm wins.
//
// The statistics (stats.go) are the textbook ones, written out in pure Go on
// the standard library and compared with scipy on fixed data in the tests:
// a Wilson score interval for a conversion rate, a t interval for a mean,
// the pooled two-proportion z-test, Welch's t-test, a delta-method interval
// for the relative lift, and a chi-square test of the traffic split (the
// sample-ratio-mismatch check). Analyze (verdict.go) turns them into a report
// with a plain-language verdict.
package experiment
