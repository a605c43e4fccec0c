/*
 * spare.h: confined children made ready before a call needs them.
 *
 * Building a tool's sandbox (namespaces, its own root, Landlock, seccomp,
 * the uid switch) is most of a call's cost, and none of it depends on the
 * call: only the arguments (stdin) and the go at the gate do.  So while the
 * broker is idle it prepares, for the tool most recently called, one child
 * confined exactly as that tool's next call would be, waiting at its gate.
 * The next call of that tool adopts it: its start record is written (naming
 * the uid the spare was made for), and once that record is durable and the
 * broker holds the child's seccomp listener, the gate opens, as for any
 * child.  A spare is used by one call only; spares of a replaced
 * configuration are discarded (killed before they ever exec'd).
 */
#ifndef TOOLGATE_SPARE_H
#define TOOLGATE_SPARE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "cgroup.h"
#include "error.h"
#include "sandbox.h"

struct server;
struct config;
struct tool;

struct spare {
	struct config *cfg;          /* a reference to the snapshot its tool belongs to */
	const struct tool *tool;
	struct sandbox_child child;
	struct cgroup_call cg;
	uid_t uid;
	gid_t gid;
	bool dynamic_uid;            /* uid is from the server's pool */
	bool netns_kept;             /* it joined a namespace kept for owner (sandbox.h):
	                                only a call of that owner may adopt it */
	struct netns_owner owner;
};

#define SPARES_MAX 4

struct spares {
	struct spare v[SPARES_MAX];
	unsigned n;
	unsigned per_tool;           /* spares kept for the wanted tool (--spares; 0: none) */
	struct spare graves[2 * SPARES_MAX];   /* killed, not yet reaped */
	unsigned ngraves;
	struct config *want_cfg;     /* the tool the next spare is for (cfg referenced) */
	const struct tool *want;
	struct netns_owner want_owner;   /* the caller of its last call */
	bool want_owned;
	uint64_t made, used, discarded;   /* for toolgate/status */
};

/*
 * Spawn the confined child of one call of t as uid/gid: a cgroup (from the
 * server's pool) with t's limits, a network namespace (the pool's: one kept
 * for owner if t's can be kept and owner is not NULL, *netns_kept then
 * true; else a fresh one), then sandbox_spawn.  Used for spares and for
 * calls that find none.  0, or -1 with err (then nothing is held).
 */
int spare_spawn(struct server *s, const struct tool *t, const struct netns_owner *owner,
                uid_t uid, gid_t gid, struct cgroup_call *cg, struct sandbox_child *child,
                bool *netns_kept, struct tg_error *err);

/* A spare of the current configuration's tool t that a call of owner may
   adopt, if one is ready: moved to *out (the caller owns it all, cfg
   reference included).  True if found. */
bool spares_take(struct server *s, const struct tool *t, const struct netns_owner *owner,
                 struct spare *out);

/* The tool whose next call a spare should serve: t, of the snapshot cfg,
   was just called.  Only a tool of the current configuration gets spares:
   a call decided before a reload (one held for an approver) runs under
   the replaced snapshot, whose spares would be stale at once, and the
   spares do not hold that snapshot. */
void spares_want(struct server *s, const struct config *cfg, const struct tool *t,
                 const struct netns_owner *owner);

/* Idle work: discard stale spares, make the wanted one.  True while there
   is some to do. */
bool spares_have_work(const struct server *s);
void spares_work_one(struct server *s);

/* Kill and release a spare (or an adopted child that never ran): its uid and
   cgroup go back once it is reaped, which happens later if not at once. */
void spare_discard(struct server *s, struct spare *sp);

/* Reap the discarded spares that have died by now, and release what they
   held.  The loop calls it while there are any (spares.ngraves), so that no
   killed child stays a zombie, holding its pipes and cgroup, until the
   next call. */
void spares_reap(struct server *s);

void spares_fini(struct server *s);

#endif
