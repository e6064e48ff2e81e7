package predictionlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
)

// Config configures a process's prediction log.
type Config struct {
	WAL WALConfig
	// Records says how its records are shipped (Predictions for a
	// prediction log; its Registry is the Coordinator's when unset).
	Records Records
	// Coordinator gives the offline store the log is shipped to, and the
	// registry its sources are registered in.
	Coordinator *coordinator.Coordinator
	// ShipInterval is how often entries are shipped (DefaultShipInterval
	// when zero).
	ShipInterval time.Duration
	Logger       *slog.Logger
}

// Log is a process's prediction log: its WAL, locked to the process (two
// processes never share one), the Logger serving calls, and the Shipper
// moving entries into the offline store.
type Log struct {
	WAL     *WAL
	Logger  *Logger
	Shipper *Shipper
	lock    *os.File
}

// Open opens (or creates) the log in cfg.WAL.Dir. It fails when another
// process holds the directory.
func Open(cfg Config) (*Log, error) {
	if err := cfg.WAL.Validate(); err != nil {
		return nil, err
	}
	if p, ok := cfg.Records.(Predictions); ok && p.Registry == nil && cfg.Coordinator != nil {
		cfg.Records = Predictions{Registry: cfg.Coordinator.Registry}
	}
	if cfg.Records == nil {
		return nil, fmt.Errorf("log %s: nothing says how its records are shipped (Records)", cfg.WAL.Dir)
	}
	if err := os.MkdirAll(cfg.WAL.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the prediction log directory: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(cfg.WAL.Dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking the prediction log: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("the prediction log %s is in use by another slipway process: give each process its own prediction_log: dir in slipway.yaml (%w)", cfg.WAL.Dir, err)
	}
	instance, err := Instance(cfg.WAL.Dir)
	if err != nil {
		lock.Close()
		return nil, err
	}
	if cfg.WAL.Logger == nil {
		cfg.WAL.Logger = cfg.Logger
	}
	wal, err := OpenWAL(cfg.WAL)
	if err != nil {
		lock.Close()
		return nil, err
	}
	return &Log{
		WAL:    wal,
		Logger: &Logger{WAL: wal},
		Shipper: &Shipper{WAL: wal, Records: cfg.Records, Coordinator: cfg.Coordinator, Instance: instance,
			Interval: cfg.ShipInterval, Logger: cfg.Logger},
		lock: lock,
	}, nil
}

// Close flushes the log, ships what it can until ctx ends (what it cannot
// waits on disk for the next process), and releases the directory.
func (l *Log) Close(ctx context.Context) error {
	err := l.WAL.Flush()
	if err == nil {
		_, err = l.Shipper.Ship(ctx)
		if err != nil {
			err = fmt.Errorf("shipping the prediction log before closing (the entries stay on disk and are shipped by the next slipway serve): %w", err)
		}
	}
	err = errors.Join(err, l.WAL.Close())
	return errors.Join(err, l.lock.Close())
}
