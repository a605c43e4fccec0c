/*
 * metrics_http.h: the broker's HTTP endpoint for Prometheus scrapers
 * (toolgated --metrics-listen ADDR:PORT): GET /metrics, nothing else.
 *
 * It serves from the broker's own event loop without ever blocking it: the
 * listener, its connections and a timer live in an epoll set of their own,
 * whose one fd (metrics_http_fd) the broker watches; metrics_http_run() does
 * whatever is ready.  What strangers send is parsed once, here, with
 * limits: METRICS_HTTP_MAX_HEAD bytes and METRICS_HTTP_MAX_HEADERS header
 * lines, METRICS_HTTP_MAX_CONNS connections, METRICS_HTTP_REQUEST_MS to
 * send a whole request and METRICS_HTTP_RESPONSE_MS to take the answer.
 * One request per connection (Connection: close).  Unauthenticated, like
 * node_exporter: so it listens on loopback only unless told otherwise.
 */
#ifndef TOOLGATE_METRICS_HTTP_H
#define TOOLGATE_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

#define METRICS_HTTP_MAX_HEAD 8192      /* request line and headers, bytes */
#define METRICS_HTTP_MAX_HEADERS 64
#define METRICS_HTTP_MAX_TARGET 1024
#define METRICS_HTTP_MAX_CONNS 16
#define METRICS_HTTP_REQUEST_MS 5000
#define METRICS_HTTP_RESPONSE_MS 10000

/* ---- the request parser (pure; tested on its own) ---- */

struct http_request {
	char method[16];
	char target[METRICS_HTTP_MAX_TARGET + 1];
	int minor;                 /* HTTP/1.minor (a later 1.x is answered as 1.1) */
	unsigned headers;          /* header lines seen */
};

/*
 * Parse the request head at the start of buf (len bytes; a body after it is
 * ignored).  Returns 0 while the head is incomplete and within limits;
 * otherwise the HTTP status it calls for: 200 (req is filled), 400 (not
 * HTTP/1.x syntax: a bad request line, a header without a colon or with
 * space before it, obsolete line folding, a control character, a bare CR),
 * 414 (target longer than METRICS_HTTP_MAX_TARGET), 431 (head larger than
 * METRICS_HTTP_MAX_HEAD or more than METRICS_HTTP_MAX_HEADERS headers), 501
 * (a method name longer than any we know), 505 (not HTTP/1.x: 0.9, 2.0...).
 * HTTP/1.1 and later need exactly one Host header (RFC 9112 3.2).
 * Lines may end in CRLF or a bare LF (RFC 9112 2.2).
 */
int metrics_http_parse(const char *buf, size_t len, struct http_request *req);

/* What a parsed request gets: 200 for GET or HEAD of /metrics (a query
   string is ignored), 405 for another method there, 404 elsewhere. */
int metrics_http_route(const struct http_request *req);

/*
 * A whole response: status line, Content-Type, Content-Length, Connection:
 * close (and Allow for 405), the blank line, and the body unless head_only.
 * A 200 carries body (the exposition); others carry a one-line reason.
 * Returns malloc'd bytes (*len), or NULL (out of memory).
 */
char *metrics_http_response(int status, const char *body, size_t body_len, bool head_only,
                            size_t *len);

/* ---- the listener ---- */

struct metrics_http;

/* The exposition text, malloc'd, at the moment a request asks for it. */
typedef char *(*metrics_http_render_fn)(void *ctx, size_t *len);

/*
 * Listen on addr ("127.0.0.1:9464", "[::1]:9464", "localhost:9464"; port 0
 * picks one).  A non-loopback address is refused unless allow_remote.
 * Errors name the flag's value and what is wrong.
 */
struct metrics_http *metrics_http_open(const char *addr, bool allow_remote,
                                       metrics_http_render_fn render, void *ctx,
                                       struct tg_error *err);
/* What metrics_http_open checks before it binds: the flag's value alone,
 * so that toolgated refuses a malformed one as a usage error. */
int metrics_http_check_address(const char *addr, bool allow_remote, struct tg_error *err);
/* Other deadlines than METRICS_HTTP_REQUEST_MS and _RESPONSE_MS (tests). */
void metrics_http_set_timeouts(struct metrics_http *h, unsigned request_ms, unsigned response_ms);
/* The fd to watch for EPOLLIN. */
int metrics_http_fd(const struct metrics_http *h);
/* The address it is bound to, e.g. "127.0.0.1:9464". */
const char *metrics_http_address(const struct metrics_http *h);
/* Accept, read, answer, time out: whatever is ready; never blocks. */
void metrics_http_run(struct metrics_http *h);
void metrics_http_close(struct metrics_http *h);

#endif
