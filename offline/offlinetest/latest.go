package offlinetest

// The cases of ReadLatest's narrowing parameters: Since (incremental
// materialization) and Partition/Partitions (chunked materialization).

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/value"
)

// readLatest runs ReadLatest and reads every row.
func readLatest(t *testing.T, s offline.Store, p offline.ReadLatestParams) [][]value.Value {
	t.Helper()
	rs, err := s.ReadLatest(t.Context(), &p)
	if err != nil {
		t.Fatalf("ReadLatest(%+v): %v", p, err)
	}
	return readAll(t, rs)
}

// project keeps the columns cols of every row.
func project(rows [][]value.Value, cols ...int) [][]value.Value {
	out := make([][]value.Value, len(rows))
	for i, r := range rows {
		out[i] = make([]value.Value, len(cols))
		for j, c := range cols {
			out[i][j] = r[c]
		}
	}
	return out
}

// testReadLatestSince reads only the rows after a time: an entity with only
// older rows is absent, an entity with older and newer rows gets the latest
// of the newer ones, a tie at that time resolves as in the full read, and a
// row exactly at Since is not after it. Since is cut to microseconds the way
// the engines store time, whatever its zone. The timestamp column is read as
// TIMESTAMP, as TIMESTAMP WITH TIME ZONE and as text, each with two value
// columns and with one (a store may read one column another way).
func testReadLatestSince(t *testing.T, s offline.Store) {
	cols := []column{{"user", value.String}, {"at", value.Timestamp}, {"n", value.Int64}, {"ok", value.Bool}}
	loadTable(t, s, "events", cols, [][]value.Value{
		{str("old"), ts(1), i64(1), yes}, // only rows before Since: absent
		{str("old"), ts(2), i64(2), yes},
		{str("mixed"), ts(3), i64(100), yes}, // before Since, greater: does not count
		{str("mixed"), ts(6), i64(5), no},
		{str("mixed"), ts(8), i64(7), no},
		{str("tied"), ts(4), i64(50), yes},
		{str("tied"), ts(9), i64(3), no}, // tie at the newest time: 9 and true
		{str("tied"), ts(9), i64(9), null},
		{str("tied"), ts(9), null, yes},
		{str("at"), ts(5), i64(10), yes},           // exactly at Since: not after it, absent
		{str("at_then_null"), ts(5), i64(99), yes}, // at Since: does not count
		{str("at_then_null"), ts(7), null, null},   // newest after Since is all null: null
		{str("no_time"), null, i64(1), yes},        // no timestamp: ignored
		{null, ts(20), i64(1000), yes},             // no entity: ignored
	})
	eventsTimeViews(t, s)
	since := t0.Add(5 * time.Hour)
	after := [][]value.Value{
		{str("mixed"), ts(8), i64(7), no},
		{str("tied"), ts(9), i64(9), yes},
		{str("at_then_null"), ts(7), null, null},
	}
	withAt := append([][]value.Value{{str("at"), ts(5), i64(10), yes}}, after...)
	cases := []struct {
		name  string
		since time.Time
		want  [][]value.Value
	}{
		{"since", since, after},
		{"since in another zone", since.In(time.FixedZone("UTC+05:30", 5*3600+30*60)), after},
		{"a nanosecond after since", since.Add(time.Nanosecond), after},
		{"a nanosecond before since", since.Add(-time.Nanosecond), withAt},
		{"a microsecond before since", since.Add(-time.Microsecond), withAt},
		{"a microsecond after since", since.Add(time.Microsecond), after},
	}
	for _, table := range []string{"events", "events_tz", "events_text"} {
		// The entities that have rows after Since get what the full read gives them.
		full := readLatest(t, s, offline.ReadLatestParams{Table: table, EntityColumn: "user", TimestampColumn: "at", AsOf: asOfAll, ValueColumns: []string{"n", "ok"}})
		var fullAfter [][]value.Value
		for _, r := range full {
			if e := r[0].Str(); e == "mixed" || e == "tied" || e == "at_then_null" {
				fullAfter = append(fullAfter, r)
			}
		}
		if d := diffRows(fullAfter, after); d != "" {
			t.Errorf("%s without Since, entities with rows after it:\n%s", table, d)
		}
		for _, c := range cases {
			p := offline.ReadLatestParams{Table: table, EntityColumn: "user", TimestampColumn: "at", AsOf: asOfAll, ValueColumns: []string{"n", "ok"}, Since: c.since}
			checkLatest(t, s, p, c.want, table+", "+c.name)
		}
	}
}

// eventsTimeViews creates events_tz and events_text: table events with its
// timestamp column "at" read as TIMESTAMP WITH TIME ZONE and as text.
func eventsTimeViews(t *testing.T, s offline.Store) {
	t.Helper()
	for _, view := range []struct{ table, at string }{
		{"events_tz", `CAST("at" AS TIMESTAMP WITH TIME ZONE)`},
		{"events_text", `CAST("at" AS VARCHAR)`},
	} {
		if _, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: view.table,
			SQL: `SELECT "user", ` + view.at + ` AS "at", "n", "ok" FROM events`}); err != nil {
			t.Fatalf("creating %s: %v", view.table, err)
		}
	}
}

// checkLatest reads p and compares the rows with want; then each value
// column alone (a store may read one column another way).
func checkLatest(t *testing.T, s offline.Store, p offline.ReadLatestParams, want [][]value.Value, what string) {
	t.Helper()
	if d := diffRows(readLatest(t, s, p), want); d != "" {
		t.Errorf("%s:\n%s", what, d)
	}
	for i, col := range p.ValueColumns {
		one := p
		one.ValueColumns = []string{col}
		if d := diffRows(readLatest(t, s, one), project(want, 0, 1, 2+i)); d != "" {
			t.Errorf("%s, %s alone:\n%s", what, col, d)
		}
	}
}

// testReadLatestSinceNeedsTimestamp reads a static dataset with Since: there
// is no time to compare, so it is an error that says so.
func testReadLatestSinceNeedsTimestamp(t *testing.T, s offline.Store) {
	loadTable(t, s, "shops", []column{{"shop", value.String}, {"country", value.String}}, [][]value.Value{
		{str("s1"), str("fr")},
	})
	rs, err := s.ReadLatest(t.Context(), &offline.ReadLatestParams{Table: "shops", EntityColumn: "shop", ValueColumns: []string{"country"}, Since: t0})
	if err == nil {
		rs.Close()
		t.Fatal("ReadLatest of a static dataset with Since succeeded")
	}
	if !strings.Contains(err.Error(), "timestamp") {
		t.Errorf("error %q does not say that Since needs a timestamp column", err)
	}
}

// partitionEntities are entity values that hash differently in every way a
// store might get wrong: numbers as text, the empty string, quotes, spaces,
// case, and Unicode (composed and decomposed é are different entities).
var partitionEntities = []string{"", "0", "-1", "007", "o'brien", `back\slash`, "a b", "A", "a", "Zoë",
	"café", "cafe\u0301", "naïve", "東京", "用户", "🙂", "👩‍💻", "Ελλάδα", "русский", "עברית"}

// partitionTables loads a table of ~200 text entities and one of ~200
// integer entities (negatives, zero and the extremes among them), each with
// 1–3 rows per entity at few distinct times, so the tie rule is in play.
func partitionTables(t *testing.T, s offline.Store) {
	r := rand.New(rand.NewPCG(7, 11))
	cols := func(entity value.Type) []column {
		return []column{{"id", entity}, {"at", value.Timestamp}, {"v", value.Int64}, {"ok", value.Bool}}
	}
	rowsOf := func(entity value.Value) [][]value.Value {
		var rows [][]value.Value
		for range 1 + r.IntN(3) {
			at, v, ok := ts(r.IntN(10)), i64(int64(r.IntN(100))), value.FromBool(r.IntN(2) == 0)
			if r.IntN(8) == 0 {
				v = null
			}
			if r.IntN(8) == 0 {
				ok = null
			}
			if r.IntN(20) == 0 {
				at = null
			}
			rows = append(rows, []value.Value{entity, at, v, ok})
		}
		return rows
	}
	var text, ints [][]value.Value
	for _, e := range partitionEntities {
		text = append(text, rowsOf(str(e))...)
	}
	for i := range 180 {
		text = append(text, rowsOf(str(partitionEntities[i%len(partitionEntities)]+"-"+strconv.Itoa(i)))...)
	}
	for _, e := range []int64{math.MinInt64, math.MaxInt64, 0, -1, 1} {
		ints = append(ints, rowsOf(i64(e))...)
	}
	for i := range 200 {
		ints = append(ints, rowsOf(i64(int64(i)*7919-500_000))...)
	}
	text = append(text, []value.Value{null, ts(1), i64(1), yes})
	ints = append(ints, []value.Value{null, ts(1), i64(1), yes})
	loadTable(t, s, "text_entities", cols(value.String), text)
	loadTable(t, s, "int_entities", cols(value.Int64), ints)
}

// testReadLatestPartitionsCoverAll splits reads into 2, 3 and 7 parts: the
// parts together are the unsplit read, no entity is in two parts, and the
// same part read again is the same. It covers text and integer entities,
// one value column and two, timestamped and static reads, and Since.
func testReadLatestPartitionsCoverAll(t *testing.T, s offline.Store) {
	partitionTables(t, s)
	reads := []struct {
		name string
		p    offline.ReadLatestParams
	}{
		{"text", offline.ReadLatestParams{Table: "text_entities", EntityColumn: "id", TimestampColumn: "at", AsOf: asOfAll, ValueColumns: []string{"v", "ok"}}},
		{"text, one column", offline.ReadLatestParams{Table: "text_entities", EntityColumn: "id", TimestampColumn: "at", AsOf: asOfAll, ValueColumns: []string{"v"}}},
		{"text, static", offline.ReadLatestParams{Table: "text_entities", EntityColumn: "id", ValueColumns: []string{"v", "ok"}}},
		{"text, since", offline.ReadLatestParams{Table: "text_entities", EntityColumn: "id", TimestampColumn: "at", AsOf: asOfAll, ValueColumns: []string{"v", "ok"}, Since: t0.Add(6 * time.Hour)}},
		{"text, one column since", offline.ReadLatestParams{Table: "text_entities", EntityColumn: "id", TimestampColumn: "at", AsOf: asOfAll, ValueColumns: []string{"ok"}, Since: t0.Add(6 * time.Hour)}},
		{"integer", offline.ReadLatestParams{Table: "int_entities", EntityColumn: "id", TimestampColumn: "at", AsOf: asOfAll, ValueColumns: []string{"v", "ok"}}},
		{"integer, one column", offline.ReadLatestParams{Table: "int_entities", EntityColumn: "id", TimestampColumn: "at", AsOf: asOfAll, ValueColumns: []string{"v"}}},
		{"integer, static", offline.ReadLatestParams{Table: "int_entities", EntityColumn: "id", ValueColumns: []string{"ok"}}},
	}
	for _, rd := range reads {
		full := readLatest(t, s, rd.p)
		if len(full) < 50 {
			t.Fatalf("%s: the unsplit read has %d entities, want about 200 (or about 100 after Since)", rd.name, len(full))
		}
		for _, n := range []int{2, 3, 7} {
			var union [][]value.Value
			partOf := map[string]int{}
			for part := range n {
				p := rd.p
				p.Partition, p.Partitions = part, n
				rows := readLatest(t, s, p)
				if n == 2 && len(rows) == 0 {
					t.Errorf("%s: part %d of 2 is empty", rd.name, part)
				}
				for _, r := range rows {
					e := rowKey(r[:1])
					if other, ok := partOf[e]; ok {
						t.Errorf("%s: entity %s is in parts %d and %d of %d", rd.name, e, other, part, n)
					}
					partOf[e] = part
				}
				union = append(union, rows...)
				if part == n-1 {
					if d := diffRows(readLatest(t, s, p), rows); d != "" {
						t.Errorf("%s: part %d of %d read again differs:\n%s", rd.name, part, n, d)
					}
				}
			}
			if d := diffRows(union, full); d != "" {
				t.Errorf("%s: the %d parts together differ from the unsplit read:\n%s", rd.name, n, d)
			}
		}
	}
}

// testReadLatestInvalidPartition asks for a part outside 0 ≤ Partition <
// Partitions (or a part of an unsplit read): an error, not a silently empty
// or whole read. One part of one is the whole read.
func testReadLatestInvalidPartition(t *testing.T, s offline.Store) {
	loadTable(t, s, "orders", []column{{"shop", value.String}, {"at", value.Timestamp}, {"n", value.Int64}}, [][]value.Value{
		{str("a"), ts(1), i64(1)},
		{str("b"), ts(2), i64(2)},
	})
	base := offline.ReadLatestParams{Table: "orders", EntityColumn: "shop", TimestampColumn: "at", AsOf: asOfAll, ValueColumns: []string{"n"}}
	for _, c := range []struct{ part, parts int }{{2, 2}, {3, 2}, {-1, 2}, {7, 7}, {-1, 7}, {0, -1}, {1, 1}, {1, 0}, {-1, 0}} {
		p := base
		p.Partition, p.Partitions = c.part, c.parts
		rs, err := s.ReadLatest(t.Context(), &p)
		if err == nil {
			rs.Close()
			t.Errorf("ReadLatest of partition %d of %d succeeded", c.part, c.parts)
			continue
		}
		if !strings.Contains(err.Error(), "partition") {
			t.Errorf("partition %d of %d: error %q does not name the partition", c.part, c.parts, err)
		}
	}
	one := base
	one.Partition, one.Partitions = 0, 1
	if d := diffRows(readLatest(t, s, one), readLatest(t, s, base)); d != "" {
		t.Errorf("partition 0 of 1 differs from the unsplit read:\n%s", d)
	}
}

// asOfAll is an AsOf after every row the cases load: the whole table counts.
var asOfAll = t0.Add(10_000 * time.Hour)

// testReadLatestAsOf reads a table holding rows dated after AsOf: they are
// not read (an entity with only such rows is absent), a row exactly at AsOf
// counts, the tie rule applies to the rows left, and AsOf is cut to
// microseconds like Since. The timestamp column is read as TIMESTAMP, as
// TIMESTAMP WITH TIME ZONE and as text, with two value columns and with one.
func testReadLatestAsOf(t *testing.T, s offline.Store) {
	cols := []column{{"user", value.String}, {"at", value.Timestamp}, {"n", value.Int64}, {"ok", value.Bool}}
	loadTable(t, s, "events", cols, [][]value.Value{
		{str("past_and_future"), ts(1), i64(1), no},
		{str("past_and_future"), ts(5), i64(2), yes},   // newest at AsOf 10
		{str("past_and_future"), ts(15), i64(100), no}, // future: not read
		{str("only_future"), ts(11), i64(7), yes},      // absent
		{str("at"), ts(10), i64(3), no},                // exactly at AsOf: counts, tied
		{str("at"), ts(10), i64(4), null},
		{str("at"), ts(30), null, null}, // a future all-null row does not hide the value
		{str("old"), ts(2), i64(9), yes},
	})
	eventsTimeViews(t, s)
	asOf := t0.Add(10 * time.Hour)
	atAsOf := [][]value.Value{
		{str("at"), ts(10), i64(4), no},
		{str("old"), ts(2), i64(9), yes},
		{str("past_and_future"), ts(5), i64(2), yes},
	}
	beforeAsOf := [][]value.Value{ // "at" has no row before its tie at 10
		{str("old"), ts(2), i64(9), yes},
		{str("past_and_future"), ts(5), i64(2), yes},
	}
	cases := []struct {
		name        string
		asOf, since time.Time
		want        [][]value.Value
	}{
		{"as of", asOf, time.Time{}, atAsOf},
		{"as of in another zone", asOf.In(time.FixedZone("UTC-07:00", -7*3600)), time.Time{}, atAsOf},
		{"a nanosecond after", asOf.Add(time.Nanosecond), time.Time{}, atAsOf},
		{"a nanosecond before", asOf.Add(-time.Nanosecond), time.Time{}, beforeAsOf},
		{"a microsecond before", asOf.Add(-time.Microsecond), time.Time{}, beforeAsOf},
		{"with since", asOf, t0.Add(3 * time.Hour), [][]value.Value{
			{str("at"), ts(10), i64(4), no},
			{str("past_and_future"), ts(5), i64(2), yes},
		}},
		{"after every row", asOfAll, time.Time{}, [][]value.Value{
			{str("at"), ts(30), null, null},
			{str("old"), ts(2), i64(9), yes},
			{str("only_future"), ts(11), i64(7), yes},
			{str("past_and_future"), ts(15), i64(100), no},
		}},
	}
	for _, table := range []string{"events", "events_tz", "events_text"} {
		for _, c := range cases {
			p := offline.ReadLatestParams{Table: table, EntityColumn: "user", TimestampColumn: "at", ValueColumns: []string{"n", "ok"}, AsOf: c.asOf, Since: c.since}
			checkLatest(t, s, p, c.want, table+", "+c.name)
		}
	}
}

// testReadLatestEqualsTrainingSet is the promise materialization rests on:
// for every entity, ReadLatest as of a time gives what a training set gives
// for a label row of that entity at that time (with the feature's max age
// left to serving, so none here). Random rows with ties, nulls and rows
// after the time, read at several times.
func testReadLatestEqualsTrainingSet(t *testing.T, s offline.Store) {
	r := rand.New(rand.NewPCG(7, 8))
	var rows [][]value.Value
	for range 400 {
		n := null
		if r.IntN(5) > 0 {
			n = i64(int64(r.IntN(20)))
		}
		rows = append(rows, []value.Value{str("e" + strconv.Itoa(r.IntN(40))), ts(r.IntN(48)), n})
	}
	loadTable(t, s, "readings", []column{{"entity", value.String}, {"at", value.Timestamp}, {"n", value.Int64}}, rows)
	for _, hour := range []int{0, 7, 24, 30, 47, 100} {
		asOf := t0.Add(time.Duration(hour) * time.Hour)
		var labels [][]value.Value
		for e := range 40 {
			labels = append(labels, []value.Value{str("e" + strconv.Itoa(e)), value.FromTime(asOf), i64(0)})
		}
		table := "labels_" + strconv.Itoa(hour)
		loadTable(t, s, table, []column{{"entity", value.String}, {"at", value.Timestamp}, {"y", value.Int64}}, labels)
		rs, err := s.ReadTrainingSet(t.Context(), &offline.TrainingSetParams{
			Label:      offline.Dataset{Table: table, EntityColumn: "entity", ValueColumn: "y", TimestampColumn: "at"},
			LabelName:  "y",
			EntityName: "entity",
			Features:   []offline.FeatureColumn{{Dataset: offline.Dataset{Table: "readings", EntityColumn: "entity", ValueColumn: "n", TimestampColumn: "at"}, Name: "n", Type: value.Int64}},
		})
		if err != nil {
			t.Fatalf("ReadTrainingSet as of %d h: %v", hour, err)
		}
		training := map[string]value.Value{}
		for _, row := range readAll(t, rs) {
			training[row[0].Str()] = row[2]
		}
		online := map[string]value.Value{}
		for _, row := range readLatest(t, s, offline.ReadLatestParams{Table: "readings", EntityColumn: "entity", TimestampColumn: "at", ValueColumns: []string{"n"}, AsOf: asOf}) {
			online[row[0].Str()] = row[2]
		}
		for e, want := range training {
			got, ok := online[e]
			if !ok {
				got = null // no row at or before AsOf: the training set's null
			}
			if !got.Equal(want) {
				t.Errorf("as of %d h, entity %s: ReadLatest gives %v, a training set %v", hour, e, got, want)
			}
		}
	}
}

// testReadLatestNeedsAsOf reads a timestamped dataset without AsOf: an
// error, since a read without a time would serve rows dated in the future.
func testReadLatestNeedsAsOf(t *testing.T, s offline.Store) {
	loadTable(t, s, "orders", []column{{"shop", value.String}, {"at", value.Timestamp}, {"n", value.Int64}}, [][]value.Value{
		{str("a"), ts(1), i64(1)},
	})
	rs, err := s.ReadLatest(t.Context(), &offline.ReadLatestParams{Table: "orders", EntityColumn: "shop", TimestampColumn: "at", ValueColumns: []string{"n"}})
	if err == nil {
		rs.Close()
		t.Fatal("ReadLatest without AsOf succeeded")
	}
	if !strings.Contains(err.Error(), "AsOf") {
		t.Errorf("error %q does not name AsOf", err)
	}
}
