#!/usr/bin/env python3
"""Encodes feature rows as the online-features API served them, with a
model's stored encoding, and predicts them with XGBoost's Booster, for the
test that live predictions equal Booster.predict (predict_xgboost_test.go).

Usage: xgboost_served_rows.py MODEL.json ROWS.json PREDICTIONS.json

ROWS.json is {"encoding": ENCODING, "rows": [[value, ...], ...]}: the
encoding as `export --encoded`'s schema file holds it, and per entity the
served JSON values of the encoding's features in order (null when not
served). Each row is encoded here, independently of Slipway's Go code, as
docs/design/model-encoding.md says: numbers as float64, bools 0/1,
timestamps (RFC 3339) seconds since the epoch, strings their index in the
vocabulary (ordinal) or indicator columns (onehot); null, NaN and a string
outside the vocabulary are NaN (in every column the feature owns).
PREDICTIONS.json is {"prediction": [...]}, Booster.predict of the rows.
"""
import datetime
import json
import math
import sys

import numpy as np
import xgboost as xgb

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def seconds(text):
    """Seconds since the epoch of an RFC 3339 time: µs / 1e6, one rounding."""
    # fromisoformat (3.9) reads at most 6 fractional digits and no "Z".
    text = text.replace("Z", "+00:00")
    date, _, rest = text.partition(".")
    if rest:
        n = len(rest) - len(rest.lstrip("0123456789"))
        digits, zone = rest[:n], rest[n:]
        text = date + "." + (digits + "000000")[:6] + zone
    at = datetime.datetime.fromisoformat(text)
    us = (at - EPOCH) // datetime.timedelta(microseconds=1)
    return us / 1e6


def columns(encoding):
    """The vector's column names, as the booster trained on the export has them."""
    out = []
    for f in encoding["features"]:
        if f["type"] == "string" and encoding["strings"] == "onehot":
            out.extend(f["name"] + "=" + w for w in f["vocabulary"])
        else:
            out.append(f["name"])
    return out


def encode(encoding, row):
    out = []
    assert len(row) == len(encoding["features"]), (len(row), len(encoding["features"]))
    for f, v in zip(encoding["features"], row):
        kind = f["type"]
        if kind == "string":
            vocab = f["vocabulary"]
            known = v is not None and v in vocab
            if encoding["strings"] == "onehot":
                out.extend([(1.0 if v == w else 0.0) if known else math.nan for w in vocab])
            else:
                out.append(float(vocab.index(v)) if known else math.nan)
        elif v is None:
            out.append(math.nan)
        elif kind == "bool":
            assert isinstance(v, bool), (f["name"], v)
            out.append(1.0 if v else 0.0)
        elif kind == "timestamp":
            out.append(seconds(v))
        elif kind in ("int64", "float64"):
            assert not isinstance(v, bool) and isinstance(v, (int, float)), (f["name"], v)
            out.append(float(v))
        else:
            raise ValueError("feature %s: type %s is not one this script encodes" % (f["name"], kind))
    return out


def main():
    model_path, rows_path, out_path = sys.argv[1:]
    with open(rows_path) as f:
        data = json.load(f)
    encoding = data["encoding"]
    assert encoding["version"] == 1, encoding["version"]
    X = np.array([encode(encoding, row) for row in data["rows"]], dtype=np.float64)
    booster = xgb.Booster()
    booster.load_model(model_path)
    pred = booster.predict(xgb.DMatrix(X, missing=np.nan, feature_names=columns(encoding)))
    assert pred.shape == (len(data["rows"]),), pred.shape
    with open(out_path, "w") as f:
        # float32 -> float64 is exact; json writes the shortest repr.
        json.dump({"prediction": [float(v) for v in pred]}, f)


if __name__ == "__main__":
    main()
