package platform

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/feedback"
	"github.com/slipway-ml/slipway/predictionlog"
)

// PredictionLogDir is the prediction log's directory in the data
// directory, when slipway.yaml's prediction_log: names none; the feedback
// log is its subdirectory FeedbackLogDir.
const (
	PredictionLogDir = "prediction-log"
	FeedbackLogDir   = "feedback"
)

// logCloseTimeout bounds the last shipping of each log when the platform
// closes; what is not shipped by then stays on disk for the next process.
const logCloseTimeout = 10 * time.Second

// PredictionLog returns this process's prediction log (slipway.yaml's
// prediction_log:), opening it on first use and shipping it into the
// offline store in the background until Close; nil when the log is
// disabled or the platform is read-only. Predictions answered by Predict
// are logged to it; `slipway serve` logs its endpoints' answers to it.
func (p *Platform) PredictionLog(ctx context.Context) (*predictionlog.Log, error) {
	cfg := p.opts.Config.PredictionLog
	if cfg.Disabled || p.opts.ReadOnly {
		return nil, nil
	}
	return p.openLog(ctx, &p.predictionLog, p.logDir(), func(*coordinator.Coordinator) predictionlog.Records { return predictionlog.Predictions{} })
}

// feedbackLog returns this process's feedback log, opened like the
// prediction log (in its directory's FeedbackLogDir), whether or not the
// prediction log is enabled.
func (p *Platform) feedbackLog(ctx context.Context) (*predictionlog.Log, error) {
	if p.opts.ReadOnly {
		return nil, errors.New("feedback cannot be recorded by a read-only command")
	}
	return p.openLog(ctx, &p.feedback, filepath.Join(p.logDir(), FeedbackLogDir), func(c *coordinator.Coordinator) predictionlog.Records {
		return feedback.Records{Offline: c.Offline}
	})
}

// logDir is the prediction log's directory.
func (p *Platform) logDir() string {
	if dir := p.opts.Config.PredictionLog.Dir; dir != "" {
		return dir // config.Load makes a relative one relative to slipway.yaml
	}
	return filepath.Join(p.opts.DataDir, PredictionLogDir)
}

// openLog opens the log *slot holds, or opens one in dir shipping records
// as records says, and ships it in the background until Close.
func (p *Platform) openLog(ctx context.Context, slot **predictionlog.Log, dir string, records func(*coordinator.Coordinator) predictionlog.Records) (*predictionlog.Log, error) {
	p.mu.Lock()
	l := *slot
	p.mu.Unlock()
	if l != nil {
		return l, nil
	}
	c, err := p.coordinator(ctx, true, false)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if *slot != nil {
		return *slot, nil
	}
	cfg := p.opts.Config.PredictionLog
	wal := predictionlog.WALConfig{Dir: dir, MaxBytes: cfg.MaxBytes}
	if cfg.MaxBytes > 0 {
		// At least two segments fit under a small cap.
		wal.SegmentBytes = min(16<<20, cfg.MaxBytes/2)
	}
	l, err = predictionlog.Open(predictionlog.Config{WAL: wal, Records: records(c), Coordinator: c, ShipInterval: cfg.ShipInterval, Logger: p.log})
	if err != nil {
		return nil, fmt.Errorf("opening the log in %s: %w", dir, err)
	}
	*slot = l
	p.work.Add(1)
	go func() {
		defer p.work.Done()
		l.Shipper.Run(p.bg)
	}()
	return l, nil
}

// closeLogs ships what it can and closes the logs; Close calls it once the
// background work has stopped, before the stores close.
func (p *Platform) closeLogs() error {
	var errs []error
	for _, slot := range []**predictionlog.Log{&p.predictionLog, &p.feedback} {
		if *slot == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), logCloseTimeout)
		errs = append(errs, (*slot).Close(ctx))
		cancel()
		*slot = nil
	}
	return errors.Join(errs...)
}

// RecordFeedback validates feedback events and records them, on disk
// before it returns; they are shipped into the offline store's source
// feedback.
func (p *Platform) RecordFeedback(ctx context.Context, events []feedback.Event) (*feedback.Accepted, error) {
	l, err := p.feedbackLog(ctx)
	if err != nil {
		return nil, err
	}
	res, err := (&feedback.Recorder{Log: l, Now: p.opts.Now}).Record(events)
	if errors.Is(err, feedback.ErrInvalid) {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return res, err
}

// FeedbackStatus counts the feedback shipped into the offline store by
// name, matched and unmatched to logged predictions.
func (p *Platform) FeedbackStatus(ctx context.Context) (*feedback.Status, error) {
	c, err := p.coordinator(ctx, true, false)
	if err != nil {
		return nil, err
	}
	return feedback.Report(ctx, c.Registry, c.Offline)
}
