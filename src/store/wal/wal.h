/*
 * wal.h — write-ahead log: the durability point of ocelot. A request is
 * acknowledged only after ocl_wal_append() returned 0 for its data.
 *
 * Layout: a directory of segment files named %020llu.wal (first sequence
 * number of the segment), each starting with a header (magic "OCLWAL",
 * version byte) followed by records framed as
 *     u32 length | u32 crc | u8 type | u64 seq | payload
 * (little endian; length = payload bytes; crc = crc32c(payload ‖ type ‖ seq),
 * payload first so it can be computed before the append lock is taken; see
 * docs/FORMATS.md). Sequence numbers start at 1 and are contiguous within a
 * segment. Segments roll before a record would take the active one past
 * `segment_bytes` (a record larger than that gets a segment of its own).
 *
 * Durability: append() writes the record to the file (page cache) before
 * returning, so acknowledged data survives a process kill. fsync policy:
 * ALWAYS — append returns after an fdatasync covering the record; concurrent
 * appenders share one fdatasync (group commit: one leader syncs, followers
 * wait for it). INTERVAL — a background thread syncs every interval_ms.
 * NEVER — the OS decides.
 *
 * Replay: ocl_wal_open() scans every segment; a torn or corrupt tail is
 * truncated at the last good record (counted in stats, logged), later
 * segments after a corrupt one are kept but replay stops at the corruption
 * point of each segment. A segment whose header is bad is renamed *.corrupt.
 * Appends after open continue in the last segment (after its repair).
 * ocl_wal_replay() then calls back for every record.
 * A failed write is rolled back with ftruncate(); if that or an fdatasync
 * fails, the WAL is poisoned: every later append returns OCL_EIO (after a
 * failed fsync the page cache state is unknown, so retrying would lie).
 *
 * Thread-safety: append/truncate/stats are safe from any thread.
 * Workload: one append per accepted request (KBs to MBs), from all workers.
 */
#ifndef OCL_WAL_H
#define OCL_WAL_H

#include "core/core.h"

typedef struct ocl_wal ocl_wal_t;

typedef enum {
    OCL_FSYNC_ALWAYS,
    OCL_FSYNC_INTERVAL,
    OCL_FSYNC_NEVER,
} ocl_fsync_policy_t;

typedef struct {
    const char *dir;          /* directory (created if missing) */
    ocl_fsync_policy_t fsync; /* default INTERVAL */
    uint32_t interval_ms;     /* for INTERVAL; default 100 */
    uint64_t segment_bytes;   /* roll size; default 64 MiB */
} ocl_wal_cfg_t;

typedef struct {
    uint64_t bytes_written;   /* total record bytes appended since open */
    uint64_t records_written; /* records appended since open */
    uint64_t fsyncs;          /* fdatasync calls */
    uint64_t fsync_ns_total;  /* total time spent in fdatasync */
    uint64_t
        fsync_ns_buckets[12];      /* fsync latency histogram, upper bounds
                                    * 0.1,0.25,0.5,1,2.5,5,10,25,50,100,250 ms, +Inf (non-cumulative) */
    uint64_t corruptions_repaired; /* torn/corrupt tails truncated at open */
    uint64_t bytes_truncated;      /* bytes dropped by those repairs */
    uint64_t segments;             /* segment files on disk */
    uint64_t disk_bytes;           /* bytes in segment files */
} ocl_wal_stats_t;

/* Upper bounds (seconds) of fsync_ns_buckets, for the exporter. */
extern const double ocl_wal_fsync_bounds_s[11];

int ocl_wal_open(const ocl_wal_cfg_t *cfg, ocl_wal_t **out);
void ocl_wal_close(ocl_wal_t *w);

/* Replays every intact record in order. The payload pointer is valid only
 * during the callback. Returning non-zero from cb stops replay with that
 * value. */
typedef int (*ocl_wal_replay_fn)(uint8_t type, uint64_t seq, const void *payload, size_t len,
                                 void *ud);
int ocl_wal_replay(ocl_wal_t *w, ocl_wal_replay_fn cb, void *ud);

/* Appends one record; *seq_out (may be NULL) receives its sequence number.
 * Returns 0 once durable per the policy, OCL_EIO on write failure (the
 * request must then be refused), OCL_ETOOBIG over 1 GiB. */
int ocl_wal_append(ocl_wal_t *w, uint8_t type, const void *payload, size_t len, uint64_t *seq_out);
/* Same, with the payload given in two pieces (e.g. header + body). */
int ocl_wal_append2(ocl_wal_t *w, uint8_t type, const void *p1, size_t n1, const void *p2,
                    size_t n2, uint64_t *seq_out);

/* Makes the next record's seq at least `min_next` (starting a new segment
 * if it has to jump). Used when a checkpoint kept outside the WAL says that
 * lower seqs are already in segments: after the WAL's files were lost, new
 * records must not reuse seqs that replay would skip. */
int ocl_wal_reserve_seq(ocl_wal_t *w, uint64_t min_next);

/* Deletes whole segments whose records all have seq < `seq` (checkpoint:
 * the data up to there is in immutable store segments). The active segment
 * is never deleted. */
int ocl_wal_truncate_before(ocl_wal_t *w, uint64_t seq);
/* Deletes whole closed segments older than `max_age_s` seconds (by file
 * mtime) or while the total exceeds `max_bytes` (0 = no limit). */
int ocl_wal_retain(ocl_wal_t *w, uint64_t max_age_s, uint64_t max_bytes);
/* Forces an fdatasync now (used on shutdown). */
int ocl_wal_sync(ocl_wal_t *w);
void ocl_wal_stats(ocl_wal_t *w, ocl_wal_stats_t *out);

/* Reads records from a segment image in memory (the whole file, header
 * included): used by replay and the fuzz target. Calls cb for each intact
 * record; returns the offset of the first byte that is not part of an intact
 * record (== len when the whole image is intact; 0 when the header is bad).
 * When cb returns non-zero, scanning stops and the offset of that record is
 * returned. */
size_t ocl_wal_scan(const void *buf, size_t len, ocl_wal_replay_fn cb, void *ud);

/* CRC-32C (Castagnoli), hardware-accelerated where available. */
uint32_t ocl_crc32c(uint32_t crc, const void *buf, size_t len);
/* The portable table-driven path (exposed so tests can compare both). */
uint32_t ocl_crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* Segment header and record header sizes (docs/FORMATS.md). */
#define OCL_WAL_SEG_HDR 8
#define OCL_WAL_REC_HDR 17

#endif
