#!/usr/bin/env bash
# The cost of the Prometheus metrics: live predictions with metrics on and
# off, alternated in one run, and the time of a GET /metrics scrape.
#
#   ./bench/metrics.sh [REDIS_ADDR] [SCALE] [DURATION]
#
# The demo at SCALE (default 1) with a Redis online store; the endpoint
# purchase (the built-in logistic regression, 8 features). For each round,
# `slipway serve` with metrics on (the default), then off (metrics: enabled:
# false), a fresh server each time on the same data, asked by bench/loadgen
# for 1 entity per request: one client (latency at light load), then 8
# clients (saturation), with the server's CPU time per request (from /proc).
# ROUNDS (default 3) is how many on/off pairs are run.
# After the load of each "on" run, SCRAPES (default 50) sequential scrapes of
# GET /metrics are timed (curl's time_total) and their size noted.
# EXTRA_CONFIG is appended to both configurations (YAML); by default it turns
# the prediction log off in both, so that its shipping (a burst each second)
# does not blur the comparison; EXTRA_CONFIG= (empty) keeps it on.
set -euo pipefail
cd "$(dirname "$0")/.."
addr="${1:-127.0.0.1:6379}"
scale="${2:-1}"
duration="${3:-10s}"
prefix="slipway_mbench_$$:"
extra="${EXTRA_CONFIG-$'prediction_log:\n  enabled: false'}"
# shellcheck source=bench/redis_demo.sh
source bench/redis_demo.sh
cut -d, -f1 data/subscribers.csv | tail -n +2 > entities.txt
echo "# $(date -u) $(nproc) cores; Redis $(redis-cli -h "$host" -p "$port" info server | grep redis_version | tr -d '\r'); scale $scale; endpoint purchase (8 features); extra config: ${extra//$'\n'/ }"
base_cfg="$SLIPWAY_CONFIG"
for round in $(seq 1 "${ROUNDS:-3}"); do
  for mode in on off; do
    cfg="$work/slipway-$mode.yaml"
    cp "$base_cfg" "$cfg"
    if [ -n "$extra" ]; then printf '%s\n' "$extra" >> "$cfg"; fi
    if [ "$mode" = off ]; then printf 'metrics:\n  enabled: false\n' >> "$cfg"; fi
    sport=$(free_port)
    SLIPWAY_CONFIG="$cfg" slipway serve --addr "127.0.0.1:$sport" >"serve-$mode.log" 2>&1 &
    serve_pid=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$sport/healthz" >/dev/null && break; sleep 0.1; done
    for conc in 1 8; do
      printf 'round %s metrics %-3s ' "$round" "$mode"
      # The server's CPU time (user + system, /proc) per request is less
      # sensitive than throughput to what else runs on the machine.
      before=$(awk '{print $14+$15}' "/proc/$serve_pid/stat")
      out=$(loadgen -target predict -endpoint purchase -url "http://127.0.0.1:$sport" -entities-file entities.txt -concurrency "$conc" -duration "$duration")
      after=$(awk '{print $14+$15}' "/proc/$serve_pid/stat")
      requests=$(sed -n 's/.* requests=\([0-9]*\) .*/\1/p' <<<"$out")
      printf '%s server_cpu=%.1fus/req\n' "$out" "$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN {print 1e6*t/hz/n}')"
    done
    if [ "$mode" = on ]; then
      times="$work/scrape-times.txt"
      : > "$times"
      for _ in $(seq 1 "${SCRAPES:-50}"); do
        curl -sf -o "$work/scrape.txt" -w '%{time_total}\n' "http://127.0.0.1:$sport/metrics" >> "$times"
      done
      bytes=$(wc -c < "$work/scrape.txt")
      series=$(grep -vc '^#' "$work/scrape.txt")
      sort -n "$times" | awk -v r="$round" -v b="$bytes" -v s="$series" '{t[NR]=$1} END {
        printf "round %s scrape: %d scrapes, p50 %.2f ms, p90 %.2f ms, max %.2f ms; %d bytes, %d samples\n",
          r, NR, 1000*t[int(NR*0.5+0.5)], 1000*t[int(NR*0.9+0.5)], 1000*t[NR], b, s }'
    fi
    kill -TERM "$serve_pid"; wait "$serve_pid" || true; serve_pid=""
  done
done
