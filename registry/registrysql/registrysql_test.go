package registrysql

import "testing"

func TestRewrite(t *testing.T) {
	pg := &Store{d: &Dialect{Numbered: true, Table: func(name string) string { return `"s"."` + name + `"` }}}
	lite := &Store{d: &Dialect{Table: func(name string) string { return name }}}
	for _, c := range []struct{ in, pg, lite string }{
		{`SELECT id FROM {jobs} WHERE a = ? AND b IN (?, ?)`,
			`SELECT id FROM "s"."jobs" WHERE a = $1 AND b IN ($2, $3)`,
			`SELECT id FROM jobs WHERE a = ? AND b IN (?, ?)`},
		// Literals are copied as they are, quotes doubled inside included.
		{`SELECT '{x}?', 'it''s ?' FROM {a} j WHERE j.k = ?`,
			`SELECT '{x}?', 'it''s ?' FROM "s"."a" j WHERE j.k = $1`,
			`SELECT '{x}?', 'it''s ?' FROM a j WHERE j.k = ?`},
		// Malformed text is copied, not a panic.
		{`SELECT '{x} ?`, `SELECT '{x} ?`, `SELECT '{x} ?`},
		{`SELECT {} { ?`, `SELECT {} { $1`, `SELECT {} { ?`},
	} {
		for i := range 2 { // the second call reads the cache
			if got := pg.sql(c.in); got != c.pg {
				t.Errorf("numbered, call %d: sql(%q) = %q; want %q", i, c.in, got, c.pg)
			}
			if got := lite.sql(c.in); got != c.lite {
				t.Errorf("?, call %d: sql(%q) = %q; want %q", i, c.in, got, c.lite)
			}
		}
	}
}
