/*
 * idem.h: the idempotency store, STATE_DIR/idempotency/.
 *
 * A call that carries params._meta["toolgate/idempotencyKey"] is run at most
 * once per (agent principal, key) within the store's window: a retry gets
 * the first call's result back instead of a second run, also after a
 * broker restart.  This module keeps the entries on disk; call.c decides
 * when to look, start and finish (see call.c and README.md).
 *
 * One file per entry, named by the hex SHA-256 of the agent and the key (so
 * the name carries neither, and one agent's key can never name another
 * agent's entry).  Each file is one JSON object:
 *   {"version": 1, "agent", "key", "tool", "fingerprint", "created_ms",
 *    "decision_seq", "state": "started" | "done", and when done "end_seq"
 *    and "result" (the MCP result that was returned, already redacted)}
 * "fingerprint" is the hex SHA-256 of the canonical JSON of the tool, the
 * delegating user and the arguments; the arguments themselves are not
 * kept (they may hold writeOnly values).
 *
 * Durability: every write goes to a temporary file, fdatasync, rename,
 * fsync of the directory.  idem_begin() is durable before the tool may
 * start, idem_finish() before the result is returned: so after a crash an
 * entry is either absent (the tool never started), "started" (it may have
 * run: a retry is refused, never run again) or "done".
 *
 * Bounds: entries older than the window are removed (at open, and at most
 * once a minute as new ones begin); beyond max_entries entries or max_bytes
 * bytes on disk, new keys are refused until old ones expire (dropping an
 * entry inside its window would break the promise to a retry).  File
 * mtimes are set to the entry's creation time, so a sweep needs no parse.
 */
#ifndef TOOLGATE_IDEM_H
#define TOOLGATE_IDEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "error.h"

#define IDEM_KEY_MAX 128

struct idem_options {
	uint64_t window_ms;    /* default 24 h */
	size_t max_entries;    /* default 10000 */
	uint64_t max_bytes;    /* default 256 MiB */
};

struct idem_store;

/* Create (0700) or open STATE_DIR/idempotency, drop expired entries and
   leftover temporary files, count the rest. */
int idem_open(const char *state_dir, const struct idem_options *o, uint64_t now_ms,
              struct idem_store **out, struct tg_error *err);
void idem_close(struct idem_store *s);

/* A key is 1 to IDEM_KEY_MAX characters of A-Z a-z 0-9 . _ : - (UUIDs,
   ULIDs and the like).  False with why (naming the rule) otherwise. */
bool idem_key_valid(const char *key, size_t len, char *why, size_t whylen);

/* The entry's id (its file name): hex SHA-256 over agent, NUL, key. */
void idem_entry_id(const char *agent, const char *key, char out[65]);

/* Hex SHA-256 of the canonical JSON of {"args", "tool", "user"}. */
int idem_fingerprint(const char *tool, const char *user, const json_t *args, char out[65]);

enum idem_state { IDEM_ABSENT, IDEM_STARTED, IDEM_DONE, IDEM_UNREADABLE };

/*
 * Look an entry up.  Returns its state; for STARTED and DONE, *entry is the
 * parsed file (caller's reference), for UNREADABLE err says why.  An
 * expired entry is removed and reported ABSENT.
 */
enum idem_state idem_lookup(struct idem_store *s, const char *id, uint64_t now_ms,
                            json_t **entry, struct tg_error *err);

/*
 * Record durably that the call described by header (agent, key, tool,
 * fingerprint, decision_seq; created_ms and state are added) starts.  -1
 * with err when the store is full or cannot be written: the tool must not
 * start then.
 */
int idem_begin(struct idem_store *s, const char *id, json_t *header, uint64_t now_ms,
               struct tg_error *err);

/* Replace the entry by the finished call: header, "state": "done",
   end_seq and result.  Durable on return 0. */
int idem_finish(struct idem_store *s, const char *id, json_t *header, uint64_t end_seq,
                const json_t *result, struct tg_error *err);

/* Remove an entry (its tool never started).  0 or -1. */
int idem_forget(struct idem_store *s, const char *id, struct tg_error *err);

/* For toolgate/status and tests: entries and bytes on disk. */
void idem_usage(const struct idem_store *s, size_t *entries, uint64_t *bytes);

/* Parse a duration: "90s", "15m", "24h", "7d", or plain seconds.  0 or -1. */
int idem_parse_duration(const char *s, uint64_t *ms);

#endif
