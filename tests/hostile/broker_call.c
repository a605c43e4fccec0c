/* broker_call SOCKET TOOL: connect to the broker's socket, initialize, list
   the tools and call TOOL, as the sandbox's uid.  Escaped: the broker listed
   a tool or ran the call for it. */
#include "hostile.h"
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

static char reply[65536];
static size_t reply_len;

/* Read until a line with "id":N arrives, 2 s at most; returns that line.
   Every line looked at is dropped from the buffer, so a later call never
   sees it again. */
static char line_out[65536];

static const char *wait_id(int s, int id)
{
	char want[32];
	int wl = snprintf(want, sizeof want, "\"id\":%d", id);
	time_t end = time(NULL) + 2;
	for (;;) {
		char *nl;
		while ((nl = memchr(reply, '\n', reply_len))) {
			size_t len = (size_t)(nl - reply);
			memcpy(line_out, reply, len);
			line_out[len] = 0;
			reply_len -= len + 1;
			memmove(reply, nl + 1, reply_len);
			for (const char *m = line_out; (m = strstr(m, want)); m++)
				if (m[wl] < '0' || m[wl] > '9')
					return line_out;
		}
		struct pollfd p = { s, POLLIN, 0 };
		if (time(NULL) > end || poll(&p, 1, 500) <= 0)
			return NULL;
		ssize_t n = read(s, reply + reply_len, sizeof reply - 1 - reply_len);
		if (n <= 0)
			return NULL;
		reply_len += (size_t)n;
	}
}

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	if (argc < 3)
		return report(false, "usage: broker_call SOCKET TOOL");
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[1]);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
		note(&d, "connect %s: %s", argv[1], strerror(errno));
		return report(false, d.buf);
	}
	char req[1024];
	int n = snprintf(req, sizeof req,
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
		"\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"hostile\",\"version\":\"1\"}}}\n"
		"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}\n"
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
		"\"arguments\":{}}}\n", argv[2]);
	if (write(s, req, (size_t)n) != n) {
		note(&d, "write: %s", strerror(errno));
		return report(false, d.buf);
	}
	bool escaped = false;
	const char *l = wait_id(s, 2);
	if (!l) {
		note(&d, "no tools/list answer");
	} else {
		bool some = strstr(l, "\"tools\":[]") == NULL && strstr(l, "\"tools\": []") == NULL;
		note(&d, "tools/list: %s", some ? "listed tools" : "no tools");
		escaped |= some;
	}
	l = wait_id(s, 3);
	if (!l) {
		note(&d, "no tools/call answer");
	} else {
		bool ran = strstr(l, "\"isError\":false") || strstr(l, "\"isError\": false");
		/* The broker's own words: the decision's reason, else the error. */
		const char *why = strstr(l, "\"reason\":\"");
		why = why ? why + 10 : (why = strstr(l, "\"message\":\"")) ? why + 11 : l;
		int len = (int)strcspn(why, "\"");
		note(&d, "tools/call %s: %s: %.*s", argv[2], ran ? "ran" : "refused", len > 300 ? 300 : len, why);
		escaped |= ran;
	}
	return report(escaped, d.buf);
}
