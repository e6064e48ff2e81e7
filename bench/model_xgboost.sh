#!/usr/bin/env bash
# XGBoost JSON inference in Go (package model) side by side with XGBoost's
# own prediction from Python, on the same model and rows in the same run.
#
#   ./bench/model_xgboost.sh [BENCHTIME] [ROUNDS]
#
# Trains a binary:logistic model of 200 trees, depth 6, 20 features with
# Debian's python3-xgboost (model/testdata/xgboost_models.py --bench), then
# times XGBoost's Booster.predict and inplace_predict on its 10,000 rows
# (15% missing values) with 1 and 2 threads, and Go's Predict on the same
# rows one at a time on one goroutine and on GOMAXPROCS goroutines, and
# PredictRows on all of them in one call.
#
# Then scoring a file, as `slipway score` does: 100,000 other rows as an
# encoded CSV file (bench_score.csv). XGBoost with 2 threads: predict and
# inplace_predict on the matrix in memory, and pandas read_csv + DMatrix +
# predict + to_csv; Go: model.ScoreCSV (read, parse, score, write) with 1
# and 2 workers (BenchmarkScoreCSV, 5 single runs of the file). Python and
# Go alternate for ROUNDS rounds (default 3), so that both see the same
# machine load; compare the best run of each (Python prints its best of 7,
# of 3 for the file).
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime="${1:-3s}"
rounds="${2:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
load() { echo "== load average $(cut -d' ' -f1-3 /proc/loadavg)"; }
/usr/bin/python3 model/testdata/xgboost_models.py "$work" --bench
echo "== $(nproc) cores, $(go version | cut -d' ' -f3)"
load
/usr/bin/python3 model/testdata/xgboost_bench.py "$work"
SLIPWAY_XGBOOST_BENCH_DIR="$work" go test ./model -run '^$' -bench '^BenchmarkPredict' -benchtime "$benchtime" -count 3 | grep '^Benchmark'
go test -c -o "$work/model.test" ./model
for round in $(seq "$rounds"); do
  load
  echo "== scoring, round $round"
  /usr/bin/python3 model/testdata/xgboost_bench.py "$work" --score
  (cd model && SLIPWAY_XGBOOST_BENCH_DIR="$work" "$work/model.test" -test.run '^$' -test.bench '^BenchmarkScoreCSV' -test.benchtime 1x -test.count 5 | grep '^Benchmark')
done
load
