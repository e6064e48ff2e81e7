package platform

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/slipway-ml/slipway/predictionlog"
)

// PredictionLogDir is the prediction log's directory in the data
// directory, when slipway.yaml's prediction_log: names none.
const PredictionLogDir = "prediction-log"

// predictionLogCloseTimeout bounds the last shipping when the platform
// closes; what is not shipped by then stays on disk for the next process.
const predictionLogCloseTimeout = 10 * time.Second

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
	p.mu.Lock()
	l := p.predictionLog
	p.mu.Unlock()
	if l != nil {
		return l, nil
	}
	c, err := p.coordinator(ctx, true, false)
	if err != nil {
		return nil, err
	}
	dir := cfg.Dir // config.Load makes a relative one relative to slipway.yaml
	if dir == "" {
		dir = filepath.Join(p.opts.DataDir, PredictionLogDir)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.predictionLog != nil {
		return p.predictionLog, nil
	}
	wal := predictionlog.WALConfig{Dir: dir, MaxBytes: cfg.MaxBytes}
	if cfg.MaxBytes > 0 {
		// At least two segments fit under a small cap.
		wal.SegmentBytes = min(16<<20, cfg.MaxBytes/2)
	}
	l, err = predictionlog.Open(predictionlog.Config{
		WAL:         wal,
		Coordinator: c, ShipInterval: cfg.ShipInterval, Logger: p.log,
	})
	if err != nil {
		return nil, fmt.Errorf("opening the prediction log: %w", err)
	}
	p.predictionLog = l
	p.work.Add(1)
	go func() {
		defer p.work.Done()
		l.Shipper.Run(p.bg)
	}()
	return l, nil
}

// closePredictionLog ships what it can and closes the log; Close calls it
// once the background work has stopped, before the stores close.
func (p *Platform) closePredictionLog() error {
	if p.predictionLog == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), predictionLogCloseTimeout)
	defer cancel()
	err := p.predictionLog.Close(ctx)
	p.predictionLog = nil
	return err
}
