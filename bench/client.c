/*
 * client.c: the load client of `make bench`, an agent runtime reduced to the
 * part that costs the broker something: connect, initialize, tools/call.
 *
 *   client --socket PATH --wait S
 *       connect and complete the initialize handshake, retrying for up to S
 *       seconds; exit 0 once the broker answers (run.sh's readiness probe)
 *   client --socket PATH [--tool NAME] [--expect ok|denied]
 *          [--runs N] [--max-seconds S] [--warmup N]
 *       sequential latency on one connection; prints
 *       "runs=N p50_us=X p99_us=Y mean_us=Z errors=E"
 *   client --socket PATH [--tool NAME] [--expect ok|denied] --clients C --duration S
 *       throughput: C threads, each with its own connection, calling back to
 *       back for S seconds; prints "clients=C seconds=S calls=N rate=R errors=E"
 *
 * It speaks SPEC.md's wire protocol: one JSON-RPC message per line; after
 * initialize and notifications/initialized, each tools/call waits for the
 * response line with its id, skipping notifications.  Every response is
 * checked, because a benchmark that times failures measures nothing: with
 * --expect ok (the default) a call must return a result with "isError": false
 * whose text content is the trivial tool's "{}"; with --expect denied it must
 * be a result with "isError": true and a toolgate/decision that is not a
 * permit.  Anything else is an error, counted, printed (the first few) and
 * left out of the timings.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BENCH_PROG "client"
#include "bench.h"

/*
 * Responses are parsed once, here, with these limits; jansson adds its own
 * nesting limit (JSON_PARSER_MAX_DEPTH, 2048).  A trivial call's response is
 * a few hundred bytes, so a megabyte only ever means a broken broker.
 */
#define MAX_LINE (1024 * 1024)
#define INITIAL_BUF (16 * 1024)
/* Longer than any broker would take for a trivial call, short enough not to hang `make bench`. */
#define RESPONSE_TIMEOUT_MS 30000
/* How much of an unexpected response an error message quotes. */
#define QUOTE_MAX 300

/* The project's error convention, kept local: the bench must not depend on the code it measures. */

__attribute__((format(printf, 2, 3)))

/* Like bench_err, with ": strerror(errno)" appended. */
__attribute__((format(printf, 2, 3)))

enum expect { EXPECT_OK, EXPECT_DENIED };

struct options {
	const char *socket_path;
	const char *tool;
	enum expect expect;
	unsigned think_ms;  /* pause between sequential calls (an agent's think time) */
};

/* One connection to the broker, with the bytes read past the last line handed out. */
struct conn {
	int fd;
	char *buf;
	size_t cap;
	size_t start; /* first byte not yet handed out */
	size_t len;   /* bytes in buf */
	long next_id;
};




static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	*c = (struct conn){ .fd = -1 };
}

static int send_all(struct conn *c, const char *data, size_t len, struct bench_error *err)
{
	while (len > 0) {
		/* MSG_NOSIGNAL: a broker that hangs up is an error to report, not a SIGPIPE. */
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bench_err_errno(err, "send to the broker failed");
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Hand out the next line (without its newline, NUL-terminated in place),
 * valid until the next call.  Fails on EOF, timeout or a line over MAX_LINE.
 */
static int read_line(struct conn *c, char **line, size_t *line_len, struct bench_error *err)
{
	size_t scanned = 0;

	for (;;) {
		char *nl = memchr(c->buf + c->start + scanned, '\n', c->len - c->start - scanned);
		if (nl) {
			*nl = '\0';
			*line = c->buf + c->start;
			*line_len = (size_t)(nl - *line);
			c->start += *line_len + 1;
			return 0;
		}
		scanned = c->len - c->start;
		if (scanned >= MAX_LINE)
			return bench_err(err, "the broker sent a line longer than %d bytes", MAX_LINE);
		if (c->start > 0) {
			memmove(c->buf, c->buf + c->start, scanned);
			c->len = scanned;
			c->start = 0;
		}
		/* Keep one byte spare for the terminating NUL. */
		if (c->cap - c->len < 2) {
			size_t ncap = c->cap * 2 > MAX_LINE + 1 ? MAX_LINE + 1 : c->cap * 2;
			char *nbuf = realloc(c->buf, ncap);
			if (!nbuf)
				return bench_err(err, "out of memory growing the line buffer to %zu bytes", ncap);
			c->buf = nbuf;
			c->cap = ncap;
		}
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int r = poll(&p, 1, RESPONSE_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return bench_err_errno(err, "poll on the broker socket failed");
		if (r == 0)
			return bench_err(err, "no response from the broker within %d ms", RESPONSE_TIMEOUT_MS);
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bench_err_errno(err, "recv from the broker failed");
		if (n == 0)
			return bench_err(err, "the broker closed the connection%s",
					 scanned ? " in the middle of a line" : "");
		c->len += (size_t)n;
	}
}

/* Quote the start of a response in an error message. */
static const char *quote(const char *line, size_t len, char *out, size_t out_size)
{
	snprintf(out, out_size, "%.*s%s", (int)(len < QUOTE_MAX ? len : QUOTE_MAX), line,
		 len > QUOTE_MAX ? "..." : "");
	return out;
}

/*
 * How a call went wrong decides what happens to its connection: after a
 * complete response with the right id the stream is still in step and the
 * next call can follow; after anything else it cannot be trusted.
 */
enum { CALL_OK = 0, CALL_WRONG_RESULT = -1, CALL_BROKEN = -2 };

/*
 * Read lines until the response to request id arrives; notifications and
 * requests from the broker (anything with a "method") are skipped.  On
 * success *result is the response's "result" object (a new reference).
 * Returns CALL_OK, CALL_WRONG_RESULT (a JSON-RPC error or no result object)
 * or CALL_BROKEN.
 */
static int await_response(struct conn *c, long id, json_t **result, struct bench_error *err)
{
	char q[QUOTE_MAX + 4];

	for (;;) {
		char *line = NULL;
		size_t len = 0;
		if (read_line(c, &line, &len, err) < 0)
			return CALL_BROKEN;
		json_error_t jerr;
		json_t *msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!msg) {
			bench_err(err, "the broker sent invalid JSON (%s): %s", jerr.text,
				  quote(line, len, q, sizeof q));
			return CALL_BROKEN;
		}
		if (!json_is_object(msg)) {
			json_decref(msg);
			bench_err(err, "the broker sent a JSON value that is not an object: %s",
				  quote(line, len, q, sizeof q));
			return CALL_BROKEN;
		}
		if (json_object_get(msg, "method")) {
			json_decref(msg);
			continue;
		}
		json_t *jid = json_object_get(msg, "id");
		if (!json_is_integer(jid) || json_integer_value(jid) != id) {
			json_decref(msg);
			bench_err(err, "expected the response to request %ld, got: %s", id,
				  quote(line, len, q, sizeof q));
			return CALL_BROKEN;
		}
		json_t *e = json_object_get(msg, "error");
		if (e) {
			json_t *code = json_object_get(e, "code");
			json_t *text = json_object_get(e, "message");
			bench_err(err, "request %ld got JSON-RPC error %lld: %s", id,
				  json_is_integer(code) ? (long long)json_integer_value(code) : 0LL,
				  json_is_string(text) ? json_string_value(text) : quote(line, len, q, sizeof q));
			json_decref(msg);
			return CALL_WRONG_RESULT;
		}
		json_t *r = json_object_get(msg, "result");
		if (!json_is_object(r)) {
			json_decref(msg);
			bench_err(err, "the response to request %ld has no result object: %s", id,
				  quote(line, len, q, sizeof q));
			return CALL_WRONG_RESULT;
		}
		*result = json_incref(r);
		json_decref(msg);
		return CALL_OK;
	}
}

/* True when some text item of the result's content is "{}", give or take surrounding whitespace. */
static int content_is_empty_object(json_t *result)
{
	json_t *content = json_object_get(result, "content");
	size_t i;
	json_t *item;

	json_array_foreach(content, i, item) {
		const char *text = json_string_value(json_object_get(item, "text"));
		if (!text)
			continue;
		while (*text == ' ' || *text == '\n' || *text == '\t' || *text == '\r')
			text++;
		if (strncmp(text, "{}", 2) != 0)
			continue;
		text += 2;
		while (*text == ' ' || *text == '\n' || *text == '\t' || *text == '\r')
			text++;
		if (*text == '\0')
			return 1;
	}
	return 0;
}

/* Check a tools/call result against what the scenario expects. */
static int check_call_result(json_t *result, const struct options *o, long id, struct bench_error *err)
{
	json_t *is_error = json_object_get(result, "isError");
	char *dump = json_dumps(result, JSON_COMPACT);
	char q[QUOTE_MAX + 4];
	const char *shown = dump ? quote(dump, strlen(dump), q, sizeof q) : "(unprintable)";
	int ret = -1;

	if (o->expect == EXPECT_OK) {
		if (!json_is_false(is_error))
			bench_err(err, "call %ld of %s: expected a result with \"isError\": false, got: %s", id,
				  o->tool, shown);
		else if (!content_is_empty_object(result))
			bench_err(err, "call %ld of %s: the result's text content is not the tool's output {}: %s",
				  id, o->tool, shown);
		else
			ret = 0;
	} else {
		json_t *meta = json_object_get(result, "_meta");
		const char *decision =
			json_string_value(json_object_get(json_object_get(meta, "toolgate/decision"), "decision"));
		if (!json_is_true(is_error))
			bench_err(err, "call %ld of %s: expected a denial (\"isError\": true), got: %s", id,
				  o->tool, shown);
		else if (!decision || !strcmp(decision, "permit"))
			bench_err(err, "call %ld of %s: expected _meta[\"toolgate/decision\"].decision to name a "
				  "refusal, got: %s", id, o->tool, shown);
		else
			ret = 0;
	}
	free(dump);
	return ret;
}

/* Connect and complete the MCP handshake. */
static int conn_open(struct conn *c, const struct options *o, struct bench_error *err)
{
	static const char init[] =
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
		"\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"bench\",\"version\":\"1\"}}}\n";
	static const char initialized[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	json_t *result = NULL;

	*c = (struct conn){ .fd = -1, .next_id = 2 };
	if (strlen(o->socket_path) >= sizeof sa.sun_path)
		return bench_err(err, "socket path %s is longer than %zu bytes", o->socket_path,
				 sizeof sa.sun_path - 1);
	strcpy(sa.sun_path, o->socket_path);
	c->buf = malloc(INITIAL_BUF);
	if (!c->buf)
		return bench_err(err, "out of memory for the line buffer");
	c->cap = INITIAL_BUF;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		bench_err_errno(err, "socket(AF_UNIX) failed");
		goto fail;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		bench_err_errno(err, "connect to %s failed", o->socket_path);
		goto fail;
	}
	if (send_all(c, init, sizeof init - 1, err) < 0 || await_response(c, 1, &result, err) != CALL_OK)
		goto fail_prefix;
	if (!json_is_string(json_object_get(result, "protocolVersion"))) {
		bench_err(err, "the initialize result has no protocolVersion string");
		goto fail_prefix;
	}
	json_decref(result);
	result = NULL;
	if (send_all(c, initialized, sizeof initialized - 1, err) < 0)
		goto fail_prefix;
	return 0;
fail_prefix:;
	struct bench_error inner = *err;
	bench_err(err, "initialize on %s: %s", o->socket_path, inner.msg);
fail:
	json_decref(result);
	conn_close(c);
	return -1;
}

/* One tools/call, checked; *elapsed_ns is the client-observed round trip.  Returns a CALL_ outcome. */
static int call_once(struct conn *c, const struct options *o, uint64_t *elapsed_ns, struct bench_error *err)
{
	char req[256];
	long id = c->next_id++;
	json_t *result = NULL;
	int n = snprintf(req, sizeof req,
			 "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
			 "\"arguments\":{}}}\n", id, o->tool);
	if (n < 0 || (size_t)n >= sizeof req) {
		bench_err(err, "tool name %s makes the request too long", o->tool);
		return CALL_BROKEN;
	}
	uint64_t t0 = now_ns();
	if (send_all(c, req, (size_t)n, err) < 0)
		return CALL_BROKEN;
	int ret = await_response(c, id, &result, err);
	if (ret != CALL_OK)
		return ret;
	ret = check_call_result(result, o, id, err) < 0 ? CALL_WRONG_RESULT : CALL_OK;
	*elapsed_ns = now_ns() - t0;
	json_decref(result);
	return ret;
}

/*
 * A call, its error reported, and the connection reopened when the stream
 * is out of step.  Returns 0, -1 (the call failed, carry on) or -2 (the
 * broker cannot be reached any more: stop).
 */
static int call_checked(struct conn *c, const struct options *o, uint64_t *elapsed_ns)
{
	struct bench_error err;
	int r = call_once(c, o, elapsed_ns, &err);
	if (r == CALL_OK)
		return 0;
	report_error(&err);
	if (r == CALL_WRONG_RESULT)
		return -1;
	conn_close(c);
	if (conn_open(c, o, &err) < 0) {
		report_error(&err);
		return -2;
	}
	return -1;
}


/* Nearest-rank percentile (per_mille of 1000) of a sorted sample, in microseconds. */

static int run_wait(const struct options *o, double seconds)
{
	uint64_t deadline = now_ns() + (uint64_t)(seconds * 1e9);
	struct bench_error err = { "no attempt was made" };
	struct conn c;

	do {
		if (conn_open(&c, o, &err) == 0) {
			conn_close(&c);
			return 0;
		}
		struct timespec pause = { .tv_nsec = 20 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	} while (now_ns() < deadline);
	fprintf(stderr, "client: the broker did not answer within %.1f s: %s\n", seconds, err.msg);
	return 1;
}

static int run_latency(const struct options *o, unsigned runs, double max_seconds, unsigned warmup)
{
	struct bench_error err;
	struct conn c;
	unsigned errors = 0;
	size_t n = 0;
	uint64_t sum = 0, t;
	int rc = 1;

	uint64_t *lat = calloc(runs, sizeof *lat);
	if (!lat) {
		fprintf(stderr, "client: out of memory for %u samples\n", runs);
		return 1;
	}
	if (conn_open(&c, o, &err) < 0) {
		fprintf(stderr, "client: %s\n", err.msg);
		free(lat);
		return 1;
	}
	for (unsigned i = 0; i < warmup; i++) {
		int r = call_checked(&c, o, &t);
		if (r < 0)
			errors++;
		if (r == -2)
			goto out;
	}
	uint64_t deadline = now_ns() + (uint64_t)(max_seconds * 1e9);
	while (n < runs && now_ns() < deadline) {
		if (o->think_ms)
			usleep(o->think_ms * 1000u);
		int r = call_checked(&c, o, &t);
		if (r == 0) {
			lat[n++] = t;
			sum += t;
			continue;
		}
		errors++;
		if (r == -2 || (errors > 50 && n == 0))
			break;
	}
	rc = errors ? 1 : 0;
out:
	conn_close(&c);
	if (n == 0) {
		printf("runs=0 p50_us=0 p99_us=0 mean_us=0 errors=%u\n", errors);
		free(lat);
		return 1;
	}
	qsort(lat, n, sizeof *lat, cmp_u64);
	printf("runs=%zu p50_us=%.1f p99_us=%.1f mean_us=%.1f errors=%u\n", n, percentile_us(lat, n, 500),
	       percentile_us(lat, n, 990), (double)sum / (double)n / 1000.0, errors);
	free(lat);
	return rc;
}

struct worker {
	pthread_t thread;
	const struct options *o;
	pthread_barrier_t *ready;
	uint64_t *deadline; /* set by main once every connection is open */
	unsigned long calls, errors;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct bench_error err;
	struct conn c;
	uint64_t t;

	int opened = conn_open(&c, w->o, &err);
	if (opened < 0) {
		report_error(&err);
		w->errors++;
	}
	/* Connections are opened before the clock starts: the rate is of calls, not of handshakes. */
	pthread_barrier_wait(w->ready);
	if (opened < 0)
		return NULL;
	uint64_t deadline = *w->deadline;
	while (now_ns() < deadline) {
		int r = call_checked(&c, w->o, &t);
		if (r == 0) {
			w->calls++;
			continue;
		}
		w->errors++;
		if (r == -2 || (w->errors > 50 && w->calls == 0))
			break;
	}
	conn_close(&c);
	return NULL;
}

static int run_throughput(const struct options *o, unsigned clients, double seconds)
{
	struct worker *w = calloc(clients, sizeof *w);
	pthread_barrier_t ready;
	uint64_t deadline = 0, start = 0;
	unsigned started = 0;
	int rc = 0;

	if (!w) {
		fprintf(stderr, "client: out of memory for %u clients\n", clients);
		return 1;
	}
	pthread_barrier_init(&ready, NULL, clients + 1);
	for (; started < clients; started++) {
		w[started] = (struct worker){ .o = o, .ready = &ready, .deadline = &deadline };
		int e = pthread_create(&w[started].thread, NULL, worker_main, &w[started]);
		if (e) {
			/* The barrier counts every client: without them all, nobody can start. */
			fprintf(stderr, "client: pthread_create of client %u failed: %s\n", started, strerror(e));
			return 1;
		}
	}
	start = now_ns();
	deadline = start + (uint64_t)(seconds * 1e9);
	/* The barrier orders the write of deadline before every worker reads it. */
	pthread_barrier_wait(&ready);
	unsigned long calls = 0, errors = 0;
	for (unsigned i = 0; i < started; i++) {
		pthread_join(w[i].thread, NULL);
		calls += w[i].calls;
		errors += w[i].errors;
	}
	double elapsed = (double)(now_ns() - start) / 1e9;
	printf("clients=%u seconds=%.2f calls=%lu rate=%.1f errors=%lu\n", clients, elapsed, calls,
	       (double)calls / elapsed, errors);
	pthread_barrier_destroy(&ready);
	free(w);
	if (errors)
		rc = 1;
	return rc;
}

static int parse_uint(const char *s, const char *what, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "client: %s must be an integer from %u to %u, got \"%s\"\n", what, min, max, s);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static int parse_seconds(const char *s, const char *what, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0 && v <= 3600)) {
		fprintf(stderr, "client: %s must be a number of seconds above 0 and at most 3600, got \"%s\"\n",
			what, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* The tool name goes into the request verbatim, so it must need no JSON escaping. */
static int valid_tool_name(const char *s)
{
	if (!*s || strlen(s) > 128)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: client --socket PATH --wait SECONDS\n"
		"       client --socket PATH [--tool NAME] [--expect ok|denied] [--runs N] [--max-seconds S]"
		" [--warmup N] [--think-ms MS]\n"
		"       client --socket PATH [--tool NAME] [--expect ok|denied] --clients C --duration S\n");
}

int main(int argc, char **argv)
{
	struct options o = { .tool = "trivial", .expect = EXPECT_OK };
	unsigned runs = 2000, warmup = 20, clients = 0;
	double max_seconds = 20, duration = 0, wait = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc) {
			usage();
			return 2;
		}
		const char *v = argv[++i];
		int bad = 0;
		if (!strcmp(a, "--socket"))
			o.socket_path = v;
		else if (!strcmp(a, "--tool"))
			o.tool = v;
		else if (!strcmp(a, "--expect") && !strcmp(v, "ok"))
			o.expect = EXPECT_OK;
		else if (!strcmp(a, "--expect") && !strcmp(v, "denied"))
			o.expect = EXPECT_DENIED;
		else if (!strcmp(a, "--runs"))
			bad = parse_uint(v, "--runs", 1, 1000000, &runs);
		else if (!strcmp(a, "--warmup"))
			bad = parse_uint(v, "--warmup", 0, 1000000, &warmup);
		else if (!strcmp(a, "--think-ms"))
			bad = parse_uint(v, "--think-ms", 0, 60000, &o.think_ms);
		else if (!strcmp(a, "--clients"))
			bad = parse_uint(v, "--clients", 1, 1024, &clients);
		else if (!strcmp(a, "--max-seconds"))
			bad = parse_seconds(v, "--max-seconds", &max_seconds);
		else if (!strcmp(a, "--duration"))
			bad = parse_seconds(v, "--duration", &duration);
		else if (!strcmp(a, "--wait"))
			bad = parse_seconds(v, "--wait", &wait);
		else {
			usage();
			return 2;
		}
		if (bad)
			return 2;
	}
	if (!o.socket_path || (clients > 0) != (duration > 0)) {
		usage();
		return 2;
	}
	if (!valid_tool_name(o.tool)) {
		fprintf(stderr, "client: --tool must be 1 to 128 of [A-Za-z0-9._-], got \"%s\"\n", o.tool);
		return 2;
	}
	if (wait > 0)
		return run_wait(&o, wait);
	if (clients)
		return run_throughput(&o, clients, duration);
	return run_latency(&o, runs, max_seconds, warmup);
}
