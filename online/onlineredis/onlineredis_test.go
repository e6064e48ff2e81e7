package onlineredis_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/online/onlineredis"
	"github.com/slipway-ml/slipway/online/onlinetest"
	"github.com/slipway-ml/slipway/value"
)

var t0 = time.Date(2024, 11, 28, 9, 0, 0, 0, time.UTC)

// singleConfig and clusterConfig return a configuration for the test server
// with a key prefix of its own.
func singleConfig(tb testing.TB) onlineredis.Config {
	tb.Helper()
	return onlineredis.Config{Addrs: []string{testenv.Redis(tb)}, KeyPrefix: testPrefix()}
}

func clusterConfig(tb testing.TB) onlineredis.Config {
	tb.Helper()
	return onlineredis.Config{Addrs: testenv.RedisCluster(tb), Cluster: true, KeyPrefix: testPrefix()}
}

func testPrefix() string {
	return "slipwaytest:" + rand.Text()[:12] + ":"
}

// newStore opens a store on cfg and, at cleanup, deletes every key under its
// prefix (never FLUSHDB: the server may be shared) and closes it.
func newStore(tb testing.TB, cfg onlineredis.Config) *onlineredis.Store {
	tb.Helper()
	s, err := onlineredis.New(tb.Context(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := deletePrefix(context.Background(), onlineredis.ClientOf(s), cfg.KeyPrefix); err != nil {
			tb.Errorf("deleting test keys %s*: %v", cfg.KeyPrefix, err)
		}
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func deletePrefix(ctx context.Context, c redis.UniversalClient, prefix string) error {
	del := func(ctx context.Context, c *redis.Client) error {
		// One key per UNLINK: on a cluster node, keys of one call must share a slot.
		pipe := c.Pipeline()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			pipe.Unlink(ctx, iter.Val())
			if pipe.Len() == 1000 {
				if _, err := pipe.Exec(ctx); err != nil {
					return err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		if pipe.Len() > 0 {
			_, err := pipe.Exec(ctx)
			return err
		}
		return nil
	}
	switch c := c.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, del)
	case *redis.Client:
		return del(ctx, c)
	}
	return fmt.Errorf("unexpected client %T", c)
}

func TestConformance(t *testing.T) {
	onlinetest.Exercise(t, func(t *testing.T) online.Store { return newStore(t, singleConfig(t)) })
}

func TestConformanceCluster(t *testing.T) {
	onlinetest.Exercise(t, func(t *testing.T) online.Store { return newStore(t, clusterConfig(t)) })
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  onlineredis.Config
		want string
	}{
		{onlineredis.Config{}, "no address"},
		{onlineredis.Config{Addrs: []string{""}}, "address 0 is empty"},
		{onlineredis.Config{Addrs: []string{"a:1", "b:1"}}, "set cluster to true"},
		{onlineredis.Config{Addrs: []string{"a:1"}, DB: -1}, "negative"},
		{onlineredis.Config{Addrs: []string{"a:1"}, Cluster: true, DB: 2}, "only database 0"},
		{onlineredis.Config{Addrs: []string{"a:1"}, Cluster: true, KeyPrefix: "{x}:"}, "one node"},
		{onlineredis.Config{Addrs: []string{"a:1"}, CacheMB: -1}, "cache_mb -1 is negative"},
		{onlineredis.Config{Addrs: []string{"a:1"}, CacheTTL: -time.Second}, "cache_ttl -1s is negative"},
	} {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want an error containing %q", c.cfg, err, c.want)
		}
		if _, err := onlineredis.New(t.Context(), c.cfg); err == nil {
			t.Errorf("New(%+v) succeeded", c.cfg)
		}
	}
	if err := (onlineredis.Config{Addrs: []string{"a:1", "b:1"}, Cluster: true}).Validate(); err != nil {
		t.Errorf("valid cluster config: %v", err)
	}
}

func TestNewNamesUnreachableAddress(t *testing.T) {
	// A port nothing listens on: bind one, then close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = onlineredis.New(ctx, onlineredis.Config{Addrs: []string{addr}})
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("New on %s = %v, want an error naming the address", addr, err)
	}
}

// countingHook counts what the client sends: single commands and pipelines.
type countingHook struct {
	mu        sync.Mutex
	singles   int
	pipelines int
	cmds      []redis.Cmder
}

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.singles++
		h.cmds = append(h.cmds, cmd)
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.mu.Lock()
		h.pipelines++
		h.cmds = append(h.cmds, cmds...)
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (h *countingHook) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.singles, h.pipelines, h.cmds = 0, 0, nil
}

func features(n int) []string {
	fs := make([]string, n)
	for j := range fs {
		fs[j] = fmt.Sprintf("feature_%02d:default", j)
	}
	return fs
}

func entities(n int) []string {
	es := make([]string, n)
	for i := range es {
		es[i] = fmt.Sprintf("subscriber-%05d", i)
	}
	return es
}

// wideRecords returns one record per entity with len(fs) values, value
// (i, j) being val(i, j), all at ts.
func wideRecords(fs, es []string, ts time.Time, val func(i, j int) int64) []online.Record {
	recs := make([]online.Record, len(es))
	for i, e := range es {
		vs := make([]value.Value, len(fs))
		for j := range vs {
			vs[j] = value.FromInt64(val(i, j))
		}
		recs[i] = online.Record{Entity: e, Values: vs, Timestamp: ts}
	}
	return recs
}

func TestReadRoundTrips(t *testing.T) {
	for _, mode := range []string{"single", "cluster"} {
		t.Run(mode, func(t *testing.T) {
			cfg := singleConfig
			if mode == "cluster" {
				cfg = clusterConfig
			}
			s := newStore(t, cfg(t))
			fs, es := features(20), entities(100)
			recs := wideRecords(fs, es, t0, func(i, j int) int64 { return int64(i) })
			if err := s.Write(t.Context(), &online.WriteParams{Features: fs, Records: recs}); err != nil {
				t.Fatal(err)
			}
			// Reads go through the reader's client (rueidis); the server's
			// side of them is TestServerSeesOneHMGETPerEntity's.
			res, err := s.Read(t.Context(), &online.ReadParams{Features: fs, Entities: es[:1]})
			if err != nil {
				t.Fatal(err)
			}
			if e := res.Entries[0][19]; !e.Found || e.Value.Int64() != 0 {
				t.Errorf("1×F read: Entries[0][19] = %+v", e)
			}
			res, err = s.Read(t.Context(), &online.ReadParams{Features: fs, Entities: es})
			if err != nil {
				t.Fatal(err)
			}
			if e := res.Entries[99][19]; !e.Found || e.Value.Int64() != 99 {
				t.Errorf("Entries[99][19] = %+v", e)
			}
			h := &countingHook{}
			onlineredis.ClientOf(s).AddHook(h)

			// A Write of B entities × F features is one pipeline too, of script
			// calls covering all F features of an entity at once: several
			// entities per call on a single node, one on a cluster.
			for _, nf := range []int{1, len(fs)} {
				h.reset()
				recs := wideRecords(fs[:nf], es, t0.Add(time.Second), func(i, j int) int64 { return int64(-i - j) })
				if err := s.Write(t.Context(), &online.WriteParams{Features: fs[:nf], Records: recs}); err != nil {
					t.Fatal(err)
				}
				if h.singles != 0 || h.pipelines != 1 {
					t.Errorf("write of %d×%d sent %d commands and %d pipelines, want one pipeline", len(es), nf, h.singles, h.pipelines)
				}
				keys := 0
				for _, c := range h.cmds {
					if c.Name() != "evalsha" {
						t.Errorf("write sent %v, want only EVALSHA", c)
						break
					}
					// evalsha sha numkeys key… nf asOf feature… entry…
					nk, _ := strconv.Atoi(fmt.Sprint(c.Args()[2]))
					if got := len(c.Args()) - 3 - nk; got != 2+nf+nk*nf {
						t.Errorf("EVALSHA of %d keys has %d arguments, want %d", nk, got, 2+nf+nk*nf)
					}
					keys += nk
				}
				if keys != len(es) {
					t.Errorf("write of %d entities sent script calls for %d keys", len(es), keys)
				}
				if mode == "cluster" && len(h.cmds) != len(es) {
					t.Errorf("write of %d×%d on a cluster sent %d script calls, want one per entity", len(es), nf, len(h.cmds))
				}
				if mode == "single" && len(h.cmds) > len(es)/8 {
					t.Errorf("write of %d×%d on a single node sent %d script calls, want at least 8 entities per call", len(es), nf, len(h.cmds))
				}
			}
			res, err = s.Read(t.Context(), &online.ReadParams{Features: fs, Entities: es})
			if err != nil {
				t.Fatal(err)
			}
			if e := res.Entries[99][19]; !e.Found || e.Value.Int64() != -99-19 || !e.Timestamp.Equal(t0.Add(time.Second)) {
				t.Errorf("after the write, Entries[99][19] = %+v", e)
			}
		})
	}
}

func TestServerSeesOneHMGETPerEntity(t *testing.T) {
	// The server's side of TestReadRoundTrips: INFO commandstats counts the
	// commands executed, those run by scripts included. It is server-wide, so
	// other clients may add a few.
	cfg := singleConfig(t)
	s := newStore(t, cfg)
	c := onlineredis.ClientOf(s)
	fs, es := features(5), entities(50)
	within := func(what string, d int64, want int) {
		t.Helper()
		if d < int64(want) || d > int64(want)+100 {
			t.Errorf("server counted %d %s, want %d", d, what, want)
		}
	}

	// A write of 50 entities × 5 features: per entity one HMGET of the 5
	// fields and one HSET of those to update, whether all or some are.
	for gen, ts := range []time.Time{t0, t0.Add(time.Hour)} {
		before := commandCalls(t, c)
		recs := wideRecords(fs, es, ts, func(i, j int) int64 { return int64(i + j) })
		if gen == 1 {
			// An older value for 2 of the 5 features of every entity: 3 are set.
			if err := s.Write(t.Context(), &online.WriteParams{Features: fs[:2], Records: wideRecords(fs[:2], es, t0.Add(2*time.Hour), func(i, j int) int64 { return 0 })}); err != nil {
				t.Fatal(err)
			}
			before = commandCalls(t, c)
		}
		if err := s.Write(t.Context(), &online.WriteParams{Features: fs, Records: recs}); err != nil {
			t.Fatal(err)
		}
		after := commandCalls(t, c)
		within(fmt.Sprintf("HMGET calls for write %d of %d entities", gen, len(es)), after["hmget"]-before["hmget"], len(es))
		within(fmt.Sprintf("HSET calls for write %d of %d entities", gen, len(es)), after["hset"]-before["hset"], len(es))
		within(fmt.Sprintf("EVALSHA calls for write %d of %d entities", gen, len(es)), after["evalsha"]-before["evalsha"], 1)
	}

	// Reads: one HMGET per entity, then none while the cache holds the
	// hashes, then one again for the hashes a write changed. A store without
	// the cache asks every time.
	uncached := newStore(t, onlineredis.Config{Addrs: []string{testenv.Redis(t)}, KeyPrefix: cfg.KeyPrefix, DisableCache: true})
	read := func(s *onlineredis.Store, es []string, want int64) {
		t.Helper()
		before := commandCalls(t, c)
		res, err := s.Read(t.Context(), &online.ReadParams{Features: fs, Entities: es})
		if err != nil {
			t.Fatal(err)
		}
		for i := range es {
			if e := res.Entries[i][4]; !e.Found || e.Value.Int64() != want+int64(i) {
				t.Fatalf("read of %s: Entries[%d][4] = %+v, want %d", es[i], i, e, want+int64(i))
			}
		}
		within(fmt.Sprintf("HMGET calls for a read of %d entities", len(es)), commandCalls(t, c)["hmget"]-before["hmget"], len(es))
	}
	read(s, es, 4)
	before := commandCalls(t, c)
	for range 3 {
		if _, err := s.Read(t.Context(), &online.ReadParams{Features: fs, Entities: es}); err != nil {
			t.Fatal(err)
		}
	}
	if d := commandCalls(t, c)["hmget"] - before["hmget"]; d > 10 {
		t.Errorf("3 more reads of %d cached entities: the server counted %d HMGET calls, want none (the cache answers)", len(es), d)
	}
	if err := s.Write(t.Context(), &online.WriteParams{Features: fs, Records: wideRecords(fs, es[:10], t0.Add(3*time.Hour), func(i, j int) int64 { return int64(100 + i + j) })}); err != nil {
		t.Fatal(err)
	}
	read(s, es[:10], 104)
	read(uncached, es[:10], 104)
	read(uncached, es[:10], 104)
}

func TestClusterWriteCallsReachTheirNode(t *testing.T) {
	// Write passes keys to go-redis as *string arguments; go-redis must still
	// route each script call by its key, or every call would take a MOVED
	// redirect (which go-redis follows, so only the server's count of
	// rejected calls shows it). Counts are cluster-wide, so other clients of
	// the test cluster may add a few calls, but never rejected ones.
	s := newStore(t, clusterConfig(t))
	cc, ok := onlineredis.ClientOf(s).(*redis.ClusterClient)
	if !ok {
		t.Fatalf("cluster store has a %T", onlineredis.ClientOf(s))
	}
	evalsha := func() (calls, rejected int64) {
		var mu sync.Mutex
		err := cc.ForEachMaster(t.Context(), func(ctx context.Context, c *redis.Client) error {
			info, err := c.Info(ctx, "commandstats").Result()
			if err != nil {
				return err
			}
			for line := range strings.Lines(info) {
				stats, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_evalsha:")
				if !ok {
					continue
				}
				var n, r int64
				for kv := range strings.SplitSeq(stats, ",") {
					if v, ok := strings.CutPrefix(kv, "calls="); ok {
						n, _ = strconv.ParseInt(v, 10, 64)
					}
					if v, ok := strings.CutPrefix(kv, "rejected_calls="); ok {
						r, _ = strconv.ParseInt(v, 10, 64)
					}
				}
				mu.Lock()
				calls, rejected = calls+n, rejected+r
				mu.Unlock()
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return calls, rejected
	}
	fs, es := features(3), entities(200)
	calls0, rejected0 := evalsha()
	if err := s.Write(t.Context(), &online.WriteParams{Features: fs, Records: wideRecords(fs, es, t0, func(i, j int) int64 { return int64(i) })}); err != nil {
		t.Fatal(err)
	}
	calls1, rejected1 := evalsha()
	if d := rejected1 - rejected0; d != 0 {
		t.Errorf("the cluster rejected %d script calls (MOVED), want 0", d)
	}
	if d := calls1 - calls0; d < int64(len(es)) || d > int64(len(es))+100 {
		t.Errorf("the cluster ran %d script calls for %d entities, want one each", d, len(es))
	}
	if e := readAll(t, s, fs, es)[199][2]; !e.Found || e.Value.Int64() != 199 {
		t.Errorf("entity 199 feature 2 = %+v", e)
	}
}

// commandCalls returns the server's count of calls per command.
func commandCalls(t *testing.T, c redis.UniversalClient) map[string]int64 {
	t.Helper()
	info, err := c.Info(t.Context(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int64{}
	for line := range strings.Lines(info) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_")
		if !ok {
			continue
		}
		name, stats, ok := strings.Cut(rest, ":calls=")
		if !ok {
			continue
		}
		var n int64
		fmt.Sscanf(stats, "%d", &n)
		calls[name] = n
	}
	return calls
}

// crashHook, when armed, runs only the first half of the next pipeline and
// then fails it, as a writer that dies midway would.
type crashHook struct {
	mu    sync.Mutex
	armed bool
}

var errCrash = errors.New("simulated crash")

func (h *crashHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *crashHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *crashHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.mu.Lock()
		armed := h.armed
		h.armed = false
		h.mu.Unlock()
		if !armed {
			return next(ctx, cmds)
		}
		if err := next(ctx, cmds[:len(cmds)/2]); err != nil {
			return err
		}
		for _, c := range cmds[len(cmds)/2:] {
			c.SetErr(errCrash)
		}
		return errCrash
	}
}

func TestCrashedWriteThenRewrite(t *testing.T) {
	for _, mode := range []string{"single", "cluster"} {
		t.Run(mode, func(t *testing.T) {
			cfg := singleConfig
			if mode == "cluster" {
				cfg = clusterConfig
			}
			s := newStore(t, cfg(t))
			fs := []string{"opens_30d:default", "clicks_30d:default", "aov:v2"}
			es := entities(1000)
			// Batch gen holds gen*10000 + 100*j + i for feature j of entity i.
			val := func(gen, i, j int) int64 { return int64(gen*10000 + 100*j + i) }
			batch := func(gen int) []online.Record {
				return wideRecords(fs, es, t0.Add(time.Duration(gen)*time.Hour), func(i, j int) int64 { return val(gen, i, j) })
			}
			write := func(fs []string, recs []online.Record) error {
				return s.Write(t.Context(), &online.WriteParams{Features: fs, Records: recs})
			}
			if err := write(fs, batch(1)); err != nil {
				t.Fatal(err)
			}
			h := &crashHook{armed: true}
			onlineredis.ClientOf(s).AddHook(h)
			if err := write(fs, batch(2)); !errors.Is(err, errCrash) {
				t.Fatalf("crashed write = %v, want the crash", err)
			}
			got := readAll(t, s, fs, es)
			var gen1, gen2 int
			for i := range es {
				// One script call covers all features of an entity, so an
				// entity is never left with some features of each batch.
				switch {
				case got[i][0].Value.Int64() == val(1, i, 0):
					gen1++
				case got[i][0].Value.Int64() == val(2, i, 0):
					gen2++
				default:
					t.Fatalf("%s after crash: %v", es[i], got[i][0].Value)
				}
				gen := int(got[i][0].Value.Int64() / 10000)
				for j := range fs {
					if v := got[i][j].Value.Int64(); v != val(gen, i, j) {
						t.Fatalf("%s after crash: %s = %d, %s = %d: torn across batches", es[i], fs[0], got[i][0].Value.Int64(), fs[j], v)
					}
				}
			}
			if gen2 == 0 || gen1 == 0 {
				t.Errorf("after the crash %d entities hold batch 1 and %d batch 2; want a partial write", gen1, gen2)
			}

			// Meanwhile newer values land: one feature of es[0], all of es[999].
			// The rewrite must keep them and update the rest.
			t3 := t0.Add(3 * time.Hour)
			if err := write(fs[:1], []online.Record{{Entity: es[0], Values: []value.Value{value.FromInt64(-1)}, Timestamp: t3}}); err != nil {
				t.Fatal(err)
			}
			if err := write(fs, wideRecords(fs, es[999:], t3, func(i, j int) int64 { return int64(-2 - j) })); err != nil {
				t.Fatal(err)
			}
			// The rewrite, and a late replay of batch 1, converge on the latest values.
			if err := write(fs, batch(2)); err != nil {
				t.Fatal(err)
			}
			if err := write(fs, batch(1)); err != nil {
				t.Fatal(err)
			}
			got = readAll(t, s, fs, es)
			bad := 0
			for i := range es {
				for j := range fs {
					want, ts := value.FromInt64(val(2, i, j)), t0.Add(2*time.Hour)
					switch {
					case i == 0 && j == 0:
						want, ts = value.FromInt64(-1), t3
					case i == 999:
						want, ts = value.FromInt64(int64(-2-j)), t3
					}
					if e := got[i][j]; !e.Value.Equal(want) || !e.Timestamp.Equal(ts) {
						if bad++; bad <= 5 {
							t.Errorf("%s %s after rewrite: %+v, want %v at %v", es[i], fs[j], e, want, ts)
						}
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d values wrong after rewrite", bad, len(es)*len(fs))
			}
		})
	}
}

// readAll reads every (entity, feature) pair and fails on a missing one.
func readAll(t *testing.T, s *onlineredis.Store, fs, es []string) [][]online.Entry {
	t.Helper()
	res, err := s.Read(t.Context(), &online.ReadParams{Features: fs, Entities: es})
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range res.Entries {
		for j, e := range row {
			if !e.Found {
				t.Fatalf("%s %s: not found", es[i], fs[j])
			}
		}
	}
	return res.Entries
}

func TestWriteReloadsLostScript(t *testing.T) {
	t.Run("single", func(t *testing.T) { testReloadsLostScript(t, singleConfig(t)) })
	t.Run("cluster", func(t *testing.T) { testReloadsLostScript(t, clusterConfig(t)) })
}

func testReloadsLostScript(t *testing.T, cfg onlineredis.Config) {
	s := newStore(t, cfg)
	// A script the server has never seen answers NOSCRIPT, like a cache lost
	// to a restart, failover or SCRIPT FLUSH.
	onlineredis.UseFreshScript(s, cfg.KeyPrefix)
	recs := []online.Record{{Entity: "a", Values: []value.Value{value.FromInt64(1)}, Timestamp: t0}, {Entity: "b", Values: []value.Value{value.FromInt64(2)}, Timestamp: t0}}
	if err := s.Write(t.Context(), &online.WriteParams{Features: []string{"f:default"}, Records: recs}); err != nil {
		t.Fatalf("Write after losing the script: %v", err)
	}
	res, err := s.Read(t.Context(), &online.ReadParams{Features: []string{"f:default"}, Entities: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Entries[0][0].Found || res.Entries[1][0].Value.Int64() != 2 {
		t.Errorf("after reload: %+v", res.Entries)
	}
}

func TestCorruptEntryIsReported(t *testing.T) {
	cfg := singleConfig(t)
	s := newStore(t, cfg)
	c := onlineredis.ClientOf(s)
	for entity, raw := range map[string]string{"short": "\x01\x02", "bad-value": "\x80\x00\x00\x00\x00\x00\x00\x00\x7f"} {
		if err := c.HSet(t.Context(), cfg.KeyPrefix+entity, "f:default", raw).Err(); err != nil {
			t.Fatal(err)
		}
		_, err := s.Read(t.Context(), &online.ReadParams{Features: []string{"f:default"}, Entities: []string{entity}})
		if !errors.Is(err, online.ErrCorruptEntry) {
			t.Errorf("Read of %s entry = %v, want ErrCorruptEntry", entity, err)
		}
	}
	// The corrupt field is found among the fields of a multi-feature write.
	err := s.Write(t.Context(), &online.WriteParams{
		Features: []string{"g:default", "f:default"},
		Records:  []online.Record{{Entity: "short", Values: []value.Value{value.FromInt64(1), value.FromInt64(2)}, Timestamp: t0}},
	})
	if !errors.Is(err, online.ErrCorruptEntry) || !strings.Contains(err.Error(), "f:default") {
		t.Errorf("Write over a corrupt entry = %v, want ErrCorruptEntry naming f:default", err)
	}
}

func TestWriteManyFeatures(t *testing.T) {
	// More features than one script call takes (Lua's stack bounds a call's
	// arguments): the write is split by feature, on a single node and a cluster.
	for _, mode := range []string{"single", "cluster"} {
		t.Run(mode, func(t *testing.T) {
			cfg := singleConfig
			if mode == "cluster" {
				cfg = clusterConfig
			}
			s := newStore(t, cfg(t))
			fs, es := features(2500), entities(3)
			for j := range fs {
				fs[j] = fmt.Sprintf("f%04d:default", j)
			}
			recs := wideRecords(fs, es, t0, func(i, j int) int64 { return int64(10000*i + j) })
			if err := s.Write(t.Context(), &online.WriteParams{Features: fs, Records: recs}); err != nil {
				t.Fatal(err)
			}
			got := readAll(t, s, fs, es)
			for i := range es {
				for j := range fs {
					if v := got[i][j].Value.Int64(); v != int64(10000*i+j) {
						t.Fatalf("%s %s = %d, want %d", es[i], fs[j], v, 10000*i+j)
					}
				}
			}
		})
	}
}

func TestKeyLayout(t *testing.T) {
	// The layout is documented in docs/design/online-redis.md; other tools may read it.
	cfg := singleConfig(t)
	s := newStore(t, cfg)
	ts := time.Date(2024, 11, 28, 9, 0, 0, 0, time.UTC)
	if err := s.Write(t.Context(), &online.WriteParams{
		Features: []string{"opens_30d:default", "aov:v2"},
		Records:  []online.Record{{Entity: "sub-1", Values: []value.Value{value.FromInt64(7), value.FromInt64(7)}, Timestamp: ts}},
	}); err != nil {
		t.Fatal(err)
	}
	c := onlineredis.ClientOf(s)
	keys, err := c.Keys(t.Context(), cfg.KeyPrefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{cfg.KeyPrefix + "sub-1"}) {
		t.Fatalf("keys = %q, want one hash for the entity", keys)
	}
	h, err := c.HGetAll(t.Context(), cfg.KeyPrefix+"sub-1").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := string(onlineredis.AppendEntry(nil, value.FromInt64(7), onlineredis.EncodeTime(ts)))
	if len(h) != 2 || h["opens_30d:default"] != want || h["aov:v2"] != want {
		t.Fatalf("hash = %q, want two fields holding %x", h, want)
	}
	if len(want) != 10 {
		t.Errorf("timestamped int64 entry is %d bytes, want 10", len(want))
	}
}

func TestVersion(t *testing.T) {
	s := newStore(t, singleConfig(t))
	v, err := s.Version(t.Context())
	if err != nil || !strings.HasPrefix(v, "redis ") || strings.Contains(v, "unknown") {
		t.Fatalf("Version = %q, %v", v, err)
	}
}
