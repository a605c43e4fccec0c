/*
 * audit.h: the signed, hash-chained audit log (STATE_DIR/audit/audit.log).
 *
 * One JSON object per line.  Member order is fixed:
 *   seq, time, prev, event, agent, peer, user, tool, args, decision, rules,
 *   reason, exit, duration_ms, output_sha256, [extra members], key_id, sig
 * Members the caller does not give are written as null, so every record has
 * the same shape.  `prev` is the hex SHA-256 of the previous line (without its
 * newline; 64 zeros for seq 1).  `sig` is base64 Ed25519 over the line with
 * `,"sig":"..."` removed, i.e. the exact bytes up to that comma, then "}".
 *
 * Group commit: audit_append() signs and queues a record in memory and
 * returns its seq; audit_sync() writes everything queued with one write()
 * and makes it durable with one fdatasync().  A caller that must not act
 * before its record is on disk (a tool start) waits until
 * audit_durable_seq() >= its seq.
 * Outcomes (audit_append_outcome: what a tool did, after the decision to
 * run it was made durable) need not be durable before anything else
 * happens: audit_write() puts them in the file (so a crash of the broker
 * loses nothing), and the next sync, which the caller makes due within a
 * bound (server.c: AUDIT_OUTCOME_SYNC_MS), makes them durable along with
 * the records of later decisions.  If writing fails, the log is marked
 * failed: audit_append keeps refusing with a clear error (fail closed).
 */
#ifndef TOOLGATE_AUDIT_H
#define TOOLGATE_AUDIT_H

#include <stdint.h>
#include <stdbool.h>
#include <jansson.h>
#include "error.h"

struct audit_log;

/*
 * Open (creating STATE_DIR/audit/ and STATE_DIR/keys/ as needed, mode 0700)
 * the log of state_dir.  The audit key is STATE_DIR/keys/audit.key (created
 * with audit.pub on first start).  The last line is read back to continue the
 * sequence and the chain; a last line that does not verify is an error.  A
 * torn last line (no newline: a crash cut its one write, so it was never
 * acknowledged) is copied to audit/torn-<offset>.bin, cut off, and a
 * "log_repaired" record saying so is written.
 */
struct audit_log *audit_open(const char *state_dir, struct tg_error *err);

/*
 * Queue one record.  `fields` is an object holding "event" and any of the
 * standard members (agent, peer, user, tool, args, decision, rules, reason,
 * exit, duration_ms, output_sha256) plus extra members, which go after the
 * standard ones in the order given.  seq, time, prev, key_id and sig are
 * added here; a caller-given one of those is an error.  fields is not
 * modified.  Returns 0 and *seq_out, or -1 (log failed, or bad fields).
 */
int audit_append(struct audit_log *a, json_t *fields, uint64_t *seq_out, struct tg_error *err);

/* The same for an outcome (a tool's exec_end): its queueing does not make a
   sync due (audit_sync_due). */
int audit_append_outcome(struct audit_log *a, json_t *fields, uint64_t *seq_out, struct tg_error *err);

/* Write all queued records (one write) and fdatasync once.  0 or -1. */
int audit_sync(struct audit_log *a, struct tg_error *err);
/* Write the queued records not written yet, without fdatasync.  0 or -1. */
int audit_write(struct audit_log *a, struct tg_error *err);
/* Is a record queued that is not an outcome (audit_append), so that a
   sync is due now? */
bool audit_sync_due(const struct audit_log *a);

/*
 * After a failure (ENOSPC, EIO, EROFS, ...): cut the file back to its last
 * durable length and write every queued record again.  1 when the log works
 * again, 0 when it had not failed, -1 (with err) when it still fails.
 */
int audit_recover(struct audit_log *a, struct tg_error *err);
bool audit_failed(const struct audit_log *a);

/* Has anything been queued since the last sync? */
bool audit_pending(const struct audit_log *a);

uint64_t audit_last_seq(const struct audit_log *a);     /* last seq appended */
uint64_t audit_durable_seq(const struct audit_log *a);  /* last seq on disk */
const char *audit_key_id(const struct audit_log *a);

/*
 * Checkpoints (C2SP tlog-checkpoint signed notes over the RFC 6962 tree of
 * the durable record lines, key name = origin = the broker id), written to
 * STATE_DIR/audit/checkpoints/<size>.note: at least every
 * AUDIT_CHECKPOINT_EVERY_RECORDS records, every AUDIT_CHECKPOINT_EVERY_MS
 * with new records, and at stop.  audit_checkpoint_due says whether one is
 * due now (and in *next_ms when the time-based one will be); the caller
 * (the broker's loop) then calls audit_checkpoint, which writes it
 * atomically (temporary file, fsync, rename).  0 or -1 with err.  After a
 * failure the next one is due AUDIT_CHECKPOINT_RETRY_MS later, not at once:
 * a lasting failure (a full disk, no descriptor left) must not be retried
 * at every turn of the loop.
 */
#define AUDIT_CHECKPOINT_EVERY_RECORDS 1000
#define AUDIT_CHECKPOINT_EVERY_MS 10000
#define AUDIT_CHECKPOINT_RETRY_MS 1000
bool audit_checkpoint_due(const struct audit_log *a, uint64_t now_ms, uint64_t *next_ms);
int audit_checkpoint(struct audit_log *a, const char *origin, uint64_t now_ms, struct tg_error *err);
/*
 * Segments (audit_files.h): once a sync leaves audit.log at segment_bytes
 * or more, it is closed as audit-<first>-<last>.log and a new audit.log
 * begins; seq, chain and tree run on.  0: never.  A rotation that cannot
 * happen (the disk refuses the rename) leaves audit.log growing and is
 * tried at the next sync; audit_rotation_error says why, NULL once it
 * worked.
 */
#define AUDIT_SEGMENT_BYTES_DEFAULT (64ull * 1024 * 1024)
void audit_set_segment_bytes(struct audit_log *a, uint64_t bytes);
const char *audit_rotation_error(const struct audit_log *a);

/* Records in the tree (the durable ones). */
uint64_t audit_tree_size(const struct audit_log *a);

/* Sync and close. */
void audit_close(struct audit_log *a);

/*
 * Offline verification of a log against a public key (PEM path): the
 * audit directory (every segment, then audit.log; it must begin at seq 1)
 * or one file.  Checks, record by record: the line is a JSON object with
 * the members in order, seq runs from 1 without gaps, prev chains (across
 * segments too), key_id matches (following key_rotated records), and sig
 * verifies; a segment holds exactly the range its name says.  One segment
 * given alone is checked from its first seq on, without the link to the
 * segment before it.  Returns 0 when valid (count in *records), else -1 with err
 * naming the first bad record: "seq 17: signature does not verify".
 */
int audit_verify_file(const char *log_path, const char *pub_path, uint64_t *records,
                      struct tg_error *err);

#endif
