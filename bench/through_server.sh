#!/usr/bin/env bash
# The CLI through a running `slipway serve` against the CLI on the stores
# directly, side by side in one run (embedded stores), and online serving
# throughput while a materialization runs through the same server against
# the idle figure.
#
#   ./bench/through_server.sh [SCALE] [ROUNDS]
#
# SCALE is the demo's (default 10); each round applies the demo definitions
# to a new data directory and materializes every feature (building the
# transformations first), once directly and once through a server, in
# alternating order. Then, on the last server, bench/loadgen reads 2
# features of one entity per request at 4 clients: 10 s idle, then while
# `materialize --full` runs through the server again and again.
set -euo pipefail
cd "$(dirname "$0")/.."
scale="${1:-10}"
rounds="${2:-3}"
work="$(mktemp -d)"
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/slipway" ./cmd/slipway
go build -o "$work/loadgen" ./bench/loadgen
sw="$work/slipway"
echo "# $(date -u) $(nproc) cores; demo at scale $scale"
"$sw" quickstart --dir "$work/p" --scale "$scale" >/dev/null
defs="$work/p/definitions"

start_serve() { # data dir, address
  "$sw" --data-dir "$1" --log-level warn serve --addr "$2" >"$work/serve.out" 2>&1 &
  serve_pid=$!
  for _ in $(seq 100); do
    [ -f "$1/server.json" ] && return 0
    sleep 0.1
  done
  echo "serve did not start:" >&2; cat "$work/serve.out" >&2; exit 1
}
stop_serve() {
  kill -INT "$serve_pid"; wait "$serve_pid" || true; serve_pid=""
}
seconds() { # command...: prints the wall time in seconds
  /usr/bin/time -f "%e" -o "$work/t" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  cat "$work/t"
}

addr="127.0.0.1:18089"
printf "%-6s %-8s %10s %14s\n" round mode "apply (s)" "materialize (s)"
for r in $(seq "$rounds"); do
  order="direct server"
  [ $((r % 2)) -eq 0 ] && order="server direct"
  for mode in $order; do
    d="$work/data-$mode-$r"
    mkdir -p "$d"
    if [ "$mode" = server ]; then start_serve "$d" "$addr"; fi
    a=$(seconds "$sw" --data-dir "$d" apply "$defs")
    m=$(seconds "$sw" --data-dir "$d" materialize)
    printf "%-6s %-8s %10s %14s\n" "$r" "$mode" "$a" "$m"
    if [ "$mode" = server ] && [ "$r" -lt "$rounds" ]; then stop_serve; fi
  done
done

# The server of the last round is still running, with every feature materialized.
d="$work/data-server-$rounds"
if [ -z "$serve_pid" ]; then start_serve "$d" "$addr"; fi
"$sw" --data-dir "$d" training-set export purchase_propensity --out "$work/ts.jsonl" 2>"$work/export.err" || { cat "$work/export.err" >&2; exit 1; }
sed -n 's/.*"subscriber":"\([^"]*\)".*/\1/p' "$work/ts.jsonl" | sort -u | sed -n '1,1000p' >"$work/keys"
load() { "$work/loadgen" -target http -url "http://$addr" -features opens_30d:v1,clicks_30d -entities-file "$work/keys" -concurrency 4 -duration "$1"; }
echo
echo "## online reads through the same server (4 clients, 1 entity x 2 features per request)"
echo "idle:                 $(load 10s)"
# The loop stops after the run in progress when the stop file appears, so
# the last phase starts with no materialization running.
( while [ ! -f "$work/stop" ]; do "$sw" --data-dir "$d" materialize --full >/dev/null 2>&1 || exit 0; done ) &
mat=$!
sleep 0.5
echo "during materialize:   $(load 10s)"
touch "$work/stop"
wait "$mat" 2>/dev/null || true
echo "idle again:           $(load 10s)"
