package registrypg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/registry/registrytest"
	"github.com/slipway-ml/slipway/resource"
)

// freshSchema returns the test database's DSN and the name of a schema no
// other test uses; the schema is dropped when the test ends.
func freshSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	dsn = testenv.Postgres(t)
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	schema = "slipway_test_" + hex.EncodeToString(b)
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
	})
	return dsn, schema
}

// open returns a Store closed when the test ends (before its schema is dropped).
func open(t testing.TB, dsn, schema string) *Store {
	t.Helper()
	s, err := New(context.Background(), Config{DSN: dsn, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	registrytest.Exercise(t, func(t *testing.T) registry.Store {
		dsn, schema := freshSchema(t)
		return open(t, dsn, schema)
	})
	registrytest.ExerciseShared(t, func(t *testing.T) func(t *testing.T) (registry.Store, error) {
		dsn, schema := freshSchema(t)
		return func(t *testing.T) (registry.Store, error) {
			s, err := New(t.Context(), Config{DSN: dsn, Schema: schema})
			if err != nil {
				return nil, err
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			return s, nil
		}
	})
}

func entity(name, description string) *resource.Resource {
	return &resource.Resource{
		ID:          resource.ID{Kind: resource.KindEntity, Name: name, Variant: resource.DefaultVariant},
		Description: description,
	}
}

func TestReopenKeepsDataAndSkipsMigrations(t *testing.T) {
	ctx := context.Background()
	dsn, schema := freshSchema(t)

	first, err := New(ctx, Config{DSN: dsn, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	cust := entity("customer", "a person on a mailing list")
	if _, err := first.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{cust}}); err != nil {
		t.Fatal(err)
	}
	registered, err := first.Get(ctx, cust.ID)
	if err != nil {
		t.Fatal(err)
	}
	before := appliedMigrations(t, first)
	if len(before) != len(migrations) {
		t.Fatalf("fresh schema recorded migrations %v, want %d", before, len(migrations))
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := open(t, dsn, schema)
	got, err := second.Get(ctx, cust.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Description != cust.Description || !got.State.CreatedAt.Equal(registered.State.CreatedAt) {
		t.Errorf("reopened %q created %v, want %q created %v", got.Description, got.State.CreatedAt, cust.Description, registered.State.CreatedAt)
	}
	after := appliedMigrations(t, second)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("reopening changed schema_migrations:\n before %v\n after  %v", before, after)
	}
}

// TestUpgradeFromVersion3 opens a schema written before migration 4
// (watermarks, job results): its resources and jobs read back with neither,
// and take them afterwards.
func TestUpgradeFromVersion3(t *testing.T) {
	ctx := context.Background()
	dsn, schema := freshSchema(t)
	shipped := migrations
	migrations = shipped[:3]
	old, err := New(ctx, Config{DSN: dsn, Schema: schema})
	migrations = shipped
	if err != nil {
		t.Fatal(err)
	}
	cust := entity("customer", "a person on a mailing list")
	// Version 3's reads and writes do not know the new columns: write the
	// resource and the job as it did.
	if _, err := old.DB().ExecContext(ctx, `INSERT INTO `+table(schema, "resources")+`
		(kind, name, variant, definition, description, owner, tags, status, error, schema, created_at, updated_at)
		VALUES ('entity', 'customer', 'default', $1, $2, '', '{}', 'pending', '', NULL, $3, $3)`,
		string(cust.Definition()), cust.Description, time.Now()); err != nil {
		old.Close()
		t.Fatal(err)
	}
	_, err = old.DB().ExecContext(ctx, `INSERT INTO `+table(schema, "jobs")+`
		(kind, resource_kind, resource_name, resource_variant, key, status, max_attempts, created_at, run_after)
		VALUES ('transformation', 'transformation', 'opens', 'default', 'k1', 'queued', 1, $1, $1)`, time.UnixMicro(1))
	old.Close()
	if err != nil {
		t.Fatal(err)
	}

	s := open(t, dsn, schema)
	if got := appliedMigrations(t, s); len(got) != len(migrations) {
		t.Fatalf("upgraded schema recorded migrations %v, want %d", got, len(migrations))
	}
	got, err := s.Get(ctx, cust.ID)
	if err != nil || !got.State.Watermark.IsZero() || got.Description != cust.Description {
		t.Fatalf("Get after the upgrade = %+v, %v; want the resource with no watermark", got, err)
	}
	jobs, err := s.ListJobs(ctx, &registry.ListJobsParams{KeyPrefix: "k"})
	if err != nil || len(jobs) != 1 || jobs[0].Result != nil || jobs[0].Key != "k1" {
		t.Fatalf("ListJobs after the upgrade = %+v, %v; want job k1 with no result", jobs, err)
	}
	wm := time.Date(2026, 3, 1, 0, 0, 0, 1000, time.UTC)
	if err := s.SetStatus(ctx, &registry.SetStatusParams{ID: cust.ID, Status: resource.StatusReady, Watermark: wm}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, cust.ID); err != nil || !got.State.Watermark.Equal(wm) {
		t.Errorf("watermark after the upgrade = %+v, %v; want %v", got.State.Watermark, err, wm)
	}
	j, err := s.ClaimJob(ctx, &registry.ClaimJobParams{Worker: "w", Now: time.UnixMicro(2), Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishJob(ctx, &registry.FinishJobParams{ID: j.ID, Worker: "w", Attempt: 1, Now: time.UnixMicro(3),
		Status: registry.JobSucceeded, Result: []byte(`{"ok":true}`)}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetJob(ctx, j.ID); err != nil || string(got.Result) != `{"ok":true}` {
		t.Errorf("result after the upgrade = %q, %v; want {\"ok\":true}", got.Result, err)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	ctx := context.Background()
	dsn, schema := freshSchema(t)
	s := open(t, dsn, schema)
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO `+table(schema, "schema_migrations")+` (version) VALUES ($1)`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	if s2, err := New(ctx, Config{DSN: dsn, Schema: schema}); err == nil {
		s2.Close()
		t.Fatal("New opened a schema with a newer version")
	}
}

// TestSchemasAreIsolated checks that every statement is schema-qualified:
// two registries in one database hold different definitions of one ID.
func TestSchemasAreIsolated(t *testing.T) {
	ctx := context.Background()
	dsn, schemaA := freshSchema(t)
	_, schemaB := freshSchema(t)
	a, b := open(t, dsn, schemaA), open(t, dsn, schemaB)
	if _, err := a.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{entity("customer", "in a")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{entity("customer", "in b")}}); err != nil {
		t.Fatal(err)
	}
	for s, want := range map[*Store]string{a: "in a", b: "in b"} {
		got, err := s.Get(ctx, entity("customer", "").ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Description != want {
			t.Errorf("schema %s: description %q, want %q", s.schema, got.Description, want)
		}
	}
}

// TestCancelWhileWaitingForApplyLock cancels an Apply queued behind
// another holder of the apply lock: the error wraps the context's, nothing
// is written, and the store keeps working.
func TestCancelWhileWaitingForApplyLock(t *testing.T) {
	ctx := context.Background()
	dsn, schema := freshSchema(t)
	s := open(t, dsn, schema)

	holder, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("apply", schema)); err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	shop := entity("shop", "")
	_, err = s.Apply(waitCtx, &registry.ApplyParams{Resources: []*resource.Resource{shop}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Apply cancelled while waiting for the lock: %v; want context.DeadlineExceeded", err)
	}
	// The server cancelled the waiting statement: nobody is left queued.
	for deadline := time.Now().Add(5 * time.Second); ; {
		var waiting int
		if err := holder.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d advisory lock requests still waiting after the cancelled Apply returned", waiting)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := holder.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, shop.ID); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Get after cancelled Apply: %v; want ErrNotFound", err)
	}
	if _, err := s.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{shop}}); err != nil {
		t.Errorf("Apply after a cancelled one: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{},
		{DSN: "  "},
		{DSN: "postgres://localhost/x", Schema: "Slipway"},
		{DSN: "postgres://localhost/x", Schema: "a;b"},
		{DSN: "postgres://localhost/x", Schema: "pg_slipway"},
		{DSN: "postgres://localhost/x", Schema: "s234567890123456789012345678901234567890123456789012345678901234"},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) accepted an invalid config", c)
		}
		if _, err := New(context.Background(), c); err == nil {
			t.Errorf("New(%+v) accepted an invalid config", c)
		}
	}
	for _, c := range []Config{{DSN: "postgres://localhost/x"}, {DSN: "host=localhost", Schema: "_registry_2"}} {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v): %v", c, err)
		}
	}
}

func TestMapErr(t *testing.T) {
	ctx := context.Background()
	dsn, schema := freshSchema(t)
	s := open(t, dsn, schema)
	_, err := s.DB().ExecContext(ctx, `INSERT INTO `+table(schema, "schema_migrations")+` (version) VALUES (1)`)
	if err == nil {
		t.Fatal("duplicate primary key accepted")
	}
	if !errors.Is(mapError(err), registry.ErrConflict) {
		t.Errorf("mapError(%v) does not wrap ErrConflict", err)
	}
	if got := mapError(errors.New("other")); got != nil {
		t.Errorf("mapError(other) = %v, want nil (no mapping)", got)
	}
}

func table(schema, name string) string { return pgx.Identifier{schema, name}.Sanitize() }

func appliedMigrations(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.DB().QueryContext(context.Background(), `SELECT version, applied_at FROM `+table(s.schema, "schema_migrations")+` ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v int
		var at time.Time
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d@%s", v, at.UTC().Format(time.RFC3339Nano)))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func BenchmarkJobQueue(b *testing.B) {
	dsn, schema := freshSchema(b)
	registrytest.BenchmarkJobQueue(b, open(b, dsn, schema))
}

// BenchmarkRawQueue is the floor for BenchmarkJobQueue: the smallest queue
// PostgreSQL can run, a bare table with a claim (UPDATE … FOR UPDATE SKIP
// LOCKED) and a finish per job, enqueued 100 rows per INSERT.
func BenchmarkRawQueue(b *testing.B) {
	dsn, schema := freshSchema(b)
	ctx := b.Context()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	table := pgx.Identifier{schema, "raw_queue"}.Sanitize()
	for _, stmt := range []string{
		"CREATE SCHEMA " + pgx.Identifier{schema}.Sanitize(),
		"CREATE TABLE " + table + " (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, status text NOT NULL)",
		"CREATE INDEX ON " + table + " (id) WHERE status = 'queued'",
	} {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			b.Fatal(err)
		}
	}
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			start := time.Now()
			for done := 0; done < b.N; done += 100 {
				n := min(100, b.N-done)
				if _, err := pool.Exec(ctx, "INSERT INTO "+table+" (status) SELECT 'queued' FROM generate_series(1, $1)", n); err != nil {
					b.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for {
						var id int64
						err := pool.QueryRow(ctx, "UPDATE "+table+" SET status = 'running' WHERE id = (SELECT id FROM "+table+
							" WHERE status = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id").Scan(&id)
						if errors.Is(err, pgx.ErrNoRows) {
							return
						}
						if err != nil {
							b.Error(err)
							return
						}
						if _, err := pool.Exec(ctx, "UPDATE "+table+" SET status = 'succeeded' WHERE id = $1", id); err != nil {
							b.Error(err)
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
		})
	}
}
