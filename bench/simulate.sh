#!/usr/bin/env bash
# The simulated world of issue 12 at benchmark size: BenchmarkSimulatedWorld
# (platform/loop_bench_test.go) runs TestSimulatedWorldClosesTheLoop's world
# with SUBSCRIBERS subscribers (default 20,000, ten times the test's) on the
# embedded defaults (SQLite, DuckDB, bbolt) in one process: the history, the
# first model, then simulated days of scoring every subscriber, campaigns to
# the top-scored and feedback drawn from the truth, until the retrained
# challenger has won its experiment and the endpoint serves it.
#
#   ./bench/simulate.sh [SUBSCRIBERS] [RUNS]
#
# Each of RUNS (default 1) runs is a new world from the same seed. Reported
# per run: the simulated day the experiment concluded (the shift is after
# day 5), the winner's lift and -log10 of its p-value, predictions/s and
# feedback events/s through the platform (over the time spent in its
# Predict and RecordFeedback calls), seconds shipping the logs into DuckDB,
# wall seconds, and the process's peak resident set size.
set -euo pipefail
cd "$(dirname "$0")/.."
subscribers="${1:-20000}"
runs="${2:-1}"
echo "# $(date -u) $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg); $subscribers subscribers, $runs run(s)"
SLIPWAY_SIM_SUBSCRIBERS="$subscribers" go test ./platform/ -run '^$' -bench '^BenchmarkSimulatedWorld$' \
  -benchtime 1x -count "$runs" -timeout 60m
