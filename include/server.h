/*
 * server.h: the broker's event loop, its connections and its calls.
 *
 * One thread, one epoll set.  Every fd the loop watches (the listening
 * socket, the signalfd, each client connection, and per call the child's
 * pipes, pidfd and deadline timerfd) is registered with a struct watch that
 * says what it is and who owns it.
 *
 * Each loop iteration handles a batch of events, then commits:
 *   0. connections condemned during the batch (a client that does not read
 *      its replies: conn_send) are closed, their calls abandoned;
 *   1. calls permitted in the batch are spawned: each child prepares its
 *      sandbox and waits at its gate (see sandbox.h), on the other core,
 *      while
 *   2. audit_sync() makes every record queued during the batch durable with
 *      one fdatasync (group commit) -- or, when the batch queued only
 *      outcomes (exec_end records), they are only written to the file, and
 *      made durable within AUDIT_OUTCOME_SYNC_MS, with the next decisions;
 *   3. the gates of calls whose start record is now durable open (if the
 *      sync failed, those children are killed instead);
 *   4. replies are written to the clients.
 * So no tool starts before its start record is on disk, no client hears of
 * a decision before its record is, and no client hears a tool's result
 * before its exec_end record is in the file.  Objects freed during a batch are put
 * on a graveyard list and released after it, so a later event of the same
 * batch never touches freed memory.
 */
#ifndef TOOLGATE_SERVER_H
#define TOOLGATE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include "error.h"
#include "framing.h"
#include "cgroup.h"
#include "sandbox.h"
#include "spare.h"
#include "sdnotify.h"

struct config;
struct audit_log;
struct call;

enum watch_kind {
	WATCH_LISTEN, WATCH_SIGNAL, WATCH_CONN,
	WATCH_CALL_STDIN, WATCH_CALL_STDOUT, WATCH_CALL_STDERR,
	WATCH_CALL_STATUS, WATCH_CALL_PIDFD, WATCH_CALL_TIMER, WATCH_CALL_SECCOMP, WATCH_KAUDIT,
	WATCH_METRICS,
};

struct watch {
	enum watch_kind kind;
	int fd;
	void *owner;
};

struct server_options {
	const char *config_dir;
	const char *state_dir;
	const char *socket_path;
	int socket_fd;               /* >= 0: inherited (socket activation) */
	mode_t socket_mode;
	gid_t socket_gid;            /* (gid_t)-1: leave as is */
	const char *broker_id;
	size_t max_message;          /* bytes per JSON-RPC line; default 1 MiB */
	unsigned max_calls_per_conn; /* tools/call in flight per connection; default 16 */
	unsigned max_calls;          /* in flight in total; default 256 */
	unsigned max_conns;          /* open connections; default 1024 */
	unsigned page_size;          /* tools/list page; default 50 */
	unsigned grace_ms;           /* SIGTERM drain grace; default 10000 */
	unsigned clock_skew;         /* seconds allowed on token nbf/exp; default 60 */
	uid_t dynamic_first, dynamic_last;  /* run_as "dynamic" range; default 61184-65519 */
	bool kernel_audit;           /* turn the kernel's audit switch on while running */
	unsigned spares;             /* spare sandboxes per tool (spare.h); default 2, 0: none */
	uint64_t audit_segment_bytes; /* audit.h audit_set_segment_bytes; 0: never rotate */
	/* Forwarding of the audit log (forward.h): host NULL = none. */
	const char *forward_host;
	unsigned forward_port;
	const char *forward_ca, *forward_cert, *forward_key;
	/* The HTTP metrics endpoint (metrics_http.h): NULL = none. */
	const char *metrics_listen;
	bool metrics_allow_remote;   /* a non-loopback metrics_listen is allowed */
	/* Idempotency keys (idem.h): how long a result is kept, and bounds. */
	uint64_t idem_window_ms;     /* default 24 h */
	size_t idem_max_entries;     /* default 10000 */
	uint64_t idem_max_bytes;     /* default 256 MiB */
};

void server_options_defaults(struct server_options *o);


struct conn {
	struct server *srv;
	struct watch w;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char *in;                    /* bytes read, not yet a complete line */
	size_t in_len, in_cap;
	struct framer framer;        /* line splitting with the size limit */
	char *out;                   /* replies waiting to be written */
	size_t out_len, out_cap, out_off;
	bool want_write;             /* EPOLLOUT registered */
	bool initialized;
	char protocol_version[32];
	char *default_token;         /* initialize's _meta["toolgate/delegation"] */
	bool modern;                 /* served per-request (MCP 2026-07-28) requests, not initialized */
	json_t *listens;             /* open subscriptions/listen requests (mcp.c), or NULL */
	bool read_closed;            /* peer shut down its write side */
	bool input_held;             /* requests wait in `in`, unread, until the replies
	                                queued before them are written (OUT_PAUSE) */
	const char *close_reason;    /* to be closed at this batch's commit (conn_send), or NULL */
	bool dead;                   /* closed; freed after the batch */
	unsigned ncalls;             /* calls in flight */
	struct call *calls;          /* this connection's calls */
	uint64_t read_ns;            /* when its last bytes were read (metrics_now_ns):
	                                the arrival of the requests they hold */
	struct conn *next, *prev;
	struct conn *grave_next;
};

struct server {
	struct server_options opt;
	int epfd;
	struct watch listen_w;
	struct watch signal_w;
	/* Descriptors from fd_reserved_from on (the last quarter of
	   RLIMIT_NOFILE) are kept for calls: a connection that would take one is
	   refused, and idle work waits.  When accept() itself fails for want of
	   descriptors or memory, the listening socket rests until
	   accept_resume_ms, and the connections wait in its backlog. */
	unsigned fd_reserved_from;
	bool accept_paused;
	uint64_t accept_resume_ms;
	uint64_t fd_short_since_ms;  /* when the current shortage began; 0: none */
	uint64_t fd_short_refused;   /* connections refused during it */
	bool owns_socket_path;
	struct config *config;       /* current snapshot; calls hold their own ref */
	struct audit_log *audit;
	char audit_error[TG_ERROR_MAX]; /* non-empty once the log failed */
	struct conn *conns;
	unsigned nconns;
	unsigned ncalls;             /* calls in flight (queued or running) */
	struct call *calls;          /* every live call (queued, running, abandoned) */
	struct replay_cache *replay; /* jtis of single-use tokens already used */
	struct ratelimit_state *ratelimit; /* survives reloads: counters stay */
	struct uid_pool uids;        /* run_as "dynamic" */
	struct call *spawn_queue;    /* permitted, to be spawned at the next commit */
	struct call *gated;          /* spawned, waiting for their start record's fdatasync */
	struct call *grave_calls;
	struct conn *grave_conns;
	struct netns_pool netns;     /* fresh network namespaces, made while idle */
	uint64_t netns_retry_ms;     /* after a failure to make one, not before this */
	bool netns_failing;          /* that failure was logged */
	struct cgroup_tree *cgroups; /* the broker's cgroup subtree (maybe kind NONE) */
	struct cgroup_pool cgpool;   /* call cgroups made and removed while idle */
	struct spares spares;        /* confined children ready for a next call */
	uint64_t audit_failed_at_ms, audit_retry_ms;  /* while audit_error is set */
	uint64_t audit_outcome_since_ms;  /* an outcome record waits for its sync since; 0: none */
	bool rotation_warned;        /* audit_rotation_error was logged */
	bool checkpoint_failing;     /* a failed checkpoint was logged */
	struct disabled *disabled;   /* the kill switch (disabled.h) */
	char landlock[96];           /* what Landlock offers here (sandbox_detect) */
	struct kaudit *kaudit;       /* the kernel's audit log: Landlock refusals by path; or NULL */
	struct forwarder *forwarder; /* ships the audit log to a collector; or NULL */
	struct idem_store *idem;     /* results of calls with an idempotency key */
	struct watch kaudit_w;
	char kaudit_state[200];      /* for toolgate/status: on, or why not */
	int kaudit_restore;          /* the audit switch to put back at stop, or -1 */
	struct sdnotify notify;      /* systemd's NOTIFY_SOCKET, or inert (sdnotify.h) */
	bool draining;
	uint64_t drain_deadline_ms;
	bool drain_killed;           /* the grace ran out and the calls were killed */
	bool stop;
	uint64_t calls_total;        /* tools/call requests that reached a decision */
	struct metrics *metrics;     /* server_metrics.c */
	struct metrics_http *metrics_http;  /* --metrics-listen, or NULL */
	struct watch metrics_w;
};

/* Open the audit log, load the configuration, listen.  Errors name the cause. */
int server_init(struct server *s, const struct server_options *o, struct tg_error *err);
/* Run until SIGTERM/SIGINT has drained everything.  0, or -1 on a fatal error. */
int server_run(struct server *s, struct tg_error *err);
void server_fini(struct server *s);

/* Queue one line (with newline) for a connection; takes ownership of line.
   A client that does not read its replies is dropped, but only at the
   batch's commit: conn_send never closes the connection itself, so a
   caller in the middle of ending a call (approval.c, call_idem.c) never
   sees that call abandoned under it. */
void conn_send(struct conn *c, char *line, size_t len);
/* Convenience: queue a JSON-RPC result or error reply. */
void conn_reply_result(struct conn *c, const json_t *id, json_t *result);
void conn_reply_error(struct conn *c, const json_t *id, int code, const char *message);

/* Audit one record from the server's point of view (fields stolen).  On
   failure, records the audit error on the server and returns -1. */
int server_audit(struct server *s, json_t *fields, uint64_t *seq);
/* The same for an outcome (a tool's exec_end): written to the file before
   the answer goes out, durable within milliseconds, along with the next
   decision's record (audit.h). */
int server_audit_outcome(struct server *s, json_t *fields, uint64_t *seq);
/* Load the configuration again and swap it in whole (SIGHUP, toolgate/admin/reload);
   on any error the old one stays, the error logged and audited.  0 or -1. */
int server_reload(struct server *s, struct tg_error *err);

/* epoll helpers for calls. */
int server_watch(struct server *s, struct watch *w, uint32_t events);
void server_unwatch(struct server *s, struct watch *w);

uint64_t server_now_ms(void);

/* server_metrics.c: the broker's metrics (metrics.h).  Start: the registry
   and, with --metrics-listen, the HTTP endpoint in this loop. */
int server_metrics_start(struct server *s, struct tg_error *err);
void server_metrics_stop(struct server *s);
/* The exposition text now (malloc'd), or NULL. */
char *server_metrics_text(struct server *s, size_t *len);
/* Count one audit record the server wrote (server_audit). */
void server_metrics_note_audit(struct server *s, const json_t *fields);
/* toolgate/metrics: {"content_type", "text"} for an admin (policy_is_admin),
   a JSON-RPC error for anyone else. */
void server_metrics_reply(struct conn *c, const json_t *id);

/* Read what the kernel's audit log has for us now (Landlock refusals of
   running calls).  Cheap when there is nothing. */
void server_kaudit_drain(struct server *s);

#endif
