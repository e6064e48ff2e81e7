#!/usr/bin/env bash
# Runs Slipway's whole test suite: formatting, vet, and every Go test
# (unit, conformance suites on the embedded backends and on real PostgreSQL
# and Redis, end-to-end CLI tests). Starts or installs the servers it needs.
# Usage: ./scripts/test.sh [extra go test flags]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null; then
  echo "Go is required (https://go.dev/dl); cgo needs gcc for DuckDB." >&2
  exit 1
fi

unformatted=$(gofmt -l . | grep -v '^vendor/' || true)
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...

# Real PostgreSQL and Redis (single node and a 3-node cluster) for the backend
# suites; a suite that cannot reach its server fails instead of skipping.
source scripts/services.sh
trap stop_services EXIT
start_services
# -p 2 matches the 2-core machines we run on; DuckDB tests are CPU-heavy.
go test -count=1 -p 2 -timeout 30m "$@" ./...
