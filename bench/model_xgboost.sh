#!/usr/bin/env bash
# XGBoost JSON inference in Go (package model) side by side with XGBoost's
# own prediction from Python, on the same model and rows in the same run.
#
#   ./bench/model_xgboost.sh [BENCHTIME]
#
# Trains a binary:logistic model of 200 trees, depth 6, 20 features with
# Debian's python3-xgboost (model/testdata/xgboost_models.py --bench), then
# times XGBoost's Booster.predict and inplace_predict on its 10,000 rows
# (15% missing values) with 1 and 2 threads, and Go's Predict on the same
# rows one at a time on one goroutine and on GOMAXPROCS goroutines, and
# PredictRows on all of them in one call.
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime="${1:-3s}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 model/testdata/xgboost_models.py "$work" --bench
echo "== $(nproc) cores, $(go version | cut -d' ' -f3)"
/usr/bin/python3 model/testdata/xgboost_bench.py "$work"
SLIPWAY_XGBOOST_BENCH_DIR="$work" go test ./model -run '^$' -bench '^BenchmarkPredict' -benchtime "$benchtime" -count 3 | grep '^Benchmark'
