/*
 * metrics_http.c: GET /metrics over HTTP/1.x for Prometheus scrapers (see
 * metrics_http.h): the request parser, the responses, and a small
 * non-blocking server in an epoll set of its own that the broker's loop
 * watches as one fd.
 *
 * Each connection goes READING (the head, within METRICS_HTTP_REQUEST_MS)
 * -> WRITING (one response, within METRICS_HTTP_RESPONSE_MS) -> DRAINING
 * (our side shut down; what the client still sends is read and dropped for
 * a moment, so that closing does not reset the connection under a response
 * it has not read yet) -> closed.  A connection past its deadline is closed
 * (a slow request gets a 408 first, if the socket takes it at once).
 */
#include "metrics_http.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define DRAIN_MS 1000
/* accept() failed for want of descriptors or memory: the connection stays
   queued and the socket readable, so it rests this long (not a busy loop). */
#define ACCEPT_PAUSE_MS 100

/* ---- the request parser ---- */

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* May these bytes appear in a request head at all?  No control codes but
   tab and CR (a bare CR is caught where lines are cut). */
static bool head_bytes_ok(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!(c == '\t' || c == '\r' || (c >= 0x20 && c != 0x7f)))
			return false;
	}
	return true;
}

static int parse_request_line(const char *l, size_t n, struct http_request *req)
{
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i == n || l[i] != ' ')
		return 400;
	if (i >= sizeof req->method)
		return 501;
	memcpy(req->method, l, i);
	req->method[i] = '\0';
	size_t t0 = ++i;
	while (i < n && (unsigned char)l[i] > 0x20 && (unsigned char)l[i] < 0x7f)
		i++;
	if (i == t0 || i == n || l[i] != ' ')
		return 400;
	if (i - t0 > METRICS_HTTP_MAX_TARGET)
		return 414;
	memcpy(req->target, l + t0, i - t0);
	req->target[i - t0] = '\0';
	const char *v = l + i + 1;
	size_t vn = n - i - 1;
	if (vn != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1')
		return 505;
	/* A later 1.x is answered as 1.1 (RFC 9110 6.2: minor versions are
	   compatible). */
	req->minor = v[7] - '0';
	return 200;
}

/* One header line: name ":" OWS value OWS, nothing odd. */
static int parse_header(const char *l, size_t n, unsigned *hosts)
{
	if (l[0] == ' ' || l[0] == '\t')
		return 400;     /* obsolete line folding */
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i == n || l[i] != ':')
		return 400;     /* no name, no colon, or space before the colon */
	if (i == 4 && strncasecmp(l, "host", 4) == 0)
		(*hosts)++;
	return 200;
}

int metrics_http_parse(const char *buf, size_t len, struct http_request *req)
{
	memset(req, 0, sizeof *req);
	size_t lim = len < METRICS_HTTP_MAX_HEAD ? len : METRICS_HTTP_MAX_HEAD;
	size_t pos = 0;
	bool first = true;
	unsigned hosts = 0;
	for (;;) {
		const char *nl = memchr(buf + pos, '\n', lim - pos);
		if (!nl) {
			/* Binary (a TLS hello, say) is refused without waiting. */
			if (!head_bytes_ok(buf + pos, lim - pos))
				return 400;
			if (len < METRICS_HTTP_MAX_HEAD)
				return 0;
			/* Out of room: a request line this long is a long target. */
			return first ? 414 : 431;
		}
		size_t n = (size_t)(nl - (buf + pos));
		const char *l = buf + pos;
		if (!head_bytes_ok(l, n))
			return 400;
		if (n && l[n - 1] == '\r')
			n--;
		if (memchr(l, '\r', n))
			return 400;     /* a bare CR */
		pos = (size_t)(nl - buf) + 1;
		if (first) {
			int st = parse_request_line(l, n, req);
			if (st != 200)
				return st;
			first = false;
			continue;
		}
		if (n == 0)
			break;          /* the end of the head */
		if (++req->headers > METRICS_HTTP_MAX_HEADERS)
			return 431;
		int st = parse_header(l, n, &hosts);
		if (st != 200)
			return st;
	}
	/* RFC 9112 3.2: an HTTP/1.1 request has exactly one Host. */
	if ((req->minor >= 1 && hosts == 0) || hosts > 1)
		return 400;
	return 200;
}

int metrics_http_route(const struct http_request *req)
{
	const char *t = req->target;
	if (strncmp(t, "/metrics", 8) != 0 || (t[8] != '\0' && t[8] != '?'))
		return 404;
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
		return 405;
	return 200;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Internal Server Error";
	}
}

/* The one-line body of an error response: what went wrong, for a human
   reading curl's output. */
static const char *error_text(int status)
{
	switch (status) {
	case 400: return "the request is not valid HTTP/1.x";
	case 404: return "this endpoint serves only /metrics";
	case 405: return "/metrics answers GET and HEAD only";
	case 408: return "the request did not arrive in time";
	case 414: return "the request target is too long";
	case 431: return "the request head is too large";
	case 501: return "unknown method";
	case 503: return "too many connections; try again";
	case 505: return "only HTTP/1.0 and HTTP/1.1 are spoken here";
	default: return "the metrics could not be rendered";
	}
}

char *metrics_http_response(int status, const char *body, size_t body_len, bool head_only,
                            size_t *len)
{
	char text[128];
	if (status != 200) {
		snprintf(text, sizeof text, "%d %s: %s\n", status, reason_phrase(status), error_text(status));
		body = text;
		body_len = strlen(text);
	}
	char head[512];
	int hn = snprintf(head, sizeof head,
		"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
		status, reason_phrase(status),
		status == 200 ? METRICS_CONTENT_TYPE : "text/plain; charset=utf-8", body_len,
		status == 405 ? "Allow: GET, HEAD\r\n" : "");
	size_t total = (size_t)hn + (head_only ? 0 : body_len);
	char *out = malloc(total + 1);
	if (!out)
		return NULL;
	memcpy(out, head, (size_t)hn);
	if (!head_only)
		memcpy(out + hn, body, body_len);
	out[total] = '\0';
	*len = total;
	return out;
}

/* ---- the server ---- */

enum hkind { H_LISTEN, H_TIMER, H_CONN };
enum hstate { READING, WRITING, DRAINING };

struct hconn {
	enum hkind kind;            /* first: the epoll data points at it */
	int fd;
	enum hstate state;
	char in[METRICS_HTTP_MAX_HEAD];
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	uint64_t deadline_ms;
	struct hconn *next, *prev;
};

struct metrics_http {
	int epfd;
	enum hkind listen_tag, timer_tag;
	int listen_fd, timer_fd;
	struct hconn *conns;
	unsigned nconns;
	unsigned request_ms, response_ms;
	metrics_http_render_fn render;
	void *ctx;
	char address[80];
	uint64_t accept_resume_ms;   /* 0: listening; else resting until then */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* host:port, [v6]:port or localhost:port into a socket address. */
static int parse_address(const char *addr, struct sockaddr_storage *ss, socklen_t *sl,
                         struct tg_error *err)
{
	char host[64];
	const char *port;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':' || (size_t)(close - addr - 1) >= sizeof host)
			return tg_err(err, "%s: not ADDRESS:PORT (an IPv6 address goes in brackets: [::1]:9464)", addr);
		memcpy(host, addr + 1, (size_t)(close - addr - 1));
		host[close - addr - 1] = '\0';
		port = close + 2;
	} else {
		const char *colon = strrchr(addr, ':');
		if (!colon || (size_t)(colon - addr) >= sizeof host || strchr(addr, ':') != colon)
			return tg_err(err, "%s: not ADDRESS:PORT (for example 127.0.0.1:9464)", addr);
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
		port = colon + 1;
	}
	char *end;
	errno = 0;
	unsigned long p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p > 65535 || port[0] == '-' || port[0] == '+')
		return tg_err(err, "%s: the port must be a number from 0 to 65535", addr);
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		*sl = sizeof *v4;
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		*sl = sizeof *v6;
	} else {
		return tg_err(err, "%s: \"%s\" is not an IP address (or localhost)", addr, host);
	}
	return 0;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

static void describe_bound(struct metrics_http *h)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (getsockname(h->listen_fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
			port = ntohs(v4->sin_port);
		} else {
			struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
			port = ntohs(v6->sin6_port);
		}
	}
	snprintf(h->address, sizeof h->address, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
}

/* The address addr names, if the listener may bind it. */
static int check_address(const char *addr, bool allow_remote, struct sockaddr_storage *ss,
                         socklen_t *sl, struct tg_error *err)
{
	if (parse_address(addr, ss, sl, err) != 0)
		return -1;
	if (!allow_remote && !is_loopback(ss))
		return tg_err(err, "%s: not a loopback address; the endpoint has no authentication, so "
		              "listening beyond this host needs --metrics-allow-remote", addr);
	return 0;
}

int metrics_http_check_address(const char *addr, bool allow_remote, struct tg_error *err)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	return check_address(addr, allow_remote, &ss, &sl, err);
}

struct metrics_http *metrics_http_open(const char *addr, bool allow_remote,
                                       metrics_http_render_fn render, void *ctx,
                                       struct tg_error *err)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	if (check_address(addr, allow_remote, &ss, &sl, err) != 0)
		return NULL;
	struct metrics_http *h = calloc(1, sizeof *h);
	if (!h) {
		tg_err(err, "out of memory");
		return NULL;
	}
	h->epfd = h->listen_fd = h->timer_fd = -1;
	h->listen_tag = H_LISTEN;
	h->timer_tag = H_TIMER;
	h->render = render;
	h->ctx = ctx;
	h->request_ms = METRICS_HTTP_REQUEST_MS;
	h->response_ms = METRICS_HTTP_RESPONSE_MS;
	int one = 1;
	h->listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->listen_fd < 0) {
		tg_err_errno(err, "%s: socket", addr);
		goto fail;
	}
	setsockopt(h->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ss.ss_family == AF_INET6)
		setsockopt(h->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(h->listen_fd, (struct sockaddr *)&ss, sl) != 0) {
		tg_err_errno(err, "%s: bind", addr);
		goto fail;
	}
	if (listen(h->listen_fd, 16) != 0) {
		tg_err_errno(err, "%s: listen", addr);
		goto fail;
	}
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct epoll_event le = { .events = EPOLLIN, .data.ptr = &h->listen_tag };
	struct epoll_event te = { .events = EPOLLIN, .data.ptr = &h->timer_tag };
	if (h->epfd < 0 || h->timer_fd < 0 || epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->listen_fd, &le) != 0 ||
	    epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->timer_fd, &te) != 0) {
		tg_err_errno(err, "%s: epoll", addr);
		goto fail;
	}
	describe_bound(h);
	return h;
fail:
	metrics_http_close(h);
	return NULL;
}

void metrics_http_set_timeouts(struct metrics_http *h, unsigned request_ms, unsigned response_ms)
{
	h->request_ms = request_ms;
	h->response_ms = response_ms;
}

int metrics_http_fd(const struct metrics_http *h)
{
	return h->epfd;
}

const char *metrics_http_address(const struct metrics_http *h)
{
	return h->address;
}

static void conn_close(struct metrics_http *h, struct hconn *c)
{
	epoll_ctl(h->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	h->nconns--;
	free(c->out);
	free(c);
}

static void conn_events(struct metrics_http *h, struct hconn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };
	epoll_ctl(h->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* A response nobody waits for: one try; a client that cannot take a few
   hundred bytes at once does not get them. */
static void send_best_effort(int fd, int status)
{
	size_t len;
	char *r = metrics_http_response(status, NULL, 0, false, &len);
	if (r) {
		ssize_t n = send(fd, r, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)n;
	}
	free(r);
}

static void conn_write(struct metrics_http *h, struct hconn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_close(h, c);
		return;
	}
	/* All sent: our side is done; drop what the client still sends. */
	shutdown(c->fd, SHUT_WR);
	c->state = DRAINING;
	c->deadline_ms = now_ms() + DRAIN_MS;
	conn_events(h, c, EPOLLIN | EPOLLRDHUP);
}

static void conn_respond(struct metrics_http *h, struct hconn *c, int status, bool head_only)
{
	char *body = NULL;
	size_t blen = 0;
	if (status == 200 && !(body = h->render(h->ctx, &blen)))
		status = 500;
	c->out = metrics_http_response(status, body, blen, head_only, &c->out_len);
	free(body);
	if (!c->out) {
		conn_close(h, c);
		return;
	}
	c->state = WRITING;
	c->deadline_ms = now_ms() + h->response_ms;
	conn_events(h, c, EPOLLOUT);
	conn_write(h, c);
}

static void conn_read(struct metrics_http *h, struct hconn *c)
{
	if (c->state == DRAINING) {
		char sink[4096];
		ssize_t n = recv(c->fd, sink, sizeof sink, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			conn_close(h, c);
		return;
	}
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(h, c);   /* gone before its request was whole */
		return;
	}
	c->in_len += (size_t)n;
	struct http_request req;
	int st = metrics_http_parse(c->in, c->in_len, &req);
	if (st == 0)
		return;
	if (st == 200)
		st = metrics_http_route(&req);
	conn_respond(h, c, st, st == 200 && strcmp(req.method, "HEAD") == 0);
}

static void accept_all(struct metrics_http *h)
{
	for (int i = 0; i < 16; i++) {
		int fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if ((errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) &&
			    epoll_ctl(h->epfd, EPOLL_CTL_DEL, h->listen_fd, NULL) == 0)
				h->accept_resume_ms = now_ms() + ACCEPT_PAUSE_MS;
			return;
		}
		if (h->nconns >= METRICS_HTTP_MAX_CONNS) {
			send_best_effort(fd, 503);
			close(fd);
			continue;
		}
		struct hconn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->kind = H_CONN;
		c->fd = fd;
		c->state = READING;
		c->deadline_ms = now_ms() + h->request_ms;
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
		if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = h->conns;
		if (h->conns)
			h->conns->prev = c;
		h->conns = c;
		h->nconns++;
	}
}

/* Close what is past its deadline, listen again after a pause; arm the
   timer for the next of those. */
static void expire(struct metrics_http *h)
{
	uint64_t now = now_ms(), next = 0;
	if (h->accept_resume_ms && h->accept_resume_ms <= now) {
		struct epoll_event le = { .events = EPOLLIN, .data.ptr = &h->listen_tag };
		if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->listen_fd, &le) == 0)
			h->accept_resume_ms = 0;
		else
			h->accept_resume_ms = now + ACCEPT_PAUSE_MS;
	}
	if (h->accept_resume_ms)
		next = h->accept_resume_ms;
	for (struct hconn *c = h->conns, *nx; c; c = nx) {
		nx = c->next;
		if (c->deadline_ms <= now) {
			if (c->state == READING)
				send_best_effort(c->fd, 408);
			conn_close(h, c);
			continue;
		}
		if (!next || c->deadline_ms < next)
			next = c->deadline_ms;
	}
	uint64_t wait = next ? next - now : 0;
	struct itimerspec its = { .it_value = { (time_t)(wait / 1000), (long)(wait % 1000) * 1000000 } };
	timerfd_settime(h->timer_fd, 0, &its, NULL);   /* 0: disarmed, nothing waits */
}

void metrics_http_run(struct metrics_http *h)
{
	struct epoll_event ev[32];
	int n = epoll_wait(h->epfd, ev, 32, 0);
	for (int i = 0; i < n; i++) {
		enum hkind *kind = ev[i].data.ptr;
		if (*kind == H_LISTEN) {
			accept_all(h);
		} else if (*kind == H_TIMER) {
			/* Only to clear it: expire() below reads the clock itself. */
			uint64_t ticks;
			ssize_t r = read(h->timer_fd, &ticks, sizeof ticks);
			(void)r;
		} else {
			struct hconn *c = (struct hconn *)kind;
			/* Each handler closes at most its own connection, and one
			   epoll_wait reports each fd once: c is alive here. */
			if (c->state == WRITING && (ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
				conn_write(h, c);
			else if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				conn_read(h, c);
		}
	}
	expire(h);
}

void metrics_http_close(struct metrics_http *h)
{
	if (!h)
		return;
	while (h->conns)
		conn_close(h, h->conns);
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	if (h->timer_fd >= 0)
		close(h->timer_fd);
	if (h->epfd >= 0)
		close(h->epfd);
	free(h);
}
