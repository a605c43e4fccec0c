/*
 * call.c: one tools/call from decision to reply (see call.h for the path).
 *
 * A call owns a reference to the configuration snapshot it was decided
 * under, so a reload never changes a running call.  Its child's pipes,
 * pidfd and deadline timer are watched by the server's epoll set; the call
 * finishes when the child has been reaped and every pipe has reached EOF
 * (the pid namespace guarantees the pipes close when pid 1 dies; a short
 * drain deadline covers anything else).  A call the policy sends to an
 * approver waits in approval.c first.
 */
#include "call_impl.h"
#include "disabled.h"
#include "audit.h"
#include "config.h"
#include "decide.h"
#include "idem.h"
#include "jsonrpc.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "redact.h"
#include "result.h"
#include "sandbox.h"
#include "schema.h"
#include "secrets.h"
#include "seccomp_profile.h"
#include "kaudit.h"
#include "server.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- small helpers ---- */

json_t *call_peer_json(const struct conn *c)
{
	return json_pack("{s:i, s:i, s:i}", "uid", (int)c->uid, "gid", (int)c->gid, "pid", (int)c->pid);
}

static void sha256_hex(const void *buf, size_t len, char out[65])
{
	unsigned char d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(d, buf, len);
	sodium_bin2hex(out, 65, d, sizeof d);
}

static uint64_t elapsed_ms(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ms = (int64_t)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
	return ms > 0 ? (uint64_t)ms : 0;
}

/* ---- list bookkeeping ---- */

void call_link(struct call *k)
{
	struct server *s = k->srv;
	k->all_next = s->calls;
	if (s->calls)
		s->calls->all_prev = k;
	s->calls = k;
	struct conn *c = k->conn;
	k->conn_next = c->calls;
	if (c->calls)
		c->calls->conn_prev = k;
	c->calls = k;
	c->ncalls++;
	s->ncalls++;
}

static void unlink_from_conn(struct call *k)
{
	struct conn *c = k->conn;
	if (!c)
		return;
	if (k->conn_prev)
		k->conn_prev->conn_next = k->conn_next;
	else
		c->calls = k->conn_next;
	if (k->conn_next)
		k->conn_next->conn_prev = k->conn_prev;
	k->conn_next = k->conn_prev = NULL;
	c->ncalls--;
	k->conn = NULL;
}

void call_unlink(struct call *k)
{
	struct server *s = k->srv;
	unlink_from_conn(k);
	if (k->all_prev)
		k->all_prev->all_next = k->all_next;
	else
		s->calls = k->all_next;
	if (k->all_next)
		k->all_next->all_prev = k->all_prev;
	s->ncalls--;
}

void call_unwatch_close(struct server *s, struct watch *w, int *fd)
{
	if (*fd < 0)
		return;
	w->fd = *fd;
	server_unwatch(s, w);
	close(*fd);
	*fd = -1;
	w->fd = -1;
}

/* A verified delegation's members in a record: user, then (after the
   standard members) the token's issuer, kid, jti, ... (decide.h). */
void call_add_token_fields(json_t *rec, const char *user, const json_t *fields)
{
	if (!user)
		return;
	json_object_set_new(rec, "user", json_string(user));
	json_object_update(rec, (json_t *)fields);
}

void call_add_request_fields(json_t *rec, const struct call *k)
{
	if (k->idem_key)
		json_object_set_new(rec, "idempotency_key", json_string(k->idem_key));
	if (k->traceparent)
		json_object_set_new(rec, "traceparent", json_string(k->traceparent));
}


static void add_meta_fields(json_t *rec, const struct req_meta *m)
{
	if (m && m->key)
		json_object_set_new(rec, "idempotency_key", json_string(m->key));
	if (m && m->traceparent)
		json_object_set_new(rec, "traceparent", json_string(m->traceparent));
}

/*
 * W3C Trace Context, version 00: "00-" 32 lowercase hex (trace id, not all
 * zero) "-" 16 lowercase hex (parent id, not all zero) "-" 2 lowercase hex
 * (flags).  The recommendation is to ignore a traceparent that does not
 * parse (and start a new trace), not to fail the request: so do we, with a
 * log line.  Other versions are ignored too: a version this broker does
 * not know might mean something the tool's TRACEPARENT would misstate.
 */
static bool traceparent_valid(const char *tp)
{
	if (!tp || strlen(tp) != SANDBOX_TRACEPARENT_LEN || strncmp(tp, "00-", 3) != 0 ||
	    tp[35] != '-' || tp[52] != '-')
		return false;
	bool trace_zero = true, parent_zero = true;
	for (size_t i = 3; i < SANDBOX_TRACEPARENT_LEN; i++) {
		if (i == 35 || i == 52)
			continue;
		char c = tp[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		if (c != '0' && i < 35)
			trace_zero = false;
		if (c != '0' && i > 35 && i < 52)
			parent_zero = false;
	}
	return !trace_zero && !parent_zero;
}

/* The arguments as the audit log (and an approver) sees them: writeOnly
   values replaced by "[REDACTED]", the tool's secrets by their marker.
   The tool itself gets them unchanged (its stdin is made before this). */
static json_t *audit_args_of(const struct tool *t, const json_t *args)
{
	json_t *a = schema_redact_write_only(t->input_schema, args);
	if (!a)
		return json_object();
	if (t->secret_values)
		secrets_redact_json(a, t->secret_values);
	return a;
}

/* ---- finishing ---- */

static void drop_adopted(struct call *k, bool give_uid);
static void flush_redactors(struct call *k);

static void release_child(struct call *k)
{
	struct server *s = k->srv;
	call_unwatch_close(s, &k->w_in, &k->child.stdin_fd);
	call_unwatch_close(s, &k->w_out, &k->child.stdout_fd);
	call_unwatch_close(s, &k->w_err, &k->child.stderr_fd);
	call_unwatch_close(s, &k->w_status, &k->child.status_fd);
	call_unwatch_close(s, &k->w_pid, &k->child.pidfd);
	call_unwatch_close(s, &k->w_timer, &k->w_timer.fd);
	call_unwatch_close(s, &k->w_seccomp, &k->child.notify_fd);
	/* And what no watch holds: the gate's write end of a child that never
	   got its go (its setup failed, or it was killed at the gate before
	   the release: the client left, the listener or the watch failed). */
	sandbox_close(&k->child);
}

static void finish(struct call *k)
{
	struct server *s = k->srv;
	if (k->state == CALL_DONE)
		return;
	bool ran = k->state == CALL_RUNNING;
	if (!ran && k->adopted)
		drop_adopted(k, true);
	/* Landlock's refusals come through the kernel's audit log: take in
	   what it has emitted so far, before the child's pid is forgotten. */
	if (ran)
		server_kaudit_drain(s);
	k->state = CALL_DONE;
	/* Its network namespace, kept for its owner's next call if nothing of
	   this one is left in it: the child was reaped, and the kernel reaps
	   the rest of its pid namespace first (sandbox.h). */
	if (ran && k->exited && k->child.netns_fd >= 0 && k->cfg == s->config &&
	    sandbox_netns_keepable(k->tool)) {
		netns_pool_keep(&s->netns, k->child.netns_fd, &k->owner);
		k->child.netns_fd = -1;
	}
	release_child(k);
	if (k->cg.n) {
		cgroup_call_stats(&k->cg, &k->rep.cgs);
		cgroup_pool_retire(&s->cgpool, &k->cg);
	}
	if (k->dynamic_uid) {
		uid_pool_give(&s->uids, k->uid);
		k->dynamic_uid = false;
	}

	char status[400];
	int exit_no = -1;
	uint64_t dur = ran ? elapsed_ms(&k->t0) : 0;
	const struct report_outcome o = {
		.ran = ran, .released = k->released, .timed_out = k->timed_out,
		.stop_reason = k->stop_reason, .setup_error = k->setup_error, .setup_len = k->setup_len,
		.wstatus = k->wstatus, .cpu_ms = k->cpu_ms,
	};
	bool failed = report_status(&k->rep, k->tool, &o, status, sizeof status, &exit_no);

	/* What the redactors still hold back is decided now: the streams
	   have ended (or are no longer waited for). */
	flush_redactors(k);
	char digest[65];
	sha256_hex(k->out.buf ? k->out.buf : "", k->out.len, digest);
	uint64_t end_seq = 0;
	json_t *rec = json_pack("{s:s, s:s?, s:O, s:s, s:s, s:O, s:s, s:o, s:I, s:s, s:I, s:I, s:I, s:b}",
		"event", "exec_end", "agent", k->agent, "peer", k->peer, "tool", k->tool->name,
		"decision", "permit", "rules", k->rules, "reason", status,
		"exit", exit_no >= 0 ? json_integer(exit_no) : json_null(),
		"duration_ms", (json_int_t)dur, "output_sha256", digest,
		"request_seq", (json_int_t)k->decision_seq,
		"stdout_bytes", (json_int_t)k->out.total, "stderr_bytes", (json_int_t)k->err.total,
		"truncated", k->out.cut || k->err.cut);
	if (ran && k->exited)
		json_object_set_new(rec, "cpu_ms", json_integer((json_int_t)k->cpu_ms));
	report_audit_fields(&k->rep, rec);
	call_add_request_fields(rec, k);
	if (ran && k->rep.cgs.memory_peak_bytes)
		json_object_set_new(rec, "memory_peak_bytes", json_integer((json_int_t)k->rep.cgs.memory_peak_bytes));
	call_add_token_fields(rec, k->user, k->token_fields);
	server_audit_outcome(s, rec, &end_seq);
	metrics_call_finished(s->metrics, k->tool, &k->rep, &o,
	                      k->out.total > k->out.len || k->err.total > k->err.len, k->request_ns);
	log_info("call", "%s for %s: %s (%llu ms)", k->tool->name, k->agent ? k->agent : "?", status,
	         (unsigned long long)dur);

	bool reply = k->conn && !k->cancelled;
	json_t *r = NULL;
	if (reply || k->idem_key) {
		struct execution ex = {
			.exit_no = exit_no, .status = status, .duration_ms = dur, .cpu_ms = k->cpu_ms,
			.audit_seq = end_seq,
			.out = { k->out.buf, k->out.len, k->out.total, k->out.cut },
			.err = { k->err.buf, k->err.len, k->err.total, k->err.cut },
		};
		r = result_of_tool(k->tool, failed, &ex,
			result_decision_meta("permit", k->decision_reason, k->rules, k->decision_seq));
	}
	/* Idempotency: a tool that started has its result stored, durably,
	   before anyone hears it; one that never started leaves no entry, so
	   a retry runs it. */
	if (k->idem_begun) {
		struct tg_error e;
		if (k->released) {
			if (!r || idem_finish(s->idem, k->idem_id, k->idem_header, end_seq, r, &e) != 0)
				log_error("call", "%s: idempotency key %s: the result cannot be stored (%s); "
				          "a retry will be refused, not run again", k->tool->name, k->idem_key,
				          r ? e.msg : "out of memory");
		} else if (idem_forget(s->idem, k->idem_id, &e) != 0) {
			log_error("call", "%s: %s", k->tool->name, e.msg);
		}
		k->idem_begun = false;
	}
	if (k->idem_key)
		call_answer_waiters(k, r, end_seq);
	if (reply) {
		if (r)
			conn_reply_result(k->conn, k->id, r);
		else
			conn_reply_error(k->conn, k->id, JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
	} else {
		json_decref(r);
	}
	call_unlink(k);
	k->grave_next = s->grave_calls;
	s->grave_calls = k;
}

static void maybe_finish(struct call *k)
{
	if (k->state == CALL_RUNNING && k->exited && k->out.eof && k->err.eof && k->status_eof &&
	    !k->audit_grace)
		finish(k);
}

static void kill_call(struct call *k, const char *reason)
{
	if (k->state != CALL_RUNNING || k->exited)
		return;
	if (!k->stop_reason[0] && !k->timed_out)
		snprintf(k->stop_reason, sizeof k->stop_reason, "%s", reason);
	if (sandbox_kill(&k->child) != 0)
		log_warn("call", "%s: pidfd_send_signal: %s", k->tool->name, strerror(errno));
}

/* ---- start ---- */

void call_free(struct call *k)
{
	if (k->adopted && k->state != CALL_RUNNING && k->state != CALL_DONE)
		drop_adopted(k, true);
	if (k->cg.n)
		cgroup_pool_retire(&k->srv->cgpool, &k->cg);
	if (k->dynamic_uid)
		uid_pool_give(&k->srv->uids, k->uid);
	if (k->idem_begun && !k->released) {
		/* Begun, then not started after all: a retry may run it. */
		struct tg_error e;
		if (idem_forget(k->srv->idem, k->idem_id, &e) != 0)
			log_error("call", "%s", e.msg);
	}
	if (k->redacting) {
		redactor_fini(&k->red_out);
		redactor_fini(&k->red_err);
	}
	free(k->idem_key);
	json_decref(k->idem_header);
	free(k->traceparent);
	json_decref(k->id);
	json_decref(k->peer);
	json_decref(k->args);
	json_decref(k->rules);
	json_decref(k->token_fields);
	json_decref(k->approvers);
	json_decref(k->progress_token);
	free(k->approved_by);
	free(k->agent);
	free(k->user);
	free(k->stdin_buf);
	free(k->out.buf);
	free(k->err.buf);
	if (k->cfg)
		config_unref(k->cfg);
	free(k);
}

static bool id_in_flight(const struct conn *c, const json_t *id)
{
	for (const struct call *k = c->calls; k; k = k->conn_next)
		if (json_equal(k->id, id))
			return true;
	return false;
}

/* Audit and answer a call that does not run (call_impl.h). */
void call_refuse(struct conn *c, const json_t *id, const char *agent, json_t *peer,
                   const char *tool, json_t *args, const char *decision, const char *reason,
                   json_t *rules, const char *user, const json_t *token_fields,
                   uint64_t retry_after_ms, const struct req_meta *m)
{
	uint64_t seq = 0;
	json_t *rec = json_pack("{s:s, s:s?, s:O, s:s, s:O, s:s, s:O, s:s}",
		"event", "decision", "agent", agent, "peer", peer, "tool", tool, "args", args,
		"decision", decision, "rules", rules, "reason", reason);
	call_add_token_fields(rec, user, token_fields);
	add_meta_fields(rec, m);
	if (server_audit(c->srv, rec, &seq) != 0) {
		conn_reply_error(c, id, JSONRPC_INTERNAL_ERROR,
		                 "Internal error: the audit log cannot be written, so no decision is given");
		return;
	}
	metrics_call_answered(c->srv->metrics, config_find_tool(c->srv->config, tool), c->read_ns);
	log_info("call", "%s refused for %s (uid %u): %s", tool, agent ? agent : "no principal",
	         (unsigned)c->uid, reason);
	conn_reply_result(c, id, result_refusal(tool, decision, reason, rules, seq, retry_after_ms));
}

/* The exec_start record, then the spawn queue: the tool starts once the
   record is durable (server.h).  0, or -1 when the log refused the record. */
int call_start_and_queue(struct call *k)
{
	const struct tool *t = k->tool;
	if (k->idem_key && !k->idem_begun) {
		/* On disk before the tool can start: after a crash, a retry finds
		   "started" and is refused rather than run a second time. */
		struct tg_error e;
		json_t *h = json_pack("{s:s, s:s, s:s, s:s, s:I}", "agent", k->agent, "key", k->idem_key,
		                      "tool", t->name, "fingerprint", k->idem_fp,
		                      "decision_seq", (json_int_t)k->decision_seq);
		if (!h || idem_begin(k->srv->idem, k->idem_id, h, (uint64_t)time(NULL) * 1000, &e) != 0) {
			snprintf(k->start_error, sizeof k->start_error, "%.200s; the tool was not started",
			         h ? e.msg : "out of memory");
			json_decref(h);
			return -3;
		}
		k->idem_header = h;
		k->idem_begun = true;
	}
	struct spare sp;
	if (spares_take(k->srv, t, &k->owner, &sp)) {
		/* A child confined for this tool is already waiting at its gate. */
		k->child = sp.child;
		k->cg = sp.cg;
		k->uid = sp.uid;
		k->gid = sp.gid;
		k->dynamic_uid = sp.dynamic_uid;
		k->adopted = true;
		config_unref(sp.cfg);
	} else {
		k->uid = t->uid;
		k->gid = t->gid;
		if (t->dynamic_uid) {
			if (uid_pool_take(&k->srv->uids, &k->uid) != 0)
				return -2;
			k->gid = (gid_t)k->uid;
			k->dynamic_uid = true;
		}
	}
	/* Its next call should find a spare too. */
	spares_want(k->srv, k->cfg, t, &k->owner);
	json_t *argv = json_array();
	for (char **a = t->argv; *a; a++)
		json_array_append_new(argv, json_string_lossy(*a, strlen(*a)));
	json_t *start = json_pack("{s:s, s:s, s:O, s:s, s:O, s:s, s:O, s:o, s:s, s:s, s:s}",
		"event", "exec_start", "agent", k->agent, "peer", k->peer, "tool", t->name,
		"args", k->args, "decision", "permit", "rules", k->rules, "command", argv,
		"profile", t->profile_name,
		"network", t->network == TOOL_NET_HOST ? "host" :
		           t->network == TOOL_NET_LOOPBACK ? "loopback" : "none",
		"run_as", t->run_as);
	call_add_token_fields(start, k->user, k->token_fields);
	json_object_set_new(start, "uid", json_integer((json_int_t)k->uid));
	if (k->approved_by)
		json_object_set_new(start, "approved_by", json_string(k->approved_by));
	call_add_request_fields(start, k);
	if (server_audit(k->srv, start, &k->start_seq) != 0)
		return -1;
	k->state = CALL_QUEUED;
	k->queue_next = NULL;
	struct call **tail = &k->srv->spawn_queue;
	while (*tail)
		tail = &(*tail)->queue_next;
	*tail = k;
	return 0;
}

static void try_release(struct call *k);
static int take_listener(struct call *k, const unsigned char *hello);

void call_start(struct conn *c, const json_t *id, json_t *params)
{
	struct server *s = c->srv;
	char msg[300];

	if (s->draining) {
		conn_reply_error(c, id, JSONRPC_SERVER_BUSY, "the broker is shutting down; no new calls");
		return;
	}
	if (s->audit_error[0]) {
		snprintf(msg, sizeof msg, "Internal error: the audit log cannot be written (%.200s); "
		         "no call can start", s->audit_error);
		conn_reply_error(c, id, JSONRPC_INTERNAL_ERROR, msg);
		return;
	}
	const char *name = json_string_value(json_object_get(params, "name"));
	if (!name) {
		conn_reply_error(c, id, JSONRPC_INVALID_PARAMS,
		                 "Invalid params: tools/call needs a \"name\" string");
		return;
	}
	json_t *args = json_object_get(params, "arguments");
	if (args && !json_is_object(args) && !json_is_null(args)) {
		conn_reply_error(c, id, JSONRPC_INVALID_PARAMS,
		                 "Invalid params: \"arguments\" must be an object");
		return;
	}
	struct config *cfg = s->config;
	const struct tool *t = config_find_tool(cfg, name);
	if (!t) {
		snprintf(msg, sizeof msg, "Unknown tool: %.200s", name);
		conn_reply_error(c, id, JSONRPC_INVALID_PARAMS, msg);
		return;
	}
	if (id_in_flight(c, id)) {
		conn_reply_error(c, id, JSONRPC_INVALID_REQUEST,
		                 "Invalid Request: this id is already in use by a call in flight");
		return;
	}
	if (c->ncalls >= s->opt.max_calls_per_conn) {
		snprintf(msg, sizeof msg, "too many calls in flight on this connection (limit %u); "
		         "wait for one to finish", s->opt.max_calls_per_conn);
		conn_reply_error(c, id, JSONRPC_SERVER_BUSY, msg);
		return;
	}
	if (s->ncalls >= s->opt.max_calls) {
		snprintf(msg, sizeof msg, "the broker is at its limit of %u calls in flight; retry later",
		         s->opt.max_calls);
		conn_reply_error(c, id, JSONRPC_SERVER_BUSY, msg);
		return;
	}

	json_t *owned_args = args && json_is_object(args) ? json_incref(args) : json_object();
	/* What the audit log keeps of them (writeOnly and secrets redacted). */
	json_t *audit_args = audit_args_of(t, owned_args);
	json_t *peer = call_peer_json(c);
	const char *agent = policy_principal_for_peer(cfg->policy, c->uid, c->gid);
	s->calls_total++;

	/* The request's own _meta: trace context, idempotency key. */
	json_t *meta = json_object_get(params, "_meta");
	struct req_meta rm = { NULL, NULL };
	json_t *jtp = json_object_get(meta, "traceparent");
	if (jtp && traceparent_valid(json_string_value(jtp)))
		rm.traceparent = json_string_value(jtp);
	else if (jtp)
		log_warn("call", "%s from uid %u: ignoring _meta.traceparent: not a W3C traceparent "
		         "(version 00, lowercase hex, ids not all zero)", t->name, (unsigned)c->uid);
	json_t *jkey = json_object_get(meta, "toolgate/idempotencyKey");
	if (jkey) {
		char why[200];
		if (!json_is_string(jkey) ||
		    !idem_key_valid(json_string_value(jkey), json_string_length(jkey), why, sizeof why)) {
			if (!json_is_string(jkey))
				snprintf(why, sizeof why, "_meta[\"toolgate/idempotencyKey\"] must be a string");
			snprintf(msg, sizeof msg, "idempotency key refused: %s", why);
			json_t *none = json_array();
			call_refuse(c, id, agent, peer, t->name, audit_args, "invalid", msg, none, NULL, NULL, 0, &rm);
			json_decref(none);
			goto done;
		}
		rm.key = json_string_value(jkey);
	}

	/* The decision: schema, token, policy, scope (decide.h). */
	json_t *jtok = json_object_get(meta, "toolgate/delegation");
	if (jtok && !json_is_string(jtok)) {
		json_t *none = json_array();
		call_refuse(c, id, agent, peer, t->name, audit_args, "deny",
		       "delegation token refused: _meta[\"toolgate/delegation\"] must be a string",
		       none, NULL, NULL, 0, &rm);
		json_decref(none);
		goto done;
	}
	struct decide_input in = {
		.cfg = cfg, .tool = t, .principal = agent, .uid = c->uid, .gid = c->gid,
		.args = owned_args, .token = jtok ? json_string_value(jtok) : c->default_token,
		.broker_id = s->opt.broker_id, .now = (int64_t)time(NULL),
		.skew = (int64_t)s->opt.clock_skew, .replay = s->replay,
		.ratelimit = s->ratelimit, .now_ms = server_now_ms(),
		.disabled = disabled_get(s->disabled, t->name),
	};
	struct call_decision d;
	decide_call(&in, &d);
	bool held = strcmp(d.decision, "held") == 0;
	if (!held && strcmp(d.decision, "permit") != 0) {
		call_refuse(c, id, agent, peer, t->name, audit_args, d.decision, d.reason, d.rules, d.user,
		       d.token_fields, d.retry_after_ms, &rm);
		call_decision_clear(&d);
		goto done;
	}

	/* Permitted, or held for an approver: the call exists from here on. */
	struct call *k = calloc(1, sizeof *k);
	if (!k) {
		call_decision_clear(&d);
		conn_reply_error(c, id, JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
		goto done;
	}
	k->srv = s;
	k->conn = c;
	k->request_ns = c->read_ns;
	k->id = json_deep_copy(id);
	k->cfg = config_ref(cfg);
	k->tool = t;
	k->agent = strdup(agent);
	k->peer = json_incref(peer);
	k->args = json_incref(audit_args);
	k->rules = json_incref(d.rules);
	snprintf(k->decision_reason, sizeof k->decision_reason, "%s", d.reason);
	k->user = d.user;
	netns_owner_make(&k->owner, t, c->uid, c->gid, agent, k->user);
	k->token_fields = d.token_fields;
	k->approvers = d.approvers;
	k->deadline_s = d.deadline_s;
	d.user = NULL;
	d.token_fields = NULL;
	d.approvers = NULL;
	call_decision_clear(&d);
	k->state = held ? CALL_HELD : CALL_QUEUED;
	sandbox_child_init(&k->child);
	k->w_timer.fd = -1;
	k->out.limit = k->err.limit = t->limits.output_bytes;
	k->stdin_buf = json_dumps(owned_args, JSON_COMPACT | JSON_PRESERVE_ORDER);
	k->stdin_len = k->stdin_buf ? strlen(k->stdin_buf) : 0;
	k->traceparent = rm.traceparent ? strdup(rm.traceparent) : NULL;
	k->idem_key = rm.key ? strdup(rm.key) : NULL;
	if (t->secret_values) {
		k->redacting = true;
		if (redactor_init(&k->red_out, t->secret_values->patterns, t->secret_values->n) != 0 ||
		    redactor_init(&k->red_err, t->secret_values->patterns, t->secret_values->n) != 0) {
			redactor_fini(&k->red_out);
			k->redacting = false;
		}
	}
	if (!k->stdin_buf || (rm.traceparent && !k->traceparent) || (rm.key && !k->idem_key) ||
	    (t->secret_values && !k->redacting)) {
		conn_reply_error(c, id, JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
		call_free(k);
		goto done;
	}
	if (k->idem_key) {
		idem_entry_id(k->agent, k->idem_key, k->idem_id);
		if (idem_fingerprint(t->name, k->user, owned_args, k->idem_fp) != 0) {
			conn_reply_error(c, id, JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
			call_free(k);
			goto done;
		}
		/* A key already in use: the first call's result, a wait for it,
		   or a refusal; either way this call does not run. */
		if (call_idem_route(k, held))
			goto done;
	}
	/* Any JSON value the client chose; sent back as is. */
	k->progress_token = json_incref(json_object_get(json_object_get(params, "_meta"), "progressToken"));
	if (held) {
		call_hold(k);
		goto done;
	}

	json_t *dec = json_pack("{s:s, s:s, s:O, s:s, s:O, s:s, s:O, s:s}",
		"event", "decision", "agent", agent, "peer", peer, "tool", t->name, "args", k->args,
		"decision", "permit", "rules", k->rules, "reason", k->decision_reason);
	call_add_token_fields(dec, k->user, k->token_fields);
	call_add_request_fields(dec, k);
	int queued = server_audit(s, dec, &k->decision_seq) != 0 ? -1 : call_start_and_queue(k);
	if (queued != 0) {
		if (queued == -3) {
			conn_reply_error(c, id, JSONRPC_SERVER_BUSY, k->start_error);
		} else if (queued == -2) {
			snprintf(msg, sizeof msg, "all %u dynamic uids are in use; retry when a call ends",
			         s->uids.count);
			conn_reply_error(c, id, JSONRPC_SERVER_BUSY, msg);
		} else {
			conn_reply_error(c, id, JSONRPC_INTERNAL_ERROR,
			                 "Internal error: the audit log cannot be written; the tool was not started");
		}
		call_free(k);
		goto done;
	}
	call_link(k);
done:
	json_decref(peer);
	json_decref(owned_args);
	json_decref(audit_args);
}

/* ---- spawn ---- */

int call_arm_timer(struct call *k, uint64_t ms)
{
	struct itimerspec its = { .it_value = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 } };
	return timerfd_settime(k->w_timer.fd, 0, &its, NULL);
}

/* The run's deadline; or, for a caller that asked for progress, the next
   progress notification on the way there. */
static int arm_run_timer(struct call *k)
{
	uint64_t now = server_now_ms();
	uint64_t left = k->run_deadline_ms > now ? k->run_deadline_ms - now : 0;
	if (k->progress_token && left > RUN_PROGRESS_EVERY_MS)
		left = RUN_PROGRESS_EVERY_MS;
	return call_arm_timer(k, left ? left : 1);
}

static int watch_child(struct call *k, struct tg_error *err)
{
	struct server *s = k->srv;
	k->w_in = (struct watch){ WATCH_CALL_STDIN, k->child.stdin_fd, k };
	k->w_out = (struct watch){ WATCH_CALL_STDOUT, k->child.stdout_fd, k };
	k->w_err = (struct watch){ WATCH_CALL_STDERR, k->child.stderr_fd, k };
	k->w_status = (struct watch){ WATCH_CALL_STATUS, k->child.status_fd, k };
	k->w_pid = (struct watch){ WATCH_CALL_PIDFD, k->child.pidfd, k };
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	k->w_timer = (struct watch){ WATCH_CALL_TIMER, tfd, k };
	k->run_deadline_ms = server_now_ms() + k->tool->limits.timeout_ms;
	if (tfd < 0)
		return tg_err_errno(err, "timerfd_create");
	if (arm_run_timer(k) != 0)
		return tg_err_errno(err, "timerfd_settime");
	if (server_watch(s, &k->w_out, EPOLLIN) || server_watch(s, &k->w_err, EPOLLIN) ||
	    server_watch(s, &k->w_status, EPOLLIN) || server_watch(s, &k->w_pid, EPOLLIN) ||
	    server_watch(s, &k->w_timer, EPOLLIN) || server_watch(s, &k->w_in, EPOLLOUT))
		return tg_err_errno(err, "epoll_ctl");
	return 0;
}

/* A child the loop cannot watch would never be seen to exit, and its call
   never answered: it is killed at its gate (the tool never ran) and reaped
   here, which takes no longer than the kill. */
static void end_unwatched(struct call *k, const struct tg_error *why)
{
	log_error("call", "%s: cannot supervise the child: %s", k->tool->name, why->msg);
	snprintf(k->setup_error, sizeof k->setup_error, "the broker could not supervise it (%.200s)",
	         why->msg);
	k->setup_len = strlen(k->setup_error);
	siginfo_t si;
	if (sandbox_kill(&k->child) == 0)
		while (waitid(P_PIDFD, (id_t)k->child.pidfd, &si, WEXITED) != 0 && errno == EINTR)
			;
	k->exited = true;
	finish(k);
}

/* Is the (gated) child still there? */
static bool child_alive(const struct sandbox_child *c)
{
	struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
	return c->pidfd >= 0 && poll(&p, 1, 0) == 0;
}

/* Let go of an adopted child that will not run: killed and released; the
   uid too, unless the call keeps it for a fresh child (give_uid false). */
static void drop_adopted(struct call *k, bool give_uid)
{
	struct spare sp;
	memset(&sp, 0, sizeof sp);
	sp.child = k->child;
	sp.cg = k->cg;
	sp.uid = k->uid;
	sp.dynamic_uid = give_uid && k->dynamic_uid;
	spare_discard(k->srv, &sp);
	sandbox_child_init(&k->child);
	memset(&k->cg, 0, sizeof k->cg);
	if (give_uid)
		k->dynamic_uid = false;
	k->adopted = false;
}

void call_spawn_queued(struct server *s)
{
	while (s->spawn_queue) {
		struct call *k = s->spawn_queue;
		s->spawn_queue = k->queue_next;
		k->queue_next = NULL;
		if (k->cancelled) {
			/* The client's own reason, when it gave one (call_cancel_by_id). */
			if (!k->stop_reason[0])
				snprintf(k->stop_reason, sizeof k->stop_reason, "cancelled before it started");
			finish(k);
			continue;
		}
		if (s->audit_error[0]) {
			snprintf(k->stop_reason, sizeof k->stop_reason,
			         "the audit log cannot be written (%.100s)", s->audit_error);
			finish(k);
			continue;
		}
		struct tg_error err;
		clock_gettime(CLOCK_MONOTONIC, &k->t0);
		if (k->adopted && !child_alive(&k->child)) {
			/* The spare died waiting (its setup failed, or it was
			   killed): start afresh, as the same uid its record names. */
			drop_adopted(k, false);
		}
		bool kept;
		int rc = k->adopted ? 0 : spare_spawn(s, k->tool, &k->owner, k->uid, k->gid, &k->cg,
		                                      &k->child, &kept, &err);
		if (rc != 0) {
			snprintf(k->setup_error, sizeof k->setup_error, "%.250s", err.msg);
			k->setup_len = strlen(k->setup_error);
			k->state = CALL_RUNNING;
			k->exited = true;
			finish(k);
			continue;
		}
		k->state = CALL_RUNNING;
		if (watch_child(k, &err) != 0) {
			end_unwatched(k, &err);
			continue;
		}
		k->queue_next = s->gated;
		s->gated = k;
	}
}

void call_release_gated(struct server *s)
{
	while (s->gated) {
		struct call *k = s->gated;
		s->gated = k->queue_next;
		k->queue_next = NULL;
		if (k->state != CALL_RUNNING || k->child.gate_fd < 0)
			continue;
		if (audit_durable_seq(s->audit) < k->start_seq) {
			/* The tool must not start without its durable start record. */
			snprintf(k->stop_reason, sizeof k->stop_reason,
			         "its start record could not be made durable (%.100s)", s->audit_error);
			kill_call(k, k->stop_reason);
			continue;
		}
		k->start_durable = true;
		try_release(k);
	}
}

/* ---- supervision ---- */

static void feed_stdin(struct call *k)
{
	while (k->stdin_off < k->stdin_len) {
		ssize_t n = write(k->child.stdin_fd, k->stdin_buf + k->stdin_off, k->stdin_len - k->stdin_off);
		if (n > 0) {
			k->stdin_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		break; /* EPIPE: the tool does not read its arguments; fine */
	}
	call_unwatch_close(k->srv, &k->w_in, &k->child.stdin_fd);
}

/* Keep n more bytes of output, up to the capture's limit. */
static void capture_keep(struct capture *cap, const char *buf, size_t n)
{
	size_t room = cap->limit - cap->len;
	size_t keep = n < room ? n : room;
	if (keep < n)
		cap->cut = true;
	if (!keep)
		return;
	if (cap->len + keep > cap->cap) {
		size_t want = cap->cap ? cap->cap * 2 : 16384;
		if (want < cap->len + keep)
			want = cap->len + keep;
		if (want > cap->limit)
			want = cap->limit;
		char *nb = realloc(cap->buf, want);
		if (!nb)
			return; /* keep what we have; total still counts the rest */
		cap->buf = nb;
		cap->cap = want;
	}
	memcpy(cap->buf + cap->len, buf, keep);
	cap->len += keep;
}

static void keep_redacted(void *cap, const char *buf, size_t n)
{
	capture_keep(cap, buf, n);
}

/* Output of a tool with secrets goes through its redactor to the capture,
   so the capture's limit only ever cuts redacted text (redact.h).  Once
   the capture is full nothing more can be kept: the redactor is skipped. */
static void take_output(struct call *k, struct capture *cap, struct redactor *red,
                        const char *buf, size_t n)
{
	cap->total += (uint64_t)n;
	if (!k->redacting)
		capture_keep(cap, buf, n);
	else if (cap->len < cap->limit)
		redactor_feed(red, buf, n, keep_redacted, cap);
	else
		cap->cut = true;
}

/* The streams ended: what the redactors hold back is decided. */
static void flush_redactors(struct call *k)
{
	if (!k->redacting)
		return;
	if (k->out.len < k->out.limit)
		redactor_finish(&k->red_out, keep_redacted, &k->out);
	if (k->err.len < k->err.limit)
		redactor_finish(&k->red_err, keep_redacted, &k->err);
	redactor_fini(&k->red_out);
	redactor_fini(&k->red_err);
	k->redacting = false;
}

/* Read what is there; keep up to the limit, count and drop the rest.  At
   most a few reads per event, so one chatty tool cannot starve the loop. */
static void drain_pipe(struct call *k, struct capture *cap, struct redactor *red, struct watch *w,
                       int *fd)
{
	char buf[65536];
	for (int rounds = 0; rounds < 8; rounds++) {
		ssize_t n = read(*fd, buf, sizeof buf);
		if (n > 0) {
			take_output(k, cap, red, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		cap->eof = true;
		call_unwatch_close(k->srv, w, fd);
		break;
	}
	/* The raw bytes of a tool with secrets do not stay on the stack. */
	if (k->redacting)
		sodium_memzero(buf, sizeof buf);
}

static void read_status(struct call *k)
{
	for (;;) {
		unsigned char buf[256];
		ssize_t n = read(k->child.status_fd, buf, sizeof buf);
		if (n > 0) {
			const unsigned char *p = buf;
			/* First the seccomp listener (one atomic write of
			   SANDBOX_HELLO_LEN bytes, so never split), then only text. */
			if (k->child.notify_fd < 0 && k->setup_len == 0 && p[0] == 0) {
				if (n < SANDBOX_HELLO_LEN || take_listener(k, p) != 0) {
					kill_call(k, "the broker could not take its seccomp listener");
					return;
				}
				p += SANDBOX_HELLO_LEN;
				n -= SANDBOX_HELLO_LEN;
			}
			size_t room = sizeof k->setup_error - 1 - k->setup_len;
			size_t keep = (size_t)n < room ? (size_t)n : room;
			memcpy(k->setup_error + k->setup_len, p, keep);
			k->setup_len += keep;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		break;
	}
	k->status_eof = true;
	call_unwatch_close(k->srv, &k->w_status, &k->child.status_fd);
}

/* Open the gate once both hold: the start record is durable and the
   broker holds the child's seccomp listener (sandbox.h). */
static void try_release(struct call *k)
{
	if (!k->start_durable || k->child.notify_fd < 0 || k->released || k->child.gate_fd < 0 ||
	    k->state != CALL_RUNNING)
		return;
	k->released = true;
	if (sandbox_release_traced(&k->child, k->traceparent) != 0)
		log_warn("call", "%s: the child was gone before its gate opened", k->tool->name);
}

static int take_listener(struct call *k, const unsigned char *hello)
{
	if (sandbox_take_listener(&k->child, hello) != 0) {
		/* ESRCH: the child is gone already (killed at its gate); its
		   exit says what happened. */
		if (errno != ESRCH)
			log_error("call", "%s: taking the seccomp listener: %s", k->tool->name, strerror(errno));
		return -1;
	}
	k->w_seccomp = (struct watch){ WATCH_CALL_SECCOMP, k->child.notify_fd, k };
	if (server_watch(k->srv, &k->w_seccomp, EPOLLIN) != 0)
		return -1;
	try_release(k);
	return 0;
}

/* A system call the tool's filter refused: answer it and remember it. */
static void on_seccomp(struct call *k)
{
	struct seccomp_verdict v;
	pid_t killed;
	bool odd;
	int r = sandbox_answer_seccomp(&k->child, k->tool->profile, &v, &killed, &odd);
	if (r < 0) {
		/* Nobody could answer it: end the tool rather than leave it hanging. */
		log_error("call", "%s: answering a seccomp notification: %s", k->tool->name, strerror(errno));
		kill_call(k, "the broker could not answer its refused system call");
		return;
	}
	if (r == 0)
		return;
	if (odd)
		log_warn("call", "%s: the seccomp programs disagree on %s; refused it (EPERM)",
		         k->tool->name, v.syscall);
	report_note_seccomp(&k->rep, &v, killed != 0 && killed == k->child.pid);
}

static void on_exit_of_child(struct call *k)
{
	int ws;
	if (sandbox_reap(&k->child, &ws, &k->cpu_ms) != 0)
		return;
	k->exited = true;
	k->wstatus = ws;
	call_unwatch_close(k->srv, &k->w_pid, &k->child.pidfd);
	/* The kernel's audit records (Landlock's refusals, when the broker
	   reads them) reach the broker through a kernel thread, a little after
	   the refusal itself: a tool that exits right after one would end
	   before its record arrives.  So, in that mode, wait a moment. */
	if (k->srv->kaudit && k->released && k->w_timer.fd >= 0) {
		k->audit_grace = true;
		call_arm_timer(k, KAUDIT_GRACE_MS);
		return;
	}
	/* The pipes close when the pid namespace is gone; if something still
	   holds one, stop waiting after a short drain. */
	if (!(k->out.eof && k->err.eof && k->status_eof) && k->w_timer.fd >= 0)
		call_arm_timer(k, DRAIN_AFTER_EXIT_MS);
}

static void on_timer(struct call *k)
{
	uint64_t ticks;
	if (read(k->w_timer.fd, &ticks, sizeof ticks) < 0 && errno == EAGAIN)
		return;
	if (!k->exited) {
		uint64_t now = server_now_ms();
		if (now + 2 < k->run_deadline_ms) {
			/* A long call: tell a caller that asked that it still runs. */
			char msg[160];
			uint64_t limit = k->tool->limits.timeout_ms;
			snprintf(msg, sizeof msg, "%s has been running for %llu s (its limit is %llu.%03llu s)",
			         k->tool->name, (unsigned long long)((limit - (k->run_deadline_ms - now)) / 1000),
			         (unsigned long long)(limit / 1000), (unsigned long long)(limit % 1000));
			call_send_progress(k, msg);
			arm_run_timer(k);
			return;
		}
		k->timed_out = true;
		kill_call(k, "timed out");
		return;
	}
	if (k->audit_grace) {
		k->audit_grace = false;
		server_kaudit_drain(k->srv);
		if (!(k->out.eof && k->err.eof && k->status_eof))
			call_arm_timer(k, DRAIN_AFTER_EXIT_MS);
		return;
	}
	/* Drain deadline after exit: stop waiting for EOF. */
	k->out.eof = k->err.eof = k->status_eof = true;
	release_child(k);
}

void call_on_event(struct watch *w, uint32_t events)
{
	struct call *k = w->owner;
	if (k->state == CALL_HELD && w->kind == WATCH_CALL_TIMER && w->fd >= 0) {
		call_on_hold_timer(k);
		return;
	}
	if (k->state != CALL_RUNNING || w->fd < 0)
		return;
	switch (w->kind) {
	case WATCH_CALL_STDIN:
		feed_stdin(k);
		break;
	case WATCH_CALL_STDOUT:
		drain_pipe(k, &k->out, &k->red_out, &k->w_out, &k->child.stdout_fd);
		break;
	case WATCH_CALL_STDERR:
		drain_pipe(k, &k->err, &k->red_err, &k->w_err, &k->child.stderr_fd);
		break;
	case WATCH_CALL_STATUS:
		read_status(k);
		break;
	case WATCH_CALL_PIDFD:
		on_exit_of_child(k);
		break;
	case WATCH_CALL_TIMER:
		on_timer(k);
		break;
	case WATCH_CALL_SECCOMP:
		on_seccomp(k);
		/* EPOLLHUP: no task uses the filter any more (the tool's processes
		   have exited), so no notification can come.  The listener stays
		   readable-with-HUP until it is closed, and a level-triggered watch
		   would spin the loop until the rest of the call's ending arrives
		   (the pidfd, the pipes' EOF): it is closed now. */
		if ((events & (EPOLLHUP | EPOLLERR)) && k->state == CALL_RUNNING)
			call_unwatch_close(k->srv, &k->w_seccomp, &k->child.notify_fd);
		break;
	default:
		break;
	}
	maybe_finish(k);
}

bool call_note_landlock(struct server *s, const struct kaudit_event *ev)
{
	struct call *k = s->calls;
	while (k && !(k->state == CALL_RUNNING && k->child.pid == ev->pid))
		k = k->all_next;
	if (!k)
		return false;
	report_note_landlock(&k->rep, ev);
	return true;
}

/* ---- cancellation and teardown ---- */

void call_cancel_by_id(struct conn *c, const json_t *request_id, const char *reason)
{
	for (struct call *k = c->calls; k; k = k->conn_next) {
		if (!json_equal(k->id, request_id))
			continue;
		char why[160];
		snprintf(why, sizeof why, "cancelled by the client (%.100s)", reason);
		if (k->state == CALL_WAITING) {
			/* A retry that waited: it stops waiting; the first call runs on. */
			call_unlink(k);
			k->state = CALL_DONE;
			k->grave_next = c->srv->grave_calls;
			c->srv->grave_calls = k;
			return;
		}
		if (k->state == CALL_HELD) {
			call_withdraw_held(k, why);
			return;
		}
		k->cancelled = true;
		if (k->state == CALL_QUEUED)
			snprintf(k->stop_reason, sizeof k->stop_reason, "%s", why);
		else
			kill_call(k, why);
		return;
	}
}

void call_abandon_all(struct conn *c)
{
	while (c->calls) {
		struct call *k = c->calls;
		if (k->state == CALL_HELD) {
			call_withdraw_held(k, "the client disconnected");
			continue;
		}
		if (k->state == CALL_WAITING) {
			call_unlink(k);
			k->state = CALL_DONE;
			k->grave_next = c->srv->grave_calls;
			c->srv->grave_calls = k;
			continue;
		}
		if (k->idem_key) {
			/* A call with an idempotency key outlives its client: a client
			   that lost its connection retries with the same key, and gets
			   this call's result instead of a second run. */
			unlink_from_conn(k);
			continue;
		}
		k->cancelled = true;
		if (k->state == CALL_QUEUED)
			snprintf(k->stop_reason, sizeof k->stop_reason, "the client disconnected");
		else
			kill_call(k, "the client disconnected");
		unlink_from_conn(k);
	}
}

void call_kill_all(struct server *s, const char *reason)
{
	for (struct call *k = s->calls; k; k = k->all_next)
		kill_call(k, reason);
}

void call_free_graveyard(struct server *s)
{
	while (s->grave_calls) {
		struct call *k = s->grave_calls;
		s->grave_calls = k->grave_next;
		call_free(k);
	}
}
