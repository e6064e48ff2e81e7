package offlinetest

import (
	"testing"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/value"
)

// dropCases are the DropTable behaviours (deleting a resource drops its
// table or view).
var dropCases = map[string]func(*testing.T, offline.Store){
	"Table":            testDropTable,
	"View":             testDropView,
	"MissingIsNoError": testDropMissing,
}

// requireGone checks that a table can no longer be read.
func requireGone(t *testing.T, s offline.Store, table string) {
	t.Helper()
	if _, err := s.Describe(t.Context(), &offline.DescribeParams{SQL: "SELECT * FROM " + offline.QuoteIdent(table)}); err == nil {
		t.Fatalf("%s can still be read after DropTable", table)
	}
}

func drop(t *testing.T, s offline.Store, table string) {
	t.Helper()
	if err := s.DropTable(t.Context(), &offline.DropTableParams{Table: table}); err != nil {
		t.Fatalf("DropTable(%s): %v", table, err)
	}
}

func testDropTable(t *testing.T, s offline.Store) {
	loadTable(t, s, "doomed", sampleCols, sampleRows)
	loadTable(t, s, "kept", sampleCols, sampleRows)
	drop(t, s, "doomed")
	requireGone(t, s, "doomed")
	if got := readTable(t, s, "kept", "id", "ts", "n"); len(got) != len(sampleRows) {
		t.Fatalf("another table lost rows: %v", got)
	}
	// The name can be used again.
	loadTable(t, s, "doomed", sampleCols[:3], [][]value.Value{{str("z"), ts(9), i64(9)}})
	if got := readTable(t, s, "doomed", "id", "ts", "n"); len(got) != 1 {
		t.Fatalf("recreated table has %d rows, want 1", len(got))
	}
}

func testDropView(t *testing.T, s offline.Store) {
	loadTable(t, s, "base", sampleCols, sampleRows)
	if _, err := s.CreateTable(t.Context(), &offline.CreateTableParams{Table: "v", SQL: "SELECT id, ts, n FROM base", View: true}); err != nil {
		t.Fatal(err)
	}
	drop(t, s, "v")
	requireGone(t, s, "v")
	if got := readTable(t, s, "base", "id", "ts", "n"); len(got) != len(sampleRows) {
		t.Fatalf("dropping a view changed its base table: %v", got)
	}
}

func testDropMissing(t *testing.T, s offline.Store) {
	drop(t, s, "never_created")
	loadTable(t, s, "once", sampleCols, sampleRows)
	drop(t, s, "once")
	drop(t, s, "once") // a deletion that runs again
}
