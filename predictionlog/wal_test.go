package predictionlog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// killHelperEnv, when set to a directory, makes the test binary a helper
// process that appends to a WAL there until it is killed.
const killHelperEnv = "PREDICTIONLOG_KILL_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(killHelperEnv); dir != "" {
		os.Exit(killHelper(dir))
	}
	os.Exit(m.Run())
}

func openWAL(t testing.TB, cfg WALConfig) *WAL {
	t.Helper()
	w, err := OpenWAL(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Error(err)
		}
	})
	return w
}

// readAll reads every record from p on, in batches of 37 to cross batch and
// segment boundaries at odd places.
func readAll(t testing.TB, w *WAL, p Position) ([][]byte, Position) {
	t.Helper()
	var all [][]byte
	for {
		recs, next, err := w.Read(p, 37)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			if next != p {
				t.Fatalf("Read(%v) with nothing new returned next %v", p, next)
			}
			return all, p
		}
		all = append(all, recs...)
		p = next
	}
}

// seqRecord is a record holding seq, padded to size bytes with a pattern
// derived from seq so that a wrong byte shows.
func seqRecord(seq, size int) []byte {
	rec := make([]byte, size)
	binary.LittleEndian.PutUint64(rec, uint64(seq))
	for i := 8; i < size; i++ {
		rec[i] = byte(seq*31 + i)
	}
	return rec
}

func checkSeqRecord(t testing.TB, rec []byte, want, size int) {
	t.Helper()
	if !bytes.Equal(rec, seqRecord(want, size)) {
		got := -1
		if len(rec) >= 8 {
			got = int(binary.LittleEndian.Uint64(rec))
		}
		t.Fatalf("record %d: got %d bytes holding seq %d, want %d bytes of record %d", want, len(rec), got, size, want)
	}
}

func segmentFiles(t testing.TB, dir string) []uint64 {
	t.Helper()
	idx, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestRoundTripAcrossSegmentsConcurrently(t *testing.T) {
	dir := t.TempDir()
	const segBytes, size = 4096, 92 // 100 bytes framed: 40 a segment
	w := openWAL(t, WALConfig{Dir: dir, SegmentBytes: segBytes, MaxBytes: 1 << 30})

	// Records appended by one goroutine come back in its order; those of
	// different goroutines interleave.
	const goroutines, each = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				rec := seqRecord(i, size)
				rec[size-1] = byte(g)
				if err := w.Append(rec); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	recs, end := readAll(t, w, Position{})
	if len(recs) != goroutines*each {
		t.Fatalf("read %d records, want %d", len(recs), goroutines*each)
	}
	next := make([]int, goroutines)
	for _, rec := range recs {
		g := int(rec[size-1])
		want := seqRecord(next[g], size)
		want[size-1] = byte(g)
		if !bytes.Equal(rec, want) {
			t.Fatalf("goroutine %d: record out of order or damaged: seq %d, want %d", g, binary.LittleEndian.Uint64(rec), next[g])
		}
		next[g]++
	}

	files := segmentFiles(t, dir)
	if len(files) < 4 {
		t.Fatalf("%d segment files, want several (segments of %d bytes, %d bytes written)", len(files), segBytes, goroutines*each*(size+headerSize))
	}
	for _, idx := range files {
		fi, err := os.Stat(w.segmentPath(idx))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > segBytes {
			t.Errorf("segment %d is %d bytes, over the %d segment size", idx, fi.Size(), segBytes)
		}
	}
	if st := w.Stats(); st.Segments != len(files) || st.Pending != int64(goroutines*each*(size+headerSize)) || st.Dropped != 0 {
		t.Errorf("stats %+v, want %d segments, %d bytes pending, none dropped", st, len(files), goroutines*each*(size+headerSize))
	}

	// Acking all deletes every segment but the one being written.
	if err := w.Ack(end); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Pending != 0 || st.Segments != 1 {
		t.Errorf("after acking everything: stats %+v, want nothing pending and one segment", st)
	}
	if files := segmentFiles(t, dir); len(files) != 1 {
		t.Errorf("after acking everything: %d segment files, want 1", len(files))
	}

	// New records come after the acked position, in order.
	for i := range 100 {
		if err := w.Append(seqRecord(1000+i, size)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	more, _ := readAll(t, w, end)
	if len(more) != 100 {
		t.Fatalf("read %d new records after the ack, want 100", len(more))
	}
	for i, rec := range more {
		checkSeqRecord(t, rec, 1000+i, size)
	}
}

func TestReadSeesOnlyFlushedRecords(t *testing.T) {
	w := openWAL(t, WALConfig{Dir: t.TempDir(), FlushInterval: maxFlushInterval})
	if err := w.Append([]byte("not yet on disk")); err != nil {
		t.Fatal(err)
	}
	recs, next, err := w.Read(Position{}, 10)
	if err != nil || recs != nil || next != (Position{}) {
		t.Fatalf("Read before a flush = %q, %v, %v; want nil, the zero position, nil", recs, next, err)
	}
	// The background goroutine writes it within the flush interval.
	deadline := time.Now().Add(2 * time.Second)
	for {
		recs, _, err := w.Read(Position{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 1 && string(recs[0]) == "not yet on disk" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the record was not flushed within 2s (flush interval %s)", maxFlushInterval)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Append([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
}

func TestTornTailIsCutOnOpen(t *testing.T) {
	const n, size = 100, 50
	for _, tc := range []struct {
		name string
		harm func(t *testing.T, path string)
		keep int
	}{
		{"TruncatedMidRecord", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()-size/2); err != nil {
				t.Fatal(err)
			}
		}, n - 1},
		{"TruncatedMidHeader", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()-size-headerSize+3); err != nil {
				t.Fatal(err)
			}
		}, n - 1},
		{"FlippedByteInLastPayload", func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)-10] ^= 0x40
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, n - 1},
		{"ZeroFilledTail", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(make([]byte, 4096)); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}, n},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := OpenWAL(WALConfig{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				if err := w.Append(seqRecord(i, size)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			files := segmentFiles(t, dir)
			tc.harm(t, w.segmentPath(files[len(files)-1]))

			var logs bytes.Buffer
			w = openWAL(t, WALConfig{Dir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			recs, _ := readAll(t, w, Position{})
			if len(recs) != tc.keep {
				t.Fatalf("read %d records after reopening, want the %d whole ones", len(recs), tc.keep)
			}
			for i, rec := range recs {
				checkSeqRecord(t, rec, i, size)
			}
			if !strings.Contains(logs.String(), "torn tail") || !strings.Contains(logs.String(), fmt.Sprintf("kept_records=%d", tc.keep)) {
				t.Errorf("the cut was not logged with the records kept; logs:\n%s", logs.String())
			}

			// Appending continues after the last whole record, across a
			// reopen.
			for i := range 10 {
				if err := w.Append(seqRecord(tc.keep+i, size)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			w = openWAL(t, WALConfig{Dir: dir})
			recs, _ = readAll(t, w, Position{})
			if len(recs) != tc.keep+10 {
				t.Fatalf("read %d records after appending 10 more, want %d", len(recs), tc.keep+10)
			}
			for i, rec := range recs {
				checkSeqRecord(t, rec, i, size)
			}
		})
	}
}

func TestSizeCapDropsOldestSegmentsAndCountsThem(t *testing.T) {
	dir := t.TempDir()
	const size = 92 // 100 bytes framed: 10 in a 1024-byte segment
	cfg := WALConfig{Dir: dir, SegmentBytes: 1024, MaxBytes: 4096}
	w := openWAL(t, cfg)

	appendFlushed := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if err := w.Append(seqRecord(i, size)); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// 15 records shipped and acked: their loss to the cap is not a drop.
	appendFlushed(0, 15)
	recs, acked, err := w.Read(Position{}, 15)
	if err != nil || len(recs) != 15 {
		t.Fatalf("Read: %d records, %v", len(recs), err)
	}
	if err := w.Ack(acked); err != nil {
		t.Fatal(err)
	}
	const total = 200
	appendFlushed(15, total)

	st := w.Stats()
	if st.Bytes > cfg.MaxBytes {
		t.Errorf("%d bytes on disk, over the %d cap", st.Bytes, cfg.MaxBytes)
	}
	recs, _ = readAll(t, w, w.Acked())
	if len(recs) == 0 {
		t.Fatal("nothing left to read")
	}
	first := int(binary.LittleEndian.Uint64(recs[0]))
	for i, rec := range recs {
		checkSeqRecord(t, rec, first+i, size)
	}
	if first+len(recs) != total {
		t.Fatalf("the records kept end at %d, want %d", first+len(recs), total)
	}
	wantDropped := int64(first - 15)
	if wantDropped <= 0 || st.Dropped != wantDropped {
		t.Fatalf("Stats.Dropped = %d; the oldest kept record is %d, so %d unshipped records were lost", st.Dropped, first, wantDropped)
	}

	// Reading from a deleted position continues at the oldest kept record.
	recs, _, err = w.Read(Position{Segment: 1, Offset: 500}, 3)
	if err != nil || len(recs) != 3 {
		t.Fatalf("Read from a deleted segment: %d records, %v", len(recs), err)
	}
	checkSeqRecord(t, recs[0], first, size)

	// The count survives a restart, and is not counted again.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = openWAL(t, cfg)
	if got := w.Stats().Dropped; got != wantDropped {
		t.Errorf("after reopening, Stats.Dropped = %d, want %d", got, wantDropped)
	}
}

func TestAppendDropsWhenTheBufferIsFull(t *testing.T) {
	defer func(old int) { maxBufferBytes = old }(maxBufferBytes)
	maxBufferBytes = 1000 // 10 records of 100 framed bytes

	dir := t.TempDir()
	var logs bytes.Buffer
	cfg := WALConfig{Dir: dir, FlushInterval: maxFlushInterval, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	w := openWAL(t, cfg)
	for i := range 100 {
		if err := w.Append(seqRecord(i, 92)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	recs, _ := readAll(t, w, Position{})
	dropped := w.Stats().Dropped
	if dropped == 0 || int64(len(recs))+dropped != 100 {
		t.Fatalf("%d records kept and %d dropped, want some dropped and 100 in all", len(recs), dropped)
	}
	if n := strings.Count(logs.String(), "dropping predictions"); n != 1 {
		t.Errorf("%d warnings about dropping, want 1 (at most one a second)", n)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = openWAL(t, cfg)
	if got := w.Stats().Dropped; got != dropped {
		t.Errorf("after reopening, Stats.Dropped = %d, want %d", got, dropped)
	}
}

func TestAckPersistsAndDeletesShippedSegments(t *testing.T) {
	dir := t.TempDir()
	const size = 92
	cfg := WALConfig{Dir: dir, SegmentBytes: 1024, MaxBytes: 1 << 20}
	w := openWAL(t, cfg)
	for i := range 50 {
		if err := w.Append(seqRecord(i, size)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	before := segmentFiles(t, dir)
	recs, p, err := w.Read(Position{}, 25)
	if err != nil || len(recs) != 25 {
		t.Fatalf("Read: %d records, %v", len(recs), err)
	}
	if err := w.Ack(p); err != nil {
		t.Fatal(err)
	}
	after := segmentFiles(t, dir)
	for _, idx := range before {
		if idx < p.Segment && len(after) > 0 && idx >= after[0] {
			t.Errorf("segment %d, wholly before the ack %v, is still on disk", idx, p)
		}
	}
	if len(after) >= len(before) || after[0] != p.Segment {
		t.Errorf("segments %v before the ack at %v, %v after: want those before %d deleted", before, p, after, p.Segment)
	}
	if err := w.Ack(Position{Segment: p.Segment}); err != nil || w.Acked() != p {
		t.Errorf("an Ack behind the last: %v, Acked() = %v; want no error and no change from %v", err, w.Acked(), p)
	}
	if err := w.Ack(Position{Segment: p.Segment + 100}); err == nil {
		t.Error("an Ack past the end of the log was accepted")
	}
	wantPending := int64(25 * (size + headerSize))
	if got := w.Stats().Pending; got != wantPending {
		t.Errorf("Stats.Pending = %d, want %d", got, wantPending)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w = openWAL(t, cfg)
	if got := w.Acked(); got != p {
		t.Fatalf("after reopening, Acked() = %v, want %v", got, p)
	}
	if got := w.Stats().Pending; got != wantPending {
		t.Errorf("after reopening, Stats.Pending = %d, want %d", got, wantPending)
	}
	recs, _ = readAll(t, w, w.Acked())
	if len(recs) != 25 {
		t.Fatalf("read %d records after the ack, want 25", len(recs))
	}
	for i, rec := range recs {
		checkSeqRecord(t, rec, 25+i, size)
	}
}

func TestAppendDoesNotWaitForFlush(t *testing.T) {
	w := openWAL(t, WALConfig{Dir: t.TempDir(), FlushInterval: maxFlushInterval})
	rec := make([]byte, 300)
	const n = 10000
	// Warm up: the two buffers the flusher swaps grow to their size.
	for range 2 {
		for range n {
			if err := w.Append(rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for range n {
		if err := w.Append(rec); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	t.Logf("%d appends in %s", n, elapsed)
	// An Append that waited for its record to reach the disk would wait
	// half a flush interval on average: 10000 of them, over 10 minutes.
	// Unwaiting, they take about 1 ms (70 ns each); under -race on a loaded
	// machine up to 60 ms.
	if elapsed >= maxFlushInterval {
		t.Errorf("%d appends took %s: Append waits for the disk (flush interval %s)", n, elapsed, maxFlushInterval)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if recs, _ := readAll(t, w, Position{}); len(recs) != 3*n {
		t.Errorf("read %d records, want %d", len(recs), 3*n)
	}
}

func TestCRCOfLength(t *testing.T) {
	for _, n := range []uint32{0, 1, 92, 300, 1 << 16, 1<<32 - 1} {
		if got, want := crcOfLength(n), crc32.Checksum(binary.LittleEndian.AppendUint32(nil, n), castagnoli); got != want {
			t.Errorf("crcOfLength(%d) = %#x, want crc32.Checksum %#x", n, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  WALConfig
		want string
	}{
		{WALConfig{}, "dir is empty"},
		{WALConfig{Dir: "d", FlushInterval: 200 * time.Millisecond}, "over 150ms"},
		{WALConfig{Dir: "d", SegmentBytes: -1}, "negative"},
		{WALConfig{Dir: "d", SegmentBytes: 1 << 20, MaxBytes: 1 << 20}, "twice the segment bytes"},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want an error saying %q", tc.cfg, err, tc.want)
		}
	}
	if err := (WALConfig{Dir: "d"}).Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

// The kill -9 helper's records: sequence number, append time (UnixNano), and
// a pattern derived from both, 300 bytes in all (a typical logged
// prediction).
const killRecordSize = 300

func killRecord(seq uint64, at int64) []byte {
	rec := make([]byte, killRecordSize)
	binary.LittleEndian.PutUint64(rec[0:], seq)
	binary.LittleEndian.PutUint64(rec[8:], uint64(at))
	for i := 16; i+8 <= killRecordSize; i += 8 {
		binary.LittleEndian.PutUint64(rec[i:], (seq^uint64(at))*uint64(i+1))
	}
	return rec
}

// killRate is how many records a second the kill -9 helper appends: a busy
// endpoint's predictions (30 MB/s of 300-byte records), which a disk takes.
// Unpaced (millions a second), the helper outruns the disk of a loaded test
// machine, and records are dropped and counted instead: another promise,
// tested by TestAppendDropsWhenTheBufferIsFull.
const killRate = 100_000

// killHelper appends records, killRate a second in bursts of a millisecond,
// as fast as it can within each burst, until it is killed.
func killHelper(dir string) int {
	interval, err := time.ParseDuration(os.Getenv("PREDICTIONLOG_KILL_HELPER_FLUSH"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	w, err := OpenWAL(WALConfig{Dir: dir, FlushInterval: interval, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println("ready")
	start := time.Now()
	for seq := uint64(0); ; seq++ {
		if seq%(killRate/1000) == 0 {
			time.Sleep(time.Until(start.Add(time.Duration(seq) * time.Second / killRate)))
		}
		if err := w.Append(killRecord(seq, time.Now().UnixNano())); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
}

// TestKillMinus9KeepsWhatWasAppended200msBefore kills a process appending
// to a WAL with SIGKILL and checks, after reopening, that every record it
// appended more than 200 ms before the kill is there, whole and without
// gaps.
func TestKillMinus9KeepsWhatWasAppended200msBefore(t *testing.T) {
	for run, interval := range []time.Duration{defaultFlushInterval, 100 * time.Millisecond, maxFlushInterval} {
		t.Run(fmt.Sprintf("Run%d/FlushInterval%s", run+1, interval), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), killHelperEnv+"="+dir, "PREDICTIONLOG_KILL_HELPER_FLUSH="+interval.String())
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || line != "ready\n" {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("helper did not start: %q, %v; stderr: %s", line, err, stderr.String())
			}
			// A random phase against the flush ticks, so that runs see the
			// worst case too: a kill just before a write.
			time.Sleep(time.Second + rand.N(maxFlushInterval))
			killedAt := time.Now()
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("helper ended with %v, not by SIGKILL; stderr: %s", err, stderr.String())
			}

			w := openWAL(t, WALConfig{Dir: dir})
			p := Position{}
			var n uint64
			var first, last int64
			for {
				recs, next, err := w.Read(p, 100000)
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) == 0 {
					break
				}
				for _, rec := range recs {
					at := int64(0)
					if len(rec) == killRecordSize {
						at = int64(binary.LittleEndian.Uint64(rec[8:]))
					}
					if !bytes.Equal(rec, killRecord(n, at)) {
						t.Fatalf("record %d is damaged or out of sequence: % x", n, rec)
					}
					if n == 0 {
						first = at
					}
					last = at
					n++
				}
				p = next
			}
			if n == 0 {
				t.Fatal("no record survived the kill")
			}
			lost := killedAt.Sub(time.Unix(0, last))
			rate := float64(n) / time.Duration(last-first).Seconds()
			if stderr.Len() > 0 {
				t.Logf("helper's log:\n%s", stderr.String())
			}
			t.Logf("%d records kept (%.0f/s); the last was appended %s before the kill (~%.0f records lost); %d bytes on disk", n, rate, lost.Round(time.Millisecond), rate*lost.Seconds(), w.Stats().Bytes)
			if lost < 0 {
				t.Errorf("a record appended %s after the kill", -lost)
			}
			if lost > 200*time.Millisecond {
				t.Errorf("the last record kept was appended %s before the kill: records appended after it, more than 200 ms before the kill, were lost", lost)
			}
		})
	}
}

// BenchmarkAppend appends 300-byte records from parallel goroutines as fast
// as they can, which is faster than a disk takes them: dropped/op is the
// share refused because the buffer was full, kept_MB/s what reached the log.
func BenchmarkAppend(b *testing.B) {
	w := openWAL(b, WALConfig{Dir: b.TempDir(), MaxBytes: 256 << 20})
	rec := make([]byte, 300)
	for i := range rec {
		rec[i] = byte(i)
	}
	// Warm up: the two buffers the flusher swaps grow to their size, so
	// that B/op shows the steady state.
	for range 2 {
		for range maxBufferBytes / (headerSize + len(rec)) {
			if err := w.Append(rec); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	dropped := w.Stats().Dropped
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := w.Append(rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	dropped = w.Stats().Dropped - dropped
	b.ReportMetric(float64(dropped)/float64(b.N), "dropped/op")
	b.ReportMetric(float64((int64(b.N)-dropped)*int64(len(rec)))/1e6/time.Since(start).Seconds(), "kept_MB/s")
}
