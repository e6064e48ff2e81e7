#!/usr/bin/env bash
# Runs Slipway's benchmarks side by side with the raw engines and prints the
# results (also saved under bench/results/). Record them in docs/benchmarks.md.
#
#   SLIPWAY_BENCH_ROWS   label rows of the training-set benchmark (default 1000000)
#   BENCHTIME            go test -benchtime for the online benchmarks (default 2s)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ).txt"
{
  echo "# $(date -u) $(uname -m) $(nproc) cores, $(go version)"
  grep -m1 'model name' /proc/cpuinfo || true
  echo
  echo "## Training-set export: Slipway vs hand-written DuckDB ASOF query (same tables, same run)"
  SLIPWAY_BENCH_ROWS="${SLIPWAY_BENCH_ROWS:-1000000}" \
    go test -run '^$' -bench 'ExportTrainingSet$' -benchtime 3x -timeout 60m ./offline/offlineduckdb/
  echo
  echo "## Training-set export: what the row order costs (best of 10 rounds, wall and CPU)"
  SLIPWAY_BENCH_ROWS="${SLIPWAY_BENCH_ROWS:-1000000}" \
    go test -run '^$' -bench 'ExportTrainingSetOrder$' -benchtime 1x -timeout 60m ./offline/offlineduckdb/
  echo
  echo "## Online reads, one client: HTTP API vs serving layer vs raw store read"
  go test -run '^$' -bench . -benchtime "${BENCHTIME:-2s}" ./server/
  echo
  echo "## Embedded online store"
  go test -run '^$' -bench . -benchtime "${BENCHTIME:-2s}" ./online/onlinekv/
} 2>&1 | tee "$out"
echo "saved to $out"
