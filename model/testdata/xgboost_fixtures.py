#!/usr/bin/env python3
"""Writes the small XGBoost JSON models committed under model/testdata: seeds
for the loader's fuzz target and the models the bad-input tests expect to be
refused (gblinear, dart, an unsupported objective, categorical splits).
Run from model/testdata with Debian's python3-xgboost (1.7):
    /usr/bin/python3 xgboost_fixtures.py
"""
import numpy as np
import xgboost as xgb

rng = np.random.default_rng(3)
x = rng.normal(size=(200, 3)).astype(np.float32)
x[rng.random(x.shape) < 0.1] = np.nan
y = (np.nan_to_num(x[:, 0]) > 0).astype(np.float32)
d = xgb.DMatrix(x, label=y)
xgb.train({"objective": "binary:logistic", "max_depth": 2, "seed": 1}, d, 4).save_model("small_binary.json")
y3 = np.digitize(np.nan_to_num(x[:, 0]), [-0.5, 0.5]).astype(np.float32)
xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 2, "seed": 1},
          xgb.DMatrix(x, label=y3), 2).save_model("small_multiclass.json")
xgb.train({"objective": "binary:logistic", "booster": "gblinear"}, d, 2).save_model("gblinear.json")
xgb.train({"objective": "binary:logistic", "booster": "dart", "max_depth": 2}, d, 2).save_model("dart.json")
xgb.train({"objective": "rank:pairwise", "max_depth": 2}, d, 2).save_model("rank_pairwise.json")
xc = x.copy()
xc[:, 1] = rng.integers(0, 4, size=200)
yc = np.isin(xc[:, 1], [1, 3]).astype(np.float32)
dc = xgb.DMatrix(xc, label=yc, feature_types=["q", "c", "q"], enable_categorical=True)
xgb.train({"objective": "binary:logistic", "max_depth": 2, "tree_method": "hist", "max_cat_to_onehot": 1},
          dc, 3).save_model("categorical.json")
# The same model in the formats DetectFormat refuses: UBJSON and the legacy binary.
m = xgb.Booster(model_file="small_binary.json")
m.save_model("small_binary.ubj")
m.save_model("small_binary.bin")
