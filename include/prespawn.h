/*
 * prespawn.h: sandboxes prepared ahead of time, one per recently called tool.
 *
 * Cloning a child into its namespaces and confining it takes most of a
 * call's time before the tool itself runs.  While the broker's loop is idle,
 * prespawn prepares one sandbox for each of the last few tools called: a
 * child fully confined for that tool and waiting at its gate (sandbox.h).
 * The next call of that tool takes it instead of spawning, so only the gate,
 * opened after the call's start record is durable, stands between the
 * decision and the exec.
 *
 * A prepared sandbox belongs to the configuration snapshot it was made for
 * and is used by exactly one call, never reused; a reload or a drain
 * discards them all.  Under sustained load the loop is never idle and calls
 * spawn their own sandbox, exactly as without prespawn.
 */
#ifndef TOOLGATE_PRESPAWN_H
#define TOOLGATE_PRESPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include "sandbox.h"

struct server;
struct config;
struct tool;
struct watch;

#define PRESPAWN_TOOLS 8   /* tools kept prepared, most recently called first */

struct prespawned;

struct prespawn {
	const struct config *cfg;               /* the snapshot the entries belong to */
	const struct tool *wanted[PRESPAWN_TOOLS];
	unsigned nwanted;
	struct prespawned *ready;
	unsigned nready;
	uint64_t made, taken, failed;           /* for toolgate/status */
};

/* Take the prepared sandbox of this tool of this snapshot into *child; 0, or
   -1 when there is none. */
int prespawn_take(struct server *s, const struct config *cfg, const struct tool *t,
                  struct sandbox_child *child);

/* A call of this tool: keep one prepared for it from now on. */
void prespawn_want(struct server *s, const struct config *cfg, const struct tool *t);

/* Is there idle work (a wanted tool without a prepared sandbox)? */
bool prespawn_has_work(const struct server *s);

/* Prepare one sandbox (blocks for a clone3); call only when idle. */
void prespawn_work(struct server *s);

/* A prepared child's pidfd fired: it ended before use. */
void prespawn_on_event(struct watch *w);

/* Kill and reap every prepared sandbox and forget the wanted tools. */
void prespawn_discard_all(struct server *s, const char *why);

#endif
