/*
 * disabled.h: the kill switch, the tools an administrator turned off.
 *
 * `toolgate admin disable TOOL` takes a tool out of service at once, over
 * whatever the configuration says, until `toolgate admin enable TOOL`: the
 * set lives in STATE_DIR/disabled.json, not in the configuration, so that it
 * holds across reloads (a redeployed tools.d/ does not switch a tool back
 * on behind the admin's back) and restarts.  The file is
 *   {"version": 1, "tools": {"NAME": {"by": "...", "reason": "...", "at": "RFC 3339"}}}
 * written whole (temporary file, fsync, rename, fsync of the directory), so
 * a crash leaves the old set or the new, never a mix.  A file that cannot be
 * read or parsed is an error at start: the broker does not start with its
 * kill switch unknown.
 */
#ifndef TOOLGATE_DISABLED_H
#define TOOLGATE_DISABLED_H

#include <stdbool.h>
#include <jansson.h>
#include "error.h"

#define DISABLED_FILE_MAX (1024 * 1024)
#define DISABLED_REASON_MAX 300

struct disabled;

/* STATE_DIR/disabled.json; a missing file is the empty set. */
struct disabled *disabled_open(const char *state_dir, struct tg_error *err);
void disabled_free(struct disabled *d);

/* The entry {"by", "reason", "at"} of a disabled tool, or NULL (borrowed). */
const json_t *disabled_get(const struct disabled *d, const char *tool);
/* Every entry: the "tools" object (borrowed). */
const json_t *disabled_all(const struct disabled *d);

/*
 * Disable (or re-disable, replacing by/reason/at) and enable a tool; the
 * file is written before the set in memory changes, so what the broker
 * enforces is always what a restart will.  The tool name is checked
 * (1 to 128 of A-Z a-z 0-9 . _ -), not looked up: a tool may be disabled
 * before it is deployed.  *was says whether it was disabled before.
 * 0; -2 a bad name or reason (nothing written); -1 the file could not be
 * written (nothing changed).
 */
int disabled_set(struct disabled *d, const char *tool, const char *by, const char *reason,
                 bool *was, struct tg_error *err);
int disabled_clear(struct disabled *d, const char *tool, bool *was, struct tg_error *err);

#endif
