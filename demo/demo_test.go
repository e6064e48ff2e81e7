package demo

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// small keeps tests fast: about 300 subscribers over 30 days.
var small = Options{Scale: 0.05, Seed: 7, Days: 30}

func generate(t *testing.T, opts Options) (string, *Summary) {
	t.Helper()
	dir := t.TempDir()
	sum, err := Generate(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return dir, sum
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, _ := generate(t, small)
	b, _ := generate(t, small)
	other := small
	other.Seed++
	c, _ := generate(t, other)
	for _, name := range Files {
		fa, fb, fc := read(t, a, name), read(t, b, name), read(t, c, name)
		if !bytes.Equal(fa, fb) {
			t.Errorf("%s differs between two runs with the same options", name)
		}
		if name != ShopsFile && bytes.Equal(fa, fc) {
			t.Errorf("%s is the same for seeds %d and %d", name, small.Seed, other.Seed)
		}
	}
}

func TestGenerateRowCountsFollowScale(t *testing.T) {
	opts := Options{Scale: 0.5, Seed: 3, Days: 30}
	_, one := generate(t, opts)
	opts.Scale = 1.5
	_, three := generate(t, opts)
	for _, name := range Files {
		n1, n3 := one.Rows(name), three.Rows(name)
		if n1 == 0 {
			t.Fatalf("%s has no rows at scale 0.5", name)
		}
		if ratio := float64(n3) / float64(n1); ratio < 2.4 || ratio > 3.6 {
			t.Errorf("%s: %d rows at scale 0.5, %d at scale 1.5: ratio %.2f, want about 3", name, n1, n3, ratio)
		}
	}
	if got := three.Rows(SubscribersFile); got != 9000 {
		t.Errorf("subscribers at scale 1.5: got %d, want exactly 9000", got)
	}
}

// TestGenerateDefaultSize pins the order of magnitude the benchmarks and docs rely on.
func TestGenerateDefaultSize(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the full default data set")
	}
	dir, sum := generate(t, Options{Seed: 1})
	if n := sum.Rows(EmailEventsFile); n < 100_000 || n > 300_000 {
		t.Errorf("email events at scale 1: got %d, want 100k to 300k", n)
	}
	if !sum.Start.Equal(DefaultStart) || !sum.End.Equal(DefaultStart.AddDate(0, 0, DefaultDays)) {
		t.Errorf("default range: got %v to %v", sum.Start, sum.End)
	}
	checkFiles(t, dir, sum)
}

var timeColumns = map[string]string{
	ShopsFile:       "created_at",
	SubscribersFile: "signed_up_at",
	CampaignsFile:   "sent_at",
	EmailEventsFile: "event_time",
	OrdersFile:      "ordered_at",
}

func TestGenerateFilesAreWellFormed(t *testing.T) {
	dir, sum := generate(t, small)
	checkFiles(t, dir, sum)
	leftovers, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

// checkFiles parses every file as CSV: header, field counts, row counts,
// timestamps in TimeLayout, and event times inside the summary's range.
func checkFiles(t *testing.T, dir string, sum *Summary) {
	t.Helper()
	if len(sum.Files) != len(Files) {
		t.Fatalf("summary lists %d files, want %d", len(sum.Files), len(Files))
	}
	for _, f := range sum.Files {
		records := readCSV(t, dir, f.Name)
		header := records[0]
		ts := slices.Index(header, timeColumns[f.Name])
		if ts < 0 {
			t.Errorf("%s: header %v lacks %s", f.Name, header, timeColumns[f.Name])
			continue
		}
		if got := int64(len(records) - 1); got != f.Rows {
			t.Errorf("%s: %d data rows, summary says %d", f.Name, got, f.Rows)
		}
		info, err := os.Stat(filepath.Join(dir, f.Name))
		if err != nil || info.Size() != f.Bytes {
			t.Errorf("%s: size %v (%v), summary says %d", f.Name, info.Size(), err, f.Bytes)
		}
		for i, rec := range records[1:] {
			at, err := time.Parse(TimeLayout, rec[ts])
			if err != nil {
				t.Fatalf("%s row %d: %v", f.Name, i+1, err)
			}
			if f.Name != ShopsFile && f.Name != SubscribersFile && (at.Before(sum.Start) || !at.Before(sum.End)) {
				t.Fatalf("%s row %d: %s outside %v to %v", f.Name, i+1, rec[ts], sum.Start, sum.End)
			}
		}
	}
}

// TestGenerateCarriesSignal checks the behaviour the demo label relies on:
// subscribers who click order more often than those who never click.
func TestGenerateCarriesSignal(t *testing.T) {
	dir, _ := generate(t, Options{Scale: 0.2, Seed: 11, Days: 60})
	clickers := map[string]bool{}
	received := map[string]bool{}
	for _, rec := range readCSV(t, dir, EmailEventsFile)[1:] {
		received[rec[0]] = true
		if rec[3] == "click" {
			clickers[rec[0]] = true
		}
	}
	buyers := map[string]bool{}
	for _, rec := range readCSV(t, dir, OrdersFile)[1:] {
		buyers[rec[1]] = true
	}
	var clicked, clickedBought, other, otherBought float64
	for sub := range received {
		if clickers[sub] {
			clicked++
			if buyers[sub] {
				clickedBought++
			}
		} else {
			other++
			if buyers[sub] {
				otherBought++
			}
		}
	}
	pc, po := clickedBought/clicked, otherBought/other
	t.Logf("share of subscribers who ordered: %.3f of %v clickers, %.3f of %v others", pc, clicked, po, other)
	if pc < 1.5*po {
		t.Errorf("clickers order at %.3f, others at %.3f: want clickers clearly more likely", pc, po)
	}
}

func TestGenerateStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	if _, err := Generate(ctx, dir, small); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("canceled Generate left %d files", len(entries))
	}
}

func TestGenerateRejectsBadOptions(t *testing.T) {
	for _, opts := range []Options{{Scale: -1}, {Days: -3}} {
		if _, err := Generate(context.Background(), t.TempDir(), opts); err == nil {
			t.Errorf("Generate(%+v) succeeded, want an error", opts)
		}
	}
}

func TestGenerateHonoursStart(t *testing.T) {
	start := time.Date(2025, time.November, 1, 13, 0, 0, 0, time.UTC)
	dir, sum := generate(t, Options{Scale: 0.02, Seed: 5, Start: start, Days: 60})
	if want := time.Date(2025, time.November, 1, 0, 0, 0, 0, time.UTC); !sum.Start.Equal(want) {
		t.Errorf("start: got %v, want %v", sum.Start, want)
	}
	checkFiles(t, dir, sum)
	var holiday bool
	for _, rec := range readCSV(t, dir, CampaignsFile)[1:] {
		holiday = holiday || rec[3] == "holiday"
	}
	if !holiday {
		t.Errorf("no holiday campaign between November and Christmas")
	}
}

// definitionDoc is one YAML document of a definition file, loosely typed.
type definitionDoc map[string][]map[string]any

func projectDocs(t *testing.T) map[string][]definitionDoc {
	t.Helper()
	docs := map[string][]definitionDoc{}
	err := fs.WalkDir(Project(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".yaml" {
			return err
		}
		b, err := fs.ReadFile(Project(), p)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc definitionDoc
			if err := dec.Decode(&doc); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return fmt.Errorf("%s: %w", p, err)
			}
			docs[p] = append(docs[p], doc)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("no YAML files embedded")
	}
	return docs
}

func TestWriteProjectKeepsEditedFiles(t *testing.T) {
	dir := t.TempDir()
	if kept, err := WriteProject(dir); err != nil || len(kept) != 0 {
		t.Fatalf("first write: kept %v, err %v", kept, err)
	}
	edited := filepath.Join(dir, "definitions", "features.yaml")
	if err := os.WriteFile(edited, []byte("features: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	kept, err := WriteProject(dir)
	if err != nil || len(kept) != 1 || kept[0] != edited {
		t.Fatalf("second write: kept %v, err %v; want only %s", kept, err, edited)
	}
	if b, _ := os.ReadFile(edited); string(b) != "features: []\n" {
		t.Errorf("edited file overwritten: %q", b)
	}
}

func TestWriteProject(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteProject(dir); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if _, err := Generate(context.Background(), data, small); err != nil {
		t.Fatal(err)
	}
	defs := filepath.Join(dir, "definitions")
	var embedded int
	err := fs.WalkDir(Project(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		embedded++
		want, _ := fs.ReadFile(Project(), p)
		got, err := os.ReadFile(filepath.Join(defs, filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s not written as embedded (%v)", p, err)
		}
		return nil
	})
	if err != nil || embedded < 5 {
		t.Fatalf("walked %d embedded files: %v", embedded, err)
	}

	sourced := map[string]bool{}
	for file, docs := range projectDocs(t) {
		yamlDir := filepath.Join(defs, filepath.Dir(filepath.FromSlash(file)))
		for _, doc := range docs {
			for _, src := range doc["sources"] {
				rel, _ := src["file"].(string)
				p := filepath.Clean(filepath.Join(yamlDir, filepath.FromSlash(rel)))
				if filepath.Dir(p) != data || !slices.Contains(Files, filepath.Base(p)) {
					t.Errorf("%s: source %v reads %s, not a file Generate writes into %s", file, src["name"], rel, data)
				}
				if _, err := os.Stat(p); err != nil {
					t.Errorf("%s: source %v: %v", file, src["name"], err)
				}
				if ts, ok := src["timestamp_column"].(string); ok && ts != timeColumns[filepath.Base(p)] {
					t.Errorf("%s: source %v: timestamp_column %s, want %s", file, src["name"], ts, timeColumns[filepath.Base(p)])
				}
				sourced[filepath.Base(p)] = true
			}
			for _, tr := range doc["transformations"] {
				if f, ok := tr["sql_file"].(string); ok {
					if _, err := os.Stat(filepath.Join(yamlDir, filepath.FromSlash(f))); err != nil {
						t.Errorf("%s: transformation %v: %v", file, tr["name"], err)
					}
				}
			}
		}
	}
	for _, name := range Files {
		if !sourced[name] {
			t.Errorf("no source reads %s", name)
		}
	}
}

var refPattern = regexp.MustCompile(`\{\{\s*([^}\s]+)\s*\}\}`)

// TestProjectIsConsistent checks what the definition package would reject
// and what the demo promises: documented resources, known references, at
// least one transformation built on another.
func TestProjectIsConsistent(t *testing.T) {
	declared := map[string]map[string]bool{}
	add := func(kind, name, variant string) {
		if declared[kind] == nil {
			declared[kind] = map[string]bool{}
		}
		if variant == "" {
			variant = "default"
		}
		declared[kind][name+":"+variant] = true
	}
	all := projectDocs(t)
	type item struct {
		file, kind string
		m          map[string]any
	}
	var items []item
	for file, docs := range all {
		for _, doc := range docs {
			for kind, list := range doc {
				for _, m := range list {
					name, _ := m["name"].(string)
					variant, _ := m["variant"].(string)
					ns := kind
					if kind == "sources" {
						ns = "transformations" // sources and transformations share one namespace
					}
					if declared[ns][name+":"+cmpOr(variant, "default")] {
						t.Errorf("%s: %s %s:%s declared twice", file, kind, name, variant)
					}
					add(ns, name, variant)
					items = append(items, item{file, kind, m})
					for _, field := range []string{"description", "owner", "tags"} {
						if m[field] == nil {
							t.Errorf("%s: %s %s has no %s", file, kind, name, field)
						}
					}
				}
			}
		}
	}
	resolve := func(kind, ref string) bool {
		if !strings.Contains(ref, ":") {
			ref += ":default"
		}
		return declared[kind][ref]
	}
	var chained bool
	for _, it := range items {
		name := it.m["name"]
		switch it.kind {
		case "transformations":
			sql, _ := it.m["sql"].(string)
			if f, ok := it.m["sql_file"].(string); ok {
				b, err := fs.ReadFile(Project(), path.Join(path.Dir(it.file), f))
				if err != nil {
					t.Fatal(err)
				}
				sql = string(b)
			}
			refs := refPattern.FindAllStringSubmatch(sql, -1)
			if len(refs) == 0 {
				t.Errorf("transformation %v refers to nothing", name)
			}
			for _, r := range refs {
				if !resolve("transformations", r[1]) {
					t.Errorf("transformation %v: unknown reference %s", name, r[1])
				}
				for _, other := range items {
					chained = chained || (other.kind == "transformations" && other.m["name"] == r[1])
				}
			}
		case "features", "labels":
			if !resolve("entities", it.m["entity"].(string)) {
				t.Errorf("%s %v: unknown entity %v", it.kind, name, it.m["entity"])
			}
			if !resolve("transformations", it.m["source"].(string)) {
				t.Errorf("%s %v: unknown source %v", it.kind, name, it.m["source"])
			}
		case "models":
			if !resolve("training_sets", it.m["training_set"].(string)) {
				t.Errorf("model %v: unknown training set %v", name, it.m["training_set"])
			}
		case "training_sets":
			if !resolve("labels", it.m["label"].(string)) {
				t.Errorf("training set %v: unknown label %v", name, it.m["label"])
			}
			for _, f := range it.m["features"].([]any) {
				if !resolve("features", f.(string)) {
					t.Errorf("training set %v: unknown feature %v", name, f)
				}
			}
		}
	}
	if !chained {
		t.Error("no transformation reads another transformation")
	}
	if n := len(declared["features"]); n < 5 {
		t.Errorf("%d features, want at least 5", n)
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestSchemaCoversProject is a cheap consistency check between
// docs/definitions.schema.json and the example definitions, without a JSON
// Schema validator: every key the project uses is a property of the schema,
// required fields are present and names match the schema's patterns.
func TestSchemaCoversProject(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "definitions.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	type object struct {
		Ref        string             `json:"$ref"`
		Properties map[string]*object `json:"properties"`
		Required   []string           `json:"required"`
		Items      *object            `json:"items"`
		Pattern    string             `json:"pattern"`
		Enum       []string           `json:"enum"`
	}
	var schema struct {
		object
		Defs map[string]*object `json:"$defs"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("schema is not valid JSON: %v", err)
	}
	deref := func(o *object) *object {
		for o != nil && o.Ref != "" {
			o = schema.Defs[strings.TrimPrefix(o.Ref, "#/$defs/")]
		}
		return o
	}
	for file, docs := range projectDocs(t) {
		for _, doc := range docs {
			for kind, list := range doc {
				top := schema.Properties[kind]
				if top == nil {
					t.Errorf("%s: top-level key %s is not in the schema", file, kind)
					continue
				}
				def := deref(top.Items)
				if def == nil {
					t.Fatalf("schema: %s has no item definition", kind)
				}
				for _, m := range list {
					for _, req := range def.Required {
						if _, ok := m[req]; !ok {
							t.Errorf("%s: %s %v lacks required %s", file, kind, m["name"], req)
						}
					}
					for key, v := range m {
						prop := deref(def.Properties[key])
						if prop == nil {
							t.Errorf("%s: %s %v: field %s is not in the schema", file, kind, m["name"], key)
							continue
						}
						if s, ok := v.(string); ok {
							if prop.Pattern != "" && !regexp.MustCompile(prop.Pattern).MatchString(s) {
								t.Errorf("%s: %s %v: %s %q does not match %s", file, kind, m["name"], key, s, prop.Pattern)
							}
							if prop.Enum != nil && !slices.Contains(prop.Enum, s) {
								t.Errorf("%s: %s %v: %s %q not in %v", file, kind, m["name"], key, s, prop.Enum)
							}
						}
					}
				}
			}
		}
	}
	for _, kind := range []string{"entities", "sources", "transformations", "features", "labels", "training_sets"} {
		if schema.Properties[kind] == nil {
			t.Errorf("schema lacks top-level %s", kind)
		}
	}
}

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readCSV(t *testing.T, dir, name string) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(read(t, dir, name)))
	records, err := r.ReadAll() // checks every row has the header's field count
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(records) == 0 {
		t.Fatalf("%s is empty", name)
	}
	return records
}

func ExampleGenerate() {
	dir, err := os.MkdirTemp("", "slipway-demo")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	sum, err := Generate(context.Background(), dir, Options{Scale: 0.01, Seed: 42, Days: 30})
	if err != nil {
		panic(err)
	}
	for _, f := range sum.Files {
		fmt.Println(f.Name, f.Rows > 0)
	}
	fmt.Println(sum.Start.Format(time.DateOnly), sum.End.Format(time.DateOnly))
	// Output:
	// shops.csv true
	// subscribers.csv true
	// campaigns.csv true
	// email_events.csv true
	// orders.csv true
	// 2026-01-01 2026-01-31
}

// TestSampleIsTheMostActiveRecentSubscriber recounts the last 30 days of
// email_events.csv: the sample is the subscriber with the most opens (the
// lowest id among equals), with that many opens and its clicks, and it has
// some, so the quickstart shows recent activity.
func TestSampleIsTheMostActiveRecentSubscriber(t *testing.T) {
	dir, sum := generate(t, small)
	f, err := os.Open(filepath.Join(dir, EmailEventsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	from := sum.End.AddDate(0, 0, -SampleWindowDays)
	opens, clicks := map[string]int64{}, map[string]int64{}
	for _, r := range rows[1:] { // subscriber_id, shop_id, campaign_id, event_type, event_time
		at, err := time.Parse(TimeLayout, r[4])
		if err != nil {
			t.Fatal(err)
		}
		if at.Before(from) || !at.Before(sum.End) {
			continue
		}
		switch r[3] {
		case "open":
			opens[r[0]]++
		case "click":
			clicks[r[0]]++
		}
	}
	var best string
	id := func(s string) int { var n int; fmt.Sscanf(s, "sub_%d", &n); return n }
	for s, n := range opens {
		if best == "" || n > opens[best] || n == opens[best] && id(s) < id(best) {
			best = s
		}
	}
	want := Sample{Subscriber: best, Opens: opens[best], Clicks: clicks[best]}
	if sum.Sample != want || want.Opens == 0 {
		t.Errorf("sample %+v, want %+v (with opens)", sum.Sample, want)
	}
}
