package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/slipway-ml/slipway/internal/testenv"
)

// TestPostgresAndRedisEndToEnd runs the core workflow with every role on a
// production provider: registry and offline store on PostgreSQL, online
// store on Redis. The definitions are the same kind a data scientist writes
// for the embedded defaults, with table sources and PostgreSQL SQL.
func TestPostgresAndRedisEndToEnd(t *testing.T) {
	t.Run("RedisSingleNode", func(t *testing.T) { testPostgresAndRedis(t, []string{testenv.Redis(t)}) })
	t.Run("RedisCluster", func(t *testing.T) { testPostgresAndRedis(t, testenv.RedisCluster(t)) })
}

// writeProductionConfig writes dir/slipway.yaml with the registry and the
// offline store in their own PostgreSQL schemas (DSN from env E2E_DSN) and
// the online store on Redis (a cluster when there are several addresses)
// under a key prefix.
func writeProductionConfig(t *testing.T, dir, registrySchema, offlineSchema string, redisAddrs []string, prefix string) {
	t.Helper()
	cfg := fmt.Sprintf(`registry:
  type: postgres
  dsn: ${E2E_DSN}
  schema: %s
offline:
  type: postgres
  dsn: ${E2E_DSN}
  schema: %s
online:
  type: redis
  addrs: [%s]
  cluster: %t
  key_prefix: %q
`, registrySchema, offlineSchema, strings.Join(redisAddrs, ", "), len(redisAddrs) > 1, prefix)
	if err := os.WriteFile(filepath.Join(dir, "slipway.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

func testPostgresAndRedis(t *testing.T, redisAddrs []string) {
	dsn := testenv.Postgres(t)
	cluster := len(redisAddrs) > 1
	ctx := context.Background()
	suffix := fmt.Sprintf("%d", rand.Uint32())
	data, reg, off := "e2e_data_"+suffix, "e2e_registry_"+suffix, "e2e_offline_"+suffix
	prefix := "slipway_e2e_" + suffix + ":"

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: redisAddrs, IsClusterMode: cluster})
	t.Cleanup(func() {
		defer rdb.Close()
		defer conn.Close(context.Background())
		bg := context.Background()
		for _, s := range []string{data, reg, off} {
			conn.Exec(bg, "DROP SCHEMA IF EXISTS "+s+" CASCADE")
		}
		del := func(ctx context.Context, c *redis.Client) error {
			keys, _ := c.Keys(ctx, prefix+"*").Result()
			for _, k := range keys {
				c.Del(ctx, k)
			}
			return nil
		}
		if cc, ok := rdb.(*redis.ClusterClient); ok {
			cc.ForEachMaster(bg, del)
		} else {
			del(bg, rdb.(*redis.Client))
		}
	})
	for _, stmt := range []string{
		"CREATE SCHEMA " + data,
		"CREATE TABLE " + data + ".orders (customer_id bigint, ordered_at timestamp, amount numeric(10,2))",
		`INSERT INTO ` + data + `.orders VALUES
			(1, '2026-01-01 10:00', 10), (1, '2026-01-05 10:00', 30), (2, '2026-01-02 09:00', 5),
			(2, '2026-01-02 09:00', 7), (3, '2026-01-09 00:00', 100)`,
		"CREATE TABLE " + data + ".visits (customer_id bigint, visited_at timestamp, converted boolean)",
		`INSERT INTO ` + data + `.visits VALUES
			(1, '2026-01-04 00:00', true), (1, '2026-01-06 00:00', false), (2, '2026-01-01 00:00', false),
			(2, '2026-01-03 00:00', true), (3, '2026-01-08 00:00', true), (4, '2026-01-08 00:00', false)`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}

	dir := t.TempDir()
	writeProductionConfig(t, dir, reg, off, redisAddrs, prefix)
	must(t, os.MkdirAll(filepath.Join(dir, "defs"), 0o755))
	os.WriteFile(filepath.Join(dir, "defs", "shop.yaml"), []byte(fmt.Sprintf(`entities:
  - name: customer
sources:
  - name: orders
    table: %[1]s.orders
    timestamp_column: ordered_at
  - name: visits
    table: %[1]s.visits
    timestamp_column: visited_at
transformations:
  - name: order_stats
    sql: |
      SELECT customer_id, ordered_at,
             sum(amount) OVER (PARTITION BY customer_id ORDER BY ordered_at) AS spent
      FROM {{ orders }}
features:
  - name: spent
    entity: customer
    source: order_stats
    entity_column: customer_id
    value_column: spent
    timestamp_column: ordered_at
    type: float64
labels:
  - name: converted
    entity: customer
    source: visits
    entity_column: customer_id
    value_column: converted
    timestamp_column: visited_at
    type: bool
training_sets:
  - name: conversion
    label: converted
    features: [spent]
`, data)), 0o644)

	run := func(args ...string) result {
		t.Helper()
		r := execSlipway(t, dir, []string{"E2E_DSN=" + dsn, "SLIPWAY_DATA_DIR=" + filepath.Join(dir, "unused")}, args...)
		if r.code != 0 {
			t.Fatalf("slipway %s: exit %d\n%s\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r
	}

	r := run("doctor")
	if strings.Contains(r.stdout, dsn) || strings.Count(r.stdout, "ok  ") != 3 {
		t.Errorf("doctor:\n%s", r.stdout)
	}
	run("apply", "defs")
	if r := run("apply", "defs"); !strings.Contains(r.stdout, "applied: 0 created") {
		t.Errorf("re-apply: %s", r.stdout)
	}
	run("run")
	r = run("training-set", "export", "conversion", "--format", "csv")
	got := strings.Split(strings.TrimSpace(r.stdout), "\n")
	want := []string{
		"customer,timestamp,spent,converted",
		"1,2026-01-04T00:00:00.000000Z,10,true",
		"1,2026-01-06T00:00:00.000000Z,40,false",
		"2,2026-01-01T00:00:00.000000Z,,false",
		"2,2026-01-03T00:00:00.000000Z,12,true", // two orders at 09:00: the window's peers both sum to 12
		"3,2026-01-08T00:00:00.000000Z,,true",   // the order is after the visit
		"4,2026-01-08T00:00:00.000000Z,,false",
	}
	slices.Sort(got[1:])
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("training set:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The PostgreSQL offline store writes no Parquet: with no --format the
	// default is the first format it writes, csv.
	if d := run("training-set", "export", "conversion"); d.stdout != r.stdout {
		t.Errorf("export with no --format on PostgreSQL:\n%s\nwant the csv export:\n%s", d.stdout, r.stdout)
	}

	run("materialize")
	vals, err := rdb.HGetAll(ctx, prefix+"1").Result()
	if err != nil || len(vals) != 1 {
		t.Fatalf("redis hash of customer 1: %v %v", vals, err)
	}

	addr := freeAddr(t)
	cmd := exec.Command(binary, "serve", "--addr", addr)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "E2E_DSN="+dsn)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	code, body := post(t, "http://"+addr+"/v1/online-features", `{"features":["spent"],"entities":[1,"3","9"]}`)
	if code != 200 {
		t.Fatalf("online-features: %d %s", code, body)
	}
	var resp struct {
		Results []struct {
			Values   []any    `json:"values"`
			Statuses []string `json:"statuses"`
		} `json:"results"`
	}
	json.Unmarshal(body, &resp)
	if len(resp.Results) != 3 || resp.Results[0].Values[0] != 40.0 || resp.Results[1].Values[0] != 100.0 || resp.Results[2].Statuses[0] != "not_found" {
		t.Errorf("online-features: %s", body)
	}

	// The server keeps the hashes it read in its cache; a materialization
	// (through the running server) that changes them is served by the very
	// next request. (The order is dated after the newest one materialized,
	// as materialization is incremental, and the transformation is rebuilt,
	// as run skips a ready one.)
	if _, err := conn.Exec(ctx, `INSERT INTO `+data+`.orders VALUES (1, '2026-01-10 10:00', 5)`); err != nil {
		t.Fatal(err)
	}
	run("run", "--rebuild")
	run("materialize")
	if v, err := rdb.HGetAll(ctx, prefix+"1").Result(); err != nil || len(v) != 1 {
		t.Fatalf("redis hash of customer 1 after the second materialization: %v %v", v, err)
	}
	code, body = post(t, "http://"+addr+"/v1/online-features", `{"features":["spent"],"entities":[1,"3"]}`)
	resp.Results = nil
	if err := json.Unmarshal(body, &resp); code != 200 || err != nil || len(resp.Results) != 2 || resp.Results[0].Values[0] != 45.0 || resp.Results[1].Values[0] != 100.0 {
		t.Errorf("online-features right after a materialization: %d %s, want customer 1's spent 45", code, body)
	}
}
