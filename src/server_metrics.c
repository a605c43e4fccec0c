/*
 * server_metrics.c: the broker's metrics (metrics.h) as the server sees
 * them: the registry's life, the gauges read from the server's state at
 * scrape time (so they can never drift from it), audit records counted as
 * server_audit() writes them, the toolgate/metrics method (admin
 * principals only), and the HTTP endpoint (metrics_http.h), whose epoll set
 * is one more watch of the broker's loop.
 */
#include "server.h"
#include "call.h"
#include "config.h"
#include "jsonrpc.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

char *server_metrics_text(struct server *s, size_t *len)
{
	struct metrics_gauges g = {
		.connections = s->nconns,
		.calls_in_flight = s->ncalls,
		.approvals_pending = call_approvals_pending(s),
		.tools = s->config ? s->config->ntools : 0,
		.audit_failing = s->audit_error[0] != '\0',
		.draining = s->draining,
	};
	return metrics_render(s->metrics, &g, len);
}

static char *render_for_http(void *ctx, size_t *len)
{
	return server_metrics_text(ctx, len);
}

int server_metrics_start(struct server *s, struct tg_error *err)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	s->metrics_w = (struct watch){ WATCH_METRICS, -1, s };
	s->metrics = metrics_new(TOOLGATE_VERSION, (double)now.tv_sec + (double)(now.tv_nsec / 1000000) / 1e3);
	if (!s->metrics)
		return tg_err(err, "metrics: out of memory");
	if (!s->opt.metrics_listen)
		return 0;
	s->metrics_http = metrics_http_open(s->opt.metrics_listen, s->opt.metrics_allow_remote,
	                                    render_for_http, s, err);
	if (!s->metrics_http)
		return tg_err_prefix(err, "--metrics-listen");
	s->metrics_w.fd = metrics_http_fd(s->metrics_http);
	if (server_watch(s, &s->metrics_w, EPOLLIN) != 0)
		return tg_err_errno(err, "--metrics-listen: epoll_ctl");
	log_info("metrics", "serving metrics on http://%s/metrics", metrics_http_address(s->metrics_http));
	return 0;
}

void server_metrics_stop(struct server *s)
{
	if (s->metrics_http) {
		server_unwatch(s, &s->metrics_w);
		metrics_http_close(s->metrics_http);
	}
	s->metrics_http = NULL;
	s->metrics_w.fd = -1;
	metrics_free(s->metrics);
	s->metrics = NULL;
}

void server_metrics_note_audit(struct server *s, const json_t *fields)
{
	/* A record's tool is labelled only when the configuration has it: a
	   label value never comes from a request. */
	const char *tool = json_string_value(json_object_get(fields, "tool"));
	metrics_note_audit(s->metrics, fields, tool && s->config ? config_find_tool(s->config, tool) : NULL);
}

void server_metrics_reply(struct conn *c, const json_t *id)
{
	struct server *s = c->srv;
	if (!policy_is_admin(s->config->policy, c->uid, c->gid)) {
		const char *principal = policy_principal_for_peer(s->config->policy, c->uid, c->gid);
		char msg[300];
		snprintf(msg, sizeof msg, "toolgate/metrics is for admin principals only: uid %u %s%.64s%s "
		         "is not an admin (\"admin\": true in the policies)", (unsigned)c->uid,
		         principal ? "(principal " : "(no principal", principal ? principal : "", ")");
		conn_reply_error(c, id, JSONRPC_FORBIDDEN, msg);
		return;
	}
	size_t len;
	char *text = server_metrics_text(s, &len);
	json_t *t = text ? json_stringn(text, len) : NULL;
	free(text);
	if (!t) {
		conn_reply_error(c, id, JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
		return;
	}
	conn_reply_result(c, id, json_pack("{s:s, s:o}", "content_type", METRICS_CONTENT_TYPE, "text", t));
}
