# Sourced by the Redis benchmarks (online_redis.sh, predict_redis.sh,
# predict_log.sh, metrics.sh), in the
# repository root with addr, scale and prefix set: builds slipway and the
# load generator into $work/bin (on PATH), writes a configuration with a
# Redis online store under the key prefix, runs the quickstart at the scale
# in $work/demo and cds there, and adds 20 float64 subscriber features
# bench_f01…bench_f20 (definitions/bench_features.yaml, not applied), whose
# names it leaves comma-separated in $features. cleanup (set as the EXIT
# trap) stops $serve_pid if set, deletes the prefix's keys and $work.
# free_port prints a TCP port free on 127.0.0.1.
host="${addr%:*}"; port="${addr##*:}"
work="$(mktemp -d)"
cleanup() {
  [ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  redis-cli -h "$host" -p "$port" --scan --pattern "$prefix*" | xargs -r -n 1000 redis-cli -h "$host" -p "$port" unlink >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
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
