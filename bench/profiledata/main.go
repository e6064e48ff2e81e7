// Command profiledata measures monitoring over a large prediction log, for
// bench/monitoring.sh. Two steps, each its own process so that each one's
// peak memory is its own:
//
//	profiledata generate -data-dir DIR [-predictions 10000000] [-features 20] [-days 7]
//	profiledata profile -data-dir DIR
//
// generate records model m version 1 (an encoding of F float64 features
// f01…fF and a baseline profile of 100,000 rows drawn like the log), the
// endpoint purchase, and a prediction log of N predictions spread evenly
// over D days, generated inside DuckDB (no row goes through Go): feature
// fK of prediction i is ((i * K * 7919) % 1000) / 10, a few null.
//
// profile profiles every hourly window of the log (monitor.ProfileWindows,
// the work a monitor's drift check does incrementally, all at once here),
// then the drift report over the whole week (monitor.Drift: 168 windows
// merged and compared with the baseline). It prints seconds, values per
// second and the process's peak resident memory (VmHWM).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/internal/backends"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/monitor"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/profile"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

var start = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "generate" && os.Args[1] != "profile") {
		fmt.Fprintln(os.Stderr, "usage: profiledata generate|profile -data-dir DIR [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dataDir := fs.String("data-dir", "", "the data directory")
	n := fs.Int64("predictions", 10_000_000, "logged predictions (generate)")
	features := fs.Int("features", 20, "features per prediction (generate)")
	days := fs.Int("days", 7, "days the predictions spread over (generate)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the step to this file")
	fs.Parse(os.Args[2:])
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "profiledata:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	p, err := platform.Open(ctx, platform.Options{DataDir: *dataDir, Config: config.Default(), Backends: backends.All(), Create: true})
	if err == nil {
		defer p.Close()
		if os.Args[1] == "generate" {
			err = generate(ctx, p, *n, *features, *days)
		} else {
			err = profileAll(ctx, p)
		}
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "profiledata:", err)
		os.Exit(1)
	}
	fmt.Printf("peak resident memory (VmHWM): %s\n", vmHWM())
}

func names(f int) []string {
	out := make([]string, f)
	for k := range out {
		out[k] = fmt.Sprintf("f%02d", k+1)
	}
	return out
}

func generate(ctx context.Context, p *platform.Platform, n int64, f, days int) error {
	reg, err := p.Registry(ctx)
	if err != nil {
		return err
	}
	off, err := p.Offline(ctx)
	if err != nil {
		return err
	}
	cols := names(f)
	feats := make([]model.Feature, f)
	types := make([]value.Type, f)
	for k, c := range cols {
		feats[k], types[k] = model.Feature{Name: c, Type: value.Float64}, value.Float64
	}
	b, err := model.NewEncodingBuilder(feats, model.EncodingConfig{})
	if err != nil {
		return err
	}
	base, err := profile.New(cols, types)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		row := make([]value.Value, f)
		i := rng.Int64N(1 << 40)
		for k := range row {
			row[k] = value.FromFloat64(float64((i*int64(k+1)*7919)%1000) / 10)
			if (i+int64(k))%50 == 0 {
				row[k] = value.NullValue()
			}
		}
		if err := b.Add(row); err != nil {
			return err
		}
		if err := base.Add(row); err != nil {
			return err
		}
	}
	enc, err := b.Encoding()
	if err != nil {
		return err
	}
	encJSON, err := json.Marshal(enc)
	if err != nil {
		return err
	}
	preds := profile.NewPredictions(true)
	for i := range 20_000 {
		preds.Add([]value.Value{value.FromFloat64(float64(i%1000) / 1000), value.FromInt64(int64(i % 2))})
	}
	baseline, err := json.Marshal(&profile.Summary{Features: base, Predictions: preds})
	if err != nil {
		return err
	}
	if _, err := reg.CreateModelVersion(ctx, &registry.CreateModelVersionParams{Model: "m", Artifact: registry.Artifact{Format: "linear", Bytes: []byte("{}")},
		Encoding: encJSON, Profile: baseline, TrainingRows: 100_000, Trainer: "registered"}); err != nil {
		return err
	}
	ep := resource.ID{Kind: resource.KindEndpoint, Name: "purchase", Variant: resource.DefaultVariant}
	if _, err := reg.Apply(ctx, &registry.ApplyParams{Resources: []*resource.Resource{{ID: ep, Endpoint: &resource.EndpointSpec{Model: "m", Alias: "production"}}}}); err != nil {
		return err
	}
	// The features' JSON, built by the engine: {"f01":12.3,"f02":null,...}.
	var parts []string
	for k, c := range cols {
		v := fmt.Sprintf("CASE WHEN (i + %d) %% 50 = 0 THEN 'null' ELSE CAST(CAST(((i * %d * 7919) %% 1000) AS DOUBLE) / 10 AS TEXT) END", k, k+1)
		sep := ","
		if k == 0 {
			sep = "{"
		}
		parts = append(parts, fmt.Sprintf("'%s\"%s\":' || %s", sep, c, v))
	}
	featuresSQL := strings.Join(parts, " || ") + " || '}'"
	spread := int64(days) * 86400 * 1_000_000 / n // microseconds between predictions
	began := time.Now()
	table := offline.PredictionLogTable(ep.Ref())
	q := `SELECT 'p' || CAST(i AS TEXT) AS prediction_id,
  TIMESTAMP '` + start.Format("2006-01-02 15:04:05") + `' + to_microseconds(i * ` + strconv.FormatInt(spread, 10) + `) AS predicted_at,
  'purchase:default' AS endpoint, CAST(NULL AS TEXT) AS batch_prediction, 'm' AS model, CAST(1 AS BIGINT) AS model_version,
  CAST(NULL AS TEXT) AS experiment, CAST(NULL AS TEXT) AS arm, 'sub_' || CAST(i % 2000000 AS TEXT) AS entity,
  CAST((i % 1000) AS DOUBLE) / 1000 AS prediction, CAST(i % 2 AS BIGINT) AS class, '{}' AS output,
  ` + featuresSQL + ` AS features, '{}' AS statuses, '[]' AS encoded, 'gen' AS write_batch
FROM (SELECT range AS i FROM range(` + strconv.FormatInt(n, 10) + `)) g`
	if _, err := off.CreateTable(ctx, &offline.CreateTableParams{Table: table, SQL: q}); err != nil {
		return fmt.Errorf("generating predictions: %w", err)
	}
	c := &coordinator.Coordinator{Registry: reg, Offline: off}
	src := &resource.Resource{ID: resource.EndpointPredictions(ep.Ref()), Source: &resource.SourceSpec{Table: table, TimestampColumn: resource.PredictedAtColumn}}
	if _, err := c.RegisterOutputs(ctx, []*resource.Resource{src}); err != nil {
		return err
	}
	fmt.Printf("generated %d predictions of %d features over %d days in %.1fs\n", n, f, days, time.Since(began).Seconds())
	return nil
}

func profileAll(ctx context.Context, p *platform.Platform) error {
	reg, err := p.Registry(ctx)
	if err != nil {
		return err
	}
	off, err := p.Offline(ctx)
	if err != nil {
		return err
	}
	ep := resource.Ref{Name: "purchase", Variant: resource.DefaultVariant}
	v, err := reg.GetModelVersion(ctx, "m", 1)
	if err != nil {
		return err
	}
	enc, err := model.ParseEncoding(v.Encoding)
	if err != nil {
		return err
	}
	// Profiled from scratch on every run of this step.
	if err := off.DropTable(ctx, &offline.DropTableParams{Table: monitor.ProfilesTable}); err != nil && !strings.Contains(err.Error(), "not exist") {
		return err
	}
	began := time.Now()
	res, err := monitor.ProfileWindows(ctx, reg, off, &monitor.ProfileParams{Endpoint: ep, Now: time.Now()})
	if err != nil {
		return err
	}
	secs := time.Since(began).Seconds()
	values := float64(res.Rows) * float64(len(enc.Features())+1)
	fmt.Printf("profiled %d windows, %d predictions x %d features in %.1fs: %.0f predictions/s, %.0f values/s\n",
		res.Windows, res.Rows, len(enc.Features()), secs, float64(res.Rows)/secs, values/secs)
	for run := range 3 {
		began = time.Now()
		rep, err := monitor.Drift(ctx, reg, off, &monitor.DriftParams{Endpoint: ep, Model: "m", Version: 1, From: start, To: res.Through})
		if err != nil {
			return err
		}
		drifted := 0
		for _, f := range rep.Features {
			if f.Drifted {
				drifted++
			}
		}
		fmt.Printf("drift report %d over %d windows (%d predictions): %.3fs, %d of %d features drifted\n", run+1, rep.Windows, rep.Current, time.Since(began).Seconds(), drifted, len(rep.Features))
	}
	return nil
}

func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "unknown"
}
