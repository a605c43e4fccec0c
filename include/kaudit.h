/*
 * kaudit.h: what the kernel refused, read from its audit log.
 *
 * A Landlock or seccomp refusal is visible to the tool only as EACCES, EPERM
 * or SIGSYS; the kernel's audit records say which path, port or system call
 * it was.  The broker (root) joins the audit netlink socket's read-only
 * multicast group, which needs CAP_AUDIT_READ but no auditd, and reads the
 * records in its event loop.  This module parses them (they are text written
 * from data a tool controls, such as file names) and hands back events.
 *
 * Records seen on Linux 6.18 with Landlock ABI 7 (one audit event may have
 * several records with the same serial):
 *
 *   1423 audit(1795497133.570:588): domain=1ee258c0b blockers=fs.read_file path="/etc/hostname" dev="vda" ino=733
 *   1424 audit(1795497133.570:588): domain=1ee258c0b status=allocated mode=enforcing pid=19099 uid=0 exe="/tmp/llx/exp" comm="exp"
 *   1423 ...: domain=1ee258c0b blockers=fs.read_file path=2F746D702F...6E616D65 dev="vda" ino=10953862   (hex: odd bytes)
 *   1423 ...: domain=1ee258c2e blockers=fs.make_reg path="/tmp/llx" dev="vda" ino=10953768   (creation: the directory)
 *   1423 ...: domain=1ee258c2e blockers=net.connect_tcp daddr=127.0.0.1 dest=9
 *   1423 ...: domain=1ee258c2e blockers=net.bind_tcp saddr=127.0.0.1 src=4444
 *   1423 ...: domain=1ee258c2e blockers=scope.abstract_unix_socket path=006C6C782D616273
 *   1423 ...: domain=1ee258c2e blockers=scope.signal opid=21586 ocomm="exp2"
 *   1424 ...: domain=1ee258c0b status=deallocated denials=2
 *   1326 ...: auid=4294967295 uid=0 gid=0 ses=4294967295 pid=21031 comm="exp2" exe="/tmp/llx/exp2" sig=31 arch=c000003e syscall=110 compat=0 ip=0x7fe3f87a0829 code=0x80000000
 *
 * The domain's "allocated" record comes once, right AFTER the domain's first
 * denial, and names the pid that called landlock_restrict_self (the
 * sandboxed child).  kaudit remembers domain -> pid and holds a denial of a
 * not-yet-known domain back until that record arrives, so every denial event
 * carries the child's pid: the broker matches events to calls by pid.  The
 * "deallocated" record comes after the last process of the domain has been
 * reaped (a zombie still holds it) and carries the total number of denials,
 * counting any whose records the kernel dropped under load: a caller that
 * waits for it knows it has seen all there will be.
 *
 * The kernel multicasts records only to the initial network namespace's
 * audit socket, so the broker must open this there.
 *
 * Landlock records exist only while the kernel's audit switch is on
 * (`auditctl -e 1`, or audit=1 at boot); seccomp kills are logged either
 * way.  kaudit_get_enabled and kaudit_set_enabled read and set the switch;
 * whether to turn it on is the broker's decision.  With it on and no auditd,
 * the kernel also copies each record to its own log (dmesg), rate-limited.
 */
#ifndef TOOLGATE_KAUDIT_H
#define TOOLGATE_KAUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

/* Record types of <linux/audit.h> (the Landlock ones are newer than Debian 12's header). */
#define KAUDIT_REC_SECCOMP 1326
#define KAUDIT_REC_LANDLOCK_ACCESS 1423
#define KAUDIT_REC_LANDLOCK_DOMAIN 1424

enum kaudit_type {
	KAUDIT_LANDLOCK_DENIAL = 1,  /* one refused access */
	KAUDIT_LANDLOCK_DOMAIN,      /* a domain's first denial: domain, pid */
	KAUDIT_LANDLOCK_DOMAIN_END,  /* a logged domain is gone: domain, pid if known, denials */
	KAUDIT_SECCOMP,              /* a seccomp kill (or logged action) */
	KAUDIT_LOST,                 /* records were lost (the socket's buffer overflowed) */
};

struct kaudit_event {
	enum kaudit_type type;
	uint64_t serial;       /* the audit event's serial number */
	uint64_t time_ms;      /* when, in ms since the epoch */
	uint64_t domain;       /* Landlock domain id */
	pid_t pid;             /* DOMAIN: the process that called landlock_restrict_self; DENIAL,
	                          DOMAIN_END: that same pid, 0 if unknown; SECCOMP: the process */
	char blockers[128];    /* DENIAL: comma-separated, e.g. "fs.write_file,fs.truncate" */
	char path[512];        /* DENIAL fs.*: the path (for a creation or removal, its
	                          directory); scope.abstract_unix_socket: "@name"; SECCOMP: the
	                          executable.  Decoded from hex; may hold any byte but NUL. */
	char addr[64];         /* DENIAL net.*: the address (daddr or saddr) */
	unsigned port;         /* DENIAL net.*: the port (dest or src) */
	pid_t target_pid;      /* DENIAL scope.signal: the process it tried to signal */
	uint64_t denials;      /* DOMAIN_END: how many accesses the domain was refused */
	int syscall;           /* SECCOMP */
	uint32_t arch;         /* SECCOMP: AUDIT_ARCH_* */
	uint32_t code;         /* SECCOMP: the SECCOMP_RET_* action */
	bool truncated;        /* a value was longer than its field and was cut */
};

/* Limits for what one record may hold; longer records are ignored. */
#define KAUDIT_RECORD_MAX 8970   /* the kernel's MAX_AUDIT_MESSAGE_LENGTH */
#define KAUDIT_FIELDS_MAX 64

struct kaudit;

/* Join the audit read-log multicast group.  -1 with a reason when not
   permitted (needs CAP_AUDIT_READ in the initial namespaces) or available. */
int kaudit_open(struct kaudit **out, struct tg_error *err);
/* The non-blocking socket, for epoll (readable = kaudit_read has work). */
int kaudit_fd(const struct kaudit *k);

typedef void (*kaudit_fn)(const struct kaudit_event *ev, void *arg);

/*
 * Read what is readable (at most a bounded batch, so one flood cannot stall
 * the event loop: poll again) and call fn for each event.  Lost records are
 * reported as one KAUDIT_LOST event and reading goes on.  A denial waiting
 * for its domain record is delivered with pid 0 when the waiting list is
 * full or, at a later kaudit_read, once it has waited 2 s (its domain record
 * was lost, or the domain predates kaudit_open).  0, or -1 with err on a
 * socket error.
 */
int kaudit_read(struct kaudit *k, kaudit_fn fn, void *arg, struct tg_error *err);
void kaudit_close(struct kaudit *k);

/*
 * Parse one record of the given type (the netlink message type) from its
 * text, as the kernel sent it: "audit(SECONDS.MS:SERIAL): key=value ...".
 * 1 and *ev filled (pid 0 for a denial: the correlation is kaudit_read's),
 * 0 for a record type that is not ours, -1 for a malformed record.
 */
int kaudit_parse(int type, const char *text, size_t len, struct kaudit_event *ev);

/* The kernel's audit switch: 0 off, 1 on, 2 on and locked.  -1 with err. */
int kaudit_get_enabled(struct tg_error *err);
/* Turn the switch on (1) or off (0).  0, or -1 with err (e.g. locked). */
int kaudit_set_enabled(int enabled, struct tg_error *err);

#endif
