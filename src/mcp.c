/*
 * mcp.c: the MCP session of one connection (see mcp.h).
 *
 * The broker is a dual-era server, as MCP 2026-07-28 ("Versioning and
 * Compatibility") describes, and the era is chosen by how the connection
 * opens:
 *   - legacy (2025-11-25 and earlier): the session begins with initialize;
 *     until then only ping is answered, as those revisions' lifecycle asks.
 *     initialize selects legacy semantics for the rest of the connection
 *     (as it does for a stdio process), and a per-request version in a later
 *     request's _meta is then not looked at;
 *   - modern (2026-07-28): no handshake; every request carries its version
 *     and capabilities in params._meta["io.modelcontextprotocol/..."] and is
 *     served on its own.  server/discover tells the versions, capabilities
 *     and instructions; every result carries resultType "complete" and the
 *     server's identity in _meta; tools/list results carry ttlMs and
 *     cacheScope; list changes reach a subscriptions/listen stream.
 * The caller's identity is the peer's SO_PEERCRED uid/gid in both eras,
 * mapped to an agent principal by the current policies on every request, so
 * that a reload that changes principals takes effect at once.
 */
#include "mcp.h"
#include "admin.h"
#include "disabled.h"
#include "forward.h"
#include "sandbox.h"
#include "audit.h"
#include "call.h"
#include "config.h"
#include "idem.h"
#include "jsonrpc.h"
#include "log.h"
#include "paseto.h"
#include "policy.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Revisions negotiated by initialize (legacy), newest first. */
static const char *const versions[] = {
	"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05",
};

/* Revisions a request may name in its own _meta (modern), newest first. */
static const char *const modern_versions[] = {
	MCP_MODERN_VERSION,
};

#define N_OF(a) (sizeof (a) / sizeof (a)[0])

#define META_VERSION "io.modelcontextprotocol/protocolVersion"
#define META_CAPS "io.modelcontextprotocol/clientCapabilities"
#define META_SERVER "io.modelcontextprotocol/serverInfo"
#define META_SUBSCRIPTION "io.modelcontextprotocol/subscriptionId"

/* How long a modern client may keep a tools/list or server/discover result
   before asking again.  The list changes only on a reload or an admin's
   switch, a call to a tool that went away is refused anyway, and a client
   that must know at once opens subscriptions/listen. */
#define LIST_TTL_MS 60000

int mcp_version_supported(const char *v)
{
	for (size_t i = 0; i < N_OF(versions); i++)
		if (strcmp(v, versions[i]) == 0)
			return 1;
	return 0;
}

static bool modern_version_supported(const char *v)
{
	for (size_t i = 0; i < N_OF(modern_versions); i++)
		if (strcmp(v, modern_versions[i]) == 0)
			return true;
	return false;
}

/* Every revision this server speaks, per request first: server/discover's
   supportedVersions and UnsupportedProtocolVersionError's data.supported. */
static json_t *all_versions(void)
{
	json_t *a = json_array();
	for (size_t i = 0; i < N_OF(modern_versions); i++)
		json_array_append_new(a, json_string(modern_versions[i]));
	for (size_t i = 0; i < N_OF(versions); i++)
		json_array_append_new(a, json_string(versions[i]));
	return a;
}

static const char instructions[] =
	"Tools run in a sandbox after a policy check; every call is audited. "
	"A refused call returns isError with the reason in _meta[\"toolgate/decision\"].";

json_t *mcp_result_for_era(const struct conn *c, json_t *result)
{
	if (!result || !c->modern || c->initialized)
		return result;
	if (!json_object_get(result, "resultType"))
		json_object_set_new(result, "resultType", json_string("complete"));
	json_t *meta = json_object_get(result, "_meta");
	if (!meta) {
		meta = json_object();
		json_object_set_new(result, "_meta", meta);
	}
	if (json_is_object(meta) && !json_object_get(meta, META_SERVER))
		json_object_set_new(meta, META_SERVER, json_pack("{s:s, s:s}",
			"name", "toolgate", "version", TOOLGATE_VERSION));
	return result;
}

static void reply_error_data(struct conn *c, const json_t *id, int code, const char *msg, json_t *data)
{
	size_t len;
	char *line = jsonrpc_error_line(id, code, msg, data, &len);
	conn_send(c, line, len);
}

static void handle_initialize(struct conn *c, const json_t *id, json_t *params)
{
	const char *want = json_string_value(json_object_get(params, "protocolVersion"));
	if (!want) {
		conn_reply_error(c, id, JSONRPC_INVALID_PARAMS,
		                 "Invalid params: initialize needs a \"protocolVersion\" string");
		return;
	}
	/* A delegation token here is the connection's default for its calls,
	   kept as long as the connection: no larger than a token can be. */
	json_t *jtok = json_object_get(json_object_get(params, "_meta"), "toolgate/delegation");
	if (jtok && (!json_is_string(jtok) || json_string_length(jtok) > PASETO_MAX_TOKEN)) {
		char msg[200];
		snprintf(msg, sizeof msg, "Invalid params: _meta[\"toolgate/delegation\"] must be a "
		         "delegation token, a string of at most %d bytes", PASETO_MAX_TOKEN);
		conn_reply_error(c, id, JSONRPC_INVALID_PARAMS, msg);
		return;
	}
	/* Per MCP: answer with the client's revision when we speak it, else
	   with our latest and let the client decide. */
	const char *ver = mcp_version_supported(want) ? want : MCP_LATEST_VERSION;
	snprintf(c->protocol_version, sizeof c->protocol_version, "%s", ver);
	c->initialized = true;
	const char *token = json_string_value(jtok);
	free(c->default_token);
	c->default_token = token ? strdup(token) : NULL;
	json_t *result = json_pack("{s:s, s:{s:{s:b}}, s:{s:s, s:s, s:s}, s:s}",
		"protocolVersion", ver,
		"capabilities", "tools", "listChanged", 1,
		"serverInfo", "name", "toolgate", "title", "toolgate tool broker", "version", TOOLGATE_VERSION,
		"instructions", instructions);
	conn_reply_result(c, id, result);
}

/* server/discover (2026-07-28): what a client needs to pick a version.  The
   same for every caller, so a shared cache may keep it. */
static void handle_discover(struct conn *c, const json_t *id)
{
	json_t *r = json_pack("{s:o, s:{s:{s:b}}, s:s, s:i, s:s}",
		"supportedVersions", all_versions(),
		"capabilities", "tools", "listChanged", 1,
		"instructions", instructions,
		"ttlMs", LIST_TTL_MS, "cacheScope", "public");
	conn_reply_result(c, id, r);
}

/* subscriptions/listen (2026-07-28): a request answered only when it ends.
   The broker honours toolsListChanged; the stream ends when the client
   cancels it or the connection closes. */
static void handle_listen(struct conn *c, const json_t *id, json_t *params)
{
	json_t *want = json_object_get(params, "notifications");
	if (!json_is_object(want)) {
		conn_reply_error(c, id, JSONRPC_INVALID_PARAMS,
		                 "Invalid params: subscriptions/listen needs a \"notifications\" object");
		return;
	}
	bool tools = json_is_true(json_object_get(want, "toolsListChanged"));
	if (!c->listens)
		c->listens = json_array();
	if (json_array_size(c->listens) >= 16) {
		conn_reply_error(c, id, JSONRPC_INVALID_REQUEST,
		                 "Invalid Request: at most 16 subscriptions/listen streams per connection");
		return;
	}
	json_array_append_new(c->listens, json_pack("{s:O, s:b}", "id", id, "tools", tools));
	json_t *granted = json_object();
	if (tools)
		json_object_set_new(granted, "toolsListChanged", json_true());
	size_t len;
	char *line = jsonrpc_notification_line("notifications/subscriptions/acknowledged",
		json_pack("{s:o, s:{s:O}}", "notifications", granted, "_meta", META_SUBSCRIPTION, id), &len);
	conn_send(c, line, len);
}

/* A cancelled subscriptions/listen ends without a response; 1 if it was one. */
static int end_listen(struct conn *c, const json_t *rid)
{
	size_t i;
	json_t *l;
	json_array_foreach(c->listens, i, l) {
		if (json_equal(json_object_get(l, "id"), rid)) {
			json_array_remove(c->listens, i);
			return 1;
		}
	}
	return 0;
}

void mcp_tools_list_changed(struct conn *c)
{
	size_t len;
	if (c->initialized) {
		char *line = jsonrpc_notification_line("notifications/tools/list_changed", NULL, &len);
		conn_send(c, line, len);
		return;
	}
	size_t i;
	json_t *l;
	json_array_foreach(c->listens, i, l) {
		if (!json_is_true(json_object_get(l, "tools")))
			continue;
		char *line = jsonrpc_notification_line("notifications/tools/list_changed",
			json_pack("{s:{s:O}}", "_meta", META_SUBSCRIPTION, json_object_get(l, "id")), &len);
		conn_send(c, line, len);
	}
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
	if (c->modern && !c->initialized) {
		/* The list depends on who asks: no shared cache may keep it. */
		json_object_set_new(result, "ttlMs", json_integer(LIST_TTL_MS));
		json_object_set_new(result, "cacheScope", json_string("private"));
	}
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
	/* The last record made durable (fdatasync): audit_seq once the latest
	   outcomes have had their group commit (server.h). */
	json_object_set_new(r, "audit_durable_seq", json_integer((json_int_t)audit_durable_seq(s->audit)));
	json_object_set_new(r, "netns_pool", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"ready", (json_int_t)s->netns.n, "made", (json_int_t)s->netns.made,
		"taken", (json_int_t)s->netns.taken, "missed", (json_int_t)s->netns.missed,
		"kept", (json_int_t)s->netns.nkept, "reused", (json_int_t)s->netns.reused,
		"dropped", (json_int_t)s->netns.dropped));
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
	if (s->idem) {
		size_t entries;
		uint64_t bytes;
		idem_usage(s->idem, &entries, &bytes);
		json_object_set_new(r, "idempotency", json_pack("{s:I, s:I, s:I, s:I, s:I}",
			"entries", (json_int_t)entries, "bytes", (json_int_t)bytes,
			"max_entries", (json_int_t)s->opt.idem_max_entries,
			"max_bytes", (json_int_t)s->opt.idem_max_bytes,
			"window_ms", (json_int_t)s->opt.idem_window_ms));
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

/* The per-request envelope of 2026-07-28: a version we speak per request
   and the client's capabilities.  Replies with the error when it is not. */
static bool modern_request_ok(struct conn *c, const json_t *id, json_t *params, json_t *ver)
{
	const char *v = json_string_value(ver);
	if (!v) {
		conn_reply_error(c, id, JSONRPC_INVALID_PARAMS,
		                 "Invalid params: _meta[\"" META_VERSION "\"] must be a string");
		return false;
	}
	if (!modern_version_supported(v)) {
		char msg[300];
		snprintf(msg, sizeof msg, "Unsupported protocol version \"%.64s\": per request this server "
		         "speaks %s; 2025-11-25 and earlier begin with initialize", v, MCP_MODERN_VERSION);
		reply_error_data(c, id, MCP_UNSUPPORTED_PROTOCOL_VERSION, msg,
		                 json_pack("{s:o, s:s}", "supported", all_versions(), "requested", v));
		return false;
	}
	if (!json_is_object(json_object_get(json_object_get(params, "_meta"), META_CAPS))) {
		conn_reply_error(c, id, JSONRPC_INVALID_PARAMS, "Invalid params: protocol version "
		                 MCP_MODERN_VERSION " needs the client's capabilities, an object, in "
		                 "_meta[\"" META_CAPS "\"] of every request");
		return false;
	}
	return true;
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
		/* No handshake: a modern request, or a legacy client too early. */
		json_t *ver = json_object_get(json_object_get(m->params, "_meta"), META_VERSION);
		if (!ver) {
			conn_reply_error(c, m->id, JSONRPC_INVALID_REQUEST,
			                 "Invalid Request: the session is not initialized; send initialize first");
			return;
		}
		if (!modern_request_ok(c, m->id, m->params, ver))
			return;
		c->modern = true;
	}
	if (strcmp(method, "server/discover") == 0 && c->modern && !c->initialized)
		handle_discover(c, m->id);
	else if (strcmp(method, "subscriptions/listen") == 0 && c->modern && !c->initialized)
		handle_listen(c, m->id, m->params);
	else if (strcmp(method, "tools/list") == 0)
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
		if (rid && !end_listen(c, rid))
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
