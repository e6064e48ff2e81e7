package coordinator

import (
	"strings"

	"github.com/slipway-ml/slipway/registry"
)

// The worker's bookkeeping lines in a job's log: when an attempt starts
// (written by the registry's claim) and how it succeeded. The job's own
// lines (built, exported, materialized, failed, retrying) say the same to a
// person following the job.
const (
	logStarted   = registry.AttemptStartedFormat
	logSucceeded = "succeeded in %s, %d rows"
)

// ProgressLine says whether a job's log line is one to show a person
// following the job as it runs (what Coordinator.Progress is written), as
// opposed to the worker's bookkeeping, kept in the log for 'slipway jobs
// logs'.
func ProgressLine(line string) bool {
	return !matches(line, logStarted) && !matches(line, logSucceeded)
}

// matches says whether line was written with format: it starts with the
// format's text up to its first verb and holds the text between verbs.
func matches(line, format string) bool {
	parts := strings.Split(format, "%")
	if !strings.HasPrefix(line, parts[0]) {
		return false
	}
	rest := line[len(parts[0]):]
	for _, p := range parts[1:] {
		// Drop the verb letter; what follows it is literal text.
		lit := p[1:]
		if lit == "" {
			continue
		}
		i := strings.Index(rest, lit)
		if i < 0 {
			return false
		}
		rest = rest[i+len(lit):]
	}
	return true
}
