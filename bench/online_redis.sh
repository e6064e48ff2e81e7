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
host="${addr%:*}"; port="${addr##*:}"
prefix="slipway_bench_$$:"
work="$(mktemp -d)"
cleanup() {
  [ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  redis-cli -h "$host" -p "$port" --scan --pattern "$prefix*" | xargs -r -n 1000 redis-cli -h "$host" -p "$port" unlink >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/bin/slipway" ./cmd/slipway
go build -o "$work/bin/loadgen" ./bench/loadgen
PATH="$work/bin:$PATH"
# The configuration lives outside the project: quickstart writes only into a
# directory that holds nothing else.
printf 'online:\n  type: redis\n  addrs: [%s]\n  key_prefix: "%s"\n' "$addr" "$prefix" > "$work/slipway.yaml"
export SLIPWAY_CONFIG="$work/slipway.yaml"
slipway quickstart --dir "$work/demo" --scale "$scale" >/dev/null
cd "$work/demo"
features=""
{
  echo "features:"
  for i in $(seq -w 1 20); do
    printf '  - name: bench_f%s\n    entity: subscriber\n    source: subscriber_order_stats\n    entity_column: subscriber_id\n    value_column: avg_order_value\n    timestamp_column: ordered_at\n    type: float64\n' "$i"
    features="${features:+$features,}bench_f$i"
  done
} > definitions/bench_features.yaml
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
sport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
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
