/*
 * test_metrics_http.c: the HTTP side of the metrics (src/metrics_http.c):
 * the request parser against well-formed, malformed, oversize and
 * byte-by-byte requests, the routes and exact responses, and the listener
 * itself over real loopback sockets (GET, HEAD, 404, 405, a slow request
 * cut off with 408, the connection limit, the loopback-only rule).
 */
#include "metrics.h"
#include "metrics_http.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct http_request req;

static int parse(const char *text)
{
	return metrics_http_parse(text, strlen(text), &req);
}

/* ---- the parser ---- */

TEST(a_plain_get_parses_with_crlf_or_bare_lf)
{
	CHECK(parse("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9464\r\nAccept: */*\r\n\r\n") == 200);
	CHECK_STREQ(req.method, "GET");
	CHECK_STREQ(req.target, "/metrics");
	CHECK(req.minor == 1);
	CHECK(req.headers == 2);
	CHECK(parse("GET /metrics HTTP/1.0\n\n") == 200);
	CHECK(req.minor == 0);
	/* What follows the head (a body, a pipelined request) is not looked at. */
	CHECK(parse("HEAD /metrics?x=1 HTTP/1.1\nHost: a\n\nGARBAGE\x01") == 200);
	CHECK_STREQ(req.target, "/metrics?x=1");
	/* A later HTTP/1.x is answered as 1.1. */
	CHECK(parse("GET / HTTP/1.7\r\nHost: a\r\n\r\n") == 200);
}

TEST(an_incomplete_head_asks_for_more_at_every_byte_and_parses_at_the_last)
{
	const char *full = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Prometheus/2.53\r\n\r\n";
	size_t n = strlen(full);
	for (size_t i = 0; i < n; i++)
		if (metrics_http_parse(full, i, &req) != 0) {
			fprintf(stderr, "    parse of %zu bytes: not 0\n", i);
			CHECK(0);
			break;
		}
	CHECK(metrics_http_parse(full, n, &req) == 200);
}

TEST(malformed_requests_are_400)
{
	CHECK(parse("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03") == 400);   /* TLS hello, at once */
	CHECK(parse("GET /metrics\r\n\r\n") == 400);                 /* HTTP/0.9 style: no version */
	CHECK(parse("GET  /metrics HTTP/1.1\r\nHost: a\r\n\r\n") == 400);   /* two spaces */
	CHECK(parse("GET /metrics HTTP/1.1 \r\nHost: a\r\n\r\n") == 400);
	CHECK(parse("GET /metrics http/1.1\r\nHost: a\r\n\r\n") == 400);
	CHECK(parse("GET /met rics HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
	CHECK(parse("G(T /metrics HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
	CHECK(parse(" GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
	CHECK(parse("GET /metrics HTTP/1.1\r\nHost a\r\n\r\n") == 400);     /* no colon */
	CHECK(parse("GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n") == 400);   /* space before the colon */
	CHECK(parse("GET /metrics HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n") == 400);
	CHECK(parse("GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n") == 400);
	CHECK(parse("GET /metrics HTTP/1.1\r\nHost: a\rX: b\r\n\r\n") == 400);   /* bare CR */
	CHECK(parse("GET /metrics HTTP/1.1\r\nHost: a\x7f\r\n\r\n") == 400);
	CHECK(parse("GET /metrics HTTP/1.1\r\nHost: a\x00\r\n\r\n") == 0);   /* strlen stops at NUL */
	static const char nul[] = "GET /metrics HTTP/1.1\r\nHost: a\0\r\n\r\n";
	CHECK(metrics_http_parse(nul, sizeof nul - 1, &req) == 400);
}

TEST(http_1_1_needs_exactly_one_host)
{
	CHECK(parse("GET /metrics HTTP/1.1\r\n\r\n") == 400);
	CHECK(parse("GET /metrics HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n") == 400);
	CHECK(parse("GET /metrics HTTP/1.1\r\nhOsT: a\r\n\r\n") == 200);
	CHECK(parse("GET /metrics HTTP/1.0\r\n\r\n") == 200);
}

TEST(other_versions_long_methods_and_oversize_heads_get_their_own_status)
{
	CHECK(parse("GET /metrics HTTP/2.0\r\n\r\n") == 505);
	CHECK(parse("GET /metrics HTTP/0.9\r\n\r\n") == 505);
	CHECK(parse("ABCDEFGHIJKLMNOPQ /metrics HTTP/1.1\r\nHost: a\r\n\r\n") == 501);
	CHECK(parse("ABCDEFGHIJKLMNO /metrics HTTP/1.1\r\nHost: a\r\n\r\n") == 200);   /* 15: fine */

	char big[METRICS_HTTP_MAX_HEAD + 200];
	/* A target of 1025 bytes in a complete request line: 414. */
	int n = snprintf(big, sizeof big, "GET /");
	memset(big + n, 'a', METRICS_HTTP_MAX_TARGET);
	n += METRICS_HTTP_MAX_TARGET;
	n += snprintf(big + n, sizeof big - (size_t)n, " HTTP/1.1\r\nHost: a\r\n\r\n");
	CHECK(metrics_http_parse(big, (size_t)n, &req) == 414);
	/* A request line that never ends within the head's limit: 414 too. */
	memset(big, 'a', sizeof big);
	memcpy(big, "GET /", 5);
	CHECK(metrics_http_parse(big, METRICS_HTTP_MAX_HEAD - 1, &req) == 0);
	CHECK(metrics_http_parse(big, METRICS_HTTP_MAX_HEAD, &req) == 414);
	/* Headers that never end: 431 once the limit is reached, not before. */
	n = snprintf(big, sizeof big, "GET /metrics HTTP/1.1\r\nHost: a\r\nX-Pad: ");
	memset(big + n, 'p', sizeof big - (size_t)n);
	CHECK(metrics_http_parse(big, METRICS_HTTP_MAX_HEAD - 1, &req) == 0);
	CHECK(metrics_http_parse(big, METRICS_HTTP_MAX_HEAD, &req) == 431);
	CHECK(metrics_http_parse(big, sizeof big, &req) == 431);
	/* 64 headers are fine, 65 are not. */
	char many[4096];
	n = snprintf(many, sizeof many, "GET /metrics HTTP/1.1\r\nHost: a\r\n");
	for (int i = 1; i < METRICS_HTTP_MAX_HEADERS; i++)
		n += snprintf(many + n, sizeof many - (size_t)n, "X-%d: v\r\n", i);
	snprintf(many + n, sizeof many - (size_t)n, "\r\n");
	CHECK(parse(many) == 200);
	CHECK(req.headers == METRICS_HTTP_MAX_HEADERS);
	snprintf(many + n, sizeof many - (size_t)n, "X-last: v\r\n\r\n");
	CHECK(parse(many) == 431);
}

TEST(only_get_and_head_of_slash_metrics_are_served)
{
	parse("GET /metrics HTTP/1.0\r\n\r\n");
	CHECK(metrics_http_route(&req) == 200);
	parse("HEAD /metrics?name[]=up HTTP/1.0\r\n\r\n");
	CHECK(metrics_http_route(&req) == 200);
	parse("POST /metrics HTTP/1.0\r\n\r\n");
	CHECK(metrics_http_route(&req) == 405);
	parse("get /metrics HTTP/1.0\r\n\r\n");        /* methods are case-sensitive */
	CHECK(metrics_http_route(&req) == 405);
	parse("GET /metricsX HTTP/1.0\r\n\r\n");
	CHECK(metrics_http_route(&req) == 404);
	parse("GET /metrics/ HTTP/1.0\r\n\r\n");
	CHECK(metrics_http_route(&req) == 404);
	parse("GET / HTTP/1.0\r\n\r\n");
	CHECK(metrics_http_route(&req) == 404);
	parse("DELETE /audit HTTP/1.0\r\n\r\n");
	CHECK(metrics_http_route(&req) == 404);
	parse("GET http://127.0.0.1/metrics HTTP/1.0\r\n\r\n");
	CHECK(metrics_http_route(&req) == 404);
}

TEST(responses_are_exact)
{
	size_t len;
	char *r = metrics_http_response(200, "up 1\n", 5, false, &len);
	CHECK_STREQ(r, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	               "Content-Length: 5\r\nConnection: close\r\n\r\nup 1\n");
	CHECK(len == strlen(r));
	free(r);
	r = metrics_http_response(200, "up 1\n", 5, true, &len);
	CHECK_STREQ(r, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	               "Content-Length: 5\r\nConnection: close\r\n\r\n");
	free(r);
	r = metrics_http_response(405, NULL, 0, false, &len);
	CHECK_STREQ(r, "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n"
	               "Content-Length: 59\r\nAllow: GET, HEAD\r\nConnection: close\r\n\r\n"
	               "405 Method Not Allowed: /metrics answers GET and HEAD only\n");
	free(r);
	r = metrics_http_response(404, NULL, 0, false, &len);
	CHECK_CONTAINS(r, "\r\n\r\n404 Not Found: this endpoint serves only /metrics\n");
	free(r);
	r = metrics_http_response(431, NULL, 0, false, &len);
	CHECK_CONTAINS(r, "HTTP/1.1 431 Request Header Fields Too Large\r\n");
	free(r);
}

/* ---- the listener, over loopback ---- */

static int renders;

static char *render_fixed(void *ctx, size_t *len)
{
	(void)ctx;
	renders++;
	char *s = strdup("# TYPE up gauge\nup 1\n");
	*len = strlen(s);
	return s;
}

static uint64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Serve for up to ms (the broker's loop, in small). */
static void serve(struct metrics_http *h, int ms)
{
	uint64_t end = ms_now() + (uint64_t)ms;
	while (ms_now() < end) {
		struct pollfd p = { .fd = metrics_http_fd(h), .events = POLLIN };
		if (poll(&p, 1, 10) > 0)
			metrics_http_run(h);
	}
}

static int dial(const struct metrics_http *h)
{
	const char *a = metrics_http_address(h);
	int port = atoi(strrchr(a, ':') + 1);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("connect");
		abort();
	}
	return fd;
}

/* Everything the server sends until it closes, serving meanwhile. */
static char *read_all(struct metrics_http *h, int fd, int ms)
{
	static char buf[65536];
	size_t n = 0;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	uint64_t end = ms_now() + (uint64_t)ms;
	while (ms_now() < end) {
		serve(h, 5);
		ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
		if (r > 0)
			n += (size_t)r;
		else if (r == 0)
			break;
	}
	buf[n] = '\0';
	return buf;
}

static char *exchange(struct metrics_http *h, const char *request)
{
	int fd = dial(h);
	if (write(fd, request, strlen(request)) != (ssize_t)strlen(request))
		abort();
	char *r = read_all(h, fd, 2000);
	close(fd);
	return r;
}

TEST(the_listener_answers_get_head_404_and_405_and_closes)
{
	struct tg_error err;
	struct metrics_http *h = metrics_http_open("127.0.0.1:0", false, render_fixed, NULL, &err);
	CHECK(h != NULL);
	if (!h)
		return;
	CHECK(strncmp(metrics_http_address(h), "127.0.0.1:", 10) == 0);
	renders = 0;
	CHECK_STREQ(exchange(h, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		"Content-Length: 21\r\nConnection: close\r\n\r\n# TYPE up gauge\nup 1\n");
	CHECK_STREQ(exchange(h, "HEAD /metrics HTTP/1.0\r\n\r\n"),
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		"Content-Length: 21\r\nConnection: close\r\n\r\n");
	CHECK(renders == 2);
	CHECK_CONTAINS(exchange(h, "GET /debug HTTP/1.0\r\n\r\n"), "HTTP/1.1 404 Not Found\r\n");
	CHECK_CONTAINS(exchange(h, "PUT /metrics HTTP/1.0\r\n\r\n"), "HTTP/1.1 405 Method Not Allowed\r\n");
	CHECK_CONTAINS(exchange(h, "GET /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 400 Bad Request\r\n");
	CHECK(renders == 2);   /* nothing is rendered for a refusal */
	metrics_http_close(h);
}

TEST(a_request_sent_byte_by_byte_is_answered_when_whole)
{
	struct tg_error err;
	struct metrics_http *h = metrics_http_open("localhost:0", false, render_fixed, NULL, &err);
	CHECK(h != NULL);
	if (!h)
		return;
	int fd = dial(h);
	const char *rq = "GET /metrics HTTP/1.0\r\n\r\n";
	for (const char *p = rq; *p; p++) {
		if (write(fd, p, 1) != 1)
			abort();
		serve(h, 2);
	}
	CHECK_CONTAINS(read_all(h, fd, 2000), "\r\n\r\n# TYPE up gauge\nup 1\n");
	close(fd);
	metrics_http_close(h);
}

TEST(a_request_that_does_not_arrive_in_time_gets_408_and_is_closed)
{
	struct tg_error err;
	struct metrics_http *h = metrics_http_open("127.0.0.1:0", false, render_fixed, NULL, &err);
	CHECK(h != NULL);
	if (!h)
		return;
	metrics_http_set_timeouts(h, 300, 300);
	int fd = dial(h);
	if (write(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n", 32) != 32)   /* never the blank line */
		abort();
	uint64_t t0 = ms_now();
	char *r = read_all(h, fd, 3000);
	uint64_t took = ms_now() - t0;
	CHECK_CONTAINS(r, "HTTP/1.1 408 Request Timeout\r\n");
	CHECK(took >= 250 && took < 2000);
	close(fd);
	/* A silent connection is cut off too, and the listener still serves. */
	fd = dial(h);
	CHECK_CONTAINS(read_all(h, fd, 3000), "HTTP/1.1 408 Request Timeout\r\n");
	close(fd);
	CHECK_CONTAINS(exchange(h, "GET /metrics HTTP/1.0\r\n\r\n"), "HTTP/1.1 200 OK\r\n");
	metrics_http_close(h);
}

TEST(connections_beyond_the_limit_get_503_at_once)
{
	struct tg_error err;
	struct metrics_http *h = metrics_http_open("127.0.0.1:0", false, render_fixed, NULL, &err);
	CHECK(h != NULL);
	if (!h)
		return;
	int fds[METRICS_HTTP_MAX_CONNS];
	for (int i = 0; i < METRICS_HTTP_MAX_CONNS; i++) {
		fds[i] = dial(h);
		serve(h, 5);
	}
	CHECK_CONTAINS(exchange(h, "GET /metrics HTTP/1.0\r\n\r\n"),
	               "HTTP/1.1 503 Service Unavailable\r\n");
	/* Once one of them goes, there is room again. */
	close(fds[0]);
	serve(h, 50);
	CHECK_CONTAINS(exchange(h, "GET /metrics HTTP/1.0\r\n\r\n"), "HTTP/1.1 200 OK\r\n");
	for (int i = 1; i < METRICS_HTTP_MAX_CONNS; i++)
		close(fds[i]);
	metrics_http_close(h);
}

TEST(an_oversize_head_gets_431_even_while_the_client_keeps_sending)
{
	struct tg_error err;
	struct metrics_http *h = metrics_http_open("127.0.0.1:0", false, render_fixed, NULL, &err);
	CHECK(h != NULL);
	if (!h)
		return;
	int fd = dial(h);
	char pad[METRICS_HTTP_MAX_HEAD + 100];
	int n = snprintf(pad, sizeof pad, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ");
	memset(pad + n, 'p', sizeof pad - (size_t)n);
	if (write(fd, pad, sizeof pad) != (ssize_t)sizeof pad)
		abort();
	CHECK_CONTAINS(read_all(h, fd, 2000), "HTTP/1.1 431 Request Header Fields Too Large\r\n");
	close(fd);
	metrics_http_close(h);
}

TEST(addresses_are_checked_and_only_loopback_is_allowed_by_default)
{
	struct tg_error err;
	CHECK(!metrics_http_open("0.0.0.0:9464", false, render_fixed, NULL, &err));
	CHECK_STREQ(err.msg, "0.0.0.0:9464: not a loopback address; the endpoint has no authentication, "
	                     "so listening beyond this host needs --metrics-allow-remote");
	CHECK(!metrics_http_open("[::]:9464", false, render_fixed, NULL, &err));
	CHECK_CONTAINS(err.msg, "[::]:9464: not a loopback address");
	CHECK(!metrics_http_open("9464", false, render_fixed, NULL, &err));
	CHECK_STREQ(err.msg, "9464: not ADDRESS:PORT (for example 127.0.0.1:9464)");
	CHECK(!metrics_http_open("::1:9464", false, render_fixed, NULL, &err));
	CHECK_STREQ(err.msg, "::1:9464: not ADDRESS:PORT (for example 127.0.0.1:9464)");
	CHECK(!metrics_http_open("127.0.0.1:65536", false, render_fixed, NULL, &err));
	CHECK_STREQ(err.msg, "127.0.0.1:65536: the port must be a number from 0 to 65535");
	CHECK(!metrics_http_open("127.0.0.1:", false, render_fixed, NULL, &err));
	CHECK_STREQ(err.msg, "127.0.0.1:: the port must be a number from 0 to 65535");
	CHECK(!metrics_http_open("metrics.example:9464", false, render_fixed, NULL, &err));
	CHECK_STREQ(err.msg, "metrics.example:9464: \"metrics.example\" is not an IP address (or localhost)");
	struct metrics_http *h = metrics_http_open("127.0.0.2:0", false, render_fixed, NULL, &err);
	CHECK(h != NULL);   /* all of 127/8 is loopback */
	metrics_http_close(h);
	h = metrics_http_open("0.0.0.0:0", true, render_fixed, NULL, &err);
	CHECK(h != NULL);
	CHECK(h && strncmp(metrics_http_address(h), "0.0.0.0:", 8) == 0);
	metrics_http_close(h);
	int s6 = socket(AF_INET6, SOCK_STREAM, 0);
	if (s6 >= 0) {
		close(s6);
		h = metrics_http_open("[::1]:0", false, render_fixed, NULL, &err);
		if (h)
			CHECK(strncmp(metrics_http_address(h), "[::1]:", 6) == 0);
		metrics_http_close(h);
	}
}

int main(void)
{
	RUN(a_plain_get_parses_with_crlf_or_bare_lf);
	RUN(an_incomplete_head_asks_for_more_at_every_byte_and_parses_at_the_last);
	RUN(malformed_requests_are_400);
	RUN(http_1_1_needs_exactly_one_host);
	RUN(other_versions_long_methods_and_oversize_heads_get_their_own_status);
	RUN(only_get_and_head_of_slash_metrics_are_served);
	RUN(responses_are_exact);
	RUN(the_listener_answers_get_head_404_and_405_and_closes);
	RUN(a_request_sent_byte_by_byte_is_answered_when_whole);
	RUN(a_request_that_does_not_arrive_in_time_gets_408_and_is_closed);
	RUN(connections_beyond_the_limit_get_503_at_once);
	RUN(an_oversize_head_gets_431_even_while_the_client_keeps_sending);
	RUN(addresses_are_checked_and_only_loopback_is_allowed_by_default);
	return TEST_SUMMARY();
}
