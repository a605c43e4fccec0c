/*
 * mcp.c: the MCP session of one connection (see mcp.h).
 *
 * A session must begin with initialize; until then only ping is answered,
 * as MCP's lifecycle asks.  The caller's identity is the peer's SO_PEERCRED
 * uid/gid, mapped to an agent principal by the current policies on every
 * request, so that a reload that changes principals takes effect at once.
 */
#include "mcp.h"
#include "admin.h"
#include "disabled.h"
#include "forward.h"
#include "sandbox.h"
#include "audit.h"
#include "call.h"
#include "config.h"
#include "jsonrpc.h"
#include "log.h"
#include "policy.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const versions[] = {
	"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05",
};

int mcp_version_supported(const char *v)
{
	for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++)
		if (strcmp(v, versions[i]) == 0)
			return 1;
	return 0;
}

static void handle_initialize(struct conn *c, const json_t *id, json_t *params)
{
	const char *want = json_string_value(json_object_get(params, "protocolVersion"));
	if (!want) {
		conn_reply_error(c, id, JSONRPC_INVALID_PARAMS,
		                 "Invalid params: initialize needs a \"protocolVersion\" string");
		return;
	}
	/* Per MCP: answer with the client's revision when we speak it, else
	   with our latest and let the client decide. */
	const char *ver = mcp_version_supported(want) ? want : MCP_LATEST_VERSION;
	snprintf(c->protocol_version, sizeof c->protocol_version, "%s", ver);
	c->initialized = true;
	/* A delegation token here is the connection's default for its calls. */
	const char *token = json_string_value(json_object_get(json_object_get(params, "_meta"),
	                                                      "toolgate/delegation"));
	free(c->default_token);
	c->default_token = token ? strdup(token) : NULL;
	json_t *result = json_pack("{s:s, s:{s:{s:b}}, s:{s:s, s:s, s:s}, s:s}",
		"protocolVersion", ver,
		"capabilities", "tools", "listChanged", 1,
		"serverInfo", "name", "toolgate", "title", "toolgate tool broker", "version", TOOLGATE_VERSION,
		"instructions", "Tools run in a sandbox after a policy check; every call is audited. "
		"A refused call returns isError with the reason in _meta[\"toolgate/decision\"].");
	conn_reply_result(c, id, result);
}

/* tools/list: the tools this caller could ever be permitted, sorted by name,
   a page at a time.  The cursor is the last name of the previous page, so a
   reload between pages neither repeats nor skips a tool that stayed. */
static void handle_tools_list(struct conn *c, const json_t *id, json_t *params)
{
	struct server *s = c->srv;
	const struct config *cfg = s->config;
	json_t *jcur = json_object_get(params, "cursor");
	const char *after = NULL;
	if (jcur && !json_is_null(jcur)) {
		after = json_string_value(jcur);
		if (!after || strncmp(after, "after:", 6) != 0) {
			conn_reply_error(c, id, JSONRPC_INVALID_PARAMS, "Invalid params: unknown cursor");
			return;
		}
		after += 6;
	}
	const char *principal = policy_principal_for_peer(cfg->policy, c->uid, c->gid);
	json_t *tools = json_array();
	const char *last = NULL;
	bool more = false;
	for (size_t i = 0; principal && i < cfg->ntools; i++) {
		const struct tool *t = cfg->tools[i];
		if (!t->enabled || (after && strcmp(t->name, after) <= 0) || disabled_get(s->disabled, t->name))
			continue;
		if (!policy_tool_visible(cfg->policy, principal, t->name))
			continue;
		if (json_array_size(tools) == s->opt.page_size) {
			more = true;
			break;
		}
		json_array_append(tools, t->list_entry);
		last = t->name;
	}
	json_t *result = json_pack("{s:o}", "tools", tools);
	if (more && last) {
		char cursor[80];
		snprintf(cursor, sizeof cursor, "after:%s", last);
		json_object_set_new(result, "nextCursor", json_string(cursor));
	}
	conn_reply_result(c, id, result);
}

static void handle_status(struct conn *c, const json_t *id)
{
	struct server *s = c->srv;
	const char *principal = policy_principal_for_peer(s->config->policy, c->uid, c->gid);
	json_t *r = json_pack("{s:s, s:s, s:s?, s:I, s:I, s:I, s:s, s:I, s:b, s:s?}",
		"version", TOOLGATE_VERSION, "broker_id", s->opt.broker_id,
		"principal", principal,
		"connections", (json_int_t)s->nconns, "calls_in_flight", (json_int_t)s->ncalls,
		"calls_total", (json_int_t)s->calls_total,
		"config_digest", s->config->digest, "audit_seq", (json_int_t)audit_last_seq(s->audit),
		"draining", s->draining, "audit_error", s->audit_error[0] ? s->audit_error : NULL);
	json_object_set_new(r, "netns_pool", json_pack("{s:I, s:I, s:I, s:I}",
		"ready", (json_int_t)s->netns.n, "made", (json_int_t)s->netns.made,
		"taken", (json_int_t)s->netns.taken, "missed", (json_int_t)s->netns.missed));
	/* Which limits are in force for the calls' process trees. */
	json_object_set_new(r, "resources", json_string(cgroup_tree_describe(s->cgroups)));
	json_object_set_new(r, "mode", json_string(sandbox_rootless() ?
		"rootless: each tool in a user namespace of its own, mapped onto the broker's user" :
		"root: each tool under its run_as uid"));
	json_object_set_new(r, "landlock", json_string(s->landlock));
	json_object_set_new(r, "landlock_audit", json_string(s->kaudit_state));
	json_object_set_new(r, "cgroup_pool", json_pack("{s:I, s:I, s:I, s:I}",
		"ready", (json_int_t)s->cgpool.nready, "made", (json_int_t)s->cgpool.made,
		"taken", (json_int_t)s->cgpool.taken, "missed", (json_int_t)s->cgpool.missed));
	if (s->forwarder) {
		struct forward_status fs;
		forward_status(s->forwarder, &fs);
		json_object_set_new(r, "forward", json_pack("{s:b, s:I, s:I, s:I, s:s}",
			"connected", fs.connected, "sent_seq", (json_int_t)fs.sent_seq,
			"delivered_seq", (json_int_t)fs.delivered_seq, "behind", (json_int_t)fs.behind,
			"last_error", fs.last_error));
	}
	json_object_set_new(r, "spares", json_pack("{s:I, s:I, s:I, s:I}",
		"ready", (json_int_t)s->spares.n, "made", (json_int_t)s->spares.made,
		"used", (json_int_t)s->spares.used, "discarded", (json_int_t)s->spares.discarded));
	conn_reply_result(c, id, r);
}

/* toolgate/approvals/decide {"id", "decision": "approve"|"deny", "reason"?} */
static void handle_approval_decision(struct conn *c, const json_t *id, json_t *params)
{
	const char *aid = json_string_value(json_object_get(params, "id"));
	const char *decision = json_string_value(json_object_get(params, "decision"));
	json_t *jreason = json_object_get(params, "reason");
	if (!aid || !decision || (strcmp(decision, "approve") != 0 && strcmp(decision, "deny") != 0) ||
	    (jreason && !json_is_string(jreason))) {
		conn_reply_error(c, id, JSONRPC_INVALID_PARAMS, "Invalid params: toolgate/approvals/decide "
		                 "needs {\"id\": string, \"decision\": \"approve\" or \"deny\", \"reason\"?: string}");
		return;
	}
	json_t *result = NULL;
	char why[400];
	if (call_approvals_decide(c, aid, strcmp(decision, "approve") == 0, json_string_value(jreason),
	                          &result, why, sizeof why) != 0) {
		/* The reason alone: approvers read it as is ("support-bot cannot
		   decide on its own call"). */
		conn_reply_error(c, id, JSONRPC_INVALID_PARAMS, why);
		return;
	}
	conn_reply_result(c, id, result);
}

static void handle_request(struct conn *c, struct jsonrpc_msg *m)
{
	const char *method = m->method;
	if (strcmp(method, "initialize") == 0) {
		handle_initialize(c, m->id, m->params);
		return;
	}
	if (strcmp(method, "ping") == 0) {
		conn_reply_result(c, m->id, json_object());
		return;
	}
	if (!c->initialized) {
		conn_reply_error(c, m->id, JSONRPC_INVALID_REQUEST,
		                 "Invalid Request: the session is not initialized; send initialize first");
		return;
	}
	if (strcmp(method, "tools/list") == 0)
		handle_tools_list(c, m->id, m->params);
	else if (strcmp(method, "tools/call") == 0)
		call_start(c, m->id, m->params);
	else if (strcmp(method, "toolgate/status") == 0)
		handle_status(c, m->id);
	else if (strncmp(method, "toolgate/admin/", 15) == 0)
		admin_handle(c, m->id, method, m->params);
	else if (strcmp(method, "toolgate/approvals/list") == 0)
		conn_reply_result(c, m->id, call_approvals_list(c));
	else if (strcmp(method, "toolgate/approvals/decide") == 0)
		handle_approval_decision(c, m->id, m->params);
	else if (strcmp(method, "toolgate/metrics") == 0)
		server_metrics_reply(c, m->id);
	else {
		char msg[200];
		snprintf(msg, sizeof msg, "Method not found: %.120s", method);
		conn_reply_error(c, m->id, JSONRPC_METHOD_NOT_FOUND, msg);
	}
}

static void handle_notification(struct conn *c, struct jsonrpc_msg *m)
{
	if (strcmp(m->method, "notifications/cancelled") == 0) {
		json_t *rid = json_object_get(m->params, "requestId");
		const char *reason = json_string_value(json_object_get(m->params, "reason"));
		if (rid)
			call_cancel_by_id(c, rid, reason ? reason : "cancelled by the client");
	}
	/* notifications/initialized and any other notification need no answer. */
}

void mcp_handle_line(struct conn *c, const char *line, size_t len)
{
	struct jsonrpc_msg m;
	jsonrpc_parse(line, len, &m);
	switch (m.kind) {
	case JSONRPC_INVALID:
		conn_reply_error(c, m.id, m.error_code, m.error_message);
		break;
	case JSONRPC_REQUEST:
		handle_request(c, &m);
		break;
	case JSONRPC_NOTIFICATION:
		handle_notification(c, &m);
		break;
	case JSONRPC_RESPONSE:
		break;
	}
	jsonrpc_msg_clear(&m);
}
