/*
 * sdnotify.h: telling the service manager how the broker is doing, without
 * libsystemd: systemd's notification protocol (sd_notify(3)).
 *
 * When systemd starts toolgated with Type=notify it sets NOTIFY_SOCKET to
 * the address of a datagram socket it listens on (a path, or an abstract
 * name written with a leading '@').  The broker sends one datagram per
 * change of state, newline-separated KEY=VALUE lines:
 *   READY=1           the broker serves (after start, and after each reload)
 *   RELOADING=1       a reload began (with MONOTONIC_USEC, as systemd 253
 *                     asks, so that it can tell this reload from an older one)
 *   STOPPING=1        SIGTERM: draining
 *   STATUS=...        one line for `systemctl status`
 *   WATCHDOG=1        the event loop is alive (when WATCHDOG_USEC is set)
 * Without NOTIFY_SOCKET every call is a no-op.  A send never blocks (the
 * event loop must not wait for the service manager) and a failed send is
 * reported to the caller, which logs the first one only: the broker works
 * the same whether or not anybody listens.
 */
#ifndef TOOLGATE_SDNOTIFY_H
#define TOOLGATE_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "error.h"

struct sdnotify {
	int fd;                        /* datagram socket; -1: no NOTIFY_SOCKET */
	struct sockaddr_un addr;
	socklen_t addr_len;
	unsigned failures;             /* sends that failed (the first is logged) */
	uint64_t watchdog_ms;          /* WATCHDOG=1 every this often; 0: none */
	uint64_t watchdog_next_ms;     /* CLOCK_MONOTONIC, in ms */
};

/* Read NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID, and remove them from
   the environment (nothing the broker starts should talk to systemd for it).
   Without NOTIFY_SOCKET, n->fd is -1 and 0 is returned.  A malformed value
   is -1 with err naming the variable; n is then inert. */
int sdnotify_open(struct sdnotify *n, uint64_t now_ms, struct tg_error *err);

/* Send one message (KEY=VALUE lines).  0 when sent or when there is no
   NOTIFY_SOCKET; -1 with err (and n->failures counted) when it failed. */
int sdnotify_send(struct sdnotify *n, const char *msg, struct tg_error *err);

/* RELOADING=1 with MONOTONIC_USEC=<CLOCK_MONOTONIC now> and a STATUS line. */
int sdnotify_reloading(struct sdnotify *n, const char *status, struct tg_error *err);

/* The watchdog: how long until WATCHDOG=1 is due (ms; -1 when there is no
   watchdog), and the ping itself once it is due (0 when nothing was due or
   the ping was sent). */
int64_t sdnotify_watchdog_wait_ms(const struct sdnotify *n, uint64_t now_ms);
int sdnotify_watchdog(struct sdnotify *n, uint64_t now_ms, struct tg_error *err);

void sdnotify_close(struct sdnotify *n);

#endif
