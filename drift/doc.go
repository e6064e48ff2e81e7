// Package drift says whether what a model is asked about now (the current
// window) is distributed like what it was trained on (the reference), feature
// by feature and for the dataset as a whole. It holds statistics only, no I/O.
//
// Numeric features come as a weighted Sample (raw values, or a quantile
// sketch's bins weighted by their counts); categorical and boolean features
// as Counts per value. The tests follow Evidently's defaults, whose numbers
// are scipy's:
//
//   - KS: two-sample Kolmogorov-Smirnov, p-value as scipy.stats.ks_2samp
//     (method "auto": exact up to 10,000 per side, else asymptotic);
//   - Wasserstein and NormedWasserstein: scipy.stats.wasserstein_distance,
//     divided by the reference's standard deviation (at least 0.001);
//   - PSI: the population stability index over bins at the reference's
//     quantiles;
//   - ChiSquare: scipy.stats.chisquare of the current counts against the
//     reference's proportions;
//   - JensenShannon: scipy.spatial.distance.jensenshannon (base 2) of the
//     two frequency vectors;
//   - ZTest: the pooled two-proportion z-test of a binary feature.
//
// Method picks one of them by Evidently's table (DefaultMethod) or by name,
// with a threshold, and turns its number into a Result; DatasetDrift says
// whether enough features drifted. docs/design/drift.md says why.
package drift
