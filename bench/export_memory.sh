#!/usr/bin/env bash
# Shows that training-set export memory stays bounded when the training set is
# larger than the memory DuckDB may use: builds the demo project at --scale
# SCALE (default 40, about 4.6M label rows), then exports it as CSV with
# SLIPWAY_DUCKDB_MEMORY_LIMIT=LIMIT (default 256MB) and reports the output
# size against the process's peak RSS (GNU time).
# Then exports it again through a `slipway serve` on the same data directory
# and reports the peak RSS of the client process, which receives the file streamed.
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
    "$work/slipway" --data-dir "$work/p/.slipway" training-set export purchase_propensity --format "$fmt" --out "$work/ts.$fmt" 2>&1 | grep -Ev "^  (job|exported)"
  echo "output: $(du -m "$work/ts.$fmt" | cut -f1) MB"
done
# Through a server: the server's engine writes the file, the client (this
# machine's `slipway` command) receives it streamed; its peak RSS is the
# client's own, whatever the size.
"$work/slipway" --data-dir "$work/p/.slipway" --log-level warn serve --addr 127.0.0.1:18090 >/dev/null 2>&1 &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -f "$work/p/.slipway/server.json" ] && break; sleep 0.1; done
/usr/bin/time -f "export csv through the server, client process: %e s, peak RSS %M KB" \
  "$work/slipway" --data-dir "$work/p/.slipway" training-set export purchase_propensity --format csv --out "$work/ts-client.csv" 2>&1 | grep -v '^  job'
echo "output: $(du -m "$work/ts-client.csv" | cut -f1) MB; same bytes as the direct export: $(cmp -s "$work/ts.csv" "$work/ts-client.csv" && echo yes || echo no)"
kill -INT $serve_pid; wait $serve_pid 2>/dev/null || true
