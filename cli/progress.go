package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/internal/textfmt"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
)

// isTerminal reports whether w is a terminal, where progress is redrawn in
// place; elsewhere (files, pipes, CI logs) it is written as plain lines.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// follow waits for jobs that the platform (this process, or the server the
// command goes through) works, showing their progress on out, and returns
// them ended. On a terminal the progress is a table redrawn in place;
// elsewhere each job's log lines are printed as they come, with a line per
// running job every 10 seconds. With detach it only says how the jobs will
// run. Ctrl-C (ctx) cancels the jobs that have not ended.
func (a *app) follow(ctx context.Context, api platform.API, jobs []*registry.Job, detach bool, out io.Writer) ([]*registry.Job, error) {
	if detach {
		for _, j := range jobs {
			fmt.Fprintf(a.stdout, "queued job %d: %s %s\n", j.ID, j.Kind, j.Resource.Ref())
		}
		fmt.Fprintln(a.stdout, "a `slipway worker` (or `slipway serve --workers N`) runs them; follow with `slipway jobs list`")
		return jobs, nil
	}
	tty := isTerminal(out)
	p := &progress{out: out, tty: tty, started: map[int64]time.Time{}}
	// Polls start fast, for short jobs, and slow down to maxPoll.
	poll, maxPoll, every := 20*time.Millisecond, 500*time.Millisecond, 10*time.Second
	if tty {
		maxPoll, every = 200*time.Millisecond, 200*time.Millisecond
	}
	// Reads go on after Ctrl-C, to see the cancelled jobs end.
	bg := context.WithoutCancel(ctx)
	seen := map[int64]int64{} // job → last log line printed
	var stopped error
	var lastDraw time.Time
	var stopAt time.Time
	for {
		current := make([]*registry.Job, 0, len(jobs))
		for _, j := range jobs {
			cur, err := api.GetJob(bg, j.ID)
			if err != nil {
				return jobs, errors.Join(stopped, fmt.Errorf("reading job %d: %w", j.ID, err))
			}
			current = append(current, cur)
		}
		if !tty {
			for _, j := range current {
				if err := a.printLogLines(bg, api, j, seen, out); err != nil {
					return current, errors.Join(stopped, err)
				}
			}
		}
		ended := true
		for _, j := range current {
			ended = ended && j.Status.Ended()
		}
		if ended || (!stopAt.IsZero() && time.Since(stopAt) > stopWait) {
			if tty {
				p.draw(current)
			}
			if stopped != nil {
				return current, stopped
			}
			return current, coordinator.JobErrors(current)
		}
		if time.Since(lastDraw) >= every {
			if tty || !lastDraw.IsZero() {
				p.draw(current)
			}
			lastDraw = time.Now()
		}
		select {
		case <-ctx.Done():
			if stopped == nil {
				stopped = fmt.Errorf("stopped: %w", context.Cause(ctx))
				stopAt = time.Now()
				for _, j := range current {
					if !j.Status.Ended() {
						if _, err := api.CancelJob(bg, j.ID); err != nil && !errors.Is(err, registry.ErrJobState) {
							stopped = errors.Join(stopped, fmt.Errorf("cancelling job %d: %w", j.ID, err))
						}
					}
				}
			}
			time.Sleep(poll)
		case <-time.After(poll):
		}
		poll = min(2*poll, maxPoll)
	}
}

// stopWait bounds the wait for cancelled jobs to end after Ctrl-C: a
// running job stops at its worker's next heartbeat (about a second).
const stopWait = 10 * time.Second

// printLogLines prints the progress lines (coordinator.ProgressLine) of
// j's log written since the last call.
func (a *app) printLogLines(ctx context.Context, api platform.API, j *registry.Job, seen map[int64]int64, out io.Writer) error {
	for {
		page, err := api.JobLogs(ctx, &registry.JobLogsParams{ID: j.ID, After: seen[j.ID]})
		if err != nil || len(page) == 0 {
			return err
		}
		for _, l := range page {
			if coordinator.ProgressLine(l.Line) {
				fmt.Fprintf(out, "  job %d %s %s: %s\n", j.ID, j.Kind, j.Resource.Ref(), l.Line)
			}
			seen[j.ID] = l.Seq
		}
	}
}

// progress draws jobs' progress: on a terminal, a bar of the jobs ended with
// the rows so far and their rate, then one line per job, redrawn in place;
// elsewhere, a line per running job at each tick.
type progress struct {
	out     io.Writer
	tty     bool
	drawn   int // lines drawn last time, to move back over
	started map[int64]time.Time
	begin   time.Time // first draw
}

// bar draws the share of the jobs that have ended, the rows processed and
// their rate since the first draw.
func (p *progress) bar(jobs []*registry.Job) string {
	const width = 24
	var ended int
	var rows int64
	for _, j := range jobs {
		if j.Status.Ended() {
			ended++
		}
		rows += j.Rows
	}
	if p.begin.IsZero() {
		p.begin = time.Now()
	}
	full := width * ended / max(1, len(jobs))
	line := fmt.Sprintf("  [%s%s] %d/%d jobs, %s rows", strings.Repeat("=", full), strings.Repeat(" ", width-full), ended, len(jobs), textfmt.Count(rows))
	if secs := time.Since(p.begin).Seconds(); secs >= 1 && rows > 0 {
		line += fmt.Sprintf(", %s rows/s", textfmt.Count(int64(float64(rows)/secs)))
	}
	return line
}

func (p *progress) draw(jobs []*registry.Job) {
	if !p.tty {
		for _, j := range jobs {
			if j.Status == registry.JobRunning {
				fmt.Fprintf(p.out, "  job %d %s %s: running, %s\n", j.ID, j.Kind, j.Resource.Ref(), p.rate(j))
			}
		}
		return
	}
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	fmt.Fprintf(&b, "\x1b[2K%s\n", p.bar(jobs))
	for _, j := range jobs {
		line := fmt.Sprintf("  %-9s job %d %s %s", j.Status, j.ID, j.Kind, j.Resource.Ref())
		if part := coordinator.JobPart(j); part != "" {
			line += " (" + part + ")"
		}
		switch {
		case j.Status == registry.JobRunning:
			line += "  " + p.rate(j)
		case j.Status.Ended() && j.Status != registry.JobSucceeded:
			line += ": " + textfmt.FirstLine(j.Error)
		case j.Status == registry.JobSucceeded && j.Rows > 0:
			line += fmt.Sprintf("  %s rows", textfmt.Count(j.Rows))
		}
		fmt.Fprintf(&b, "\x1b[2K%s\n", line)
	}
	p.drawn = len(jobs) + 1
	io.WriteString(p.out, b.String())
}

// rate describes a running job's rows, rate and time so far, timed by this
// process (the worker's clock may be another machine's).
func (p *progress) rate(j *registry.Job) string {
	start, ok := p.started[j.ID]
	if !ok {
		start = time.Now()
		p.started[j.ID] = start
	}
	el := time.Since(start).Round(100 * time.Millisecond).String()
	if j.Rows == 0 {
		return el // a transformation builds in one statement: no rows to count
	}
	s := fmt.Sprintf("%s rows", textfmt.Count(j.Rows))
	if secs := time.Since(start).Seconds(); secs >= 1 {
		s += fmt.Sprintf(", %s/s", textfmt.Count(int64(float64(j.Rows)/secs)))
	}
	return s + ", " + el
}
