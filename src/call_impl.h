/*
 * call_impl.h: the insides of a call, shared by the two halves of the call
 * module and by nothing else (the API is call.h): call.c runs a call from
 * the request to the reply (decision, spawn, supervision, the end), and
 * approval.c holds a call for an approver.
 */
#ifndef TOOLGATE_CALL_IMPL_H
#define TOOLGATE_CALL_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>
#include "call.h"
#include "cgroup.h"
#include "redact.h"
#include "report.h"
#include "sandbox.h"
#include "server.h"

#define DRAIN_AFTER_EXIT_MS 1000
/* With the kernel's audit log read (toolgated --kernel-audit), how long a
   call waits after its tool exits for Landlock's records to arrive. */
#define KAUDIT_GRACE_MS 50  /* kauditd under load: 20 ms was seen short on a busy 2-core machine */

enum call_state {
	CALL_HELD,      /* waiting for an approver (approval fields below) */
	CALL_QUEUED,    /* permitted; spawned at the next commit */
	CALL_RUNNING,
	CALL_DONE,
	CALL_WAITING,   /* a retry with an idempotency key whose first call is
	                   still running: answered when that call ends */
};

#define PROGRESS_EVERY_MS 10000  /* notifications/progress while held */
#define RUN_PROGRESS_EVERY_MS 5000 /* ... while the tool runs (clients reset their timeouts on it) */

struct capture {
	char *buf;
	size_t len;
	size_t cap;
	size_t limit;
	uint64_t total;   /* bytes the tool wrote, kept or not */
	bool cut;         /* the limit dropped some */
	bool eof;
};

struct call {
	struct server *srv;
	struct conn *conn;          /* NULL once the client is gone */
	json_t *id;
	struct config *cfg;         /* our reference */
	const struct tool *tool;
	char *agent;
	char *user;                 /* the delegating user (token sub), or NULL */
	json_t *token_fields;       /* issuer, kid, jti, ... for the audit, or NULL */
	json_t *peer;
	json_t *args;
	json_t *rules;
	char decision_reason[300];   /* as struct call_decision.reason */
	uint64_t decision_seq, start_seq;
	enum call_state state;

	char *stdin_buf;
	size_t stdin_len, stdin_off;
	struct sandbox_child child;
	struct watch w_in, w_out, w_err, w_status, w_pid, w_timer;
	struct capture out, err;
	char setup_error[256];
	size_t setup_len;
	bool status_eof;
	bool exited;
	int wstatus;
	uint64_t cpu_ms;            /* CPU time of the tool's own process */
	struct cgroup_call cg;      /* the call's cgroup (cg.n == 0: none) */
	bool adopted;               /* child and cgroup came from a spare (spare.h) */
	struct netns_owner owner;   /* whose kept network namespace it may have (sandbox.h) */
	bool audit_grace;           /* exited; waiting briefly for the kernel's audit records */
	struct watch w_seccomp;     /* the child's seccomp listener */
	bool start_durable;         /* its start record is on disk: the gate may open */
	struct tool_report rep;     /* what the sandbox saw it do: refusals, limits */
	uid_t uid;                  /* the identity it runs as */
	gid_t gid;
	bool dynamic_uid;           /* uid is from the server's pool: give it back */
	bool timed_out;
	bool released;              /* the gate opened: the tool itself ran */
	bool cancelled;             /* no reply: cancelled, or the client left */
	char stop_reason[160];      /* why the broker killed it, if it did */
	struct timespec t0;
	uint64_t request_ns;        /* when its request was read (metrics_now_ns) */

	/* approval, while CALL_HELD (approval.c) */
	char approval_id[32];
	json_t *approvers;          /* principal names who may decide */
	unsigned deadline_s;
	uint64_t deadline_ms;       /* CLOCK_MONOTONIC */
	uint64_t run_deadline_ms;   /* CLOCK_MONOTONIC: when the running tool times out */
	char requested_at[40], deadline_at[40];
	json_t *progress_token;     /* the caller's _meta.progressToken, or NULL */
	unsigned progress_n;
	char *approved_by;

	/* idempotency (idem.h) and tracing, from the request's _meta */
	char *idem_key;             /* _meta["toolgate/idempotencyKey"], or NULL */
	char idem_id[65];           /* its entry in the store */
	char idem_fp[65];           /* fingerprint of tool, user and arguments */
	json_t *idem_header;        /* what the store keeps of this call, once begun */
	bool idem_begun;            /* its "started" entry is on disk */
	struct call *idem_leader;   /* CALL_WAITING: the call it waits for */
	char start_error[240];      /* why call_start_and_queue returned -3 */
	char *traceparent;          /* a valid W3C traceparent, or NULL */
	/* secrets: what the tool writes passes through these before capture */
	bool redacting;
	struct redactor red_out, red_err;

	struct call *conn_next, *conn_prev;
	struct call *all_next, *all_prev;
	struct call *queue_next;
	struct call *grave_next;
};

/* The same, before a call exists (a refusal). */
struct req_meta {
	const char *key;            /* validated idempotency key, or NULL */
	const char *traceparent;    /* validated, or NULL */
};

/* Audit and answer a call that does not run (a refusal), in call.c. */
void call_refuse(struct conn *c, const json_t *id, const char *agent, json_t *peer,
                 const char *tool, json_t *args, const char *decision, const char *reason,
                 json_t *rules, const char *user, const json_t *token_fields,
                 uint64_t retry_after_ms, const struct req_meta *m);

/* call_idem.c: route a decided call with an idempotency key (true: it was
   dealt with: answered, refused or left waiting for the first call), and
   answer the retries waiting for a first call that ended. */
bool call_idem_route(struct call *k, bool held);
void call_answer_waiters(struct call *leader, const json_t *result, uint64_t end_seq);

/* notifications/progress to the caller, when it sent a progressToken
   (approval.c; call.c uses it while the tool runs). */
void call_send_progress(struct call *k, const char *message);

/* Shared between call.c and approval.c. */
void call_link(struct call *k);
void call_unlink(struct call *k);
void call_free(struct call *k);
void call_unwatch_close(struct server *s, struct watch *w, int *fd);
void call_add_token_fields(json_t *rec, const char *user, const json_t *fields);
json_t *call_peer_json(const struct conn *c);
int call_arm_timer(struct call *k, uint64_t ms);
/* The exec_start record, then the spawn queue; 0, -1 (the log refused the
   record), -2 (no dynamic uid free) or -3 (the idempotency store refused
   the key: k->start_error says why). */
int call_start_and_queue(struct call *k);
/* The request's idempotency key and traceparent, in a record of this call. */
void call_add_request_fields(json_t *rec, const struct call *k);

/* approval.c: hold a call the policy sent to an approver; its deadline
   timer fired; withdraw it (the client left, or cancelled). */
void call_hold(struct call *k);
void call_on_hold_timer(struct call *k);
void call_withdraw_held(struct call *k, const char *why);

#endif
