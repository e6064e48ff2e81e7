// Package predictionlog logs every prediction an endpoint answers: a local
// append-only log on disk, shipped into the offline store.
//
// # The local log (WAL)
//
// [WAL] is a hand-written segment log shaped like Prometheus' tsdb/wlog:
// numbered segment files in one directory, each record framed with its length
// and a CRC32 (Castagnoli), and a reader that stops at a torn tail. It is not
// built on a library: github.com/tidwall/wal, the maintained candidate,
// refuses to open a log whose tail was torn by a crash (ErrCorrupt; its issue
// #21 is open), frames records without a checksum, and fsyncs every write
// synchronously, while this log must repair a kill -9 tail on open and must
// never make an answer wait for the disk.
//
// Durability, as promised to endpoints:
//   - Append only copies the record into an in-memory buffer under a mutex.
//     A background goroutine writes the buffer to the active segment every
//     FlushInterval (at most 150 ms, 50 ms by default), and a second one
//     fsyncs what was written right after, so that a slow fsync never holds
//     back the next write. A prediction appended more than 200 ms before the
//     process is killed (kill -9) is in the log after restart: once written,
//     it is in the page cache. After a power loss the bound also includes
//     the time fsync takes.
//   - If the disk stalls and the buffer would exceed 32 MiB, new records are
//     dropped and counted in Stats.Dropped (a warning is logged at most once
//     a second): an answer never waits for the disk.
//   - On open, a torn or corrupt tail of the last segment (a record cut by
//     kill -9 mid-write) is truncated to the last whole record, and what was
//     cut is logged. A kill -9 can only tear the last segment. A power loss
//     can also tear the tail of the segment before it if its fsync had not
//     finished: Read logs the corrupt record and continues with the next
//     segment.
//   - The log's size on disk is capped (MaxBytes): beyond it the oldest
//     segments are deleted, shipped or not, and their unshipped records are
//     counted in Stats.Dropped, which is persisted across restarts.
//
// Shipping: a shipper calls [WAL.Read] from a [Position], writes the records
// into the offline store, and then calls [WAL.Ack] with the position Read
// returned. Ack persists the position in a checkpoint file (written to a
// temporary file, fsynced and renamed) and deletes the segments wholly
// before it. A crash between the write into the offline store and Ack makes
// the shipper read those records again: the first batch after a start (or
// after a failure) replaces the rows of an earlier attempt at it (WriteRows
// Replace on the write_batch column), so no record is written twice.
package predictionlog
