package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/cli"
	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/demo"
)

// TestSkewMeasured: on the quickstart, what the endpoint served equals
// what the training join gives at each prediction's time (no skew). Then
// orders arrive for some subscribers, dated before the predictions, and
// the order statistics are rebuilt but not materialized: the online store
// is stale, and `slipway skew` shows it, for those subscribers' order
// features only.
func TestSkewMeasured(t *testing.T) {
	dir := quickstart(t)
	subs := subscriberIDs(t, dir)
	mustRun(t, dir, append([]string{"predict", "purchase"}, subs[:80]...)...)

	skew := func() *cli.SkewBody {
		t.Helper()
		var body cli.SkewBody
		if err := json.Unmarshal([]byte(mustRun(t, dir, "skew", "purchase_model", "--json").stdout), &body); err != nil {
			t.Fatal(err)
		}
		if body.Result == nil {
			t.Fatalf("skew left no report: %+v", body.Jobs)
		}
		return &body
	}
	clean := skew().Result
	if clean.Sampled < 80 || clean.Differing != 0 || len(clean.Features) != 8 {
		t.Fatalf("the quickstart: %d predictions sampled, %d values differ, %d features; want at least 80, none, 8: %+v", clean.Sampled, clean.Differing, len(clean.Features), clean)
	}
	for _, f := range clean.Features {
		if f.Compared < 80 || f.Differing != 0 {
			t.Fatalf("the quickstart: %s compared %d, %d differ", f.Feature, f.Compared, f.Differing)
		}
	}

	// New orders for 10 subscribers, an hour ago; the statistics rebuilt,
	// the online store left as it was.
	late := subs[:10]
	f, err := os.OpenFile(filepath.Join(dir, "data", "orders.csv"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04:05.000000")
	for i, s := range late {
		fmt.Fprintf(f, "ord_late_%d,%s,shop_1,,%s,50.00\n", i, s, at)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	mustRun(t, dir, "run", "subscriber_order_stats", "--rebuild")
	mustRun(t, dir, append([]string{"predict", "purchase"}, subs[:20]...)...)

	stale := skew().Result
	for _, f := range stale.Features {
		orders := f.Name == "orders_count" || f.Name == "avg_order_value"
		switch {
		case !orders && f.Differing != 0:
			t.Errorf("%s: %d values differ; only the order features went stale: %+v", f.Name, f.Differing, f.Examples)
		case f.Name == "orders_count" && f.Differing < 20:
			// Each of the 10 subscribers was asked about twice (before and
			// after), and both predictions are behind the orders.
			t.Errorf("orders_count: %d of %d values differ; want the 20 predictions of the subscribers with new orders", f.Differing, f.Compared)
		}
		if orders {
			for _, e := range f.Examples {
				if !slices.Contains(late, e.Entity) {
					t.Errorf("%s differs for %s, which got no new order: %+v", f.Name, e.Entity, e)
				}
			}
		}
		if f.Name == "orders_count" && (len(f.Examples) == 0 || f.Share <= 0) {
			t.Errorf("orders_count: no examples or share: %+v", f)
		}
	}
	// The table a person reads says the same.
	out := mustRun(t, dir, "skew", "purchase_model").stdout
	if !strings.Contains(out, "orders_count:default") || !strings.Contains(out, "served") || !strings.Contains(out, "training join") {
		t.Errorf("slipway skew:\n%s", out)
	}
}

func subscriberIDs(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "data", "subscribers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs[1:] {
		out = append(out, r[0])
	}
	return out
}

// TestSkewMeasuredOnPostgresAndRedis: the same on the demo loaded into
// PostgreSQL (registry, offline store, data) and Redis: no skew, then the
// stale order features of the subscribers whose orders arrived late.
func TestSkewMeasuredOnPostgresAndRedis(t *testing.T) {
	env := newPostgresRedis(t, "skewm")
	days := demo.DefaultDays
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -days)
	dir := loadDemoOnPostgres(t, env, demo.Options{Scale: 0.1, Seed: 7, Start: start, Days: days}, nil)
	b, err := fs.ReadFile(demo.Project(), "endpoints.yaml")
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "defs", "endpoints.yaml"), b, 0o644))
	mustRun(t, dir, "apply", "defs")
	mustRun(t, dir, "materialize")
	mustRun(t, dir, "train", "purchase_model")
	subs := subscriberIDs(t, dir)
	mustRun(t, dir, append([]string{"predict", "purchase"}, subs[:40]...)...)
	skew := func() *coordinator.SkewReport {
		t.Helper()
		var body cli.SkewBody
		if err := json.Unmarshal([]byte(mustRun(t, dir, "skew", "purchase_model", "--json").stdout), &body); err != nil {
			t.Fatal(err)
		}
		if body.Result == nil {
			t.Fatalf("skew left no report: %+v", body.Jobs)
		}
		return body.Result
	}
	if r := skew(); r.Sampled != 40 || r.Differing != 0 {
		t.Fatalf("the demo on PostgreSQL: %d sampled, %d values differ: %+v", r.Sampled, r.Differing, r)
	}
	late := subs[:5]
	at := time.Now().UTC().Add(-time.Hour)
	for i, s := range late {
		if _, err := env.conn.Exec(t.Context(), "INSERT INTO "+env.data+".orders VALUES ($1, $2, 'shop_1', NULL, $3, 50)", fmt.Sprintf("ord_late_%d", i), s, at); err != nil {
			t.Fatal(err)
		}
	}
	mustRun(t, dir, "run", "subscriber_order_stats", "--rebuild")
	for _, f := range skew().Features {
		orders := f.Name == "orders_count" || f.Name == "avg_order_value"
		if !orders && f.Differing > 0 {
			t.Errorf("%s: %d of %d differ; only the order features of the 5 subscribers went stale", f.Name, f.Differing, f.Compared)
		}
		if f.Name == "orders_count" && f.Differing != 5 {
			t.Errorf("orders_count: %d differ; want the 5 predictions of the subscribers with new orders: %+v", f.Differing, f.Examples)
		}
		for _, e := range f.Examples {
			if !slices.Contains(late, e.Entity) {
				t.Errorf("%s differs for %s, which got no new order", f.Name, e.Entity)
			}
		}
	}
}
