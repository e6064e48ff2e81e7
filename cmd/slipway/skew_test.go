package main

// Write once, serve twice: what serving answers must equal what a training
// set gives at the same instant. Each test materializes, then exports a
// training set with one label row per entity at the materialization time
// and asks `slipway serve` for the same features of the same entities.

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/slipway-ml/slipway/demo"
	"github.com/slipway-ml/slipway/internal/testenv"
)

// servedValues asks the server for features of entities and returns
// values[entity][feature] as JSON values (nil when not served: not found
// or outside max age).
func servedValues(t *testing.T, base string, features, entities []string) map[string][]any {
	t.Helper()
	out := map[string][]any{}
	for start := 0; start < len(entities); start += 1000 {
		batch := entities[start:min(start+1000, len(entities))]
		body, _ := json.Marshal(map[string]any{"features": features, "entities": batch})
		code, resp := post(t, base+"/v1/online-features", string(body))
		if code != 200 {
			t.Fatalf("online features: %d %s", code, resp)
		}
		var got struct {
			Results []struct {
				Entity   string   `json:"entity"`
				Values   []any    `json:"values"`
				Statuses []string `json:"statuses"`
			} `json:"results"`
		}
		if err := json.Unmarshal(resp, &got); err != nil {
			t.Fatal(err)
		}
		for _, r := range got.Results {
			for j, s := range r.Statuses {
				if s != "found" && r.Values[j] != nil {
					t.Errorf("%s %s: status %s with value %v", r.Entity, features[j], s, r.Values[j])
				}
			}
			out[r.Entity] = r.Values
		}
	}
	return out
}

// checkNoSkew exports training set ts as JSON lines and compares every
// feature value of every row with what the server at base serves for the
// same entity: skew must be 0. columns are the export's feature columns,
// in the order of features. It returns how many values it compared.
func checkNoSkew(t *testing.T, dir, base, ts, entity string, features, columns []string) int {
	t.Helper()
	out := filepath.Join(dir, ts+".jsonl")
	mustRun(t, dir, "training-set", "export", ts, "--format", "jsonl", "--out", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	var entities []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		rows = append(rows, row)
		entities = append(entities, fmt.Sprint(row[entity]))
	}
	served := servedValues(t, base, features, entities)
	compared, skewed := 0, 0
	for i, row := range rows {
		for j, col := range columns {
			want, got := row[col], served[entities[i]][j]
			compared++
			if !sameValue(want, got) {
				if skewed++; skewed <= 10 {
					t.Errorf("%s %s: training set %v (%T), served %v (%T)", entities[i], features[j], want, want, got, got)
				}
			}
		}
	}
	if skewed > 0 {
		t.Errorf("%d of %d values differ between serving and the training set", skewed, compared)
	}
	return compared
}

// sameValue compares a training-set value with a served one, both decoded
// from JSON. Floats may be printed differently by the engine and by the
// server, so they compare to 1e-12 relative.
func sameValue(a, b any) bool {
	fa, okA := a.(float64)
	fb, okB := b.(float64)
	if okA && okB {
		return fa == fb || math.Abs(fa-fb) <= 1e-12*math.Max(math.Abs(fa), math.Abs(fb))
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// TestDemoServesWhatTrainingSetsSee runs the quickstart (whose data ends
// today, with rolling-window rows dated up to 30 days ahead), materializes,
// and checks every subscriber's every feature against a training set with
// one label row per subscriber at that time. It also checks the values the
// quickstart prints against the counts the generator wrote.
func TestDemoServesWhatTrainingSetsSee(t *testing.T) {
	dir := t.TempDir()
	r := mustRun(t, dir, "quickstart", "--scale", "0.2", "--seed", "7")
	counts := regexp.MustCompile(`has (\d+) open and (\d+) click events for (sub_\d+)`).FindStringSubmatch(r.stdout)
	if counts == nil {
		t.Fatalf("quickstart does not print the sample's counts:\n%s", r.stdout)
	}
	for feature, want := range map[string]string{"opens_30d:v1": counts[1], "clicks_30d:default": counts[2]} {
		_, read, _ := strings.Cut(r.stdout, "[7/7]")
		m := regexp.MustCompile(regexp.QuoteMeta(feature) + `\s+(\S+)\s+(\S+)`).FindStringSubmatch(read)
		if m == nil || m[1] != want || m[2] != "found" {
			t.Errorf("quickstart serves %s = %v, the data has %s (output:\n%s)", feature, m, want, r.stdout)
		}
	}
	if counts[1] == "0" {
		t.Errorf("the quickstart's subscriber has no recent opens:\n%s", r.stdout)
	}

	mustRun(t, dir, "materialize")
	asOf := time.Now()
	// One label row per subscriber at the materialization time.
	subs, err := os.ReadFile(filepath.Join(dir, "data", "subscribers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var labels strings.Builder
	labels.WriteString("subscriber_id,at,y\n")
	for _, line := range strings.Split(strings.TrimSpace(string(subs)), "\n")[1:] {
		fmt.Fprintf(&labels, "%s,%s,0\n", strings.SplitN(line, ",", 2)[0], asOf.UTC().Format("2006-01-02T15:04:05.000000"))
	}
	must(t, os.WriteFile(filepath.Join(dir, "now_labels.csv"), []byte(labels.String()), 0o644))
	features, columns := demoFeatures()
	must(t, os.WriteFile(filepath.Join(dir, "definitions", "now.yaml"), []byte(demoNowDefs("file: ../now_labels.csv", features)), 0o644))
	mustRun(t, dir, "apply", "definitions")
	base, _ := startServe(t, dir)
	n := checkNoSkew(t, dir, base, "served_now", "subscriber", features, columns)
	if n < 1000 {
		t.Errorf("compared only %d values", n)
	}
}

// demoFeatures are the demo's subscriber features and their training-set columns.
func demoFeatures() (features, columns []string) {
	features = []string{"opens_30d:v1", "clicks_30d:default", "orders_count:default", "avg_order_value:default",
		"is_unsubscribed:default", "subscriber_region:default", "signup_channel:default", "shop_category:default"}
	for _, f := range features {
		columns = append(columns, strings.SplitN(f, ":", 2)[0])
	}
	return features, columns
}

// demoNowDefs defines, beside the demo project, a label source of one row
// per subscriber at the materialization time (given as a YAML source body)
// and a training set of the demo's features on it.
func demoNowDefs(labels string, features []string) string {
	return `sources:
  - name: now_labels
    ` + labels + `
    timestamp_column: at
labels:
  - name: at_materialization
    entity: subscriber
    source: now_labels
    entity_column: subscriber_id
    value_column: y
    timestamp_column: at
    type: int64
training_sets:
  - name: served_now
    label: at_materialization
    features: [` + strings.Join(features, ", ") + `]
`
}

// TestDemoServesWhatTrainingSetsSeeOnPostgresAndRedis runs the demo project
// on PostgreSQL (registry, offline store, and the generated data loaded
// into tables) and Redis, with the transformations in PostgreSQL's dialect
// (testdata/demo_postgres), and compares every served value with a training
// set at the materialization time.
func TestDemoServesWhatTrainingSetsSeeOnPostgresAndRedis(t *testing.T) {
	env := newPostgresRedis(t, "demo")
	ctx, conn, data := context.Background(), env.conn, env.data
	days := demo.DefaultDays
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -days)
	dir := loadDemoOnPostgres(t, env, demo.Options{Scale: 0.2, Seed: 7, Start: start, Days: days},
		map[string]string{"now_labels": "subscriber_id text, at timestamp, y bigint"})
	features, columns := demoFeatures()
	must(t, os.WriteFile(filepath.Join(dir, "defs", "now.yaml"), []byte(demoNowDefs("table: "+data+".now_labels", features)), 0o644))
	mustRun(t, dir, "apply", "defs")
	mustRun(t, dir, "materialize")
	asOf := time.Now().UTC()
	if _, err := conn.Exec(ctx, "INSERT INTO "+data+".now_labels SELECT subscriber_id, $1, 0 FROM "+data+".subscribers", asOf); err != nil {
		t.Fatal(err)
	}
	base, _ := startServe(t, dir)
	if n := checkNoSkew(t, dir, base, "served_now", "subscriber", features, columns); n < 1000 {
		t.Errorf("compared only %d values", n)
	}
}

// loadDemoOnPostgres generates the demo data, loads it into tables of the
// test's data schema (and creates the empty tables given, name → columns),
// and writes in dir/defs the demo's definitions with sources over those
// tables and transformations in PostgreSQL's dialect
// (testdata/demo_postgres), and the configuration; nothing is applied.
func loadDemoOnPostgres(t *testing.T, env *postgresRedis, opts demo.Options, empty map[string]string) string {
	t.Helper()
	ctx, conn, data := context.Background(), env.conn, env.data
	dir := t.TempDir()
	if _, err := demo.Generate(ctx, filepath.Join(dir, "data"), opts); err != nil {
		t.Fatal(err)
	}
	tables := map[string]string{
		"shops":        "shop_id text, name text, category text, country text, plan text, created_at timestamp",
		"subscribers":  "subscriber_id text, shop_id text, region text, signup_channel text, signed_up_at timestamp",
		"campaigns":    "campaign_id text, shop_id text, name text, kind text, sent_at timestamp, recipients bigint",
		"email_events": "subscriber_id text, shop_id text, campaign_id text, event_type text, event_time timestamp",
		"orders":       "order_id text, subscriber_id text, shop_id text, campaign_id text, ordered_at timestamp, amount double precision",
	}
	for name, cols := range empty {
		if _, err := conn.Exec(ctx, "CREATE TABLE "+data+"."+name+" ("+cols+")"); err != nil {
			t.Fatal(err)
		}
	}
	for name, cols := range tables {
		if _, err := conn.Exec(ctx, "CREATE TABLE "+data+"."+name+" ("+cols+")"); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(dir, "data", name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = conn.PgConn().CopyFrom(ctx, f, "COPY "+data+"."+name+" FROM STDIN (FORMAT csv, HEADER true)")
		f.Close()
		if err != nil {
			t.Fatalf("loading %s: %v", name, err)
		}
	}
	defs := filepath.Join(dir, "defs")
	must(t, os.MkdirAll(defs, 0o755))
	for _, name := range []string{"entities.yaml", "features.yaml", "training.yaml", "models.yaml"} {
		b, err := fs.ReadFile(demo.Project(), name)
		if err != nil {
			t.Fatal(err)
		}
		must(t, os.WriteFile(filepath.Join(defs, name), b, 0o644))
	}
	b, err := os.ReadFile(filepath.Join("testdata", "demo_postgres", "transformations.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(defs, "transformations.yaml"), b, 0o644))
	var sources strings.Builder
	sources.WriteString("sources:\n")
	for _, src := range [][2]string{{"shops", ""}, {"subscribers", "signed_up_at"}, {"campaigns", "sent_at"}, {"email_events", "event_time"}, {"orders", "ordered_at"}} {
		fmt.Fprintf(&sources, "  - name: %s\n    table: %s.%s\n", src[0], data, src[0])
		if src[1] != "" {
			fmt.Fprintf(&sources, "    timestamp_column: %s\n", src[1])
		}
	}
	must(t, os.WriteFile(filepath.Join(defs, "sources.yaml"), []byte(sources.String()), 0o644))
	env.writeConfig(t, dir)
	return dir
}

// postgresRedis is a test's own PostgreSQL schemas (data, registry,
// offline store) and Redis key prefix, dropped when the test ends.
type postgresRedis struct {
	conn                    *pgx.Conn
	dsn, redis              string
	data, registry, offline string
	prefix                  string
}

// newPostgresRedis connects to the test PostgreSQL and Redis, creates the
// data schema, and sets E2E_DSN for writeConfig's slipway.yaml.
func newPostgresRedis(t *testing.T, name string) *postgresRedis {
	t.Helper()
	suffix := fmt.Sprintf("%d", rand.Uint32())
	e := &postgresRedis{dsn: testenv.Postgres(t), redis: testenv.Redis(t),
		data: name + "_data_" + suffix, registry: name + "_registry_" + suffix, offline: name + "_offline_" + suffix,
		prefix: "slipway_" + name + "_" + suffix + ":"}
	conn, err := pgx.Connect(context.Background(), e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	e.conn = conn
	rdb := redis.NewClient(&redis.Options{Addr: e.redis})
	t.Cleanup(func() {
		bg := context.Background()
		keys, _ := rdb.Keys(bg, e.prefix+"*").Result()
		for _, k := range keys {
			rdb.Del(bg, k)
		}
		rdb.Close()
		for _, s := range []string{e.data, e.registry, e.offline} {
			conn.Exec(bg, "DROP SCHEMA IF EXISTS "+s+" CASCADE")
		}
		conn.Close(bg)
	})
	if _, err := conn.Exec(context.Background(), "CREATE SCHEMA "+e.data); err != nil {
		t.Fatal(err)
	}
	t.Setenv("E2E_DSN", e.dsn)
	return e
}

// writeConfig writes dir/slipway.yaml for the registry and offline store
// in their schemas and the online store under the key prefix.
func (e *postgresRedis) writeConfig(t *testing.T, dir string) {
	writeProductionConfig(t, dir, e.registry, e.offline, []string{e.redis}, e.prefix)
}

// readingRows are the rows of the readings source, relative to now: past
// rows, rows dated in the future, ties, and values past the max age.
func readingRows(now time.Time) [][3]string {
	at := func(d time.Duration) string { return now.Add(d).UTC().Format("2006-01-02 15:04:05.000000") }
	day := 24 * time.Hour
	return [][3]string{
		{"m1", at(-2 * day), "5"},
		{"m1", at(-time.Hour), "7"},
		{"m1", at(5 * day), "100"}, // future: not served before its time
		{"m2", at(2 * day), "50"},  // only a future row: not found
		{"m3", at(-40 * day), "3"}, // outside the max age of reading_30d
		{"m4", at(-10 * day), "1"},
		{"m4", at(-10 * day), "9"}, // tie: the greatest wins
		{"m5", at(time.Hour), "8"},
		{"m5", at(-3 * time.Hour), "6"},
		{"m5", at(-3 * time.Hour), ""}, // a null in a tie does not win
	}
}

// readingDefs defines two features on the readings source (with and
// without a max age) and a training set over a label source, both given
// as YAML source bodies (file: or table: lines).
func readingDefs(readings, labels string) string {
	return `entities:
  - name: meter
sources:
  - name: readings
    ` + readings + `
    timestamp_column: at
  - name: now_labels
    ` + labels + `
    timestamp_column: at
features:
  - name: reading_30d
    entity: meter
    source: readings
    entity_column: meter_id
    value_column: level
    timestamp_column: at
    type: int64
    max_age: 30d
  - name: reading
    entity: meter
    source: readings
    entity_column: meter_id
    value_column: level
    timestamp_column: at
    type: int64
labels:
  - name: at_materialization
    entity: meter
    source: now_labels
    entity_column: meter_id
    value_column: y
    timestamp_column: at
    type: int64
training_sets:
  - name: served_now
    label: at_materialization
    features: [reading_30d, reading]
`
}

var meters = []string{"m1", "m2", "m3", "m4", "m5", "m6"}

// TestFutureRowsServedAsOfNow: a source with past and future rows on the
// embedded stores. Online values equal the training set at the
// materialization time, and the future rows are not served (that they are
// written once their time comes is coordinator.TestMaterializeAsOfNow).
func TestFutureRowsServedAsOfNow(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	var b strings.Builder
	b.WriteString("meter_id,at,level\n")
	for _, r := range readingRows(now) {
		fmt.Fprintf(&b, "%s,%s,%s\n", r[0], r[1], r[2])
	}
	must(t, os.WriteFile(filepath.Join(dir, "readings.csv"), []byte(b.String()), 0o644))
	writeLabels := func(at time.Time) {
		var l strings.Builder
		l.WriteString("meter_id,at,y\n")
		for _, m := range meters {
			fmt.Fprintf(&l, "%s,%s,0\n", m, at.UTC().Format("2006-01-02 15:04:05.000000"))
		}
		must(t, os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(l.String()), 0o644))
	}
	writeLabels(now)
	must(t, os.MkdirAll(filepath.Join(dir, "defs"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "defs", "meters.yaml"), []byte(readingDefs("file: ../readings.csv", "file: ../labels.csv")), 0o644))
	mustRun(t, dir, "apply", "defs")
	mustRun(t, dir, "materialize")
	writeLabels(time.Now())
	checkReadingsServed(t, dir)
}

// TestFutureRowsServedAsOfNowOnPostgresAndRedis is the same on PostgreSQL
// (registry and offline store) and Redis.
func TestFutureRowsServedAsOfNowOnPostgresAndRedis(t *testing.T) {
	env := newPostgresRedis(t, "skew")
	ctx, conn, data := context.Background(), env.conn, env.data
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE TABLE " + data + ".readings (meter_id text, at timestamp, level bigint)")
	exec("CREATE TABLE " + data + ".labels (meter_id text, at timestamp, y bigint)")
	now := time.Now()
	for _, r := range readingRows(now) {
		var level any
		if r[2] != "" {
			level = r[2]
		}
		exec("INSERT INTO "+data+".readings VALUES ($1, $2, $3)", r[0], r[1], level)
	}
	dir := t.TempDir()
	env.writeConfig(t, dir)
	must(t, os.MkdirAll(filepath.Join(dir, "defs"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "defs", "meters.yaml"), []byte(readingDefs("table: "+data+".readings", "table: "+data+".labels")), 0o644))
	mustRun(t, dir, "apply", "defs")
	mustRun(t, dir, "materialize")
	asOf := time.Now()
	for _, m := range meters {
		exec("INSERT INTO "+data+".labels VALUES ($1, $2, 0)", m, asOf.UTC())
	}
	checkReadingsServed(t, dir)
}

// checkReadingsServed starts serve in dir and compares the readings'
// features with the training set at the materialization time, and the
// values of the entities with future rows with what the rows say.
func checkReadingsServed(t *testing.T, dir string) {
	t.Helper()
	features, columns := []string{"reading_30d:default", "reading:default"}, []string{"reading_30d", "reading"}
	base, _ := startServe(t, dir)
	checkNoSkew(t, dir, base, "served_now", "meter", features, columns)
	got := servedValues(t, base, features, []string{"m1", "m2", "m3"})
	for m, want := range map[string][]any{"m1": {7.0, 7.0}, "m2": {nil, nil}, "m3": {nil, 3.0}} {
		if fmt.Sprint(got[m]) != fmt.Sprint(want) {
			t.Errorf("%s served %v, want %v", m, got[m], want)
		}
	}
}
