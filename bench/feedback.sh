#!/usr/bin/env bash
# Feedback ingestion: events per second through POST /v1/feedback, into the
# embedded DuckDB and into PostgreSQL, driven by wrk (Debian's, a C client).
#
#   ./bench/feedback.sh [PG_DSN] [DURATION]
#
# For each offline store: a new data directory (one entity applied, so the
# registry exists), `slipway serve`, then wrk with 8 connections posting
# batches of 100 events (by endpoint and entity, no ids: each event is new)
# for DURATION (default 10s). Each 202 means the batch is on the server's
# disk (fsynced). After the server stops (shipping what is left), `slipway
# feedback status` must count every accepted event once.
set -euo pipefail
cd "$(dirname "$0")/.."
dsn="${1:-postgres://postgres:postgres@127.0.0.1:5432/test?sslmode=disable}"
duration="${2:-10s}"
work="$(mktemp -d)"
schema="slipway_fbbench_$$"
cleanup() {
  [ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  psql "$dsn" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/slipway" ./cmd/slipway
mkdir -p "$work/defs"
printf 'entities:\n  - name: subscriber\n' > "$work/defs/entities.yaml"
{
  printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
  printf 'wrk.body = [[{"events": ['
  for i in $(seq 1 100); do
    [ "$i" -gt 1 ] && printf ','
    printf '{"endpoint": "purchase", "entity": "sub_%d", "name": "clicked", "value": true}' "$i"
  done
  printf ']}]]\n'
} > "$work/post.lua"
echo "# $(date -u) $(nproc) cores; wrk 2 threads, 8 connections, 100 events per request, $duration"
for store in duckdb postgres; do
  dir="$work/$store"
  mkdir -p "$dir"
  if [ "$store" = postgres ]; then
    printf 'offline:\n  type: postgres\n  dsn: "%s"\n  schema: %s\n' "$dsn" "$schema" > "$dir/slipway.yaml"
  else
    printf 'offline:\n  type: duckdb\n' > "$dir/slipway.yaml"
  fi
  sw() { SLIPWAY_CONFIG="$dir/slipway.yaml" "$work/slipway" --data-dir "$dir/.slipway" "$@"; }
  sw apply "$work/defs" >/dev/null
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # Not through sw: $! must be the server itself, which TERM stops.
  SLIPWAY_CONFIG="$dir/slipway.yaml" "$work/slipway" --data-dir "$dir/.slipway" serve --addr "127.0.0.1:$port" >"$dir/serve.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  out=$(wrk -t2 -c8 -d"$duration" --latency -s "$work/post.lua" "http://127.0.0.1:$port/v1/feedback")
  kill -TERM "$serve_pid"; wait "$serve_pid" || true; serve_pid=""
  rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(printf '%s\n' "$out" | awk '/requests in/ {print $1}')
  p99=$(printf '%s\n' "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(printf '%s\n' "$out" | awk '/Non-2xx/ {print $5}')
  count() { sw feedback status --json | python3 -c 'import json,sys; print(sum(n["events"] for n in json.load(sys.stdin)["names"]))'; }
  counted=$(count)
  # What the stopping server could not ship within its 10 s waits on disk:
  # a second server ships it.
  t0=$(date +%s.%N)
  SLIPWAY_CONFIG="$dir/slipway.yaml" "$work/slipway" --data-dir "$dir/.slipway" serve --addr "127.0.0.1:$port" >"$dir/serve2.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  until [ "$(count 2>/dev/null || echo 0)" -ge $((reqs * 100)) ]; do sleep 1; if [ "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print (b - a > 120)}')" = 1 ]; then break; fi; done
  t1=$(date +%s.%N)
  kill -TERM "$serve_pid"; wait "$serve_pid" || true; serve_pid=""
  echo "$store: $reqs requests (${non2xx:-0} not 2xx), $rps req/s = $(awk -v r="$rps" 'BEGIN {printf "%.0f", r * 100}') events/s, p99 $p99"
  echo "  events in the offline store when the server stopped: $counted (wrk counted $((reqs * 100)); up to 800 more were in flight when it stopped counting); after a second server ran $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", b - a}') s: $(count)"
done
