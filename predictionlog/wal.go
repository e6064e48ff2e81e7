package predictionlog

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by the methods of a WAL after Close.
var ErrClosed = errors.New("prediction log closed")

// errCorrupt marks a record whose frame or checksum is wrong.
var errCorrupt = errors.New("corrupt record")

const (
	defaultSegmentBytes  = 16 << 20
	defaultMaxBytes      = 1 << 30
	defaultFlushInterval = 50 * time.Millisecond
	// maxFlushInterval leaves 50 ms of the 200 ms promise for the write itself.
	maxFlushInterval = 150 * time.Millisecond

	// A record is framed as: length of the payload (uint32, little endian),
	// CRC32-C of the length bytes and the payload (uint32, little endian),
	// payload. The length is in the checksum so that a zero-filled tail
	// (a file extended but not written before a crash) is not read as
	// empty records.
	headerSize = 8

	segmentSuffix  = ".wal"
	checkpointName = "checkpoint.json"
)

// maxBufferBytes bounds the bytes appended but not yet written: beyond it the
// disk is stalled and records are dropped rather than making Append wait. A
// variable so that tests can lower it.
var maxBufferBytes = 32 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// WALConfig configures a WAL. Zero values take the defaults.
type WALConfig struct {
	Dir          string // required; created if missing
	SegmentBytes int64  // a segment is cut once it reaches this size (default 16 MiB)
	// MaxBytes is the log's size cap on disk (default 1 GiB): beyond it the
	// oldest segments are deleted, shipped or not, and their records counted
	// in Stats.Dropped. At least twice SegmentBytes.
	MaxBytes int64
	// FlushInterval is how often appended records are written to the file
	// at least (default 50 ms), each write fsynced right after by another
	// goroutine; at most 150 ms so that a record appended 200 ms before a
	// crash is on disk, with margin.
	FlushInterval time.Duration
	Logger        *slog.Logger
}

func (c WALConfig) withDefaults() WALConfig {
	if c.SegmentBytes == 0 {
		c.SegmentBytes = defaultSegmentBytes
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = defaultMaxBytes
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = defaultFlushInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first invalid field of c, with defaults applied to
// zero values.
func (c WALConfig) Validate() error {
	if c.Dir == "" {
		return errors.New("prediction log: dir is empty: set the directory the log is kept in")
	}
	if c.SegmentBytes < 0 {
		return fmt.Errorf("prediction log: segment bytes %d is negative: set a positive size, or 0 for the default (%d)", c.SegmentBytes, defaultSegmentBytes)
	}
	if c.MaxBytes < 0 {
		return fmt.Errorf("prediction log: max bytes %d is negative: set a positive size, or 0 for the default (%d)", c.MaxBytes, defaultMaxBytes)
	}
	if c.FlushInterval < 0 {
		return fmt.Errorf("prediction log: flush interval %s is negative: set a positive interval, or 0 for the default (%s)", c.FlushInterval, defaultFlushInterval)
	}
	d := c.withDefaults()
	if d.FlushInterval > maxFlushInterval {
		return fmt.Errorf("prediction log: flush interval %s is over %s: predictions answered 200 ms before a crash could be lost; set at most %s", d.FlushInterval, maxFlushInterval, maxFlushInterval)
	}
	if d.MaxBytes < 2*d.SegmentBytes {
		return fmt.Errorf("prediction log: max bytes %d is less than twice the segment bytes %d: the log could not keep a full segment beside the one being written; raise max bytes or lower segment bytes", d.MaxBytes, d.SegmentBytes)
	}
	return nil
}

// Position is a place in the log; the zero Position is the start of the
// oldest segment.
type Position struct {
	Segment uint64
	Offset  int64
}

func (p Position) less(q Position) bool {
	return p.Segment < q.Segment || (p.Segment == q.Segment && p.Offset < q.Offset)
}

// Stats describes a WAL.
type Stats struct {
	Bytes    int64 // on disk, in segment files
	Segments int   // segment files on disk
	// Dropped counts the records dropped since the log was created (the
	// oldest segments deleted unshipped by the size cap, records refused
	// while the disk was stalled); persisted across restarts.
	Dropped int64
	// Pending is the bytes appended but not yet acked, framing included.
	Pending int64
}

// checkpoint is the state kept in checkpoint.json, replaced atomically.
type checkpoint struct {
	AckSegment uint64 `json:"ack_segment"`
	AckOffset  int64  `json:"ack_offset"`
	Dropped    int64  `json:"dropped"`
	// DroppedThrough is the newest segment deleted by the size cap: its
	// records are counted in Dropped, so a segment up to it still on disk
	// at open (a crash between the checkpoint and the delete) is deleted
	// without being counted again.
	DroppedThrough uint64 `json:"dropped_through"`
}

func (c checkpoint) ack() Position { return Position{Segment: c.AckSegment, Offset: c.AckOffset} }

type segment struct {
	index uint64
	size  int64 // bytes written and fsynced: the part readers may see
}

// WAL is the local append-only log of predictions: numbered segment files of
// framed records, written by a background goroutine. See the package
// documentation for its durability promises.
type WAL struct {
	cfg WALConfig
	log *slog.Logger

	// mu guards the append buffer; Append holds it only to copy a record.
	mu     sync.Mutex
	buf    []byte
	closed bool

	bufDropped   atomic.Int64 // records refused by Append since open
	lastDropWarn atomic.Int64 // unix nanos of the last warning about them
	lastIOWarn   atomic.Int64
	lastSlowWarn atomic.Int64

	// ioMu serialises writing the active segment, cutting segments, acking,
	// and deleting segments.
	ioMu         sync.Mutex
	spare        []byte
	active       *os.File
	activeFailed bool // a write failed: cut a new segment before the next
	cutTook      time.Duration

	// The syncer fsyncs what the flusher wrote, so that a slow fsync does
	// not hold back the next write (which is what survives a kill -9).
	// syncMu guards the files it has to fsync; syncRunMu serialises fsync
	// passes (the syncer's, Flush's, Close's).
	syncMu     sync.Mutex
	syncActive *os.File   // the active segment
	syncFull   []*os.File // full segments not yet fsynced; closed once they are
	syncDir    bool       // a segment was created: fsync the directory
	syncRunMu  sync.Mutex
	syncKick   chan struct{}

	// stateMu guards segs, ck and bufPersisted for readers (Read, Stats);
	// writers hold ioMu too.
	stateMu      sync.Mutex
	segs         []segment // oldest first; the last is the active one
	ck           checkpoint
	bufPersisted int64 // how much of bufDropped is counted in ck.Dropped

	stop     chan struct{}
	done     chan struct{}
	syncStop chan struct{}
	syncDone chan struct{}
}

// OpenWAL opens the log in cfg.Dir, creating it if missing. A torn or
// corrupt tail of the last segment is truncated to the last whole record,
// and what was cut is logged. Appends go to a new segment.
func OpenWAL(cfg WALConfig) (*WAL, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	w := &WAL{
		cfg: cfg, log: cfg.Logger.With("prediction_log", cfg.Dir),
		syncKick: make(chan struct{}, 1),
		stop:     make(chan struct{}), done: make(chan struct{}),
		syncStop: make(chan struct{}), syncDone: make(chan struct{}),
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("opening prediction log: %w", err)
	}
	if err := os.Remove(filepath.Join(cfg.Dir, checkpointName+".tmp")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("opening prediction log: %w", err)
	}
	ck, err := readCheckpoint(cfg.Dir)
	if err != nil {
		return nil, err
	}
	w.ck = ck
	indexes, err := listSegments(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("opening prediction log %s: %w", cfg.Dir, err)
	}
	var next uint64 = 1
	next = max(next, ck.AckSegment+1, ck.DroppedThrough+1)
	for _, idx := range indexes {
		next = max(next, idx+1)
		if idx <= ck.DroppedThrough || idx < ck.AckSegment {
			// Deleted by the size cap or acked; a crash came before the delete.
			if err := os.Remove(w.segmentPath(idx)); err != nil {
				return nil, fmt.Errorf("opening prediction log: deleting segment %d: %w", idx, err)
			}
			continue
		}
		fi, err := os.Stat(w.segmentPath(idx))
		if err != nil {
			return nil, fmt.Errorf("opening prediction log: %w", err)
		}
		w.segs = append(w.segs, segment{index: idx, size: fi.Size()})
	}
	if n := len(w.segs); n > 0 {
		last := &w.segs[n-1]
		size, err := w.repair(*last)
		if err != nil {
			return nil, err
		}
		last.size = size
		if size == 0 {
			// Reuse an empty last segment rather than leave it behind.
			f, err := os.OpenFile(w.segmentPath(last.index), os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return nil, fmt.Errorf("opening prediction log: %w", err)
			}
			w.active = f
			w.syncActive = f
		}
	}
	if w.active == nil {
		if err := w.createSegment(next); err != nil {
			return nil, fmt.Errorf("opening prediction log: %w", err)
		}
	}
	go w.run()
	go w.runSync()
	return w, nil
}

// repair truncates segment s after its last whole, uncorrupted record and
// returns its size.
func (w *WAL) repair(s segment) (int64, error) {
	path := w.segmentPath(s.index)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("opening prediction log: %w", err)
	}
	defer f.Close()
	rr := newRecordReader(f, 0, s.size)
	records := 0
	var scratch []byte
	for {
		if scratch, err = rr.next(scratch[:0]); err != nil {
			if errors.Is(err, io.EOF) {
				return s.size, nil
			}
			if !errors.Is(err, errCorrupt) {
				return 0, fmt.Errorf("opening prediction log: reading %s: %w", path, err)
			}
			break
		}
		records++
	}
	w.log.Warn("prediction log: cut a torn tail (a crash interrupted a write)",
		"segment", path, "kept_records", records, "kept_bytes", rr.off, "cut_bytes", s.size-rr.off)
	if err := f.Truncate(rr.off); err != nil {
		return 0, fmt.Errorf("opening prediction log: truncating torn tail of %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("opening prediction log: %w", err)
	}
	return rr.off, nil
}

func (w *WAL) segmentPath(index uint64) string {
	return filepath.Join(w.cfg.Dir, fmt.Sprintf("%020d%s", index, segmentSuffix))
}

// listSegments returns the indexes of the segment files in dir, ascending.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var indexes []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segmentSuffix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		idx, err := strconv.ParseUint(name, 10, 64)
		if err != nil || idx == 0 {
			continue
		}
		indexes = append(indexes, idx)
	}
	slices.Sort(indexes)
	return indexes, nil
}

// createSegment creates segment index and makes it the active one. The
// caller holds ioMu (or is OpenWAL).
func (w *WAL) createSegment(index uint64) error {
	f, err := os.OpenFile(w.segmentPath(index), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	w.syncMu.Lock()
	if w.syncActive != nil {
		w.syncFull = append(w.syncFull, w.syncActive)
	}
	w.syncActive = f
	w.syncDir = true
	w.syncMu.Unlock()
	w.stateMu.Lock()
	w.segs = append(w.segs, segment{index: index})
	w.stateMu.Unlock()
	w.active = f
	w.activeFailed = false
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Append adds a copy of rec to the log. It never waits for the disk, only on
// a mutex while rec is copied into memory; a background goroutine writes and
// fsyncs every FlushInterval. When the records not yet written would exceed
// 32 MiB (the disk is stalled) rec is dropped, counted in Stats.Dropped and
// a warning logged at most once a second; Append still returns nil, since a
// prediction must not fail for its log. It returns ErrClosed after Close.
func (w *WAL) Append(rec []byte) error {
	if len(rec) > maxBufferBytes-headerSize {
		return fmt.Errorf("prediction log: record of %d bytes is over the %d byte limit", len(rec), maxBufferBytes-headerSize)
	}
	crc := crc32.Update(crcOfLength(uint32(len(rec))), castagnoli, rec)

	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	if len(w.buf)+headerSize+len(rec) > maxBufferBytes {
		w.mu.Unlock()
		n := w.bufDropped.Add(1)
		if w.rateLimit(&w.lastDropWarn) {
			w.log.Warn("prediction log: the disk is not keeping up; dropping predictions", "buffer_bytes", maxBufferBytes, "dropped_since_open", n)
		}
		return nil
	}
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(len(rec)))
	w.buf = binary.LittleEndian.AppendUint32(w.buf, crc)
	w.buf = append(w.buf, rec...)
	w.mu.Unlock()
	return nil
}

// crcOfLength returns crc32.Checksum of n's 4 little-endian bytes with the
// Castagnoli table, computed without a byte slice, which would escape to
// the heap through crc32's indirect calls and cost Append an allocation.
func crcOfLength(n uint32) uint32 {
	crc := ^uint32(0)
	for range 4 {
		crc = castagnoli[byte(crc)^byte(n)] ^ (crc >> 8)
		n >>= 8
	}
	return ^crc
}

// rateLimit reports whether a second has passed since *last, and if so
// moves *last to now.
func (w *WAL) rateLimit(last *atomic.Int64) bool {
	now := time.Now().UnixNano()
	prev := last.Load()
	return now-prev >= int64(time.Second) && last.CompareAndSwap(prev, now)
}

func (w *WAL) run() {
	defer close(w.done)
	t := time.NewTicker(w.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			if err := w.flush(); err != nil && w.rateLimit(&w.lastIOWarn) {
				w.log.Error("prediction log: writing to disk; retrying", "err", err)
			}
			select {
			case w.syncKick <- struct{}{}:
			default:
			}
		}
	}
}

// runSync fsyncs what was written, as soon as it was written.
func (w *WAL) runSync() {
	defer close(w.syncDone)
	for {
		select {
		case <-w.syncStop:
			return
		case <-w.syncKick:
			if err := w.sync(); err != nil && w.rateLimit(&w.lastIOWarn) {
				w.log.Error("prediction log: fsync; records written since the last fsync could be lost in a power failure", "err", err)
			}
		}
	}
}

// sync fsyncs the full segments not yet fsynced (and closes them), the
// directory if a segment was created, and the active segment.
func (w *WAL) sync() error {
	w.syncRunMu.Lock()
	defer w.syncRunMu.Unlock()
	w.syncMu.Lock()
	full, active, dir := w.syncFull, w.syncActive, w.syncDir
	w.syncFull, w.syncDir = nil, false
	w.syncMu.Unlock()

	var errs []error
	for _, f := range full {
		if err := f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("fsync %s: %w", f.Name(), err))
		}
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing %s: %w", f.Name(), err))
		}
	}
	if dir {
		if err := syncDir(w.cfg.Dir); err != nil {
			errs = append(errs, fmt.Errorf("fsync %s: %w", w.cfg.Dir, err))
			w.syncMu.Lock()
			w.syncDir = true
			w.syncMu.Unlock()
		}
	}
	if active != nil {
		if err := active.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("fsync %s: %w", active.Name(), err))
		}
	}
	return errors.Join(errs...)
}

func (w *WAL) isClosed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed
}

// Flush writes and fsyncs the appended records now.
func (w *WAL) Flush() error {
	if w.isClosed() {
		return ErrClosed
	}
	if err := w.flush(); err != nil {
		return err
	}
	return w.sync()
}

func (w *WAL) flush() error {
	w.ioMu.Lock()
	defer w.ioMu.Unlock()

	w.mu.Lock()
	batch := w.buf
	w.buf = w.spare[:0]
	w.mu.Unlock()
	w.spare = nil

	start := time.Now()
	w.cutTook = 0
	written, err := w.writeBatch(batch)
	if took := time.Since(start); took > w.cfg.FlushInterval && w.rateLimit(&w.lastSlowWarn) {
		w.log.Warn("prediction log: a write took longer than the flush interval; the disk is slow", "bytes", written, "took", took, "creating_segments_took", w.cutTook, "flush_interval", w.cfg.FlushInterval)
	}
	if err != nil {
		// Put back what was not written, ahead of what came since.
		w.mu.Lock()
		rest := make([]byte, 0, len(batch)-written+len(w.buf))
		rest = append(rest, batch[written:]...)
		w.buf = append(rest, w.buf...)
		w.mu.Unlock()
		return err
	}
	w.spare = batch[:0]
	return w.enforceLimits()
}

// writeBatch writes the framed records in batch to the active segment,
// cutting segments at SegmentBytes; the syncer fsyncs them. It returns how
// many bytes of batch are written. The caller holds ioMu.
func (w *WAL) writeBatch(batch []byte) (int, error) {
	done := 0
	for done < len(batch) {
		last := w.segs[len(w.segs)-1]
		if w.activeFailed || (last.size > 0 && last.size >= w.cfg.SegmentBytes) {
			if err := w.cut(); err != nil {
				return done, err
			}
			last = w.segs[len(w.segs)-1]
		}
		// Whole records up to the segment's room; at least one in an empty
		// segment, since a record is never split.
		room := w.cfg.SegmentBytes - last.size
		n := 0
		for done+n < len(batch) {
			l := headerSize + int(binary.LittleEndian.Uint32(batch[done+n:]))
			if int64(n+l) > room && (n > 0 || last.size > 0) {
				break
			}
			n += l
		}
		if n == 0 {
			if err := w.cut(); err != nil {
				return done, err
			}
			continue
		}
		if _, err := w.active.Write(batch[done : done+n]); err != nil {
			// Take back what may have reached the file, so that the retry,
			// in a new segment, does not write a record twice.
			if terr := w.active.Truncate(last.size); terr != nil {
				w.log.Error("prediction log: truncating after a failed write; the segment's tail will be skipped as corrupt", "segment", w.segmentPath(last.index), "err", terr)
			}
			w.activeFailed = true
			return done, fmt.Errorf("writing prediction log segment %s: %w", w.segmentPath(last.index), err)
		}
		done += n
		w.stateMu.Lock()
		w.segs[len(w.segs)-1].size += int64(n)
		w.stateMu.Unlock()
	}
	return done, nil
}

// cut starts the next segment; the syncer fsyncs and closes the full one.
func (w *WAL) cut() error {
	last := w.segs[len(w.segs)-1]
	start := time.Now()
	defer func() { w.cutTook += time.Since(start) }()
	if err := w.createSegment(last.index + 1); err != nil {
		return fmt.Errorf("cutting prediction log segment: %w", err)
	}
	return nil
}

// enforceLimits deletes the oldest segments while the log is over MaxBytes,
// counting their unshipped records as dropped, and persists the count of
// records Append refused. The caller holds ioMu.
func (w *WAL) enforceLimits() error {
	ck := w.ck
	var total int64
	for _, s := range w.segs {
		total += s.size
	}
	del := 0
	for total > w.cfg.MaxBytes && del < len(w.segs)-1 {
		s := w.segs[del]
		from := int64(0)
		switch {
		case s.index < ck.AckSegment:
			from = s.size // all shipped
		case s.index == ck.AckSegment:
			from = min(ck.AckOffset, s.size)
		}
		n, err := w.countRecords(s, from)
		if err != nil {
			return err
		}
		ck.Dropped += n
		ck.DroppedThrough = s.index
		total -= s.size
		del++
		w.log.Warn("prediction log: over its size cap; deleted the oldest segment unshipped", "segment", w.segmentPath(s.index), "max_bytes", w.cfg.MaxBytes, "dropped_records", n)
	}
	bufDropped := w.bufDropped.Load()
	ck.Dropped += bufDropped - w.bufPersisted
	if ck == w.ck {
		return nil
	}
	if err := writeCheckpoint(w.cfg.Dir, ck); err != nil {
		return err
	}
	deleted := w.segs[:del]
	w.stateMu.Lock()
	w.ck = ck
	w.bufPersisted = bufDropped
	w.segs = slices.Clone(w.segs[del:])
	w.stateMu.Unlock()
	return w.removeSegments(deleted)
}

func (w *WAL) removeSegments(segs []segment) error {
	for _, s := range segs {
		if err := os.Remove(w.segmentPath(s.index)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("deleting prediction log segment: %w", err)
		}
	}
	return nil
}

// countRecords counts the whole records of s from offset from.
func (w *WAL) countRecords(s segment, from int64) (int64, error) {
	if from >= s.size {
		return 0, nil
	}
	f, err := os.Open(w.segmentPath(s.index))
	if err != nil {
		return 0, fmt.Errorf("counting records of prediction log segment: %w", err)
	}
	defer f.Close()
	rr := newRecordReader(f, from, s.size)
	var n int64
	var scratch []byte
	for {
		scratch, err = rr.next(scratch[:0])
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if errors.Is(err, errCorrupt) {
			w.log.Error("prediction log: corrupt record in a segment being deleted; the records after it are not counted", "segment", w.segmentPath(s.index), "offset", rr.off)
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("counting records of prediction log segment %s: %w", w.segmentPath(s.index), err)
		}
		n++
	}
}

// Close flushes the log and stops its goroutine.
func (w *WAL) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	close(w.syncStop)
	<-w.syncDone
	err := w.flush()
	if serr := w.sync(); err == nil {
		err = serr
	}
	w.ioMu.Lock()
	defer w.ioMu.Unlock()
	if cerr := w.active.Close(); err == nil {
		err = cerr
	}
	return err
}

// Read returns up to max records at or after from that are on disk
// (flushed), in append order, and the position where the following Read
// starts. It returns (nil, from, nil) when there is nothing new. If from
// points into a segment deleted by the size cap, reading continues from the
// oldest remaining segment.
func (w *WAL) Read(from Position, max int) (recs [][]byte, next Position, err error) {
	if max <= 0 {
		return nil, from, fmt.Errorf("reading prediction log: max %d is not positive", max)
	}
	if w.isClosed() {
		return nil, from, ErrClosed
	}
	pos := from
	for attempt := 0; ; attempt++ {
		w.stateMu.Lock()
		segs := slices.Clone(w.segs)
		w.stateMu.Unlock()

		i, err := locate(segs, &pos)
		if err != nil {
			return nil, from, err
		}
		var vanished bool
		recs, pos, vanished, err = w.readSegments(segs, i, pos, recs, max)
		if err != nil {
			return nil, from, err
		}
		if vanished && attempt < 10 {
			continue // deleted by the size cap while reading: look again
		}
		break
	}
	if len(recs) == 0 {
		return nil, from, nil
	}
	return recs, pos, nil
}

// locate returns the index in segs of the segment pos is in, moving pos to
// the start of the oldest segment when its own was deleted.
func locate(segs []segment, pos *Position) (int, error) {
	i, found := slices.BinarySearchFunc(segs, pos.Segment, func(s segment, idx uint64) int {
		switch {
		case s.index < idx:
			return -1
		case s.index > idx:
			return 1
		}
		return 0
	})
	if i == len(segs) {
		return 0, fmt.Errorf("reading prediction log: position %d:%d is past the end of the log (last segment %d)", pos.Segment, pos.Offset, segs[len(segs)-1].index)
	}
	if !found {
		*pos = Position{Segment: segs[i].index}
		return i, nil
	}
	if pos.Offset > segs[i].size {
		return 0, fmt.Errorf("reading prediction log: position %d:%d is past the end of segment %d (%d bytes)", pos.Segment, pos.Offset, pos.Segment, segs[i].size)
	}
	return i, nil
}

// readSegments appends to recs the records from pos on, starting in segs[i],
// until it has max. vanished reports a segment deleted before it was opened.
func (w *WAL) readSegments(segs []segment, i int, pos Position, recs [][]byte, max int) (_ [][]byte, _ Position, vanished bool, _ error) {
	var arena []byte
	for ; i < len(segs) && len(recs) < max; i++ {
		s := segs[i]
		if pos.Offset < s.size {
			f, err := os.Open(w.segmentPath(s.index))
			if errors.Is(err, fs.ErrNotExist) {
				return recs, pos, true, nil
			}
			if err != nil {
				return nil, pos, false, fmt.Errorf("reading prediction log: %w", err)
			}
			rr := newRecordReader(f, pos.Offset, s.size)
			for len(recs) < max {
				// Records are read into shared chunks of memory, not one
				// allocation each.
				if cap(arena)-len(arena) < readChunk/16 {
					arena = make([]byte, 0, readChunk)
				}
				out, err := rr.next(arena)
				if errors.Is(err, io.EOF) {
					break
				}
				if errors.Is(err, errCorrupt) && i < len(segs)-1 {
					w.log.Error("prediction log: corrupt record; skipping the rest of the segment", "segment", w.segmentPath(s.index), "offset", rr.off)
					rr.off = s.size
					break
				}
				if err != nil {
					f.Close()
					return nil, pos, false, fmt.Errorf("reading prediction log segment %s at offset %d: %w", w.segmentPath(s.index), rr.off, err)
				}
				recs = append(recs, out[len(arena):len(out):len(out)])
				arena = out
			}
			f.Close()
			pos.Offset = rr.off
		}
		if pos.Offset < s.size || i == len(segs)-1 {
			break
		}
		pos = Position{Segment: segs[i+1].index}
	}
	return recs, pos, false, nil
}

// Ack records that the records before p are shipped: it persists p in the
// checkpoint file and deletes the segments wholly before p. An Ack at or
// before the last one does nothing.
func (w *WAL) Ack(p Position) error {
	if w.isClosed() {
		return ErrClosed
	}
	w.ioMu.Lock()
	defer w.ioMu.Unlock()
	ck := w.ck
	if !ck.ack().less(p) {
		return nil
	}
	last := w.segs[len(w.segs)-1]
	if last.index < p.Segment || (last.index == p.Segment && last.size < p.Offset) {
		return fmt.Errorf("acking prediction log: position %d:%d is past the end of the log (%d:%d)", p.Segment, p.Offset, last.index, last.size)
	}
	for _, s := range w.segs {
		if s.index == p.Segment && s.size < p.Offset {
			return fmt.Errorf("acking prediction log: position %d:%d is past the end of segment %d (%d bytes)", p.Segment, p.Offset, s.index, s.size)
		}
	}
	ck.AckSegment, ck.AckOffset = p.Segment, p.Offset
	if err := writeCheckpoint(w.cfg.Dir, ck); err != nil {
		return err
	}
	del := 0
	for del < len(w.segs)-1 && w.segs[del].index < p.Segment {
		del++
	}
	deleted := w.segs[:del]
	w.stateMu.Lock()
	w.ck = ck
	w.segs = slices.Clone(w.segs[del:])
	w.stateMu.Unlock()
	return w.removeSegments(deleted)
}

// Acked returns the position of the last Ack (as read back at open).
func (w *WAL) Acked() Position {
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	return w.ck.ack()
}

// Stats returns the log's size, drops and backlog.
func (w *WAL) Stats() Stats {
	w.mu.Lock()
	buffered := int64(len(w.buf))
	w.mu.Unlock()
	dropped := w.bufDropped.Load()

	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	st := Stats{Segments: len(w.segs), Dropped: w.ck.Dropped - w.bufPersisted + dropped, Pending: buffered}
	for _, s := range w.segs {
		st.Bytes += s.size
		switch {
		case s.index > w.ck.AckSegment:
			st.Pending += s.size
		case s.index == w.ck.AckSegment:
			st.Pending += s.size - min(w.ck.AckOffset, s.size)
		}
	}
	return st
}

func readCheckpoint(dir string) (checkpoint, error) {
	path := filepath.Join(dir, checkpointName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return checkpoint{}, nil
	}
	if err != nil {
		return checkpoint{}, fmt.Errorf("opening prediction log: %w", err)
	}
	var ck checkpoint
	if err := json.Unmarshal(b, &ck); err != nil {
		return checkpoint{}, fmt.Errorf("opening prediction log: checkpoint %s is unreadable (%v): delete it to ship the whole log again (the offline store skips prediction ids it holds) and to restart the drop count", path, err)
	}
	return ck, nil
}

// writeCheckpoint replaces the checkpoint file atomically: a temporary file,
// fsynced, renamed over it, and the directory fsynced.
func writeCheckpoint(dir string, ck checkpoint) error {
	b, err := json.Marshal(ck)
	if err != nil {
		return fmt.Errorf("writing prediction log checkpoint: %w", err)
	}
	tmp := filepath.Join(dir, checkpointName+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing prediction log checkpoint: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, checkpointName))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("writing prediction log checkpoint: %w", err)
	}
	return nil
}

// readChunk is the size of the chunks of memory Read reads records into.
const readChunk = 1 << 20

// recordReader reads framed records from a segment file between two
// offsets.
type recordReader struct {
	r   *bufio.Reader
	off int64 // offset of the next record in the segment
	end int64
	hdr [headerSize]byte
}

func newRecordReader(f *os.File, from, end int64) *recordReader {
	return &recordReader{r: bufio.NewReaderSize(io.NewSectionReader(f, from, end-from), 64<<10), off: from, end: end}
}

// next returns the next record appended to buf, io.EOF at the end, or an error wrapping errCorrupt at a torn or
// corrupt record; off is then the offset of that record.
func (rr *recordReader) next(buf []byte) ([]byte, error) {
	if rr.off == rr.end {
		return nil, io.EOF
	}
	if rr.end-rr.off < headerSize {
		return nil, fmt.Errorf("%w: %d bytes left, short of a header", errCorrupt, rr.end-rr.off)
	}
	if _, err := io.ReadFull(rr.r, rr.hdr[:]); err != nil {
		return nil, err
	}
	n := int64(binary.LittleEndian.Uint32(rr.hdr[0:4]))
	if n > rr.end-rr.off-headerSize {
		return nil, fmt.Errorf("%w: length %d runs past the end", errCorrupt, n)
	}
	crc := crc32.Checksum(rr.hdr[0:4], castagnoli)
	start := len(buf)
	buf = slices.Grow(buf, int(n))[:start+int(n)]
	if _, err := io.ReadFull(rr.r, buf[start:]); err != nil {
		return nil, err
	}
	if crc32.Update(crc, castagnoli, buf[start:]) != binary.LittleEndian.Uint32(rr.hdr[4:8]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	rr.off += headerSize + n
	return buf, nil
}
