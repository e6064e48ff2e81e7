#!/usr/bin/env bash
# Shows that training-set export memory stays bounded when the training set is
# larger than the memory DuckDB may use: builds the demo project at --scale
# SCALE (default 40, about 4.6M label rows), then exports it as CSV with
# SLIPWAY_DUCKDB_MEMORY_LIMIT=LIMIT (default 256MB) and reports the output
# size against the process's peak RSS (GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
scale="${1:-40}"
limit="${2:-256MB}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
go build -o "$work/slipway" ./cmd/slipway
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
/usr/bin/time -f "quickstart --scale $scale: %e s, peak RSS %M KB" "$work/slipway" quickstart --dir "$work/p" --scale "$scale" >/dev/null
for fmt in csv parquet; do
  SLIPWAY_DUCKDB_MEMORY_LIMIT="$limit" /usr/bin/time -f "export $fmt with memory limit $limit: %e s, peak RSS %M KB" \
    "$work/slipway" --data-dir "$work/p/.slipway" training-set export purchase_propensity --format "$fmt" --out "$work/ts.$fmt" 2>&1 | grep -v '^  exported'
  echo "output: $(du -m "$work/ts.$fmt" | cut -f1) MB"
done
