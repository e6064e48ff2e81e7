#!/usr/bin/env bash
# Batch prediction throughput on the embedded stores, side by side with the
# same work done by the engine and by `slipway score` separately.
#
#   ./bench/batch_predict.sh [SCALE...]     REPEAT=3 runs each (default)
#
# For each scale (default 10 and 50): `slipway quickstart --scale N` in a
# temporary directory (it trains purchase_model and runs the batch
# prediction nightly_purchase_scores once, not counted), then REPEAT times:
#   batch   `slipway run nightly_purchase_scores`: the point-in-time join of
#           every subscriber as of now in DuckDB, encoding and scoring in
#           Go, appending the rows (WriteRows) and materializing the feature;
#   join    `slipway training-set export` of a training set whose label is
#           one run's rows (the same join, the same subscribers and
#           features), written to CSV by DuckDB itself: the raw engine;
#   score   `slipway score purchase_model` of that CSV: Go parsing,
#           encoding and scoring.
# Reports wall times (process start included) and rows per second.
set -euo pipefail
cd "$(dirname "$0")/.."
scales=("$@")
[ ${#scales[@]} -gt 0 ] || scales=(10 50)
repeat="${REPEAT:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
go build -o "$work/slipway" ./cmd/slipway
now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
echo "== $(nproc) cores, $(go version | cut -d' ' -f3), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| scale | entities | batch run (s) | rows/s | engine join to CSV (s) | slipway score (s) | join + score (s) |"
echo "|---|---|---|---|---|---|---|"
for s in "${scales[@]}"; do
  dir="$work/s$s"
  "$work/slipway" quickstart --dir "$dir" --scale "$s" >"$work/quickstart.log" 2>&1 ||
    { cat "$work/quickstart.log" >&2; exit 1; }
  cd "$dir"
  sw() { "$work/slipway" --data-dir .slipway "$@"; }
  # purchase_model's features, as the bench training set names them.
  ts=$(printf '%s' "$(sw show training-set purchase_propensity --json)" | /usr/bin/python3 -c 'import json,sys; print(", ".join(f["name"]+":"+f["variant"] for f in json.load(sys.stdin)["training_set"]["features"]))')
  cat > definitions/bench_batch_check.yaml <<YAML
transformations:
  - name: bench_last_run
    sql: |
      SELECT * FROM {{ nightly_purchase_scores }}
      WHERE predicted_at = (SELECT max(predicted_at) FROM {{ nightly_purchase_scores }})
labels:
  - name: bench_batch_rows
    entity: subscriber
    source: bench_last_run
    entity_column: entity
    value_column: prediction
    timestamp_column: predicted_at
    type: float64
training_sets:
  - name: bench_batch_check
    label: bench_batch_rows
    features: [$ts]
YAML
  # One run's rows as a label, joined with purchase_model's features.
  sw apply definitions >/dev/null
  for _ in $(seq "$repeat"); do
    t0=$(now); out=$(sw run nightly_purchase_scores 2>/dev/null); t1=$(now)
    n=$(printf '%s\n' "$out" | sed -n 's/.*scored \([0-9,]*\) entities.*/\1/p' | tr -d ,)
    # The newest run's rows, as a table (built outside the timing).
    sw run bench_last_run --rebuild >/dev/null 2>&1
    t2=$(now); sw training-set export bench_batch_check --format csv --out "$work/rows.csv" 2>/dev/null; t3=$(now)
    sw score purchase_model --in "$work/rows.csv" --out "$work/scored.csv" >/dev/null 2>&1; t4=$(now)
    echo "| $s | $n | $(secs "$t0" "$t1") | $(rate "$n" "$(secs "$t0" "$t1")") | $(secs "$t2" "$t3") | $(secs "$t3" "$t4") | $(secs "$t2" "$t4") |"
  done
  cd - >/dev/null
done
