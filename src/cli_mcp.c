/*
 * cli_mcp.c: `toolgate mcp`, the stdio <-> socket bridge (see cli_mcp.h).
 *
 * An MCP client launches `toolgate mcp` and speaks MCP's stdio transport to
 * it; the bridge holds one connection to the broker, whose socket speaks the
 * same newline-delimited JSON-RPC.  So the bridge is a byte pipe in each
 * direction with three exceptions, all on the client's side:
 *
 *   - a delegation token given to the bridge (--token, --token-file or
 *     TOOLGATE_TOKEN) goes into params._meta["toolgate/delegation"] of
 *     initialize (the connection's default, for clients of 2025-11-25 and
 *     earlier) and of each tools/call (clients of 2026-07-28 have no
 *     initialize) that carries none of its own;
 *   - a line longer than the broker's limit is answered here with the error
 *     the broker gives, with the request's id when it can be read, so that
 *     the client's pending request fails at once instead of timing out;
 *   - the client's lines are re-framed (a "\r\n" becomes "\n", empty lines
 *     are dropped), as the broker would read them anyway.
 *
 * Only the lines that may need the token are parsed, and only with
 * jsonrpc_parse, the one parser of client bytes; a line it refuses goes to
 * the broker unchanged, and the broker's answer is the client's answer.
 *
 * The loop is poll() over stdin, stdout and the socket.  stdin and stdout
 * stay blocking (they may be a terminal shared with a shell), so the bridge
 * reads them only after POLLIN and writes at most PIPE_BUF bytes after
 * POLLOUT; the socket is non-blocking.  Buffers are bounded in each
 * direction: a side that does not read stops the other side being read.
 */
#include "cli_mcp.h"
#include "cli_util.h"
#include "error.h"
#include "fileio.h"
#include "framing.h"
#include "jsonrpc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PROG "toolgate mcp"

static const char usage_text[] =
	"usage: toolgate [--socket PATH] mcp [--socket PATH] [--token TOKEN | --token-file FILE]\n"
	"                                    [--max-message BYTES] [--drain SECONDS]\n";

static const char help_text[] =
	"\n"
	"A stdio MCP server for MCP clients that launch a command: it relays the\n"
	"client's JSON-RPC lines to the broker's socket and the broker's to stdout.\n"
	"\n"
	"  --socket PATH        the broker's socket (default /run/toolgate/toolgate.sock)\n"
	"  --token TOKEN        a delegation token, added to initialize and to each tools/call\n"
	"                       that carries none (visible in ps: prefer the two forms below)\n"
	"  --token-file FILE    read the token from FILE (yours, not readable by others)\n"
	"                       TOOLGATE_TOKEN in the environment is used when neither is given\n"
	"  --max-message BYTES  longest line sent to the broker; must match the broker's\n"
	"                       --max-message (default 1048576)\n"
	"  --drain SECONDS      after stdin closes, how long to wait for answers still due\n"
	"                       (default 10; calls still running then are cancelled)\n"
	"\n"
	"stdout carries MCP messages only; diagnostics go to stderr.  Exit status: 0 when\n"
	"stdin closed, 1 when the broker closed the connection or stdout went away, 2 on a\n"
	"usage error or when the broker cannot be reached.\n";

/* Pending bytes per direction before the bridge stops reading the other
   side: one maximal message plus slack. */
#define QUEUE_MAX (4u * 1024 * 1024)
#define TOKEN_FILE_MAX 16384

/* ------------------------------------------------------------ id scanner */

void idscan_reset(struct idscan *s)
{
	memset(s, 0, sizeof *s);
}

static void capture(struct idscan *s, char ch)
{
	if (s->vallen < sizeof s->val)
		s->val[s->vallen++] = ch;
	else
		s->overflow = true;
}

/* A scalar value (number, true, false, null) of a top-level member ends. */
static void end_scalar(struct idscan *s)
{
	if (s->phase == IDS_IN_SCALAR) {
		if (s->capturing)
			s->found = true;
		s->capturing = false;
		s->phase = IDS_AFTER;
	}
}

void idscan_feed(struct idscan *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		if (s->in_str) {
			bool top = s->depth == 1;
			if (top && s->phase == IDS_IN_KEY && !s->esc && ch != '"') {
				if (s->keylen < sizeof s->key)
					s->key[s->keylen] = ch;
				s->keylen++;
			}
			if (top && s->capturing)
				capture(s, ch);
			if (s->esc) {
				s->esc = false;
			} else if (ch == '\\') {
				s->esc = true;
			} else if (ch == '"') {
				s->in_str = false;
				if (top && s->phase == IDS_IN_KEY) {
					s->key_is_id = s->keylen == 2 && memcmp(s->key, "id", 2) == 0;
					s->phase = IDS_COLON;
				} else if (top && s->phase == IDS_VALUE) {
					if (s->capturing)
						s->found = true;
					s->capturing = false;
					s->phase = IDS_AFTER;
				}
			}
			continue;
		}
		switch (ch) {
		case ' ': case '\t': case '\r': case '\n':
			if (s->depth == 1)
				end_scalar(s);
			break;
		case '"':
			s->in_str = true;
			if (s->depth == 1 && s->phase == IDS_KEY) {
				s->phase = IDS_IN_KEY;
				s->keylen = 0;
			} else if (s->depth == 1 && s->phase == IDS_VALUE && s->key_is_id && !s->found) {
				s->capturing = true;
				s->vallen = 0;
				capture(s, ch);
			}
			break;
		case '{': case '[':
			if (s->depth == 0 && ch == '{')
				s->phase = IDS_KEY;
			else if (s->depth == 1 && s->phase == IDS_VALUE)
				s->phase = IDS_NESTED;
			s->depth++;
			break;
		case '}': case ']':
			if (s->depth == 1)
				end_scalar(s);
			s->depth--;
			if (s->depth == 1 && s->phase == IDS_NESTED)
				s->phase = IDS_AFTER;
			break;
		case ':':
			if (s->depth == 1 && s->phase == IDS_COLON)
				s->phase = IDS_VALUE;
			break;
		case ',':
			if (s->depth == 1) {
				end_scalar(s);
				s->phase = IDS_KEY;
				s->key_is_id = false;
			}
			break;
		default:
			if (s->depth == 1 && (s->phase == IDS_VALUE || s->phase == IDS_IN_SCALAR)) {
				if (s->phase == IDS_VALUE && s->key_is_id && !s->found) {
					s->capturing = true;
					s->vallen = 0;
				}
				s->phase = IDS_IN_SCALAR;
				if (s->capturing)
					capture(s, ch);
			}
			break;
		}
	}
}

json_t *idscan_id(const struct idscan *s)
{
	if (!s->found || s->overflow)
		return NULL;
	json_error_t jerr;
	json_t *v = json_loadb(s->val, s->vallen, JSON_DECODE_ANY, &jerr);
	if (v && (json_is_string(v) || json_is_integer(v)))
		return v;
	json_decref(v);
	return NULL;
}

/* ---------------------------------------------------------------- buffers */

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_append(struct buf *b, const char *s, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 65536;
		while (cap - b->len < n)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

static void buf_drop(struct buf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

/* ----------------------------------------------------------------- bridge */

struct bridge {
	int sock;
	const char *socket_path;
	const char *token;
	struct framer framer;      /* the client's lines, with the broker's limit */
	struct idscan scan;        /* the id of the oversize line being skipped */
	struct buf in;             /* from stdin, not yet a whole line */
	struct buf to_broker;      /* whole lines for the socket */
	struct buf to_client;      /* from the socket, for stdout */
	bool stdin_eof, shut_wr, sock_eof;
	struct tg_error err;
};

/* Does this request want the bridge's token?  initialize and tools/call
   without params._meta["toolgate/delegation"]. */
static bool wants_token(const struct jsonrpc_msg *m)
{
	if (m->kind != JSONRPC_REQUEST)
		return false;
	if (strcmp(m->method, "initialize") != 0 && strcmp(m->method, "tools/call") != 0)
		return false;
	json_t *meta = json_object_get(m->params, "_meta");
	if (meta && !json_is_object(meta))
		return false;   /* the broker names that error; not ours to hide */
	return !json_object_get(meta, "toolgate/delegation");
}

static int forward_line(struct bridge *b, const char *line, size_t len)
{
	if (b->token) {
		struct jsonrpc_msg m;
		jsonrpc_parse(line, len, &m);
		if (wants_token(&m)) {
			json_t *meta = json_object_get(m.params, "_meta");
			if (!meta) {
				meta = json_object();
				json_object_set_new(m.params, "_meta", meta);
			}
			json_object_set_new(meta, "toolgate/delegation", json_string(b->token));
			char *s = json_dumps(m.root, JSON_COMPACT | JSON_PRESERVE_ORDER);
			jsonrpc_msg_clear(&m);
			if (!s)
				return tg_err(&b->err, "out of memory");
			int rc = buf_append(&b->to_broker, s, strlen(s));
			free(s);
			if (rc || buf_append(&b->to_broker, "\n", 1))
				return tg_err(&b->err, "out of memory");
			return 0;
		}
		jsonrpc_msg_clear(&m);
	}
	if (buf_append(&b->to_broker, line, len) || buf_append(&b->to_broker, "\n", 1))
		return tg_err(&b->err, "out of memory");
	return 0;
}

/* The broker's answer to an oversize line, from the bridge, with the id the
   scanner read. */
static int reply_oversize(struct bridge *b)
{
	char msg[128];
	snprintf(msg, sizeof msg, "Invalid Request: message exceeds the %zu-byte limit", b->framer.max);
	json_t *id = idscan_id(&b->scan);
	size_t len;
	char *line = jsonrpc_error_line(id, JSONRPC_INVALID_REQUEST, msg, NULL, &len);
	json_decref(id);
	idscan_reset(&b->scan);
	if (!line)
		return tg_err(&b->err, "out of memory");
	int rc = buf_append(&b->to_client, line, len);
	free(line);
	return rc ? tg_err(&b->err, "out of memory") : 0;
}

/* Split what stdin gave into lines; at EOF, also the last unterminated one. */
static int process_input(struct bridge *b)
{
	size_t off = 0;
	for (;;) {
		const char *line = NULL;
		size_t llen = 0, used = 0;
		bool was_skipping = b->framer.discarding;
		enum frame_kind k = framing_next(&b->framer, b->in.p + off, b->in.len - off,
		                                 &line, &llen, &used);
		if (was_skipping) {
			/* The rest of an oversize line: only its id matters. */
			bool ended = !b->framer.discarding;
			idscan_feed(&b->scan, b->in.p + off, ended ? used - 1 : used);
			off += used;
			if (ended && reply_oversize(b))
				return -1;
			if (k == FRAME_NEED_MORE)
				break;
			continue;
		}
		if (k == FRAME_OVERSIZE) {
			idscan_reset(&b->scan);
			bool whole = !b->framer.discarding;   /* its newline is already here */
			idscan_feed(&b->scan, b->in.p + off, whole ? used - 1 : used);
			off += used;
			if (whole && reply_oversize(b))
				return -1;
			continue;
		}
		if (k == FRAME_NEED_MORE)
			break;
		off += used;
		if (k == FRAME_LINE && forward_line(b, line, llen))
			return -1;
	}
	buf_drop(&b->in, off);
	if (b->stdin_eof) {
		const char *line = NULL;
		size_t llen = 0;
		if (b->framer.discarding) {
			b->framer.discarding = false;
			if (reply_oversize(b))
				return -1;
		} else if (framing_finish(&b->framer, b->in.p, b->in.len, &line, &llen) == FRAME_LINE) {
			if (forward_line(b, line, llen))
				return -1;
		}
		b->in.len = 0;
	}
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Bytes of to_client that end a line: a partial line is never written, so a
   broker that dies mid-message leaves no half message on stdout. */
static size_t writable_to_client(const struct bridge *b)
{
	const char *nl = b->to_client.len ? memrchr(b->to_client.p, '\n', b->to_client.len) : NULL;
	return nl ? (size_t)(nl - b->to_client.p) + 1 : 0;
}

/* One write to stdout, after POLLOUT (or blocking, when flushing at the end). */
static int write_stdout(struct bridge *b, size_t max)
{
	size_t n = writable_to_client(b);
	if (n > max)
		n = max;
	if (n == 0)
		return 0;
	ssize_t w = write(STDOUT_FILENO, b->to_client.p, n);
	if (w < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		return tg_err_errno(&b->err, "writing to stdout (the MCP client went away?)");
	}
	buf_drop(&b->to_client, (size_t)w);
	return 0;
}

enum outcome { RUNNING, DONE, BROKER_GONE, FAILED };

static enum outcome step(struct bridge *b, long drain_deadline)
{
	struct pollfd p[3] = {
		{ .fd = -1 }, { .fd = -1 }, { .fd = -1 },
	};
	if (!b->stdin_eof && b->to_broker.len < QUEUE_MAX) {
		p[0].fd = STDIN_FILENO;
		p[0].events = POLLIN;
	}
	if (writable_to_client(b) > 0) {
		p[1].fd = STDOUT_FILENO;
		p[1].events = POLLOUT;
	}
	p[2].fd = b->sock;
	if (!b->sock_eof && b->to_client.len < QUEUE_MAX)
		p[2].events |= POLLIN;
	if (b->to_broker.len > 0)
		p[2].events |= POLLOUT;
	int timeout = -1;
	if (drain_deadline >= 0) {
		long left = drain_deadline - now_ms();
		timeout = left > 0 ? (int)left : 0;
	}
	int r = poll(p, 3, timeout);
	if (r < 0) {
		if (errno == EINTR)
			return RUNNING;
		tg_err_errno(&b->err, "poll");
		return FAILED;
	}
	if (r == 0)
		return DONE;   /* the drain deadline passed */

	if (p[1].revents & (POLLOUT | POLLERR | POLLHUP)) {
		if (write_stdout(b, PIPE_BUF))
			return FAILED;
	}
	if (p[2].revents & POLLOUT) {
		ssize_t w = send(b->sock, b->to_broker.p, b->to_broker.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			buf_drop(&b->to_broker, (size_t)w);
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			/* The broker is gone; its EOF, read below, says so. */
			b->to_broker.len = 0;
			b->sock_eof = true;
		}
	}
	if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
		char chunk[65536];
		ssize_t n = recv(b->sock, chunk, sizeof chunk, MSG_DONTWAIT);
		if (n > 0) {
			if (buf_append(&b->to_client, chunk, (size_t)n)) {
				tg_err(&b->err, "out of memory");
				return FAILED;
			}
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			b->sock_eof = true;
		}
	}
	if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
		char chunk[65536];
		ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
		if (n > 0) {
			if (buf_append(&b->in, chunk, (size_t)n)) {
				tg_err(&b->err, "out of memory");
				return FAILED;
			}
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			b->stdin_eof = true;
		}
		if (process_input(b))
			return FAILED;
	}
	if (b->sock_eof)
		return b->stdin_eof ? DONE : BROKER_GONE;
	/* stdin closed and everything sent: tell the broker we are done asking,
	   so that it closes once it has answered. */
	if (b->stdin_eof && !b->shut_wr && b->to_broker.len == 0) {
		shutdown(b->sock, SHUT_WR);
		b->shut_wr = true;
	}
	return RUNNING;
}

/* ------------------------------------------------------------------ setup */

static int connect_broker(const char *path, struct tg_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return tg_err(err, "%s: socket path too long", path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return tg_err_errno(err, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		tg_err_errno(err, "cannot connect to the broker at %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* A token file is a bearer credential: like ssh with a private key, refuse
   one that others could read or that someone else owns. */
static char *read_token_file(const char *path, struct tg_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		tg_err_errno(err, "--token-file %s", path);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	close(fd);
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		tg_err(err, "--token-file %s: owned by uid %u, not by you (uid %u)", path,
		       (unsigned)st.st_uid, (unsigned)geteuid());
		return NULL;
	}
	if (st.st_mode & 077) {
		tg_err(err, "--token-file %s: mode %04o lets others read it; chmod 600 it", path,
		       (unsigned)(st.st_mode & 07777));
		return NULL;
	}
	char *buf = NULL;
	size_t len = 0;
	if (fileio_read_at(AT_FDCWD, path, path, TOKEN_FILE_MAX, &buf, &len, err) != 0)
		return NULL;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
	               buf[len - 1] == '\t'))
		buf[--len] = '\0';
	if (len == 0 || memchr(buf, '\n', len) || strlen(buf) != len) {
		tg_err(err, "--token-file %s: must hold one token on one line", path);
		free(buf);
		return NULL;
	}
	return buf;
}

static int parse_count(const char *flag, const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || end == s || s[0] == '-' || v == 0 || v > max)
		return cli_usage_error(PROG, usage_text, "%s: \"%s\" is not a number between 1 and %lu",
		                       flag, s, max);
	*out = v;
	return 0;
}

int cli_mcp(int argc, char **argv, const char *socket_path)
{
	const char *token = NULL, *token_file = NULL;
	unsigned long max_message = 1024 * 1024, drain_s = 10;
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		int m;
		if (cli_is_help(argv[i])) {
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			return 0;
		}
		if ((m = cli_opt_value(argc, argv, &i, "--socket", &v)) != 0) {
			if (m < 0)
				return cli_usage_error(PROG, usage_text, "--socket needs a PATH");
			socket_path = v;
		} else if ((m = cli_opt_value(argc, argv, &i, "--token-file", &v)) != 0) {
			if (m < 0)
				return cli_usage_error(PROG, usage_text, "--token-file needs a FILE");
			token_file = v;
		} else if ((m = cli_opt_value(argc, argv, &i, "--token", &v)) != 0) {
			if (m < 0 || !*v)
				return cli_usage_error(PROG, usage_text, "--token needs a TOKEN");
			token = v;
		} else if ((m = cli_opt_value(argc, argv, &i, "--max-message", &v)) != 0) {
			if (m < 0)
				return cli_usage_error(PROG, usage_text, "--max-message needs BYTES");
			if (parse_count("--max-message", v, 64ul << 20, &max_message))
				return 2;
		} else if ((m = cli_opt_value(argc, argv, &i, "--drain", &v)) != 0) {
			if (m < 0)
				return cli_usage_error(PROG, usage_text, "--drain needs SECONDS");
			if (parse_count("--drain", v, 3600, &drain_s))
				return 2;
		} else {
			return cli_usage_error(PROG, usage_text, "unexpected argument \"%s\"", argv[i]);
		}
	}
	if (token && token_file)
		return cli_usage_error(PROG, usage_text, "give --token or --token-file, not both");

	struct tg_error err;
	char *owned_token = NULL;
	if (token_file) {
		owned_token = read_token_file(token_file, &err);
		if (!owned_token) {
			fprintf(stderr, PROG ": %s\n", err.msg);
			return 2;
		}
		token = owned_token;
	} else if (!token) {
		const char *env = getenv("TOOLGATE_TOKEN");
		if (env && *env)
			token = env;
	}

	/* A client that closes stdout must not kill us with SIGPIPE before we
	   can say so; the socket uses MSG_NOSIGNAL. */
	signal(SIGPIPE, SIG_IGN);

	struct bridge b = { .socket_path = socket_path, .token = token };
	b.framer.max = max_message;
	b.sock = connect_broker(socket_path, &err);
	if (b.sock < 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		free(owned_token);
		return 2;
	}

	long deadline = -1;
	enum outcome o;
	while ((o = step(&b, deadline)) == RUNNING) {
		if (b.stdin_eof && deadline < 0)
			deadline = now_ms() + (long)drain_s * 1000;
	}
	/* What the broker said before it closed still reaches the client. */
	if (o != FAILED) {
		while (writable_to_client(&b) > 0)
			if (write_stdout(&b, SIZE_MAX)) {
				o = FAILED;
				break;
			}
	}
	int status = 0;
	switch (o) {
	case DONE:
		if (!b.sock_eof)
			fprintf(stderr, PROG ": stdin closed; calls still running after %lu s are cancelled\n",
			        drain_s);
		break;
	case BROKER_GONE:
		fprintf(stderr, PROG ": the broker at %s closed the connection (stopped or restarted?)\n",
		        socket_path);
		status = 1;
		break;
	case FAILED:
		fprintf(stderr, PROG ": %s\n", b.err.msg);
		status = 1;
		break;
	case RUNNING:
		break;
	}
	close(b.sock);
	free(b.in.p);
	free(b.to_broker.p);
	free(b.to_client.p);
	free(owned_token);
	return status;
}
