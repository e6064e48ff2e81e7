"""A command trainer, as a data scientist would write one: XGBoost on the
encoded files Slipway hands it (see docs/design/training.md).

Reads $SLIPWAY_TRAIN_FILE with pandas, the feature and label columns from
$SLIPWAY_SCHEMA_FILE, trains for $SLIPWAY_TASK, saves the model to
$SLIPWAY_MODEL_FILE and reports one extra metric. For the test, it also
writes XGBoost's own predictions on $SLIPWAY_HOLDOUT_FILE (one line per
row, the class probabilities of a row separated by spaces) to
holdout_predictions.txt in its working directory.
"""
import json
import os

import numpy as np
import pandas as pd
import xgboost as xgb

schema = json.load(open(os.environ["SLIPWAY_SCHEMA_FILE"]))
task = os.environ["SLIPWAY_TASK"]
train = pd.read_csv(os.environ["SLIPWAY_TRAIN_FILE"])
holdout = pd.read_csv(os.environ["SLIPWAY_HOLDOUT_FILE"])
features, label = schema["features"], schema["label"]

params = {"max_depth": 3, "eta": 0.3, "seed": 7}
if task == "binary_classification":
    params["objective"] = "binary:logistic"
elif task == "multiclass":
    params["objective"] = "multi:softprob"
    params["num_class"] = int(train[label].max()) + 1
else:
    params["objective"] = "reg:squarederror"

dtrain = xgb.DMatrix(train[features].to_numpy(dtype=np.float64), label=train[label].to_numpy(dtype=np.float64), missing=np.nan)
booster = xgb.train(params, dtrain, num_boost_round=20)
booster.save_model(os.environ["SLIPWAY_MODEL_FILE"])
with open(os.environ["SLIPWAY_METRICS_FILE"], "w") as f:
    json.dump({"rounds": 20}, f)

pred = booster.predict(xgb.DMatrix(holdout[features].to_numpy(dtype=np.float64), missing=np.nan))
with open("holdout_predictions.txt", "w") as f:
    for row in np.atleast_2d(pred.reshape(len(holdout), -1)):
        f.write(" ".join(repr(float(v)) for v in row) + "\n")
print(f"trained {params['objective']} on {len(train)} rows, {len(features)} features")
