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
#
# Then scoring a file, as `slipway score` does: 100,000 other rows as an
# encoded CSV file (bench_score.csv). XGBoost with 2 threads: pandas
# read_csv + DMatrix + predict + to_csv, and predict / inplace_predict alone
# on the matrix in memory; Go: model.ScoreCSV (read, parse, score, write)
# with 1 and 2 workers (BenchmarkScoreCSV).
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime="${1:-3s}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 model/testdata/xgboost_models.py "$work" --bench
echo "== $(nproc) cores, $(go version | cut -d' ' -f3), load average $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 model/testdata/xgboost_bench.py "$work"
SLIPWAY_XGBOOST_BENCH_DIR="$work" go test ./model -run '^$' -bench '^Benchmark(Predict|ScoreCSV)' -benchtime "$benchtime" -count 3 | grep '^Benchmark'
echo "== load average $(cut -d' ' -f1-3 /proc/loadavg)"
