#!/usr/bin/env bash
# The experiment report over a large prediction log: seconds and peak
# memory of `slipway experiments report`, on the embedded DuckDB and on
# PostgreSQL.
#
#   ./bench/experiment_report.sh [PG_DSN] [PREDICTIONS] [ENTITIES] [LIMIT]
#
# For each offline store: a new data directory that bench/expdata fills
# inside the engine (SQL over range() or generate_series(); no row goes
# through Go) with the experiment purchase_test on endpoint purchase,
# PREDICTIONS logged predictions (default 10,000,000) of ENTITIES entities
# (default 2,000,000), each entity in one arm, and PREDICTIONS/10 feedback
# events, half by prediction id and half by endpoint and entity. Then the
# report runs three times under /usr/bin/time -v: wall seconds and the
# maximum resident set size of the slipway process (with PostgreSQL the
# query runs in the database server, whose memory is not in that number).
# On DuckDB it runs a fourth time with SLIPWAY_DUCKDB_MEMORY_LIMIT=LIMIT
# (default 1GB): DuckDB takes what its limit allows (80% of RAM by
# default) and spills to disk beyond it.
set -euo pipefail
cd "$(dirname "$0")/.."
dsn="${1:-postgres://postgres:postgres@127.0.0.1:5432/test?sslmode=disable}"
n="${2:-10000000}"
entities="${3:-2000000}"
limit="${4:-1GB}"
work="$(mktemp -d)"
schema="slipway_expbench_$$"
cleanup() {
  psql "$dsn" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/slipway" ./cmd/slipway
go build -o "$work/expdata" ./bench/expdata
echo "# $(date -u) $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); $n predictions, $entities entities, $((n / 10)) feedback events"
for store in duckdb postgres; do
  dir="$work/$store"
  mkdir -p "$dir"
  if [ "$store" = postgres ]; then
    printf 'offline:\n  type: postgres\n  dsn: "%s"\n  schema: %s\n' "$dsn" "$schema" > "$dir/slipway.yaml"
  else
    printf 'offline:\n  type: duckdb\n' > "$dir/slipway.yaml"
  fi
  "$work/expdata" -data-dir "$dir/.slipway" -config "$dir/slipway.yaml" -predictions "$n" -entities "$entities" | sed "s/^/$store: /"
  if [ "$store" = postgres ]; then
    # The statistics autovacuum would gather on a live log: without them
    # PostgreSQL takes the fresh tables (and the feedback view) for a few
    # rows and plans nested loops over 10 million.
    psql "$dsn" -qc "ANALYZE $schema.slipway_prediction_log__purchase__default" -c "ANALYZE $schema.slipway_feedback__events__default"
  fi
  runs="1 2 3"
  [ "$store" = duckdb ] && runs="1 2 3 limited"
  for run in $runs; do
    env=()
    [ "$run" = limited ] && env=("SLIPWAY_DUCKDB_MEMORY_LIMIT=$limit")
    label="run $run"
    [ "$run" = limited ] && label="run with a memory limit of $limit"
    if ! env "${env[@]}" SLIPWAY_CONFIG="$dir/slipway.yaml" /usr/bin/time -v "$work/slipway" --data-dir "$dir/.slipway" experiments report purchase_test \
      >"$dir/report.txt" 2>"$dir/time.txt"; then
      echo "$store: report $label failed: $(grep -m1 -i error "$dir/time.txt")"
      continue
    fi
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s}' "$dir/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$dir/time.txt")
    echo "$store: report $label: ${secs} s, peak RSS ${rss} MiB"
  done
  sed "s/^/$store:   /" "$dir/report.txt"
done
