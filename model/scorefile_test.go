package model

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/value"
)

// scoreFileScorer is a linear model over an encoding of every type, so that
// each value's reading shows in the prediction: prediction =
// 1·n + 10·x + 100·b + 1e-9·t + 1000·s(code), NaN replaced by a mean of 0.5
// (so a missing n adds 0.5, x 5, b 50, t nothing visible, s 500).
func scoreFileScorer(t testing.TB, strs StringEncoding) *Scorer {
	t.Helper()
	enc := buildEncoding(t, []Feature{
		{Name: "n", Type: value.Int64}, {Name: "x", Type: value.Float64}, {Name: "b", Type: value.Bool},
		{Name: "t", Type: value.Timestamp}, {Name: "s", Type: value.String},
	}, EncodingConfig{Strings: strs}, [][]value.Value{
		{value.NullValue(), value.NullValue(), value.NullValue(), value.NullValue(), value.FromString("a")},
		{value.NullValue(), value.NullValue(), value.NullValue(), value.NullValue(), value.FromString("b, c")},
		{value.NullValue(), value.NullValue(), value.NullValue(), value.NullValue(), value.FromString("d")},
	})
	cols := enc.Columns()
	coef := []float64{1, 10, 100, 1e-9}
	for range cols[4:] {
		coef = append(coef, 1000)
	}
	means := make([]float64, len(cols))
	for i := range means {
		means[i] = 0.5
	}
	lin, err := NewLinear(TaskRegression, 0, coef, means, cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewScorer(enc, lin)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scoreString(t *testing.T, s *Scorer, in string, p *ScoreCSVParams) (string, int64, error) {
	t.Helper()
	var out bytes.Buffer
	n, err := ScoreCSVWith(t.Context(), s, strings.NewReader(in), &out, p)
	return out.String(), n, err
}

func TestScoreCSVRawAndEncoded(t *testing.T) {
	s := scoreFileScorer(t, Ordinal)
	// 2024-01-02T03:04:05Z is 1704164645 s.
	const ts = 1704164645 * 1e-9
	for _, c := range []struct {
		name, in string
		want     []float64
	}{
		{"raw as the DuckDB export writes it",
			"id,timestamp,n,x,b,t,s,label\n" +
				"e1,2024-01-01T00:00:00.000000Z,3,0.25,true,2024-01-02T03:04:05.000000Z,\"b, c\",true\n" +
				"e2,2024-01-01T00:00:00.000000Z,,nan,false,2024-01-02 03:04:05,zzz,false\n" +
				"e3,2024-01-01T00:00:00.000000Z,-2,-0.5,,2024-01-02 05:04:05+02,d,\n",
			[]float64{3 + 2.5 + 100 + ts + 1000, 0.5 + 5 + 0 + ts + 500, -2 - 5 + 50 + ts + 2000}},
		{"raw hand-made: fewer columns, other order, date only",
			"s,t,b,x,n\na,2024-01-02,t,1,4\n",
			[]float64{0 + (1704153600 * 1e-9) + 100 + 10 + 4}},
		{"encoded",
			"id,n,x,b,t,s\ne1,3,0.25,1,1704164645,1\ne2,,,0,1704164645,\n",
			[]float64{3 + 2.5 + 100 + ts + 1000, 0.5 + 5 + 0 + ts + 500}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, n, err := scoreString(t, s, c.in, nil)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			inRecs, _ := csv.NewReader(strings.NewReader(c.in)).ReadAll()
			if n != int64(len(c.want)) || len(recs) != len(c.want)+1 {
				t.Fatalf("%d rows scored, %d records written; want %d rows:\n%s", n, len(recs), len(c.want), out)
			}
			if h := strings.Join(recs[0], ","); h != strings.Join(inRecs[0], ",")+",prediction" {
				t.Errorf("header %q", h)
			}
			for i, w := range c.want {
				rec := recs[i+1]
				if strings.Join(rec[:len(rec)-1], "|") != strings.Join(inRecs[i+1], "|") {
					t.Errorf("line %d: input columns %q, want %q copied", i+2, rec[:len(rec)-1], inRecs[i+1])
				}
				got, err := strconv.ParseFloat(rec[len(rec)-1], 64)
				if err != nil || !(got == w || math.Abs(got-w) <= 1e-9*math.Abs(w)) {
					t.Errorf("line %d: prediction %q, want %v", i+2, rec[len(rec)-1], w)
				}
			}
		})
	}
}

// TestScoreCSVDecides: which reading applies when the header fits both
// (ordinal encoding), and the errors when it fits neither or the values
// disagree.
func TestScoreCSVDecides(t *testing.T) {
	s := scoreFileScorer(t, Ordinal)
	for _, c := range []struct {
		name, in string
		p        *ScoreCSVParams
		want     string // the prediction of the single row, or the error
	}{
		{"bool true/false is raw", "n,x,b,t,s\n1,1,true,,\n", nil, "611"},
		{"timestamp number is encoded", "n,x,b,t,s\n1,1,,0,\n", nil, "561"},
		{"timestamp text is raw", "n,x,b,t,s\n1,1,,1970-01-01T00:00:00Z,\n", nil, "561"},
		{"string not a number is raw", "n,x,b,t,s\n1,1,,0,d\n", nil, "error: mixes raw and encoded values"},
		{"string category is raw", "n,x,b,t,s\n1,1,,,d\n", nil, "2061"},
		{"string code outside the vocabulary is encoded", "n,x,b,t,s\n1,1,,,7\n", nil, "7061"},
		{"only numbers: the same either way", "n,x,b,t,s\n1,1,1,,\n", nil, "611"},
		{"forced raw", "n,x,b,t,s\n1,1,1,,2\n", &ScoreCSVParams{Input: CSVRaw}, "611"}, // "2" is not a category: missing
		{"forced encoded", "n,x,b,t,s\n1,1,1,,2\n", &ScoreCSVParams{Input: CSVEncoded}, "2111"},
		{"forced encoded rejects raw values", "n,x,b,t,s\n1,1,true,,\n", &ScoreCSVParams{Input: CSVEncoded}, `error: line 2, column "b": "true" is not a number`},
		{"neither", "id,n,b\n1,2,3\n", nil, "error: the header has no column for features x, t, s: the input needs one column per feature"},
		{"bad input kind", "n,x,b,t,s\n", &ScoreCSVParams{Input: "json"}, `error: input kind "json"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := scoreString(t, s, c.in, c.p)
			if want, ok := strings.CutPrefix(c.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error %v, want one saying %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			got := lines[len(lines)-1][strings.LastIndexByte(lines[len(lines)-1], ',')+1:]
			g, _ := strconv.ParseFloat(got, 64)
			w, _ := strconv.ParseFloat(c.want, 64)
			if math.Abs(g-w) > 1e-6 {
				t.Errorf("prediction %s, want %s", got, c.want)
			}
		})
	}

	// One-hot: the header names either the features or the indicators.
	oh := scoreFileScorer(t, OneHot)
	if _, _, err := scoreString(t, oh, "n,x,b,t,s\n1,1,1,,a\n", nil); err != nil {
		t.Errorf("one-hot raw: %v", err)
	}
	_, _, err := scoreString(t, oh, "n,x,b,t\n1,1,1,\n", nil)
	for _, w := range []string{"no column for features s (raw values)", "nor the encoded columns s=a, s=b, c, s=d"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("one-hot neither: %v, want it to say %q", err, w)
		}
	}
}

func TestScoreCSVErrors(t *testing.T) {
	s := scoreFileScorer(t, Ordinal)
	for _, c := range []struct{ name, in, want string }{
		{"empty", "", "the input is empty"},
		{"bad int", "n,x,b,t,s\n1,1,true,,a\n1.5,1,true,,a\n", `line 3, column "n": "1.5" is not an integer (the feature is int64)`},
		{"bad float", "n,x,b,t,s\n1,abc,true,,a\n", `line 2, column "x": "abc" is not a number (the feature is float64)`},
		{"bad bool", "n,x,b,t,s\n1,1,yes,,a\n", `line 2, column "b": "yes" is not true or false`},
		{"bad timestamp", "n,x,b,t,s\n1,1,true,2024-13-45,a\n", `line 2, column "t": "2024-13-45" is not a timestamp`},
		{"ragged line", "n,x,b,t,s\n1,1,true,,a\n1,1\n", "record on line 3: wrong number of fields"},
		{"output column taken", "n,x,b,t,s,prediction\n", `the input already has a column "prediction"`},
		{"duplicate column", "n,x,b,t,s,n\n", `the header names column "n" twice`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := scoreString(t, s, c.in, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
	// An error far into the file names its line, after whole batches.
	var b strings.Builder
	b.WriteString("n,x,b,t,s\n")
	for i := range 5000 {
		if i == 3333 {
			b.WriteString("1,oops,true,,a\n")
			continue
		}
		b.WriteString("1,1,true,,a\n")
	}
	if _, _, err := scoreString(t, s, b.String(), &ScoreCSVParams{Workers: 2}); err == nil || !strings.Contains(err.Error(), `line 3335, column "x": "oops"`) {
		t.Errorf("late bad value: %v", err)
	}
}

// TestScoreCSVOrderAndWorkers: many batches on several workers come out in
// input order, byte for byte what one worker writes.
func TestScoreCSVOrderAndWorkers(t *testing.T) {
	s := scoreFileScorer(t, Ordinal)
	var b strings.Builder
	b.WriteString("id,n,x,b,t,s\n")
	const rows = 10*scoreBatchRows + 17
	for i := range rows {
		fmt.Fprintf(&b, "e%d,%d,%g,%v,2024-01-02T03:04:05Z,%s\n", i, i, float64(i)/7, i%3 == 0, []string{"a", "d", "\"b, c\"", ""}[i%4])
	}
	one, n1, err := scoreString(t, s, b.String(), &ScoreCSVParams{Workers: 1})
	if err != nil || n1 != rows {
		t.Fatalf("one worker: %d rows, %v", n1, err)
	}
	four, n4, err := scoreString(t, s, b.String(), &ScoreCSVParams{Workers: 4})
	if err != nil || n4 != rows || four != one {
		t.Fatalf("four workers: %d rows, %v, same output: %v", n4, err, four == one)
	}
	recs, err := csv.NewReader(strings.NewReader(one)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range recs[1:] {
		if rec[0] != fmt.Sprintf("e%d", i) {
			t.Fatalf("record %d is %q: out of order", i, rec[0])
		}
	}
}

func TestScoreCSVStopsOnCancel(t *testing.T) {
	s := scoreFileScorer(t, Ordinal)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	in := io.MultiReader(strings.NewReader("n,x,b,t,s\n"), strings.NewReader(strings.Repeat("1,1,true,,a\n", 5000)))
	n, err := ScoreCSV(ctx, s, in, io.Discard)
	if !errors.Is(err, context.Canceled) || n != 0 {
		t.Errorf("cancelled: %d rows, %v", n, err)
	}
}

// BenchmarkScoreCSV scores bench_score.csv (100,000 encoded rows of the
// benchmark model's 20 features, written by testdata/xgboost_models.py
// --bench) from memory to io.Discard, with 1 and 2 workers: reading,
// parsing, scoring and writing, as `slipway score` does.
func BenchmarkScoreCSV(b *testing.B) {
	dir := os.Getenv("SLIPWAY_XGBOOST_BENCH_DIR")
	if dir == "" {
		dir = runXGBoostScript(b, "--bench")
	}
	m := loadFile(b, filepath.Join(dir, "bench.json"))
	data, err := os.ReadFile(filepath.Join(dir, "bench_score.csv"))
	if err != nil {
		b.Fatal(err)
	}
	features := make([]Feature, m.NumFeatures())
	for i := range features {
		features[i] = Feature{Name: "f" + strconv.Itoa(i), Type: value.Float64}
	}
	enc := buildEncoding(b, features, EncodingConfig{}, nil)
	s, err := NewScorer(enc, m)
	if err != nil {
		b.Fatal(err)
	}
	rows := int64(bytes.Count(data, []byte("\n")) - 1)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				n, err := ScoreCSVWith(b.Context(), s, bytes.NewReader(data), io.Discard, &ScoreCSVParams{Workers: workers})
				if err != nil || n != rows {
					b.Fatalf("%d rows, %v; want %d", n, err, rows)
				}
			}
			b.ReportMetric(float64(int64(b.N)*rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*rows), "ns/row")
		})
	}
}

// FuzzScoreCSV: no input makes ScoreCSV panic or hang, and what it scores it
// writes: a header and one line per row, as CSV.
func FuzzScoreCSV(f *testing.F) {
	for _, seed := range []string{
		"n,x,b,t,s\n1,0.5,true,2024-01-02T03:04:05Z,a\n",
		"id,n,x,b,t,s\ne,1,,1,1704164645,2\n",
		"s,t,b,x,n\n\"b, c\",2024-01-02 03:04:05+02,false,nan,\n",
		"n,x,b,t,s\n1,1,,0,d\n",
		"\ufeffn,x,b,t,s\n,,,,\n",
		"n,x\n1\n",
	} {
		f.Add(seed)
	}
	s := scoreFileScorer(f, Ordinal)
	f.Fuzz(func(t *testing.T, in string) {
		var out bytes.Buffer
		n, err := ScoreCSVWith(context.Background(), s, strings.NewReader(in), &out, &ScoreCSVParams{Workers: 2})
		if err != nil {
			return
		}
		recs, rerr := csv.NewReader(&out).ReadAll()
		if rerr != nil {
			t.Fatalf("output is not CSV: %v\n%q", rerr, out.String())
		}
		if int64(len(recs)) != n+1 {
			t.Fatalf("%d rows scored, %d records written", n, len(recs))
		}
	})
}
