#!/usr/bin/env bash
# Online serving and materialization on Redis, side by side with raw Redis
# driven by the same load generator in the same run.
#
#   ./bench/online_redis.sh [REDIS_ADDR] [SCALE] [DURATION]
#
# Builds the demo project at SCALE (default 10) with 20 extra subscriber
# features, materializes into Redis (records/s, against redis-benchmark's
# pipelined SET), serves it, and reads 1 and 100 entities × 20 features
# through the HTTP API and as raw HMGET pipelines: at one client (latency at
# light load) and at 8 clients (saturation: throughput and p99 ratios).
set -euo pipefail
cd "$(dirname "$0")/.."
addr="${1:-127.0.0.1:6379}"
scale="${2:-10}"
duration="${3:-10s}"
prefix="slipway_bench_$$:"
# shellcheck source=bench/redis_demo.sh
source bench/redis_demo.sh
slipway apply definitions >/dev/null
cut -d, -f1 data/subscribers.csv | tail -n +2 > entities.txt
# Only entities with orders have values; the raw reads use the same keys.
echo "# $(date -u) $(nproc) cores; Redis $(redis-cli -h "$host" -p "$port" info server | grep redis_version | tr -d '\r'); scale $scale"
echo
echo "## Materialization into Redis"
slipway materialize 2>/dev/null | sed 's/^/slipway: /'
redis-benchmark -h "$host" -p "$port" -t set -n 2000000 -P 1000 -c 1 -q 2>/dev/null | tr '\r' '\n' | grep -v '^$' | tail -1 | sed 's/^/redis-benchmark, 1 client, pipeline 1000: /'
redis-benchmark -h "$host" -p "$port" -t set -n 2000000 -P 100 -c 8 -q 2>/dev/null | tr '\r' '\n' | grep -v '^$' | tail -1 | sed 's/^/redis-benchmark, 8 clients, pipeline 100: /'
redis-cli -h "$host" -p "$port" del key:__rand_int__ >/dev/null
echo
sport=$(free_port)
slipway serve --addr "127.0.0.1:$sport" >/dev/null 2>&1 &
serve_pid=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$sport/healthz" >/dev/null && break; sleep 0.1; done
raw_features=$(echo "$features" | sed 's/\([^,]*\)/\1:default/g')
echo "## Online reads, 20 features"
for conc in 1 8; do
  for batch in 1 100; do
    loadgen -target http -url "http://127.0.0.1:$sport" -features "$features" -entities-file entities.txt -batch "$batch" -concurrency "$conc" -duration "$duration"
    loadgen -target redis -addr "$addr" -prefix "$prefix" -features "$raw_features" -entities-file entities.txt -batch "$batch" -concurrency "$conc" -duration "$duration"
  done
done
