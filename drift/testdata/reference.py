"""Reference values for drift's statistics, computed with scipy.

Usage: python3 reference.py OUTDIR  (writes OUTDIR/reference.json)

scipy_test.go runs this with Debian's /usr/bin/python3 and python3-scipy and
compares every number with the Go implementation to 1e-6 (relative). Each
case carries its inputs, drawn here from fixed seeds, so the cases are
defined in one place. Where Evidently wraps scipy (chi-square expectations,
the Wasserstein norm, the z-test, zero-filled PSI shares), its construction
is written out here on plain numpy arrays.
"""
import json
import math
import os
import sys

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance
from scipy.stats import _stats_py

out = {"scipy_version": scipy.__version__, "numpy_version": np.__version__}
rng = np.random.default_rng(20261205)


def sample(values, weights=None):
    return {"values": [float(v) for v in values],
            "weights": None if weights is None else [float(w) for w in weights]}


def expand(values, weights):
    """A sample with integer weights as the values repeated."""
    if weights is None:
        return np.asarray(values, dtype=float)
    return np.repeat(np.asarray(values, dtype=float), np.asarray(weights, dtype=int))


def ks_weighted(a, wa, b, wb):
    """ks_2samp's two-sided p-value logic on weighted empirical CDFs, with
    the rounded total weights as the sample sizes."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    wa, wb = np.asarray(wa, float), np.asarray(wb, float)
    ia, ib = np.argsort(a, kind="stable"), np.argsort(b, kind="stable")
    a, wa, b, wb = a[ia], wa[ia], b[ib], wb[ib]
    grid = np.concatenate([a, b])
    ca = np.concatenate([[0.0], np.cumsum(wa)])[np.searchsorted(a, grid, side="right")] / wa.sum()
    cb = np.concatenate([[0.0], np.cumsum(wb)])[np.searchsorted(b, grid, side="right")] / wb.sum()
    d = float(np.max(np.abs(ca - cb)))
    n1, n2 = int(np.round(wa.sum())), int(np.round(wb.sum()))
    if max(n1, n2) <= 10000:
        g = math.gcd(n1, n2)
        ok, d, p = _stats_py._attempt_exact_2kssamp(n1, n2, g, d, "two-sided")
        if ok:
            return d, float(p)
    m, n = sorted([float(n1), float(n2)], reverse=True)
    return d, float(np.clip(stats.kstwo.sf(d, np.round(m * n / (m + n))), 0, 1))


# --- Kolmogorov-Smirnov -------------------------------------------------
ks = []


def add_ks(name, ra, rw, ca, cw, how):
    if how == "scipy":  # unweighted or integer weights: scipy on the values
        r = stats.ks_2samp(expand(ra, rw), expand(ca, cw))
        d, p = float(r.statistic), float(r.pvalue)
    else:
        d, p = ks_weighted(ra, rw if rw is not None else np.ones(len(ra)),
                           ca, cw if cw is not None else np.ones(len(ca)))
    ks.append({"name": name, "ref": sample(ra, rw), "cur": sample(ca, cw), "stat": d, "p": p})


norm = lambda n, loc=0.0, sd=1.0: rng.normal(loc, sd, n)
add_ks("exact 20 vs 25", norm(20), None, norm(25, 0.3), None, "scipy")
add_ks("exact equal 30 vs 30 (square formula)", norm(30), None, norm(30, 0.8), None, "scipy")
add_ks("exact equal 200 vs 200 null", norm(200), None, norm(200), None, "scipy")
add_ks("exact ties 50 vs 40", np.round(norm(50, 0, 2)), None, np.round(norm(40, 0.5, 2)), None, "scipy")
add_ks("exact 1000 vs 800 shifted (small p)", norm(1000), None, norm(800, 0.5), None, "scipy")
add_ks("exact 700 vs 10000", norm(700), None, norm(10000, 0.1), None, "scipy")
add_ks("exact 3 vs 7 disjoint", [1, 2, 3], None, [4, 5, 6, 7, 8, 9, 10], None, "scipy")
add_ks("exact identical", [1, 2, 3, 4], None, [1, 2, 3, 4], None, "scipy")
add_ks("asymptotic 12000 vs 15000 null", norm(12000), None, norm(15000), None, "scipy")
add_ks("asymptotic 12000 vs 15000 shift 0.03", norm(12000), None, norm(15000, 0.03), None, "scipy")
add_ks("asymptotic 12000 vs 15000 shift 0.1", norm(12000), None, norm(15000, 0.1), None, "scipy")
add_ks("asymptotic 100 vs 20000 (n = 100)", norm(100), None, norm(20000, 0.2), None, "scipy")
add_ks("asymptotic 60 vs 10001 (n = 60, large D)", norm(60), None, norm(10001, 0.9), None, "scipy")
add_ks("asymptotic 140 vs 30000 null", norm(140), None, norm(30000), None, "scipy")
# Integer weights: scipy on the values repeated.
v = np.round(norm(40, 0, 3), 1)
add_ks("weighted integer exact", v, rng.integers(1, 6, 40), v + 0.4, rng.integers(1, 6, 40), "scipy")
# A sketch's shape: 200 bins, counts in the thousands (n > 100,000: Pelz-Good).
edges = np.linspace(-4, 4, 200)
w1 = np.round(300000 * stats.norm.pdf(edges) * (edges[1] - edges[0])).astype(int) + 1
w2 = np.round(310000 * stats.norm.pdf(edges, 0.004) * (edges[1] - edges[0])).astype(int) + 1
add_ks("weighted sketch-like 300k vs 310k, tiny shift", edges, w1, edges, w2, "scipy")
w3 = np.round(5000 * stats.norm.pdf(edges, 0.05) * (edges[1] - edges[0])).astype(int)
add_ks("weighted sketch-like 300k vs 5k", edges, w1, edges, w3, "scipy")
# Fractional weights: weighted CDFs, scipy's p-value machinery.
add_ks("weighted fractional exact", norm(30), rng.uniform(0.2, 3, 30), norm(25, 0.4), rng.uniform(0.2, 3, 25), "weighted")
add_ks("weighted fractional asymptotic", norm(300), rng.uniform(30, 60, 300), norm(200, 0.1), rng.uniform(50, 100, 200), "weighted")
out["ks"] = ks

# The one-sample distribution behind the asymptotic p-value, on every branch.
kstwo = []
for n in [3, 10, 50, 100, 140, 141, 500, 1000, 6000, 100000, 150000, 400000]:
    for c in [0.3, 0.6, 0.8, 1.0, 1.3, 1.6, 2.0, 2.5, 3.5, 6.0]:
        x = c / math.sqrt(n)
        if x < 1:
            kstwo.append({"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))})
    for x in [0.7 / n, 0.95 / n, 0.55, 0.8, 1 - 1.5 / n]:
        if 0 < x < 1:
            kstwo.append({"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))})
out["kstwo"] = kstwo

# --- Wasserstein ----------------------------------------------------------
was = []


def add_was(name, ra, rw, ca, cw):
    d = stats.wasserstein_distance(ra, ca, rw, cw)
    mean = np.average(ra, weights=rw)
    std = math.sqrt(np.average((np.asarray(ra) - mean) ** 2, weights=rw))
    was.append({"name": name, "ref": sample(ra, rw), "cur": sample(ca, cw),
                "distance": float(d), "normed": float(d / max(std, 0.001))})


add_was("unweighted", norm(50), None, norm(70, 0.5, 1.5), None)
add_was("ties", np.round(norm(100, 0, 2)), None, np.round(norm(80, 1, 2)), None)
add_was("weighted", norm(40), rng.uniform(0.1, 5, 40), norm(30, 0.2), rng.uniform(0.1, 5, 30))
add_was("sketch-like", edges, w1, edges, w3)
add_was("constant reference (std floor)", [3.0, 3.0, 3.0], None, [3.0, 3.1, 2.9, 3.5], None)
add_was("large", norm(5000, 10, 3), None, norm(4000, 10.3, 3), None)
out["wasserstein"] = was

# --- PSI: reference-quantile bins, Evidently's zero fill ----------------------
psi = []


def fill(s):
    s = s.copy()
    least = s[s != 0].min()
    s[s == 0] = least / 1e6 if least <= 0.0001 else 0.0001
    return s


def add_psi(name, ra, rw, ca, cw, bins):
    r, c = expand(ra, rw), expand(ca, cw)  # integer weights only
    e = np.unique(np.quantile(r, np.arange(1, bins) / bins, method="inverted_cdf"))
    rs = np.bincount(np.searchsorted(e, r, side="left"), minlength=len(e) + 1) / len(r)
    cs = np.bincount(np.searchsorted(e, c, side="left"), minlength=len(e) + 1) / len(c)
    rs, cs = fill(rs), fill(cs)
    psi.append({"name": name, "ref": sample(ra, rw), "cur": sample(ca, cw), "bins": bins,
                "psi": float(np.sum((rs - cs) * np.log(rs / cs)))})


add_psi("deciles null", norm(1000), None, norm(800), None, 10)
add_psi("deciles shift 0.5", norm(1000), None, norm(800, 0.5), None, 10)
add_psi("20 bins with ties", np.round(norm(500, 0, 2)), None, np.round(norm(600, 0.3, 2)), None, 20)
add_psi("empty current bins", norm(300), None, norm(50, 3), None, 10)
add_psi("weighted (sketch-like)", edges, w1, edges, w3, 10)
out["psi"] = psi

# --- Categorical ------------------------------------------------------------
def counts(d):
    return {k: float(v) for k, v in d.items()}


chi, js, zt = [], [], []


def add_cat(name, ref, cur):
    ks_ = sorted(set(k for k, v in ref.items() if v > 0) | set(k for k, v in cur.items() if v > 0))
    rt, ct = sum(ref.values()), sum(cur.values())
    f_exp = [ref.get(k, 0) * ct / rt for k in ks_]
    f_obs = [cur.get(k, 0) for k in ks_]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = stats.chisquare(f_obs, f_exp)
    stat = float(r.statistic)
    chi.append({"name": name, "ref": counts(ref), "cur": counts(cur),
                "stat": None if math.isinf(stat) else stat, "p": float(r.pvalue)})
    p = np.array([ref.get(k, 0) / rt for k in ks_])
    q = np.array([cur.get(k, 0) / ct for k in ks_])
    js.append({"name": name, "ref": counts(ref), "cur": counts(cur), "distance": float(distance.jensenshannon(p, q, 2))})
    if len(ks_) == 2:
        # Evidently: 0 for the first value in sort order, 1 for the other.
        n1, n2 = rt, ct
        p1, p2 = ref.get(ks_[1], 0) / n1, cur.get(ks_[1], 0) / n2
        P = (p1 * n1 + p2 * n2) / (n1 + n2)
        z = (p1 - p2) / math.sqrt(P * (1 - P) * (1 / n1 + 1 / n2))
        zt.append({"name": name, "ref": counts(ref), "cur": counts(cur), "z": z,
                   "p": float(2 * stats.norm.sf(abs(z))), "p_evidently": float(2 * (1 - stats.norm.cdf(abs(z))))})


add_cat("three values, small shift", {"a": 300, "b": 200, "c": 100}, {"a": 280, "b": 230, "c": 90})
add_cat("five values null-ish", {"a": 40, "b": 30, "c": 20, "d": 7, "e": 3}, {"a": 38, "b": 33, "c": 18, "d": 8, "e": 3})
add_cat("value only in reference", {"a": 50, "b": 30, "c": 20}, {"a": 60, "b": 40})
add_cat("value only in current", {"a": 50, "b": 50}, {"a": 40, "b": 40, "new": 20})
add_cat("fractional counts", {"x": 12.5, "y": 7.25, "z": 3.0}, {"x": 10.0, "y": 9.5, "z": 4.75})
add_cat("many values large n", {f"v{i}": 1000 + 37 * i for i in range(30)}, {f"v{i}": 900 + 41 * i for i in range(30)})
add_cat("binary small shift", {"no": 700, "yes": 300}, {"no": 650, "yes": 350})
add_cat("binary large n", {"false": 90000, "true": 10000}, {"false": 89000, "true": 11000})
add_cat("binary strong shift (tiny p)", {"a": 500, "b": 500}, {"a": 300, "b": 700})
add_cat("binary one value only in current", {"a": 100}, {"a": 90, "b": 10})
out["chisquare"], out["jensenshannon"], out["ztest"] = chi, js, zt

with open(os.path.join(sys.argv[1], "reference.json"), "w") as f:
    json.dump(out, f)
