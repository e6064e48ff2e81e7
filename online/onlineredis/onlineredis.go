// Package onlineredis is the production online store: the latest value of
// every materialized feature per entity, kept in Redis or Redis Cluster.
// See docs/design/online-redis.md.
//
// Layout: one hash per entity, key = KeyPrefix + entity; field = feature
// ("name:variant"); value = an entry whose first 8 bytes are the timestamp in
// byte-ordered form, followed by value.Value.AppendBinary. Reading F features
// of an entity is one HMGET; reading B entities is one pipelined round trip.
// Writes are newer-wins inside Redis, through a Lua script that compares
// timestamps per field, all features of an entity in one HMGET and one HSET,
// so concurrent writers and replays never move a value back in time.
package onlineredis

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/slipway-ml/slipway/online"
)

var _ online.Store = (*Store)(nil)

// DefaultKeyPrefix is the key prefix used when Config.KeyPrefix is empty.
const DefaultKeyPrefix = "slipway:"

// Config configures the Redis online store.
type Config struct {
	// Addrs is the server address (host:port), or the seed nodes of a cluster.
	Addrs []string
	// Cluster selects Redis Cluster; several Addrs require it.
	Cluster bool
	// Username and Password authenticate (Username empty: the default user).
	Username, Password string
	// DB is the database number on a single node; a cluster has only 0.
	DB int
	// KeyPrefix starts every key, so several stores can share a server.
	// Empty means DefaultKeyPrefix.
	KeyPrefix string
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger

	// CacheMB bounds the in-process cache of entity hashes that Read keeps
	// (server-assisted client-side caching, see docs/design/online-redis.md),
	// in MiB per Redis server (per node of a cluster). 0 means DefaultCacheMB.
	CacheMB int
	// CacheTTL is the longest a cached hash is served without asking Redis,
	// a safety net under Redis's invalidation messages. 0 means DefaultCacheTTL.
	CacheTTL time.Duration
	// DisableCache reads every value from Redis (needed for servers older
	// than Redis 6, which cannot track what a client caches).
	DisableCache bool
}

// Defaults of the read cache.
const (
	DefaultCacheMB  = 128
	DefaultCacheTTL = time.Minute
)

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if len(c.Addrs) == 0 {
		return errors.New("redis online store: no address: set addrs to host:port (or the seed nodes of a cluster)")
	}
	for i, a := range c.Addrs {
		if strings.TrimSpace(a) == "" {
			return fmt.Errorf("redis online store: address %d is empty", i)
		}
	}
	if !c.Cluster && len(c.Addrs) > 1 {
		return fmt.Errorf("redis online store: %d addresses given without cluster: set cluster to true for a Redis Cluster, or give one address", len(c.Addrs))
	}
	if c.DB < 0 {
		return fmt.Errorf("redis online store: db %d is negative", c.DB)
	}
	if c.Cluster && c.DB != 0 {
		return fmt.Errorf("redis online store: db %d with cluster: Redis Cluster has only database 0", c.DB)
	}
	if c.CacheMB < 0 {
		return fmt.Errorf("redis online store: cache_mb %d is negative: give the cache's size in MiB (0 for the default, %d), or set disable_cache: true", c.CacheMB, DefaultCacheMB)
	}
	if c.CacheTTL < 0 {
		return fmt.Errorf("redis online store: cache_ttl %s is negative: give how long a cached value may be served (such as 1m), or set disable_cache: true", c.CacheTTL)
	}
	if c.Cluster && strings.Contains(c.KeyPrefix, "{") {
		// A hash tag in the prefix would put every entity in the same slot.
		return fmt.Errorf("redis online store: key prefix %q contains '{': in a cluster that puts every key on one node", c.KeyPrefix)
	}
	return nil
}

// maxPipelineValues bounds the values sent in one pipeline by Write (at
// most maxPipelineKeys entities), so a huge batch neither buffers without
// limit nor ignores ctx for long; a batch of 1000 entities × 20 features is
// one round trip.
const (
	maxPipelineValues = 32768
	maxPipelineKeys   = 4096
)

// keysPerCall is how many entities one write script call updates on a single
// node: enough to amortize the cost of starting a script (about 1.5 µs, more
// than the work per key of one feature), few enough to keep each call short,
// since a script blocks the server while it runs. fieldsPerCall lowers it for
// wide records (12 entities of 20 features), keeping a call near 100 µs.
const (
	keysPerCall   = 64
	fieldsPerCall = 256
)

// maxFeaturesPerCall bounds the features one script call handles: the script
// unpacks 2 × features arguments for HSET, and Lua's C stack holds 8000.
// Wider writes are split by feature, which newer-wins per feature allows.
const maxFeaturesPerCall = 1000

// Store is an online.Store on Redis or Redis Cluster.
//
// Reads and writes go through two clients: reads through rueidis, which
// pipelines the reads of concurrent requests into shared round trips and
// keeps the hashes it read in a cache that Redis invalidates (RESP3 client
// tracking); writes, deletions and the write script through go-redis.
type Store struct {
	client redis.UniversalClient
	reader rueidis.Client
	// cacheTTL is how long a cached hash is served at most; 0 when the
	// cache is off.
	cacheTTL time.Duration
	prefix   string
	script   *redis.Script
	logger   *slog.Logger
	addrs    string
	// keysPerCall is how many entity keys one write script call updates: one
	// on a cluster, where a call's keys must share a hash slot.
	keysPerCall int
}

// New connects to Redis, checks that it answers, and loads the write script.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	prefix := cfg.KeyPrefix
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	s := &Store{
		prefix:      prefix,
		script:      redis.NewScript(writeScript),
		logger:      logger,
		addrs:       strings.Join(cfg.Addrs, ","),
		keysPerCall: keysPerCall,
	}
	kind := "redis"
	if cfg.Cluster {
		kind = "redis cluster"
		s.keysPerCall = 1
		s.client = redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:                 cfg.Addrs,
			Username:              cfg.Username,
			Password:              cfg.Password,
			ContextTimeoutEnabled: true,
		})
	} else {
		s.client = redis.NewClient(&redis.Options{
			Addr:                  cfg.Addrs[0],
			Username:              cfg.Username,
			Password:              cfg.Password,
			DB:                    cfg.DB,
			ContextTimeoutEnabled: true,
		})
	}
	client := s.client
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("connecting to %s at %s: %w", kind, s.addrs, err)
	}
	// On a cluster this loads the script on every master.
	if err := s.script.Load(ctx, client).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("loading the write script into %s at %s: %w", kind, s.addrs, err)
	}
	reader, err := newReader(ctx, cfg)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("connecting the reader to %s at %s: %w", kind, s.addrs, err)
	}
	s.reader = reader
	if !cfg.DisableCache {
		s.cacheTTL = cmp.Or(cfg.CacheTTL, DefaultCacheTTL)
	}
	logger.DebugContext(ctx, "connected online store", "kind", kind, "addrs", s.addrs, "prefix", prefix)
	return s, nil
}

// writeScript updates, for each hash KEYS[i], the fields ARGV[3..nf+2]
// (nf = ARGV[1]) with the entries that follow ARGV[2+nf], nf per key, unless
// the stored entry of that field is newer and not dated after the write's
// AsOf (ARGV[2], an 8-byte timestamp): one HMGET and at most one HSET per
// key (HGET and HSET for a single feature, which skips the Lua tables). The
// entries of a key share their 8-byte big-endian timestamp, compared as two
// unsigned 32-bit halves (exact in Lua numbers; Lua's string < uses strcoll,
// which depends on the server's locale).
const writeScript = `
local call, sunpack = redis.call, struct.unpack
local nf = tonumber(ARGV[1])
local ah, al = sunpack('>I4I4', ARGV[2])
local function corrupt(o, key, field)
  return redis.error_reply('CORRUPT stored entry of ' .. #o .. ' bytes in ' .. key .. ' ' .. field)
end
if nf == 1 then
  local field = ARGV[3]
  for i = 1, #KEYS do
    local key, new = KEYS[i], ARGV[i + 3]
    local o = call('HGET', key, field)
    local newer = true
    if o then
      if #o < 8 then
        return corrupt(o, key, field)
      end
      local oh, ol = sunpack('>I4I4', o)
      local nh, nl = sunpack('>I4I4', new)
      newer = oh < nh or (oh == nh and ol <= nl) or oh > ah or (oh == ah and ol > al)
    end
    if newer then
      call('HSET', key, field, new)
    end
  end
  return 0
end
local fields = {}
for j = 1, nf do
  fields[j] = ARGV[2 + j]
end
local set = {}
local base = 2 + nf
for i = 1, #KEYS do
  local key = KEYS[i]
  local nh, nl = sunpack('>I4I4', ARGV[base + 1])
  local old = call('HMGET', key, unpack(fields))
  local n = 0
  for j = 1, nf do
    local o = old[j]
    local newer = true
    if o then
      if #o < 8 then
        return corrupt(o, key, fields[j])
      end
      local oh, ol = sunpack('>I4I4', o)
      newer = oh < nh or (oh == nh and ol <= nl) or oh > ah or (oh == ah and ol > al)
    end
    if newer then
      set[n + 1] = fields[j]
      set[n + 2] = ARGV[base + j]
      n = n + 2
    end
  end
  if n > 0 then
    call('HSET', key, unpack(set, 1, n))
  end
  base = base + nf
end
return 0
`

// Write stores the records of one or more features, newer-wins per
// (feature, entity) (an equal timestamp replaces; a stored value dated
// after p.AsOf is replaced by any record). The batch is checked
// first, so an invalid one writes nothing, and reduced to the newest record
// per entity; then the write script updates the entities' hashes, all
// features of an entity in one step, many entities per pipelined round trip.
// Write is not atomic across entities: an interrupted Write leaves some
// entities updated, and rerunning it completes the rest.
func (s *Store) Write(ctx context.Context, p *online.WriteParams) error {
	what := p.Describe()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("writing %s: %w", what, err)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("writing %s: %w", what, err)
	}
	if len(p.Records) == 0 {
		return nil
	}
	defer s.awaitInvalidations(ctx)
	// Newest record per entity, in first-seen order; later records win ties,
	// as they would if applied one after another. The features of a record
	// share its timestamp, so this holds for each feature.
	picks := make([]pick, 0, len(p.Records))
	seen := make(map[string]int, len(p.Records))
	for i := range p.Records {
		r := &p.Records[i]
		ts := encodeTime(r.Timestamp)
		if j, ok := seen[r.Entity]; ok {
			if ts >= picks[j].ts {
				picks[j] = pick{i, ts}
			}
			continue
		}
		seen[r.Entity] = len(picks)
		picks = append(picks, pick{i, ts})
	}
	for f0 := 0; f0 < len(p.Features); f0 += maxFeaturesPerCall {
		f1 := min(f0+maxFeaturesPerCall, len(p.Features))
		if err := s.write(ctx, p, f0, f1, picks); err != nil {
			return fmt.Errorf("writing %s: %w", what, err)
		}
	}
	return nil
}

// pick is the record Write keeps for an entity, with its encoded timestamp.
type pick struct {
	rec int
	ts  uint64
}

// write stores features f0 to f1 (excluded) of the picked records.
func (s *Store) write(ctx context.Context, p *online.WriteParams, f0, f1 int, picks []pick) error {
	features := p.Features[f0:f1]
	nf := len(features)
	k := s.keysPerCall
	if k > 1 {
		k = max(1, min(k, fieldsPerCall/nf))
	}
	perPipeline := max(1, min(maxPipelineKeys, maxPipelineValues/nf))
	sha := s.script.Hash()
	// A stored value dated after AsOf is replaced; without AsOf, none is.
	asOf := "\xff\xff\xff\xff\xff\xff\xff\xff"
	if !p.AsOf.IsZero() {
		asOf = string(binary.BigEndian.AppendUint64(nil, encodeTime(p.AsOf)))
	}
	// call is one EVALSHA: its arguments and its first entity key.
	type call struct {
		args []any
		key  *string
	}
	arena := make([]byte, 0, min(len(picks), perPipeline)*(len(s.prefix)+24+24*nf))
	for start := 0; start < len(picks); start += perPipeline {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk := picks[start:min(start+perPipeline, len(picks))]
		// The keys and entries are encoded into one arena, copied once into
		// a string and sent as *string arguments, which go-redis writes
		// without allocating per argument as string or []byte arguments
		// would (a string in an []any is a heap copy of its header). strs
		// holds, per entity, its key and then its nf entries.
		stride := 1 + nf
		ends := make([]int, 0, len(chunk)*stride)
		arena = arena[:0]
		for _, pk := range chunk {
			r := &p.Records[pk.rec]
			arena = append(arena, s.prefix...)
			arena = append(arena, r.Entity...)
			ends = append(ends, len(arena))
			for _, v := range r.Values[f0:f1] {
				arena = appendEntry(arena, v, pk.ts)
				ends = append(ends, len(arena))
			}
		}
		text := string(arena)
		strs := make([]string, len(ends))
		off := 0
		for n, end := range ends {
			strs[n], off = text[off:end], end
		}
		// One script call per k entities:
		//   EVALSHA sha nkeys key… nf asOf feature… entry…
		// args has its final capacity up front, so the calls' slices of it
		// stay valid.
		nCalls := (len(chunk) + k - 1) / k
		args := make([]any, 0, nCalls*(5+nf)+len(strs))
		calls := make([]call, 0, nCalls)
		for c0 := 0; c0 < len(chunk); c0 += k {
			c1 := min(c0+k, len(chunk))
			a0 := len(args)
			args = append(args, "evalsha", sha, c1-c0)
			for i := c0; i < c1; i++ {
				args = append(args, &strs[i*stride])
			}
			args = append(args, nf, &asOf)
			for j := range features {
				args = append(args, &features[j])
			}
			for i := c0; i < c1; i++ {
				for j := range nf {
					args = append(args, &strs[i*stride+1+j])
				}
			}
			calls = append(calls, call{args: args[a0:len(args):len(args)], key: &strs[c0*stride]})
		}
		run := func(idx []int) []*redis.Cmd {
			cmds := make([]*redis.Cmd, len(idx))
			// Errors are per command and checked by the caller.
			_, _ = s.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
				for n, i := range idx {
					// What Script.EvalSha does, without copying the keys
					// into new interface values: the first key (argument
					// 3) routes the call on a cluster.
					cmd := redis.NewCmd(ctx, calls[i].args...)
					cmd.SetFirstKeyPos(3)
					cmds[n] = cmd
					_ = pipe.Process(ctx, cmd)
				}
				return nil
			})
			return cmds
		}
		idx := make([]int, len(calls))
		for i := range idx {
			idx[i] = i
		}
		cmds := run(idx)
		// NOSCRIPT: the server lost its script cache (restart, failover,
		// SCRIPT FLUSH). Reload and rerun the failed calls; rerunning is
		// safe because the script is newer-wins.
		var retry []int
		for n, c := range cmds {
			if c.Err() != nil && redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
				retry = append(retry, n)
			}
		}
		if len(retry) > 0 && ctx.Err() == nil {
			s.logger.InfoContext(ctx, "redis has no write script; reloading it", "addrs", s.addrs, "calls", len(retry))
			if err := s.script.Load(ctx, s.client).Err(); err != nil {
				return fmt.Errorf("reloading the write script: %w", err)
			}
			for n, c := range run(retry) {
				cmds[retry[n]] = c
			}
		}
		for n, c := range cmds {
			err := c.Err()
			switch {
			case err == nil:
			case ctx.Err() != nil:
				return ctx.Err()
			case redis.HasErrorPrefix(err, errCorruptReply):
				return fmt.Errorf("%w: %w", online.ErrCorruptEntry, err)
			default:
				return fmt.Errorf("entities %q…: %w", (*calls[n].key)[len(s.prefix):], err)
			}
		}
	}
	return nil
}

// ReaderName is the name of Read's connections in Redis's CLIENT LIST
// (with flag t while they track a cache).
const ReaderName = "slipway-online-reader"

// newReader connects the client Read uses. With the cache on, each
// connection tracks the keys it read (CLIENT TRACKING, opt-in) and drops them
// from its cache when Redis says they changed, or all of them when the
// connection is lost.
func newReader(ctx context.Context, cfg Config) (rueidis.Client, error) {
	opt := rueidis.ClientOption{
		InitAddress:       cfg.Addrs,
		Username:          cfg.Username,
		Password:          cfg.Password,
		SelectDB:          cfg.DB,
		ForceSingleClient: !cfg.Cluster,
		// CLIENT LIST shows the reader's connections under this name.
		ClientName: ReaderName,
		// One connection per node: awaitInvalidations's PING must travel
		// on the connection that read (and tracks) every cached key, and
		// rueidis would otherwise spread the keys of a single node over
		// log2(GOMAXPROCS) connections.
		PipelineMultiplex: -1,
		DisableCache:      cfg.DisableCache,
		CacheSizeEachConn: cmp.Or(cfg.CacheMB, DefaultCacheMB) << 20,
		// Reads fail after a dead connection's timeout rather than hang.
		ConnWriteTimeout: 5 * time.Second,
	}
	c, err := rueidis.NewClient(opt)
	if errors.Is(err, rueidis.ErrNoCache) {
		return nil, fmt.Errorf("%w: this Redis cannot track a client's cache (Redis 6 or newer can); set disable_cache: true in the online section", err)
	}
	if err != nil {
		return nil, err
	}
	if err := c.Do(ctx, c.B().Ping().Build()).Error(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Read returns Entries[entity][feature]: one HMGET per entity, all of them in
// one pipelined round trip (per cluster node, in parallel, on a cluster),
// together with the reads of concurrent calls. With the cache on, a hash read
// before is answered from memory until Redis invalidates it (a write to the
// key, a lost connection) or CacheTTL passes.
func (s *Store) Read(ctx context.Context, p *online.ReadParams) (*online.ReadResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading online features: %w", err)
	}
	entries := p.NewEntries()
	nf := len(p.Features)
	if len(p.Entities) == 0 || nf == 0 {
		return &online.ReadResult{Entries: entries}, nil
	}
	results := s.hmget(ctx, p)
	for i, r := range results {
		vals, err := r.ToArray()
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("reading online features: %w", ctx.Err())
			}
			return nil, fmt.Errorf("reading online features of entity %q: %w", p.Entities[i], err)
		}
		if len(vals) != nf {
			return nil, fmt.Errorf("reading online features of entity %q: %d values for %d features", p.Entities[i], len(vals), nf)
		}
		for j := range vals {
			raw := &vals[j]
			if raw.IsNil() {
				continue
			}
			str, err := raw.ToString()
			if err != nil {
				return nil, fmt.Errorf("reading %s for entity %q: %w: %w (%v)", p.Features[j], p.Entities[i], online.ErrCorruptEntry, errNotAnEntry, err)
			}
			v, ts, err := decodeEntry([]byte(str))
			if err != nil {
				return nil, fmt.Errorf("reading %s for entity %q: %w", p.Features[j], p.Entities[i], err)
			}
			entries[i][j] = online.Entry{Found: true, Value: v, Timestamp: ts}
		}
	}
	return &online.ReadResult{Entries: entries}, nil
}

// awaitInvalidations returns once Redis's invalidation messages for what
// this process wrote have reached the read cache, so that a Read after a
// Write never answers from the cache what the Write replaced: Redis queues
// an invalidation on the reader's connection while it runs the write, and
// answers a PING sent after the write's reply on that same connection only
// after it. (Another process's reads see the write once the message arrives,
// about one round trip later.) A failed PING needs nothing more: a lost
// connection drops its cache.
func (s *Store) awaitInvalidations(ctx context.Context) {
	if s.cacheTTL == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for addr, node := range s.reader.Nodes() {
		if err := node.Do(ctx, node.B().Ping().Build()).Error(); err != nil {
			s.logger.DebugContext(ctx, "redis read cache: no answer to the PING after a write", "addr", addr, "err", err)
		}
	}
}

// hmget sends one HMGET of p.Features per entity, through the cache when it
// is on.
func (s *Store) hmget(ctx context.Context, p *online.ReadParams) []rueidis.RedisResult {
	c := s.reader
	if s.cacheTTL == 0 {
		if len(p.Entities) == 1 {
			return []rueidis.RedisResult{c.Do(ctx, c.B().Hmget().Key(s.prefix+p.Entities[0]).Field(p.Features...).Build())}
		}
		cmds := make(rueidis.Commands, len(p.Entities))
		for i, e := range p.Entities {
			cmds[i] = c.B().Hmget().Key(s.prefix + e).Field(p.Features...).Build()
		}
		return c.DoMulti(ctx, cmds...)
	}
	if len(p.Entities) == 1 {
		return []rueidis.RedisResult{c.DoCache(ctx, c.B().Hmget().Key(s.prefix+p.Entities[0]).Field(p.Features...).Cache(), s.cacheTTL)}
	}
	cmds := make([]rueidis.CacheableTTL, len(p.Entities))
	for i, e := range p.Entities {
		cmds[i] = rueidis.CT(c.B().Hmget().Key(s.prefix+e).Field(p.Features...).Cache(), s.cacheTTL)
	}
	return c.DoMultiCache(ctx, cmds...)
}

// Close closes the connections.
func (s *Store) Close() error {
	s.reader.Close()
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("closing redis online store: %w", err)
	}
	return nil
}

// Version describes the server (for `slipway doctor`), e.g. "redis 7.2.4 at 127.0.0.1:6379".
func (s *Store) Version(ctx context.Context) (string, error) {
	info, err := s.client.Info(ctx, "server").Result()
	if err != nil {
		return "", fmt.Errorf("asking redis at %s for its version: %w", s.addrs, err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return "redis " + v + " at " + s.addrs, nil
		}
	}
	return "redis (unknown version) at " + s.addrs, nil
}

// ClientLogger routes go-redis's own log lines (dial retries and the like)
// to a *slog.Logger at debug level; the errors that matter reach callers as
// returned errors. Install it with redis.SetLogger, once per process.
type ClientLogger struct{ Logger *slog.Logger }

// Printf implements go-redis's logging interface.
func (l ClientLogger) Printf(ctx context.Context, format string, v ...any) {
	l.Logger.DebugContext(ctx, "redis client", "msg", fmt.Sprintf(format, v...))
}
