package coordinator

import (
	"fmt"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		want bool
	}{
		{fmt.Sprintf(logStarted, 1, 5, "vm-1-abcd"), false},
		{fmt.Sprintf(logSucceeded, 563*time.Millisecond, 6911), false},
		{"built 6911 rows in 562ms", true},
		{"attempt 2 failed (connection refused); retrying in 2s", true},
		{"failed: Binder Error: column x not found", true},
		{"succeeded", true},
		{"the worker's lease expired during the attempt (its process died or stopped): queued again", true},
	} {
		if got := ProgressLine(tc.line); got != tc.want {
			t.Errorf("ProgressLine(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}
