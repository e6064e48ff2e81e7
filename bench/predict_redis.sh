#!/usr/bin/env bash
# Live predictions on Redis, side by side with online features and raw Redis
# driven by the same load generator in the same run, and the time an alias
# move takes to reach a running server.
#
#   ./bench/predict_redis.sh [REDIS_ADDR] [SCALE] [DURATION]
#
# Builds the demo at SCALE (default 1) with 20 extra subscriber features and
# a training set of them, trains XGBoost (200 trees, depth 6; Debian's
# python3-xgboost) on its encoded export, registers and promotes it, defines
# an endpoint over it and serves it with a Redis online store. Then asks for
# 1 entity x 20 features: at one client (latency at light load) and at 8
# clients (saturation), predictions against online features of the same 20
# features and raw HMGET. Last, promotes another version and times how long
# until the server answers with it.
set -euo pipefail
cd "$(dirname "$0")/.."
addr="${1:-127.0.0.1:6379}"
scale="${2:-1}"
duration="${3:-10s}"
prefix="slipway_pbench_$$:"
# shellcheck source=bench/redis_demo.sh
source bench/redis_demo.sh
printf 'training_sets:\n  - name: bench_ts\n    label: purchased_7d\n    features: [%s]\n' "$features" >> definitions/bench_features.yaml
slipway apply definitions >/dev/null
slipway materialize >/dev/null 2>&1
slipway training-set export bench_ts --encoded --out bench.csv >/dev/null 2>&1
/usr/bin/python3 - <<'PY'
import json
import numpy as np, pandas as pd, xgboost as xgb
schema = json.load(open("bench.schema.json"))
df = pd.read_csv("bench.csv", float_precision="round_trip")
X = df[schema["features"]].to_numpy(dtype=np.float64)
y = df[schema["label"]].to_numpy(dtype=np.float64)
rng = np.random.default_rng(1)
X = X + rng.normal(0, 1, X.shape)  # distinct columns, so the trees use them all
b = xgb.train({"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "nthread": 2}, xgb.DMatrix(X, label=y, missing=np.nan), num_boost_round=200)
b.save_model("bench_xgb.json")
PY
slipway models register bench_xgb --file bench_xgb.json --format xgboost-json --training-set bench_ts --schema bench.schema.json >/dev/null
slipway models register bench_xgb --file bench_xgb.json --format xgboost-json --training-set bench_ts --schema bench.schema.json >/dev/null
slipway models promote bench_xgb 1 >/dev/null
printf 'endpoints:\n  - name: bench\n    model: bench_xgb\n' > definitions/bench_endpoint.yaml
slipway apply definitions >/dev/null
cut -d, -f1 data/subscribers.csv | tail -n +2 > entities.txt
echo "# $(date -u) $(nproc) cores; Redis $(redis-cli -h "$host" -p "$port" info server | grep redis_version | tr -d '\r'); scale $scale; XGBoost 200 trees depth 6, 20 features"
sport=$(free_port)
slipway serve --addr "127.0.0.1:$sport" >serve.log 2>&1 &
serve_pid=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$sport/healthz" >/dev/null && break; sleep 0.1; done
raw_features=$(echo "$features" | sed 's/\([^,]*\)/\1:default/g')
for conc in 1 8; do
  for round in 1 2; do
    loadgen -target predict -endpoint bench -url "http://127.0.0.1:$sport" -entities-file entities.txt -concurrency "$conc" -duration "$duration"
    loadgen -target http -url "http://127.0.0.1:$sport" -features "$features" -entities-file entities.txt -concurrency "$conc" -duration "$duration"
    loadgen -target redis -addr "$addr" -prefix "$prefix" -features "$raw_features" -entities-file entities.txt -concurrency "$conc" -duration "$duration"
  done
done
echo "## Alias switch: from the end of 'models promote' to the first answer naming the new version"
key=$(head -1 entities.txt)
for to in 2 1 2; do
  slipway models promote bench_xgb "$to" >/dev/null
  t0=$(date +%s.%N)
  until curl -s "http://127.0.0.1:$sport/v1/endpoints/bench/predict" -d "{\"entities\":[\"$key\"]}" | grep -q "\"version\":$to,"; do sleep 0.01; done
  t1=$(date +%s.%N)
  python3 -c "print('promote to version $to: served after %.2f s' % ($t1 - $t0))"
done
