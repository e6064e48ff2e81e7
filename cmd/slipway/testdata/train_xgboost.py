#!/usr/bin/env python3
"""Trains XGBoost on a file `slipway training-set export NAME --encoded`
wrote, the way a data scientist's notebook would, for the end-to-end test of
registered models (models_python_test.go).

Usage: train_xgboost.py DATA.csv SCHEMA.json OBJECTIVE MODEL.json PREDICTIONS.json ROWS

Reads DATA.csv with pandas (an empty field is NaN: missing), trains a
booster with OBJECTIVE (binary:logistic or reg:squarederror; 50 trees of
depth 4, missing=NaN) on the schema's feature columns and its label column,
saves it with Booster.save_model(MODEL.json), and writes PREDICTIONS.json:
  {"entity": [...], "timestamp": [...], "prediction": [...]}
for the first ROWS rows of DATA.csv (all when it has fewer): their entity key
and label time, as the file holds them, and Booster.predict on them.
"""
import json
import sys

import numpy as np
import pandas as pd
import xgboost as xgb


def main():
    data, schema_path, objective, model_path, pred_path, rows = sys.argv[1:]
    with open(schema_path) as f:
        schema = json.load(f)
    assert schema["format"] == "slipway-encoded", schema["format"]
    # Entity keys and timestamps are read as text, exactly as written.
    text = {schema["entity"]: str, "timestamp": str}
    df = pd.read_csv(data, float_precision="round_trip", dtype=text, keep_default_na=False)
    assert list(df.columns) == schema["columns"], (list(df.columns), schema["columns"])
    assert len(df) == schema["rows"], (len(df), schema["rows"])
    # Feature columns: an empty field is missing (NaN); nothing else is.
    X = df[schema["features"]].replace("", np.nan).astype(np.float64)
    y = df[schema["label"]].replace("", np.nan).astype(np.float64)
    keep = ~y.isna()  # rows without a label are not trained on
    params = {"objective": objective, "max_depth": 4, "eta": 0.3, "seed": 7, "tree_method": "hist"}
    train = xgb.DMatrix(X[keep], label=y[keep], missing=np.nan)
    booster = xgb.train(params, train, num_boost_round=50)
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
