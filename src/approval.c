/*
 * approval.c: calls held for a human (see call.h and SPEC's Approvals): the
 * approval record, the deadline, notifications/progress to the waiting
 * client, toolgate/approvals/list and decide, and withdrawal when the client
 * leaves or the broker stops.  An approved call goes on exactly as a
 * permitted one (call_start_and_queue in call.c).
 */
#include "call_impl.h"
#include "audit_files.h"
#include "audit.h"
#include "config.h"
#include "jsonrpc.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "result.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* ---- approvals ---- */

static void rfc3339_now_plus(int64_t seconds, char *out, size_t n)
{
	time_t t = time(NULL) + (time_t)seconds;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *approvers_text(const struct call *k, char *buf, size_t n)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < json_array_size(k->approvers) && len + 1 < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "",
		                        json_string_value(json_array_get(k->approvers, i)));
	return buf;
}

void call_send_progress(struct call *k, const char *message)
{
	if (!k->progress_token || !k->conn)
		return;
	size_t len;
	char *line = jsonrpc_notification_line("notifications/progress",
		json_pack("{s:O, s:I, s:s}", "progressToken", k->progress_token,
		          "progress", (json_int_t)k->progress_n++, "message", message), &len);
	conn_send(k->conn, line, len);
}

static void arm_hold_timer(struct call *k)
{
	uint64_t now = server_now_ms();
	uint64_t left = k->deadline_ms > now ? k->deadline_ms - now : 0;
	if (k->progress_token && left > PROGRESS_EVERY_MS)
		left = PROGRESS_EVERY_MS;
	call_arm_timer(k, left ? left : 1);
}

/* An approval record: who decided (or what), about which held call. */
static int audit_approval(struct call *k, const char *decision, const char *by,
                          json_t *by_peer, const char *reason, uint64_t *seq)
{
	json_t *rec = json_pack("{s:s, s:s?, s:O?, s:s, s:O, s:s, s:O, s:s, s:s, s:I, s:s, s:s?}",
		"event", "approval", "agent", by, "peer", by_peer, "tool", k->tool->name,
		"args", k->args, "decision", decision, "rules", k->rules, "reason", reason,
		"approval_id", k->approval_id, "request_seq", (json_int_t)k->decision_seq,
		"requested_by", k->agent, "for_user", k->user);
	return server_audit(k->srv, rec, seq);
}

/* A held call that will not run: audited, answered (unless the client is
   gone or withdrew it), and ended. */
static void end_held(struct call *k, const char *decision, const char *reason, uint64_t seq)
{
	struct server *s = k->srv;
	call_unwatch_close(s, &k->w_timer, &k->w_timer.fd);
	if (k->conn && !k->cancelled) {
		json_t *r = result_refusal(k->tool->name, "deny", reason, k->rules, seq, 0);
		json_object_set_new(json_object_get(json_object_get(r, "_meta"), "toolgate/decision"),
		                    "approval", json_string(decision));
		conn_reply_result(k->conn, k->id, r);
	}
	k->state = CALL_DONE;
	metrics_call_answered(s->metrics, k->tool, k->request_ns);
	log_info("call", "%s for %s: %s", k->tool->name, k->agent, reason);
	call_unlink(k);
	k->grave_next = s->grave_calls;
	s->grave_calls = k;
}

/* Hold a call for an approver: its decision record, a deadline, progress. */
void call_hold(struct call *k)
{
	struct server *s = k->srv;
	char names[300];
	approvers_text(k, names, sizeof names);
	rfc3339_now_plus(0, k->requested_at, sizeof k->requested_at);
	rfc3339_now_plus(k->deadline_s, k->deadline_at, sizeof k->deadline_at);
	json_t *dec = json_pack("{s:s, s:s, s:O, s:s, s:O, s:s, s:O, s:s}",
		"event", "decision", "agent", k->agent, "peer", k->peer, "tool", k->tool->name,
		"args", k->args, "decision", "held", "rules", k->rules, "reason", k->decision_reason);
	call_add_token_fields(dec, k->user, k->token_fields);
	call_add_request_fields(dec, k);
	json_object_set_new(dec, "approvers", json_incref(k->approvers));
	json_object_set_new(dec, "deadline", json_string(k->deadline_at));
	/* The id is the decision record's seq: unique across restarts, and the
	   record that says what is being approved. */
	uint64_t next = audit_last_seq(s->audit) + 1;
	snprintf(k->approval_id, sizeof k->approval_id, "apr-%llu", (unsigned long long)next);
	json_object_set_new(dec, "approval_id", json_string(k->approval_id));
	if (server_audit(s, dec, &k->decision_seq) != 0) {
		conn_reply_error(k->conn, k->id, JSONRPC_INTERNAL_ERROR,
		                 "Internal error: the audit log cannot be written; the call was not held");
		call_free(k);
		return;
	}
	call_link(k);
	k->deadline_ms = server_now_ms() + (uint64_t)k->deadline_s * 1000;
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	k->w_timer = (struct watch){ WATCH_CALL_TIMER, tfd, k };
	if (tfd < 0 || server_watch(s, &k->w_timer, EPOLLIN) != 0) {
		/* Without a deadline the call could wait forever: refuse it now. */
		uint64_t seq = 0;
		audit_approval(k, "expired", NULL, NULL, "the broker could not set the approval deadline", &seq);
		end_held(k, "expired", "the broker could not set the approval deadline", seq);
		return;
	}
	arm_hold_timer(k);
	char msg[512];
	snprintf(msg, sizeof msg, "waiting for approval by %.300s (%s; deadline %s)", names,
	         k->approval_id, k->deadline_at);
	call_send_progress(k, msg);
	log_info("call", "%s for %s held for approval by %s as %s", k->tool->name, k->agent, names,
	         k->approval_id);
}

void call_on_hold_timer(struct call *k)
{
	uint64_t ticks;
	if (read(k->w_timer.fd, &ticks, sizeof ticks) < 0 && errno == EAGAIN)
		return;
	if (server_now_ms() + 5 >= k->deadline_ms) {
		char reason[200];
		snprintf(reason, sizeof reason, "the approval deadline passed: no approver decided "
		         "within %u s", k->deadline_s);
		uint64_t seq = 0;
		audit_approval(k, "expired", NULL, NULL, reason, &seq);
		end_held(k, "expired", reason, seq);
		return;
	}
	char names[300], msg[512];
	snprintf(msg, sizeof msg, "still waiting for approval by %.300s (%s; deadline %s)",
	         approvers_text(k, names, sizeof names), k->approval_id, k->deadline_at);
	call_send_progress(k, msg);
	arm_hold_timer(k);
}

static struct call *find_held(struct server *s, const char *approval_id)
{
	for (struct call *k = s->calls; k; k = k->all_next)
		if (k->state == CALL_HELD && strcmp(k->approval_id, approval_id) == 0)
			return k;
	return NULL;
}

static bool may_decide(const struct call *k, const char *principal)
{
	if (!principal || strcmp(principal, k->agent) == 0)
		return false;
	for (size_t i = 0; i < json_array_size(k->approvers); i++)
		if (strcmp(json_string_value(json_array_get(k->approvers, i)), principal) == 0)
			return true;
	return false;
}

unsigned call_approvals_pending(const struct server *s)
{
	unsigned n = 0;
	for (const struct call *k = s->calls; k; k = k->all_next)
		n += k->state == CALL_HELD;
	return n;
}

json_t *call_approvals_list(struct conn *c)
{
	struct server *s = c->srv;
	const char *me = policy_principal_for_peer(s->config->policy, c->uid, c->gid);
	json_t *list = json_array();
	for (struct call *k = s->calls; k; k = k->all_next) {
		if (k->state != CALL_HELD || !may_decide(k, me))
			continue;
		json_array_append_new(list, json_pack("{s:s, s:s, s:O, s:s, s:s?, s:O, s:s, s:s}",
			"id", k->approval_id, "tool", k->tool->name, "arguments", k->args,
			"agent", k->agent, "user", k->user,
			"rule", json_array_size(k->rules) ? json_array_get(k->rules, 0) : json_null(),
			"requested_at", k->requested_at, "deadline", k->deadline_at));
	}
	return json_pack("{s:o}", "approvals", list);
}

int call_approvals_decide(struct conn *c, const char *approval_id, bool approve,
                          const char *reason, json_t **result, char *why, size_t whylen)
{
	struct server *s = c->srv;
	const char *me = policy_principal_for_peer(s->config->policy, c->uid, c->gid);
	struct call *k = find_held(s, approval_id);
	if (!k) {
		snprintf(why, whylen, "no call is waiting for approval as %.64s", approval_id);
		return -1;
	}
	if (me && strcmp(me, k->agent) == 0) {
		snprintf(why, whylen, "%s cannot decide on its own call", me);
		return -1;
	}
	if (!may_decide(k, me)) {
		char names[300];
		snprintf(why, whylen, "%s may not decide on %s (its approvers: %s)",
		         me ? me : "a caller with no principal", approval_id,
		         approvers_text(k, names, sizeof names));
		return -1;
	}
	json_t *peer = call_peer_json(c);
	uint64_t seq = 0;
	char text[300];
	snprintf(text, sizeof text, "%s by %s%s%s", approve ? "approved" : "denied", me,
	         reason && *reason ? ": " : "", reason && *reason ? reason : "");
	int rc = audit_approval(k, approve ? "approved" : "denied", me, peer, text, &seq);
	json_decref(peer);
	if (rc != 0) {
		snprintf(why, whylen, "the audit log cannot be written; nothing was decided");
		return -1;
	}
	if (approve) {
		k->approved_by = strdup(me);
		call_unwatch_close(s, &k->w_timer, &k->w_timer.fd);
		snprintf(k->decision_reason, sizeof k->decision_reason, "%s", text);
		int queued = call_start_and_queue(k);
		if (queued != 0) {
			k->state = CALL_HELD;
			end_held(k, "approved", queued == -2 ? "approved, but all dynamic uids are in use; "
			         "the tool was not started" : queued == -3 ? k->start_error :
			         "approved, but the audit log cannot be written; the tool was not started", seq);
		}
	} else {
		end_held(k, "denied", text, seq);
	}
	*result = json_pack("{s:s, s:s, s:I}", "id", approval_id,
	                    "decision", approve ? "approved" : "denied", "audit_seq", (json_int_t)seq);
	return 0;
}

/* A held call the client withdrew (cancel, disconnect): audited, no reply. */
void call_withdraw_held(struct call *k, const char *why)
{
	uint64_t seq = 0;
	k->cancelled = true;
	audit_approval(k, "withdrawn", NULL, NULL, why, &seq);
	end_held(k, "withdrawn", why, seq);
}

void call_end_all_held(struct server *s, const char *reason)
{
	call_end_held_for_tool(s, NULL, reason);
}

void call_end_held_for_tool(struct server *s, const char *tool, const char *reason)
{
	for (struct call *k = s->calls, *next; k; k = next) {
		next = k->all_next;
		if (k->state != CALL_HELD || (tool && strcmp(k->tool->name, tool) != 0))
			continue;
		uint64_t seq = 0;
		audit_approval(k, "refused", NULL, NULL, reason, &seq);
		end_held(k, "refused", reason, seq);
	}
}

/* A held decision pends until an approval record about its id. */
static int note_pending(json_t *r, void *arg, struct tg_error *err)
{
	json_t *pending = arg;
	const char *ev = json_string_value(json_object_get(r, "event"));
	const char *aid = json_string_value(json_object_get(r, "approval_id"));
	if (ev && aid) {
		if (strcmp(ev, "decision") == 0 && json_object_set(pending, aid, r) != 0)
			return tg_err(err, "out of memory");
		if (strcmp(ev, "approval") == 0)
			json_object_del(pending, aid);
	}
	return 0;
}

int call_refuse_pending_approvals(struct server *s, const char *log_path, struct tg_error *err)
{
	json_t *pending = json_object();   /* approval id -> its held decision record */
	/* Every segment: a call held before a rotation may still be pending. */
	if (!pending || audit_scan(log_path, "\"approval_id\"", note_pending, pending, err) != 0) {
		json_decref(pending);
		return pending ? -1 : tg_err(err, "out of memory");
	}
	const char *aid;
	json_t *r;
	json_object_foreach(pending, aid, r) {
		json_t *rec = json_pack("{s:s, s:O, s:O, s:s, s:O, s:s, s:s, s:O, s:O}",
			"event", "approval", "tool", json_object_get(r, "tool"),
			"args", json_object_get(r, "args"), "decision", "refused",
			"rules", json_object_get(r, "rules"),
			"reason", "the broker restarted before anyone decided; the call was refused",
			"approval_id", aid, "request_seq", json_object_get(r, "seq"),
			"requested_by", json_object_get(r, "agent"));
		log_warn("call", "%s: refused, the broker restarted before anyone decided", aid);
		server_audit(s, rec, NULL);
	}
	json_decref(pending);
	return 0;
}
