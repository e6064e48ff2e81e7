package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/model"
)

// modelsProject runs the quickstart, which trains purchase_model version 1
// (production) with the built-in logistic regression.
func modelsProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	r := mustRun(t, dir, "quickstart", "--scale", "0.2", "--seed", "7")
	if !strings.Contains(r.stdout, "done in") || !strings.Contains(r.stdout, "training model purchase_model") {
		t.Fatalf("quickstart output:\n%s", r.stdout)
	}
	return dir
}

// decodeStrictJSON decodes a command's --json output strictly into v.
func decodeStrictJSON(t *testing.T, r result, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %s: %v", r.stdout, err)
	}
}

type mcTrain struct {
	Jobs   []json.RawMessage `json:"jobs"`
	Result *struct {
		Model    string             `json:"model"`
		Version  int                `json:"version"`
		Metrics  map[string]float64 `json:"metrics"`
		Alias    string             `json:"alias"`
		Promoted bool               `json:"promoted"`
		Reason   string             `json:"reason"`
	} `json:"result"`
}

type mcVersion struct {
	Model        string             `json:"model"`
	Version      int                `json:"version"`
	Format       string             `json:"format"`
	SHA256       string             `json:"sha256"`
	Size         int64              `json:"size"`
	TrainingSet  string             `json:"training_set"`
	TrainingRows int64              `json:"training_rows"`
	LabelStart   string             `json:"label_start"`
	LabelEnd     string             `json:"label_end"`
	Metrics      map[string]float64 `json:"metrics"`
	Encoding     json.RawMessage    `json:"encoding"`
	Trainer      string             `json:"trainer"`
	CreatedBy    string             `json:"created_by"`
	CreatedAt    string             `json:"created_at"`
}

type mcAlias struct {
	Model     string `json:"model"`
	Alias     string `json:"alias"`
	Version   int    `json:"version"`
	UpdatedBy string `json:"updated_by"`
	UpdatedAt string `json:"updated_at"`
	History   []struct {
		From int    `json:"from"`
		To   int    `json:"to"`
		By   string `json:"by"`
		At   string `json:"at"`
	} `json:"history"`
}

type mcDetail struct {
	Model       string            `json:"model"`
	Definitions []json.RawMessage `json:"definitions"`
	Versions    []mcVersion       `json:"versions"`
	Aliases     []mcAlias         `json:"aliases"`
}

// moves writes an alias's history as "FROM>TO BY, ...".
func moves(a mcAlias) string {
	var out []string
	for _, m := range a.History {
		out = append(out, strconv.Itoa(m.From)+">"+strconv.Itoa(m.To)+" "+m.By)
	}
	return strings.Join(out, ", ")
}

// linearOver writes a logistic slipway-linear model over the columns of an
// encoded export's schema file: a model "trained in a notebook" on it.
func linearOver(t *testing.T, schemaFile, out string) {
	t.Helper()
	b, err := os.ReadFile(schemaFile)
	must(t, err)
	s, err := model.ParseSchema(b)
	must(t, err)
	cols := s.Encoding.Columns()
	coef, means := make([]float64, len(cols)), make([]float64, len(cols))
	for i := range cols {
		coef[i] = 0.05 * float64(i%3-1)
	}
	m, err := model.NewLinear(model.TaskBinaryClassification, -1.5, coef, means, cols, nil)
	must(t, err)
	j, err := json.Marshal(m)
	must(t, err)
	must(t, os.WriteFile(out, j, 0o644))
}

// predictions reads a scored CSV file: the "prediction" of each row by its
// entity and timestamp (sorted, as keys may repeat).
func predictions(t *testing.T, path string) map[string][]float64 {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	must(t, err)
	header := recs[0]
	col := func(name string) int {
		i := slices.Index(header, name)
		if i < 0 {
			t.Fatalf("%s has no column %s: %v", path, name, header)
		}
		return i
	}
	ent, ts, pred := col("subscriber"), col("timestamp"), col("prediction")
	out := map[string][]float64{}
	for _, r := range recs[1:] {
		p, err := strconv.ParseFloat(r[pred], 64)
		if err != nil || p < 0 || p > 1 {
			t.Fatalf("%s: prediction %q is not a probability", path, r[pred])
		}
		k := r[ent] + "@" + r[ts]
		out[k] = append(out[k], p)
	}
	for _, ps := range out {
		slices.Sort(ps)
	}
	return out
}

// TestModelCommands trains, registers, promotes, rolls back and scores on
// the stores directly, then does the same through a running server, whose
// answers must print the same.
func TestModelCommands(t *testing.T) {
	dir := modelsProject(t)
	work := t.TempDir()
	path := func(name string) string { return filepath.Join(work, name) }

	// Train again: the same data gives the same model, not better, so
	// production stays at version 1.
	var tr mcTrain
	decodeStrictJSON(t, mustRun(t, dir, "train", "purchase_model", "--by", "ana", "--json"), &tr)
	if tr.Result == nil || tr.Result.Version != 2 || tr.Result.Promoted || tr.Result.Alias != "production" || !strings.Contains(tr.Result.Reason, "not better") || tr.Result.Metrics["auc"] <= 0.5 {
		t.Fatalf("train --json: %+v", tr.Result)
	}
	if r := mustRun(t, dir, "train", "spend_model"); !strings.Contains(r.stdout, "trained spend_model version 1") || !strings.Contains(r.stdout, "promoted to production") || !strings.Contains(r.stdout, "rmse") {
		t.Errorf("train spend_model:\n%s", r.stdout)
	}

	// An encoded export: the matrix and its schema file.
	r := mustRun(t, dir, "training-set", "export", "purchase_propensity", "--encoded", "--out", path("enc.csv"))
	if !strings.Contains(r.stderr, "and its schema to "+path("enc.schema.json")) {
		t.Errorf("export --encoded:\n%s", r.stderr)
	}
	mustRun(t, dir, "training-set", "export", "purchase_propensity", "--format", "csv", "--out", path("raw.csv"))

	// Register a model trained on it, with its schema: version 3, no alias moved.
	linearOver(t, path("enc.schema.json"), path("model.json"))
	var v3 mcVersion
	decodeStrictJSON(t, mustRun(t, dir, "models", "register", "purchase_model", "--file", path("model.json"), "--training-set", "purchase_propensity",
		"--schema", path("enc.schema.json"), "--by", "ana", "--json"), &v3)
	if v3.Version != 3 || v3.Trainer != "registered" || v3.Format != "slipway-linear" || v3.CreatedBy != "ana" || v3.TrainingSet != "purchase_propensity:default" || v3.Metrics["auc"] == 0 {
		t.Fatalf("register --json: %+v", v3)
	}

	// Promote it, roll back.
	var a mcAlias
	decodeStrictJSON(t, mustRun(t, dir, "models", "promote", "purchase_model", "3", "--by", "ana", "--json"), &a)
	if a.Version != 3 || a.Alias != "production" || a.UpdatedBy != "ana" {
		t.Errorf("promote --json: %+v", a)
	}
	if r := mustRun(t, dir, "models", "rollback", "purchase_model", "--by", "bo"); r.stdout != "production of purchase_model -> version 1\n" {
		t.Errorf("rollback: %q", r.stdout)
	}
	mustRun(t, dir, "models", "promote", "purchase_model", "3", "--alias", "staging", "--by", "cy")

	var d mcDetail
	decodeStrictJSON(t, mustRun(t, dir, "models", "show", "purchase_model", "--json"), &d)
	if len(d.Definitions) != 1 || len(d.Versions) != 3 || d.Versions[0].Version != 3 || len(d.Aliases) != 2 {
		t.Fatalf("models show --json: %+v", d)
	}
	if got := moves(d.Aliases[0]); d.Aliases[0].Alias != "production" || got != "0>1 quickstart, 1>3 ana, 3>1 bo" {
		t.Errorf("production's history %q; want 0>1 quickstart, 1>3 ana, 3>1 bo", got)
	}
	text := mustRun(t, dir, "models", "show", "purchase_model").stdout
	for _, want := range []string{"model purchase_model", "built-in logistic_regression", "VERSION", "registered", "purchase_propensity:default",
		"production -> version 1", "(created) -> version 1", "version 1 -> version 3", "version 3 -> version 1", "staging -> version 3", "auc "} {
		if !strings.Contains(text, want) {
			t.Errorf("models show lacks %q:\n%s", want, text)
		}
	}
	var l struct {
		Models []struct {
			Model       string            `json:"model"`
			Definitions []json.RawMessage `json:"definitions"`
			Latest      int               `json:"latest_version"`
			Aliases     []mcAlias         `json:"aliases"`
		} `json:"models"`
	}
	decodeStrictJSON(t, mustRun(t, dir, "models", "list", "--json"), &l)
	if len(l.Models) != 2 || l.Models[0].Model != "purchase_model" || l.Models[0].Latest != 3 || l.Models[1].Model != "spend_model" || l.Models[1].Latest != 1 {
		t.Errorf("models list --json: %+v", l)
	}

	// Score the raw and the encoded export with version 3: its stored
	// encoding is the export's, so every row scores the same either way.
	if r := mustRun(t, dir, "score", "purchase_model@3", "--in", path("raw.csv"), "--out", path("raw_scores.csv")); !strings.Contains(r.stdout, "with purchase_model version 3") {
		t.Errorf("score raw: %s", r.stdout)
	}
	var sc struct {
		Model   string `json:"model"`
		Version int    `json:"version"`
		Rows    int64  `json:"rows"`
		Out     string `json:"out"`
	}
	decodeStrictJSON(t, mustRun(t, dir, "score", "purchase_model@staging", "--in", path("enc.csv"), "--out", path("enc_scores.csv"), "--json"), &sc)
	raw, enc := predictions(t, path("raw_scores.csv")), predictions(t, path("enc_scores.csv"))
	rows := 0
	for _, ps := range enc {
		rows += len(ps)
	}
	if sc.Version != 3 || sc.Rows != int64(rows) || rows < 100 || len(raw) != len(enc) {
		t.Fatalf("score --json %+v; %d encoded rows, %d and %d keys", sc, rows, len(raw), len(enc))
	}
	for k, ps := range enc {
		if len(raw[k]) != len(ps) {
			t.Fatalf("row %s: %d raw scores, %d encoded", k, len(raw[k]), len(ps))
		}
		for i := range ps {
			if math.Abs(raw[k][i]-ps[i]) > 1e-12 {
				t.Fatalf("row %s: raw input scores %v, encoded %v", k, raw[k], ps)
			}
		}
	}
	// Production (version 1, the built-in model) scores the raw export.
	mustRun(t, dir, "score", "purchase_model", "--in", path("raw.csv"), "--out", path("prod_scores.csv"))
	if p := predictions(t, path("prod_scores.csv")); len(p) != len(raw) {
		t.Errorf("production scored %d keys, want %d", len(p), len(raw))
	}
	if m, _ := filepath.Glob(filepath.Join(work, ".*partial")); len(m) > 0 {
		t.Errorf("score left temporary files: %v", m)
	}

	// Which models use this source's columns: down to the versions.
	if r := mustRun(t, dir, "lineage", "source", "orders"); !strings.Contains(r.stdout, "training_set purchase_propensity:default -> model purchase_model version 1") ||
		!strings.Contains(r.stdout, "-> model spend_model version 1 (production)") {
		t.Errorf("lineage source orders:\n%s\nwant the model versions trained on what uses it", r.stdout)
	}

	// Mistakes are errors that say what to do; nothing is recorded.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"score", "purchase_model@9", "--in", path("raw.csv"), "--out", path("x.csv")}, "model purchase_model has no version 9"},
		{[]string{"score", "purchase_model@canary", "--in", path("raw.csv"), "--out", path("x.csv")}, "has no alias canary"},
		{[]string{"score", "purchase_model", "--in", path("raw.csv"), "--out", path("raw.csv")}, "the same file"},
		// The built-in model encodes strings one-hot: the ordinal export's
		// codes would read as unknown categories, so it is refused.
		{[]string{"score", "purchase_model@1", "--in", path("enc.csv"), "--out", path("x.csv")}, "in another encoding than purchase_model version 1's"},
		{[]string{"models", "register", "purchase_model", "--file", path("enc.csv"), "--training-set", "purchase_propensity"}, "model not registered"},
		{[]string{"models", "promote", "purchase_model", "9"}, "model purchase_model has no version 9"},
		{[]string{"models", "promote", "purchase_model", "x"}, `version "x"`},
		{[]string{"models", "rollback", "purchase_model", "--alias", "staging"}, "nothing to roll back to"},
		{[]string{"models", "show", "nope"}, "model nope"},
		{[]string{"models", "register", "purchase_model", "--file", path("model.json")}, "--training-set"},
		{[]string{"models", "register", "purchase_model", "--file", path("model.json"), "--training-set", "purchase_propensity", "--format", "onnx"}, `unknown --format "onnx"`},
		{[]string{"train", "nope"}, "nope"},
		{[]string{"training-set", "export", "purchase_propensity", "--encoded"}, "--out FILE.csv"},
		{[]string{"training-set", "export", "purchase_propensity", "--encoded", "--format", "parquet", "--out", path("x.parquet")}, "csv"},
	} {
		if r := slipway(t, dir, tc.args...); r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("slipway %s: exit %d, stderr %q; want exit 1 mentioning %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
	if _, err := os.Stat(path("x.csv")); !os.IsNotExist(err) {
		t.Errorf("a failed score wrote its --out: %v", err)
	}

	// Through a running server, the same commands print the same.
	readOnly := [][]string{
		{"models", "list"},
		{"models", "list", "--json"},
		{"models", "show", "purchase_model"},
		{"models", "show", "purchase_model", "--json"},
		{"models", "show", "spend_model", "--json"},
		{"score", "purchase_model@3", "--in", path("raw.csv"), "--out", path("s.csv"), "--json"},
	}
	direct := map[string]string{}
	for _, args := range readOnly {
		direct[strings.Join(args, " ")] = mustRun(t, dir, args...).stdout
	}
	directScores, err := os.ReadFile(path("s.csv"))
	must(t, err)
	failures := map[string]string{}
	for _, args := range [][]string{{"models", "show", "nope"}, {"models", "promote", "purchase_model", "9"}, {"score", "purchase_model@9", "--in", path("raw.csv"), "--out", path("x.csv")}} {
		failures[strings.Join(args, " ")] = slipway(t, dir, args...).stderr
	}

	_, stop := startServe(t, dir)
	for _, args := range readOnly {
		key := strings.Join(args, " ")
		if got := mustRun(t, dir, args...).stdout; got != direct[key] {
			t.Errorf("slipway %s through the server printed\n%s\nwithout it:\n%s", key, got, direct[key])
		}
	}
	if got, err := os.ReadFile(path("s.csv")); err != nil || string(got) != string(directScores) {
		t.Errorf("score through the server wrote %d bytes (%v), directly %d, or different ones", len(got), err, len(directScores))
	}
	for key, want := range failures {
		if got := slipway(t, dir, strings.Fields(key)...); got.code != 1 || got.stderr != want {
			t.Errorf("slipway %s through the server: exit %d %q; without it %q", key, got.code, got.stderr, want)
		}
	}

	// Writes through the server: train, register, promote, rollback, an
	// encoded export equal to the direct one.
	var tr2 mcTrain
	decodeStrictJSON(t, mustRun(t, dir, "train", "purchase_model", "--by", "dee", "--json"), &tr2)
	if tr2.Result == nil || tr2.Result.Version != 4 || tr2.Result.Promoted || len(tr2.Jobs) == 0 || tr2.Result.Metrics["auc"] != tr.Result.Metrics["auc"] {
		t.Errorf("train through the server: %+v; directly %+v", tr2.Result, tr.Result)
	}
	r = mustRun(t, dir, "training-set", "export", "purchase_propensity", "--encoded", "--out", path("enc2.csv"))
	for _, f := range [][2]string{{"enc.csv", "enc2.csv"}, {"enc.schema.json", "enc2.schema.json"}} {
		a, err1 := os.ReadFile(path(f[0]))
		b, err2 := os.ReadFile(path(f[1]))
		if err1 != nil || err2 != nil || string(a) != string(b) {
			t.Errorf("%s through the server differs from %s directly (%v %v, %d and %d bytes)", f[1], f[0], err1, err2, len(b), len(a))
		}
	}
	var v5 mcVersion
	decodeStrictJSON(t, mustRun(t, dir, "models", "register", "purchase_model", "--file", path("model.json"), "--training-set", "purchase_propensity:default",
		"--schema", path("enc2.schema.json"), "--by", "dee", "--json"), &v5)
	if v5.Version != 5 || v5.SHA256 != v3.SHA256 || v5.CreatedBy != "dee" || v5.Metrics["auc"] != v3.Metrics["auc"] || string(v5.Encoding) != string(v3.Encoding) {
		t.Errorf("register through the server: %+v; directly %+v", v5, v3)
	}
	mustRun(t, dir, "models", "promote", "purchase_model", "5", "--by", "dee")
	if r := mustRun(t, dir, "models", "rollback", "purchase_model", "--by", "dee"); r.stdout != "production of purchase_model -> version 1\n" {
		t.Errorf("rollback through the server: %q", r.stdout)
	}
	through := mustRun(t, dir, "models", "show", "purchase_model", "--json").stdout
	stop()
	if after := mustRun(t, dir, "models", "show", "purchase_model", "--json").stdout; after != through {
		t.Errorf("models show --json after the server stopped\n%s\nthrough it\n%s", after, through)
	}
	decodeStrictJSON(t, result{stdout: through}, &d)
	if got := moves(d.Aliases[0]); got != "0>1 quickstart, 1>3 ana, 3>1 bo, 1>5 dee, 5>1 dee" || len(d.Versions) != 5 {
		t.Errorf("after the writes through the server: %d versions, production's history %q", len(d.Versions), got)
	}
}
