/*
 * sandbox.h: starting one tool in a confined child process.
 *
 * sandbox_spawn() clones a child into fresh mount, pid, ipc, uts and (unless
 * the tool has network "host") network namespaces and confines it step by
 * step (see sandbox.c for the order and why).  The confined child then waits
 * at a gate: it execs the tool's argv only after sandbox_release().  This
 * lets the broker prepare the sandbox while the tool's start record is being
 * made durable, without ever starting the tool before that.  sandbox_spawn
 * never blocks on the child: setup failures come back asynchronously on
 * status_fd (EOF without data means the exec succeeded).  The tool is pid 1 of its pid
 * namespace, so killing it ends every process it started.
 */
#ifndef TOOLGATE_SANDBOX_H
#define TOOLGATE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

struct tool;
struct cgroup_call;

struct sandbox_child {
	pid_t pid;
	int pidfd;       /* readable when the child has exited */
	int stdin_fd;    /* parent's write end (non-blocking) */
	int stdout_fd;   /* parent's read end (non-blocking) */
	int stderr_fd;   /* parent's read end (non-blocking) */
	int status_fd;   /* parent's read end: setup error text, or EOF on exec */
	int gate_fd;     /* parent's write end of the gate; -1 once released */
	int notify_fd;   /* the child's seccomp listener, once taken; else -1 */
	int netns_fd;    /* the network namespace it joined from the pool, held
	                    so that it can be kept for its owner (netns_pool_keep);
	                    else -1 */
};

/* Every descriptor -1 (and no pid): a child not (yet) spawned, which
   sandbox_close and the broker's release leave alone.  Every sandbox_child
   starts here, so that no field is ever 0, the broker's stdin. */
void sandbox_child_init(struct sandbox_child *c);

struct seccomp_verdict;
struct seccomp_program;

/*
 * For make bench only (bench/layers.c): when set, each child stamps
 * CLOCK_MONOTONIC into this shared page as it finishes each step, so the
 * cost of every confinement layer can be measured in the real code path.
 * The broker never sets it.
 */
enum sandbox_step {
	SANDBOX_T_CHILD,       /* the child runs (clone3 with its namespaces done) */
	SANDBOX_T_CGROUP,      /* entered the call's cgroup */
	SANDBOX_T_NET,         /* joined its network namespace, mounts private, hostname */
	SANDBOX_T_VIEW,        /* its own root built (fsview) */
	SANDBOX_T_IDENTITY,    /* rlimits, uid/gid, capabilities dropped */
	SANDBOX_T_NNP,         /* no_new_privs, descriptors marked close-on-exec */
	SANDBOX_T_LANDLOCK,    /* Landlock in force */
	SANDBOX_T_SECCOMP,     /* seccomp filter and listener, handed to the broker */
	SANDBOX_T_GATE,        /* the broker's go received: exec next */
	SANDBOX_T_COUNT
};
void sandbox_set_timing(volatile uint64_t *stamps);

/* Detect what this kernel offers the sandbox (once, at broker start) and
   describe Landlock for toolgate/status. */
void sandbox_detect(char *landlock, size_t n);

/*
 * Rootless mode (the broker is not root; decided by sandbox_detect): every
 * child also gets a new user namespace owning its other namespaces, with
 * only the tool's uid and gid mapped, onto the broker's own; there is no
 * network namespace pool and no cgroup unless one is delegated.
 */
bool sandbox_rootless(void);

/* Scratch tmpfs size for each call (the tool's cwd and TMPDIR). */
#define SANDBOX_SCRATCH_MB 64
#define SANDBOX_SCRATCH_PATH "/tmp"

/*
 * Spawn.  netns_fd >= 0 is a fresh network namespace from the pool (see
 * below) that the child joins instead of creating one; sandbox_spawn takes
 * ownership of it (it is closed either way).  -1 creates one in clone3.
 * uid/gid: the identity the tool runs as (the tool's run_as, or a dynamic
 * uid the caller allocated).  cg: the call's cgroup (cg->n == 0: none; then
 * memory_mb and processes fall back to RLIMIT_AS and RLIMIT_NPROC).
 */
int sandbox_spawn(const struct tool *t, int netns_fd, uid_t uid, gid_t gid,
                  const struct cgroup_call *cg, struct sandbox_child *c, struct tg_error *err);

/*
 * Network namespaces made ahead of time.  Creating one costs about as much
 * as the rest of a sandbox together, and removing one (the kernel does that
 * in a worker thread) about half as much again, so the broker makes them
 * while it is idle: netns_pool_fill_one() unshares a new one, keeps an fd
 * to it, and returns the broker to its own namespace before returning.
 *
 * A fresh namespace goes to exactly one call.  Once that call is over, and
 * only then, its namespace may be kept for a later call of the same owner
 * (netns_pool_keep): the same tool of the same configuration, for the same
 * caller (uid, gid, principal) on behalf of the same delegating user.  That
 * is done only for a tool whose namespace nothing can change
 * (sandbox_netns_keepable: network "none", so no interface is ever up and
 * no socket can be bound to an address; a fixed uid that is not root, so
 * no process in it can write its sysctls; and never rootless) and only once
 * every process of the call is gone (its pid namespace's init was reaped,
 * and the kernel reaps every other process of a pid namespace before its
 * init).  What a kept namespace still carries from one call to the next is
 * its counters (/proc/net/snmp, /proc/net/netstat) and its identity (the
 * inode of /proc/self/ns/net): a channel between two calls of one tool for
 * one caller and one user, whose results go to that same caller anyway.
 * Calls of different owners never share a namespace, at once or in turn;
 * a reload forgets every kept one (netns_pool_forget_kept).
 */
#define NETNS_POOL_MAX 8
#define NETNS_KEPT_MAX 8

/* Who may have a kept namespace: compared byte for byte. */
struct netns_owner {
	const void *tool;              /* the tool, of the current configuration */
	unsigned char who[32];         /* BLAKE2b of uid, gid, principal, user */
};

struct netns_kept {
	int fd;
	struct netns_owner owner;
	uint64_t stamp;                /* when it was kept: the oldest goes first */
};

struct netns_pool {
	int home_fd;                 /* the broker's own network namespace */
	int fds[NETNS_POOL_MAX];
	unsigned n, target;
	struct netns_kept kept[NETNS_KEPT_MAX];
	unsigned nkept;
	uint64_t made, taken, missed;  /* for toolgate/status */
	uint64_t reused, dropped;      /* kept ones given again / closed unused */
	uint64_t clock;
};

/* Can a namespace t's calls used ever be kept (see above)? */
bool sandbox_netns_keepable(const struct tool *t);

/* The owner of a call: t called by uid/gid as principal on behalf of user
   (NULL: none). */
void netns_owner_make(struct netns_owner *o, const struct tool *t, uid_t uid, gid_t gid,
                      const char *principal, const char *user);

int netns_pool_init(struct netns_pool *p, unsigned target, struct tg_error *err);
bool netns_pool_wants_more(const struct netns_pool *p);
/* Make one namespace (blocks for the kernel's creation cost).  0 or -1. */
int netns_pool_fill_one(struct netns_pool *p, struct tg_error *err);
/* A namespace for one call, or -1 when the pool is empty. */
int netns_pool_take(struct netns_pool *p);
/* The same, for a call of owner o (NULL: a fresh one only): a namespace kept
   for o if there is one (*reused true), else a fresh one. */
int netns_pool_take_for(struct netns_pool *p, const struct netns_owner *o, bool *reused);
/* Keep fd (taken over: kept or closed) for o's later calls.  The caller
   vouches for what the comment above requires. */
void netns_pool_keep(struct netns_pool *p, int fd, const struct netns_owner *o);
/* Close every kept namespace (a new configuration: its tools are others). */
void netns_pool_forget_kept(struct netns_pool *p);
void netns_pool_fini(struct netns_pool *p);

/*
 * The status pipe's first message is the child's seccomp listener: a NUL
 * and the descriptor's number in the child (sandbox.c).  The broker takes it
 * with pidfd_getfd into notify_fd; the gate must not open before that, or
 * the tool would run with nobody to answer its refused calls.  0 or -1.
 */
#define SANDBOX_HELLO_LEN 5
int sandbox_take_listener(struct sandbox_child *c, const unsigned char hello[SANDBOX_HELLO_LEN]);

/*
 * Answer one refused system call waiting on notify_fd: decide it with the
 * tool's profile (seccomp_profile.h), then make the call fail with its
 * errno, or SIGKILL the process that made it.  1 with *v filled (*killed:
 * the pid killed, or 0; *odd: the profile's programs disagreed, see
 * seccomp_program_decide), 0 when nothing was waiting, -1 on error.
 */
int sandbox_answer_seccomp(struct sandbox_child *c, const struct seccomp_program *p,
                           struct seccomp_verdict *v, pid_t *killed, bool *odd);

/* Open the gate: the confined child execs the tool.  0, or -1 (the child
   is gone; its status fd says why).  The caller ignores SIGPIPE, as the
   broker does: a gate whose child died is a pipe without a reader. */
int sandbox_release(struct sandbox_child *c);

/* The same, and the tool gets TRACEPARENT=traceparent in its environment
   (a validated W3C traceparent of exactly SANDBOX_TRACEPARENT_LEN
   characters; anything else, or NULL, adds nothing). */
#define SANDBOX_TRACEPARENT_LEN 55
int sandbox_release_traced(struct sandbox_child *c, const char *traceparent);

/* SIGKILL the child (and with it its whole pid namespace).  0 or -1. */
int sandbox_kill(const struct sandbox_child *c);

/* Reap the exited child without blocking; 0 with *wstatus and (if cpu_ms is
   non-NULL) the CPU time the tool's own process used, or -1 (not yet). */
int sandbox_reap(const struct sandbox_child *c, int *wstatus, uint64_t *cpu_ms);

/* Close every fd of the child struct that is still open (sets them to -1). */
void sandbox_close(struct sandbox_child *c);

/* "exited with status 3", "killed by signal 9 (SIGKILL)",
   "killed by signal 31 (SIGSYS): a system call its seccomp profile forbids". */
void sandbox_describe_status(int wstatus, char *buf, size_t n);

/* The shell-style exit number: the status, or 128 + signal. */
int sandbox_exit_number(int wstatus);

/*
 * Dynamic uids (run_as "dynamic"): each call gets a uid (and the same gid) of
 * its own from a range no account uses, released when the call ends.  The
 * pid namespace guarantees that no process of a call outlives its reaping,
 * so a released uid has nothing running when it is given out again.
 */
struct uid_pool {
	uid_t first;
	unsigned count;
	unsigned char *used;
	unsigned next, in_use;
};

/* The range [first, last]; 0 or -1 with err. */
int uid_pool_init(struct uid_pool *p, uid_t first, uid_t last, struct tg_error *err);
/* A free uid into *uid, or -1 when all are in use. */
int uid_pool_take(struct uid_pool *p, uid_t *uid);
void uid_pool_give(struct uid_pool *p, uid_t uid);
void uid_pool_fini(struct uid_pool *p);

#endif
