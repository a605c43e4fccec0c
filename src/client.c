/*
 * client.c: blocking MCP client for the CLI (see client.h).
 */
#include "client.h"
#include "jsonrpc.h"
#include "mcp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_MAX_LINE (64u * 1024 * 1024)

static int send_all(int fd, const char *p, size_t n, struct tg_error *err)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return tg_err_errno(err, "sending to the broker");
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Next complete line into *line (owned by c->buf until the next call);
   0 ok, -1 error, -2 timeout. */
static int read_line(struct client *c, long deadline, char **line, size_t *llen, struct tg_error *err)
{
	if (c->consumed) {
		memmove(c->buf, c->buf + c->consumed, c->len - c->consumed);
		c->len -= c->consumed;
		c->consumed = 0;
	}
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		if (nl) {
			*line = c->buf;
			*llen = (size_t)(nl - c->buf);
			c->consumed = *llen + 1;
			return 0;
		}
		if (c->len >= CLIENT_MAX_LINE)
			return tg_err(err, "the broker sent a line longer than %u bytes", CLIENT_MAX_LINE);
		if (c->cap - c->len < 65536) {
			size_t cap = c->cap ? c->cap * 2 : 65536;
			char *n = realloc(c->buf, cap);
			if (!n)
				return tg_err(err, "out of memory");
			c->buf = n;
			c->cap = cap;
		}
		if (deadline >= 0) {
			long left = deadline - now_ms();
			if (left <= 0)
				return -2;
			struct pollfd p = { .fd = c->fd, .events = POLLIN };
			int r = poll(&p, 1, (int)(left > 1000000 ? 1000000 : left));
			if (r == 0)
				continue;
			if (r < 0 && errno != EINTR)
				return tg_err_errno(err, "poll");
		}
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n == 0)
			return tg_err(err, "the broker closed the connection");
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return tg_err_errno(err, "reading from the broker");
		}
		c->len += (size_t)n;
	}
}

int client_request(struct client *c, const char *method, json_t *params, long timeout_ms,
                   json_t **result, int *rpc_code, struct tg_error *err)
{
	long id = ++c->next_id;
	json_t *req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id,
	                        "method", method, "params", params ? params : json_object());
	char *s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!s)
		return tg_err(err, "out of memory");
	size_t n = strlen(s);
	s[n] = '\n';
	int rc = send_all(c->fd, s, n + 1, err);
	free(s);
	if (rc)
		return -1;
	long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
	*result = NULL;
	*rpc_code = 0;
	for (;;) {
		char *line = NULL;
		size_t len = 0;
		rc = read_line(c, deadline, &line, &len, err);
		if (rc == -2) {
			char note[160];
			int k = snprintf(note, sizeof note, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
			                 "\"params\":{\"requestId\":%ld,\"reason\":\"client timeout\"}}\n", id);
			send_all(c->fd, note, (size_t)k, NULL);
			return -2;
		}
		if (rc)
			return -1;
		json_error_t jerr;
		json_t *msg = json_loadb(line, len, 0, &jerr);
		if (!msg)
			return tg_err(err, "the broker sent malformed JSON: %s", jerr.text);
		json_t *jid = json_object_get(msg, "id");
		if (!json_is_integer(jid) || json_integer_value(jid) != id) {
			/* A notification, or a reply to something else (an error with a
			   null id answers a request the broker could not read). */
			if (json_is_null(jid) && json_object_get(msg, "error")) {
				json_t *e = json_object_get(msg, "error");
				*rpc_code = (int)json_integer_value(json_object_get(e, "code"));
				tg_err(err, "%d: %s", *rpc_code, json_string_value(json_object_get(e, "message")));
				json_decref(msg);
				return -1;
			}
			json_decref(msg);
			continue;
		}
		json_t *e = json_object_get(msg, "error");
		if (e) {
			*rpc_code = (int)json_integer_value(json_object_get(e, "code"));
			const char *m = json_string_value(json_object_get(e, "message"));
			tg_err(err, "%s", m ? m : "(no message)");
			json_decref(msg);
			return -1;
		}
		*result = json_incref(json_object_get(msg, "result"));
		json_decref(msg);
		if (!*result)
			return tg_err(err, "the broker's reply has neither result nor error");
		return 0;
	}
}

int client_open(struct client *c, const char *socket_path, json_t *init_meta, struct tg_error *err)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;  /* so that client_close after a failure closes nothing */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(socket_path) >= sizeof sa.sun_path) {
		json_decref(init_meta);
		return tg_err(err, "%s: socket path too long", socket_path);
	}
	strcpy(sa.sun_path, socket_path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		json_decref(init_meta);
		return tg_err_errno(err, "cannot connect to the broker at %s", socket_path);
	}
	json_t *params = json_pack("{s:s, s:{}, s:{s:s, s:s}}", "protocolVersion", MCP_LATEST_VERSION,
	                           "capabilities", "clientInfo", "name", "toolgate-cli", "version", "1");
	if (init_meta)
		json_object_set_new(params, "_meta", init_meta);
	json_t *result;
	int code;
	if (client_request(c, "initialize", params, 30000, &result, &code, err) != 0)
		return tg_err_prefix(err, "initialize");
	json_decref(result);
	const char *note = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
	return send_all(c->fd, note, strlen(note), err);
}

void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
}
