#!/usr/bin/env python3
"""Trains small XGBoost models on seeded random data with missing values,
saves each with Booster.save_model (JSON) and writes XGBoost's own
predictions for the Go tests in package model to compare against.

Usage: xgboost_models.py OUT_DIR [--bench]
Writes OUT_DIR/NAME.json (the model) and OUT_DIR/cases.json:
  {"xgboost_version": "...", "cases": [{"name", "model", "objective",
   "num_class", "rows": [[x or null]], "predict": [...], "margin": [...]}]}
NaN inputs are written as null. Predictions are XGBoost's float32 outputs,
flattened row-major for multi-class models.
With --bench it writes only bench.json (200 trees, depth 6, 20 features),
bench_rows.json, the rows the benchmarks score, and bench_score.csv, 100,000
other rows as an encoded CSV file (id, f0..f19; NaN empty) for the scoring
benchmarks (needs pandas).
"""
import json
import os
import sys

import numpy as np
import xgboost as xgb


def data(rng, n, nfeat, nan_frac=0.1):
    x = rng.normal(size=(n, nfeat)).astype(np.float32)
    # Whole columns of NaN in some rows and scattered NaN elsewhere, so the
    # learned default directions are exercised in both directions.
    mask = rng.random(size=(n, nfeat)) < nan_frac
    x[mask] = np.nan
    return x


def rows_json(x):
    return [[None if np.isnan(v) else float(v) for v in row] for row in x]


def write_score_csv(path, x):
    """An encoded file to score: an id column, then f0..f19, NaN empty."""
    import pandas as pd
    df = pd.DataFrame(x.astype(np.float64), columns=[f"f{i}" for i in range(x.shape[1])])
    df.insert(0, "id", [f"e{i}" for i in range(len(df))])
    df.to_csv(path, index=False, na_rep="")


def main():
    out = sys.argv[1]
    bench = "--bench" in sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261203)

    specs = [
        # name, objective, params, trees, features
        ("binary", "binary:logistic", {"max_depth": 4}, 120, 12),
        ("binary_base", "binary:logistic", {"max_depth": 3, "base_score": 0.3}, 50, 8),
        ("regression", "reg:squarederror", {"max_depth": 6}, 200, 10),
        ("reg_logistic", "reg:logistic", {"max_depth": 5}, 80, 9),
        ("multiclass", "multi:softprob", {"max_depth": 4, "num_class": 4}, 60, 10),
    ]
    if bench:
        specs = [("bench", "binary:logistic", {"max_depth": 6}, 200, 20)]

    cases = []
    for name, objective, params, trees, nfeat in specs:
        x = data(rng, 2000, nfeat)
        # Labels depend on the features, including whether one is missing,
        # so the trees split on them and learn a direction for NaN.
        x0 = np.nan_to_num(x, nan=0.0)
        signal = x0[:, 0] - 0.7 * x0[:, 1] + 0.5 * x0[:, 2] * x0[:, 3] + np.isnan(x[:, 4]) * 1.5
        if objective == "binary:logistic":
            y = (signal + rng.normal(scale=0.5, size=len(x)) > 0).astype(np.float32)
        elif objective == "reg:logistic":
            y = 1 / (1 + np.exp(-signal))
        elif objective == "multi:softprob":
            y = np.digitize(signal, [-1, 0, 1]).astype(np.float32)
        else:
            y = 50 + 10 * signal + rng.normal(size=len(x))
        p = dict(params, objective=objective, eta=0.3, seed=7, tree_method="hist")
        booster = xgb.train(p, xgb.DMatrix(x, label=y), num_boost_round=trees)
        path = os.path.join(out, name + ".json")
        booster.save_model(path)

        nrows = 1000 if not bench else 10000
        test = data(rng, nrows, nfeat, nan_frac=0.15)
        dtest = xgb.DMatrix(test)
        if bench:
            with open(os.path.join(out, "bench_rows.json"), "w") as f:
                json.dump(rows_json(test), f)
            write_score_csv(os.path.join(out, "bench_score.csv"), data(rng, 100000, nfeat, nan_frac=0.15))
            continue
        pred = booster.predict(dtest)
        margin = booster.predict(dtest, output_margin=True)
        cases.append({
            "name": name,
            "model": name + ".json",
            "objective": objective,
            "num_class": params.get("num_class", 0),
            "num_feature": nfeat,
            "rows": rows_json(test),
            "predict": [float(v) for v in pred.ravel()],
            "margin": [float(v) for v in margin.ravel()],
        })
    if not bench:
        with open(os.path.join(out, "cases.json"), "w") as f:
            json.dump({"xgboost_version": xgb.__version__, "cases": cases}, f)


if __name__ == "__main__":
    main()
