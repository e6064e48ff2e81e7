#!/usr/bin/env python3
"""Computes scikit-learn's metrics on seeded predictions for the Go test of
model.Evaluate (model/evaluate_test.go).

Usage: evaluate_sklearn.py OUT_DIR
Writes OUT_DIR/evaluate_cases.json:
  {"sklearn_version", "cases": [{"name", "task", "labels": [...],
   "outputs": [...] (row-major, K per row for multiclass),
   "metrics": {"auc"|"log_loss"|"accuracy"|"rmse"|"mae": value}}]}
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, log_loss, mean_absolute_error,
                             mean_squared_error, roc_auc_score)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261204)
    cases = []

    def binary(name, y, p):
        cases.append({"name": name, "task": "binary_classification",
                      "labels": [float(v) for v in y], "outputs": [float(v) for v in p],
                      "metrics": {"auc": float(roc_auc_score(y, p)),
                                  "log_loss": float(log_loss(y, p)),
                                  "accuracy": float(accuracy_score(y, (p > 0.5).astype(float)))}})

    def regression(name, y, p):
        cases.append({"name": name, "task": "regression",
                      "labels": [float(v) for v in y], "outputs": [float(v) for v in p],
                      "metrics": {"rmse": float(np.sqrt(mean_squared_error(y, p))),
                                  "mae": float(mean_absolute_error(y, p))}})

    def multiclass(name, y, p):
        k = p.shape[1]
        cases.append({"name": name, "task": "multiclass",
                      "labels": [float(v) for v in y], "outputs": [float(v) for v in p.ravel()],
                      "metrics": {"log_loss": float(log_loss(y, p, labels=list(range(k)))),
                                  "accuracy": float(accuracy_score(y, np.argmax(p, axis=1)))}})

    n = 2000
    y = (rng.random(n) < 0.3).astype(float)
    p = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * y - 0.8)))
    binary("binary", y, p)
    pe = np.round(p, 1)
    pe[:10], pe[10:20], pe[20:30] = 0.0, 1.0, 0.5
    binary("binary_ties_extremes", y, pe)

    t = rng.normal(50, 10, n)
    regression("regression", t, t + rng.normal(0, 3, n))

    for k in (3, 5):
        y = rng.integers(0, k, n).astype(float)
        z = rng.normal(size=(n, k))
        z[np.arange(n), y.astype(int)] += 1.0
        pm = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        multiclass(f"multiclass_{k}", y, pm)
    # Exact 0 and 1 (clipped), rows that do not sum to 1 (float32 softmax
    # outputs, or worse: renormalized), argmax ties, and a class never seen
    # in the labels.
    k = 4
    y = rng.integers(0, 3, 300).astype(float)
    pm = rng.dirichlet(np.ones(k), 300)
    pm[:10] = [0.0, 1.0, 0.0, 0.0]
    pm[10:20] = [1.0, 0.0, 0.0, 0.0]
    pm[20:30] = [0.25, 0.25, 0.25, 0.25]
    pm[30:40] = [0.4, 0.4, 0.1, 0.1]
    pm[40:50] *= 0.9
    pm[50:100] = pm[50:100].astype(np.float32)
    multiclass("multiclass_extremes", y, pm)

    with open(os.path.join(out, "evaluate_cases.json"), "w") as f:
        json.dump({"sklearn_version": sklearn.__version__, "cases": cases}, f)


if __name__ == "__main__":
    main()
