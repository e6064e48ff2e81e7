package registrysqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/registry/registrytest"
	"github.com/slipway-ml/slipway/resource"
)

func open(t testing.TB, path string) *Store {
	t.Helper()
	s, err := New(context.Background(), Config{Path: path})
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
		return open(t, filepath.Join(t.TempDir(), "nested", "registry.db"))
	})
	registrytest.ExerciseShared(t, func(t *testing.T) func(t *testing.T) (registry.Store, error) {
		path := filepath.Join(t.TempDir(), "registry.db")
		return func(t *testing.T) (registry.Store, error) {
			s, err := New(t.Context(), Config{Path: path})
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

// TestWatermarkYearRange checks the bounds of the fixed-width text the
// watermark is kept (and compared) in: the first and last years it holds
// order correctly, and a watermark outside them is refused without touching
// the recorded one (Go would write it with a sign or a fifth digit, which
// neither sorts nor reads back).
func TestWatermarkYearRange(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "registry.db"))
	cust := entity("customer", "")
	if _, err := s.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{cust}}); err != nil {
		t.Fatal(err)
	}
	set := func(wm time.Time) error {
		return s.SetStatus(ctx, &registry.SetStatusParams{ID: cust.ID, Status: resource.StatusReady, Watermark: wm})
	}
	require := func(what string, want time.Time) {
		t.Helper()
		got, err := s.Get(ctx, cust.ID)
		if err != nil || !got.State.Watermark.Equal(want) {
			t.Fatalf("%s: watermark %v, %v; want %v", what, got.State.Watermark, err, want)
		}
	}
	low := time.Date(0, 1, 1, 0, 0, 0, 1000, time.UTC) // the zero time is "no watermark"
	high := time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
	for _, wm := range []time.Time{low, time.Date(999, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), high} {
		if err := set(wm); err != nil {
			t.Fatalf("SetStatus(watermark %v): %v", wm, err)
		}
		require(fmt.Sprintf("after %v", wm), wm)
	}
	if err := set(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	require("after year 1", high)
	for _, wm := range []time.Time{
		high.Add(time.Microsecond),
		time.Date(9999, 12, 31, 20, 0, 0, 0, time.FixedZone("UTC-5", -5*3600)), // year 10000 in UTC
		time.Date(-1, 12, 31, 0, 0, 0, 0, time.UTC),
	} {
		if err := set(wm); err == nil {
			t.Errorf("SetStatus accepted watermark %v, outside the years 0000 to 9999 UTC", wm)
		}
		require(fmt.Sprintf("after refusing %v", wm), high)
	}
}

func TestReopenKeepsDataAndSkipsMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")

	first, err := New(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	cust := entity("customer", "a person on a mailing list")
	if _, err := first.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{cust}}); err != nil {
		t.Fatal(err)
	}
	before := appliedMigrations(t, first)
	if len(before) != len(migrations) {
		t.Fatalf("fresh database recorded migrations %v, want %d", before, len(migrations))
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := open(t, path)
	got, err := second.Get(ctx, cust.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Description != cust.Description {
		t.Errorf("reopened description %q, want %q", got.Description, cust.Description)
	}
	after := appliedMigrations(t, second)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("reopening changed schema_migrations:\n before %v\n after  %v", before, after)
	}
}

// TestUpgradeFromVersion3 opens a registry written before migration 4
// (watermarks, job results): its resources and jobs read back with neither,
// and take them afterwards.
func TestUpgradeFromVersion3(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	shipped := migrations
	migrations = shipped[:3]
	old, err := New(ctx, Config{Path: path})
	migrations = shipped
	if err != nil {
		t.Fatal(err)
	}
	cust := entity("customer", "a person on a mailing list")
	// Version 3's reads and writes do not know the new columns: write the
	// resource and the job as it did.
	if _, err := old.DB().ExecContext(ctx, `INSERT INTO resources
		(kind, name, variant, definition, description, owner, tags, status, error, schema, created_at, updated_at)
		VALUES ('entity', 'customer', 'default', ?, ?, '', '[]', 'pending', '', NULL, ?, ?)`,
		string(cust.Definition()), cust.Description, "2026-03-01T00:00:00.000000Z", "2026-03-01T00:00:00.000000Z"); err != nil {
		t.Fatal(err)
	}
	if _, err := old.DB().ExecContext(ctx, `INSERT INTO jobs
		(kind, resource_kind, resource_name, resource_variant, key, status, max_attempts, created_at, run_after)
		VALUES ('transformation', 'transformation', 'opens', 'default', 'k1', 'queued', 1, 1, 1)`); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s := open(t, path)
	if got := appliedMigrations(t, s); len(got) != len(migrations) {
		t.Fatalf("upgraded database recorded migrations %v, want %d", got, len(migrations))
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
	path := filepath.Join(t.TempDir(), "registry.db")
	s := open(t, path)
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, '2099-01-01T00:00:00.000000Z')`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	if s2, err := New(ctx, Config{Path: path}); err == nil {
		s2.Close()
		t.Fatal("New opened a database with a newer schema version")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{}, {Path: "a?b.db"}} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) accepted an invalid config", c)
		}
		if _, err := New(context.Background(), c); err == nil {
			t.Errorf("New(%+v) accepted an invalid config", c)
		}
	}
}

func TestMapErr(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "registry.db"))
	_, err := s.DB().ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (1, 'x')`)
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

func appliedMigrations(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.DB().QueryContext(context.Background(), `SELECT version, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v int
		var at string
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d@%s", v, at))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func BenchmarkJobQueue(b *testing.B) {
	registrytest.BenchmarkJobQueue(b, open(b, filepath.Join(b.TempDir(), "registry.db")))
}
