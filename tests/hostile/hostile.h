/*
 * hostile.h: the few helpers every program in tests/hostile/ shares.
 *
 * Each program tries ONE way out of the sandbox and says on stdout, as one
 * line of JSON, whether it got out: {"escaped": true|false, "detail": "..."}.
 * "escaped" means the attempt worked in a way the sandbox must not allow;
 * the detail says what was tried and what the kernel answered, so a failing
 * run reads as a bug report.  The runner (tests/integration/test_hostile.py)
 * asserts on both, and checks the host for what a program cannot see.
 *
 * Header-only and static on purpose: each program is built from its one .c
 * file, so a case can be read, built and run on its own.
 */
#ifndef TG_HOSTILE_H
#define TG_HOSTILE_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The arguments arrive as JSON on stdin; read them to EOF so that no case
   is ever about the broker's write end meeting a closed pipe. */
static inline void hostile_begin(void)
{
	char buf[4096];
	ssize_t r;
	while ((r = read(STDIN_FILENO, buf, sizeof buf)) != 0)
		if (r < 0 && errno != EINTR)
			break;
}

/* An accumulating detail text: "a; b; c". */
struct note {
	char buf[3072];
	size_t n;
};

static inline __attribute__((format(printf, 2, 3))) void note(struct note *d, const char *fmt, ...)
{
	if (d->n + 3 >= sizeof d->buf)
		return;
	if (d->n) {
		d->buf[d->n++] = ';';
		d->buf[d->n++] = ' ';
	}
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(d->buf + d->n, sizeof d->buf - d->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		d->n += (size_t)k < sizeof d->buf - d->n ? (size_t)k : sizeof d->buf - d->n - 1;
}

/* Print the one result line and flush: a case may be killed right after. */
static inline int report(bool escaped, const char *detail)
{
	fputs(escaped ? "{\"escaped\": true, \"detail\": \"" : "{\"escaped\": false, \"detail\": \"", stdout);
	for (const unsigned char *p = (const unsigned char *)detail; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	fputs("\"}\n", stdout);
	fflush(stdout);
	return 0;
}

/* "CALL: strerror" for a refused call, "CALL: succeeded" otherwise. */
static inline void note_rc(struct note *d, const char *call, long rc)
{
	if (rc < 0)
		note(d, "%s: %s", call, strerror(errno));
	else
		note(d, "%s: succeeded", call);
}

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>

/* Its own pid as /proc numbers it (the host's numbers while /proc is the
   host's, 1 once /proc belongs to the tool's pid namespace). */
static inline long proc_self_pid(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return atol(buf);
}

/* Read up to cap-1 bytes of a small file into buf, NUL-terminated. */
static inline ssize_t slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	int saved = errno;
	close(fd);
	errno = saved;
	buf[n] = 0;
	return (ssize_t)n;
}

/* The pids in /proc (other than its own) whose comm is exactly comm. */
static inline int proc_find_comm(const char *comm, long *out, int max)
{
	long self = proc_self_pid();
	int n = 0;
	DIR *dir = opendir("/proc");
	if (!dir)
		return 0;
	struct dirent *e;
	while ((e = readdir(dir)) && n < max) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		long pid = atol(e->d_name);
		if (pid == self)
			continue;
		char path[64], buf[64];
		snprintf(path, sizeof path, "/proc/%ld/comm", pid);
		if (slurp(path, buf, sizeof buf) <= 0)
			continue;
		buf[strcspn(buf, "\n")] = 0;
		if (strcmp(buf, comm) == 0)
			out[n++] = pid;
	}
	closedir(dir);
	return n;
}

#endif
