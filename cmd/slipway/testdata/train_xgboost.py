#!/usr/bin/env python3
"""Trains XGBoost on a file `slipway training-set export NAME --encoded`
wrote, the way a data scientist's notebook would, for the end-to-end test of
registered models (models_python_test.go).

Usage: train_xgboost.py DATA.csv SCHEMA.json OBJECTIVE MODEL.json PREDICTIONS.json ROWS
   or: train_xgboost.py   (as a model's command trainer)

Reads DATA.csv with pandas (an empty field is NaN: missing), trains a
booster with OBJECTIVE (binary:logistic or reg:squarederror; 50 trees of
depth 4, missing=NaN) on the schema's feature columns and its label column,
saves it with Booster.save_model(MODEL.json), and writes PREDICTIONS.json:
  {"entity": [...], "timestamp": [...], "prediction": [...]}
for the first ROWS rows of DATA.csv (all when it has fewer): their entity key
and label time, as the file holds them, and Booster.predict on them.

As a command trainer (no arguments) it reads the files a training job names
in SLIPWAY_TRAIN_FILE, SLIPWAY_SCHEMA_FILE and SLIPWAY_HOLDOUT_FILE, trains
the same way with the objective of SLIPWAY_TASK and writes the model to
SLIPWAY_MODEL_FILE. When the file train_mode.txt in its directory (the
model definition's) says "shuffled", it trains on the labels shuffled, so
the model learns nothing real and does worse on the holdout. It writes
scikit-learn's roc_auc_score, log_loss and accuracy_score of its
Booster.predict on the holdout file to holdout_metrics.json there.
"""
import json
import os
import sys

import numpy as np
import pandas as pd
import xgboost as xgb


def read(path, schema):
    """Reads an encoded file: its rows, features (NaN missing) and labels."""
    # Entity keys and timestamps are read as text, exactly as written.
    text = {schema["entity"]: str, "timestamp": str}
    df = pd.read_csv(path, float_precision="round_trip", dtype=text, keep_default_na=False)
    assert list(df.columns) == schema["columns"], (list(df.columns), schema["columns"])
    # Feature columns: an empty field is missing (NaN); nothing else is.
    X = df[schema["features"]].replace("", np.nan).astype(np.float64)
    y = df[schema["label"]].replace("", np.nan).astype(np.float64)
    return df, X, y


def train(X, y, objective):
    keep = ~y.isna()  # rows without a label are not trained on
    params = {"objective": objective, "max_depth": 4, "eta": 0.3, "seed": 7, "tree_method": "hist"}
    return xgb.train(params, xgb.DMatrix(X[keep], label=y[keep], missing=np.nan), num_boost_round=50)


def command_trainer():
    env = os.environ
    with open(env["SLIPWAY_SCHEMA_FILE"]) as f:
        schema = json.load(f)
    assert env["SLIPWAY_TASK"] == "binary_classification", env["SLIPWAY_TASK"]
    _, X, y = read(env["SLIPWAY_TRAIN_FILE"], schema)
    mode = open("train_mode.txt").read().strip() if os.path.exists("train_mode.txt") else "good"
    if mode == "shuffled":
        y = pd.Series(np.random.default_rng(7).permutation(y.to_numpy()), index=y.index)
    booster = train(X, y, "binary:logistic")
    booster.save_model(env["SLIPWAY_MODEL_FILE"])
    print("trained on %d rows (%s labels)" % (len(y), mode))

    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
    _, Xh, yh = read(env["SLIPWAY_HOLDOUT_FILE"], schema)
    p = booster.predict(xgb.DMatrix(Xh, missing=np.nan)).astype(np.float64)
    with open("holdout_metrics.json", "w") as f:
        json.dump({
            "rows": len(yh),
            "auc": float(roc_auc_score(yh, p)),
            "log_loss": float(log_loss(yh, p)),
            "accuracy": float(accuracy_score(yh, (p > 0.5).astype(np.float64))),
        }, f)


def main():
    if len(sys.argv) == 1:
        return command_trainer()
    data, schema_path, objective, model_path, pred_path, rows = sys.argv[1:]
    with open(schema_path) as f:
        schema = json.load(f)
    assert schema["format"] == "slipway-encoded", schema["format"]
    df, X, y = read(data, schema)
    assert len(df) == schema["rows"], (len(df), schema["rows"])
    booster = train(X, y, objective)
    booster.save_model(model_path)

    n = min(int(rows), len(df))
    head = df.iloc[:n]
    pred = booster.predict(xgb.DMatrix(X.iloc[:n], missing=np.nan))
    assert pred.shape == (n,), pred.shape
    with open(pred_path, "w") as f:
        json.dump({
            "entity": list(head[schema["entity"]]),
            "timestamp": list(head["timestamp"]),
            # float32 -> float64 is exact; json writes the shortest repr.
            "prediction": [float(v) for v in pred],
        }, f)


if __name__ == "__main__":
    main()
