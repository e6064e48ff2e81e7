// Package testenv gives tests the real backend servers named by environment
// variables, and decides what happens when one is not configured: locally the
// test is skipped with a message; with SLIPWAY_TEST_REQUIRE_BACKENDS=1 (set by
// scripts/test.sh) it fails, so CI can never pass by skipping.
package testenv

import (
	"os"
	"strings"
	"testing"
)

// Environment variables read by this package.
const (
	// PostgresEnv holds a PostgreSQL connection string, e.g. postgres://postgres@127.0.0.1:5432/test.
	PostgresEnv = "SLIPWAY_TEST_POSTGRES"
	// RedisEnv holds a Redis address, e.g. 127.0.0.1:6379.
	RedisEnv = "SLIPWAY_TEST_REDIS"
	// RedisClusterEnv holds comma-separated Redis Cluster node addresses.
	RedisClusterEnv = "SLIPWAY_TEST_REDIS_CLUSTER"
	// RequireEnv turns a missing backend into a failure instead of a skip.
	RequireEnv = "SLIPWAY_TEST_REQUIRE_BACKENDS"
)

// Postgres returns the PostgreSQL connection string for tests.
func Postgres(t testing.TB) string {
	t.Helper()
	return lookup(t, PostgresEnv)
}

// Redis returns the address of a single Redis node for tests.
func Redis(t testing.TB) string {
	t.Helper()
	return lookup(t, RedisEnv)
}

// RedisCluster returns the seed addresses of a Redis Cluster for tests.
func RedisCluster(t testing.TB) []string {
	t.Helper()
	return strings.Split(lookup(t, RedisClusterEnv), ",")
}

func lookup(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s is not set but %s=1: the backend must be reachable (scripts/test.sh starts it)", name, RequireEnv)
	}
	t.Skipf("%s is not set; skipping the tests that need it (scripts/test.sh sets it)", name)
	return ""
}
