#!/usr/bin/env python3
"""Times XGBoost's own prediction on the benchmark model and rows that
xgboost_models.py --bench wrote into DIR, for bench/model_xgboost.sh.

Usage: xgboost_bench.py DIR [--score]
Prints one line per way of predicting and thread count: rows/s, best of 7.
With --score it times scoring the 100,000-row file bench_score.csv instead
(best of 3 for the whole file).
"""
import json
import os
import sys
import time

import numpy as np
import xgboost as xgb

d = sys.argv[1]
with open(os.path.join(d, "bench_rows.json")) as f:
    rows = np.array([[np.nan if v is None else v for v in r] for r in json.load(f)], dtype=np.float32)
booster = xgb.Booster(model_file=os.path.join(d, "bench.json"))


def best(fn, reps=7):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def per_row():
    print(f"XGBoost {xgb.__version__}, {len(rows)} rows, {rows.shape[1]} features, {booster.num_boosted_rounds()} trees")
    for nthread in (1, 2):
        booster.set_param({"nthread": nthread})
        t = best(lambda: booster.predict(xgb.DMatrix(rows, nthread=nthread)))
        print(f"xgboost DMatrix+predict nthread={nthread}: {len(rows) / t:,.0f} rows/s ({t * 1e9 / len(rows):.0f} ns/row)")
        t = best(lambda: booster.inplace_predict(rows))
        print(f"xgboost inplace_predict nthread={nthread}: {len(rows) / t:,.0f} rows/s ({t * 1e9 / len(rows):.0f} ns/row)")
        t = best(lambda: [booster.inplace_predict(rows[i:i + 1]) for i in range(1000)], reps=3)
        print(f"xgboost inplace_predict one row at a time nthread={nthread}: {1000 / t:,.0f} rows/s ({t * 1e9 / 1000:.0f} ns/row)")


def score():
    # Scoring a file, as `slipway score` does: bench_score.csv (100,000 encoded
    # rows) read with pandas, predicted, and written with the prediction
    # appended; and the prediction alone on the matrix already in memory.
    import pandas as pd

    path = os.path.join(d, "bench_score.csv")
    out_path = os.path.join(d, "bench_score_out_python.csv")
    df = pd.read_csv(path)
    features = [c for c in df.columns if c != "id"]
    n = len(df)
    booster.set_param({"nthread": 2})

    def score_file():
        df = pd.read_csv(path)
        pred = booster.predict(xgb.DMatrix(df[features], nthread=2))
        df["prediction"] = pred
        df.to_csv(out_path, index=False, na_rep="")

    # The file's DataFrame gives the booster feature names; predict on the
    # unnamed matrix first.
    print(f"scoring {n} rows of {path.rsplit('/', 1)[-1]}, 2 threads:")
    m = df[features].to_numpy(dtype=np.float32)
    # A fresh DMatrix per run: Booster.predict caches its predictions for a
    # DMatrix it has seen.
    dms = [xgb.DMatrix(m, nthread=2) for _ in range(7)]
    t = best(lambda: booster.predict(dms.pop()))
    print(f"xgboost in memory: predict(DMatrix built) nthread=2: {n / t:,.0f} rows/s ({t * 1e9 / n:.0f} ns/row)")
    t = best(lambda: booster.inplace_predict(m))
    print(f"xgboost in memory: inplace_predict nthread=2: {n / t:,.0f} rows/s ({t * 1e9 / n:.0f} ns/row)")
    t = best(score_file, reps=3)
    print(f"xgboost file: read_csv+DMatrix+predict+to_csv nthread=2: {n / t:,.0f} rows/s ({t * 1e9 / n:.0f} ns/row)")


if "--score" in sys.argv[2:]:
    score()
else:
    per_row()
