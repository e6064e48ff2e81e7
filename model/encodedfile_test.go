package model

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/value"
)

// A training set as the offline store returns it: entity, label time,
// features of every type, and two labels (binary and 3 classes).
var servedFeatures = []Feature{
	{Name: "opens_30d", Type: value.Int64},
	{Name: "avg_order_value", Type: value.Float64},
	{Name: "is_vip", Type: value.Bool},
	{Name: "signup_at", Type: value.Timestamp},
	{Name: "region", Type: value.String},
	{Name: "plan", Type: value.String},
}

type servedRow struct {
	entity   string
	at       time.Time
	features []value.Value
	binary   bool
	class    int64
}

// servedRows draws n rows; holdout rows may carry categories that training
// never saw ("jp", "enterprise"), which encode as missing.
func servedRows(seed uint64, n int, holdout bool) []servedRow {
	rng := rand.New(rand.NewPCG(seed, 1))
	regions := []string{"de", "fr", "uk", "us", `north, "east"`}
	plans := []string{"free", "pro", "team"}
	if holdout {
		regions = append(regions, "jp")
		plans = append(plans, "enterprise")
	}
	base := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	rows := make([]servedRow, n)
	for i := range rows {
		opens := rng.IntN(20)
		aov := math.Round(rng.ExpFloat64()*4000) / 100
		vip := rng.IntN(5) == 0
		signup := base.Add(-time.Duration(rng.IntN(3*365*24*3600)) * time.Second).Add(time.Duration(rng.IntN(1e6)) * time.Microsecond)
		region := regions[rng.IntN(len(regions))]
		plan := plans[rng.IntN(len(plans))]
		f := []value.Value{value.FromInt64(int64(opens)), value.FromFloat64(aov), value.FromBool(vip), value.FromTime(signup), value.FromString(region), value.FromString(plan)}
		// Missing values: nulls in every column, and a float NaN.
		for j := range f {
			if rng.IntN(12) == 0 {
				f[j] = value.NullValue()
			}
		}
		if rng.IntN(40) == 0 {
			f[1] = value.FromFloat64(math.NaN())
		}
		score := 0.3*float64(opens) - 2 + aov/20 - float64(signup.Sub(base).Hours())/20000
		if vip {
			score += 1.5
		}
		if region == "uk" || region == "jp" {
			score -= 1
		}
		if plan == "pro" {
			score += 1
		}
		score += rng.NormFloat64()
		class := int64(0)
		if score > 0 {
			class = 1
		}
		if score > 2 {
			class = 2
		}
		rows[i] = servedRow{
			entity:   fmt.Sprintf("s%05d", i),
			at:       base.Add(time.Duration(i) * time.Hour),
			features: f,
			binary:   score > 0.5,
			class:    class,
		}
	}
	return rows
}

// writeEncoded writes rows as an encoded CSV file (and, when schema is
// true, its schema) with the label column holding binary or class labels.
func writeEncoded(t *testing.T, path string, enc *Encoding, rows []servedRow, task string, schema bool) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewEncodedWriter(&buf, enc, []string{"subscriber_id", "timestamp", "label"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		label := value.FromBool(r.binary)
		if task == TaskMulticlass {
			label = value.FromInt64(r.class)
		}
		if err := w.Write([]value.Value{value.FromString(r.entity), value.FromTime(r.at), label}, r.features); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if !schema {
		return
	}
	s, err := w.Schema("purchase_propensity:default", task, "subscriber_id", "label")
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(strings.TrimSuffix(path, ".csv")+".schema.json", data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeRaw writes rows as `slipway training-set export --format csv` does
// on DuckDB: entity, timestamp, features, label; timestamps RFC 3339 with
// microseconds (every other row as "2024-01-02 03:04:05.123456", which a
// hand-made file may hold), bools true/false, null empty.
func writeRaw(t *testing.T, path string, rows []servedRow) {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	header := []string{"subscriber_id", "timestamp"}
	for _, f := range servedFeatures {
		header = append(header, f.Name)
	}
	_ = w.Write(append(header, "purchased"))
	for i, r := range rows {
		rec := []string{r.entity, value.FromTime(r.at).String()}
		for _, v := range r.features {
			s := v.String()
			if v.Type() == value.Timestamp && i%2 == 1 {
				s = v.Time().Format("2006-01-02 15:04:05.999999")
			}
			if v.Type() == value.Float64 && math.IsNaN(v.Float64()) {
				s = "nan" // DuckDB writes a NaN double so
			}
			rec = append(rec, s)
		}
		_ = w.Write(append(rec, strconv.FormatBool(r.binary)))
	}
	w.Flush()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func servedEncoding(t *testing.T, rows []servedRow, strs StringEncoding) *Encoding {
	t.Helper()
	b, err := NewEncodingBuilder(servedFeatures, EncodingConfig{Strings: strs})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := b.Add(r.features); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := b.Encoding()
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func rawValues(rows []servedRow) [][]value.Value {
	out := make([][]value.Value, len(rows))
	for i, r := range rows {
		out[i] = r.features
	}
	return out
}

// scoreCSVFile runs ScoreCSV on a file and returns the output's records.
func scoreCSVFile(t *testing.T, s *Scorer, path string) [][]string {
	t.Helper()
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out bytes.Buffer
	n, err := ScoreCSV(t.Context(), s, in, &out)
	if err != nil {
		t.Fatalf("ScoreCSV %s: %v", filepath.Base(path), err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatalf("ScoreCSV output is not CSV: %v", err)
	}
	if int64(len(recs)-1) != n {
		t.Fatalf("ScoreCSV returned %d rows and wrote %d", n, len(recs)-1)
	}
	return recs
}

// TestWriteOnceServeTwice: Python reads the encoded CSV and schema Go wrote,
// as a notebook would (pandas), and trains XGBoost; Slipway's Scorer on the
// same rows' raw values, and ScoreCSV on the encoded file and on a raw
// export, give Booster.predict's values to 1e-6, for rows trained on and for
// holdout rows with categories training never saw.
func TestWriteOnceServeTwice(t *testing.T) {
	python := testenv.Python(t, "pandas", "xgboost")
	dir := t.TempDir()
	train := servedRows(1, 1500, false)
	hold := servedRows(2, 500, true)
	cases := []struct {
		name, task string
		strs       StringEncoding
	}{
		{"binary", TaskBinaryClassification, Ordinal},
		{"multiclass", TaskMulticlass, OneHot},
	}
	encs := map[string]*Encoding{}
	for _, c := range cases {
		enc := servedEncoding(t, train, c.strs)
		encs[c.name] = enc
		writeEncoded(t, filepath.Join(dir, c.name+".csv"), enc, train, c.task, true)
		writeEncoded(t, filepath.Join(dir, c.name+"_holdout.csv"), enc, hold, c.task, false)
	}
	writeRaw(t, filepath.Join(dir, "train_raw.csv"), train)
	writeRaw(t, filepath.Join(dir, "holdout_raw.csv"), hold)
	cmd := exec.Command(python, filepath.Join("testdata", "encoded_xgboost.py"), dir, "binary", "multiclass")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testdata/encoded_xgboost.py: %v\n%s", err, out)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, c.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			format, err := DetectFormat(data)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Load(format, data)
			if err != nil {
				t.Fatal(err)
			}
			s, err := NewScorer(encs[c.name], p)
			if err != nil {
				t.Fatal(err)
			}
			if s.Task() != c.task {
				t.Fatalf("task %s, want %s", s.Task(), c.task)
			}
			var want struct{ Train, Holdout []float64 }
			b, err := os.ReadFile(filepath.Join(dir, c.name+"_predictions.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			k := s.NumOutputs()
			for _, part := range []struct {
				name    string
				rows    []servedRow
				want    []float64
				encoded string
				raw     string
			}{
				{"train", train, want.Train, c.name + ".csv", "train_raw.csv"},
				{"holdout", hold, want.Holdout, c.name + "_holdout.csv", "holdout_raw.csv"},
			} {
				if len(part.want) != len(part.rows)*k {
					t.Fatalf("%s: XGBoost gave %d values for %d rows of %d outputs", part.name, len(part.want), len(part.rows), k)
				}
				got, err := s.ScoreRows(rawValues(part.rows), nil)
				if err != nil {
					t.Fatal(err)
				}
				compareXGB(t, part.name+" ScoreRows", got, part.want)
				for _, file := range []string{part.encoded, part.raw} {
					recs := scoreCSVFile(t, s, filepath.Join(dir, file))
					if len(recs) != len(part.rows)+1 {
						t.Fatalf("%s: %d records, want header and %d rows", file, len(recs), len(part.rows))
					}
					names := recs[0][len(recs[0])-k:]
					if !slices.Equal(names, s.OutputNames()) {
						t.Fatalf("%s: output columns %q, want %q", file, names, s.OutputNames())
					}
					vals := make([]float64, 0, len(part.want))
					for i, rec := range recs[1:] {
						if rec[0] != part.rows[i].entity {
							t.Fatalf("%s line %d: entity %q, want %q (order kept)", file, i+2, rec[0], part.rows[i].entity)
						}
						for _, f := range rec[len(rec)-k:] {
							v, err := strconv.ParseFloat(f, 64)
							if err != nil {
								t.Fatal(err)
							}
							vals = append(vals, v)
						}
					}
					compareXGB(t, part.name+" ScoreCSV "+file, vals, part.want)
				}
			}
		})
	}
}

func compareXGB(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if !closeTo(got[i], want[i]) {
			if bad++; bad <= 3 {
				t.Errorf("%s: value %d is %v, XGBoost %v", what, i, got[i], want[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ from XGBoost's by more than %g", what, bad, len(got), xgbTolerance)
	}
}

func TestEncodedWriterFormat(t *testing.T) {
	enc := buildEncoding(t, []Feature{{Name: "n", Type: value.Int64}, {Name: "x", Type: value.Float64}, {Name: "s", Type: value.String}},
		EncodingConfig{Strings: OneHot}, [][]value.Value{{value.FromInt64(1), value.FromFloat64(1), value.FromString("a,b")}, {value.NullValue(), value.NullValue(), value.FromString("c")}})
	var buf bytes.Buffer
	w, err := NewEncodedWriter(&buf, enc, []string{"id", "timestamp", "label"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)
	for _, r := range []struct{ lead, feat []value.Value }{
		{[]value.Value{value.FromString(`say "hi", bye`), value.FromTime(at), value.FromBool(true)},
			[]value.Value{value.FromInt64(1 << 60), value.FromFloat64(0.1), value.FromString("a,b")}},
		{[]value.Value{value.FromInt64(7), value.NullValue(), value.FromBool(false)},
			[]value.Value{value.NullValue(), value.FromFloat64(math.Inf(-1)), value.FromString("zzz")}},
		{[]value.Value{value.FromString("e"), value.FromTime(at), value.FromFloat64(2.5)},
			[]value.Value{value.FromInt64(-3), value.FromFloat64(1e-300), value.NullValue()}},
	} {
		if err := w.Write(r.lead, r.feat); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `id,timestamp,label,n,x,"s=a,b",s=c
"say ""hi"", bye",2024-01-02T03:04:05.000006Z,1,1.152921504606847e+18,0.1,1,0
7,,0,,-Inf,,
e,2024-01-02T03:04:05.000006Z,2.5,-3,1e-300,,
`
	if buf.String() != want {
		t.Errorf("encoded file:\n%s\nwant:\n%s", buf.String(), want)
	}
	// Every number parses back to the encoded bits.
	recs, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	x, _ := strconv.ParseFloat(recs[1][4], 64)
	if x != 0.1 || recs[1][2] != "1" {
		t.Errorf("x read back as %v, label %q", x, recs[1][2])
	}
	if w.Rows() != 3 {
		t.Errorf("Rows() = %d", w.Rows())
	}

	if err := w.Write([]value.Value{value.FromString("a")}, nil); err == nil || !strings.Contains(err.Error(), "row 4: 1 leading values for the 3 leading columns") {
		t.Errorf("short leading row: %v", err)
	}
	if err := w.Write([]value.Value{value.NullValue(), value.NullValue(), value.NullValue()}, []value.Value{value.FromString("1"), value.NullValue(), value.NullValue()}); err == nil || !strings.Contains(err.Error(), `row 4: row does not match the model's features: feature "n" is int64`) {
		t.Errorf("bad feature value: %v", err)
	}
	if _, err := NewEncodedWriter(&buf, enc, []string{"id", "x"}); err == nil || !strings.Contains(err.Error(), `column "x" appears twice`) {
		t.Errorf("leading column named as a feature: %v", err)
	}
}

func TestSchemaRoundTripAndErrors(t *testing.T) {
	enc := buildEncoding(t, []Feature{{Name: "n", Type: value.Int64}, {Name: "s", Type: value.String}}, EncodingConfig{},
		[][]value.Value{{value.FromInt64(1), value.FromString("a")}})
	w, err := NewEncodedWriter(&bytes.Buffer{}, enc, []string{"id", "timestamp", "y"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := w.Write([]value.Value{value.FromString("e"), value.NullValue(), value.FromInt64(1)}, []value.Value{value.FromInt64(2), value.FromString("a")}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := w.Schema("ts:v2", TaskRegression, "id", "y")
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"format":"slipway-encoded","version":1,"training_set":"ts:v2","task":"regression","entity":"id","label":"y",` +
		`"columns":["id","timestamp","y","n","s"],"features":["n","s"],` +
		`"encoding":{"version":1,"strings":"ordinal","max_vocabulary":1000,"features":[{"name":"n","type":"int64"},{"name":"s","type":"string","vocabulary":["a"]}]},"rows":2}`
	if string(data) != wantJSON {
		t.Errorf("schema JSON:\n%s\nwant:\n%s", data, wantJSON)
	}
	back, err := ParseSchema(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.Rows != 2 || back.Label != "y" || !slices.Equal(back.Encoding.Columns(), []string{"n", "s"}) {
		t.Errorf("parsed back: %+v", back)
	}
	if _, err := w.Schema("ts:v2", "", "nope", "y"); err == nil || !strings.Contains(err.Error(), `entity column "nope" is not one of the leading columns`) {
		t.Errorf("unknown entity column: %v", err)
	}

	for _, c := range []struct{ name, edit, want string }{
		{"format", `"format":"slipway-encoded"->"format":"csv"`, `format is "csv", want "slipway-encoded"`},
		{"version", `"version":1,"training_set"->"version":2,"training_set"`, "version 2 is not one this Slipway reads"},
		{"unknown field", `"rows":2->"rows":2,"extra":1`, `unknown field "extra"`},
		{"features", `"features":["n","s"]->"features":["s","n"]`, "are not the encoding's columns"},
		{"columns", `"columns":["id","timestamp","y","n","s"]->"columns":["id","n","timestamp","y","s"]`, "do not end with the features"},
		{"label", `"label":"y"->"label":"z"`, `label column "z" is not one of the leading columns`},
		{"task", `"task":"regression"->"task":"ranking"`, `unknown task "ranking"`},
		{"training set", `"training_set":"ts:v2"->"training_set":""`, "no training_set"},
		{"encoding", `"encoding":{"version":1->"encoding":{"version":9`, "version 9"},
		{"trailing data", `"rows":2}->"rows":2}{}`, "data after the JSON object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			from, to, _ := strings.Cut(c.edit, "->")
			if !strings.Contains(wantJSON, from) {
				t.Fatalf("edit %q does not apply", from)
			}
			_, err := ParseSchema([]byte(strings.Replace(wantJSON, from, to, 1)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}
