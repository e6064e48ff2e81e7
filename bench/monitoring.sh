#!/usr/bin/env bash
# Monitoring over a large prediction log: the cost of profiling it window
# by window, the peak memory of doing so, and the latency of a drift report
# over a week of hourly windows.
#
#   ./bench/monitoring.sh [PREDICTIONS] [FEATURES] [DAYS]
#
# bench/profiledata generates, inside the embedded DuckDB, PREDICTIONS
# logged predictions (default 10,000,000) of FEATURES float64 features
# (default 20) spread over DAYS days (default 7), with a model version and
# its baseline; then, in a second process, profiles every hourly window
# and runs the drift report over the week three times. Each step prints
# its seconds and its peak resident memory.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000000}"
features="${2:-20}"
days="${3:-7}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
go build -o "$work/profiledata" ./bench/profiledata
echo "# $(date -u) $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); $n predictions x $features features over $days days"
"$work/profiledata" generate -data-dir "$work/.slipway" -predictions "$n" -features "$features" -days "$days"
"$work/profiledata" profile -data-dir "$work/.slipway"
