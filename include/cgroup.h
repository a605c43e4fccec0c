/*
 * cgroup.h: resource limits for a call's whole process tree.
 *
 * rlimits bound one process; a cgroup bounds everything a tool starts, and
 * lets the broker end all of it at once.  At start the broker makes its own
 * subtree, "toolgate", under the cgroup it was started in (as systemd's
 * Delegate= intends; never at a hierarchy root unless the broker is there):
 *   - cgroup v2 when the broker's cgroup offers memory, pids and cpu;
 *   - else the v1 memory, pids and cpu hierarchies, if mounted and writable;
 *   - else nothing: the rlimits the sandbox sets are all there is, and
 *     cgroup_tree_describe() says why, for `toolgate status`.
 * Each call then gets a fresh cgroup "call-<broker pid>-<n>" in that subtree,
 * with its limits written before the tool's child enters it, and removed when
 * the call ends.  The per-call functions run on the broker's event loop for
 * every call: they only use dir fds opened at init and one write() a file.
 *
 * Order of use for one call:
 *   cgroup_call_create -> clone the child (v2: CLONE_INTO_CGROUP with
 *   cgroup_call_clone_fd) -> cgroup_call_attach -> release the gate ->
 *   ... reap the call's pid 1 -> cgroup_call_kill -> cgroup_call_stats ->
 *   cgroup_call_destroy.
 */
#ifndef TOOLGATE_CGROUP_H
#define TOOLGATE_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

enum cgroup_kind { CGROUP_NONE, CGROUP_V1, CGROUP_V2 };

/* The broker's subtree (opaque).  It must outlive every cgroup_call made in it. */
struct cgroup_tree;

/*
 * Detect and set up the broker's subtree under fs_root (normally
 * "/sys/fs/cgroup"), finding the broker's own cgroup in /proc/self/cgroup.
 * v2: the broker's cgroup must list memory, pids and cpu in cgroup.controllers;
 * they are enabled in its cgroup.subtree_control (moving the broker into a
 * leaf child "supervisor" first, for the no-internal-processes rule) and in
 * toolgate's.  v1: toolgate is made in each of the memory, pids and cpu
 * hierarchies (and cpuacct, for CPU time, when it is mounted on its own).
 * Call cgroups left by a broker instance that is no longer running are
 * emptied (SIGKILL) and removed.
 * When no cgroup can be used, the tree has kind CGROUP_NONE and a reason, and
 * the result is still 0: that is a degraded mode, not an error.  -1 (with err)
 * only when the broker cannot go on (out of memory).
 */
int cgroup_tree_init(struct cgroup_tree **out, const char *fs_root, struct tg_error *err);

/*
 * The same with the broker-membership file as a parameter ("/proc/self/cgroup"
 * in cgroup_tree_init), so that tests can describe a fake hierarchy in a
 * temporary directory.
 */
int cgroup_tree_init_at(struct cgroup_tree **out, const char *fs_root, const char *self_cgroup_file,
                        struct tg_error *err);

enum cgroup_kind cgroup_tree_kind(const struct cgroup_tree *t);

/*
 * One line for `toolgate status`:
 *   "cgroup v2 (memory.max, pids.max, cpu.max) under /sys/fs/cgroup/.../toolgate"
 *   "cgroup v1 (memory, pids, cpu controllers) under /sys/fs/cgroup/memory/.../toolgate, ..."
 *   "rlimits only: <reason>"
 */
const char *cgroup_tree_describe(const struct cgroup_tree *t);

/*
 * Close the subtree.  Removes this instance's own call cgroups that are still
 * there (best effort).  The "toolgate" directories themselves stay: broker
 * instances that share a cgroup share them, and removing one could pull it
 * away from another instance that is running.
 */
void cgroup_tree_free(struct cgroup_tree *t);

/* Limits of one call; 0 in a field means "no limit" for that resource. */
struct cgroup_limits {
	uint64_t memory_bytes;  /* memory the tree may use; swap never extends it */
	uint64_t pids;          /* processes and threads at once */
	unsigned cpu_percent;   /* 100 = one CPU's worth per 100 ms period */
};

#define CGROUP_HIER_MAX 4   /* v1: memory, pids, cpu, cpuacct; v2 uses one */
#define CGROUP_NAME_MAX 48

/* One call's cgroup(s).  Embedded in the call; zeroed or destroyed, it holds nothing. */
struct cgroup_call {
	struct cgroup_tree *tree;
	unsigned n;                       /* hierarchies in use: 0 with CGROUP_NONE */
	char name[CGROUP_NAME_MAX];       /* "call-<broker pid>-<n>" */
	int dir_fd[CGROUP_HIER_MAX];      /* the call's cgroup directory in each hierarchy */
	int procs_fd[CGROUP_HIER_MAX];    /* its cgroup.procs, open for writing */
};

/*
 * Make a fresh cgroup for one call and write its limits:
 *   v2: memory.max, memory.swap.max = 0 (when present), pids.max, cpu.max
 *       "QUOTA 100000";
 *   v1: memory.limit_in_bytes and memory.memsw.limit_in_bytes (when present)
 *       to the same value, pids.max, cpu.cfs_period_us = 100000 and
 *       cpu.cfs_quota_us.
 * l NULL means no limits.  With CGROUP_NONE it succeeds and makes nothing.
 * On failure nothing is left behind.  0 or -1 with err.
 */
int cgroup_call_create(struct cgroup_tree *t, const struct cgroup_limits *l, struct cgroup_call *c,
                       struct tg_error *err);

/* (Re)write the limits of a call's cgroup; l NULL writes nothing.  0 or -1 with err. */
int cgroup_call_set_limits(const struct cgroup_call *c, const struct cgroup_limits *l,
                           struct tg_error *err);

/*
 * In the call's child, before its gate: move the calling process into the
 * call's cgroup(s) (v1; v2 children are born inside).  Only write()s on the
 * fds opened at create: safe in a child cloned from the broker.  0, or -1
 * with errno.
 */
int cgroup_call_enter_self(const struct cgroup_call *c);

/*
 * Cgroups made ahead of time and removed afterwards, both while the broker
 * is idle (as the network namespace pool does): mkdir and rmdir of a cgroup
 * cost a few hundred microseconds, which a call should not wait for.  A
 * cgroup is used by exactly one call; a taken one gets its limits written
 * then.  When the pool is empty a call makes its own.
 */
#define CGROUP_POOL_MAX  8
#define CGROUP_SPENT_MAX 64

struct cgroup_pool {
	struct cgroup_tree *tree;
	struct cgroup_call ready[CGROUP_POOL_MAX];
	unsigned nready, target;
	struct cgroup_call spent[CGROUP_SPENT_MAX];  /* emptied, waiting for rmdir */
	unsigned nspent;
	uint64_t made, taken, missed;                /* for toolgate/status */
};

void cgroup_pool_init(struct cgroup_pool *p, struct cgroup_tree *t, unsigned target);
/* A cgroup with limits l for one call (from the pool, or made now).  0 or -1 with err. */
int cgroup_pool_take(struct cgroup_pool *p, const struct cgroup_limits *l, struct cgroup_call *c,
                     struct tg_error *err);
/* The call is over (its pid 1 reaped): kill anything left, queue the rmdir. */
void cgroup_pool_retire(struct cgroup_pool *p, struct cgroup_call *c);
bool cgroup_pool_has_work(const struct cgroup_pool *p);
/* One piece of idle work: remove a spent cgroup, else make a ready one. */
int cgroup_pool_work_one(struct cgroup_pool *p, struct tg_error *err);
void cgroup_pool_fini(struct cgroup_pool *p);

/* v2: an O_DIRECTORY fd of the call's cgroup for clone3's CLONE_INTO_CGROUP, so
   the child is born inside it (and attach has nothing left to do); else -1. */
int cgroup_call_clone_fd(const struct cgroup_call *c);

/*
 * Put a freshly cloned child (not yet exec'd, waiting at its gate) into the
 * call's cgroup(s).  v1: the pid is written to each hierarchy's cgroup.procs;
 * v2: nothing (the child was born inside through cgroup_call_clone_fd).
 * pid 0 means the calling process itself: a child can attach itself before
 * its gate, which keeps the kernel's cost of moving a process off the
 * broker's event loop.  0 or -1 with err.
 */
int cgroup_call_attach(const struct cgroup_call *c, pid_t pid, struct tg_error *err);

/* What the cgroup saw, read after the call's pid 1 was reaped. */
struct cgroup_stats {
	uint64_t oom_kills;          /* v2 memory.events oom_kill; v1 memory.oom_control oom_kill */
	uint64_t pids_max_hits;      /* forks refused at pids.max (pids.events "max") */
	uint64_t memory_peak_bytes;  /* v2 memory.peak (0 if absent); v1 memory.max_usage_in_bytes */
	uint64_t cpu_usage_us;       /* v2 cpu.stat usage_usec; v1 cpuacct.usage, 0 without cpuacct */
};

/* Fills s (zeros with CGROUP_NONE).  0, or -1 if a counter could not be read
   (the others are still filled). */
int cgroup_call_stats(const struct cgroup_call *c, struct cgroup_stats *s);

/*
 * SIGKILL every process still in the call's cgroup: v2 through cgroup.kill
 * when the kernel has it; otherwise cgroup.procs is read and each process
 * killed, again until it is empty (bounded: about 200 ms).  0, or -1 if
 * processes remained.
 */
int cgroup_call_kill(const struct cgroup_call *c);

/*
 * Remove the call's cgroup(s) and close its fds.  An rmdir that finds the
 * cgroup busy is retried for up to about 10 ms (the last process may still be
 * exiting).  Never reports an error: returns -1 if a directory remained (a
 * later broker start removes it), else 0.  Safe to call twice.
 */
int cgroup_call_destroy(struct cgroup_call *c);

#endif
