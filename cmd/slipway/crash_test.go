package main

import (
	"fmt"
	"math/rand/v2"

	"bufio"
	"context"
	"github.com/redis/go-redis/v9"
	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/online/onlineredis"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/offline/offlineduckdb"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/online/onlinekv"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/registry/registrysqlite"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// TestMaterializeKilledMidwayThenRerun kills `slipway materialize` with
// SIGKILL after its first feature is written, reruns it, and checks that the
// online store then holds exactly the latest offline value of every entity.
func TestMaterializeKilledMidwayThenRerun(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "quickstart", "--scale", "2", "--seed", "3")
	// Start from an empty online store, so the rerun has to finish the job
	// (both runs are --full: the watermarks cannot know the store was emptied).
	os.Remove(filepath.Join(dir, ".slipway", "online.bolt"))
	killMaterializeThenRerun(t, dir)
	checkOnlineEqualsOfflineLatest(t, filepath.Join(dir, ".slipway"), nil)
}

// TestMaterializeToRedisKilledMidwayThenRerun is the same with the online store on Redis.
func TestMaterializeToRedisKilledMidwayThenRerun(t *testing.T) {
	addr := testenv.Redis(t)
	dir := t.TempDir()
	mustRun(t, dir, "quickstart", "--scale", "2", "--seed", "3")
	prefix := fmt.Sprintf("slipway_crash_%d:", rand.Uint32())
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() {
		defer rdb.Close()
		keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
		for start := 0; start < len(keys); start += 1000 {
			rdb.Del(context.Background(), keys[start:min(start+1000, len(keys))]...)
		}
	})
	os.WriteFile(filepath.Join(dir, "slipway.yaml"), []byte(fmt.Sprintf("online:\n  type: redis\n  addrs: [%s]\n  key_prefix: %q\n", addr, prefix)), 0o644)
	killMaterializeThenRerun(t, dir)
	on, err := onlineredis.New(context.Background(), onlineredis.Config{Addrs: []string{addr}, KeyPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer on.Close()
	checkOnlineEqualsOfflineLatest(t, filepath.Join(dir, ".slipway"), on)
}

func killMaterializeThenRerun(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.Command(binary, "materialize", "--full")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SLIPWAY_DATA_DIR=")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	killed := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), ": materialized ") {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
			break
		}
	}
	err := cmd.Wait()
	if !killed {
		t.Fatalf("materialize finished before it could be killed (%v)", err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Logf("materialize exited before the kill landed: %v", err)
	}

	mustRun(t, dir, "materialize", "--full")
}

// checkOnlineEqualsOfflineLatest compares on (the data directory's embedded
// online store when nil) with the offline latest values.
func checkOnlineEqualsOfflineLatest(t *testing.T, dataDir string, on online.Store) {
	t.Helper()
	ctx := context.Background()
	reg, err := registrysqlite.New(ctx, registrysqlite.Config{Path: filepath.Join(dataDir, "registry.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	off, err := offlineduckdb.New(ctx, offlineduckdb.Config{Path: filepath.Join(dataDir, "offline.duckdb")})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if on == nil {
		kv, err := onlinekv.New(ctx, onlinekv.Config{Path: filepath.Join(dataDir, "online.bolt")})
		if err != nil {
			t.Fatal(err)
		}
		defer kv.Close()
		on = kv
	}
	compareLatest(t, reg, off, on)
}

// compareLatest checks every feature's online values against the offline latest values.
func compareLatest(t *testing.T, reg registry.Store, off offline.Store, on online.Store) {
	t.Helper()
	ctx := context.Background()
	feats, err := reg.List(ctx, &registry.ListParams{Kind: resource.KindFeature})
	if err != nil || len(feats) == 0 {
		t.Fatalf("features: %v %v", len(feats), err)
	}
	checked := 0
	for _, f := range feats {
		rows, err := off.ReadLatest(ctx, &offline.ReadLatestParams{
			Table: offline.TableName(f.Feature.Dataset), EntityColumn: f.Feature.EntityColumn,
			TimestampColumn: f.Feature.TimestampColumn, ValueColumns: []string{f.Feature.ValueColumn},
			AsOf: time.Now(),
		})
		if err != nil {
			t.Fatal(err)
		}
		var entities []string
		want := map[string]online.Entry{}
		for rows.Next() {
			v := rows.Values()
			conv, err := value.Convert(v[2], f.Feature.Type)
			if err != nil {
				t.Fatal(err)
			}
			entities = append(entities, v[0].String())
			want[v[0].String()] = online.Entry{Found: true, Value: conv, Timestamp: v[1].Time()}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		for start := 0; start < len(entities); start += 1000 {
			batch := entities[start:min(start+1000, len(entities))]
			got, err := on.Read(ctx, &online.ReadParams{Features: []string{f.Ref().String()}, Entities: batch})
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range batch {
				g, w := got.Entries[i][0], want[e]
				if !g.Found || !g.Value.Equal(w.Value) || !g.Timestamp.Equal(w.Timestamp) {
					t.Fatalf("%s entity %s: online %+v, offline latest %+v", f.ID, e, g, w)
				}
				checked++
			}
		}
	}
	t.Logf("checked %d online values against the offline latest values", checked)
}
