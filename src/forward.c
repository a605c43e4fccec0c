/*
 * forward.c: the audit forwarder, one thread that sends audit.log to a
 * syslog collector over TLS (see forward.h for the contract).
 *
 * Layout, top to bottom: the message format (pure functions), the cursor
 * file, the line reader, TLS set-up, one connection's life (connect, send,
 * acknowledgements, close), and the thread's loop with start/stop/status.
 *
 * The thread owns everything below "Owned by the thread" in struct forwarder;
 * forward_status() only reads the published copy under the lock.  All I/O is
 * non-blocking and every wait is a poll() that also watches the stop eventfd,
 * so forward_stop() is bounded (FORWARD_STOP_MS) even against a collector
 * that stopped reading.  The one exception is getaddrinfo() for a collector
 * given by DNS name, which waits as long as the resolver does.
 */
#include "forward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "audit_files.h"
#include "fileio.h"
#include "jsonrpc.h"
#include "forward_impl.h"

/* ------------------------------------------------------------------------
 * The line reader
 * ------------------------------------------------------------------------ */

#define READ_CHUNK (64 * 1024)

struct forward_reader {
	char *path;             /* the live file, .../audit/audit.log */
	char *dir;              /* its directory, where segments are */
	char *cur;              /* the file being read: path or a segment */
	int fd;                 /* -1 until the file exists */
	dev_t dev;
	ino_t ino;
	uint64_t pos;           /* file offset of buf[start] */
	uint64_t seq;           /* seq of the last line given (or the cursor's) */
	unsigned generation;    /* counts file switches */
	char *buf;
	size_t cap, start, end; /* unread bytes are buf[start..end) */
};

struct forward_reader *forward_reader_new(const char *path, uint64_t seq, uint64_t offset,
                                          struct tg_error *err)
{
	struct forward_reader *r = calloc(1, sizeof *r);
	if (!r || !(r->path = strdup(path)) || !(r->dir = strdup(path))) {
		if (r)
			free(r->path);
		free(r);
		tg_err(err, "out of memory");
		return NULL;
	}
	char *slash = strrchr(r->dir, '/');
	if (slash == r->dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(r->dir, ".");
	r->fd = -1;
	r->pos = offset;
	r->seq = seq;
	return r;
}

/* The seq a record line begins with ({"seq":N,...}); 0 if it does not. */
static uint64_t line_seq(const char *line, size_t len)
{
	static const char head[] = "{\"seq\":";
	uint64_t v = 0;
	size_t i = sizeof head - 1;
	if (len <= i || memcmp(line, head, i) != 0)
		return 0;
	for (; i < len && line[i] >= '0' && line[i] <= '9' && v < UINT64_MAX / 10 - 1; i++)
		v = v * 10 + (uint64_t)(line[i] - '0');
	return v;
}

/*
 * The file that holds the record after seq `after` (the first record
 * when 0): the segment whose range holds it, else audit.log.  With
 * `holding`, the file holding seq `after` itself (where a cursor's offset
 * points).  NULL: out of memory or no such directory (the caller retries).
 */
static char *file_for(const struct forward_reader *r, uint64_t after, bool holding)
{
	struct audit_files files;
	struct tg_error ignored;
	char *path = NULL;
	uint64_t want = holding ? after : after + 1;
	if (audit_files_list(r->dir, &files, &ignored) < 0)
		return NULL;
	for (size_t i = 0; i < files.n && !path; i++) {
		const struct audit_file *f = &files.v[i];
		if (f->first ? (after == 0 && !holding) || (want >= f->first && want <= f->last)
		             : true)
			path = strdup(f->path);
	}
	audit_files_free(&files);
	return path ? path : strdup(r->path);
}

/* 1 open, 0 the file does not exist (yet), -1 error. */
static int reader_open(struct forward_reader *r, struct tg_error *err)
{
	if (r->fd >= 0)
		return 1;
	if (!r->cur) {
		/* First open: the file the cursor points into (its offset is
		   within the file holding its seq), or the log's first file. */
		r->cur = file_for(r, r->seq, r->seq != 0);
		if (!r->cur)
			return 0;
	}
	r->fd = open(r->cur, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (r->fd < 0)
		return errno == ENOENT ? 0 : tg_err_errno(err, "%s: open", r->cur);
	struct stat st;
	if (fstat(r->fd, &st) == 0) {
		r->dev = st.st_dev;
		r->ino = st.st_ino;
	}
	return 1;
}

/*
 * At the end of the file being read: if it is no longer the live one (the
 * broker closed it as a segment, or we were reading a segment), go on in
 * the file that holds the next record.  1 switched, 0 not, -1 the file
 * grew after all (read on in it).
 */
static int next_file(struct forward_reader *r)
{
	struct stat st;
	if (strcmp(r->cur, r->path) == 0 &&
	    (stat(r->path, &st) != 0 || (st.st_ino == r->ino && st.st_dev == r->dev)))
		return 0;
	/* The broker may have written its last lines into the file between
	   our read and its rename: read those first. */
	char c;
	if (pread(r->fd, &c, 1, (off_t)(r->pos + r->end)) == 1)
		return -1;
	char *next = file_for(r, r->seq, false);
	if (!next)
		return 0;
	if (strcmp(next, r->cur) == 0 && strcmp(next, r->path) != 0) {
		free(next);  /* a segment cannot follow itself */
		return 0;
	}
	int fd = open(next, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) != 0 || (st.st_ino == r->ino && st.st_dev == r->dev)) {
		if (fd >= 0)
			close(fd);
		free(next);
		return 0;
	}
	close(r->fd);
	free(r->cur);
	r->cur = next;
	r->fd = fd;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	r->pos = 0;
	r->start = r->end = 0;
	r->generation++;
	return 1;
}

int forward_reader_next(struct forward_reader *r, const char **line, size_t *len,
                        uint64_t *end_offset, struct tg_error *err)
{
	int o = reader_open(r, err);
	if (o <= 0)
		return o;
	for (;;) {
		char *nl = r->end > r->start ? memchr(r->buf + r->start, '\n', r->end - r->start) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - (r->buf + r->start));
			*line = r->buf + r->start;
			*len = n;
			r->start += n + 1;
			r->pos += n + 1;
			*end_offset = r->pos;
			uint64_t seq = line_seq(*line, n);
			if (seq)
				r->seq = seq;
			return 1;
		}
		if (r->end - r->start > FORWARD_LINE_MAX)
			return tg_err(err, "%s: the line at byte %llu is longer than %u bytes", r->cur,
			              (unsigned long long)r->pos, FORWARD_LINE_MAX);
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		if (r->cap - r->end < READ_CHUNK && r->cap < FORWARD_LINE_MAX + 1) {
			size_t ncap = r->cap ? r->cap * 2 : 2 * READ_CHUNK;
			if (ncap > FORWARD_LINE_MAX + 1)
				ncap = FORWARD_LINE_MAX + 1;
			char *nb = realloc(r->buf, ncap);
			if (!nb)
				return tg_err(err, "%s: out of memory", r->cur);
			r->buf = nb;
			r->cap = ncap;
		}
		ssize_t got = pread(r->fd, r->buf + r->end, r->cap - r->end, (off_t)(r->pos + r->end));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return tg_err_errno(err, "%s: read", r->cur);
		if (got == 0) {
			/* A closed segment's lines are all complete: switch only with
			   nothing left over. */
			if (r->end == 0 && next_file(r) != 0)
				continue;
			return 0;   /* no newline yet: a torn or growing last line */
		}
		r->end += (size_t)got;
	}
}

void forward_reader_seek(struct forward_reader *r, uint64_t offset)
{
	r->pos = offset;
	r->start = r->end = 0;
}

/* Back to the log's first record: the first file, from its start. */
static void reader_rewind(struct forward_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	free(r->cur);
	r->cur = NULL;
	r->seq = 0;
	r->generation++;
	forward_reader_seek(r, 0);
}

void forward_reader_free(struct forward_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r->path);
	free(r->dir);
	free(r->cur);
	free(r);
}

/* ------------------------------------------------------------------------
 * The forwarder
 * ------------------------------------------------------------------------ */

#define INFLIGHT_MAX      1024
#define BATCH_BYTES       (64 * 1024)
#define BATCH_RECORDS     512
#define CONNECT_TIMEOUT_MS 5000
#define IO_TIMEOUT_MS     10000
/* After the handshake, how long to listen for a refusal before sending:
   with TLS 1.3 a collector rejects our client certificate only after our
   side has finished the handshake. */
#define PROBE_MS          200
#define ACK_POLL_MS       20
#define IDLE_POLL_MS      1000
#define STALL_RETRY_MS    5000

/* One batch written to the connection and not yet counted as delivered. */
struct inflight {
	uint64_t tcp_end;    /* bytes written on the connection once it was */
	uint64_t last_seq;
	uint64_t end_off;    /* log offset after its last line */
	uint64_t lines;
	uint64_t acked_ms;   /* when the collector's TCP acknowledged it; 0 = not yet */
};

struct forwarder {
	/* Fixed at start. */
	char *host, *log_path, *cursor_path, *broker_id;
	char port[12];
	char hostname[256];
	char display[300];          /* "host:port", for messages */
	bool host_is_ip;
	int pid;
	SSL_CTX *ctx;
	pthread_t thread;
	int wake_fd;                /* eventfd: forward_stop() was called */
	atomic_bool stopping;

	/* Owned by the thread. */
	int inotify_fd;
	bool watching;
	SSL *ssl;                   /* NULL while disconnected */
	int sock;
	uint64_t conn_ms;
	uint64_t stop_deadline;     /* 0 until the thread sees the stop */
	struct forward_reader *reader;
	uint64_t expect_seq;        /* after a seek to the cursor: the seq the next line must have */
	struct inflight ring[INFLIGHT_MAX];
	size_t head, count;
	uint64_t sent_seq, delivered_seq, delivered_off;
	uint64_t saved_seq, saved_off, saved_ms;
	uint64_t count_off, behind; /* newlines counted up to count_off, after delivered_off */
	unsigned count_gen;         /* the reader's file that count_off is in */
	uint64_t backoff_ms, next_connect_ms, stall_until_ms;
	bool caught_up;             /* the last send found no further complete line */
	char *msg, *batch, *scratch;
	size_t msg_cap, batch_cap;

	/* Shared with forward_status(), under lock. */
	pthread_mutex_t lock;
	struct forward_status pub;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void set_error(struct forwarder *f, const struct tg_error *e)
{
	pthread_mutex_lock(&f->lock);
	snprintf(f->pub.last_error, sizeof f->pub.last_error, "%s", e->msg);
	pthread_mutex_unlock(&f->lock);
}

static void publish(struct forwarder *f)
{
	pthread_mutex_lock(&f->lock);
	f->pub.connected = f->ssl != NULL;
	f->pub.sent_seq = f->sent_seq;
	f->pub.delivered_seq = f->delivered_seq;
	f->pub.behind = f->behind;
	pthread_mutex_unlock(&f->lock);
}

/* The earlier of a deadline and the stop deadline, once there is one. */
static uint64_t clamp_deadline(const struct forwarder *f, uint64_t deadline)
{
	return f->stop_deadline && f->stop_deadline < deadline ? f->stop_deadline : deadline;
}

static void notice_stop(struct forwarder *f)
{
	if (!f->stop_deadline && atomic_load(&f->stopping)) {
		f->stop_deadline = mono_ms() + FORWARD_STOP_MS;
		f->next_connect_ms = 0;   /* a last try now, whatever the backoff */
	}
}

static void drain_fd(int fd)
{
	char buf[4096];
	while (fd >= 0 && read(fd, buf, sizeof buf) > 0)
		;
}

/* Wait until fd is ready for events: 1, or 0 at the deadline (which a stop
   brings forward). */
static int wait_fd(struct forwarder *f, int fd, short events, uint64_t deadline)
{
	for (;;) {
		notice_stop(f);
		uint64_t d = clamp_deadline(f, deadline), now = mono_ms();
		if (now >= d)
			return 0;
		struct pollfd p[2] = { { .fd = fd, .events = events }, { .fd = f->wake_fd, .events = POLLIN } };
		int r = poll(p, 2, (int)(d - now));
		if (r < 0 && errno != EINTR)
			return 0;
		if (r > 0 && p[1].revents)
			drain_fd(f->wake_fd);
		if (r > 0 && p[0].revents)
			return 1;
	}
}

/* The thread blocks every signal, so a write to a reset connection leaves a
   SIGPIPE pending on it: take it, so it never reaches anyone. */
static void drain_sigpipe(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	struct timespec zero = { 0, 0 };
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
}

/* Describe a failed TLS call (ssl_err from SSL_get_error, sys_errno saved
   right after the call) as one sentence. */
static int tls_error(struct forwarder *f, SSL *ssl, int ssl_err, int sys_errno, const char *what,
                     struct tg_error *err)
{
	long v = SSL_get_verify_result(ssl);
	if (v != X509_V_OK) {
		ERR_clear_error();
		return tg_err(err, "collector %s: %s: the collector's certificate did not verify: %s",
		              f->display, what, X509_verify_cert_error_string(v));
	}
	unsigned long code = 0, c;
	while ((c = ERR_get_error()) != 0)
		code = c;
	if (code) {
		const char *reason = ERR_reason_error_string(code);
		char buf[256];
		if (!reason) {
			ERR_error_string_n(code, buf, sizeof buf);
			reason = buf;
		}
		return tg_err(err, "collector %s: %s: %s", f->display, what, reason);
	}
	if (ssl_err == SSL_ERROR_ZERO_RETURN || (ssl_err == SSL_ERROR_SYSCALL && sys_errno == 0))
		return tg_err(err, "collector %s: %s: the collector closed the connection", f->display, what);
	if (ssl_err == SSL_ERROR_SYSCALL) {
		errno = sys_errno;
		return tg_err_errno(err, "collector %s: %s", f->display, what);
	}
	return tg_err(err, "collector %s: %s: TLS error %d", f->display, what, ssl_err);
}

/* ---- Delivery accounting ---- */

/* Mark the batches whose bytes the collector's TCP has acknowledged.  Bytes
   written minus SIOCOUTQ (written but unacknowledged) is what it has. */
static void update_acks(struct forwarder *f, uint64_t now)
{
	int outq = 0;
	if (!f->ssl || ioctl(f->sock, SIOCOUTQ, &outq) != 0 || outq < 0)
		return;
	uint64_t written = BIO_number_written(SSL_get_wbio(f->ssl));
	uint64_t acked = written >= (uint64_t)outq ? written - (uint64_t)outq : 0;
	for (size_t i = 0; i < f->count; i++) {
		struct inflight *e = &f->ring[(f->head + i) % INFLIGHT_MAX];
		if (e->acked_ms)
			continue;
		if (e->tcp_end > acked)
			break;
		e->acked_ms = now ? now : 1;
	}
}

/* Move the cursor over acknowledged batches: those that settled, or all of
   them when the collector proved it read everything (a clean close). */
static void commit(struct forwarder *f, uint64_t now, bool all_acked)
{
	while (f->count) {
		struct inflight *e = &f->ring[f->head];
		if (!e->acked_ms || (!all_acked && now - e->acked_ms < FORWARD_SETTLE_MS))
			break;
		f->delivered_seq = e->last_seq;
		f->delivered_off = e->end_off;
		f->behind = f->behind > e->lines ? f->behind - e->lines : 0;
		f->head = (f->head + 1) % INFLIGHT_MAX;
		f->count--;
	}
}

static void save_cursor(struct forwarder *f, uint64_t now, bool force)
{
	if (f->delivered_off == f->saved_off && f->delivered_seq == f->saved_seq)
		return;
	if (!force && f->delivered_seq - f->saved_seq < FORWARD_CURSOR_EVERY &&
	    now - f->saved_ms < FORWARD_CURSOR_MS)
		return;
	struct tg_error e;
	f->saved_ms = now;
	if (forward_cursor_write(f->cursor_path, f->delivered_seq, f->delivered_off, &e) != 0) {
		set_error(f, &e);
		return;
	}
	f->saved_seq = f->delivered_seq;
	f->saved_off = f->delivered_off;
}

/* The cursor does not describe this log: send all of it again (duplicates
   at the collector are recognisable by seq; a gap would not be). */
static void restart_from_zero(struct forwarder *f, const char *why)
{
	struct tg_error e;
	if (f->delivered_off)
		tg_err(&e, "%s (seq %llu at byte %llu) does not match %s (%s): sending the whole log again",
		       f->cursor_path, (unsigned long long)f->delivered_seq,
		       (unsigned long long)f->delivered_off, f->log_path, why);
	else
		tg_err(&e, "%s: %s: sending the whole log again", f->log_path, why);
	set_error(f, &e);
	f->delivered_seq = f->delivered_off = f->sent_seq = 0;
	f->count = 0;
	f->expect_seq = 0;
	f->count_off = f->behind = 0;
	reader_rewind(f->reader);
	f->count_gen = f->reader->generation;
}

/* Before sending from the cursor: the log must reach it, on a line end. */
static void check_resume(struct forwarder *f)
{
	f->expect_seq = 0;
	if (f->delivered_off == 0)
		return;
	struct tg_error e;
	int o = reader_open(f->reader, &e);
	if (o < 0) {
		set_error(f, &e);
		return;
	}
	struct stat st;
	char c = 0;
	if (o == 0)
		restart_from_zero(f, "the log does not exist");
	else if (fstat(f->reader->fd, &st) != 0 || (uint64_t)st.st_size < f->delivered_off)
		restart_from_zero(f, "the log is shorter");
	else if (pread(f->reader->fd, &c, 1, (off_t)f->delivered_off - 1) != 1 || c != '\n')
		restart_from_zero(f, "no line ends there");
	else
		f->expect_seq = f->delivered_seq + 1;
}

/* Count complete lines appended since the last look, and notice a log that
   was replaced (then its records are a new log: send it from the start). */
static void count_behind(struct forwarder *f)
{
	struct tg_error e;
	struct stat st;
	/* A live file renamed into a segment keeps its link; one deleted or
	   replaced by another file does not: that is a new log. */
	if (f->reader->fd >= 0 && strcmp(f->reader->cur, f->log_path) == 0 &&
	    stat(f->log_path, &st) == 0 &&
	    (st.st_ino != f->reader->ino || st.st_dev != f->reader->dev) &&
	    (fstat(f->reader->fd, &st) != 0 || st.st_nlink == 0)) {
		restart_from_zero(f, "the log file was replaced");
		f->caught_up = false;
	}
	if (reader_open(f->reader, &e) <= 0)
		return;
	if (f->count_gen != f->reader->generation) {
		/* The reader went on into the next file: count there from its start. */
		f->count_gen = f->reader->generation;
		f->count_off = 0;
	}
	for (;;) {
		ssize_t r = pread(f->reader->fd, f->scratch, READ_CHUNK, (off_t)f->count_off);
		if (r <= 0)
			return;
		const char *p = f->scratch, *end = f->scratch + r;
		while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			f->behind++;
			p++;
		}
		f->count_off += (uint64_t)r;
		if (r < READ_CHUNK)
			return;
	}
}

/* ---- One connection ---- */

static void set_socket_options(int sock)
{
	int one = 1, idle = 30, intvl = 10, cnt = 3;
	unsigned user_timeout = 30000;
	/* We batch ourselves; and a collector that vanished without a word is
	   noticed by keepalive when idle and by the user timeout when not. */
	setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	setsockopt(sock, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(sock, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	setsockopt(sock, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
	setsockopt(sock, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
}

static int tcp_connect(struct forwarder *f, uint64_t deadline, struct tg_error *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	                          .ai_flags = AI_NUMERICSERV | (f->host_is_ip ? AI_NUMERICHOST : 0) };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(f->host, f->port, &hints, &res);
	if (rc != 0)
		return tg_err(err, "collector %s: cannot resolve the host: %s", f->display, gai_strerror(rc));
	int sock = -1, last = ECONNREFUSED;
	for (struct addrinfo *ai = res; ai && sock < 0; ai = ai->ai_next) {
		sock = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (sock < 0) {
			last = errno;
			continue;
		}
		if (connect(sock, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		last = errno;
		if (errno == EINPROGRESS) {
			int soerr = ETIMEDOUT;
			socklen_t sl = sizeof soerr;
			if (wait_fd(f, sock, POLLOUT, deadline) > 0 &&
			    getsockopt(sock, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
				break;
			last = soerr;
		}
		close(sock);
		sock = -1;
	}
	freeaddrinfo(res);
	if (sock < 0) {
		errno = last;
		return tg_err_errno(err, "collector %s: connect", f->display);
	}
	set_socket_options(sock);
	return sock;
}

/* After the handshake: did the collector refuse us (an alert, a close)? */
static int probe_refusal(struct forwarder *f, SSL *ssl, int sock, struct tg_error *err)
{
	uint64_t deadline = mono_ms() + PROBE_MS;
	while (wait_fd(f, sock, POLLIN, deadline) > 0) {
		char buf[256];
		size_t got;
		ERR_clear_error();
		int r = SSL_read_ex(ssl, buf, sizeof buf, &got);
		int saved = errno;
		if (r == 1)
			continue;   /* a collector has nothing to say; ignore it */
		int e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			continue;   /* session tickets, or nothing yet */
		return tls_error(f, ssl, e, saved, "refused after the TLS handshake", err);
	}
	return 0;
}

static int open_connection(struct forwarder *f, struct tg_error *err)
{
	uint64_t deadline = mono_ms() + CONNECT_TIMEOUT_MS;
	int sock = tcp_connect(f, deadline, err);
	if (sock < 0)
		return -1;
	SSL *ssl = SSL_new(f->ctx);
	if (!ssl || SSL_set_fd(ssl, sock) != 1) {
		tg_err(err, "collector %s: SSL_new: out of memory", f->display);
		goto fail;
	}
	/* The name (or address) we dialled is the one the certificate must carry. */
	if (f->host_is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), f->host) != 1) {
			tg_err(err, "collector %s: cannot check the certificate's IP address", f->display);
			goto fail;
		}
	} else {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ssl, f->host) != 1 || SSL_set_tlsext_host_name(ssl, f->host) != 1) {
			tg_err(err, "collector %s: cannot check the certificate's host name", f->display);
			goto fail;
		}
	}
	ERR_clear_error();
	for (;;) {
		int r = SSL_connect(ssl);
		int saved = errno;
		if (r == 1)
			break;
		int e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (wait_fd(f, sock, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) > 0)
				continue;
			tg_err(err, "collector %s: TLS handshake: timed out", f->display);
			goto fail;
		}
		tls_error(f, ssl, e, saved, "TLS handshake failed", err);
		goto fail;
	}
	if (probe_refusal(f, ssl, sock, err) != 0)
		goto fail;
	f->ssl = ssl;
	f->sock = sock;
	f->conn_ms = mono_ms();
	return 0;
fail:
	SSL_free(ssl);
	close(sock);
	drain_sigpipe();
	return -1;
}

/*
 * End the connection.  peer_read_all: the collector closed cleanly, which it
 * does only with nothing unread, so every acknowledged batch is delivered.
 * Anything not counted delivered is sent again on the next connection.
 */
static void drop_connection(struct forwarder *f, bool peer_read_all)
{
	uint64_t now = mono_ms();
	update_acks(f, now);
	commit(f, now, peer_read_all);
	SSL_free(f->ssl);
	close(f->sock);
	f->ssl = NULL;
	f->sock = -1;
	drain_sigpipe();
	f->count = 0;
	f->sent_seq = f->delivered_seq;
	forward_reader_seek(f->reader, f->delivered_off);
	if (now - f->conn_ms >= FORWARD_SETTLE_MS)
		f->backoff_ms = FORWARD_BACKOFF_MIN_MS;
	f->next_connect_ms = now + f->backoff_ms;
	f->backoff_ms = f->backoff_ms * 2 > FORWARD_BACKOFF_MAX_MS ? FORWARD_BACKOFF_MAX_MS
	                                                           : f->backoff_ms * 2;
}

/* Say goodbye (close_notify) and wait for the collector to close in answer:
   it has then read everything we sent before our close_notify. */
static bool close_cleanly(struct forwarder *f)
{
	uint64_t deadline = clamp_deadline(f, mono_ms() + 1000);
	ERR_clear_error();
	for (;;) {
		int r = SSL_shutdown(f->ssl);
		if (r >= 0)
			break;
		int e = SSL_get_error(f->ssl, r);
		if ((e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) ||
		    wait_fd(f, f->sock, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) == 0)
			return false;
	}
	while (wait_fd(f, f->sock, POLLIN, deadline) > 0) {
		char buf[256];
		size_t got;
		int r = SSL_read_ex(f->ssl, buf, sizeof buf, &got);
		if (r == 1)
			continue;
		int e = SSL_get_error(f->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			continue;
		ERR_clear_error();
		return e == SSL_ERROR_ZERO_RETURN;
	}
	return false;
}

/*
 * Read what the collector sent: nothing, normally, but a close or an alert
 * ends the connection.  0 still up; -1 ended.  A close the collector starts
 * proves nothing about what it read: it may close with our last records
 * still unread in its socket, so only settled batches count as delivered.
 */
static int service_connection(struct forwarder *f, struct tg_error *err)
{
	struct pollfd p = { .fd = f->sock, .events = POLLIN };
	if (!SSL_pending(f->ssl) && (poll(&p, 1, 0) <= 0 || !p.revents))
		return 0;
	for (;;) {
		char buf[4096];
		size_t got;
		ERR_clear_error();
		int r = SSL_read_ex(f->ssl, buf, sizeof buf, &got);
		int saved = errno;
		if (r == 1)
			continue;
		int e = SSL_get_error(f->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return 0;
		if (e == SSL_ERROR_ZERO_RETURN)
			return tg_err(err, "collector %s: the collector closed the connection", f->display);
		return tls_error(f, f->ssl, e, saved, "connection lost", err);
	}
}

static int write_all(struct forwarder *f, const char *buf, size_t len, struct tg_error *err)
{
	uint64_t deadline = mono_ms() + IO_TIMEOUT_MS;
	ERR_clear_error();
	for (;;) {
		size_t written;
		/* Partial writes are off: success means all of it. */
		int r = SSL_write_ex(f->ssl, buf, len, &written);
		int saved = errno;
		if (r == 1)
			return 0;
		int e = SSL_get_error(f->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (wait_fd(f, f->sock, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) > 0)
				continue;
			if (f->stop_deadline && mono_ms() >= f->stop_deadline)
				return tg_err(err, "collector %s: sending: still blocked when the forwarder stopped",
				              f->display);
			return tg_err(err, "collector %s: sending: no progress in %d s", f->display,
			              IO_TIMEOUT_MS / 1000);
		}
		return tls_error(f, f->ssl, e, saved, "sending", err);
	}
}

static int grow(char **buf, size_t *cap, size_t need)
{
	if (*cap >= need)
		return 0;
	size_t n = *cap ? *cap : 4096;
	while (n < need)
		n *= 2;
	char *nb = realloc(*buf, n);
	if (!nb)
		return -1;
	*buf = nb;
	*cap = n;
	return 0;
}

/*
 * Send complete lines from the reader, a batch per write, while there is
 * room in the ring.  0 sent what there was; -1 the connection failed;
 * -2 a line is not a record (the reader stays before it, so it is retried,
 * never skipped).
 */
static int send_more(struct forwarder *f, struct tg_error *err)
{
	f->caught_up = false;
	while (f->count < INFLIGHT_MAX) {
		size_t blen = 0;
		uint64_t nrec = 0, last_seq = 0, end_off = 0;
		bool stalled = false;
		while (blen < BATCH_BYTES && nrec < BATCH_RECORDS) {
			const char *line;
			size_t len;
			uint64_t eo, seq;
			int r = forward_reader_next(f->reader, &line, &len, &eo, err);
			if (r < 0) {
				stalled = true;
				break;
			}
			if (r == 0) {
				f->caught_up = true;
				break;
			}
			ssize_t m = -1;
			if (grow(&f->msg, &f->msg_cap, len + FORWARD_HEADER_MAX) == 0)
				m = forward_format(line, len, f->hostname, f->broker_id, f->pid, f->msg,
				                   f->msg_cap, &seq, err);
			else
				tg_err(err, "out of memory");
			if (m < 0) {
				tg_err_prefix(err, "%s: byte %llu", f->log_path,
				              (unsigned long long)(eo - len - 1));
				forward_reader_seek(f->reader, eo - len - 1);
				stalled = true;
				break;
			}
			if (f->expect_seq) {
				uint64_t want = f->expect_seq;
				f->expect_seq = 0;
				if (seq != want) {
					/* Only ever the first line after a seek: the batch is empty. */
					char why[64];
					snprintf(why, sizeof why, "the next record is seq %llu",
					         (unsigned long long)seq);
					restart_from_zero(f, why);
					continue;
				}
			}
			if (grow(&f->batch, &f->batch_cap, blen + (size_t)m + 24) != 0) {
				forward_reader_seek(f->reader, eo - len - 1);
				tg_err(err, "out of memory");
				stalled = true;
				break;
			}
			blen += (size_t)forward_frame(f->msg, (size_t)m, f->batch + blen,
			                              f->batch_cap - blen, NULL);
			nrec++;
			last_seq = seq;
			end_off = eo;
		}
		if (nrec) {
			struct tg_error werr;
			if (write_all(f, f->batch, blen, &werr) != 0) {
				*err = werr;
				return -1;
			}
			struct inflight *e = &f->ring[(f->head + f->count) % INFLIGHT_MAX];
			*e = (struct inflight){ .tcp_end = BIO_number_written(SSL_get_wbio(f->ssl)),
			                        .last_seq = last_seq, .end_off = end_off, .lines = nrec };
			f->count++;
			f->sent_seq = last_seq;
		}
		if (stalled)
			return -2;
		if (f->caught_up || nrec == 0)
			return 0;
	}
	return 0;
}

/* ---- The thread ---- */

static void watch_log_dir(struct forwarder *f)
{
	if (f->inotify_fd < 0 || f->watching)
		return;
	char dir[PATH_MAX];
	const char *slash = strrchr(f->log_path, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == f->log_path)
		strcpy(dir, "/");
	else if ((size_t)(slash - f->log_path) < sizeof dir)
		memcpy(dir, f->log_path, (size_t)(slash - f->log_path)), dir[slash - f->log_path] = '\0';
	else
		return;
	/* The directory, not the file: the file may not exist yet, or be replaced. */
	f->watching = inotify_add_watch(f->inotify_fd, dir,
	                                IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) >= 0;
}

static int poll_timeout(const struct forwarder *f, uint64_t now)
{
	uint64_t t = IDLE_POLL_MS;
#define AT_MOST(deadline) do { uint64_t d_ = (deadline); \
		t = d_ <= now ? 0 : (d_ - now < t ? d_ - now : t); } while (0)
	if (!f->ssl)
		AT_MOST(f->next_connect_ms);
	if (f->count) {
		const struct inflight *last = &f->ring[(f->head + f->count - 1) % INFLIGHT_MAX];
		if (last->acked_ms)   /* all acknowledged: only the settling is left */
			AT_MOST(f->ring[f->head].acked_ms + FORWARD_SETTLE_MS);
		else
			AT_MOST(now + ACK_POLL_MS);
	}
	if (f->delivered_off != f->saved_off)
		AT_MOST(f->saved_ms + FORWARD_CURSOR_MS);
	if (f->stall_until_ms)
		AT_MOST(f->stall_until_ms);
	if (f->stop_deadline)
		AT_MOST(f->stop_deadline);
#undef AT_MOST
	return (int)t;
}

static void *forward_main(void *arg)
{
	struct forwarder *f = arg;
	struct tg_error err;
	for (;;) {
		notice_stop(f);
		uint64_t now = mono_ms();
		bool stopping = f->stop_deadline != 0;
		watch_log_dir(f);
		count_behind(f);

		if (!f->ssl && now >= f->next_connect_ms && (!stopping || f->behind)) {
			if (open_connection(f, &err) == 0) {
				check_resume(f);
			} else {
				set_error(f, &err);
				now = mono_ms();
				f->next_connect_ms = now + f->backoff_ms;
				f->backoff_ms = f->backoff_ms * 2 > FORWARD_BACKOFF_MAX_MS ? FORWARD_BACKOFF_MAX_MS
				                                                           : f->backoff_ms * 2;
			}
		}
		if (f->ssl && service_connection(f, &err) != 0) {
			set_error(f, &err);
			drop_connection(f, false);
		}
		if (f->ssl && (!f->stall_until_ms || mono_ms() >= f->stall_until_ms)) {
			f->stall_until_ms = 0;
			int r = send_more(f, &err);
			if (r == -1) {
				set_error(f, &err);
				drop_connection(f, false);
			} else if (r == -2) {
				set_error(f, &err);
				f->stall_until_ms = mono_ms() + STALL_RETRY_MS;
			}
		}
		now = mono_ms();
		if (f->ssl) {
			update_acks(f, now);
			commit(f, now, false);
		}
		save_cursor(f, now, false);
		publish(f);

		if (stopping) {
			bool all_acked = f->count == 0 || f->ring[(f->head + f->count - 1) % INFLIGHT_MAX].acked_ms;
			/* Everything sendable is out (up to a stalled line, if any). */
			if (f->ssl && (f->caught_up || f->stall_until_ms) && all_acked) {
				bool clean = close_cleanly(f);
				drop_connection(f, clean);
				break;
			}
			if ((!f->ssl && f->behind == 0) || mono_ms() >= f->stop_deadline)
				break;
		}

		struct pollfd p[3] = { { .fd = f->wake_fd, .events = POLLIN },
		                       { .fd = f->inotify_fd, .events = POLLIN },
		                       { .fd = f->ssl ? f->sock : -1, .events = POLLIN } };
		if (poll(p, 3, poll_timeout(f, mono_ms())) > 0) {
			if (p[0].revents)
				drain_fd(f->wake_fd);
			if (p[1].revents)
				drain_fd(f->inotify_fd);
		}
	}
	if (f->ssl)
		drop_connection(f, false);
	save_cursor(f, mono_ms(), true);
	publish(f);
	return NULL;
}

/* ---- Start, status, stop ---- */

static void free_forwarder(struct forwarder *f)
{
	if (!f)
		return;
	SSL_CTX_free(f->ctx);
	forward_reader_free(f->reader);
	if (f->wake_fd >= 0)
		close(f->wake_fd);
	if (f->inotify_fd >= 0)
		close(f->inotify_fd);
	free(f->host);
	free(f->log_path);
	free(f->cursor_path);
	free(f->broker_id);
	free(f->msg);
	free(f->batch);
	free(f->scratch);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* The reason of the last OpenSSL error, for a configuration message. */
static const char *ssl_reason(void)
{
	unsigned long code = 0, c;
	while ((c = ERR_get_error()) != 0)
		code = c;
	const char *r = code ? ERR_reason_error_string(code) : NULL;
	return r ? r : "unknown OpenSSL error";
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return 0;   /* never prompt on a terminal: an encrypted key is an error */
}

static int readable(const char *field, const char *path, struct tg_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return tg_err_errno(err, "forward: %s %s", field, path);
	close(fd);
	return 0;
}

static SSL_CTX *make_ctx(const struct forward_options *o, struct tg_error *err)
{
	if (readable("ca_file", o->ca_file, err) != 0)
		return NULL;
	if (o->cert_file && (readable("cert_file", o->cert_file, err) != 0 ||
	                     readable("key_file", o->key_file, err) != 0))
		return NULL;
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		tg_err(err, "forward: cannot create a TLS context: %s", ssl_reason());
		return NULL;
	}
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		tg_err(err, "forward: cannot require TLS 1.2: %s", ssl_reason());
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	                    SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Always verified; there is deliberately no option to turn it off. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1) {
		tg_err(err, "forward: ca_file %s: %s", o->ca_file, ssl_reason());
		goto fail;
	}
	if (o->cert_file) {
		if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1) {
			tg_err(err, "forward: cert_file %s: %s", o->cert_file, ssl_reason());
			goto fail;
		}
		/* OpenSSL checks here that the key is the certificate's. */
		if (SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			unsigned long code = ERR_peek_last_error();
			if (ERR_GET_LIB(code) == ERR_LIB_X509 && ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH) {
				ERR_clear_error();
				tg_err(err, "forward: key_file %s is not the key of cert_file %s", o->key_file,
				       o->cert_file);
			} else {
				tg_err(err, "forward: key_file %s: %s", o->key_file, ssl_reason());
			}
			goto fail;
		}
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static int check_options(const struct forward_options *o, struct tg_error *err)
{
	if (!o->host || !o->host[0])
		return tg_err(err, "forward: host is empty");
	if (strlen(o->host) > 253)
		return tg_err(err, "forward: host is longer than 253 characters");
	if (o->port > 65535)
		return tg_err(err, "forward: port %u is not 1 to 65535", o->port);
	if (!o->ca_file || !o->ca_file[0])
		return tg_err(err, "forward: ca_file is required (the collector's certificate is always "
		                   "verified)");
	if (!o->cert_file != !o->key_file)
		return tg_err(err, "forward: cert_file and key_file go together; only %s is set",
		              o->cert_file ? "cert_file" : "key_file");
	if (!o->log_path || !o->log_path[0] || !o->cursor_path || !o->cursor_path[0])
		return tg_err(err, "forward: log_path and cursor_path are required");
	if (!forward_valid_broker_id(o->broker_id))
		return tg_err(err, "forward: broker_id is not 1 to 255 bytes of UTF-8 without control "
		                   "characters");
	if (o->hostname && !forward_valid_hostname(o->hostname))
		return tg_err(err, "forward: hostname \"%.64s\" is not 1 to 255 printable US-ASCII "
		                   "characters", o->hostname);
	return 0;
}

int forward_start(struct forwarder **out, const struct forward_options *o, struct tg_error *err)
{
	*out = NULL;
	if (check_options(o, err) != 0)
		return -1;
	struct forwarder *f = calloc(1, sizeof *f);
	if (!f)
		return tg_err(err, "out of memory");
	pthread_mutex_init(&f->lock, NULL);
	f->wake_fd = f->inotify_fd = f->sock = -1;
	f->pid = (int)getpid();
	f->backoff_ms = FORWARD_BACKOFF_MIN_MS;
	unsigned port = o->port ? o->port : FORWARD_DEFAULT_PORT;
	snprintf(f->port, sizeof f->port, "%u", port);
	unsigned char addr[16];
	f->host_is_ip = inet_pton(AF_INET, o->host, addr) == 1 || inet_pton(AF_INET6, o->host, addr) == 1;
	snprintf(f->display, sizeof f->display, strchr(o->host, ':') ? "[%s]:%u" : "%s:%u", o->host, port);
	if (o->hostname) {
		snprintf(f->hostname, sizeof f->hostname, "%s", o->hostname);
	} else if (gethostname(f->hostname, sizeof f->hostname - 1) != 0 || !forward_valid_hostname(f->hostname)) {
		tg_err(err, "forward: the system host name is not a valid syslog HOSTNAME; set hostname");
		goto fail;
	}
	f->host = strdup(o->host);
	f->log_path = strdup(o->log_path);
	f->cursor_path = strdup(o->cursor_path);
	f->broker_id = strdup(o->broker_id);
	f->scratch = malloc(READ_CHUNK);
	if (!f->host || !f->log_path || !f->cursor_path || !f->broker_id || !f->scratch) {
		tg_err(err, "out of memory");
		goto fail;
	}
	if (!(f->ctx = make_ctx(o, err)))
		goto fail;
	if (forward_cursor_read(f->cursor_path, &f->delivered_seq, &f->delivered_off, err) != 0)
		goto fail;
	f->saved_seq = f->sent_seq = f->delivered_seq;
	f->saved_off = f->count_off = f->delivered_off;
	if (!(f->reader = forward_reader_new(f->log_path, f->delivered_seq, f->delivered_off, err)))
		goto fail;
	f->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->wake_fd < 0) {
		tg_err_errno(err, "forward: eventfd");
		goto fail;
	}
	/* Without inotify the thread still polls the log every IDLE_POLL_MS. */
	f->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	f->pub.sent_seq = f->pub.delivered_seq = f->delivered_seq;

	/* The thread takes no signals: they stay the main loop's (signalfd). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&f->thread, NULL, forward_main, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		tg_err_errno(err, "forward: pthread_create");
		goto fail;
	}
	*out = f;
	return 0;
fail:
	free_forwarder(f);
	return -1;
}

void forward_status(struct forwarder *f, struct forward_status *st)
{
	pthread_mutex_lock(&f->lock);
	*st = f->pub;
	pthread_mutex_unlock(&f->lock);
}

void forward_stop(struct forwarder *f, struct forward_status *last)
{
	if (!f)
		return;
	atomic_store(&f->stopping, true);
	uint64_t one = 1;
	ssize_t w = write(f->wake_fd, &one, sizeof one);
	(void)w;   /* the counter cannot overflow from one write; the flag is what counts */
	pthread_join(f->thread, NULL);
	if (last)
		*last = f->pub;
	free_forwarder(f);
}
