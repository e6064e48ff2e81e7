// Package platform is Slipway's library API: every operation (plan, apply,
// run, export, materialize, list, show, lineage, deprecate, delete, the job
// queue, doctor) is defined here once, over the stores a configuration
// names. The CLI is flags and printing over it, the HTTP API (server/) is
// decoding and encoding over it, and the HTTP client (client/) offers the
// same operations (the API interface) on a running server.
//
// A Platform opens its stores when an operation first needs them, so a
// command holds only what it uses (the embedded stores are held by one
// process at a time), and binds the offline store to the registry (the
// claim) before using it.
package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/feedback"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/predictionlog"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/serving"
)

// Backends construct the stores, by provider type (config.SQLite,
// "postgres", …). cmd/slipway wires the ones a build includes; a type
// configured in slipway.yaml but not wired is reported as such.
type Backends struct {
	Registry map[string]func(ctx context.Context, p *StoreParams) (registry.Store, error)
	Offline  map[string]func(ctx context.Context, p *StoreParams) (offline.Store, error)
	Online   map[string]func(ctx context.Context, p *StoreParams) (online.Store, error)
	// Sections are the provider types' sections of slipway.yaml, which
	// config.Load decodes and checks.
	Sections config.Types
	// DuckDBVersion returns the version of the DuckDB library linked in,
	// for 'slipway version'; nil when the build leaves DuckDB out.
	DuckDBVersion func() string
}

// StoreParams are what a backend constructor is given.
type StoreParams struct {
	// DataDir is the data directory: an embedded store with no path: in
	// Provider keeps its file there.
	DataDir string
	// Provider is the store's section of slipway.yaml, which the
	// constructor decodes into its Config (config.Provider.Decode).
	Provider config.Provider
	// Logger is the process's logger.
	Logger *slog.Logger
}

// The embedded stores' files in the data directory, for a provider that
// slipway.yaml gives no path: cmd/slipway opens them, plan checks they exist.
const (
	RegistryFile = "registry.db"
	OfflineFile  = "offline.duckdb"
	OnlineFile   = "online.bolt"
)

// Options say what to open.
type Options struct {
	// DataDir is the data directory of the embedded stores.
	DataDir string
	// DataDirHint names how the user sets DataDir, for the error about a
	// missing one (for example "--data-dir (env SLIPWAY_DATA_DIR)").
	DataDirHint string
	Config      *config.Config
	Backends    Backends
	Logger      *slog.Logger
	// Create allows a data directory that does not exist yet (apply and
	// quickstart create one); otherwise a missing one is an error, as it is
	// more likely a mistyped path.
	Create bool
	// Now tells the time of jobs and their recovery (default time.Now).
	Now func() time.Time
	// ReadOnly opens the stores for Plan only, writing nothing: no job
	// recovery, no claim, and an embedded store whose file does not exist
	// is opened empty in a temporary directory (see Plan).
	ReadOnly bool
	// WrapOnline, when set, wraps the online store once opened: every use
	// of it in this process (serving, materializations) goes through the
	// wrapper (`slipway serve` counts them for its metrics).
	WrapOnline func(online.Store) online.Store
}

// Platform is one configuration's stores and the operations over them.
// It is safe for concurrent use.
type Platform struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	registry registry.Store
	offline  offline.Store
	online   online.Store
	// recovered are the jobs recovered when the registry was opened.
	recovered []*registry.Job
	// tmpDir, in ReadOnly mode, holds the empty embedded stores opened in
	// place of missing ones; emptyOffline says the offline store is one.
	tmpDir       string
	emptyOffline bool

	// Jobs an operation starts (Run, Materialize, Export, RetryJob without
	// Detach) are worked in the background under bg until they end or
	// Close cancels them.
	bg     context.Context
	stopBg context.CancelFunc
	work   sync.WaitGroup

	exportsMu sync.Mutex
	exports   map[int64]string // export job → the temporary file it writes

	// endpoints answers Predict, built on first use (predict.go).
	endpoints *serving.Endpoints
	// predictionLog logs what endpoints answer, feedback the feedback
	// events posted; each opened on first use (predictionlog.go).
	predictionLog, feedback *predictionlog.Log
}

// Open checks the options; stores are opened when first needed.
func Open(ctx context.Context, opts Options) (*Platform, error) {
	if opts.Config == nil {
		return nil, errors.New("platform: no configuration")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cfg := opts.Config
	if !opts.Create && !opts.ReadOnly && cfg.Registry.Type == config.SQLite && cfg.Registry.Setting("path") == "" {
		if _, err := os.Stat(opts.DataDir); errors.Is(err, fs.ErrNotExist) {
			hint := opts.DataDirHint
			if hint == "" {
				hint = "the data directory option"
			}
			return nil, fmt.Errorf("no data directory at %s: run `slipway apply DIR` or `slipway quickstart` first, or point %s at an existing one", opts.DataDir, hint)
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	p := &Platform{opts: opts, log: opts.Logger, bg: bg, stopBg: stop, exports: map[int64]string{}}
	if opts.ReadOnly {
		if err := p.planStores(); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// Close cancels the jobs still worked in the background, waits for them,
// and closes the stores.
func (p *Platform) Close() error {
	p.stopBg()
	p.work.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	if err := p.closeLogs(); err != nil {
		errs = append(errs, err)
	}
	if p.online != nil {
		errs = append(errs, p.online.Close())
	}
	if p.offline != nil {
		errs = append(errs, p.offline.Close())
	}
	if p.registry != nil {
		errs = append(errs, p.registry.Close())
	}
	p.online, p.offline, p.registry = nil, nil, nil
	if p.tmpDir != "" {
		errs = append(errs, os.RemoveAll(p.tmpDir))
	}
	p.exportsMu.Lock()
	for id, path := range p.exports {
		os.RemoveAll(filepath.Dir(path))
		delete(p.exports, id)
	}
	p.exportsMu.Unlock()
	return errors.Join(errs...)
}

// Config is the configuration the platform was opened with.
func (p *Platform) Config() *config.Config { return p.opts.Config }

// DataDir is the data directory of the embedded stores.
func (p *Platform) DataDir() string { return p.opts.DataDir }

// constructor picks the constructor of a provider type.
func constructor[T any](role string, byType map[string]func(context.Context, *StoreParams) (T, error), pr config.Provider) (func(context.Context, *StoreParams) (T, error), error) {
	f, ok := byType[pr.Type]
	if !ok {
		return nil, fmt.Errorf("%s provider type %q is not part of this build", role, pr.Type)
	}
	return f, nil
}

func (p *Platform) storeParams(pr config.Provider) *StoreParams {
	return &StoreParams{DataDir: p.opts.DataDir, Provider: pr, Logger: p.log}
}

// Registry returns the registry, opening it (and recovering the jobs whose
// process died) on first use.
func (p *Platform) Registry(ctx context.Context) (registry.Store, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.registryLocked(ctx)
}

func (p *Platform) registryLocked(ctx context.Context) (registry.Store, error) {
	if p.registry != nil {
		return p.registry, nil
	}
	cfg := p.opts.Config.Registry
	newRegistry, err := constructor("registry", p.opts.Backends.Registry, cfg)
	if err != nil {
		return nil, err
	}
	// Into a local first: a constructor's nil *Store in an interface field
	// would not be nil, and Close would call through it.
	reg, err := newRegistry(ctx, p.storeParams(cfg))
	if err != nil {
		return nil, fmt.Errorf("opening the registry (%s): %w", cfg.Redacted(), err)
	}
	p.registry = reg
	if !p.opts.ReadOnly {
		c := &coordinator.Coordinator{Registry: reg, Logger: p.log, Now: p.opts.Now}
		jobs, err := c.Recover(ctx)
		if err != nil {
			p.log.Warn("recovering jobs whose worker died", "error", err)
		}
		p.recovered = jobs
	}
	return reg, nil
}

// Recovered returns the jobs whose worker had died (their lease expired)
// that opening the registry ended or queued again (coordinator.Recover).
func (p *Platform) Recovered() []*registry.Job {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.recovered
}

// Offline returns the offline store, opening it and claiming it for the
// registry on first use.
func (p *Platform) Offline(ctx context.Context) (offline.Store, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.offlineLocked(ctx)
}

func (p *Platform) offlineLocked(ctx context.Context) (offline.Store, error) {
	if p.offline != nil {
		return p.offline, nil
	}
	reg, err := p.registryLocked(ctx)
	if err != nil {
		return nil, err
	}
	cfg := p.opts.Config.Offline
	newOffline, err := constructor("offline", p.opts.Backends.Offline, cfg)
	if err != nil {
		return nil, err
	}
	st, err := newOffline(ctx, p.storeParams(cfg))
	if err != nil {
		hint := ""
		if cfg.Type == config.DuckDB {
			hint = " (is another slipway process, such as a `slipway worker`, using this data directory?)"
		}
		return nil, fmt.Errorf("opening the offline store (%s): %w%s", cfg.Redacted(), err, hint)
	}
	// A read-only platform (plan) writes nothing, not even the claim.
	if err := p.claimUnlessReadOnly(ctx, reg, st); err != nil {
		st.Close()
		return nil, fmt.Errorf("%w; give this registry its own offline store (for PostgreSQL, its own schema:) or use the registry that owns it", err)
	}
	p.offline = st
	return st, nil
}

// Online returns the online store, opening it on first use.
func (p *Platform) Online(ctx context.Context) (online.Store, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.online != nil {
		return p.online, nil
	}
	cfg := p.opts.Config.Online
	newOnline, err := constructor("online", p.opts.Backends.Online, cfg)
	if err != nil {
		return nil, err
	}
	st, err := newOnline(ctx, p.storeParams(cfg))
	if err != nil {
		hint := ""
		if cfg.Type == config.Embedded {
			hint = " (is another slipway process, such as a `slipway worker`, using this data directory?)"
		}
		return nil, fmt.Errorf("opening the online store (%s): %w%s", cfg.Redacted(), err, hint)
	}
	if p.opts.WrapOnline != nil {
		st = p.opts.WrapOnline(st)
	}
	p.online = st
	return st, nil
}

func (p *Platform) claimUnlessReadOnly(ctx context.Context, reg registry.Store, off offline.Store) error {
	if p.opts.ReadOnly {
		return nil
	}
	return claim(ctx, reg, off)
}

// claim binds the offline store to the registry, so two registries never
// share (and overwrite) one offline store's tables.
func claim(ctx context.Context, reg registry.Store, off offline.Store) error {
	id, err := reg.ID(ctx)
	if err != nil {
		return err
	}
	return off.Claim(ctx, &offline.ClaimParams{RegistryID: id})
}

// planStores, in ReadOnly mode, opens the registry and the offline store
// for Plan, creating no embedded store: one whose file (its path:, or its
// default file in the data directory) does not exist is opened empty in a
// temporary directory removed by Close, whatever else the data directory
// holds. When the offline store is such an empty one, the registry's views
// and tables are not there to read, so the plan describes registered
// inputs from their definitions (definition.Stores.EmptyOffline).
func (p *Platform) planStores() error {
	cfg := *p.opts.Config
	for _, c := range []struct {
		p    *config.Provider
		file string
	}{{&cfg.Registry, RegistryFile}, {&cfg.Offline, OfflineFile}} {
		if c.p.Type != config.SQLite && c.p.Type != config.DuckDB {
			continue
		}
		path := c.p.Setting("path")
		if path == "" {
			path = filepath.Join(p.opts.DataDir, c.file)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if p.tmpDir == "" {
			d, err := os.MkdirTemp("", "slipway-plan-")
			if err != nil {
				return fmt.Errorf("opening empty stores to plan against: %w", err)
			}
			p.tmpDir = d
		}
		*c.p = c.p.With("path", filepath.Join(p.tmpDir, filepath.Base(path)))
		p.emptyOffline = p.emptyOffline || c.p == &cfg.Offline
	}
	p.opts.Config = &cfg
	return nil
}

// coordinator returns a coordinator over the stores a kind of work needs,
// opening them.
func (p *Platform) coordinator(ctx context.Context, needOffline, needOnline bool) (*coordinator.Coordinator, error) {
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	c := &coordinator.Coordinator{Registry: reg, Logger: p.log, MaxAttempts: p.opts.Config.Jobs.MaxAttempts, Now: p.opts.Now, Checks: p.monitorChecks()}
	if needOffline {
		if c.Offline, err = p.Offline(ctx); err != nil {
			return nil, err
		}
		c.Feedback = feedback.Reader{Registry: reg, Offline: c.Offline}
	}
	if needOnline {
		if c.Online, err = p.Online(ctx); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// worker returns a worker for c, tuned by slipway.yaml's jobs: section.
func (p *Platform) worker(c *coordinator.Coordinator) *coordinator.Worker {
	return &coordinator.Worker{Coordinator: c, Concurrency: p.opts.Config.Jobs.Concurrency, Lease: p.opts.Config.Jobs.Lease}
}

// workInBackground works jobs (and only those) in this process until they
// end, or until Close cancels them.
func (p *Platform) workInBackground(c *coordinator.Coordinator, jobs []*registry.Job) {
	ids := coordinator.JobIDs(jobs)
	p.work.Add(1)
	go func() {
		defer p.work.Done()
		if _, err := p.worker(c).Work(p.bg, ids); err != nil && p.bg.Err() == nil {
			p.log.Warn("working jobs", "jobs", ids, "error", err)
		}
	}()
}

// WorkersParams tune RunWorkers.
type WorkersParams struct {
	// Concurrency and Lease, when not zero, override the configuration.
	Concurrency int
	Lease       time.Duration
	// Progress, when set, takes a line per job event.
	Progress io.Writer
}

// RunWorkers works the queue and fires schedules until ctx is cancelled
// ('slipway worker', 'slipway serve --workers N').
func (p *Platform) RunWorkers(ctx context.Context, wp *WorkersParams) error {
	c, err := p.coordinator(ctx, true, true)
	if err != nil {
		return err
	}
	c.Progress = wp.Progress
	w := p.worker(c)
	if wp.Concurrency > 0 {
		w.Concurrency = wp.Concurrency
	}
	if wp.Lease > 0 {
		w.Lease = wp.Lease
	}
	sched := &coordinator.Scheduler{Coordinator: c}
	errc := make(chan error, 1)
	go func() { errc <- sched.Run(ctx) }()
	return errors.Join(w.Run(ctx), <-errc)
}
