#!/usr/bin/env bash
# Chunked materialization shared by 1 and by 2 `slipway worker` processes,
# on a PostgreSQL registry and offline store and a Redis online store, with
# one in-process `slipway materialize` and redis-benchmark's pipelined SET
# rate in the same run for reference.
#
#   ./bench/chunked.sh [ENTITIES] [CHUNKS]
#
# The table has 4 rows per entity (default 500,000 entities) and 4 float
# features, all materialized in full. Env: SLIPWAY_TEST_POSTGRES (DSN),
# SLIPWAY_TEST_REDIS (host:port).
set -euo pipefail
cd "$(dirname "$0")/.."
entities="${1:-500000}"
chunks="${2:-4}"
dsn="${SLIPWAY_TEST_POSTGRES:-postgres://postgres:postgres@127.0.0.1:5432/test?sslmode=disable}"
addr="${SLIPWAY_TEST_REDIS:-127.0.0.1:6379}"
host="${addr%:*}"; port="${addr##*:}"
id="bench_chunked_$$"
prefix="$id:"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$dsn" -c "DROP SCHEMA IF EXISTS ${id}_data CASCADE; DROP SCHEMA IF EXISTS ${id}_reg CASCADE; DROP SCHEMA IF EXISTS ${id}_off CASCADE" 2>/dev/null || true
  redis-cli -h "$host" -p "$port" --scan --pattern "$prefix*" | xargs -r -n 1000 redis-cli -h "$host" -p "$port" unlink >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/slipway" ./cmd/slipway
cd "$work"

psql -q "$dsn" <<SQL
CREATE SCHEMA ${id}_data;
CREATE TABLE ${id}_data.readings AS
  SELECT e AS meter_id, timestamp '2026-01-01' + (r * interval '1 hour') + (e % 97) * interval '1 minute' AS ts,
         random() AS a, random() AS b, random() AS c, random() AS d
  FROM generate_series(1, $entities) AS e, generate_series(1, 4) AS r;
ANALYZE ${id}_data.readings;
SQL
cat > slipway.yaml <<YAML
registry:
  type: postgres
  dsn: \${BENCH_DSN}
  schema: ${id}_reg
offline:
  type: postgres
  dsn: \${BENCH_DSN}
  schema: ${id}_off
online:
  type: redis
  addrs: [$addr]
  key_prefix: "$prefix"
YAML
export BENCH_DSN="$dsn"
mkdir defs
{
  printf 'entities:\n  - name: meter\nsources:\n  - name: readings\n    table: %s_data.readings\n    timestamp_column: ts\nfeatures:\n' "$id"
  for f in a b c d; do
    printf '  - name: %s\n    entity: meter\n    source: readings\n    entity_column: meter_id\n    value_column: %s\n    timestamp_column: ts\n    type: float64\n' "$f" "$f"
  done
} > defs/meters.yaml
./slipway apply defs >/dev/null
values=$((entities * 4))

unfinished() {
  psql -Atq "$dsn" -c "SELECT count(*) FROM ${id}_reg.jobs WHERE status IN ('queued', 'running')"
}
failed() {
  psql -Atq "$dsn" -c "SELECT count(*) FROM ${id}_reg.jobs WHERE status <> 'succeeded'"
}
clear_online() {
  redis-cli -h "$host" -p "$port" --scan --pattern "$prefix*" | xargs -r -n 1000 redis-cli -h "$host" -p "$port" unlink >/dev/null || true
}
report() { # label seconds
  awk -v l="$1" -v s="$2" -v v="$values" 'BEGIN { printf "%-44s %7.2f s  %6.3f M values/s\n", l, s, v / s / 1e6 }'
}

echo "entities: $entities, values: $values, chunks: $chunks"
rb=$(redis-benchmark -h "$host" -p "$port" -t set -n 2000000 -P 1000 -q | tr '\r' '\n' | awk '/requests per second/ { print $2 }')
echo "raw redis-benchmark SET -P 1000:                 $(awk -v r="$rb" 'BEGIN { printf "%.3f M/s", r / 1e6 }')"

clear_online
start=$(date +%s.%N)
./slipway materialize --full >/dev/null 2>&1
report "one process, materialize --full (no chunks)" "$(echo "$(date +%s.%N) - $start" | bc)"

for workers in 1 2; do
  clear_online
  ./slipway materialize --full --chunks "$chunks" --detach >/dev/null
  start=$(date +%s.%N)
  pids=()
  for _ in $(seq "$workers"); do
    ./slipway worker --concurrency 1 >/dev/null 2>&1 &
    pids+=("$!")
  done
  while [ "$(unfinished)" != 0 ]; do sleep 0.1; done
  elapsed=$(echo "$(date +%s.%N) - $start" | bc)
  for p in "${pids[@]}"; do kill -INT "$p"; done
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
  report "$workers worker(s) × concurrency 1, $chunks chunks" "$elapsed"
done
[ "$(failed)" = 0 ] || { echo "some jobs did not succeed" >&2; exit 1; }
