package platform_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/demo"
	"github.com/slipway-ml/slipway/internal/backends"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// demoPlatform writes the demo project at a small scale and opens a
// platform on a new data directory with its definitions applied.
func demoPlatform(t *testing.T) (*platform.Platform, string) {
	t.Helper()
	dir := t.TempDir()
	if _, err := demo.Generate(t.Context(), filepath.Join(dir, "data"), demo.Options{Scale: 0.05, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.WriteProject(dir); err != nil {
		t.Fatal(err)
	}
	p, err := platform.Open(t.Context(), platform.Options{DataDir: filepath.Join(dir, ".slipway"), Config: config.Default(), Backends: backends.All(), Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	defs, err := definition.ReadFiles(filepath.Join(dir, "definitions"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(t.Context(), defs); err != nil {
		t.Fatal(err)
	}
	return p, dir
}

// wait follows jobs until they end, as the CLI does.
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

var purchase = resource.ID{Kind: resource.KindTrainingSet, Name: "purchase_propensity", Variant: resource.DefaultVariant}

// TestExportFileOnce: an export with no path is worked in the background,
// its file read once through ExportFile, then gone.
func TestExportFileOnce(t *testing.T) {
	p, dir := demoPlatform(t)
	jobs, err := p.Export(t.Context(), &platform.ExportParams{TrainingSet: purchase, Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	ended := wait(t, p, jobs)
	last := ended[len(ended)-1]
	if last.Status != registry.JobSucceeded {
		t.Fatalf("export job: %+v", last)
	}
	f, err := p.ExportFile(t.Context(), last.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if int64(len(lines)-1) != last.Rows || !strings.HasPrefix(lines[0], "subscriber,timestamp,") {
		t.Errorf("export file: %d lines (job says %d rows), header %q", len(lines), last.Rows, lines[0])
	}
	if _, err := p.ExportFile(t.Context(), last.ID); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("second ExportFile: %v, want not found", err)
	}

	// The same training set written by the engine to a path is the same file.
	out := filepath.Join(dir, "ts.csv")
	jobs, err = p.Export(t.Context(), &platform.ExportParams{TrainingSet: purchase, Path: out})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, p, jobs)
	direct, err := os.ReadFile(out)
	if err != nil || string(direct) != string(b) {
		t.Errorf("export to %s (format from the extension): %v, %d bytes, want the %d bytes ExportFile gave", out, err, len(direct), len(b))
	}
	if _, err := p.ExportFile(t.Context(), jobs[len(jobs)-1].ID); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("ExportFile of an export written to a path: %v, want not found", err)
	}
}

// TestExportFormats: the format is the one given, else the path's, else the
// store's preferred; a format the store does not write is the caller's error.
func TestExportFormats(t *testing.T) {
	p, _ := demoPlatform(t)
	formats, err := p.StoreExportFormats(t.Context())
	if err != nil || !slices.Contains(formats, "parquet") {
		t.Fatalf("DuckDB export formats: %v %v", formats, err)
	}
	jobs, err := p.Export(t.Context(), &platform.ExportParams{TrainingSet: purchase})
	if err != nil {
		t.Fatal(err)
	}
	last := wait(t, p, jobs)[len(jobs)-1]
	f, err := p.ExportFile(t.Context(), last.ID)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 4)
	io.ReadFull(f, head)
	f.Close()
	if string(head) != "PAR1" {
		t.Errorf("default export format starts with %q, want Parquet's PAR1", head)
	}
	_, err = p.Export(t.Context(), &platform.ExportParams{TrainingSet: purchase, Format: "xlsx"})
	if !errors.Is(err, platform.ErrInvalid) || !strings.Contains(err.Error(), "parquet") {
		t.Errorf("export as xlsx: %v, want an invalid request naming the formats", err)
	}
	_, err = p.Export(t.Context(), &platform.ExportParams{TrainingSet: resource.ID{Kind: resource.KindFeature, Name: "opens_30d", Variant: "v1"}})
	if !errors.Is(err, platform.ErrInvalid) {
		t.Errorf("export of a feature: %v, want an invalid request", err)
	}
}

// TestLineage: a source's downstream reaches the training set through its
// transformation and features, and the training set's upstream reaches the
// source.
func TestLineage(t *testing.T) {
	p, _ := demoPlatform(t)
	events := resource.ID{Kind: resource.KindSource, Name: "email_events", Variant: resource.DefaultVariant}
	l, err := p.Lineage(t.Context(), events)
	if err != nil {
		t.Fatal(err)
	}
	reaches := func(edges []platform.Edge, id resource.ID, to bool) bool {
		for _, e := range edges {
			if (to && e.To == id) || (!to && e.From == id) {
				return true
			}
		}
		return false
	}
	if len(l.Upstream) != 0 || !reaches(l.Downstream, purchase, true) {
		t.Errorf("lineage of %s: %+v", events, l)
	}
	l, err = p.Lineage(t.Context(), purchase)
	if err != nil {
		t.Fatal(err)
	}
	model := resource.ID{Kind: resource.KindModel, Name: "purchase_model", Variant: resource.DefaultVariant}
	if len(l.Downstream) != 1 || l.Downstream[0].To != model || !reaches(l.Upstream, events, false) {
		t.Errorf("lineage of %s: %+v", purchase, l)
	}
	if _, err := p.Lineage(t.Context(), resource.ID{Kind: resource.KindSource, Name: "nope", Variant: "default"}); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("lineage of an unknown source: %v", err)
	}
}

// TestCloseCancelsBackgroundWork: jobs a platform works in the background
// end cancelled when it closes before they do, and no job is left running.
func TestCloseCancelsBackgroundWork(t *testing.T) {
	p, dir := demoPlatform(t)
	jobs, err := p.Materialize(t.Context(), &platform.MaterializeParams{})
	if err != nil || len(jobs) == 0 {
		t.Fatalf("materialize: %d jobs, %v", len(jobs), err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	q, err := platform.Open(t.Context(), platform.Options{DataDir: filepath.Join(dir, ".slipway"), Config: config.Default(), Backends: backends.All()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for _, j := range jobs {
		cur, err := q.GetJob(t.Context(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !cur.Status.Ended() {
			t.Errorf("job %d is %s after Close", cur.ID, cur.Status)
		}
	}
}

// TestPlanReadOnlyWritesNothing: a read-only platform plans the
// definitions of a data directory that does not exist without creating it,
// and refuses to apply.
func TestPlanReadOnlyWritesNothing(t *testing.T) {
	dir := t.TempDir()
	if _, err := demo.WriteProject(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Generate(t.Context(), filepath.Join(dir, "data"), demo.Options{Scale: 0.02}); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, ".slipway")
	p, err := platform.Open(context.Background(), platform.Options{DataDir: data, Config: config.Default(), Backends: backends.All(), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	defs, err := definition.ReadFiles(filepath.Join(dir, "definitions"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Plan(t.Context(), defs)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Items) == 0 || plan.Items[0].Action != definition.Create {
		t.Errorf("plan against nothing: %+v", plan.Items)
	}
	if _, err := p.Apply(t.Context(), defs); err == nil {
		t.Error("apply on a read-only platform succeeded")
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("plan created the data directory: %v", err)
	}
}

// TestWait: Wait returns the jobs once they have ended, and ctx's error
// while one has not.
func TestWait(t *testing.T) {
	p, _ := demoPlatform(t)
	queued, err := p.Materialize(t.Context(), &platform.MaterializeParams{Detach: true})
	if err != nil || len(queued) == 0 {
		t.Fatalf("materialize --detach: %d jobs, %v", len(queued), err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := platform.Wait(ctx, p, queued); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait on jobs nobody works: %v; want the deadline's error", err)
	}
	jobs, err := p.Export(t.Context(), &platform.ExportParams{TrainingSet: purchase, Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	ended := wait(t, p, jobs)
	if len(ended) != len(jobs) || ended[len(ended)-1].Status != registry.JobSucceeded || ended[0].ID != jobs[0].ID {
		t.Errorf("Wait returned %+v", ended)
	}
}
