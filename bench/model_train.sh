#!/usr/bin/env bash
# Built-in training time of the demo's models: purchase_model (logistic
# regression on purchase_propensity) and spend_model (linear regression on
# spend_prediction), at each scale of the demo (default 1 and 10).
#
#   ./bench/model_train.sh [SCALE...]      REPEAT=2 runs per model (default)
#
# For each scale: `slipway quickstart --scale N` in a temporary directory
# (which trains purchase_model once, not counted), then `slipway train
# MODEL` REPEAT times per model on the embedded stores. Reports the label
# rows trained on and held out, the job's own "trained in" (encoding the
# training rows, fitting, scoring the holdout: not reading the training
# set), the command's wall time (process start, reading the training set
# from DuckDB, training, recording the version) and its peak RSS (GNU time;
# not measured without /usr/bin/time). About 1.5 minutes for scales 1 and 10
# on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
scales=("$@")
[ ${#scales[@]} -gt 0 ] || scales=(1 10)
repeat="${REPEAT:-2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
go build -o "$work/slipway" ./cmd/slipway
gnutime=""
if [ -x /usr/bin/time ] && /usr/bin/time -f %M true 2>/dev/null; then
  gnutime=yes
else
  echo "(no GNU time at /usr/bin/time: peak RSS not measured; apt-get install time)"
fi
echo "== $(nproc) cores, $(go version | cut -d' ' -f3), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| scale | model | label rows: trained on + held out | trained in (job) | wall (slipway train) | peak RSS |"
echo "|---|---|---|---|---|---|"
for s in "${scales[@]}"; do
  dir="$work/s$s"
  "$work/slipway" quickstart --dir "$dir" --scale "$s" >"$work/quickstart.log" 2>&1 ||
    { cat "$work/quickstart.log" >&2; exit 1; }
  for m in purchase_model spend_model; do
    for _ in $(seq "$repeat"); do
      t0=$(date +%s.%N)
      if [ -n "$gnutime" ]; then
        /usr/bin/time -f %M -o "$work/rss" "$work/slipway" --data-dir "$dir/.slipway" train "$m" >"$work/out" 2>"$work/err" ||
          { cat "$work/out" "$work/err" >&2; exit 1; }
        rss="$(( $(cat "$work/rss") / 1024 )) MiB"
      else
        "$work/slipway" --data-dir "$dir/.slipway" train "$m" >"$work/out" 2>"$work/err" ||
          { cat "$work/out" "$work/err" >&2; exit 1; }
        rss="not measured"
      fi
      wall=$(echo "$(date +%s.%N) - $t0" | bc)
      rows=$(grep -o 'training on [0-9]* rows' "$work/err" | grep -o '[0-9]*')
      held=$(grep -o 'holding out the newest [0-9]*' "$work/err" | grep -o '[0-9]*$')
      trained=$(grep -o 'trained in [^;]*' "$work/err" | cut -d' ' -f3)
      printf "| %s | %s | %s + %s | %s | %.2fs | %s |\n" "$s" "$m" "$rows" "$held" "$trained" "$wall" "$rss"
    done
  done
  rm -rf "$dir"
done
echo "== load average $(cut -d' ' -f1-3 /proc/loadavg)"
