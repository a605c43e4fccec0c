/*
 * sdnotify.c: systemd's notification protocol, spoken by hand (see
 * sdnotify.h).  The protocol is one datagram per message to NOTIFY_SOCKET;
 * the service manager reads the sender's credentials from the socket, so
 * nothing but the text needs sending.
 */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A decimal that fits in 64 bits, nothing else: these come from our parent,
   but a mistyped Environment= line should be named, not misread. */
static int parse_u64(const char *s, uint64_t *out)
{
	if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 19)
		return -1;
	*out = strtoull(s, NULL, 10);
	return 0;
}

int sdnotify_open(struct sdnotify *n, uint64_t now_ms, struct tg_error *err)
{
	memset(n, 0, sizeof *n);
	n->fd = -1;
	const char *sock = getenv("NOTIFY_SOCKET");
	const char *wd_usec = getenv("WATCHDOG_USEC"), *wd_pid = getenv("WATCHDOG_PID");
	/* Copies: unsetenv() may free the strings getenv() returned. */
	char sock_copy[sizeof n->addr.sun_path + 1] = "", usec_copy[32] = "", pid_copy[32] = "";
	bool have_sock = sock != NULL, have_usec = wd_usec != NULL, have_pid = wd_pid != NULL;
	int too_long = (sock && strlen(sock) >= sizeof sock_copy) || (wd_usec && strlen(wd_usec) >= 32) ||
	               (wd_pid && strlen(wd_pid) >= 32);
	if (!too_long) {
		if (sock)
			strcpy(sock_copy, sock);
		if (wd_usec)
			strcpy(usec_copy, wd_usec);
		if (wd_pid)
			strcpy(pid_copy, wd_pid);
	}
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (!have_sock)
		return 0;
	if (too_long)
		return tg_err(err, "NOTIFY_SOCKET, WATCHDOG_USEC or WATCHDOG_PID: value too long");

	n->addr.sun_family = AF_UNIX;
	size_t len = strlen(sock_copy);
	if (sock_copy[0] == '@' && len > 1) {
		/* Abstract namespace: a leading NUL, and the length says where the
		   name ends (no trailing NUL). */
		n->addr.sun_path[0] = '\0';
		memcpy(n->addr.sun_path + 1, sock_copy + 1, len - 1);
		n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else if (sock_copy[0] == '/') {
		if (len >= sizeof n->addr.sun_path)
			return tg_err(err, "NOTIFY_SOCKET \"%s\": path longer than %zu bytes", sock_copy,
			              sizeof n->addr.sun_path - 1);
		memcpy(n->addr.sun_path, sock_copy, len + 1);
		n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	} else {
		return tg_err(err, "NOTIFY_SOCKET \"%s\": not an absolute path or an abstract name "
		              "starting with '@'", sock_copy);
	}

	if (have_usec) {
		uint64_t usec, pid = 0;
		if (parse_u64(usec_copy, &usec) != 0 || usec == 0)
			return tg_err(err, "WATCHDOG_USEC \"%s\": not a positive number of microseconds",
			              usec_copy);
		if (have_pid && parse_u64(pid_copy, &pid) != 0)
			return tg_err(err, "WATCHDOG_PID \"%s\": not a process id", pid_copy);
		/* WATCHDOG_PID names the process meant to ping; another's watchdog
		   is not ours.  Ping at half the period, as sd_watchdog_enabled(3)
		   advises, so one slow iteration does not get the broker killed. */
		if (!have_pid || pid == (uint64_t)getpid()) {
			n->watchdog_ms = usec / 2000 ? usec / 2000 : 1;
			n->watchdog_next_ms = now_ms + n->watchdog_ms;
		}
	}
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0)
		return tg_err_errno(err, "NOTIFY_SOCKET: socket");
	return 0;
}

int sdnotify_send(struct sdnotify *n, const char *msg, struct tg_error *err)
{
	if (n->fd < 0)
		return 0;
	/* MSG_DONTWAIT: a service manager that does not read must not stall the
	   event loop; MSG_NOSIGNAL: it may also be gone. */
	ssize_t w = sendto(n->fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL,
	                   (const struct sockaddr *)&n->addr, n->addr_len);
	if (w != (ssize_t)strlen(msg)) {
		n->failures++;
		const char *path = n->addr.sun_path[0] ? n->addr.sun_path : n->addr.sun_path + 1;
		if (w < 0)
			return tg_err_errno(err, "sd_notify to %s%s", n->addr.sun_path[0] ? "" : "@", path);
		return tg_err(err, "sd_notify to %s%s: short send", n->addr.sun_path[0] ? "" : "@", path);
	}
	return 0;
}

int sdnotify_reloading(struct sdnotify *n, const char *status, struct tg_error *err)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	char msg[512];
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=%s",
	         (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000,
	         status);
	return sdnotify_send(n, msg, err);
}

int64_t sdnotify_watchdog_wait_ms(const struct sdnotify *n, uint64_t now_ms)
{
	if (n->fd < 0 || n->watchdog_ms == 0)
		return -1;
	return n->watchdog_next_ms > now_ms ? (int64_t)(n->watchdog_next_ms - now_ms) : 0;
}

int sdnotify_watchdog(struct sdnotify *n, uint64_t now_ms, struct tg_error *err)
{
	if (n->fd < 0 || n->watchdog_ms == 0 || now_ms < n->watchdog_next_ms)
		return 0;
	n->watchdog_next_ms = now_ms + n->watchdog_ms;
	return sdnotify_send(n, "WATCHDOG=1", err);
}

void sdnotify_close(struct sdnotify *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}
