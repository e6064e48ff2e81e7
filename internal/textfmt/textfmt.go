// Package textfmt writes numbers and messages as Slipway's command output
// and status summaries show them.
package textfmt

import (
	"strconv"
	"strings"
)

// Count writes n with thousands separators: 1,204.
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// FirstLine is the first line of s, marked " …" when more lines follow.
func FirstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
