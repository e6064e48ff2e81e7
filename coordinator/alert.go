package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/slipway-ml/slipway/resource"
)

// Alert is the JSON body a monitor posts to its webhooks when a check's
// subject enters fail (Change "failing") or leaves it ("recovered").
// docs/design/monitoring.md shows one.
type Alert struct {
	// Text says it all in one line, for chat webhooks that show "text".
	Text string `json:"text"`
	// Change is AlertFailing or AlertRecovered.
	Change   string `json:"change"`
	Monitor  string `json:"monitor"`
	Variant  string `json:"variant"`
	Endpoint string `json:"endpoint"`
	Check    string `json:"check"`
	Subject  string `json:"subject"`
	// State is the subject's state now (fail, or pass or warn once
	// recovered), Previous its state at the run before ("" when new).
	State    string `json:"state"`
	Previous string `json:"previous_state,omitempty"`
	// Method, Value and Threshold are the check's measure: by how much.
	Method    string   `json:"method,omitempty"`
	Value     *float64 `json:"value,omitempty"`
	Threshold *float64 `json:"threshold,omitempty"`
	Message   string   `json:"message"`
	// FailingSince is when the fail streak began: the first run that
	// found the subject failing.
	FailingSince time.Time `json:"failing_since"`
	// At, Run and Job are the run that found the change.
	At  time.Time `json:"at"`
	Run int64     `json:"run"`
	Job int64     `json:"job"`
	// More is the command that shows more.
	More string `json:"more"`
}

// Alert changes.
const (
	AlertFailing   = "failing"
	AlertRecovered = "recovered"
)

func alertText(a *Alert) string {
	measure := ""
	if a.Value != nil {
		measure = fmt.Sprintf(" (%s %s", orWord(a.Method, "value"), strconv.FormatFloat(*a.Value, 'g', 4, 64))
		if a.Threshold != nil {
			measure += ", threshold " + strconv.FormatFloat(*a.Threshold, 'g', 4, 64)
		}
		measure += ")"
	}
	head := fmt.Sprintf("[%s] monitor %s, endpoint %s: %s check on %s is failing since %s%s",
		a.Change, a.Monitor, a.Endpoint, a.Check, a.Subject, a.FailingSince.UTC().Format("2006-01-02 15:04 UTC"), measure)
	if a.Change == AlertRecovered {
		head = fmt.Sprintf("[%s] monitor %s, endpoint %s: %s check on %s recovered (%s, failing since %s)",
			a.Change, a.Monitor, a.Endpoint, a.Check, a.Subject, a.State, a.FailingSince.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if a.Message != "" {
		head += ": " + a.Message
	}
	return head + ". More: " + a.More
}

func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Alerter posts alerts to webhooks, retrying network errors, 429 and 5xx
// answers with exponential backoff.
type Alerter struct {
	// Client posts (default: one with a 10s timeout).
	Client *http.Client
	// Attempts is how many times an alert is posted at most (default 5).
	Attempts int
	// Backoff is the wait before the second attempt, doubled before each
	// next one (default 1s: 1, 2, 4, 8s).
	Backoff time.Duration
}

var defaultAlertClient = &http.Client{Timeout: 10 * time.Second}

func (a *Alerter) settings() (*http.Client, int, time.Duration) {
	client, attempts, backoff := defaultAlertClient, 5, time.Second
	if a != nil {
		if a.Client != nil {
			client = a.Client
		}
		if a.Attempts > 0 {
			attempts = a.Attempts
		}
		if a.Backoff > 0 {
			backoff = a.Backoff
		}
	}
	return client, attempts, backoff
}

// errGiveUp marks an answer not worth retrying (a 4xx other than 429).
var errGiveUp = errors.New("not retried")

// post posts body to u, retrying; say receives a line per attempt and the
// outcome. It returns nil once delivered.
func (a *Alerter) post(ctx context.Context, u string, body []byte, say func(string, ...any)) error {
	client, attempts, backoff := a.settings()
	var err error
	for i := 1; i <= attempts; i++ {
		err = postOnce(ctx, client, u, body)
		if err == nil {
			say("attempt %d of %d delivered", i, attempts)
			return nil
		}
		if errors.Is(err, errGiveUp) || ctx.Err() != nil {
			say("attempt %d of %d: %v; giving up", i, attempts, err)
			return err
		}
		if i == attempts {
			say("attempt %d of %d: %v; giving up", i, attempts, err)
			break
		}
		say("attempt %d of %d: %v; retrying in %s", i, attempts, err, backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	return err
}

func postOnce(ctx context.Context, client *http.Client, u string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%v (%w)", err, errGiveUp)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "slipway-monitor")
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL may hold a token: not in logs
		}
		return fmt.Errorf("network error: %v", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return fmt.Errorf("HTTP %d (%w)", resp.StatusCode, errGiveUp)
}

// notify posts each alert to each of the monitor's webhooks and returns
// how many were delivered and how many given up on. A webhook that keeps
// failing is written in the job's log; it does not fail the run.
func (c *Coordinator) notify(ctx context.Context, run *jobRun, m *resource.Resource, alerts []Alert) (sent, failed int) {
	if len(m.Monitor.Notify) == 0 {
		run.sayf("%d alert(s), no webhook to notify", len(alerts))
		return 0, 0
	}
	for _, n := range m.Monitor.Notify {
		name := webhookName(n.Webhook)
		u, err := resource.ResolveWebhook(n.Webhook, c.lookupEnv)
		if err != nil {
			run.sayf("%v; %d alert(s) not sent", err, len(alerts))
			failed += len(alerts)
			continue
		}
		for i, a := range alerts {
			body, _ := json.Marshal(a)
			say := func(format string, args ...any) {
				run.sayf("alert %s %s/%s to webhook %s: %s", a.Change, a.Check, a.Subject, name, fmt.Sprintf(format, args...))
			}
			if err := c.Alerts.post(ctx, u, body, say); err != nil {
				failed++
				if ctx.Err() != nil {
					return sent, failed // cancelled: the rest are not tried
				}
				if !errors.Is(err, errGiveUp) && i+1 < len(alerts) {
					// Down after every retry: the next alerts would wait as
					// long for the same answer.
					rest := len(alerts) - i - 1
					run.sayf("webhook %s is not answering; its %d other alert(s) of this run are not sent", name, rest)
					failed += rest
					break
				}
				continue
			}
			sent++
		}
	}
	return sent, failed
}

// webhookName is how logs name a webhook: its ${ENV} reference, or its
// URL's scheme and host (the path and query may hold a token).
func webhookName(w string) string {
	if resource.WebhookEnv(w) != "" {
		return w
	}
	if p, err := url.Parse(w); err == nil && p.Host != "" {
		return p.Scheme + "://" + p.Host + "/…"
	}
	return "(invalid URL)"
}
