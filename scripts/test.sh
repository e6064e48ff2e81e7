#!/usr/bin/env bash
# Runs Slipway's whole test suite: formatting, vet, and every Go test
# (unit, conformance suites on the embedded backends and on real PostgreSQL
# and Redis, end-to-end CLI tests), the packages that run goroutines under
# the race detector, then every fuzz target for a short time.
# Starts or installs the servers it needs.
# Usage: ./scripts/test.sh [extra go test flags]
# SLIPWAY_FUZZTIME sets each fuzz target's time (default 10s; 0 skips them).
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
# The packages that run goroutines (job workers, stores used concurrently,
# the platform and its background jobs, the HTTP server and client, the CLI and the binary the end-to-end tests drive, which
# cmd/slipway builds with -race under -race) run under the race detector;
# the others gain nothing from it.
race_pkgs=$(go list ./cli/... ./client/... ./cmd/... ./coordinator/... ./metrics/... ./model/... ./platform/... ./registry/... ./online/... ./offline/... ./server/... ./serving/...)
other_pkgs=$(go list ./... | grep -vxF "$race_pkgs")
go test -count=1 -p 2 -timeout 30m "$@" $other_pkgs
go test -race -count=1 -p 2 -timeout 50m "$@" $race_pkgs

# Every fuzz target (func FuzzXxx in a _test.go file), a short run each. A
# failing input is written under the package's testdata/fuzz/FuzzXxx and
# replayed by every later go test: fix the code and commit the input.
fuzztime=${SLIPWAY_FUZZTIME:-10s}
if [ "$fuzztime" != 0 ]; then
  # Go 1.26's fuzz coordinator can end a run with a bare "context deadline
  # exceeded" at the -fuzztime boundary when a worker is mid-input
  # (go.dev/issue/75804, fixed in Go 1.27): no input failed, none is written
  # to testdata/fuzz. Such a run is run once more; a real failure writes its
  # input and fails at once.
  grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sort | while IFS=: read -r file fn; do
    target="${fn#func }"; pkg="$(dirname "$file")"
    for attempt in 1 2; do
      before=$(ls "$pkg/testdata/fuzz/$target" 2>/dev/null | wc -l || true)
      if out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1); then
        echo "$out"; break
      fi
      echo "$out"
      after=$(ls "$pkg/testdata/fuzz/$target" 2>/dev/null | wc -l || true)
      if [ "$attempt" = 1 ] && [ "$after" = "$before" ] && echo "$out" | grep -q '^    context deadline exceeded$'; then
        echo "test.sh: $target ended with Go's fuzztime deadline race (go.dev/issue/75804) and no failing input; running it again"
        continue
      fi
      exit 1
    done
  done
fi
