#!/usr/bin/env bash
# The serving fast path against raw Redis, both driven by C load generators
# in one run: wrk posting to Slipway, redis-benchmark sending HMGET.
#
#   ./bench/fast_path.sh [REDIS_ADDR] [DURATION] [ROUNDS]
#
# Builds a project of 10,000 entities (keys e000000000000 to e000000009999,
# the keys redis-benchmark's __rand_int__ makes with -r 10000) with 20 float64
# features, materializes it into Redis under a fresh key prefix and serves it.
# Each round, alternated: 1 entity x 20 features at one connection (latency at
# light load) and at 8 (saturation), against HMGET of the same 20 fields of
# the same keys; then 100 entities x 20 features against pipelines of 100
# HMGETs, at 8 connections. Keys are uniform at random over the 10,000.
# Each cell measures both of the server's ports: the API address (net/http)
# and the serving port (serve --serving-addr, fasthttp), one after the other
# around the raw HMGET run, in alternating order from round to round.
# CELLS picks the cells ("CONNS BATCH;..."; default "1 1;8 1;8 100").
# EXTRA_CONFIG is appended to slipway.yaml (e.g. an online cache setting);
# PROFILE_PORT=serving profiles the serving port's load instead of the API's.
# PROFILE_DIR, when set, takes a 10 s CPU profile of the server at 8
# connections (1 x 20) into PROFILE_DIR/cpu.pprof, with the allocations
# before and after it (allocs-before.pprof, allocs.pprof: compare with
# go tool pprof -sample_index=alloc_objects -base allocs-before.pprof).
set -euo pipefail
cd "$(dirname "$0")/.."
addr="${1:-127.0.0.1:6379}"
duration="${2:-10s}"
rounds="${3:-1}"
host="${addr%:*}"; port="${addr##*:}"
prefix="slipway_fp_$$:"
work="$(mktemp -d)"
cleanup() {
  [ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  redis-cli -h "$host" -p "$port" --scan --pattern "$prefix*" | xargs -r -n 1000 redis-cli -h "$host" -p "$port" unlink >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/slipway" ./cmd/slipway
mkdir -p "$work/project/definitions" "$work/project/data"
cd "$work/project"
{
  printf 'online:\n  type: redis\n  addrs: [%s]\n  key_prefix: "%s"\n' "$addr" "$prefix"
  printf '%s\n' "${EXTRA_CONFIG:-}"
} > slipway.yaml
/usr/bin/python3 - <<'PY'
import random
random.seed(1)
with open("data/items.csv", "w") as f:
    f.write("item_id,updated_at," + ",".join("f%02d" % j for j in range(1, 21)) + "\n")
    for i in range(10000):
        f.write("e%012d,2026-01-01 00:00:00," % i + ",".join("%.6f" % random.random() for _ in range(20)) + "\n")
with open("definitions/items.yaml", "w") as f:
    f.write("entities:\n  - name: item\nsources:\n  - name: items\n    file: ../data/items.csv\n    timestamp_column: updated_at\nfeatures:\n")
    for j in range(1, 21):
        f.write("  - name: f%02d\n    entity: item\n    source: items\n    entity_column: item_id\n    value_column: f%02d\n    timestamp_column: updated_at\n    type: float64\n" % (j, j))
PY
export SLIPWAY_CONFIG="$work/project/slipway.yaml"
"$work/slipway" apply definitions >/dev/null
"$work/slipway" materialize >/dev/null 2>&1
features=$(seq -f 'f%02g' 1 20 | paste -sd,)
fields=$(seq -f 'f%02g:default' 1 20 | paste -sd' ')
sport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/slipway" serve --addr "127.0.0.1:$sport" --serving-addr "127.0.0.1:$fport" --pprof "127.0.0.1:$pport" >serve.log 2>&1 &
serve_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$sport/healthz" >/dev/null && curl -sf "http://127.0.0.1:$fport/healthz" >/dev/null && break; sleep 0.1; done
# wrk's request script: bodies of BATCH uniform random keys, formatted
# before the run (20,000 entity keys in all, cycled), so that wrk spends its CPU on
# the connections as redis-benchmark does, not on building requests.
cat > req.lua <<LUA
local batch = tonumber(os.getenv("BATCH") or "1")
local head = '{"features":["$(echo "$features" | sed 's/,/","/g')"],"entities":['
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
math.randomseed(os.time())
request = function()
  local keys = {}
  for i = 1, batch do keys[i] = string.format('"e%012d"', math.random(0, 9999)) end
  return wrk.format(nil, "/v1/online-features", nil, head .. table.concat(keys, ",") .. "]}")
end
LUA
# Check that an answer has 20 found values before measuring anything.
for p in "$sport" "$fport"; do
  curl -sf "http://127.0.0.1:$p/v1/online-features" -d "{\"features\":[\"f01\"],\"entities\":[\"e000000000042\"]}" | grep -q '"found"' \
    || { echo "the server does not answer e000000000042's f01 on port $p" >&2; exit 1; }
done
secs="${duration%s}"
wrk_line() { # conc batch [port]: "req/s p50 p99"
  BATCH="$2" wrk -t 1 -c "$1" -d "$duration" --latency -s req.lua "http://127.0.0.1:${3:-$sport}" 2>&1 |
    awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx|unexpected|error/ {print "wrk: " $0 > "/dev/stderr"; bad=1} END {if (bad) exit 1; print rps, p50, p99}'
}
bench_line() { # conc pipeline: "req/s p50 p99" (requests = HMGETs / pipeline)
  local n=$(( $1 == 1 ? 15000 * secs / 10 : 600000 * secs / 10 ))
  [ "$2" -gt 1 ] && n=$(( n / 2 ))
  redis-benchmark -h "$host" -p "$port" -c "$1" -P "$2" -r 10000 -n "$n" --precision 3 \
    HMGET "${prefix}e__rand_int__" $fields 2>/dev/null |
    awk -v p="$2" '/throughput summary/ {rps=$3} hdr {p50=$3; p99=$5; hdr=0} /avg +min +p50/ {hdr=1} END {printf "%.0f %sms %sms\n", rps / p, p50, p99}'
}
echo "# $(date -u) $(nproc) cores; Redis $(redis-cli -h "$host" -p "$port" info server | grep redis_version | tr -d '\r'); $duration per cell"
echo "| round | load | slipway req/s, p50, p99 | raw req/s, p50, p99 | throughput ratio | serving port req/s, p50, p99 | serving port ratio |"
echo "|---|---|---|---|---|---|---|"
for r in $(seq 1 "$rounds"); do
  IFS=';' read -ra cells <<< "${CELLS:-1 1;8 1;8 100}"
  for cell in "${cells[@]}"; do
    set -- $cell
    if (( r % 2 )); then
      s=$(wrk_line "$1" "$2"); raw=$(bench_line "$1" "$2"); f=$(wrk_line "$1" "$2" "$fport")
    else
      f=$(wrk_line "$1" "$2" "$fport"); raw=$(bench_line "$1" "$2"); s=$(wrk_line "$1" "$2")
    fi
    ratio=$(python3 -c "import sys; print('%.2f' % (float('${s%% *}') / float('${raw%% *}')))")
    fratio=$(python3 -c "import sys; print('%.2f' % (float('${f%% *}') / float('${raw%% *}')))")
    echo "| $r | $1 conn, $2 x 20 | $s | $raw | $ratio | $f | $fratio |"
  done
done
if [ -n "${PROFILE_DIR:-}" ]; then
  mkdir -p "$PROFILE_DIR"
  target=$sport; [ "${PROFILE_PORT:-}" = serving ] && target=$fport
  BATCH=1 wrk -t 1 -c 8 -d 12s -s req.lua "http://127.0.0.1:$target" >/dev/null &
  wrk_pid=$!
  sleep 1
  curl -s "http://127.0.0.1:$pport/debug/pprof/allocs" > "$PROFILE_DIR/allocs-before.pprof"
  curl -s "http://127.0.0.1:$pport/debug/pprof/profile?seconds=10" > "$PROFILE_DIR/cpu.pprof"
  curl -s "http://127.0.0.1:$pport/debug/pprof/allocs" > "$PROFILE_DIR/allocs.pprof"
  wait "$wrk_pid"
  cp "$work/slipway" "$PROFILE_DIR/slipway"
  echo "profile: $PROFILE_DIR/cpu.pprof"
fi
