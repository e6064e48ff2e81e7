#!/usr/bin/env python3
"""Fits scikit-learn's LogisticRegression and LinearRegression on a seeded
data set with missing values and writes what the Go tests in package model
compare the built-in trainers and metrics with (model/linear_test.go).

Usage: linear_sklearn.py OUT_DIR
Writes OUT_DIR/linear_cases.json:
  {"sklearn_version", "columns": [names],
   "train": {"x": [[x or null]], "y": [0/1], "target": [float]},
   "holdout": {"x": [[x or null]], "y": [0/1], "target": [float]},
   "means": [training mean of each column, NaN ignored],
   "logistic": {"intercept", "coef": [...], "n_iter",
                "tight_intercept", "tight_coef": [...],
                "holdout_proba": [...], "holdout_auc"},
   "ols": {"intercept", "coef": [...], "holdout_predict": [...]},
   "ridge": {"alpha", "intercept", "coef": [...]},
   "metrics": [{"name", "kind": "binary"|"regression", "y": [...],
                "pred": [...], "auc", "log_loss", "accuracy", "rmse", "mae"}]}
NaN inputs are written as null. Both models are fitted on the rows with
every NaN replaced by that column's training mean, which is what the Go
trainers and the slipway-linear format do.
"""
import json
import os
import sys
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import (accuracy_score, log_loss, mean_absolute_error,
                             mean_squared_error, roc_auc_score)

N_TRAIN, N_HOLDOUT = 4000, 1000


def dataset(rng, n):
    """Ten columns on different scales, like an encoded training set: counts,
    amounts, a 0/1 flags, and plain numbers."""
    cols = [
        ("opens_30d", rng.poisson(4.0, n).astype(float)),
        ("clicks_30d", rng.poisson(1.0, n).astype(float)),
        ("avg_order_value", rng.lognormal(0.5, 0.4, n)),
        ("years_since_signup", rng.uniform(0, 4, n)),
        ("is_vip", (rng.random(n) < 0.2).astype(float)),
        ("region=eu", (rng.random(n) < 0.4).astype(float)),
        ("score_a", rng.normal(0, 1, n)),
        ("score_b", rng.normal(0.5, 0.5, n)),
        ("ratio", rng.beta(2, 5, n)),
        ("orders_per_month", rng.lognormal(0.0, 0.7, n)),
    ]
    names = [c[0] for c in cols]
    x = np.column_stack([c[1] for c in cols])
    return names, x


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261203)
    n = N_TRAIN + N_HOLDOUT
    names, x = dataset(rng, n)
    # Ground truth on standardized inputs so every column matters.
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    beta = np.array([0.8, 0.5, 0.6, -0.4, 0.7, -0.3, 1.0, 0.2, -0.5, 0.1])
    eta = -0.4 + z @ beta
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    gamma = np.array([1.5, -2.0, 0.3, 1.0, 3.0, -1.0, 2.0, 4.0, -6.0, 0.8])
    target = 10.0 + x @ gamma - 340.0 + rng.normal(0, 1.5, n)
    # Missing values: scattered in four columns, more in one.
    for j, frac in [(0, 0.05), (2, 0.10), (6, 0.03), (9, 0.20)]:
        x[rng.random(n) < frac, j] = np.nan

    xt, xh = x[:N_TRAIN], x[N_TRAIN:]
    yt, yh = y[:N_TRAIN], y[N_TRAIN:]
    tt, th = target[:N_TRAIN], target[N_TRAIN:]
    means = np.nanmean(xt, axis=0)
    xti = np.where(np.isnan(xt), means, xt)
    xhi = np.where(np.isnan(xh), means, xh)

    # Defaults, as a data scientist would fit it, and a fit run to a far
    # tighter tolerance: the exact optimum the Go trainer (Newton's method)
    # reaches, to tell the trainer's error from where lbfgs stops (newton-cg
    # to 1e-10; its line search may warn that rounding stops it, which is
    # the point).
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        lr = LogisticRegression().fit(xti, yt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tight = LogisticRegression(solver="newton-cg", tol=1e-10, max_iter=1000).fit(xti, yt)
    proba = lr.predict_proba(xhi)[:, 1]

    def logistic(m):
        return float(m.intercept_[0]), [float(c) for c in m.coef_[0]]

    intercept, coef = logistic(lr)
    t_intercept, t_coef = logistic(tight)
    ols = LinearRegression().fit(xti, tt)
    ridge = Ridge(alpha=10.0).fit(xti, tt)
    ols_pred = ols.predict(xhi)

    metrics = []

    def binary(name, yy, p):
        metrics.append({
            "name": name, "kind": "binary",
            "y": [float(v) for v in yy], "pred": [float(v) for v in p],
            "auc": float(roc_auc_score(yy, p)),
            "log_loss": float(log_loss(yy, p)),
            "accuracy": float(accuracy_score(yy, (p > 0.5).astype(float))),
        })

    def regression(name, yy, p):
        metrics.append({
            "name": name, "kind": "regression",
            "y": [float(v) for v in yy], "pred": [float(v) for v in p],
            "rmse": float(np.sqrt(mean_squared_error(yy, p))),
            "mae": float(mean_absolute_error(yy, p)),
        })

    binary("sklearn_holdout_proba", yh, proba)
    # Many ties: probabilities rounded to one decimal.
    binary("ties", yh, np.round(proba, 1))
    # Exactly 0, 1 and values within eps of them: log_loss clips.
    ext = proba.copy()
    ext[:20] = 0.0
    ext[20:40] = 1.0
    ext[40:50] = 1e-300
    ext[50:60] = 1 - 1e-17
    ext[60:70] = 0.5
    binary("extremes", yh, ext)
    binary("small", np.array([0, 0, 1, 1, 0, 1]), np.array([0.1, 0.4, 0.35, 0.8, 0.8, 0.5]))
    regression("ols_holdout", th, ols_pred)
    regression("small", np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0]))

    def rows(a):
        return [[None if np.isnan(v) else float(v) for v in r] for r in a]

    cases = {
        "sklearn_version": sklearn.__version__,
        "columns": names,
        "train": {"x": rows(xt), "y": [float(v) for v in yt], "target": [float(v) for v in tt]},
        "holdout": {"x": rows(xh), "y": [float(v) for v in yh], "target": [float(v) for v in th]},
        "means": [float(v) for v in means],
        "logistic": {
            "intercept": intercept, "coef": coef, "n_iter": int(lr.n_iter_[0]),
            "tight_intercept": t_intercept, "tight_coef": t_coef,
            "holdout_proba": [float(v) for v in proba],
            "holdout_auc": float(roc_auc_score(yh, proba)),
        },
        "ols": {
            "intercept": float(ols.intercept_), "coef": [float(c) for c in ols.coef_],
            "holdout_predict": [float(v) for v in ols_pred],
        },
        "ridge": {"alpha": 10.0, "intercept": float(ridge.intercept_), "coef": [float(c) for c in ridge.coef_]},
        "metrics": metrics,
    }
    with open(os.path.join(out, "linear_cases.json"), "w") as f:
        json.dump(cases, f)


if __name__ == "__main__":
    main()
