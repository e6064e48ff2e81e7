"""Reference values for experiment's statistics, computed with scipy.

Usage: python3 reference.py OUTDIR  (writes OUTDIR/reference.json)

stats_test.go runs this with Debian's /usr/bin/python3 and python3-scipy and
compares every number with the Go implementation to 1e-6. Each case carries
its inputs, so the cases are defined here, in one place.
"""
import json
import math
import os
import sys

import scipy
from scipy import stats

out = {"scipy_version": scipy.__version__}

# Pooled two-proportion z-test: z by the textbook formula, p from the normal.
ztests = []
for x1, n1, x2, n2 in [
    (3, 20, 7, 22),            # small n
    (100, 1000, 100, 1000),    # equal
    (10000, 100000, 10400, 100000),  # large n
    (45, 300, 80, 700),        # unequal n
    (0, 50, 5, 50),            # extreme p: none in control
    (1, 10000, 12, 10000),     # rare conversions
    (700, 1000, 500, 1000),    # treatment much worse, tiny p
    (9990, 10000, 9999, 10000),  # near 1
]:
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    z = (p2 - p1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p = 2 * stats.norm.sf(abs(z))
    # The same test another way: Pearson's chi-square on the 2x2 table is z^2.
    table = stats.chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)
    ztests.append({"x1": x1, "n1": n1, "x2": x2, "n2": n2, "z": z, "p": float(p),
                   "z2_contingency": float(table[0]), "p_contingency": float(table[1])})
out["ztest"] = ztests

# Welch's t-test from summary statistics (variances are unbiased, so std = sqrt).
welch = []
for m1, v1, n1, m2, v2, n2 in [
    (10.0, 4.0, 5, 12.0, 9.0, 7),          # small n
    (5.0, 2.5, 100000, 5.02, 2.6, 120000),  # large n
    (1.0, 1.0, 50, 1.0, 1.0, 50),          # equal means
    (0.5, 0.01, 30, 0.6, 5.0, 10),         # very unequal variances
    (0.0, 1.0, 2, 100.0, 1.0, 2),          # n = 2, huge t
    (20.0, 100.0, 1000, 19.0, 90.0, 3000),  # treatment lower
    (3.0, 0.0, 10, 3.5, 2.0, 10),          # one arm constant
    (0.3, 0.21, 50000000, 0.3002, 0.2101, 50000000),  # 10^8 exposures
    (1.0, 2.0, 300000, 1.002, 2.0, 300000),    # df just above 4e5, small t
    (1.0, 2.0, 150000, 1.02, 2.0, 150000),     # df just below 4e5, t near 3.9
    (1.0, 2.0, 1000000, 0.985, 2.1, 2000000),  # df near 2e6, t near -3.6
]:
    r = stats.ttest_ind_from_stats(m1, math.sqrt(v1), n1, m2, math.sqrt(v2), n2, equal_var=False)
    # scipy tests the first sample against the second; ours is m2 vs m1.
    s1, s2 = v1 / n1, v2 / n2
    df = (s1 + s2) ** 2 / (s1 ** 2 / (n1 - 1) + s2 ** 2 / (n2 - 1))
    welch.append({"m1": m1, "v1": v1, "n1": n1, "m2": m2, "v2": v2, "n2": n2,
                  "t": -float(r.statistic), "df": df, "p": float(r.pvalue)})
out["welch"] = welch

wilson = []
for k, n, level in [
    (0, 10, 0.95), (10, 10, 0.95), (1, 2, 0.95), (50, 100, 0.95),
    (3, 1000, 0.95), (99990, 100000, 0.95), (12345, 54321, 0.95),
    (7, 40, 0.90), (7, 40, 0.99),
]:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    wilson.append({"k": k, "n": n, "level": level, "low": float(ci.low), "high": float(ci.high)})
out["wilson"] = wilson

tint = []
for mean, var, n, level in [
    # df = 1: scipy 1.10's t.ppf(0.975, 1) is 12.706204736432, 2.6e-10 above the
    # exact tan(0.475 pi) = 12.706204736175 that experiment computes.
    (3.0, 2.0, 2, 0.95),
    (10.0, 4.0, 5, 0.95),
    (0.1, 0.09, 1000, 0.95),
    (100.0, 400.0, 1000000, 0.99),
    (-2.0, 0.5, 30, 0.90),
    (0.3, 0.21, 100000000, 0.95),  # a report over 10^8 predictions
    (5.0, 3.0, 400002, 0.95),      # df on either side of 4e5
    (5.0, 3.0, 400000, 0.999),
]:
    low, high = stats.t.interval(level, n - 1, loc=mean, scale=math.sqrt(var / n))
    tint.append({"mean": mean, "variance": var, "n": n, "level": level, "low": float(low), "high": float(high)})
out["tinterval"] = tint

chi = []
for counts, weights in [
    ([5000, 5000], [50, 50]),
    ([5100, 4900], [50, 50]),
    ([5200, 4800], [50, 50]),
    ([50500, 49500], [50, 50]),
    ([900, 100], [90, 10]),
    ([10, 3], [1, 1]),
    ([30, 40, 30], [1, 1, 1]),
    ([1000, 1100, 2000], [25, 25, 50]),
    ([2000, 2300, 2100, 1900], [1, 1, 1, 1]),
]:
    total = sum(counts)
    expected = [total * w / sum(weights) for w in weights]
    r = stats.chisquare(counts, f_exp=expected)
    chi.append({"counts": counts, "weights": weights, "chi2": float(r.statistic), "p": float(r.pvalue)})
out["chisquare"] = chi

# Relative lift by the delta method, from the formula, for proportions and means:
# Var(T/C) ~ Var(T)/C^2 + T^2 Var(C)/C^4.
lift = []
def add_lift(cv, cvar, tv, tvar, level):
    r = tv / cv
    var = tvar / cv ** 2 + tv ** 2 * cvar / cv ** 4
    z = stats.norm.ppf(0.5 + level / 2)
    lift.append({"c": cv, "cvar": cvar, "t": tv, "tvar": tvar, "level": level,
                 "lift": r - 1, "low": r - 1 - z * math.sqrt(var), "high": r - 1 + z * math.sqrt(var)})
for x1, n1, x2, n2 in [(200, 2000, 240, 2000), (3, 50, 9, 60), (10000, 100000, 9800, 100000)]:
    p1, p2 = x1 / n1, x2 / n2
    add_lift(p1, p1 * (1 - p1) / n1, p2, p2 * (1 - p2) / n2, 0.95)
for m1, v1, n1, m2, v2, n2 in [(20.0, 100.0, 1000, 21.0, 110.0, 900), (-5.0, 4.0, 40, 0.0, 9.0, 50)]:
    add_lift(m1, v1 / n1, m2, v2 / n2, 0.95)
add_lift(0.1, 0.0001, 0.12, 0.0002, 0.90)
out["lift"] = lift

# Two-sided 99.9% intervals of binomial counts, for the A/A simulation's bounds.
binom = []
for n, p in [(2000, 0.05), (2000, 0.025), (2000, 0.001)]:
    binom.append({"n": n, "p": p, "low": int(stats.binom.ppf(0.0005, n, p)), "high": int(stats.binom.ppf(0.9995, n, p))})
out["binomial"] = binom

with open(os.path.join(sys.argv[1], "reference.json"), "w") as f:
    json.dump(out, f, indent=1)
