package client_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/slipway-ml/slipway/client"
	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/demo"
	"github.com/slipway-ml/slipway/internal/backends"
	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/server"
	"github.com/slipway-ml/slipway/serving"
)

// embedded is the default configuration: everything in the data directory.
func embedded(t *testing.T) *config.Config { return config.Default() }

// postgresRedis keeps the registry in a PostgreSQL schema of its own and
// the online values in Redis under a key prefix of its own (both removed
// when the test ends); the offline store is DuckDB, as the demo project's
// sources are files.
func postgresRedis(t *testing.T) *config.Config {
	t.Helper()
	dsn, addr := testenv.Postgres(t), testenv.Redis(t)
	suffix := strings.ToLower(rand.Text()[:12])
	schema, prefix := "slipway_client_test_"+suffix, "slipwaytest:"+suffix+":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
		rc := redis.NewClient(&redis.Options{Addr: addr})
		defer rc.Close()
		iter := rc.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rc.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("deleting keys %s*: %v", prefix, err)
		}
	})
	cfg := config.Default()
	cfg.Registry = config.Provider{Type: backends.Postgres, Role: config.RoleRegistry}.With("dsn", dsn).With("schema", schema)
	cfg.Online = config.Provider{Type: backends.Redis, Role: config.RoleOnline}.With("addrs", []string{addr}).With("key_prefix", prefix)
	return cfg
}

func openPlatform(t *testing.T, cfg *config.Config) *platform.Platform {
	t.Helper()
	p, err := platform.Open(t.Context(), platform.Options{DataDir: filepath.Join(t.TempDir(), ".slipway"), Config: cfg, Backends: backends.All(), Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// remote serves a platform of its own over HTTP and returns a client of it.
func remote(t *testing.T, cfg *config.Config) *client.Client {
	t.Helper()
	p := openPlatform(t, cfg)
	reg, err := p.Registry(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	on, err := p.Online(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Config{Platform: p, Serving: &serving.Service{Registry: reg, Online: on}}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// project writes the demo project (data and definitions) at a small scale.
func project(t *testing.T) *definition.Files {
	t.Helper()
	dir := t.TempDir()
	if _, err := demo.Generate(t.Context(), filepath.Join(dir, "data"), demo.Options{Scale: 0.05, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.WriteProject(dir); err != nil {
		t.Fatal(err)
	}
	defs, err := definition.ReadFiles(filepath.Join(dir, "definitions"))
	if err != nil {
		t.Fatal(err)
	}
	return defs
}

// edited is defs with one replacement in one file.
func edited(t *testing.T, defs *definition.Files, file, old, new string) *definition.Files {
	t.Helper()
	if !strings.Contains(defs.Files[file], old) {
		t.Fatalf("%s has no %q", file, old)
	}
	out := *defs
	out.Files = map[string]string{}
	for k, v := range defs.Files {
		out.Files[k] = v
	}
	out.Files[file] = strings.Replace(defs.Files[file], old, new, 1)
	return &out
}

// pair runs each operation on the stores directly and through a server,
// and compares the two results and errors.
type pair struct {
	t      *testing.T
	direct platform.API
	remote platform.API
}

// same runs op on both sides and fails unless both give equal results
// (after norm) and the same error text.
func same[T any](p pair, what string, op func(api platform.API) (T, error), norm func(T) any) (T, T, error) {
	t := p.t
	t.Helper()
	a, aerr := op(p.direct)
	b, berr := op(p.remote)
	if (aerr == nil) != (berr == nil) || (aerr != nil && untimed(aerr.Error()) != untimed(berr.Error())) {
		t.Fatalf("%s: errors differ:\n direct: %v\n remote: %v", what, aerr, berr)
	}
	if norm == nil {
		norm = func(x T) any { return x }
	}
	na, nb := norm(a), norm(b)
	if !reflect.DeepEqual(na, nb) {
		ja, _ := json.MarshalIndent(na, "", " ")
		jb, _ := json.MarshalIndent(nb, "", " ")
		t.Fatalf("%s: results differ:\n direct: %s\n remote: %s", what, ja, jb)
	}
	return a, b, aerr
}

// stamp matches the times error messages quote (a deletion's, say), which
// differ between two platforms doing the same thing a moment apart.
var stamp = regexp.MustCompile(`\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?( UTC|Z)?`)

func untimed(s string) string { return stamp.ReplaceAllString(s, "<time>") }

// normJob drops what differs between two platforms running the same
// work: times, workers, temporary paths, and what the API does not show.
func normJob(j *registry.Job) registry.Job {
	c := *j
	c.CreatedAt, c.RunAfter, c.StartedAt, c.EndedAt, c.LeaseUntil = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	c.Worker, c.Key, c.Result = "", "", nil
	if c.Kind == "export" {
		var args map[string]any
		if json.Unmarshal(c.Args, &args) == nil {
			delete(args, "path")
			c.Args, _ = json.Marshal(args)
		}
	}
	if len(c.DependsOn) == 0 {
		c.DependsOn = nil
	}
	if len(c.Args) == 0 {
		c.Args = nil
	}
	return c
}

func normJobs(js []*registry.Job) any {
	out := []registry.Job{}
	for _, j := range js {
		out = append(out, normJob(j))
	}
	return out
}

// normResource drops the times the registry takes from the wall clock.
func normResource(r *resource.Resource) any {
	if r == nil {
		return nil
	}
	c := *r
	c.State.CreatedAt, c.State.UpdatedAt = time.Time{}, time.Time{}
	c.State.Watermark = c.State.Watermark.UTC()
	for _, m := range []**resource.Mark{&c.State.Deprecated, &c.State.Deleted} {
		if *m != nil {
			mc := **m
			mc.At = time.Time{}
			*m = &mc
		}
	}
	if c.State.SourceFile != nil {
		fs := *c.State.SourceFile
		fs.ModTime = fs.ModTime.UTC()
		c.State.SourceFile = &fs
	}
	b, _ := json.Marshal(server.NewResourceBody(&c, nil))
	return string(b)
}

// wait follows jobs through api until they end.
func wait(t *testing.T, api platform.API, jobs []*registry.Job) []*registry.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := platform.Wait(ctx, api, jobs)
	if err != nil {
		t.Fatalf("waiting for jobs: %v (%+v)", err, out)
	}
	return out
}

// queued runs an operation that queues jobs on both sides, waits for
// them, and compares the queued and the ended jobs.
func queued(p pair, what string, op func(api platform.API) ([]*registry.Job, error)) []*registry.Job {
	p.t.Helper()
	a, b, err := same(p, what, op, normJobs)
	if err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
	ea := wait(p.t, p.direct, a)
	eb := wait(p.t, p.remote, b)
	if !reflect.DeepEqual(normJobs(ea), normJobs(eb)) {
		p.t.Fatalf("%s: ended jobs differ:\n direct: %+v\n remote: %+v", what, normJobs(ea), normJobs(eb))
	}
	for _, j := range ea {
		if j.Status != registry.JobSucceeded {
			p.t.Fatalf("%s: job %d %s %s: %s %s", what, j.ID, j.Kind, j.Resource, j.Status, j.Error)
		}
	}
	return ea
}

// randomRE matches the random schema and key prefix of postgresRedis.
var randomRE = regexp.MustCompile(`slipway(_client_test_|test:)[a-z0-9]+`)

// durationRE matches the durations in log lines.
var durationRE = regexp.MustCompile(`[0-9.]+(ns|µs|ms|s|m)\b`)

func id(t *testing.T, kind resource.Kind, ref string) resource.ID {
	r, err := resource.ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	return resource.NewID(kind, r)
}

// TestSameAsPlatform runs the CLI's operations on the stores directly and
// through a server, on the same project, and compares every result and
// error: on the embedded stores, and on PostgreSQL and Redis.
func TestSameAsPlatform(t *testing.T) {
	for name, cfg := range map[string]func(*testing.T) *config.Config{"Embedded": embedded, "PostgresRedis": postgresRedis} {
		t.Run(name, func(t *testing.T) { sameAsPlatform(t, cfg) })
	}
}

func sameAsPlatform(t *testing.T, cfg func(*testing.T) *config.Config) {
	defs := project(t)
	p := pair{t: t, direct: openPlatform(t, cfg(t)), remote: remote(t, cfg(t))}
	ctx := t.Context()

	// Plan: a definition error is returned in the result and as the error.
	broken := edited(t, defs, "features.yaml", "entity: subscriber", "entity: shopper")
	res, _, err := same(p, "plan with an error", func(api platform.API) (*platform.PlanResult, error) { return api.Plan(ctx, broken) }, nil)
	var des definition.Errors
	if !errors.As(err, &des) || len(res.Errors) == 0 || !strings.Contains(err.Error(), "shopper") {
		t.Fatalf("plan with an unknown entity: %v, %+v; want definition.Errors in both", err, res)
	}
	same(p, "apply with an error", func(api platform.API) (*platform.ApplyResult, error) { return api.Apply(ctx, broken) }, nil)

	if _, _, err := same(p, "plan", func(api platform.API) (*platform.PlanResult, error) { return api.Plan(ctx, defs) }, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := same(p, "apply", func(api platform.API) (*platform.ApplyResult, error) { return api.Apply(ctx, defs) }, nil); err != nil {
		t.Fatal(err)
	}

	// A conflict: in the plan's items; refused by apply with the plan.
	changed := edited(t, defs, "features.yaml", "max_age: 30d", "max_age: 7d")
	res, _, err = same(p, "plan with a conflict", func(api platform.API) (*platform.PlanResult, error) { return api.Plan(ctx, changed) }, nil)
	if err != nil || len(res.Conflicts()) == 0 {
		t.Fatalf("plan of a changed feature: %v, conflicts %+v", err, res.Conflicts())
	}
	ar, br, err := same(p, "apply with a conflict", func(api platform.API) (*platform.ApplyResult, error) { return api.Apply(ctx, changed) }, nil)
	var ce *platform.ConflictError
	if !errors.Is(err, platform.ErrConflict) || !errors.As(err, &ce) || ar.Plan == nil || br.Plan == nil || len(br.Plan.Conflicts()) == 0 {
		t.Fatalf("apply of a changed feature: %v; want a *ConflictError with the plan on both", err)
	}

	// Work: run, materialize, export and its file.
	queued(p, "run", func(api platform.API) ([]*registry.Job, error) { return api.Run(ctx, &platform.RunParams{}) })
	queued(p, "materialize", func(api platform.API) ([]*registry.Job, error) {
		return api.Materialize(ctx, &platform.MaterializeParams{Chunks: 2})
	})
	ts := id(t, resource.KindTrainingSet, "purchase_propensity")
	exported := queued(p, "export", func(api platform.API) ([]*registry.Job, error) {
		return api.Export(ctx, &platform.ExportParams{TrainingSet: ts, Format: "csv"})
	})
	last := exported[len(exported)-1]
	read := func(api platform.API) ([]byte, error) {
		f, err := api.ExportFile(ctx, last.ID)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return io.ReadAll(f)
	}
	a, b, err := same(p, "export file", read, func(b []byte) any { return len(b) })
	if err != nil || !bytes.Equal(a, b) || bytes.Count(a, []byte("\n")) != int(last.Rows)+1 {
		t.Fatalf("export file: %v; %d and %d bytes, %d lines for %d rows", err, len(a), len(b), bytes.Count(a, []byte("\n")), last.Rows)
	}
	// Fetched once.
	_, _, err = same(p, "export file again", read, nil)
	if !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("second ExportFile: %v; want ErrNotFound", err)
	}

	models(p, ts)

	// The registry.
	feature := id(t, resource.KindFeature, "opens_30d:v1")
	for _, lp := range []*registry.ListParams{{Kind: resource.KindFeature, NotDeprecated: true}, {Deleted: true}, {Kind: resource.KindFeature, Name: "opens_30d"}} {
		same(p, "list", func(api platform.API) ([]*resource.Resource, error) { return api.List(ctx, lp) }, func(rs []*resource.Resource) any {
			out := []any{}
			for _, r := range rs {
				out = append(out, normResource(r))
			}
			return out
		})
	}
	normShown := func(s *platform.Shown) any {
		if s == nil {
			return nil
		}
		deps := s.Dependents
		if len(deps) == 0 {
			deps = nil
		}
		return []any{normResource(s.Resource), deps}
	}
	same(p, "show", func(api platform.API) (*platform.Shown, error) { return api.Show(ctx, feature) }, normShown)
	same(p, "show a source", func(api platform.API) (*platform.Shown, error) {
		return api.Show(ctx, id(t, resource.KindSource, "email_events"))
	}, normShown)
	same(p, "lineage", func(api platform.API) (*platform.Lineage, error) { return api.Lineage(ctx, ts) }, nil)
	same(p, "deprecate", func(api platform.API) (*resource.Resource, error) {
		return api.Deprecate(ctx, &registry.DeprecateParams{ID: feature, By: "ana", Reason: "use v2"})
	}, normResource)
	// The model trained on the training set goes first.
	same(p, "delete a model", func(api platform.API) (*coordinator.DeleteResult, error) {
		return api.Delete(ctx, &registry.DeleteParams{ID: id(t, resource.KindModel, "purchase_model"), By: "ana"})
	}, func(d *coordinator.DeleteResult) any {
		if d == nil {
			return nil
		}
		return normResource(d.Resource)
	})
	same(p, "delete", func(api platform.API) (*coordinator.DeleteResult, error) {
		return api.Delete(ctx, &registry.DeleteParams{ID: ts, By: "ana"})
	}, func(d *coordinator.DeleteResult) any {
		if d == nil {
			return nil
		}
		return []any{normResource(d.Resource), d.Again, d.Table, d.OnlineFeature}
	})
	_, _, err = same(p, "delete with dependents", func(api platform.API) (*coordinator.DeleteResult, error) {
		return api.Delete(ctx, &registry.DeleteParams{ID: id(t, resource.KindSource, "email_events")})
	}, nil)
	if !errors.Is(err, registry.ErrHasDependents) {
		t.Errorf("delete of a used source: %v; want ErrHasDependents", err)
	}
	_, _, err = same(p, "show deleted", func(api platform.API) (*platform.Shown, error) { return api.Show(ctx, ts) }, normShown)
	if err != nil {
		t.Errorf("show of a deleted training set: %v; want its tombstone", err)
	}
	_, _, err = same(p, "deprecate deleted", func(api platform.API) (*resource.Resource, error) {
		return api.Deprecate(ctx, &registry.DeprecateParams{ID: ts})
	}, normResource)
	if !errors.Is(err, registry.ErrDeleted) || !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("deprecate of a deleted resource: %v; want ErrDeleted", err)
	}

	// Jobs.
	same(p, "list jobs", func(api platform.API) ([]*registry.Job, error) {
		return api.ListJobs(ctx, &registry.ListJobsParams{Statuses: []registry.JobStatus{registry.JobSucceeded}, Kind: "materialize", Limit: 5})
	}, normJobs)
	same(p, "list jobs of a resource", func(api platform.API) ([]*registry.Job, error) {
		return api.ListJobs(ctx, &registry.ListJobsParams{Resource: ts, BeforeID: 100})
	}, normJobs)
	same(p, "job logs", func(api platform.API) ([]registry.JobLogLine, error) {
		return api.JobLogs(ctx, &registry.JobLogsParams{ID: 1, After: 1, Limit: 3})
	}, func(ls []registry.JobLogLine) any {
		var out []string
		for _, l := range ls {
			out = append(out, durationRE.ReplaceAllString(l.Line, "<d>"))
			if l.Time.IsZero() {
				out = append(out, "no time")
			}
		}
		return out
	})
	_, _, err = same(p, "cancel an ended job", func(api platform.API) (*registry.Job, error) { return api.CancelJob(ctx, 1) }, nil)
	if !errors.Is(err, registry.ErrJobState) {
		t.Errorf("cancel of a succeeded job: %v; want ErrJobState", err)
	}
	// Retry: a detached build cancelled while queued, retried and worked.
	rebuild, _, err := same(p, "detached run", func(api platform.API) ([]*registry.Job, error) {
		return api.Run(ctx, &platform.RunParams{Transformations: []resource.ID{id(t, resource.KindTransformation, "subscriber_profile")}, Rebuild: true, Detach: true})
	}, normJobs)
	if err != nil || len(rebuild) != 1 {
		t.Fatalf("detached rebuild: %v %+v", err, rebuild)
	}
	same(p, "cancel", func(api platform.API) (*registry.Job, error) { return api.CancelJob(ctx, rebuild[0].ID) }, func(j *registry.Job) any { return normJob(j) })
	queued(p, "retry", func(api platform.API) ([]*registry.Job, error) {
		return api.RetryJob(ctx, &platform.RetryJobParams{ID: rebuild[0].ID})
	})
	_, _, err = same(p, "retry a succeeded job", func(api platform.API) ([]*registry.Job, error) {
		return api.RetryJob(ctx, &platform.RetryJobParams{ID: rebuild[0].ID, Detach: true})
	}, nil)
	if !errors.Is(err, registry.ErrJobState) {
		t.Errorf("retry of a succeeded job: %v; want ErrJobState", err)
	}

	// Errors of bad requests are the same text and sentinel.
	_, _, err = same(p, "unknown job", func(api platform.API) (*registry.Job, error) { return api.GetJob(ctx, 999) }, nil)
	if !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("unknown job: %v; want ErrNotFound", err)
	}
	_, _, err = same(p, "unknown resource", func(api platform.API) (*platform.Shown, error) {
		return api.Show(ctx, id(t, resource.KindFeature, "nope"))
	}, nil)
	if !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("unknown resource: %v; want ErrNotFound", err)
	}
	for name, op := range map[string]func(api platform.API) ([]*registry.Job, error){
		"run of a feature": func(api platform.API) ([]*registry.Job, error) {
			return api.Run(ctx, &platform.RunParams{Transformations: []resource.ID{feature}})
		},
		"materialize chunks": func(api platform.API) ([]*registry.Job, error) {
			return api.Materialize(ctx, &platform.MaterializeParams{Chunks: platform.MaxChunks + 1})
		},
		"export format": func(api platform.API) ([]*registry.Job, error) {
			return api.Export(ctx, &platform.ExportParams{TrainingSet: ts, Format: "xlsx"})
		},
	} {
		_, _, err = same(p, name, op, nil)
		if !errors.Is(err, platform.ErrInvalid) {
			t.Errorf("%s: %v; want ErrInvalid", name, err)
		}
	}

	same(p, "doctor", func(api platform.API) (*platform.DoctorReport, error) { return api.Doctor(ctx) }, func(r *platform.DoctorReport) any {
		var out []string
		for _, c := range r.Checks {
			out = append(out, c.Role, randomRE.ReplaceAllString(c.Provider, "<random>"), c.Error)
			if !c.OK {
				out = append(out, "not ok")
			}
		}
		return out
	})
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close()
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetJob(t.Context(), 1)
	if !errors.Is(err, client.ErrUnreachable) || !strings.Contains(err.Error(), "cannot reach the slipway server at "+url+": ") ||
		!strings.Contains(err.Error(), "is `slipway serve` running?") {
		t.Errorf("GetJob of a stopped server: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.GetJob(ctx, 1); !errors.Is(err, context.Canceled) || errors.Is(err, client.ErrUnreachable) {
		t.Errorf("GetJob with a cancelled context: %v; want context.Canceled", err)
	}
	for _, bad := range []string{"localhost:8080", "ftp://x", "http://", "http://u:p@x", "http://x?y=1"} {
		if _, err := client.New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}

// TestNotASlipwayServer: an answer that is not the API's error body says so.
func TestNotASlipwayServer(t *testing.T) {
	srv := httptest.NewServer(nil) // http.DefaultServeMux: 404 page not found
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetJob(t.Context(), 1)
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 404 || e.Code != "" || !strings.Contains(err.Error(), "is it a slipway server?") || errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetJob of another server: %v", err)
	}
}

// normVersion drops a version's time, the one thing two platforms doing
// the same work differ in.
func normVersion(v *registry.ModelVersion) any {
	if v == nil {
		return nil
	}
	c := *v
	c.CreatedAt = time.Time{}
	c.LabelStart, c.LabelEnd = c.LabelStart.UTC(), c.LabelEnd.UTC()
	return c
}

func normAlias(a *registry.ModelAlias) any {
	if a == nil {
		return nil
	}
	c := *a
	c.UpdatedAt = time.Time{}
	return c
}

// models trains, registers, reads, promotes and rolls back a model on
// both platforms, which must answer alike.
func models(p pair, ts resource.ID) {
	t, ctx := p.t, p.t.Context()

	// An encoded export: its schema, then its file.
	exported := queued(p, "encoded export", func(api platform.API) ([]*registry.Job, error) {
		return api.Export(ctx, &platform.ExportParams{TrainingSet: ts, Encoded: true})
	})
	last := exported[len(exported)-1].ID
	schema, remoteSchema, err := same(p, "export schema", func(api platform.API) ([]byte, error) { return api.ExportSchema(ctx, last) }, nil)
	if err != nil || !bytes.Equal(schema, remoteSchema) || !bytes.Contains(schema, []byte(`"training_set"`)) {
		t.Fatalf("export schema: %v: %s", err, schema)
	}
	file, _, err := same(p, "encoded export file", func(api platform.API) ([]byte, error) {
		f, err := api.ExportFile(ctx, last)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return io.ReadAll(f)
	}, nil)
	if err != nil || !bytes.HasPrefix(file, []byte("subscriber,timestamp,purchased_7d,opens_30d,")) {
		t.Fatalf("encoded export file: %v: %.100s", err, file)
	}
	// A plain export has no schema.
	plain := queued(p, "plain export", func(api platform.API) ([]*registry.Job, error) {
		return api.Export(ctx, &platform.ExportParams{TrainingSet: ts, Format: "csv"})
	})
	if _, _, err := same(p, "schema of a plain export", func(api platform.API) ([]byte, error) {
		return api.ExportSchema(ctx, plain[len(plain)-1].ID)
	}, nil); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("schema of a plain export: %v; want ErrNotFound", err)
	}

	// Train: the job's result (version, metrics, promotion) is the same.
	model := id(t, resource.KindModel, "purchase_model")
	a, b, err := same(p, "train", func(api platform.API) ([]*registry.Job, error) {
		return api.Train(ctx, &platform.TrainParams{Model: model, By: "ana"})
	}, normJobs)
	if err != nil {
		t.Fatal(err)
	}
	ea, eb := wait(t, p.direct, a), wait(t, p.remote, b)
	ja, jb := ea[len(ea)-1], eb[len(eb)-1]
	var ra, rb coordinator.TrainResult
	if ja.Status != registry.JobSucceeded || jb.Status != registry.JobSucceeded {
		t.Fatalf("train: %s %s / %s %s", ja.Status, ja.Error, jb.Status, jb.Error)
	}
	if err := json.Unmarshal(ja.Result, &ra); err != nil {
		t.Fatalf("direct train result %q: %v", ja.Result, err)
	}
	if err := json.Unmarshal(jb.Result, &rb); err != nil {
		t.Fatalf("remote train result %q: %v", jb.Result, err)
	}
	if !reflect.DeepEqual(ra, rb) || ra.Version != 1 || !ra.Promoted || ra.Metrics["auc"] <= 0.5 {
		t.Fatalf("train results differ or are wrong:\n direct: %+v\n remote: %+v", ra, rb)
	}
	_, _, err = same(p, "train a training set", func(api platform.API) ([]*registry.Job, error) {
		return api.Train(ctx, &platform.TrainParams{Model: ts})
	}, nil)
	if !errors.Is(err, platform.ErrInvalid) {
		t.Errorf("train of a training set: %v; want ErrInvalid", err)
	}
	_, _, err = same(p, "train an unknown model", func(api platform.API) ([]*registry.Job, error) {
		return api.Train(ctx, &platform.TrainParams{Model: id(t, resource.KindModel, "nope")})
	}, nil)
	if !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("train of an unknown model: %v; want ErrNotFound", err)
	}

	// Read it: by alias (with the artifact), by number.
	va, vb, err := same(p, "version by alias", func(api platform.API) (*registry.ModelVersion, error) {
		return api.GetModelVersion(ctx, platform.ModelRef{Model: "purchase_model", Alias: "production"})
	}, normVersion)
	if err != nil || va.Version != 1 || len(vb.Artifact.Bytes) == 0 || !bytes.Equal(va.Artifact.Bytes, vb.Artifact.Bytes) || len(vb.Encoding) == 0 {
		t.Fatalf("version by alias: %v, %d bytes", err, len(vb.Artifact.Bytes))
	}
	same(p, "version by number", func(api platform.API) (*registry.ModelVersion, error) {
		return api.GetModelVersion(ctx, platform.ModelRef{Model: "purchase_model", Version: 1})
	}, normVersion)
	for what, ref := range map[string]platform.ModelRef{
		"unknown version": {Model: "purchase_model", Version: 9},
		"unknown alias":   {Model: "purchase_model", Alias: "staging"},
		"unknown model":   {Model: "nope", Version: 1},
	} {
		if _, _, err := same(p, what, func(api platform.API) (*registry.ModelVersion, error) { return api.GetModelVersion(ctx, ref) }, nil); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("%s: %v; want ErrNotFound", what, err)
		}
	}

	// Register a model over the export's columns, with its schema: version 2.
	linear := linearModel(t, schema)
	reg, _, err := same(p, "register", func(api platform.API) (*registry.ModelVersion, error) {
		return api.RegisterModel(ctx, &platform.RegisterModelParams{Model: "purchase_model", Artifact: linear, Format: "slipway-linear",
			TrainingSet: ts, Schema: schema, By: "ana"})
	}, normVersion)
	if err != nil || reg.Version != 2 || reg.Trainer != "registered" || reg.CreatedBy != "ana" {
		t.Fatalf("register: %v %+v", err, reg)
	}
	// Without a format (detected) and without a schema: version 3.
	if _, _, err := same(p, "register detected", func(api platform.API) (*registry.ModelVersion, error) {
		return api.RegisterModel(ctx, &platform.RegisterModelParams{Model: "purchase_model", Artifact: linear, TrainingSet: ts, By: "ana"})
	}, normVersion); err != nil {
		t.Fatal(err)
	}
	for what, rp := range map[string]*platform.RegisterModelParams{
		"register on a feature": {Model: "purchase_model", Artifact: linear, TrainingSet: id(t, resource.KindFeature, "opens_30d:v1")},
		"register a bad name":   {Model: "Bad-Name", Artifact: linear, TrainingSet: ts},
	} {
		if _, _, err := same(p, what, func(api platform.API) (*registry.ModelVersion, error) { return api.RegisterModel(ctx, rp) }, nil); !errors.Is(err, platform.ErrInvalid) {
			t.Errorf("%s: %v; want ErrInvalid", what, err)
		}
	}
	if _, _, err := same(p, "register on an unknown training set", func(api platform.API) (*registry.ModelVersion, error) {
		return api.RegisterModel(ctx, &platform.RegisterModelParams{Model: "purchase_model", Artifact: linear, TrainingSet: id(t, resource.KindTrainingSet, "nope")})
	}, nil); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("register on an unknown training set: %v; want ErrNotFound", err)
	}

	// Promote, roll back.
	if _, _, err := same(p, "promote", func(api platform.API) (*registry.ModelAlias, error) {
		return api.PromoteModel(ctx, &platform.PromoteParams{Model: "purchase_model", Version: 2, Alias: "production", By: "ana"})
	}, normAlias); err != nil {
		t.Fatal(err)
	}
	if _, _, err := same(p, "promote a missing version", func(api platform.API) (*registry.ModelAlias, error) {
		return api.PromoteModel(ctx, &platform.PromoteParams{Model: "purchase_model", Version: 9, By: "ana"})
	}, nil); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("promote of a missing version: %v; want ErrNotFound", err)
	}
	if _, _, err := same(p, "promote version 0", func(api platform.API) (*registry.ModelAlias, error) {
		return api.PromoteModel(ctx, &platform.PromoteParams{Model: "purchase_model", By: "ana"})
	}, nil); !errors.Is(err, platform.ErrInvalid) {
		t.Errorf("promote of version 0: %v; want ErrInvalid", err)
	}
	back, _, err := same(p, "rollback", func(api platform.API) (*registry.ModelAlias, error) {
		return api.RollbackModel(ctx, &platform.RollbackParams{Model: "purchase_model", Alias: "production", By: "bo"})
	}, normAlias)
	if err != nil || back.Version != 1 || back.UpdatedBy != "bo" {
		t.Fatalf("rollback: %v %+v", err, back)
	}
	same(p, "promote staging", func(api platform.API) (*registry.ModelAlias, error) {
		return api.PromoteModel(ctx, &platform.PromoteParams{Model: "purchase_model", Version: 3, Alias: "staging", By: "ana"})
	}, normAlias)
	if _, _, err := same(p, "rollback a new alias", func(api platform.API) (*registry.ModelAlias, error) {
		return api.RollbackModel(ctx, &platform.RollbackParams{Model: "purchase_model", Alias: "staging"})
	}, nil); !errors.Is(err, platform.ErrInvalid) {
		t.Errorf("rollback of an alias that never moved: %v; want ErrInvalid", err)
	}
	if _, _, err := same(p, "rollback an unknown alias", func(api platform.API) (*registry.ModelAlias, error) {
		return api.RollbackModel(ctx, &platform.RollbackParams{Model: "purchase_model", Alias: "canary"})
	}, nil); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("rollback of an unknown alias: %v; want ErrNotFound", err)
	}

	// List and show: versions, aliases and their history.
	same(p, "list models", func(api platform.API) ([]*platform.ModelSummary, error) { return api.ListModels(ctx) }, func(ms []*platform.ModelSummary) any {
		var out []any
		for _, m := range ms {
			var as []any
			for _, a := range m.Aliases {
				as = append(as, normAlias(a))
			}
			out = append(out, m.Model, m.Definitions, m.LatestVersion, as)
		}
		return out
	})
	d, _, err := same(p, "show model", func(api platform.API) (*platform.ModelDetail, error) { return api.ShowModel(ctx, "purchase_model") }, func(d *platform.ModelDetail) any {
		if d == nil {
			return nil
		}
		out := []any{d.Model}
		for _, r := range d.Definitions {
			out = append(out, normResource(r))
		}
		for _, v := range d.Versions {
			out = append(out, normVersion(v))
		}
		for _, a := range d.Aliases {
			out = append(out, normAlias(a.ModelAlias))
			for _, m := range a.History {
				c := *m
				c.At = time.Time{}
				out = append(out, c)
			}
		}
		return out
	})
	if err != nil || len(d.Versions) != 3 || d.Versions[0].Version != 3 || len(d.Aliases) != 2 || len(d.Aliases[0].History) != 3 {
		t.Fatalf("show model: %v %+v", err, d)
	}
	if _, _, err := same(p, "show an unknown model", func(api platform.API) (*platform.ModelDetail, error) { return api.ShowModel(ctx, "nope") }, nil); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("show of an unknown model: %v; want ErrNotFound", err)
	}
}

// linearModel writes a logistic slipway-linear model over the columns of
// an encoded export's schema, as a notebook could have trained it.
func linearModel(t *testing.T, schema []byte) []byte {
	t.Helper()
	sc, err := model.ParseSchema(schema)
	if err != nil {
		t.Fatal(err)
	}
	cols := sc.Encoding.Columns()
	coef, means := make([]float64, len(cols)), make([]float64, len(cols))
	for i := range coef {
		coef[i] = 0.01 * float64(i+1)
	}
	m, err := model.NewLinear(model.TaskBinaryClassification, -1, coef, means, cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
