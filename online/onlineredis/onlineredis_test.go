package onlineredis_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"slices"
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

func TestReadRoundTrips(t *testing.T) {
	for _, mode := range []string{"single", "cluster"} {
		t.Run(mode, func(t *testing.T) {
			cfg := singleConfig
			if mode == "cluster" {
				cfg = clusterConfig
			}
			s := newStore(t, cfg(t))
			fs, es := features(20), entities(100)
			for _, f := range fs {
				recs := make([]online.Record, len(es))
				for i, e := range es {
					recs[i] = online.Record{Entity: e, Value: value.FromInt64(int64(i)), Timestamp: t0}
				}
				if err := s.Write(t.Context(), &online.WriteParams{Feature: f, Records: recs}); err != nil {
					t.Fatal(err)
				}
			}
			h := &countingHook{}
			onlineredis.ClientOf(s).AddHook(h)

			// 1 entity × F features: a single HMGET, not even a pipeline.
			res, err := s.Read(t.Context(), &online.ReadParams{Features: fs, Entities: es[:1]})
			if err != nil {
				t.Fatal(err)
			}
			if h.singles != 1 || h.pipelines != 0 || len(h.cmds) != 1 || h.cmds[0].Name() != "hmget" || len(h.cmds[0].Args()) != 2+len(fs) {
				t.Errorf("1×%d read sent %d commands and %d pipelines (%v), want one HMGET", len(fs), h.singles, h.pipelines, h.cmds)
			}
			if !res.Entries[0][19].Found {
				t.Error("1×F read: entry not found")
			}

			// B entities × F features: one pipeline of B HMGETs.
			h.reset()
			res, err = s.Read(t.Context(), &online.ReadParams{Features: fs, Entities: es})
			if err != nil {
				t.Fatal(err)
			}
			if h.singles != 0 || h.pipelines != 1 || len(h.cmds) != len(es) {
				t.Errorf("%d×%d read sent %d commands and %d pipelines of %d commands, want one pipeline of %d", len(es), len(fs), h.singles, h.pipelines, len(h.cmds), len(es))
			}
			for _, c := range h.cmds {
				if c.Name() != "hmget" {
					t.Errorf("read sent %v, want only HMGET", c)
					break
				}
			}
			if e := res.Entries[99][19]; !e.Found || e.Value.Int64() != 99 {
				t.Errorf("Entries[99][19] = %+v", e)
			}

			// A Write of B entities is one pipeline too.
			h.reset()
			recs := make([]online.Record, len(es))
			for i, e := range es {
				recs[i] = online.Record{Entity: e, Value: value.FromInt64(int64(-i)), Timestamp: t0.Add(time.Second)}
			}
			if err := s.Write(t.Context(), &online.WriteParams{Feature: fs[0], Records: recs}); err != nil {
				t.Fatal(err)
			}
			if h.singles != 0 || h.pipelines != 1 {
				t.Errorf("write of %d entities sent %d commands and %d pipelines, want one pipeline", len(es), h.singles, h.pipelines)
			}
		})
	}
}

func TestServerSeesOneHMGETPerEntity(t *testing.T) {
	// The server's side of TestReadRoundTrips: INFO commandstats counts the
	// HMGETs executed. It is server-wide, so other clients may add a few.
	s := newStore(t, singleConfig(t))
	fs, es := features(5), entities(50)
	for _, f := range fs {
		recs := make([]online.Record, len(es))
		for i, e := range es {
			recs[i] = online.Record{Entity: e, Value: value.FromInt64(int64(i)), Timestamp: t0}
		}
		if err := s.Write(t.Context(), &online.WriteParams{Feature: f, Records: recs}); err != nil {
			t.Fatal(err)
		}
	}
	c := onlineredis.ClientOf(s)
	before := hmgetCalls(t, c)
	if _, err := s.Read(t.Context(), &online.ReadParams{Features: fs, Entities: es}); err != nil {
		t.Fatal(err)
	}
	if d := hmgetCalls(t, c) - before; d < int64(len(es)) || d > int64(len(es))+100 {
		t.Errorf("server counted %d HMGET calls for a read of %d entities", d, len(es))
	}
}

func hmgetCalls(t *testing.T, c redis.UniversalClient) int64 {
	t.Helper()
	info, err := c.Info(t.Context(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(info) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_hmget:calls=")
		if !ok {
			continue
		}
		var n int64
		fmt.Sscanf(rest, "%d", &n)
		return n
	}
	return 0
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
			const f = "opens_30d:default"
			es := entities(1000)
			batch := func(gen int) []online.Record {
				recs := make([]online.Record, len(es))
				for i, e := range es {
					recs[i] = online.Record{Entity: e, Value: value.FromInt64(int64(gen*10000 + i)), Timestamp: t0.Add(time.Duration(gen) * time.Hour)}
				}
				return recs
			}
			write := func(recs []online.Record) error {
				return s.Write(t.Context(), &online.WriteParams{Feature: f, Records: recs})
			}
			if err := write(batch(1)); err != nil {
				t.Fatal(err)
			}
			h := &crashHook{armed: true}
			onlineredis.ClientOf(s).AddHook(h)
			if err := write(batch(2)); !errors.Is(err, errCrash) {
				t.Fatalf("crashed write = %v, want the crash", err)
			}
			got := readAll(t, s, f, es)
			var gen1, gen2 int
			for i, e := range got {
				switch e.Value.Int64() {
				case int64(10000 + i):
					gen1++
				case int64(20000 + i):
					gen2++
				default:
					t.Fatalf("%s after crash: %v", es[i], e.Value)
				}
			}
			if gen2 == 0 || gen1 == 0 {
				t.Errorf("after the crash %d entities hold batch 1 and %d batch 2; want a partial write", gen1, gen2)
			}

			// Meanwhile a newer value lands for a few entities; the rewrite must keep it.
			newer := []online.Record{{Entity: es[0], Value: value.FromInt64(-1), Timestamp: t0.Add(3 * time.Hour)}, {Entity: es[999], Value: value.FromInt64(-2), Timestamp: t0.Add(3 * time.Hour)}}
			if err := write(newer); err != nil {
				t.Fatal(err)
			}
			// The rewrite, and a late replay of batch 1, converge on the latest values.
			if err := write(batch(2)); err != nil {
				t.Fatal(err)
			}
			if err := write(batch(1)); err != nil {
				t.Fatal(err)
			}
			got = readAll(t, s, f, es)
			for i, e := range got {
				want, ts := value.FromInt64(int64(20000+i)), t0.Add(2*time.Hour)
				switch i {
				case 0:
					want, ts = value.FromInt64(-1), t0.Add(3*time.Hour)
				case 999:
					want, ts = value.FromInt64(-2), t0.Add(3*time.Hour)
				}
				if !e.Found || !e.Value.Equal(want) || !e.Timestamp.Equal(ts) {
					t.Errorf("%s after rewrite: %+v, want %v at %v", es[i], e, want, ts)
				}
			}
		})
	}
}

func readAll(t *testing.T, s *onlineredis.Store, f string, es []string) []online.Entry {
	t.Helper()
	res, err := s.Read(t.Context(), &online.ReadParams{Features: []string{f}, Entities: es})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]online.Entry, len(es))
	for i := range es {
		if !res.Entries[i][0].Found {
			t.Fatalf("%s: not found", es[i])
		}
		out[i] = res.Entries[i][0]
	}
	return out
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
	recs := []online.Record{{Entity: "a", Value: value.FromInt64(1), Timestamp: t0}, {Entity: "b", Value: value.FromInt64(2), Timestamp: t0}}
	if err := s.Write(t.Context(), &online.WriteParams{Feature: "f:default", Records: recs}); err != nil {
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
	err := s.Write(t.Context(), &online.WriteParams{Feature: "f:default", Records: []online.Record{{Entity: "short", Value: value.FromInt64(1), Timestamp: t0}}})
	if !errors.Is(err, online.ErrCorruptEntry) {
		t.Errorf("Write over a corrupt entry = %v, want ErrCorruptEntry", err)
	}
}

func TestEmptyEntityIsAnError(t *testing.T) {
	s := newStore(t, singleConfig(t))
	err := s.Write(t.Context(), &online.WriteParams{
		Feature: "opens_30d:default",
		Records: []online.Record{{Entity: "sub-1", Value: value.FromInt64(1)}, {Entity: "", Value: value.FromInt64(2)}},
	})
	if err == nil || !strings.Contains(err.Error(), "entity is empty") {
		t.Fatalf("Write with empty entity = %v, want an error", err)
	}
}

func TestKeyLayout(t *testing.T) {
	// The layout is documented in docs/design/online-redis.md; other tools may read it.
	cfg := singleConfig(t)
	s := newStore(t, cfg)
	ts := time.Date(2024, 11, 28, 9, 0, 0, 0, time.UTC)
	for _, f := range []string{"opens_30d:default", "aov:v2"} {
		if err := s.Write(t.Context(), &online.WriteParams{Feature: f, Records: []online.Record{{Entity: "sub-1", Value: value.FromInt64(7), Timestamp: ts}}}); err != nil {
			t.Fatal(err)
		}
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
