// Package feedback takes what products report about predictions ("was
// this relevant?", a click, an order) and stores it beside them: events
// are validated, appended to a local log (package predictionlog's WAL,
// flushed before the request is answered) and shipped into the offline
// store, where the source `feedback` holds each event once, for SQL labels
// and experiment metrics. docs/design/feedback.md explains the choices.
package feedback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/predictionlog"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// Event is one feedback event, as POST /v1/feedback takes it.
type Event struct {
	// ID makes the event idempotent: events with one ID count once, so a
	// client may retry a request. Generated (a UUIDv7) when empty.
	ID string `json:"id,omitempty"`
	// PredictionID is the prediction the feedback is about (the id a
	// predict answer gave). Without it, Endpoint and Entity (and
	// optionally Time, when the prediction was made) say which.
	PredictionID string     `json:"prediction_id,omitempty"`
	Endpoint     string     `json:"endpoint,omitempty"`
	Entity       string     `json:"entity,omitempty"`
	Time         *time.Time `json:"time,omitempty"`
	// Name is what was observed (clicked, relevant, purchased): lower-case
	// letters, digits and '_', starting with a letter.
	Name string `json:"name"`
	// Value is true or false, or a number.
	Value json.RawMessage `json:"value"`
	// EventTime is when it happened (default: when it was received).
	EventTime *time.Time `json:"event_time,omitempty"`
}

// MaxEvents is the most events one call takes.
const MaxEvents = 10000

// maxFuture is how far ahead of the server's clock an event time may be.
const maxFuture = 5 * time.Minute

// ErrInvalid marks events that are refused: the error says which and why.
var ErrInvalid = errors.New("invalid feedback")

// record is an accepted event as the log holds it (JSON).
type record struct {
	ID           string    `json:"id"`
	PredictionID string    `json:"prediction_id,omitempty"`
	Endpoint     string    `json:"endpoint,omitempty"`
	Entity       string    `json:"entity,omitempty"`
	Time         time.Time `json:"time,omitzero"`
	Name         string    `json:"name"`
	Value        float64   `json:"value"`
	Bool         bool      `json:"bool,omitempty"` // the value was true or false (1 or 0)
	EventTime    time.Time `json:"event_time"`
	ReceivedAt   time.Time `json:"received_at"`
}

// check validates events received at now and returns them as records.
func check(events []Event, now time.Time) ([]record, error) {
	if len(events) == 0 {
		return nil, fmt.Errorf("%w: events is empty; send at least one", ErrInvalid)
	}
	if len(events) > MaxEvents {
		return nil, fmt.Errorf("%w: %d events; send at most %d per request", ErrInvalid, len(events), MaxEvents)
	}
	recs := make([]record, len(events))
	for i, e := range events {
		r, err := checkEvent(e, now)
		if err != nil {
			return nil, fmt.Errorf("%w: events[%d]: %v", ErrInvalid, i, err)
		}
		recs[i] = r
	}
	return recs, nil
}

func checkEvent(e Event, now time.Time) (record, error) {
	r := record{ID: e.ID, PredictionID: e.PredictionID, Endpoint: e.Endpoint, Entity: e.Entity, Name: e.Name, ReceivedAt: now, EventTime: now}
	switch {
	case len(e.ID) > 200:
		return r, errors.New("id: longer than 200 characters")
	case e.PredictionID == "" && (e.Endpoint == "" || e.Entity == ""):
		return r, errors.New("say which prediction: give prediction_id (from the predict answer), or endpoint and entity (and time, when the prediction was made)")
	case e.Name == "":
		return r, errors.New("name: missing; name what was observed, such as clicked, relevant or purchased")
	case !resource.ValidFeedbackName(e.Name):
		return r, fmt.Errorf("name %q: use lower-case letters, digits and '_', starting with a letter, such as purchased", e.Name)
	}
	if e.Endpoint != "" {
		ref, err := resource.ParseRef(e.Endpoint)
		if err != nil {
			return r, fmt.Errorf("endpoint: %v", err)
		}
		r.Endpoint = ref.String()
	}
	if e.Time != nil {
		r.Time = e.Time.UTC()
	}
	if e.EventTime != nil {
		if e.EventTime.After(now.Add(maxFuture)) {
			return r, fmt.Errorf("event_time %s is in the future (the server's clock says %s)", e.EventTime.UTC().Format(time.RFC3339), now.Format(time.RFC3339))
		}
		r.EventTime = e.EventTime.UTC()
	}
	var b bool
	var f float64
	switch {
	case len(e.Value) == 0 || string(e.Value) == "null":
		return r, errors.New("value: missing; give true or false, or a number")
	case json.Unmarshal(e.Value, &b) == nil:
		r.Bool, r.Value = true, 0
		if b {
			r.Value = 1
		}
	case json.Unmarshal(e.Value, &f) == nil && !math.IsNaN(f) && !math.IsInf(f, 0):
		r.Value = f
	default:
		return r, fmt.Errorf("value %s: give true or false, or a number", e.Value)
	}
	if r.ID == "" {
		r.ID = model.NewPredictionID(now)
	}
	return r, nil
}

// Columns are the columns of the feedback table, in order.
var Columns = []resource.Column{
	{Name: "feedback_id", Type: value.String},
	{Name: "prediction_id", Type: value.String},
	{Name: "endpoint", Type: value.String},
	{Name: "entity", Type: value.String},
	{Name: "prediction_time", Type: value.Timestamp},
	{Name: "name", Type: value.String},
	{Name: "value", Type: value.Float64},
	{Name: "is_bool", Type: value.Bool},
	{Name: "event_time", Type: value.Timestamp},
	{Name: "received_at", Type: value.Timestamp},
	{Name: resource.WriteBatchColumn, Type: value.String},
}

// Table is the offline table feedback is shipped to (every event as
// received, retries included); View holds each event once (the first
// received of each id), and the source Source is registered over it.
var (
	Table  = offline.TableName(resource.ID{Kind: "feedback", Name: "events", Variant: resource.DefaultVariant})
	View   = offline.TableName(resource.ID{Kind: "feedback", Name: "events", Variant: "once"})
	Source = resource.ID{Kind: resource.KindSource, Name: resource.FeedbackSource, Variant: resource.DefaultVariant}
)

// Records ships the feedback log (predictionlog.Records).
type Records struct {
	// Offline makes the view (the offline store shipped to).
	Offline offline.Store
}

// Row decodes a logged event.
func (Records) Row(rec []byte, batch string, row []value.Value) (string, []value.Value, error) {
	var r record
	if err := json.Unmarshal(rec, &r); err != nil {
		return "", row, err
	}
	if r.ID == "" {
		return "", row, errors.New("no feedback id")
	}
	str := func(s string) value.Value {
		if s == "" {
			return value.NullValue()
		}
		return value.FromString(s)
	}
	t := value.NullValue()
	if !r.Time.IsZero() {
		t = value.FromTime(r.Time)
	}
	return "feedback", append(row[:0], value.FromString(r.ID), str(r.PredictionID), str(r.Endpoint), str(r.Entity), t,
		value.FromString(r.Name), value.FromFloat64(r.Value), value.FromBool(r.Bool), value.FromTime(r.EventTime),
		value.FromTime(r.ReceivedAt), value.FromString(batch)), nil
}

// Destination is the feedback table, and the source over its view.
func (f Records) Destination(ctx context.Context, _ string) (*predictionlog.Destination, error) {
	src := &resource.Resource{ID: Source,
		Description: "Every feedback event posted to /v1/feedback, each id once (the first received).",
		Source:      &resource.SourceSpec{Table: View, TimestampColumn: "event_time"}}
	return &predictionlog.Destination{Table: Table, Columns: Columns, Sources: []*resource.Resource{src},
		Prepare: func(ctx context.Context) error {
			q := "SELECT DISTINCT ON (feedback_id) * FROM " + offline.QuoteIdent(Table) + " ORDER BY feedback_id, received_at, write_batch"
			if _, err := f.Offline.CreateTable(ctx, &offline.CreateTableParams{Table: View, SQL: q, View: true}); err != nil {
				return fmt.Errorf("creating the feedback view %s: %w", View, err)
			}
			return nil
		}}, nil
}

// Accepted is what Record answers.
type Accepted struct {
	// IDs are the events' ids, in order (generated where none was given).
	IDs []string `json:"ids"`
}

// Recorder records feedback events into a log.
type Recorder struct {
	Log *predictionlog.Log
	Now func() time.Time
}

// Record validates events and appends them to the log, flushed to disk
// before it returns: accepted events survive a crash. Nothing is appended
// when any event is invalid (an ErrInvalid error naming it).
func (r *Recorder) Record(events []Event) (*Accepted, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	recs, err := check(events, now().UTC())
	if err != nil {
		return nil, err
	}
	out := &Accepted{IDs: make([]string, len(recs))}
	for i, rec := range recs {
		b, err := json.Marshal(&rec)
		if err == nil {
			err = r.Log.WAL.Append(b)
		}
		if err != nil {
			return nil, fmt.Errorf("logging feedback: %w", err)
		}
		out.IDs[i] = rec.ID
	}
	if err := r.Log.WAL.Flush(); err != nil {
		return nil, fmt.Errorf("writing feedback to disk: %w", err)
	}
	return out, nil
}
