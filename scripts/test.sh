#!/usr/bin/env bash
# Runs Slipway's whole test suite: formatting, vet, and every Go test
# (unit, conformance suites on the embedded backends, end-to-end CLI tests).
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
# -p 2 matches the 2-core machines we run on; DuckDB tests are CPU-heavy.
go test -count=1 -p 2 -timeout 30m "$@" ./...
