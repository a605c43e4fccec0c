/*
 * call_idem.c: a tools/call that carries an idempotency key (idem.h): a
 * retry is answered from the first call (still running, or stored) instead
 * of running the tool again, and a key that names another call is refused.
 * call.c decides the call first, then asks call_idem_route; the first
 * call's end answers the retries that waited for it.
 */
#include "call_impl.h"
#include "audit.h"
#include "config.h"
#include "idem.h"
#include "jsonrpc.h"
#include "log.h"
#include "server.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The live call (held, queued or running) that holds k's key, if any. */
static struct call *live_call_with_key(struct server *s, const struct call *k)
{
	for (struct call *o = s->calls; o; o = o->all_next)
		if (o != k && o->idem_key && o->state != CALL_WAITING && o->state != CALL_DONE &&
		    strcmp(o->idem_id, k->idem_id) == 0)
			return o;
	return NULL;
}

/* A call refused for its key: audited and answered like any refusal. */
static void refuse_call(struct call *k, const char *reason)
{
	struct req_meta m = { k->idem_key, k->traceparent };
	json_t *none = json_array();
	call_refuse(k->conn, k->id, k->agent, k->peer, k->tool->name, k->args, "invalid", reason, none,
	       k->user, k->token_fields, 0, &m);
	json_decref(none);
	call_free(k);
}

/* A retry's own decision record (what the policy said of it), before it
   is answered from the first call. */
static int audit_retry_decision(struct call *k, bool held)
{
	json_t *dec = json_pack("{s:s, s:s, s:O, s:s, s:O, s:s, s:O, s:s}",
		"event", "decision", "agent", k->agent, "peer", k->peer, "tool", k->tool->name,
		"args", k->args, "decision", held ? "held" : "permit", "rules", k->rules,
		"reason", k->decision_reason);
	call_add_token_fields(dec, k->user, k->token_fields);
	call_add_request_fields(dec, k);
	if (server_audit(k->srv, dec, &k->decision_seq) != 0) {
		conn_reply_error(k->conn, k->id, JSONRPC_INTERNAL_ERROR,
		                 "Internal error: the audit log cannot be written, so no decision is given");
		return -1;
	}
	return 0;
}

/* Answer k with the first call's result: a replay record naming that
   call, then the result, marked with _meta["toolgate/replay"]. */
static void replay_to(struct call *k, const json_t *result, uint64_t original_seq,
                      uint64_t original_end_seq)
{
	char reason[400];
	snprintf(reason, sizeof reason, "idempotency key \"%s\": the result of the first call "
	         "(decided in audit seq %llu) was returned; the tool did not run again", k->idem_key,
	         (unsigned long long)original_seq);
	json_t *rec = json_pack("{s:s, s:s, s:O, s:s, s:O, s:s, s:O, s:s, s:I, s:I}",
		"event", "replay", "agent", k->agent, "peer", k->peer, "tool", k->tool->name,
		"args", k->args, "decision", "permit", "rules", k->rules, "reason", reason,
		"original_seq", (json_int_t)original_seq, "original_end_seq", (json_int_t)original_end_seq);
	call_add_token_fields(rec, k->user, k->token_fields);
	call_add_request_fields(rec, k);
	uint64_t seq = 0;
	if (server_audit(k->srv, rec, &seq) != 0) {
		if (k->conn && !k->cancelled)
			conn_reply_error(k->conn, k->id, JSONRPC_INTERNAL_ERROR,
			                 "Internal error: the audit log cannot be written; no result is given");
		return;
	}
	log_info("call", "%s for %s: replayed the result of audit seq %llu (idempotency key %s)",
	         k->tool->name, k->agent, (unsigned long long)original_seq, k->idem_key);
	if (!k->conn || k->cancelled)
		return;
	json_t *r = result ? json_deep_copy(result) : NULL;
	json_t *m = json_object_get(r, "_meta");
	if (r && !m) {
		m = json_object();
		json_object_set_new(r, "_meta", m);
	}
	if (!r || !m || json_object_set_new(m, "toolgate/replay", json_pack("{s:s, s:I, s:I, s:I}",
	        "idempotency_key", k->idem_key, "original_seq", (json_int_t)original_seq,
	        "original_end_seq", (json_int_t)original_end_seq, "audit_seq", (json_int_t)seq)) != 0) {
		json_decref(r);
		conn_reply_error(k->conn, k->id, JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
		return;
	}
	conn_reply_result(k->conn, k->id, r);
}

/* The first call ended: every retry waiting for it gets its result. */
void call_answer_waiters(struct call *leader, const json_t *result, uint64_t end_seq)
{
	struct server *s = leader->srv;
	for (struct call *w = s->calls, *next; w; w = next) {
		next = w->all_next;
		if (w->state != CALL_WAITING || w->idem_leader != leader)
			continue;
		replay_to(w, result, leader->decision_seq, end_seq);
		w->state = CALL_DONE;
		call_unlink(w);
		w->grave_next = s->grave_calls;
		s->grave_calls = w;
	}
}

/*
 * A call with a key that is already in use does not run.  True when k has
 * been dealt with (answered from the store, refused and freed, or waiting
 * for the running call with its key); false when the key is new.
 */
bool call_idem_route(struct call *k, bool held)
{
	struct server *s = k->srv;
	char reason[500];
	struct call *lead = live_call_with_key(s, k);
	if (lead) {
		if (strcmp(lead->idem_fp, k->idem_fp) != 0) {
			snprintf(reason, sizeof reason, "idempotency key \"%s\" already names another call "
			         "(decided in audit seq %llu) with a different tool, user or arguments; use a "
			         "new key for a new call", k->idem_key, (unsigned long long)lead->decision_seq);
			refuse_call(k, reason);
		} else if (lead->state == CALL_HELD) {
			snprintf(reason, sizeof reason, "idempotency key \"%s\" names a call still waiting "
			         "for approval (%s); retry once it has been decided", k->idem_key,
			         lead->approval_id);
			refuse_call(k, reason);
		} else if (audit_retry_decision(k, held) != 0) {
			call_free(k);
		} else {
			/* Answered when the first call ends (call_answer_waiters). */
			k->state = CALL_WAITING;
			k->idem_leader = lead;
			call_link(k);
		}
		return true;
	}
	json_t *e = NULL;
	struct tg_error err;
	enum idem_state st = idem_lookup(s->idem, k->idem_id, (uint64_t)time(NULL) * 1000, &e, &err);
	if (st == IDEM_ABSENT)
		return false;
	if (st == IDEM_UNREADABLE) {
		log_error("call", "%s", err.msg);
		snprintf(reason, sizeof reason, "idempotency key \"%s\": its entry in the broker's store "
		         "cannot be read, so the first call may have run; it is not run again: use a new key",
		         k->idem_key);
		refuse_call(k, reason);
		return true;
	}
	const char *fp = json_string_value(json_object_get(e, "fingerprint"));
	unsigned long long seq = (unsigned long long)json_integer_value(json_object_get(e, "decision_seq"));
	if (!fp || strcmp(fp, k->idem_fp) != 0) {
		snprintf(reason, sizeof reason, "idempotency key \"%s\" already names another call "
		         "(decided in audit seq %llu) with a different tool, user or arguments; use a new "
		         "key for a new call", k->idem_key, seq);
		refuse_call(k, reason);
	} else if (st == IDEM_STARTED) {
		snprintf(reason, sizeof reason, "idempotency key \"%s\" names a call that started "
		         "(decided in audit seq %llu) but whose result was never stored: the broker stopped "
		         "while it ran. It is not run again: check what it did, then use a new key",
		         k->idem_key, seq);
		refuse_call(k, reason);
	} else if (audit_retry_decision(k, held) != 0) {
		call_free(k);
	} else {
		replay_to(k, json_object_get(e, "result"), seq,
		          (uint64_t)json_integer_value(json_object_get(e, "end_seq")));
		call_free(k);
	}
	json_decref(e);
	return true;
}
