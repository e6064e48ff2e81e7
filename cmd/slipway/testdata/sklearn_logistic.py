#!/usr/bin/env python3
"""Checks Slipway's built-in logistic regression against scikit-learn, for
the end-to-end test of trained models (models_python_test.go).

Usage:
  sklearn_logistic.py fit RAW.csv INPUT.json OUT.json HOLDOUT.csv
  sklearn_logistic.py metrics SCORES.csv LABEL OUT.json

fit: RAW.csv is a plain export (`slipway training-set export NAME --format
csv`); INPUT.json is {"encoding": the model version's stored encoding,
"entity": ..., "label": ..., "holdout_percent": 20}. Independently of
Slipway's Go code it re-implements what a training job does with the rows:
leaves out rows without a label, orders the rest by label time (stable: rows
of one time keep the file's order), holds out the newest
ceil(n * percent / 100), one-hot encodes the features with the encoding's
vocabularies (a null or a value outside the vocabulary is NaN in all of the
feature's columns; bools 0/1; timestamps seconds since the epoch), imputes
each column's mean over the training rows (0 for a column without values),
and fits LogisticRegression(C=1) with newton-cg to tol 1e-8, the optimum
of the objective the built-in trainer minimizes. It checks that each
string vocabulary is exactly the training rows' distinct values in byte
order (they are fewer than the cap here), writes the holdout rows to
HOLDOUT.csv as RAW.csv has them, and writes OUT.json: the columns, the
coefficients by column, the intercept, the training means, the row counts,
scikit-learn's holdout probabilities and their roc_auc_score.

metrics: SCORES.csv is `slipway score` output; writes roc_auc_score,
log_loss and accuracy_score (p > 0.5 predicts 1) of its "prediction" column
against the LABEL column (true/false or 0/1) to OUT.json.
"""
import csv
import json
import math
import sys
import warnings

import numpy as np
import pandas as pd
from scipy.optimize._linesearch import LineSearchWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score


def label01(s):
    return s.map({"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0, "": np.nan}).astype(np.float64)


def encode(df, encoding):
    """One-hot encodes df's raw text columns as the encoding says."""
    cols, names = [], []
    for f in encoding["features"]:
        raw = df[f["name"]]
        null = raw == ""
        t = f["type"]
        if t == "string":
            for v in f["vocabulary"]:
                col = (raw == v).astype(np.float64)
                # Missing (null, or unseen in training) is NaN in every column.
                col[~raw.isin(f["vocabulary"])] = np.nan
                cols.append(col.to_numpy())
                names.append(f["name"] + "=" + v)
            continue
        if t in ("int64", "float64"):
            # float() reads numbers, nan and inf as Go's ParseFloat does.
            col = raw.map(lambda s: float(s) if s != "" else np.nan).astype(np.float64)
        elif t == "bool":
            col = raw.map({"true": 1.0, "false": 0.0, "": np.nan}).astype(np.float64)
        elif t == "timestamp":
            us = pd.to_datetime(raw.where(~null, None), utc=True).astype("int64") // 1000
            col = (us.astype(np.float64) / 1e6).where(~null, np.nan)
        else:
            raise SystemExit("unknown feature type %r" % t)
        cols.append(col.to_numpy())
        names.append(f["name"])
    return np.column_stack(cols), names


def fit(raw_path, input_path, out_path, holdout_path):
    with open(input_path) as f:
        inp = json.load(f)
    encoding, label = inp["encoding"], inp["label"]
    assert encoding["strings"] == "onehot", encoding["strings"]
    # Everything as text, exactly as written; only an empty field is null.
    df = pd.read_csv(raw_path, dtype=str, keep_default_na=False)
    df["_line"] = np.arange(len(df))
    df = df[df[label] != ""]
    t = pd.to_datetime(df["timestamp"], utc=True).astype("int64")
    df = df.iloc[np.argsort(t.to_numpy(), kind="stable")]
    n = len(df)
    k = max(int(math.ceil(n * float(inp["holdout_percent"]) / 100)), 1)
    train, hold = df.iloc[: n - k], df.iloc[n - k:]

    for feat in encoding["features"]:
        if feat["type"] == "string":
            seen = sorted({v for v in train[feat["name"]] if v != ""}, key=lambda s: s.encode())
            assert seen == feat["vocabulary"], (feat["name"], seen, feat["vocabulary"])

    X, names = encode(train, encoding)
    Xh, _ = encode(hold, encoding)
    y, yh = label01(train[label]).to_numpy(), label01(hold[label]).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # mean of an all-NaN column
        means = np.nanmean(X, axis=0)
    means = np.where(np.isnan(means), 0.0, means)
    X = np.where(np.isnan(X), means, X)
    Xh = np.where(np.isnan(Xh), means, Xh)

    # tol 1e-8 on the gradient: at 1e-10 the line search runs into
    # rounding on these unscaled columns and stops with a warning. A
    # warning of no convergence fails the test. A line search stopped by
    # rounding is not an error: the data end on the day the test runs
    # (quickstart), and on some days the last Newton step already sits at
    # the optimum to rounding; the Go side compares the fitted model with
    # its own, which fails if this one stopped short.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=LineSearchWarning)
        warnings.filterwarnings("ignore", message="Line Search failed")
        lr = LogisticRegression(C=1.0, solver="newton-cg", tol=1e-8, max_iter=1000)
        lr.fit(X, y)
    proba = lr.predict_proba(Xh)[:, 1]

    with open(raw_path, newline="") as f:
        lines = list(csv.reader(f))
    with open(holdout_path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(lines[0])
        for i in hold["_line"]:
            w.writerow(lines[1 + i])

    with open(out_path, "w") as f:
        json.dump({
            "columns": names,
            "coefficients": dict(zip(names, (float(c) for c in lr.coef_[0]))),
            "intercept": float(lr.intercept_[0]),
            "means": dict(zip(names, (float(m) for m in means))),
            "train_rows": len(train),
            "holdout_rows": len(hold),
            "n_iter": int(lr.n_iter_[0]),
            "holdout_proba": [float(p) for p in proba],
            "holdout_auc": float(roc_auc_score(yh, proba)),
        }, f)


def metrics(scores_path, label, out_path):
    df = pd.read_csv(scores_path, dtype={label: str}, keep_default_na=False)
    y = label01(df[label]).to_numpy()
    p = pd.to_numeric(df["prediction"]).to_numpy(dtype=np.float64)
    with open(out_path, "w") as f:
        json.dump({
            "rows": len(df),
            "auc": float(roc_auc_score(y, p)),
            "log_loss": float(log_loss(y, p)),
            "accuracy": float(accuracy_score(y, (p > 0.5).astype(np.float64))),
        }, f)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "fit":
        fit(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "metrics":
        metrics(*sys.argv[2:])
    else:
        raise SystemExit(__doc__)
