/*
 * server.c: the event loop, the listening socket, client connections and
 * signals (see server.h for the loop's commit order and why).
 */
#include "server.h"
#include "admin.h"
#include "disabled.h"
#include "audit.h"
#include "call.h"
#include "config.h"
#include "framing.h"
#include "forward.h"
#include "idem.h"
#include "kaudit.h"
#include "jsonrpc.h"
#include "log.h"
#include "mcp.h"
#include "metrics.h"
#include "metrics_http.h"
#include "ratelimit.h"
#include "replay.h"
#include "sdlisten.h"
#include "sdnotify.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (64 * 1024)
#define NETNS_POOL_TARGET 4    /* enough for a burst; refilled while idle */
#define CGROUP_POOL_TARGET 4
/* How often a failed audit log is tried again. */
#define AUDIT_RETRY_MS 1000
/* How long the network namespace pool rests after it failed to make one:
   a failure that lasts (no descriptor left, the host's namespace limit
   reached) must not turn the idle loop into a busy one. */
#define NETNS_RETRY_MS 1000
/* While discarded spares wait to be reaped, the loop looks this often. */
#define GRAVES_POLL_MS 50
/* After the grace period, how long killed calls have to be reaped. */
#define DRAIN_REAP_MS 5000
/* The longest an outcome record (a tool's exec_end) stays written but not
   durable (audit_commit). */
#define AUDIT_OUTCOME_SYNC_MS 10
/* A connection's requests are read while less than OUT_PAUSE of its
   replies wait to be written; beyond that they wait in the socket, and a
   client that pipelines without reading is slowed, not buffered without
   bound.  Only replies to calls already running can take the queue past
   it: at OUT_MAX the client is dropped. */
#define OUT_PAUSE  (1u << 20)
#define OUT_MAX    (64u * 1024 * 1024)
/* Buffers larger than this are given back once empty, so that an idle
   connection that once sent or received a large message holds little. */
#define IDLE_BUFFER_MAX (256u * 1024)

/* ---- the kernel's audit log (kaudit.h) ---- */

/*
 * Landlock names what it refused only in the kernel's audit records, and
 * only while the kernel's audit switch is on.  The broker reads them when it
 * may (root: CAP_AUDIT_READ), and turns the switch on only when told to
 * (--kernel-audit), since that is a setting of the whole host; it puts the
 * switch back when it stops.
 */
static void kaudit_start(struct server *s)
{
	struct tg_error err;
	s->kaudit_restore = -1;
	s->kaudit_w = (struct watch){ WATCH_KAUDIT, -1, NULL };
	int on = geteuid() == 0 ? kaudit_get_enabled(&err) : -1;
	if (on == 0 && s->opt.kernel_audit) {
		if (kaudit_set_enabled(1, &err) == 0) {
			s->kaudit_restore = 0;
			on = 1;
		} else {
			log_warn("sandbox", "--kernel-audit: cannot turn the kernel's audit on: %s", err.msg);
		}
	}
	if (on <= 0) {
		snprintf(s->kaudit_state, sizeof s->kaudit_state, "off: the kernel's audit switch is %s "
		         "(auditctl -e 1, or toolgated --kernel-audit), so Landlock refusals are not named",
		         on == 0 ? "off" : "not readable by this broker");
		return;
	}
	if (kaudit_open(&s->kaudit, &err) != 0) {
		snprintf(s->kaudit_state, sizeof s->kaudit_state, "off: %.180s", err.msg);
		return;
	}
	s->kaudit_w.fd = kaudit_fd(s->kaudit);
	if (server_watch(s, &s->kaudit_w, EPOLLIN) != 0) {
		snprintf(s->kaudit_state, sizeof s->kaudit_state, "off: epoll_ctl: %s", strerror(errno));
		kaudit_close(s->kaudit);
		s->kaudit = NULL;
		return;
	}
	snprintf(s->kaudit_state, sizeof s->kaudit_state, "on: Landlock refusals are named by the "
	         "kernel's audit records");
}

static void kaudit_stop(struct server *s)
{
	if (s->kaudit)
		kaudit_close(s->kaudit);
	s->kaudit = NULL;
	struct tg_error err;
	if (s->kaudit_restore >= 0 && kaudit_set_enabled(s->kaudit_restore, &err) != 0)
		log_warn("sandbox", "putting the kernel's audit switch back: %s", err.msg);
	s->kaudit_restore = -1;
}

static void on_kaudit_event(const struct kaudit_event *ev, void *arg)
{
	struct server *s = arg;
	if (ev->type == KAUDIT_LOST)
		log_warn("sandbox", "kernel audit records were lost: some Landlock refusals go unnamed");
	else if (ev->type == KAUDIT_LANDLOCK_DENIAL && ev->pid > 0 && !call_note_landlock(s, ev))
		log_warn("sandbox", "Landlock refused %s %s to the sandbox of pid %d after its call ended",
		         ev->blockers, ev->addr[0] ? ev->addr : ev->path, (int)ev->pid);
}

void server_kaudit_drain(struct server *s)
{
	struct tg_error err;
	if (s->kaudit && kaudit_read(s->kaudit, on_kaudit_event, s, &err) != 0)
		log_warn("sandbox", "reading the kernel's audit log: %s", err.msg);
}

void server_options_defaults(struct server_options *o)
{
	memset(o, 0, sizeof *o);
	o->config_dir = "/etc/toolgate";
	o->state_dir = "/var/lib/toolgate";
	o->socket_path = "/run/toolgate/toolgate.sock";
	o->socket_fd = -1;
	o->socket_mode = 0666;
	o->socket_gid = (gid_t)-1;
	o->max_message = 1024 * 1024;
	o->max_calls_per_conn = 16;
	o->max_calls = 256;
	o->max_conns = 1024;
	o->spares = 2;
	o->audit_segment_bytes = AUDIT_SEGMENT_BYTES_DEFAULT;
	o->page_size = 50;
	o->grace_ms = 10000;
	o->clock_skew = 60;
	o->dynamic_first = 61184;   /* systemd's DynamicUser range */
	o->dynamic_last = 65519;
	o->idem_window_ms = 24ull * 3600 * 1000;
	o->idem_max_entries = 10000;
	o->idem_max_bytes = 256ull << 20;
}

uint64_t server_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int server_watch(struct server *s, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };
	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, w->fd, &ev);
}

void server_unwatch(struct server *s, struct watch *w)
{
	if (w->fd >= 0)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

/* Remember the first audit failure: from then on no call starts, until the
   log can be written again (try_audit_recovery). */
static void note_audit_failure(struct server *s, const struct tg_error *err)
{
	if (s->audit_error[0])
		return;
	memcpy(s->audit_error, err->msg, sizeof s->audit_error);
	s->audit_failed_at_ms = server_now_ms();
	s->audit_retry_ms = s->audit_failed_at_ms + AUDIT_RETRY_MS;
	log_error("audit", "the audit log cannot be written; no call will start: %s", err->msg);
}

/* Every AUDIT_RETRY_MS while the log is failed: write what is queued again;
   once that works, calls start again, and a record says how long it was out. */
static void try_audit_recovery(struct server *s)
{
	uint64_t now = server_now_ms();
	if (!s->audit_error[0] || now < s->audit_retry_ms)
		return;
	s->audit_retry_ms = now + AUDIT_RETRY_MS;
	struct tg_error err;
	if (audit_recover(s->audit, &err) < 0)
		return;
	char was[sizeof s->audit_error];
	memcpy(was, s->audit_error, sizeof was);
	s->audit_error[0] = '\0';
	uint64_t down = now - s->audit_failed_at_ms;
	log_info("audit", "the audit log can be written again after %llu ms; calls start again",
	         (unsigned long long)down);
	server_audit(s, json_pack("{s:s, s:s, s:I}", "event", "audit_recovered", "reason", was,
	                          "duration_ms", (json_int_t)down), NULL);
	if (audit_sync(s->audit, &err) != 0)
		note_audit_failure(s, &err);
}

static int audit_record(struct server *s, json_t *fields, uint64_t *seq, bool outcome)
{
	struct tg_error err;
	uint64_t dummy;
	int rc = outcome ? audit_append_outcome(s->audit, fields, seq ? seq : &dummy, &err) :
	                   audit_append(s->audit, fields, seq ? seq : &dummy, &err);
	if (rc == 0)
		server_metrics_note_audit(s, fields);
	json_decref(fields);
	if (rc != 0) {
		note_audit_failure(s, &err);
		return -1;
	}
	if (outcome && !s->audit_outcome_since_ms)
		s->audit_outcome_since_ms = server_now_ms();
	return 0;
}

int server_audit(struct server *s, json_t *fields, uint64_t *seq)
{
	return audit_record(s, fields, seq, false);
}

int server_audit_outcome(struct server *s, json_t *fields, uint64_t *seq)
{
	return audit_record(s, fields, seq, true);
}

/* ---- listening socket ---- */

static int listen_on_path(struct server *s, struct tg_error *err)
{
	const char *path = s->opt.socket_path;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return tg_err(err, "--socket %s: path longer than %zu bytes", path, sizeof sa.sun_path - 1);
	strcpy(sa.sun_path, path);

	/* Create the parent directory (e.g. /run/toolgate) if missing. */
	char dir[sizeof sa.sun_path];
	strcpy(dir, path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return tg_err_errno(err, "--socket: creating %s", dir);
	}

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return tg_err_errno(err, "socket");
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			close(fd);
			return tg_err(err, "--socket %s: exists and is not a socket", path);
		}
		/* A socket nobody answers on is a leftover of a dead broker. */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0) {
			close(probe);
			close(fd);
			return tg_err(err, "--socket %s: another broker is already listening there", path);
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc != 0) {
		tg_err_errno(err, "--socket %s: bind", path);
		close(fd);
		return -1;
	}
	s->owns_socket_path = true;
	if (s->opt.socket_gid != (gid_t)-1 && chown(path, (uid_t)-1, s->opt.socket_gid) != 0) {
		tg_err_errno(err, "--socket-group: chown %s", path);
		close(fd);
		return -1;
	}
	if (chmod(path, s->opt.socket_mode) != 0) {
		tg_err_errno(err, "--socket-mode: chmod %s", path);
		close(fd);
		return -1;
	}
	if (listen(fd, 512) != 0) {
		tg_err_errno(err, "listen on %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- connections ---- */

static void conn_update_events(struct conn *c)
{
	/* Once the peer has shut down its side, stop asking for EPOLLIN and
	   EPOLLRDHUP: both stay ready (level-triggered) and would spin the loop
	   while the client waits for its answers.  EPOLLHUP and EPOLLERR are
	   reported regardless and still end the connection.
	   While requests are held (OUT_PAUSE), EPOLLOUT says when the replies
	   are written and they can be handled. */
	bool reading = !c->read_closed && !c->input_held;
	uint32_t ev = (reading ? EPOLLIN | EPOLLRDHUP : 0) | (c->want_write || c->input_held ? EPOLLOUT : 0);
	struct epoll_event e = { .events = ev, .data.ptr = &c->w };
	epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->w.fd, &e);
}

static void conn_close(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	struct server *s = c->srv;
	log_info("conn", "closed connection of uid %u pid %d: %s", (unsigned)c->uid, (int)c->pid, why);
	c->dead = true;
	call_abandon_all(c);
	server_unwatch(s, &c->w);
	close(c->w.fd);
	c->w.fd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	c->grave_next = s->grave_conns;
	s->grave_conns = c;
}

/* Close c at this batch's commit (see conn_send in server.h); nothing more
   is sent to it or read from it until then. */
static void conn_close_later(struct conn *c, const char *why)
{
	if (!c->close_reason)
		c->close_reason = why;
}

void conn_send(struct conn *c, char *line, size_t len)
{
	if (!line)
		return;
	if (c->dead || c->close_reason) {
		free(line);
		return;
	}
	if (c->out_len - c->out_off + len > OUT_MAX) {
		free(line);
		conn_close_later(c, "the client does not read its replies");
		return;
	}
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + len)
			cap *= 2;
		char *n = realloc(c->out, cap);
		if (!n) {
			free(line);
			conn_close_later(c, "out of memory for replies");
			return;
		}
		c->out = n;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, line, len);
	c->out_len += len;
	free(line);
}

void conn_reply_result(struct conn *c, const json_t *id, json_t *result)
{
	size_t len;
	char *line = jsonrpc_result_line(id, mcp_result_for_era(c, result), &len);
	conn_send(c, line, len);
}

void conn_reply_error(struct conn *c, const json_t *id, int code, const char *message)
{
	size_t len;
	char *line = jsonrpc_error_line(id, code, message, NULL, &len);
	conn_send(c, line, len);
}

static void conn_flush(struct conn *c)
{
	while (!c->dead && c->out_off < c->out_len) {
		ssize_t n = send(c->w.fd, c->out + c->out_off, c->out_len - c->out_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->want_write) {
				c->want_write = true;
				conn_update_events(c);
			}
			return;
		}
		conn_close(c, "write failed");
		return;
	}
	if (c->dead)
		return;
	c->out_off = c->out_len = 0;
	if (c->out_cap > IDLE_BUFFER_MAX) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	if (c->want_write) {
		c->want_write = false;
		conn_update_events(c);
	}
	/* A client that closed its write side is done once its calls are. */
	if (c->read_closed && c->ncalls == 0)
		conn_close(c, "client finished");
}

static void reply_oversize(struct conn *c)
{
	char msg[128];
	snprintf(msg, sizeof msg, "Invalid Request: message exceeds the %zu-byte limit", c->framer.max);
	conn_reply_error(c, NULL, JSONRPC_INVALID_REQUEST, msg);
}

/* Handle the complete lines in the input buffer, until the replies waiting
   to be written reach OUT_PAUSE: then the rest is held (see conn_update_events). */
static void conn_process_input(struct conn *c)
{
	size_t off = 0;
	bool was_held = c->input_held;
	c->input_held = false;
	while (!c->dead && !c->close_reason) {
		if (c->out_len - c->out_off >= OUT_PAUSE) {
			c->input_held = true;
			break;
		}
		const char *line = NULL;
		size_t len = 0, used = 0;
		enum frame_kind k = framing_next(&c->framer, c->in + off, c->in_len - off, &line, &len, &used);
		off += used;
		if (k == FRAME_LINE)
			mcp_handle_line(c, line, len);
		else if (k == FRAME_OVERSIZE)
			reply_oversize(c);
		else if (k == FRAME_NEED_MORE)
			break;
	}
	if (c->dead)
		return;
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	if (c->in_len == 0 && c->in_cap > IDLE_BUFFER_MAX) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
	if (c->input_held != was_held)
		conn_update_events(c);
}

static void conn_on_event(struct conn *c, uint32_t events)
{
	if (events & (EPOLLERR)) {
		conn_close(c, "socket error");
		return;
	}
	if (events & EPOLLOUT)
		conn_flush(c);
	if (c->dead)
		return;
	/* Held requests go on once the replies before them are written. */
	if (c->input_held && c->out_off == c->out_len)
		conn_process_input(c);
	if (c->dead)
		return;
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) && !c->read_closed && !c->input_held) {
		if (c->in_cap - c->in_len < READ_CHUNK) {
			size_t cap = c->in_len + READ_CHUNK;
			char *n = realloc(c->in, cap);
			if (!n) {
				conn_close(c, "out of memory");
				return;
			}
			c->in = n;
			c->in_cap = cap;
		}
		ssize_t n = recv(c->w.fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
		if (n > 0) {
			c->read_ns = metrics_now_ns();
			c->in_len += (size_t)n;
			conn_process_input(c);
		} else if (n == 0) {
			c->read_closed = true;
			const char *line = NULL;
			size_t len = 0;
			if (framing_finish(&c->framer, c->in, c->in_len, &line, &len) == FRAME_LINE &&
			    !c->close_reason)
				mcp_handle_line(c, line, len); /* a last line without newline */
			c->in_len = 0;
			if (!c->dead) {
				conn_update_events(c);
				if (c->ncalls == 0 && c->out_len == c->out_off)
					conn_close(c, "client closed the connection");
			}
		} else if (errno != EAGAIN && errno != EINTR) {
			conn_close(c, "read failed");
		}
	}
	if (!c->dead && (events & EPOLLHUP) && c->read_closed)
		conn_close(c, "client hung up");
}

/*
 * Descriptors run out: every connection is one, and so is each call's pipe,
 * pidfd, timer and seccomp listener.  A connection whose descriptor lands
 * in the last quarter of RLIMIT_NOFILE is refused with an error, so that
 * clients that only connect cannot starve the calls of the others.  When
 * accept() itself fails for want of descriptors or memory, the connection
 * stays queued and the listening socket stays readable: asking again at
 * once would spin the loop, so the socket rests for ACCEPT_PAUSE_MS and the
 * connections wait in its backlog.  A shortage is logged when it begins and
 * when it ends, not at every refusal.
 */
#define ACCEPT_PAUSE_MS 100
#define FD_RESERVE_DIVISOR 4

/* Take the hard limit on descriptors (a soft limit of 1024 is for programs
   that use select()), and keep a quarter of it for calls. */
static void fd_limits_init(struct server *s)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		s->fd_reserved_from = UINT_MAX;
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = { rl.rlim_max, rl.rlim_max };
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	rlim_t cur = rl.rlim_cur > UINT_MAX ? UINT_MAX : rl.rlim_cur;
	s->fd_reserved_from = (unsigned)(cur - cur / FD_RESERVE_DIVISOR);
}

/* Is the lowest free descriptor still below the reserved quarter? */
static bool fds_to_spare(const struct server *s)
{
	int fd = fcntl(s->epfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return false;
	close(fd);
	return (unsigned)fd < s->fd_reserved_from;
}

static unsigned long long fd_soft_limit(void)
{
	struct rlimit rl;
	return getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (unsigned long long)rl.rlim_cur : 0;
}

static void fd_shortage_begin(struct server *s, const char *what)
{
	s->fd_short_refused++;
	if (s->fd_short_since_ms)
		return;
	s->fd_short_since_ms = server_now_ms();
	log_warn("conn", "%s (RLIMIT_NOFILE %llu; %u connections, %u calls in flight); until "
	         "connections are accepted again this is not logged again", what, fd_soft_limit(),
	         s->nconns, s->ncalls);
}

static void fd_shortage_end(struct server *s)
{
	if (!s->fd_short_since_ms)
		return;
	log_info("conn", "accepting connections again after %llu ms; %llu were refused or waited "
	         "meanwhile", (unsigned long long)(server_now_ms() - s->fd_short_since_ms),
	         (unsigned long long)s->fd_short_refused);
	s->fd_short_since_ms = 0;
	s->fd_short_refused = 0;
}

static void accept_pause(struct server *s, int e)
{
	char what[200];
	snprintf(what, sizeof what, "accept: %s: new connections wait in the socket's backlog",
	         strerror(e));
	fd_shortage_begin(s, what);
	server_unwatch(s, &s->listen_w);
	s->accept_paused = true;
	s->accept_resume_ms = server_now_ms() + ACCEPT_PAUSE_MS;
}

/* At the top of each loop iteration: listen again once the pause is over. */
static void accept_resume(struct server *s)
{
	if (!s->accept_paused || server_now_ms() < s->accept_resume_ms)
		return;
	s->accept_paused = false;
	if (s->listen_w.fd >= 0 && server_watch(s, &s->listen_w, EPOLLIN) != 0)
		accept_pause(s, errno);
}

/* Tell a client why it is not served, and hang up.  What it sent is read
   first: a Unix socket closed with unread data resets its peer, which then
   loses the reason and sees only ECONNRESET. */
static void refuse_client(int fd, uid_t uid, const char *msg)
{
	size_t len;
	char *line = jsonrpc_error_line(NULL, JSONRPC_SERVER_BUSY, msg, NULL, &len);
	if (line && send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_warn("conn", "refusing uid %u: %s", (unsigned)uid, strerror(errno));
	free(line);
	shutdown(fd, SHUT_WR);
	char sink[16384];
	for (int i = 0; i < 16 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++)
		;
	close(fd);
}

static void accept_clients(struct server *s)
{
	for (int i = 0; i < 64; i++) {
		int fd = accept4(s->listen_w.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS)
				accept_pause(s, errno);
			return;
		}
		struct ucred cr;
		socklen_t sl = sizeof cr;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &sl) != 0) {
			close(fd);
			continue;
		}
		char msg[200];
		if (s->nconns >= s->opt.max_conns) {
			snprintf(msg, sizeof msg, "too many connections (limit %u); try again later", s->opt.max_conns);
			refuse_client(fd, cr.uid, msg);
			continue;
		}
		if ((unsigned)fd >= s->fd_reserved_from) {
			fd_shortage_begin(s, "refusing new connections: the last quarter of the broker's "
			                     "descriptors is kept for calls");
			snprintf(msg, sizeof msg, "the broker is short of file descriptors (RLIMIT_NOFILE %llu, "
			         "a quarter kept for calls); try again later", fd_soft_limit());
			refuse_client(fd, cr.uid, msg);
			continue;
		}
		struct conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->srv = s;
		c->w = (struct watch){ WATCH_CONN, fd, c };
		c->framer.max = s->opt.max_message;
		c->uid = cr.uid;
		c->gid = cr.gid;
		c->pid = cr.pid;
		if (server_watch(s, &c->w, EPOLLIN | EPOLLRDHUP) != 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		fd_shortage_end(s);
	}
}

/* ---- the service manager (sdnotify.h) ---- */

/* One message to systemd, when it listens.  The broker works the same
   whether or not anybody does, so a failure is logged once and ignored. */
static void notify(struct server *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct tg_error err;
	if (sdnotify_send(&s->notify, msg, &err) != 0 && s->notify.failures == 1)
		log_warn("broker", "%s (further failures are not logged)", err.msg);
}

static void notify_ready(struct server *s, const char *what)
{
	notify(s, "READY=1\nSTATUS=%s; serving %zu tools from %s", what, s->config->ntools, s->config->dir);
}

/* ---- configuration and signals ---- */

static json_t *config_record(const char *event, const struct config *cfg)
{
	return json_pack("{s:s, s:s, s:s, s:I}", "event", event, "config_dir", cfg->dir,
	                 "config_digest", cfg->digest, "tools", (json_int_t)cfg->ntools);
}

int server_reload(struct server *s, struct tg_error *err)
{
	/* systemd holds `systemctl reload` from RELOADING=1 until the next
	   READY=1, which comes whether or not the reload worked. */
	struct tg_error nerr;
	if (sdnotify_reloading(&s->notify, "reloading the configuration", &nerr) != 0 &&
	    s->notify.failures == 1)
		log_warn("broker", "%s (further failures are not logged)", nerr.msg);
	struct config *n = config_load(s->opt.config_dir, err);
	if (!n) {
		log_error("config", "reload failed, the previous configuration stays in force: %s", err->msg);
		server_audit(s, json_pack("{s:s, s:s, s:s}", "event", "config_reload_failed",
		                          "reason", err->msg, "config_dir", s->opt.config_dir), NULL);
		notify_ready(s, "reload failed, the previous configuration stays in force (see the log)");
		return -1;
	}
	struct config *old = s->config;
	s->config = n;
	/* Kept network namespaces belong to the old tools (sandbox.h). */
	netns_pool_forget_kept(&s->netns);
	/* Running calls hold their own reference: they finish under old. */
	admin_config_changed(s, old, n);
	config_unref(old);
	log_info("config", "reloaded %s: %zu tools, digest %.16s", n->dir, n->ntools, n->digest);
	server_audit(s, config_record("config_load", n), NULL);
	notify_ready(s, "configuration reloaded");
	return 0;
}

static void begin_drain(struct server *s)
{
	if (s->draining)
		return;
	s->draining = true;
	s->drain_deadline_ms = server_now_ms() + s->opt.grace_ms;
	log_info("broker", "draining: no new calls; %u in flight, grace %u ms", s->ncalls, s->opt.grace_ms);
	notify(s, "STOPPING=1\nSTATUS=draining: no new calls; %u in flight, grace %u s", s->ncalls,
	       s->opt.grace_ms / 1000);
	/* Nobody will approve a call of a broker that is going away. */
	call_end_all_held(s, "the broker is stopping; the call waiting for approval was refused");
	if (s->listen_w.fd >= 0) {
		server_unwatch(s, &s->listen_w);
		close(s->listen_w.fd);
		s->listen_w.fd = -1;
	}
}

static void on_signal(struct server *s)
{
	struct signalfd_siginfo si;
	while (read(s->signal_w.fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGHUP) {
			struct tg_error err;
			(void)server_reload(s, &err);   /* logged, audited and told to systemd there */
		}
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			begin_drain(s);
	}
}

/* ---- init, loop, fini ---- */

int server_init(struct server *s, const struct server_options *o, struct tg_error *err)
{
	memset(s, 0, sizeof *s);
	s->opt = *o;
	s->epfd = -1;
	s->listen_w = (struct watch){ WATCH_LISTEN, -1, s };
	s->netns.home_fd = -1;
	s->signal_w = (struct watch){ WATCH_SIGNAL, -1, s };
	/* First, so that NOTIFY_SOCKET and WATCHDOG_* leave the environment
	   before anything is started. */
	struct tg_error nerr;
	if (sdnotify_open(&s->notify, server_now_ms(), &nerr) != 0)
		log_warn("broker", "not notifying systemd: %s", nerr.msg);

	fd_limits_init(s);
	s->config = config_load(o->config_dir, err);
	if (!s->config)
		return -1;
	s->audit = audit_open(o->state_dir, err);
	if (!s->audit)
		return tg_err_prefix(err, "audit log in %s", o->state_dir);
	audit_set_segment_bytes(s->audit, o->audit_segment_bytes);
	s->disabled = disabled_open(o->state_dir, err);
	if (!s->disabled)
		return tg_err_prefix(err, "kill switch");

	struct idem_options io = { o->idem_window_ms, o->idem_max_entries, o->idem_max_bytes };
	if (idem_open(o->state_dir, &io, (uint64_t)time(NULL) * 1000, &s->idem, err) != 0)
		return tg_err_prefix(err, "idempotency store");

	s->ratelimit = ratelimit_new();
	if (!s->ratelimit)
		return tg_err(err, "out of memory");
	if (uid_pool_init(&s->uids, o->dynamic_first, o->dynamic_last, err) != 0)
		return tg_err_prefix(err, "--dynamic-uids");
	/* Single-use tokens already spent, from the log itself (see replay.h). */
	s->replay = replay_new();
	char *log_path = NULL;
	uint64_t spent = 0;
	if (!s->replay || asprintf(&log_path, "%s/audit", o->state_dir) < 0)
		return tg_err(err, "out of memory");
	int rrc = replay_load_audit(s->replay, log_path, (int64_t)time(NULL), &spent, err);
	free(log_path);
	if (rrc != 0)
		return tg_err_prefix(err, "rebuilding the replay cache");
	if (spent)
		log_info("broker", "%llu single-use delegation tokens are spent and not yet expired",
		         (unsigned long long)spent);

	signal(SIGPIPE, SIG_IGN);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	s->signal_w.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->signal_w.fd < 0 || s->epfd < 0)
		return tg_err_errno(err, "signalfd/epoll_create1");
	if (server_metrics_start(s, err) != 0)
		return -1;

	if (netns_pool_init(&s->netns, NETNS_POOL_TARGET, err) != 0)
		return -1;
	/* cgroups when the host lets the broker make them; else rlimits alone,
	   said in the log and in toolgate/status. */
	if (cgroup_tree_init(&s->cgroups, "/sys/fs/cgroup", err) != 0)
		return -1;
	cgroup_pool_init(&s->cgpool, s->cgroups, CGROUP_POOL_TARGET);
	s->spares.per_tool = o->spares;
	log_info("sandbox", "resources: %s", cgroup_tree_describe(s->cgroups));
	sandbox_detect(s->landlock, sizeof s->landlock);
	log_info("sandbox", "%s", s->landlock);
	kaudit_start(s);

	char activated[sizeof ((struct sockaddr_un *)NULL)->sun_path + 2];
	const char *listening_on = o->socket_path;
	int fd = o->socket_fd;
	if (fd < 0) {
		fd = sdlisten_socket(activated, sizeof activated, err);
		if (fd == -1)
			return -1;
		if (fd >= 0)
			listening_on = activated;
	}
	if (fd < 0)
		fd = listen_on_path(s, err);
	if (fd < 0)
		return -1;
	s->listen_w.fd = fd;
	if (server_watch(s, &s->listen_w, EPOLLIN) != 0 || server_watch(s, &s->signal_w, EPOLLIN) != 0)
		return tg_err_errno(err, "epoll_ctl");

	server_audit(s, json_pack("{s:s, s:s, s:s, s:i}", "event", "broker_start", "broker_id",
	                          o->broker_id, "version", TOOLGATE_VERSION, "pid", (int)getpid()), NULL);
	server_audit(s, config_record("config_load", s->config), NULL);
	/* Approvals a previous broker left pending can no longer be decided. */
	char *alog = NULL;
	if (asprintf(&alog, "%s/audit", o->state_dir) < 0)
		return tg_err(err, "out of memory");
	int prc = call_refuse_pending_approvals(s, alog, err);
	free(alog);
	if (prc != 0)
		return tg_err_prefix(err, "refusing pending approvals");
	if (audit_sync(s->audit, err) != 0)
		return tg_err_prefix(err, "audit log");
	if (o->forward_host) {
		char fwd_log[PATH_MAX], cursor[PATH_MAX];
		snprintf(fwd_log, sizeof fwd_log, "%.4000s/audit/audit.log", o->state_dir);
		snprintf(cursor, sizeof cursor, "%.4000s/audit/forward.cursor", o->state_dir);
		struct forward_options fo = {
			.host = o->forward_host, .port = o->forward_port, .ca_file = o->forward_ca,
			.cert_file = o->forward_cert, .key_file = o->forward_key, .log_path = fwd_log,
			.cursor_path = cursor, .broker_id = o->broker_id,
		};
		if (forward_start(&s->forwarder, &fo, err) != 0)
			return tg_err_prefix(err, "--forward");
		log_info("audit", "forwarding the audit log to %s:%u", o->forward_host,
		         o->forward_port ? o->forward_port : FORWARD_DEFAULT_PORT);
	}
	log_info("broker", "listening on %s%s as broker %s: %zu tools from %s", listening_on,
	         listening_on == o->socket_path ? "" : " (socket activation)",
	         o->broker_id, s->config->ntools, s->config->dir);
	return 0;
}

/* Release what the last batch closed (see server.h: the graveyard). */
static void free_graveyards(struct server *s)
{
	call_free_graveyard(s);
	while (s->grave_conns) {
		struct conn *c = s->grave_conns;
		s->grave_conns = c->grave_next;
		free(c->in);
		free(c->out);
		free(c->default_token);
		json_decref(c->listens);
		free(c);
	}
}

/* A signed checkpoint of the audit log, when one is due (audit.h), or
   whenever there are records it would cover (at stop). */
static void write_checkpoint(struct server *s, bool at_stop)
{
	struct tg_error err;
	uint64_t now = server_now_ms(), next;
	if (s->audit_error[0] || !s->audit)
		return;
	if (!audit_checkpoint_due(s->audit, at_stop ? UINT64_MAX : now, &next))
		return;
	if (audit_checkpoint(s->audit, s->opt.broker_id, now, &err) == 0) {
		if (s->checkpoint_failing)
			log_info("audit", "checkpoints are written again");
		s->checkpoint_failing = false;
	} else if (!s->checkpoint_failing || at_stop) {
		log_warn("audit", "checkpoint: %s (tried again every %u ms; not logged again until it "
		         "works)", err.msg, AUDIT_CHECKPOINT_RETRY_MS);
		s->checkpoint_failing = true;
	}
}

/* Is any answer still waiting to be written to its client? */
static bool replies_unsent(const struct server *s)
{
	for (const struct conn *c = s->conns; c; c = c->next)
		if (!c->dead && c->out_len > c->out_off)
			return true;
	return false;
}

/* Make the queued records durable (one fdatasync for all) when one of
   them is a decision (a tool waits at its gate for its start record, a
   client for its denial), when the oldest queued outcome has waited
   AUDIT_OUTCOME_SYNC_MS, or when forced; otherwise only write them to the
   file, so that the answers they describe can go out: a crash of the
   broker then loses nothing, and a crash of the machine at most the last
   AUDIT_OUTCOME_SYNC_MS of outcomes, never a decision. */
static void audit_commit(struct server *s, bool force)
{
	struct tg_error err;
	uint64_t now = server_now_ms();
	bool sync = force || s->draining || audit_sync_due(s->audit) ||
	            (s->audit_outcome_since_ms && now - s->audit_outcome_since_ms >= AUDIT_OUTCOME_SYNC_MS);
	if (!sync) {
		if (audit_write(s->audit, &err) != 0)
			note_audit_failure(s, &err);
		return;
	}
	uint64_t t0 = metrics_now_ns();
	if (audit_sync(s->audit, &err) != 0)
		note_audit_failure(s, &err);
	else
		s->audit_outcome_since_ms = 0;
	/* Once per episode: the log is safe, it only stopped rotating. */
	const char *why = audit_rotation_error(s->audit);
	if (why && !s->rotation_warned)
		log_warn("audit", "audit.log is not rotated into a segment (tried again at each "
		         "write): %s", why);
	s->rotation_warned = why != NULL;
	metrics_audit_synced(s->metrics, metrics_now_ns() - t0);
}

/* The commit phase of one iteration (see server.h). */
static void commit(struct server *s)
{
	/* First, so that the calls of a connection closed now are settled in
	   this commit (a queued one is finished by the spawn below). */
	for (struct conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		if (c->close_reason)
			conn_close(c, c->close_reason);
	}
	call_spawn_queued(s);
	if (audit_pending(s->audit))
		audit_commit(s, false);
	write_checkpoint(s, false);
	call_release_gated(s);
	if (s->spares.ngraves)
		spares_reap(s);
	for (struct conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		if (c->close_reason)
			conn_close(c, c->close_reason);
		else if (c->out_len > c->out_off || (c->read_closed && c->ncalls == 0))
			conn_flush(c);
	}
	free_graveyards(s);
}

int server_run(struct server *s, struct tg_error *err)
{
	struct epoll_event ev[64];
	(void)err;
	notify_ready(s, "started");
	while (!s->stop) {
		int timeout = -1;
		/* The watchdog is pinged from the loop itself: a loop that is stuck
		   stops pinging, and systemd restarts the broker (WatchdogSec=). */
		struct tg_error werr;
		if (sdnotify_watchdog(&s->notify, server_now_ms(), &werr) != 0 && s->notify.failures == 1)
			log_warn("broker", "%s (further failures are not logged)", werr.msg);
		int64_t wd_wait = sdnotify_watchdog_wait_ms(&s->notify, server_now_ms());
		if (wd_wait >= 0)
			timeout = (int)(wd_wait + 1);
		try_audit_recovery(s);
		if (s->audit_error[0] && (timeout < 0 || timeout > AUDIT_RETRY_MS))
			timeout = AUDIT_RETRY_MS;
		/* Outcomes written but not yet durable: durable within
		   AUDIT_OUTCOME_SYNC_MS even while the loop does idle work or
		   waits. */
		if (s->audit_outcome_since_ms && !s->audit_error[0]) {
			uint64_t now = server_now_ms(), at = s->audit_outcome_since_ms + AUDIT_OUTCOME_SYNC_MS;
			if (!audit_pending(s->audit))
				s->audit_outcome_since_ms = 0;   /* synced meanwhile (a recovery) */
			else if (now >= at)
				audit_commit(s, true);
			else if (timeout < 0 || at - now < (uint64_t)timeout)
				timeout = (int)(at - now);
		}
		accept_resume(s);
		if (s->accept_paused && (timeout < 0 || timeout > ACCEPT_PAUSE_MS))
			timeout = ACCEPT_PAUSE_MS;
		if (s->spares.ngraves && (timeout < 0 || timeout > GRAVES_POLL_MS))
			timeout = GRAVES_POLL_MS;
		if (s->draining) {
			uint64_t now = server_now_ms();
			/* Done when every call has ended and its answer is out (a
			   result larger than the socket's buffer leaves in pieces);
			   a client that does not read is not waited for past the
			   deadline. */
			if (s->ncalls == 0 && (!replies_unsent(s) || now >= s->drain_deadline_ms))
				break;
			if (s->ncalls && now >= s->drain_deadline_ms && s->drain_killed) {
				/* Killed, and still not reaped: stop without them. */
				log_error("broker", "%u calls did not end within %u ms of being killed; "
				          "stopping without their end records", s->ncalls, DRAIN_REAP_MS);
				break;
			}
			if (s->ncalls && now >= s->drain_deadline_ms) {
				call_kill_all(s, "the broker is stopping and the grace period ran out");
				s->drain_killed = true;
				s->drain_deadline_ms = now + DRAIN_REAP_MS;
			}
			int drain_wait = (int)(s->drain_deadline_ms > now ? s->drain_deadline_ms - now : 0) + 1;
			if (timeout < 0 || drain_wait < timeout)
				timeout = drain_wait;
		}
		/* The time-based checkpoint: wake up for it. */
		uint64_t cp_at = 0, now_ms = server_now_ms();
		if (!s->audit_error[0] && audit_checkpoint_due(s->audit, UINT64_MAX, &cp_at)) {
			uint64_t wait = cp_at > now_ms ? cp_at - now_ms + 1 : 0;
			if (timeout < 0 || wait < (uint64_t)timeout)
				timeout = (int)wait;
		}
		/* With nothing else to do, make a network namespace, a cgroup or a
		   spare sandbox for a later call (see sandbox.h); never while events
		   wait, and never out of the descriptors kept for calls.  Removing
		   spent cgroups gives descriptors back: that is always done. */
		bool netns_work = netns_pool_wants_more(&s->netns) && server_now_ms() >= s->netns_retry_ms;
		bool making = netns_work || cgroup_pool_has_work(&s->cgpool) || spares_have_work(s);
		bool room = making && fds_to_spare(s);
		bool idle_work = !s->draining && (room || s->cgpool.nspent > 0);
		int n = epoll_wait(s->epfd, ev, 64, idle_work ? 0 : timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return tg_err_errno(err, "epoll_wait");
		}
		if (n == 0 && idle_work) {
			struct tg_error perr;
			if (room && spares_have_work(s)) {
				spares_work_one(s);
			} else if (cgroup_pool_has_work(&s->cgpool)) {   /* spent ones first */
				if (cgroup_pool_work_one(&s->cgpool, &perr) != 0)
					log_warn("sandbox", "cgroup pool: %s", perr.msg);
			} else if (netns_pool_fill_one(&s->netns, &perr) != 0) {
				s->netns_retry_ms = server_now_ms() + NETNS_RETRY_MS;
				if (!s->netns_failing)
					log_warn("sandbox", "network namespace pool: %s (tried again while idle, "
					         "at most every %u ms; not logged again until it works)", perr.msg,
					         NETNS_RETRY_MS);
				s->netns_failing = true;
			} else {
				s->netns_failing = false;
			}
			continue;
		}
		for (int i = 0; i < n; i++) {
			struct watch *w = ev[i].data.ptr;
			switch (w->kind) {
			case WATCH_LISTEN:
				if (w->fd >= 0)
					accept_clients(s);
				break;
			case WATCH_SIGNAL:
				on_signal(s);
				break;
			case WATCH_KAUDIT:
				server_kaudit_drain(s);
				break;
			case WATCH_METRICS:
				metrics_http_run(s->metrics_http);
				break;
			case WATCH_CONN: {
				struct conn *c = w->owner;
				if (!c->dead)
					conn_on_event(c, ev[i].events);
				break;
			}
			default:
				call_on_event(w, ev[i].events);
				break;
			}
		}
		commit(s);
	}
	server_audit(s, json_pack("{s:s, s:s, s:I}", "event", "broker_stop", "reason",
	                          "SIGTERM: drained", "calls", (json_int_t)s->calls_total), NULL);
	commit(s);
	/* The last checkpoint covers the broker_stop record too. */
	write_checkpoint(s, true);
	log_info("broker", "stopped after %llu calls", (unsigned long long)s->calls_total);
	return 0;
}

void server_fini(struct server *s)
{
	while (s->conns)
		conn_close(s->conns, "broker stopping");
	free_graveyards(s);
	if (s->listen_w.fd >= 0)
		close(s->listen_w.fd);
	if (s->owns_socket_path)
		unlink(s->opt.socket_path);
	spares_fini(s);
	/* After the last record is on disk, so that it goes out too. */
	forward_stop(s->forwarder, NULL);
	s->forwarder = NULL;
	netns_pool_fini(&s->netns);
	cgroup_pool_fini(&s->cgpool);
	kaudit_stop(s);
	cgroup_tree_free(s->cgroups);
	s->cgroups = NULL;
	server_metrics_stop(s);
	if (s->signal_w.fd >= 0)
		close(s->signal_w.fd);
	sdnotify_close(&s->notify);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->audit)
		audit_close(s->audit);
	replay_free(s->replay);
	idem_close(s->idem);
	ratelimit_free(s->ratelimit);
	disabled_free(s->disabled);
	uid_pool_fini(&s->uids);
	if (s->config)
		config_unref(s->config);
}
