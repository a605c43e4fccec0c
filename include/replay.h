/*
 * replay.h: the jtis of single-use delegation tokens already used.
 *
 * In memory, a set of (issuer, jti) until each token's exp.  It needs no
 * file of its own: every use is in the audit log (the decision record carries
 * "issuer", "jti", "single_use" and "token_exp"), durable before any tool
 * starts, and replay_load_audit() rebuilds the set from it at start, so a
 * restart never reopens a replay.
 */
#ifndef TOOLGATE_REPLAY_H
#define TOOLGATE_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include "error.h"

struct replay_cache;

struct replay_cache *replay_new(void);

/* Seen, and not yet expired at now? */
bool replay_seen(struct replay_cache *rc, const char *issuer, const char *jti, int64_t now);

/* Remember a use until exp.  0, or -1 when out of memory (the caller refuses). */
int replay_add(struct replay_cache *rc, const char *issuer, const char *jti, int64_t exp, int64_t now);

/* Add every unexpired single-use jti recorded in an audit log: the audit
   directory (every segment and audit.log, audit_files.h) or one file; a
   missing log is empty.  0 and *count, or -1. */
int replay_load_audit(struct replay_cache *rc, const char *log_path, int64_t now,
                      uint64_t *count, struct tg_error *err);

void replay_free(struct replay_cache *rc);

#endif
