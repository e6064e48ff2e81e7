package onlineredis_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/online/onlineredis"
)

// TestCacheStaleness measures how long a server that caches entity hashes
// answers old values after another process's write returned, on a single
// node and a cluster: the reader and the writer are two stores (their own
// connections, as a server and a worker are). The cache's TTL is an hour, so
// only Redis's invalidation messages can bring the new values; the bound
// checked (2 s) is far above what they take (reported with -v) and far
// below the TTL. Then the reader's connections are killed and a write
// happens while they are down: its invalidations reach nobody, so the
// reader must drop its cache with the connection.
func TestCacheStaleness(t *testing.T) {
	const bound = 2 * time.Second
	for _, mode := range []string{"single", "cluster"} {
		t.Run(mode, func(t *testing.T) {
			cfg := singleConfig(t)
			if mode == "cluster" {
				cfg = clusterConfig(t)
			}
			cfg.CacheTTL = time.Hour
			reader, writer := newStore(t, cfg), newStore(t, cfg)
			fs, es := features(20), entities(100)
			write := func(gen int) {
				t.Helper()
				recs := wideRecords(fs, es, t0.Add(time.Duration(gen)*time.Minute), func(i, j int) int64 { return int64(gen*1000 + i) })
				if err := writer.Write(t.Context(), &online.WriteParams{Features: fs, Records: recs}); err != nil {
					t.Fatal(err)
				}
			}
			// stale reads until every value is gen's, and says how long that took.
			waitFor := func(gen int) (time.Duration, int) {
				t.Helper()
				start := time.Now()
				for stale := 0; ; stale++ {
					res, err := reader.Read(t.Context(), &online.ReadParams{Features: fs, Entities: es})
					if err != nil {
						t.Fatal(err)
					}
					fresh := true
					for i := range es {
						for j := range fs {
							if e := res.Entries[i][j]; !e.Found || e.Value.Int64() != int64(gen*1000+i) {
								fresh = false
							}
						}
					}
					if fresh {
						return time.Since(start), stale
					}
					if time.Since(start) > bound {
						t.Fatalf("generation %d: the reader still answers old values %s after the write returned (%d stale reads)", gen, bound, stale)
					}
				}
			}
			write(0)
			waitFor(0)
			var took []time.Duration
			staleReads := 0
			for gen := 1; gen <= 20; gen++ {
				write(gen)
				d, n := waitFor(gen)
				took, staleReads = append(took, d), staleReads+n
			}
			slices.Sort(took)
			t.Logf("%s: after 20 writes of 100 cached entities × 20 features, new values served after median %s, max %s; %d stale reads in all",
				mode, took[len(took)/2], took[len(took)-1], staleReads)

			// In the process that writes, a read after a write never
			// answers from the cache what the write replaced.
			for gen := 100; gen < 150; gen++ {
				recs := wideRecords(fs, es, t0.Add(time.Duration(gen)*time.Minute), func(i, j int) int64 { return int64(gen*1000 + i) })
				if err := reader.Write(t.Context(), &online.WriteParams{Features: fs, Records: recs}); err != nil {
					t.Fatal(err)
				}
				res, err := reader.Read(t.Context(), &online.ReadParams{Features: fs, Entities: es})
				if err != nil {
					t.Fatal(err)
				}
				for i := range es {
					for j := range fs {
						if e := res.Entries[i][j]; !e.Found || e.Value.Int64() != int64(gen*1000+i) {
							t.Fatalf("read right after this process's write %d: %s %s = %+v, want %d", gen, es[i], fs[j], e, gen*1000+i)
						}
					}
				}
			}
			write(150)
			waitFor(150)

			// The reader's connections go; a write happens before they
			// are back, so its invalidations are lost.
			killed := killReaders(t, onlineredis.ClientOf(writer))
			if killed == 0 {
				t.Fatalf("found no tracking connection named %s to kill", onlineredis.ReaderName)
			}
			write(151)
			d, n := waitFor(151)
			t.Logf("%s: %d tracking connections killed, then a write: new values after %s (%d stale reads)", mode, killed, d, n)
		})
	}
}

// killReaders closes, on every node c reaches, the connections of readers
// that track a cache, and says how many it closed.
func killReaders(t *testing.T, c redis.UniversalClient) int {
	t.Helper()
	var killed atomic.Int64 // ForEachMaster runs kill on the nodes at once
	kill := func(ctx context.Context, node *redis.Client) error {
		list, err := node.ClientList(ctx).Result()
		if err != nil {
			return err
		}
		for line := range strings.Lines(list) {
			var id, name, flags string
			for _, kv := range strings.Fields(line) {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "id":
					id = v
				case "name":
					name = v
				case "flags":
					flags = v
				}
			}
			if name == onlineredis.ReaderName && strings.Contains(flags, "t") {
				if err := node.Do(ctx, "client", "kill", "id", id).Err(); err != nil {
					return err
				}
				killed.Add(1)
			}
		}
		return nil
	}
	var err error
	switch c := c.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(t.Context(), kill)
	case *redis.Client:
		err = kill(t.Context(), c)
	}
	if err != nil {
		t.Fatal(err)
	}
	return int(killed.Load())
}
