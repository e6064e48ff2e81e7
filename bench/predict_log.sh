#!/usr/bin/env bash
# The cost of the prediction log: live predictions with logging on and off,
# alternated in one run, at light load and at saturation.
#
#   ./bench/predict_log.sh [REDIS_ADDR] [SCALE] [DURATION]
#
# The demo at SCALE (default 1) with a Redis online store; the endpoint
# purchase (the built-in logistic regression, 8 features). For each round,
# `slipway serve` with prediction_log enabled, then disabled (a fresh server
# each time, on the same data), asked by bench/loadgen for 1 entity per
# request: one client (latency at light load), then 8 clients (saturation).
# With the log on, every answer is also appended to the WAL (flushed every
# 50 ms) and shipped into DuckDB every second, in the same process.
# Each run's line ends with the server's CPU time per prediction (from
# /proc), and the last line gives the medians of the on/off ratios.
# With PROFILE_DIR set, each run at 8 clients also records the server's CPU
# profile (slipway serve --pprof) into PROFILE_DIR/ROUND-MODE.pprof.
# ROUNDS (default 2) is how many on/off pairs are run. EXTRA_CONFIG, when
# set, is appended to both configurations (YAML); LOG_CONFIG, when set, is
# put under prediction_log: of the configuration with the log on (for
# example LOG_CONFIG='  ship_interval: 5s'). PORT=serving asks the serving
# port (serve --serving-addr, docs/design/serving-fast-path.md) instead of
# the API address.
set -euo pipefail
cd "$(dirname "$0")/.."
addr="${1:-127.0.0.1:6379}"
scale="${2:-1}"
duration="${3:-10s}"
prefix="slipway_lbench_$$:"
# shellcheck source=bench/redis_demo.sh
source bench/redis_demo.sh
cut -d, -f1 data/subscribers.csv | tail -n +2 > entities.txt
# summarize prints, over the rounds, the medians of the on/off ratios: the
# p99 at one client, the throughput at 8 clients, and the server's CPU per
# prediction at 8 clients (its /proc CPU time over the run: steadier than
# the throughput on a machine whose speed moves from round to round).
summarize() {
  python3 - "$1" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.search(r"round (\d+) log (on|off) .*concurrency=(\d+).*throughput=(\d+).*p99=([\d.]+)(µs|ms).*server_cpu=([\d.]+)µs", line)
    if m:
        rnd, mode, conc, thr, p99, unit, cpu = m.groups()
        runs[(rnd, mode, conc)] = (int(thr), float(p99) * (1000 if unit == "ms" else 1), float(cpu))
def median_ratio(conc, i):
    r = [runs[(n, "on", conc)][i] / runs[(n, "off", conc)][i] - 1 for (n, mode, c) in runs
         if mode == "on" and c == conc and (n, "off", conc) in runs and runs[(n, "off", conc)][i] > 0]
    return "%+.1f%% (%d rounds)" % (100 * statistics.median(r), len(r)) if r else "n/a"
print("# median on vs off: p99 at 1 client %s; throughput at 8 clients %s; server CPU per prediction at 8 clients %s"
      % (median_ratio("1", 1), median_ratio("8", 0), median_ratio("8", 2)))
PY
}
echo "# $(date -u) $(nproc) cores; Redis $(redis-cli -h "$host" -p "$port" info server | grep redis_version | tr -d '\r'); scale $scale; endpoint purchase (8 features); asking $( [ "${PORT:-}" = serving ] && echo the serving port || echo the API address)"
base_cfg="$SLIPWAY_CONFIG"
for round in $(seq 1 "${ROUNDS:-2}"); do
  for mode in on off; do
    cfg="$work/slipway-$mode.yaml"
    cp "$base_cfg" "$cfg"
    if [ -n "${EXTRA_CONFIG:-}" ]; then printf '%s\n' "$EXTRA_CONFIG" >> "$cfg"; fi
    if [ "$mode" = off ]; then printf 'prediction_log:\n  enabled: false\n' >> "$cfg"; fi
    if [ "$mode" = on ] && [ -n "${LOG_CONFIG:-}" ]; then printf 'prediction_log:\n%s\n' "$LOG_CONFIG" >> "$cfg"; fi
    sport=$(free_port)
    pport=$(free_port)
    target=$sport serving=()
    if [ "${PORT:-}" = serving ]; then target=$(free_port); serving=(--serving-addr "127.0.0.1:$target"); fi
    SLIPWAY_CONFIG="$cfg" slipway serve --addr "127.0.0.1:$sport" "${serving[@]}" --pprof "127.0.0.1:$pport" >"serve-$mode.log" 2>&1 &
    serve_pid=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$sport/healthz" >/dev/null && break; sleep 0.1; done
    for conc in 1 8; do
      prefix_line=$(printf 'round %s log %-3s ' "$round" "$mode")
      if [ -n "${PROFILE_DIR:-}" ] && [ "$conc" = 8 ]; then
        mkdir -p "$PROFILE_DIR"
        secs=$(( ${duration%s} - 2 ))
        curl -sf -o "$PROFILE_DIR/$round-$mode.pprof" "http://127.0.0.1:$pport/debug/pprof/profile?seconds=$secs" &
      fi
      cpu0=$(awk '{print $14+$15}' "/proc/$serve_pid/stat")
      out=$(loadgen -target predict -endpoint purchase -url "http://127.0.0.1:$target" -entities-file entities.txt -concurrency "$conc" -duration "$duration")
      cpu1=$(awk '{print $14+$15}' "/proc/$serve_pid/stat")
      requests=$(grep -o 'requests=[0-9]*' <<<"$out" | cut -d= -f2)
      tenths=$(( (cpu1 - cpu0) * 10000000 / $(getconf CLK_TCK) / (requests > 0 ? requests : 1) ))
      echo "$prefix_line$out server_cpu=$((tenths / 10)).$((tenths % 10))µs/prediction" | tee -a "$work/results.txt"
    done
    wait_profile=$(jobs -p | grep -v "^$serve_pid\$" || true); [ -n "$wait_profile" ] && wait $wait_profile
    kill -TERM "$serve_pid"; wait "$serve_pid" || true; serve_pid=""
  done
done
summarize "$work/results.txt"
logged=$(find .slipway/prediction-log -name '*.wal' -printf '%s\n' 2>/dev/null | awk '{s+=$1} END {print s+0}')
echo "# prediction log on disk after the runs (unshipped and active segments): $logged bytes"
