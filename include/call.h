/*
 * call.h: one tools/call, from decision to reply.
 *
 * The path of a call:
 *   call_start(): tool lookup -> schema validation -> policy decision ->
 *     decision record; a refusal is answered here; a permit queues the
 *     exec_start record and the call joins the server's spawn queue;
 *   call_spawn_queued(): sandbox_spawn(), the child waits at its gate;
 *   call_release_gated(): after the group fdatasync, open the gates;
 *   call_on_event(): stdin feeding, stdout/stderr capture (capped), setup
 *     errors, exit (pidfd), deadline (timerfd);
 *   finish: exec_end record, result, reply.
 * A cancelled call (or one whose client vanished) is killed and audited but
 * gets no reply, as MCP's cancellation says.
 */
#ifndef TOOLGATE_CALL_H
#define TOOLGATE_CALL_H

#include <stdbool.h>
#include <stdint.h>
#include "error.h"
#include <jansson.h>

struct server;
struct conn;
struct watch;
struct call;

/* Handle a tools/call request (id and params borrowed). */
void call_start(struct conn *c, const json_t *id, json_t *params);

/* Spawn every queued call; each child prepares and waits at its gate. */
void call_spawn_queued(struct server *s);

/* After audit_sync: open the gate of every spawned call whose start record
   is durable; kill the others (fail closed). */
void call_release_gated(struct server *s);

void call_on_event(struct watch *w, uint32_t events);

/* notifications/cancelled for a request id of this connection. */
void call_cancel_by_id(struct conn *c, const json_t *request_id, const char *reason);

/* Kill and abandon every call of a connection that went away. */
void call_abandon_all(struct conn *c);

/* toolgate/approvals/list: the held calls this connection's principal may
   decide ({"approvals": [...]}, per the contract). */
json_t *call_approvals_list(struct conn *c);

/* toolgate/approvals/decide.  0 and *result, or -1 with why (unknown id,
   not an approver, the caller's own call, audit failure). */
int call_approvals_decide(struct conn *c, const char *approval_id, bool approve,
                          const char *reason, json_t **result, char *why, size_t whylen);

/* How many calls wait for an approver now. */
unsigned call_approvals_pending(const struct server *s);

/* Refuse (and audit) every call still waiting for an approver; or only
   those of one tool (NULL: all). */
void call_end_all_held(struct server *s, const char *reason);
void call_end_held_for_tool(struct server *s, const char *tool, const char *reason);

/* At start: refuse (and audit) the approvals the log shows pending, left
   by a broker that stopped while they waited.  0 or -1. */
int call_refuse_pending_approvals(struct server *s, const char *log_path, struct tg_error *err);

/* Kill every running call (drain deadline passed). */
void call_kill_all(struct server *s, const char *reason);

/* Free calls that finished during the last batch. */
void call_free_graveyard(struct server *s);

/* A Landlock refusal the kernel's audit log reported for the sandboxed
   child with pid ev->pid: noted in that call's result and end record.
   False when no running call has that child (its call has ended). */
struct kaudit_event;
bool call_note_landlock(struct server *s, const struct kaudit_event *ev);

#endif
