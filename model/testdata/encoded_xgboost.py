#!/usr/bin/env python3
"""Trains XGBoost on encoded CSV files that Go wrote (model.EncodedWriter),
reading them the way model-encoding.md tells a notebook to, and writes the
model and XGBoost's own predictions for the Go test of write once, serve
twice (model/encodedfile_test.go).

Usage: encoded_xgboost.py DIR NAME...
For each NAME reads DIR/NAME.csv and DIR/NAME.schema.json (the training
file) and DIR/NAME_holdout.csv (rows never trained on, same encoding),
trains with the objective of the schema's task, and writes DIR/NAME.json
(Booster.save_model) and DIR/NAME_predictions.json:
  {"train": [...], "holdout": [...]} (row-major, K per row for multiclass).
"""
import json
import os
import sys

import pandas as pd
import xgboost as xgb

OBJECTIVES = {
    "binary_classification": {"objective": "binary:logistic"},
    "regression": {"objective": "reg:squarederror"},
    "multiclass": {"objective": "multi:softprob"},
}


def main():
    d = sys.argv[1]
    for name in sys.argv[2:]:
        with open(os.path.join(d, name + ".schema.json")) as f:
            schema = json.load(f)
        # What a notebook does (docs/design/model-encoding.md).
        df = pd.read_csv(os.path.join(d, name + ".csv"), float_precision="round_trip")
        assert list(df.columns) == schema["columns"], (list(df.columns), schema["columns"])
        assert len(df) == schema["rows"]
        X = df[schema["features"]]
        y = df[schema["label"]]
        params = dict(OBJECTIVES[schema["task"]], max_depth=4, eta=0.3, seed=7, tree_method="hist")
        if schema["task"] == "multiclass":
            params["num_class"] = int(y.max()) + 1
        booster = xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=40)
        booster.save_model(os.path.join(d, name + ".json"))
        hold = pd.read_csv(os.path.join(d, name + "_holdout.csv"), float_precision="round_trip")
        out = {
            "train": [float(v) for v in booster.predict(xgb.DMatrix(X)).ravel()],
            "holdout": [float(v) for v in booster.predict(xgb.DMatrix(hold[schema["features"]])).ravel()],
        }
        with open(os.path.join(d, name + "_predictions.json"), "w") as f:
            json.dump(out, f)


if __name__ == "__main__":
    main()
