/*
 * kaudit.c: reading and parsing the kernel's audit records (see kaudit.h).
 *
 * Three parts: the record parser (kaudit_parse), which is the only code that
 * looks at record text; the reader (kaudit_read), which takes records off the
 * multicast socket and ties each Landlock denial to the pid that created its
 * domain; and the audit switch (kaudit_get_enabled/kaudit_set_enabled),
 * a request/acknowledge exchange on a separate unicast socket.
 *
 * Record text is written by the kernel, but much of it comes from whoever
 * the kernel is reporting on: a file name, a socket name, a program's comm.
 * The kernel quotes a value only when it is printable without spaces or
 * quotes and writes it in hex otherwise, so a value never contains a space
 * and a quoted one never contains a quote; the parser relies on no more than
 * that, with fixed limits on record length and field count.
 */
#include "kaudit.h"

#include <errno.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* --- parsing one record --- */

struct field {
	const char *key, *val;
	size_t klen, vlen;
	bool quoted;
};

struct record {
	uint64_t serial, time_ms;
	struct field f[KAUDIT_FIELDS_MAX];
	size_t n;
};

/* Unsigned decimal (base 10) or hex (base 16) of exactly len digits, at most max. */
static int parse_uint(const char *s, size_t len, int base, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d;
		char c = s[i];
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		if (d > max || v > (max - d) / (uint64_t)base)
			return -1;
		v = v * (uint64_t)base + d;
	}
	*out = v;
	return 0;
}

/* Length of the run of decimal digits at s[0..len). */
static size_t digits(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* "audit(SECONDS.MS:SERIAL): " then the fields; 0 or -1 if malformed. */
static int split_record(const char *s, size_t len, struct record *r)
{
	static const char head[] = "audit(";
	size_t i = sizeof head - 1, d;
	uint64_t sec, ms;
	if (len < i || memcmp(s, head, i) != 0)
		return -1;
	d = digits(s + i, len - i);
	if (parse_uint(s + i, d, 10, UINT64_MAX / 1000 - 1000, &sec) != 0)
		return -1;
	i += d;
	if (i >= len || s[i++] != '.')
		return -1;
	d = digits(s + i, len - i);
	if (d != 3 || parse_uint(s + i, d, 10, 999, &ms) != 0)
		return -1;
	i += d;
	if (i >= len || s[i++] != ':')
		return -1;
	d = digits(s + i, len - i);
	if (parse_uint(s + i, d, 10, UINT64_MAX, &r->serial) != 0)
		return -1;
	i += d;
	if (len - i < 2 || s[i] != ')' || s[i + 1] != ':')
		return -1;
	i += 2;
	r->time_ms = sec * 1000 + ms;

	r->n = 0;
	while (i < len) {
		if (s[i] == ' ') {
			i++;
			continue;
		}
		size_t k = i;
		while (i < len && s[i] != '=' && s[i] != ' ')
			i++;
		if (i >= len || s[i] != '=') {
			/* A bare word is no field of ours; it cannot hide a space. */
			continue;
		}
		if (r->n == KAUDIT_FIELDS_MAX)
			return -1;
		struct field *f = &r->f[r->n++];
		f->key = s + k;
		f->klen = i - k;
		i++;
		if (i < len && s[i] == '"') {
			const char *end = memchr(s + i + 1, '"', len - i - 1);
			if (!end)
				return -1;
			f->val = s + i + 1;
			f->vlen = (size_t)(end - f->val);
			f->quoted = true;
			i = (size_t)(end - s) + 1;
			if (i < len && s[i] != ' ')
				return -1;
		} else {
			f->val = s + i;
			while (i < len && s[i] != ' ')
				i++;
			f->vlen = (size_t)(s + i - f->val);
			f->quoted = false;
		}
	}
	return 0;
}

static const struct field *get(const struct record *r, const char *key)
{
	size_t kl = strlen(key);
	for (size_t i = 0; i < r->n; i++)
		if (r->f[i].klen == kl && memcmp(r->f[i].key, key, kl) == 0)
			return &r->f[i];
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool is_hex_string(const char *s, size_t len)
{
	if (len == 0 || len % 2 != 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

/*
 * A string the kernel may have hex-encoded: decode it into dst.  A NUL can
 * only come from an abstract unix socket name; it is written '@', the way
 * ss(8) shows those names.
 */
static void put_string(char *dst, size_t cap, const struct field *f, bool *truncated)
{
	size_t o = 0;
	if (!f->quoted && is_hex_string(f->val, f->vlen)) {
		for (size_t i = 0; i < f->vlen; i += 2) {
			if (o + 1 >= cap) {
				*truncated = true;
				break;
			}
			char c = (char)(hexval(f->val[i]) << 4 | hexval(f->val[i + 1]));
			dst[o++] = c ? c : '@';
		}
	} else {
		o = f->vlen < cap ? f->vlen : cap - 1;
		if (o < f->vlen)
			*truncated = true;
		memcpy(dst, f->val, o);
	}
	dst[o] = '\0';
}

static int get_uint(const struct record *r, const char *key, int base, uint64_t max, uint64_t *out)
{
	const struct field *f = get(r, key);
	if (!f || f->quoted)
		return -1;
	const char *v = f->val;
	size_t l = f->vlen;
	if (base == 16 && l > 2 && v[0] == '0' && v[1] == 'x') {
		v += 2;
		l -= 2;
	}
	return parse_uint(v, l, base, max, out);
}

static int get_pid(const struct record *r, const char *key, pid_t *out)
{
	uint64_t v;
	if (get_uint(r, key, 10, INT_MAX, &v) != 0)
		return -1;
	*out = (pid_t)v;
	return 0;
}

static int parse_denial(const struct record *r, struct kaudit_event *ev)
{
	const struct field *f = get(r, "blockers");
	if (!f || f->quoted || f->vlen == 0)
		return -1;
	for (size_t i = 0; i < f->vlen; i++) {
		char c = f->val[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ','))
			return -1;
	}
	put_string(ev->blockers, sizeof ev->blockers, f, &ev->truncated);

	if ((f = get(r, "path")) || (f = get(r, "name")))
		put_string(ev->path, sizeof ev->path, f, &ev->truncated);
	if ((f = get(r, "daddr")) || (f = get(r, "saddr")))
		put_string(ev->addr, sizeof ev->addr, f, &ev->truncated);
	uint64_t port;
	if (get_uint(r, "dest", 10, 65535, &port) == 0 || get_uint(r, "src", 10, 65535, &port) == 0)
		ev->port = (unsigned)port;
	if (get(r, "opid") && get_pid(r, "opid", &ev->target_pid) != 0)
		return -1;
	return 0;
}

static int parse_domain(const struct record *r, struct kaudit_event *ev)
{
	const struct field *st = get(r, "status");
	if (!st || st->quoted)
		return -1;
	if (st->vlen == 9 && memcmp(st->val, "allocated", 9) == 0) {
		ev->type = KAUDIT_LANDLOCK_DOMAIN;
		return get_pid(r, "pid", &ev->pid);
	}
	if (st->vlen == 11 && memcmp(st->val, "deallocated", 11) == 0) {
		ev->type = KAUDIT_LANDLOCK_DOMAIN_END;
		return get_uint(r, "denials", 10, UINT64_MAX, &ev->denials);
	}
	return 0;  /* a status this kernel did not have: not ours */
}

static int parse_seccomp(const struct record *r, struct kaudit_event *ev)
{
	uint64_t v;
	const struct field *f;
	if (get_pid(r, "pid", &ev->pid) != 0)
		return -1;
	if (get_uint(r, "syscall", 10, INT_MAX, &v) != 0)
		return -1;
	ev->syscall = (int)v;
	if (get_uint(r, "arch", 16, UINT32_MAX, &v) != 0)
		return -1;
	ev->arch = (uint32_t)v;
	if (get_uint(r, "code", 16, UINT32_MAX, &v) != 0)
		return -1;
	ev->code = (uint32_t)v;
	if ((f = get(r, "exe")))
		put_string(ev->path, sizeof ev->path, f, &ev->truncated);
	return 0;
}

int kaudit_parse(int type, const char *text, size_t len, struct kaudit_event *ev)
{
	struct record r, *rec = &r;
	memset(ev, 0, sizeof *ev);
	if (type != KAUDIT_REC_LANDLOCK_ACCESS && type != KAUDIT_REC_LANDLOCK_DOMAIN &&
	    type != KAUDIT_REC_SECCOMP)
		return 0;
	/* The kernel may or may not count a terminating NUL in the length. */
	while (len > 0 && text[len - 1] == '\0')
		len--;
	if (len > KAUDIT_RECORD_MAX || memchr(text, '\0', len))
		return -1;
	if (split_record(text, len, rec) != 0)
		return -1;
	ev->serial = rec->serial;
	ev->time_ms = rec->time_ms;

	int rc;
	switch (type) {
	case KAUDIT_REC_SECCOMP:
		ev->type = KAUDIT_SECCOMP;
		rc = parse_seccomp(rec, ev);
		break;
	case KAUDIT_REC_LANDLOCK_ACCESS:
		ev->type = KAUDIT_LANDLOCK_DENIAL;
		rc = get_uint(rec, "domain", 16, UINT64_MAX, &ev->domain) != 0 ? -1 : parse_denial(rec, ev);
		break;
	default:
		if (get_uint(rec, "domain", 16, UINT64_MAX, &ev->domain) != 0)
			return -1;
		rc = parse_domain(rec, ev);
		if (rc == 0 && ev->type == 0)
			return 0;
		break;
	}
	return rc == 0 ? 1 : -1;
}

/* --- reading the multicast socket --- */

#define KAUDIT_DOMAINS 1024   /* live logged domains remembered (oldest forgotten first) */
#define KAUDIT_PENDING 16     /* denials waiting for their domain record */
#define KAUDIT_PENDING_MS 2000
#define KAUDIT_BATCH 256      /* messages per kaudit_read */
#define KAUDIT_RCVBUF (4 << 20)

struct kaudit {
	int fd;
	struct {
		uint64_t domain;  /* 0: free */
		pid_t pid;
	} domains[KAUDIT_DOMAINS];
	size_t next_domain;       /* round-robin victim when the table is full */
	struct {
		struct kaudit_event ev;
		uint64_t since_ms;
	} pending[KAUDIT_PENDING];
	size_t npending;
	/* One netlink message: header plus the longest record. */
	char buf[NLMSG_SPACE(KAUDIT_RECORD_MAX) + 1024] __attribute__((aligned(NLMSG_ALIGNTO)));
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int kaudit_open(struct kaudit **out, struct tg_error *err)
{
	*out = NULL;
	struct kaudit *k = calloc(1, sizeof *k);
	if (!k)
		return tg_err_errno(err, "kernel audit log: allocating the reader");
	k->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_AUDIT);
	if (k->fd < 0) {
		tg_err_errno(err, "kernel audit log: socket(NETLINK_AUDIT) (is the kernel built with CONFIG_AUDIT?)");
		free(k);
		return -1;
	}
	/* A burst of denials must not overflow the queue before the event loop
	   gets to it; only root may go past rmem_max, so try that first. */
	int sz = KAUDIT_RCVBUF;
	if (setsockopt(k->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)
		(void)setsockopt(k->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = 1U << (AUDIT_NLGRP_READLOG - 1),
	};
	if (bind(k->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (errno == EPERM)
			tg_err_errno(err, "kernel audit log: joining the read-log multicast group needs "
				     "CAP_AUDIT_READ in the initial user namespace");
		else
			tg_err_errno(err, "kernel audit log: joining the read-log multicast group");
		close(k->fd);
		free(k);
		return -1;
	}
	*out = k;
	return 0;
}

int kaudit_fd(const struct kaudit *k)
{
	return k->fd;
}

void kaudit_close(struct kaudit *k)
{
	if (!k)
		return;
	close(k->fd);
	free(k);
}

static size_t domain_slot(const struct kaudit *k, uint64_t domain)
{
	for (size_t i = 0; i < KAUDIT_DOMAINS; i++)
		if (k->domains[i].domain == domain)
			return i;
	return KAUDIT_DOMAINS;
}

static pid_t domain_pid(const struct kaudit *k, uint64_t domain)
{
	size_t i = domain_slot(k, domain);
	return i < KAUDIT_DOMAINS ? k->domains[i].pid : 0;
}

static void domain_remember(struct kaudit *k, uint64_t domain, pid_t pid)
{
	size_t i = domain_slot(k, domain);
	if (i == KAUDIT_DOMAINS)
		i = domain_slot(k, 0);
	if (i == KAUDIT_DOMAINS) {
		i = k->next_domain;
		k->next_domain = (k->next_domain + 1) % KAUDIT_DOMAINS;
	}
	k->domains[i].domain = domain;
	k->domains[i].pid = pid;
}

static void domain_forget(struct kaudit *k, uint64_t domain)
{
	size_t i = domain_slot(k, domain);
	if (i < KAUDIT_DOMAINS)
		k->domains[i].domain = 0;
}

/* Deliver pending entry i with pid and drop it from the list (order kept). */
static void pending_deliver(struct kaudit *k, size_t i, pid_t pid, kaudit_fn fn, void *arg)
{
	struct kaudit_event ev = k->pending[i].ev;
	memmove(&k->pending[i], &k->pending[i + 1], (k->npending - i - 1) * sizeof k->pending[0]);
	k->npending--;
	ev.pid = pid;
	fn(&ev, arg);
}

/* Deliver, in order, the pending denials of domain. */
static void pending_flush(struct kaudit *k, uint64_t domain, pid_t pid, kaudit_fn fn, void *arg)
{
	for (size_t i = 0; i < k->npending;) {
		if (k->pending[i].ev.domain == domain)
			pending_deliver(k, i, pid, fn, arg);
		else
			i++;
	}
}

static void pending_expire(struct kaudit *k, kaudit_fn fn, void *arg)
{
	uint64_t now = now_ms();
	while (k->npending > 0 && now - k->pending[0].since_ms >= KAUDIT_PENDING_MS)
		pending_deliver(k, 0, 0, fn, arg);
}

static void handle_record(struct kaudit *k, int type, const char *text, size_t len,
			  kaudit_fn fn, void *arg)
{
	struct kaudit_event ev;
	if (kaudit_parse(type, text, len, &ev) != 1)
		return;
	switch (ev.type) {
	case KAUDIT_LANDLOCK_DENIAL:
		ev.pid = domain_pid(k, ev.domain);
		if (ev.pid != 0) {
			fn(&ev, arg);
			break;
		}
		/* A domain's first denial precedes the record naming its pid. */
		if (k->npending == KAUDIT_PENDING)
			pending_deliver(k, 0, 0, fn, arg);
		k->pending[k->npending].ev = ev;
		k->pending[k->npending].since_ms = now_ms();
		k->npending++;
		break;
	case KAUDIT_LANDLOCK_DOMAIN:
		domain_remember(k, ev.domain, ev.pid);
		fn(&ev, arg);
		pending_flush(k, ev.domain, ev.pid, fn, arg);
		break;
	case KAUDIT_LANDLOCK_DOMAIN_END:
		ev.pid = domain_pid(k, ev.domain);
		pending_flush(k, ev.domain, ev.pid, fn, arg);
		domain_forget(k, ev.domain);
		fn(&ev, arg);
		break;
	default:
		fn(&ev, arg);
		break;
	}
}

int kaudit_read(struct kaudit *k, kaudit_fn fn, void *arg, struct tg_error *err)
{
	for (int batch = 0; batch < KAUDIT_BATCH; batch++) {
		struct sockaddr_nl from;
		struct iovec iov = { .iov_base = k->buf, .iov_len = sizeof k->buf };
		struct msghdr mh = {
			.msg_name = &from, .msg_namelen = sizeof from,
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		ssize_t n = recvmsg(k->fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) {
				struct kaudit_event lost = { .type = KAUDIT_LOST };
				fn(&lost, arg);
				continue;
			}
			return tg_err_errno(err, "kernel audit log: recvmsg");
		}
		/* Only the kernel (port 0) speaks for the kernel; an oversize message
		   was cut and is not trusted either. */
		if (mh.msg_namelen != sizeof from || from.nl_pid != 0 || (mh.msg_flags & MSG_TRUNC))
			continue;
		/* Signed: NLMSG_NEXT steps past an unpadded last message. */
		int left = (int)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)k->buf; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_len < NLMSG_HDRLEN)
				break;
			handle_record(k, h->nlmsg_type, NLMSG_DATA(h), h->nlmsg_len - NLMSG_HDRLEN, fn, arg);
		}
	}
	pending_expire(k, fn, arg);
	return 0;
}

/* --- the audit switch --- */

/*
 * Send one request on a fresh unicast audit socket and wait (bounded) for
 * the answer: an AUDIT_GET reply into *got, or the acknowledgement of a set.
 */
static int audit_request(uint16_t type, const struct audit_status *set, struct audit_status *got,
			 const char *what, struct tg_error *err)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	if (fd < 0)
		return tg_err_errno(err, "kernel audit: %s: socket(NETLINK_AUDIT)", what);
	struct timeval tv = { .tv_sec = 2 };
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

	struct {
		struct nlmsghdr h;
		struct audit_status st;
	} req;
	memset(&req, 0, sizeof req);
	req.h.nlmsg_type = type;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.h.nlmsg_seq = 1;
	req.h.nlmsg_len = NLMSG_LENGTH(set ? sizeof *set : 0);
	if (set)
		req.st = *set;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
		tg_err_errno(err, "kernel audit: %s", what);
		close(fd);
		return -1;
	}

	/* The kernel acknowledges a get before it answers it. */
	bool acked = false, answered = !got;
	union {
		struct nlmsghdr h;
		char b[1024];
	} buf;
	for (int tries = 0; tries < 8 && !(acked && answered); tries++) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(fd, &buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			tg_err_errno(err, "kernel audit: %s: no answer", what);
			close(fd);
			return -1;
		}
		if (from.nl_pid != 0)
			continue;
		int left = (int)n;
		for (struct nlmsghdr *h = &buf.h; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_seq != 1)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (e->error != 0) {
					errno = -e->error;
					if (errno == EPERM)
						tg_err_errno(err, "kernel audit: %s needs CAP_AUDIT_CONTROL in the "
							     "initial namespaces", what);
					else
						tg_err_errno(err, "kernel audit: %s", what);
					close(fd);
					return -1;
				}
				acked = true;
			} else if (got && h->nlmsg_type == AUDIT_GET) {
				size_t l = h->nlmsg_len - NLMSG_HDRLEN;
				memset(got, 0, sizeof *got);
				memcpy(got, NLMSG_DATA(h), l < sizeof *got ? l : sizeof *got);
				answered = true;
			}
		}
	}
	close(fd);
	if (!(acked && answered)) {
		errno = EPROTO;
		return tg_err_errno(err, "kernel audit: %s: no answer", what);
	}
	return 0;
}

int kaudit_get_enabled(struct tg_error *err)
{
	struct audit_status st;
	if (audit_request(AUDIT_GET, NULL, &st, "reading the audit switch (AUDIT_GET)", err) != 0)
		return -1;
	return (int)st.enabled;
}

int kaudit_set_enabled(int enabled, struct tg_error *err)
{
	if (enabled != 0 && enabled != 1)
		return tg_err(err, "kernel audit: the audit switch can be set to 0 or 1, not %d", enabled);
	int now = kaudit_get_enabled(err);
	if (now < 0)
		return -1;
	if (now == enabled)
		return 0;
	if (now == 2)
		return tg_err(err, "kernel audit: the audit switch is locked (enabled=2) until reboot");
	struct audit_status st = { .mask = AUDIT_STATUS_ENABLED, .enabled = (uint32_t)enabled };
	return audit_request(AUDIT_SET, &st, NULL, "setting the audit switch (AUDIT_SET)", err);
}
