package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// ErrInvalid marks a request's own mistake: a bad argument, named in the message.
var ErrInvalid = errors.New("invalid request")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// makePlan plans the definitions against the registry and the offline store.
func (p *Platform) makePlan(ctx context.Context, defs *definition.Files) (*definition.Plan, error) {
	if defs == nil {
		return nil, invalid("no definitions given")
	}
	if err := defs.Check(); err != nil {
		return nil, invalid("%v", err)
	}
	ds, err := defs.Load()
	if err != nil {
		return nil, err
	}
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	off, err := p.Offline(ctx)
	if err != nil {
		return nil, err
	}
	return definition.MakePlan(ctx, ds, definition.Stores{Registry: reg, Offline: off, EmptyOffline: p.emptyOffline})
}

// ProblemsOf returns the problems of a definition error (definition.Errors
// or *definition.Error), or nil for any other error.
func ProblemsOf(err error) []Problem {
	var es definition.Errors
	var e *definition.Error
	switch {
	case errors.As(err, &es):
		return Problems(es)
	case errors.As(err, &e):
		return Problems(definition.Errors{e})
	}
	return nil
}

// Plan says what Apply would do. With definition problems it returns them
// in the result and as the error; conflicts are in the result only.
func (p *Platform) Plan(ctx context.Context, defs *definition.Files) (*PlanResult, error) {
	plan, err := p.makePlan(ctx, defs)
	if err != nil {
		if ps := ProblemsOf(err); ps != nil {
			return &PlanResult{Items: []PlanItem{}, Warnings: []Problem{}, Errors: ps}, err
		}
		return nil, err
	}
	return newPlanResult(plan), nil
}

// Apply registers the definitions' new resources in one transaction and
// creates the offline views of new sources.
func (p *Platform) Apply(ctx context.Context, defs *definition.Files) (*ApplyResult, error) {
	if p.opts.ReadOnly {
		return nil, errors.New("apply on a platform opened read-only")
	}
	plan, err := p.makePlan(ctx, defs)
	if err != nil {
		return nil, err
	}
	out := &ApplyResult{Plan: newPlanResult(plan)}
	if len(plan.Conflicts()) > 0 {
		return out, &ConflictError{What: "nothing applied", Plan: out.Plan}
	}
	c, err := p.coordinator(ctx, true, false)
	if err != nil {
		return nil, err
	}
	res, err := c.Apply(ctx, plan)
	if err != nil {
		return nil, err
	}
	out.Created, out.Unchanged = len(res.Created), len(res.Unchanged)
	return out, nil
}

// start works jobs in the background unless detach.
func (p *Platform) start(c *coordinator.Coordinator, jobs []*registry.Job, detach bool) []*registry.Job {
	if !detach && len(jobs) > 0 {
		p.workInBackground(c, jobs)
	}
	return jobs
}

// Run queues the builds of transformations that are not ready (or all the
// selected ones with Rebuild), in dependency order, and the runs of the
// selected batch predictions.
func (p *Platform) Run(ctx context.Context, rp *RunParams) ([]*registry.Job, error) {
	if err := checkKinds(rp.Transformations, resource.KindTransformation); err != nil {
		return nil, err
	}
	if err := checkKinds(rp.BatchPredictions, resource.KindBatchPrediction); err != nil {
		return nil, err
	}
	c, err := p.coordinator(ctx, !rp.Detach, !rp.Detach && len(rp.BatchPredictions) > 0)
	if err != nil {
		return nil, err
	}
	var jobs []*registry.Job
	if len(rp.Transformations) > 0 || len(rp.BatchPredictions) == 0 {
		if jobs, err = c.EnqueueRun(ctx, &coordinator.RunParams{IDs: rp.Transformations, Rebuild: rp.Rebuild}); err != nil {
			return nil, err
		}
	}
	for _, id := range rp.BatchPredictions {
		more, err := c.EnqueueBatchPredict(ctx, &coordinator.BatchPredictParams{BatchPrediction: id, Rebuild: rp.Rebuild})
		if err != nil {
			return nil, notRegistered(id, err)
		}
		jobs = append(jobs, more...)
	}
	return p.start(c, jobs, rp.Detach), nil
}

func checkKinds(ids []resource.ID, kind resource.Kind) error {
	for _, id := range ids {
		if id.Kind != kind {
			return invalid("%s is not a %s", id, kind)
		}
	}
	return nil
}

// Materialize queues the materialization of features (all of them when
// none is named), with the builds they need.
func (p *Platform) Materialize(ctx context.Context, mp *MaterializeParams) ([]*registry.Job, error) {
	if err := checkKinds(mp.Features, resource.KindFeature); err != nil {
		return nil, err
	}
	chunks := mp.Chunks
	if chunks == 0 {
		chunks = 1
	}
	if chunks < 1 || chunks > MaxChunks {
		return nil, invalid("chunks %d: give 1 to %d", mp.Chunks, MaxChunks)
	}
	c, err := p.coordinator(ctx, !mp.Detach, !mp.Detach)
	if err != nil {
		return nil, err
	}
	jobs, err := c.EnqueueMaterialize(ctx, &coordinator.MaterializeParams{Features: mp.Features, Full: mp.Full, Chunks: chunks})
	if err != nil {
		return nil, err
	}
	return p.start(c, jobs, mp.Detach), nil
}

// ExportFormats lists every export format Slipway knows, in the order the
// default prefers them; an offline store writes some of them
// (offline.Capabilities.ExportFormats).
var ExportFormats = []string{"parquet", "csv", "jsonl"}

// FormatOf returns the export format a file name's extension names, or "".
func FormatOf(path string) string {
	byExt := map[string]string{".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
	return byExt[strings.ToLower(filepath.Ext(path))]
}

// StoreExportFormats lists the formats the offline store writes.
func (p *Platform) StoreExportFormats(ctx context.Context) ([]string, error) {
	off, err := p.Offline(ctx)
	if err != nil {
		return nil, err
	}
	return off.Capabilities().ExportFormats, nil
}

// exportFormat picks the format of an export: the one given, else the one
// the path's extension names, else the store's preferred one; it must be
// one the store writes.
func exportFormat(format, path string, formats []string) (string, error) {
	if format == "" {
		format = FormatOf(path)
	}
	if format == "" {
		for _, f := range ExportFormats {
			if slices.Contains(formats, f) {
				return f, nil
			}
		}
	}
	if !slices.Contains(formats, format) {
		return "", invalid("format %q: this offline store writes %s", format, strings.Join(formats, ", "))
	}
	return format, nil
}

// Export queues a training set's export with the builds it needs.
func (p *Platform) Export(ctx context.Context, ep *ExportParams) ([]*registry.Job, error) {
	if ep.TrainingSet.Kind != resource.KindTrainingSet {
		return nil, invalid("%s is not a training set", ep.TrainingSet)
	}
	c, err := p.coordinator(ctx, true, false)
	if err != nil {
		return nil, err
	}
	format := "csv"
	if ep.Encoded {
		if ep.Format != "" && ep.Format != "csv" {
			return nil, invalid("an encoded export is a csv file, not %s: leave out the format", ep.Format)
		}
	} else if format, err = exportFormat(ep.Format, ep.Path, c.Offline.Capabilities().ExportFormats); err != nil {
		return nil, err
	}
	path, tmp := ep.Path, ""
	if path == "" {
		if tmp, err = os.MkdirTemp("", "slipway-export-"); err != nil {
			return nil, err
		}
		path = filepath.Join(tmp, ep.TrainingSet.Name+"."+format)
	} else if err := coordinator.CheckOutputPath(path); err != nil {
		return nil, invalid("%v", err)
	}
	jobs, err := c.EnqueueExport(ctx, &coordinator.ExportParams{TrainingSet: ep.TrainingSet, Format: format, Path: path, Encoded: ep.Encoded})
	if err != nil {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		return nil, err
	}
	if tmp != "" {
		p.exportsMu.Lock()
		p.exports[jobs[len(jobs)-1].ID] = path
		p.exportsMu.Unlock()
	}
	return p.start(c, jobs, false), nil
}

// ExportFile opens the file an export job queued with no Path wrote. The
// file is removed when it is closed (a reader keeps it readable).
func (p *Platform) ExportFile(ctx context.Context, job int64) (io.ReadCloser, error) {
	path, err := p.exported(ctx, job, "file")
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	p.exportsMu.Lock()
	delete(p.exports, job)
	p.exportsMu.Unlock()
	return &removeOnClose{File: f, dir: filepath.Dir(path)}, nil
}

// ExportSchema reads the schema file an encoded export job queued with no
// Path wrote; read it before ExportFile, whose Close removes both.
func (p *Platform) ExportSchema(ctx context.Context, job int64) ([]byte, error) {
	path, err := p.exported(ctx, job, "schema")
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(coordinator.SchemaPath(path))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: job %d wrote no schema: only an encoded export (--encoded) does", registry.ErrNotFound, job)
	}
	return b, err
}

// exported returns the path a succeeded export job queued here with no
// Path wrote; what names what the caller fetches, for the errors.
func (p *Platform) exported(ctx context.Context, job int64, what string) (string, error) {
	p.exportsMu.Lock()
	path, ok := p.exports[job]
	p.exportsMu.Unlock()
	if !ok {
		return "", fmt.Errorf("%w: job %d wrote no export to fetch here (an export queued with no path, by this process)", registry.ErrNotFound, job)
	}
	j, err := p.GetJob(ctx, job)
	if err != nil {
		return "", err
	}
	if j.Status != registry.JobSucceeded {
		return "", fmt.Errorf("%w: job %d is %s; its %s is there once it has succeeded", registry.ErrJobState, job, j.Status, what)
	}
	return path, nil
}

type removeOnClose struct {
	*os.File
	dir string
}

func (r *removeOnClose) Close() error {
	return errors.Join(r.File.Close(), os.RemoveAll(r.dir))
}

// List returns registered resources.
func (p *Platform) List(ctx context.Context, lp *registry.ListParams) ([]*resource.Resource, error) {
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	return reg.List(ctx, lp)
}

// notRegistered words the error of an unknown resource.
func notRegistered(id resource.ID, err error) error {
	if errors.Is(err, registry.ErrNotFound) && !errors.Is(err, registry.ErrDeleted) {
		return fmt.Errorf("%s: %w (`slipway list %s` shows what is registered)", id, registry.ErrNotFound, id.Kind)
	}
	return err
}

// Show returns a resource (a deleted one as its tombstone, marked deleted)
// with the resources that depend on it.
func (p *Platform) Show(ctx context.Context, id resource.ID) (*Shown, error) {
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	r, err := reg.Get(ctx, id)
	var deleted *registry.DeletedError
	switch {
	case errors.As(err, &deleted):
		r = deleted.Resource
	case err != nil:
		return nil, notRegistered(id, err)
	}
	deps, err := reg.Dependents(ctx, id)
	if err != nil {
		return nil, err
	}
	return &Shown{Resource: r, Dependents: deps}, nil
}

// Lineage walks the graph from a resource both ways.
func (p *Platform) Lineage(ctx context.Context, id resource.ID) (*Lineage, error) {
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	get := func(id resource.ID) (*resource.Resource, error) {
		r, err := reg.Get(ctx, id)
		var deleted *registry.DeletedError
		if errors.As(err, &deleted) {
			return deleted.Resource, nil
		}
		return r, err
	}
	if _, err := get(id); err != nil {
		return nil, notRegistered(id, err)
	}
	out := &Lineage{ID: id, Upstream: []Edge{}, Downstream: []Edge{}}
	seen := map[resource.ID]bool{id: true}
	for queue := []resource.ID{id}; len(queue) > 0; queue = queue[1:] {
		r, err := get(queue[0])
		if err != nil {
			return nil, fmt.Errorf("lineage of %s: %w", id, err)
		}
		for _, dep := range r.Dependencies() {
			out.Upstream = append(out.Upstream, Edge{From: dep, To: r.ID})
			if !seen[dep] {
				seen[dep] = true
				queue = append(queue, dep)
			}
		}
	}
	seen = map[resource.ID]bool{id: true}
	for queue := []resource.ID{id}; len(queue) > 0; queue = queue[1:] {
		deps, err := reg.Dependents(ctx, queue[0])
		if err != nil {
			return nil, err
		}
		for _, d := range deps {
			out.Downstream = append(out.Downstream, Edge{From: queue[0], To: d})
			if !seen[d] {
				seen[d] = true
				queue = append(queue, d)
			}
		}
	}
	if out.ModelVersions, err = modelVersionsOf(ctx, reg, id, seen); err != nil {
		return nil, err
	}
	return out, nil
}

// lineageVersionLimit bounds the versions of one model a lineage reads.
const lineageVersionLimit = 100_000

// modelVersionsOf returns the model versions trained on the training sets
// among the resources (a lineage's resource and what uses it) and, for a
// model, its versions.
func modelVersionsOf(ctx context.Context, reg registry.Store, id resource.ID, resources map[resource.ID]bool) ([]VersionEdge, error) {
	models, err := reg.ListModels(ctx)
	if err != nil {
		return nil, err
	}
	out := []VersionEdge{}
	for _, m := range models {
		vs, err := reg.ListModelVersions(ctx, &registry.ListModelVersionsParams{Model: m.Model, Limit: lineageVersionLimit})
		if err != nil {
			return nil, err
		}
		var aliases []*registry.ModelAlias
		for _, v := range slices.Backward(vs) {
			if !resources[v.TrainingSet] && !(id.Kind == resource.KindModel && id.Name == v.Model) {
				continue
			}
			if aliases == nil {
				if aliases, err = reg.ListModelAliases(ctx, m.Model); err != nil {
					return nil, err
				}
			}
			e := VersionEdge{TrainingSet: v.TrainingSet, Model: v.Model, Version: v.Version, Aliases: []string{}}
			for _, a := range aliases {
				if a.Version == v.Version {
					e.Aliases = append(e.Aliases, a.Alias)
				}
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// Deprecate marks a resource deprecated, or with Undo takes that back.
func (p *Platform) Deprecate(ctx context.Context, dp *registry.DeprecateParams) (*resource.Resource, error) {
	c, err := p.coordinator(ctx, false, false)
	if err != nil {
		return nil, err
	}
	r, err := c.Deprecate(ctx, dp)
	if errors.Is(err, coordinator.ErrExperimentRefused) {
		return nil, fmt.Errorf("%w: %w", ErrConflict, err) // another experiment runs on the endpoint
	}
	return r, notRegistered(dp.ID, err)
}

// Delete deletes a resource and its data (coordinator.Delete).
func (p *Platform) Delete(ctx context.Context, dp *registry.DeleteParams) (*coordinator.DeleteResult, error) {
	c, err := p.coordinator(ctx, coordinator.NeedsOffline(dp.ID.Kind), coordinator.NeedsOnline(dp.ID.Kind))
	if err != nil {
		return nil, err
	}
	return c.Delete(ctx, dp)
}

// ListJobs returns jobs, newest first.
func (p *Platform) ListJobs(ctx context.Context, lp *registry.ListJobsParams) ([]*registry.Job, error) {
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	return reg.ListJobs(ctx, lp)
}

// noJob words the error of an unknown job.
func noJob(id int64, err error) error {
	if errors.Is(err, registry.ErrNotFound) {
		return fmt.Errorf("job %d does not exist (%w; `slipway jobs list` shows the jobs)", id, registry.ErrNotFound)
	}
	return err
}

// GetJob returns one job.
func (p *Platform) GetJob(ctx context.Context, id int64) (*registry.Job, error) {
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	j, err := reg.GetJob(ctx, id)
	return j, noJob(id, err)
}

// JobLogs returns a page of a job's log.
func (p *Platform) JobLogs(ctx context.Context, lp *registry.JobLogsParams) ([]registry.JobLogLine, error) {
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := reg.GetJob(ctx, lp.ID); err != nil {
		return nil, noJob(lp.ID, err)
	}
	return reg.JobLogs(ctx, lp)
}

// RetryJob queues a failed or cancelled job again with all its attempts,
// with the jobs that ended because of it (a job ended by its upstream is
// retried through that upstream), and works them unless Detach.
func (p *Platform) RetryJob(ctx context.Context, rp *RetryJobParams) ([]*registry.Job, error) {
	c, err := p.coordinator(ctx, !rp.Detach, !rp.Detach)
	if err != nil {
		return nil, err
	}
	j, err := c.Registry.RetryJob(ctx, &registry.RetryJobParams{ID: rp.ID, Now: p.opts.Now()})
	if err != nil {
		return nil, noJob(rp.ID, err)
	}
	jobs, err := c.Downstream(ctx, j)
	if err != nil {
		return nil, err
	}
	return p.start(c, jobs, rp.Detach), nil
}

// CancelJob ends a queued job at once, with the jobs waiting for it, and
// asks a running job's worker to stop it.
func (p *Platform) CancelJob(ctx context.Context, id int64) (*registry.Job, error) {
	reg, err := p.Registry(ctx)
	if err != nil {
		return nil, err
	}
	j, err := reg.CancelJob(ctx, &registry.CancelJobParams{ID: id, Now: p.opts.Now()})
	return j, noJob(id, err)
}

// versioner is implemented by stores that can name their server's version.
type versioner interface {
	Version(ctx context.Context) (string, error)
}

// fixedVersion is a version already read, for a store closed since.
type fixedVersion string

func (v fixedVersion) Version(context.Context) (string, error) { return string(v), nil }

// Doctor opens each configured provider, runs a read through it and asks
// its version. Secrets are never shown.
func (p *Platform) Doctor(ctx context.Context) (*DoctorReport, error) {
	cfg := p.opts.Config
	src := cfg.File
	if src == "" {
		src = "defaults (no " + config.FileName + ")"
	}
	report := &DoctorReport{Config: src, DataDir: p.opts.DataDir, Checks: []DoctorCheck{}}
	check := func(role, provider string, probe func(ctx context.Context) (any, error)) {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		store, err := probe(ctx)
		version := ""
		if v, ok := store.(versioner); ok && err == nil {
			version, err = v.Version(ctx)
		}
		c := DoctorCheck{Role: role, Provider: provider, OK: err == nil, Version: version}
		if err != nil {
			c.Version, c.Error = "", err.Error()
		}
		report.Checks = append(report.Checks, c)
	}
	check("registry", cfg.Registry.Redacted(), func(ctx context.Context) (any, error) {
		s, err := p.Registry(ctx)
		if err == nil {
			_, err = s.List(ctx, &registry.ListParams{Kind: resource.KindEntity})
		}
		return s, err
	})
	check("offline", cfg.Offline.Redacted(), func(ctx context.Context) (any, error) {
		// Probed on its own, not through Offline: its claim needs the
		// registry, whose check is the one above.
		p.mu.Lock()
		defer p.mu.Unlock()
		s := p.offline
		if s == nil {
			newOffline, err := constructor("offline", p.opts.Backends.Offline, cfg.Offline)
			if err != nil {
				return nil, err
			}
			if s, err = newOffline(ctx, p.storeParams(cfg.Offline)); err != nil {
				return nil, err
			}
			defer s.Close()
		}
		_, err := s.Describe(ctx, &offline.DescribeParams{SQL: "SELECT 1 AS probe"})
		if err != nil {
			return nil, err
		}
		v, ok := s.(versioner)
		if !ok {
			return nil, nil
		}
		version, err := v.Version(ctx)
		return fixedVersion(version), err
	})
	check("online", cfg.Online.Redacted(), func(ctx context.Context) (any, error) {
		s, err := p.Online(ctx)
		if err == nil {
			_, err = s.Read(ctx, &online.ReadParams{Features: []string{"slipway_doctor:probe"}, Entities: []string{"probe"}})
		}
		return s, err
	})
	return report, nil
}
