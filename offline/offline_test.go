package offline

import (
	"testing"

	"github.com/slipway-ml/slipway/resource"
)

func TestUserLine(t *testing.T) {
	user := "\n\nSELECT a,\n  b\nFROM t;\n"
	wrapped := "DESCRIBE WITH x AS (\nSELECT 1\n)\nSELECT * FROM (\n" + TrimSQL(user) + "\n) AS q"
	cases := map[int]int{1: 0, 4: 0, 5: 3, 6: 4, 7: 5, 8: 0}
	for line, want := range cases {
		if got := UserLine(wrapped, user, line); got != want {
			t.Errorf("UserLine(line %d) = %d, want %d", line, got, want)
		}
	}
}

func TestTableNameStaysDistinctWhenLong(t *testing.T) {
	long := "a"
	for len(long) < 60 {
		long += "b"
	}
	a := TableName(idOf(long, "v1"))
	b := TableName(idOf(long, "v2"))
	if len(a) > 63 || len(b) > 63 || a == b {
		t.Errorf("long names: %q (%d), %q (%d)", a, len(a), b, len(b))
	}
}

func idOf(name, variant string) resource.ID {
	return resource.ID{Kind: resource.KindTransformation, Name: name, Variant: variant}
}
