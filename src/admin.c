/*
 * admin.c: the admin methods (kill switch, reload) and the
 * tools/list_changed notifications (see admin.h).
 */
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "call.h"
#include "config.h"
#include "disabled.h"
#include "jsonrpc.h"
#include "log.h"
#include "mcp.h"
#include "policy.h"
#include "server.h"

/* ---------------------------------------------------------- list_changed */

/* Would tools/list show this tool to this principal? (mcp.c's filter) */
static bool visible(const struct server *s, const struct config *cfg, const char *principal,
                    const struct tool *t)
{
	return principal && t->enabled && !disabled_get(s->disabled, t->name) &&
	       policy_tool_visible(cfg->policy, principal, t->name);
}

/* One hash per tool over its tools/list entry, so that a tool whose
   description or schema changed counts as a change too. */
static unsigned char (*entry_hashes(const struct config *cfg))[crypto_generichash_BYTES]
{
	unsigned char (*h)[crypto_generichash_BYTES] = calloc(cfg->ntools ? cfg->ntools : 1, sizeof *h);
	for (size_t i = 0; h && i < cfg->ntools; i++) {
		char *text = json_dumps(cfg->tools[i]->list_entry, JSON_COMPACT | JSON_SORT_KEYS);
		if (!text) {
			free(h);
			return NULL;
		}
		crypto_generichash(h[i], sizeof h[i], (const unsigned char *)text, strlen(text), NULL, 0);
		free(text);
	}
	return h;
}

static void digest_of(const struct server *s, const struct config *cfg,
                      unsigned char (*h)[crypto_generichash_BYTES], const struct conn *c,
                      unsigned char out[crypto_generichash_BYTES])
{
	crypto_generichash_state st;
	const char *principal = policy_principal_for_peer(cfg->policy, c->uid, c->gid);
	crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES);
	for (size_t i = 0; i < cfg->ntools; i++)
		if (visible(s, cfg, principal, cfg->tools[i]))
			crypto_generichash_update(&st, h[i], sizeof h[i]);
	crypto_generichash_final(&st, out, crypto_generichash_BYTES);
}

/* In the form the connection's MCP era takes (mcp.h). */
static void notify(struct conn *c)
{
	mcp_tools_list_changed(c);
}

void admin_config_changed(struct server *s, const struct config *old_cfg, const struct config *new_cfg)
{
	unsigned char (*ho)[crypto_generichash_BYTES] = entry_hashes(old_cfg);
	unsigned char (*hn)[crypto_generichash_BYTES] = entry_hashes(new_cfg);
	for (struct conn *c = s->conns; ho && hn && c; c = c->next) {
		if ((!c->initialized && !c->listens) || c->dead)
			continue;
		unsigned char a[crypto_generichash_BYTES], b[crypto_generichash_BYTES];
		digest_of(s, old_cfg, ho, c, a);
		digest_of(s, new_cfg, hn, c, b);
		if (sodium_memcmp(a, b, sizeof a) != 0)
			notify(c);
	}
	if (!ho || !hn)
		log_warn("admin", "out of memory: tools/list_changed not sent after a configuration change");
	free(ho);
	free(hn);
}

/* A tool went in or out of service: who could see it? */
static void tool_switched(struct server *s, const char *tool)
{
	const struct config *cfg = s->config;
	const struct tool *t = config_find_tool(cfg, tool);
	if (!t || !t->enabled)
		return;
	for (struct conn *c = s->conns; c; c = c->next) {
		if ((!c->initialized && !c->listens) || c->dead)
			continue;
		const char *principal = policy_principal_for_peer(cfg->policy, c->uid, c->gid);
		if (principal && policy_tool_visible(cfg->policy, principal, t->name))
			notify(c);
	}
}

/* ---------------------------------------------------------- the methods */

static json_t *peer_json(const struct conn *c)
{
	return json_pack("{s:i, s:i, s:i}", "uid", (int)c->uid, "gid", (int)c->gid, "pid", (int)c->pid);
}

/* "support-lead (uid 1002)" or "root (uid 0)": who did it, for the file
   and the messages. */
static void who(const struct conn *c, char *out, size_t len)
{
	const char *p = policy_principal_for_peer(c->srv->config->policy, c->uid, c->gid);
	snprintf(out, len, "%s (uid %u)", p ? p : c->uid == 0 ? "root" : "no principal", (unsigned)c->uid);
}

static const char *tool_param(struct conn *c, const json_t *id, const char *method, json_t *params)
{
	const char *tool = json_string_value(json_object_get(params, "tool"));
	if (!tool || !*tool) {
		char msg[200];
		snprintf(msg, sizeof msg, "Invalid params: %s needs {\"tool\": NAME}", method);
		conn_reply_error(c, id, JSONRPC_INVALID_PARAMS, msg);
	}
	return tool;
}

static void disable(struct conn *c, const json_t *id, json_t *params, bool on)
{
	struct server *s = c->srv;
	const char *method = on ? "toolgate/admin/disable" : "toolgate/admin/enable";
	const char *tool = tool_param(c, id, method, params);
	if (!tool)
		return;
	json_t *jr = json_object_get(params, "reason");
	if (jr && !json_is_string(jr)) {
		conn_reply_error(c, id, JSONRPC_INVALID_PARAMS, "Invalid params: \"reason\" must be a string");
		return;
	}
	const char *reason = jr ? json_string_value(jr) : "";
	char by[200], msg[600];
	who(c, by, sizeof by);
	/* The change and its record go together: with the log down, neither. */
	if (audit_failed(s->audit)) {
		snprintf(msg, sizeof msg, "Internal error: the audit log cannot be written (%.300s); "
		         "nothing was changed", s->audit_error);
		conn_reply_error(c, id, JSONRPC_INTERNAL_ERROR, msg);
		return;
	}
	struct tg_error err;
	bool was;
	int rc = on ? disabled_set(s->disabled, tool, by, reason, &was, &err)
	            : disabled_clear(s->disabled, tool, &was, &err);
	if (rc != 0) {
		snprintf(msg, sizeof msg, "%s: %.400s; nothing was changed", method, err.msg);
		conn_reply_error(c, id, rc == -2 ? JSONRPC_INVALID_PARAMS : JSONRPC_INTERNAL_ERROR, msg);
		return;
	}
	bool known = config_find_tool(s->config, tool) != NULL;
	uint64_t seq = 0;
	const char *p = policy_principal_for_peer(s->config->policy, c->uid, c->gid);
	char text[600];
	snprintf(text, sizeof text, "%s %s by %s%s%s", tool, on ? "disabled" : "enabled", by,
	         *reason ? ": " : "", reason);
	server_audit(s, json_pack("{s:s, s:s?, s:o, s:s, s:s, s:b, s:b}", "event",
	                          on ? "admin_disable" : "admin_enable", "agent", p, "peer", peer_json(c),
	                          "tool", tool, "reason", text, "was_disabled", was, "configured", known),
	             &seq);
	log_info("admin", "%s", text);
	if (on) {
		char why[400];
		snprintf(why, sizeof why, "%s was disabled by an administrator while the call waited for "
		         "approval", tool);
		call_end_held_for_tool(s, tool, why);
	}
	if (on != was)
		tool_switched(s, tool);
	const json_t *e = disabled_get(s->disabled, tool);
	json_t *r = json_pack("{s:s, s:b, s:b, s:b, s:I}", "tool", tool, "disabled", on, "was_disabled",
	                      was, "configured", known, "audit_seq", (json_int_t)seq);
	if (e)
		json_object_update(r, (json_t *)e);
	conn_reply_result(c, id, r);
}

static void reload(struct conn *c, const json_t *id)
{
	struct tg_error err;
	struct server *s = c->srv;
	if (server_reload(s, &err) != 0) {
		conn_reply_result(c, id, json_pack("{s:b, s:s, s:s}", "reloaded", 0, "error", err.msg,
		                                   "config_digest", s->config->digest));
		return;
	}
	conn_reply_result(c, id, json_pack("{s:b, s:s, s:I}", "reloaded", 1, "config_digest",
	                                   s->config->digest, "tools", (json_int_t)s->config->ntools));
}

void admin_handle(struct conn *c, const json_t *id, const char *method, json_t *params)
{
	struct server *s = c->srv;
	if (!policy_is_admin(s->config->policy, c->uid, c->gid)) {
		char msg[400], by[200];
		who(c, by, sizeof by);
		snprintf(msg, sizeof msg, "Not permitted: %.60s is for admin principals (\"admin\": true in "
		         "the policies) and root; the caller is %s", method, by);
		conn_reply_error(c, id, JSONRPC_FORBIDDEN, msg);
		return;
	}
	if (params && !json_is_object(params)) {
		conn_reply_error(c, id, JSONRPC_INVALID_PARAMS, "Invalid params: must be an object");
		return;
	}
	if (strcmp(method, "toolgate/admin/disable") == 0)
		disable(c, id, params, true);
	else if (strcmp(method, "toolgate/admin/enable") == 0)
		disable(c, id, params, false);
	else if (strcmp(method, "toolgate/admin/list") == 0)
		conn_reply_result(c, id, json_pack("{s:O}", "disabled", disabled_all(s->disabled)));
	else if (strcmp(method, "toolgate/admin/reload") == 0)
		reload(c, id);
	else {
		char msg[200];
		snprintf(msg, sizeof msg, "Method not found: %.120s", method);
		conn_reply_error(c, id, JSONRPC_METHOD_NOT_FOUND, msg);
	}
}
