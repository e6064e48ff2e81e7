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
	if err := os.Remove(filepath.Join(dir, ".slipway", "online.bolt")); err != nil {
		t.Fatal(err)
	}
	killMaterializeThenRerun(t, dir, "--full")
	checkOnlineEqualsOfflineLatest(t, filepath.Join(dir, ".slipway"), nil)
}

// TestIncrementalMaterializeKilledMidwayThenRerun kills an incremental
// `slipway materialize` (no --full) after its first job, twice: on the
// first materialization, and after new rows arrived. Each time the rerun,
// incremental too, must leave the online store holding exactly the latest
// offline value of every entity: the killed jobs' watermarks did not move,
// so the rerun reads again what they had not finished.
func TestIncrementalMaterializeKilledMidwayThenRerun(t *testing.T) {
	dir := t.TempDir()
	const sources, meters = 3, 40000
	var defs strings.Builder
	defs.WriteString("entities:\n  - name: meter\nsources:\n")
	for i := range sources {
		fmt.Fprintf(&defs, "  - name: r%d\n    file: ../r%d.csv\n    timestamp_column: at\n", i, i)
	}
	defs.WriteString("features:\n")
	for i := range sources {
		fmt.Fprintf(&defs, "  - name: level%d\n    entity: meter\n    source: r%d\n    entity_column: meter_id\n    value_column: level\n    timestamp_column: at\n    type: int64\n", i, i)
	}
	must(t, os.MkdirAll(filepath.Join(dir, "defs"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "defs", "meters.yaml"), []byte(defs.String()), 0o644))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]strings.Builder, sources)
	for i := range sources {
		rows[i].WriteString("meter_id,at,level\n")
		for m := range meters {
			fmt.Fprintf(&rows[i], "m%d,%s,%d\n", m, start.Add(time.Duration(m%1000)*time.Minute).Format("2006-01-02T15:04:05"), m+i)
		}
	}
	writeSources := func() {
		t.Helper()
		for i := range sources {
			must(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("r%d.csv", i)), []byte(rows[i].String()), 0o644))
		}
	}
	writeSources()
	mustRun(t, dir, "apply", "defs")
	killMaterializeThenRerun(t, dir)
	checkOnlineEqualsOfflineLatest(t, filepath.Join(dir, ".slipway"), nil)

	// New readings for every eighth meter, a day later.
	for i := range sources {
		for m := 0; m < meters; m += 8 {
			fmt.Fprintf(&rows[i], "m%d,%s,%d\n", m, start.Add(24*time.Hour).Format("2006-01-02T15:04:05"), -m-i)
		}
	}
	writeSources()
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
	must(t, os.WriteFile(filepath.Join(dir, "slipway.yaml"), []byte(fmt.Sprintf("online:\n  type: redis\n  addrs: [%s]\n  key_prefix: %q\n", addr, prefix)), 0o644))
	killMaterializeThenRerun(t, dir, "--full")
	on, err := onlineredis.New(context.Background(), onlineredis.Config{Addrs: []string{addr}, KeyPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer on.Close()
	checkOnlineEqualsOfflineLatest(t, filepath.Join(dir, ".slipway"), on)
}

// killMaterializeThenRerun runs `slipway materialize flags...`, kills it
// with SIGKILL once its first job has ended, and runs it again to the end.
// The test fails unless the kill landed (the process died of it).
func killMaterializeThenRerun(t *testing.T, dir string, flags ...string) {
	t.Helper()
	args := append([]string{"materialize"}, flags...)
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SLIPWAY_DATA_DIR=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var seen []string
	killed := false
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.Contains(sc.Text(), ": materialized ") {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
			break
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("slipway %s finished before it could be killed (%v):\n%s", strings.Join(args, " "), err, strings.Join(seen, "\n"))
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("slipway %s exited before the kill landed (%v), so nothing was left to recover: give it more to do", strings.Join(args, " "), err)
	}
	mustRun(t, dir, args...)
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
			Table: offline.TableName(f.Feature.Source), EntityColumn: f.Feature.EntityColumn,
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
