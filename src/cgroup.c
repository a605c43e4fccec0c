/*
 * cgroup.c: the broker's cgroup subtree and one cgroup per call (see cgroup.h).
 *
 * Two halves with different rules.  cgroup_tree_init() runs once at start:
 * it may be slow, uses paths and stdio formatting, and turns every problem
 * into a reason for the degraded "rlimits only" mode instead of an error, so
 * that a host without usable cgroups still runs tools (with rlimits) and says
 * so.  The cgroup_call_*() functions run for every tool call on the broker's
 * event loop: they work only relative to the directory fds that init opened,
 * write each value with one write(), format numbers by hand, and build path
 * strings only when they have an error to report.
 *
 * The one input parsed here is /proc/self/cgroup (kernel-made, still read
 * with a size limit and its paths checked); everything else is a number
 * read back from a cgroup file into a fixed buffer.
 */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* v1 hierarchies, by index into cgroup_tree.h[] and cgroup_call's fd arrays.
   v2 has one hierarchy, at index 0. */
enum { H_MEMORY, H_PIDS, H_CPU, H_CPUACCT };

static const char *const v1_names[CGROUP_HIER_MAX] = { "memory", "pids", "cpu", "cpuacct" };
/* A file that only a non-root cgroup of that controller has: proves that the
   directory is that hierarchy and not, say, an empty tmpfs mount point. */
static const char *const v1_markers[CGROUP_HIER_MAX] = {
	"memory.limit_in_bytes", "pids.max", "cpu.cfs_quota_us", "cpuacct.usage"
};

#define SUBTREE_NAME "toolgate"
#define SUPERVISOR_NAME "supervisor"
#define CONTROLLERS_WANTED "+memory +pids +cpu"
#define CPU_PERIOD_US 100000
#define SELF_CGROUP_MAX 65536
#define KILL_ROUNDS 200            /* x 1 ms: how long cgroup_call_kill keeps trying */
#define RMDIR_RETRIES 10           /* x 1 ms: the last process may still be exiting */

struct hier {
	int fd;             /* the "toolgate" directory in this hierarchy */
	char *path;         /* the same, for messages and describe() */
};

struct cgroup_tree {
	enum cgroup_kind kind;
	unsigned nh;                        /* hierarchies in use */
	struct hier h[CGROUP_HIER_MAX];
	/* Interface files that differ by kernel and configuration, probed once
	   at init so that the per-call path never tries a file that is absent. */
	bool memsw;                         /* v1 memory.memsw.limit_in_bytes */
	bool swap_max;                      /* v2 memory.swap.max */
	bool peak;                          /* v2 memory.peak */
	bool kill_file;                     /* v2 cgroup.kill */
	bool cpuacct_in_cpu;                /* v1 cpuacct mounted together with cpu */
	pid_t pid;                          /* the broker: part of every call's name */
	uint64_t seq;
	char *describe;
};

/* ---- small helpers, safe for the per-call path ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Decimal digits of v at buf (room for 20 + NUL); returns the length. */
static size_t fmt_u64(char *buf, uint64_t v)
{
	char tmp[24];
	size_t n = 0, i;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

/* Write s to dirfd/file with exactly one write(), as cgroup files want. */
static int write_at(int dirfd, const char *file, const char *s, size_t n)
{
	int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, s, n);
	int saved = errno;
	close(fd);
	if (w != (ssize_t)n) {
		errno = w < 0 ? saved : EIO;
		return -1;
	}
	return 0;
}

/* Read a small file whole into buf (NUL-terminated); -1 with errno, EFBIG if
   it does not fit. */
static ssize_t read_at(int dirfd, const char *file, char *buf, size_t cap)
{
	int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	for (;;) {
		if (n == cap - 1) {
			char extra;
			ssize_t r = read(fd, &extra, 1);
			close(fd);
			if (r != 0) {
				errno = r < 0 ? errno : EFBIG;
				return -1;
			}
			break;
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (r == 0) {
			close(fd);
			break;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

/* The number after "key " on one of text's lines ("oom_kill 3"). */
static int key_u64(const char *text, const char *key, uint64_t *v)
{
	size_t kl = strlen(key);
	const char *p = text;
	while (*p) {
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
			const char *d = p + kl + 1;
			uint64_t x = 0;
			if (*d < '0' || *d > '9')
				return -1;
			for (; *d >= '0' && *d <= '9'; d++) {
				if (x > (UINT64_MAX - (uint64_t)(*d - '0')) / 10)
					return -1;
				x = x * 10 + (uint64_t)(*d - '0');
			}
			*v = x;
			return 0;
		}
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return -1;
}

/* A file that holds one number (memory.peak, memory.max_usage_in_bytes). */
static int file_u64(int dirfd, const char *file, uint64_t *v)
{
	char buf[64];
	if (read_at(dirfd, file, buf, sizeof buf) < 0)
		return -1;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end != '\n' && *end != '\0'))
		return -1;
	*v = x;
	return 0;
}

static int file_key_u64(int dirfd, const char *file, const char *key, uint64_t *v)
{
	char buf[2048];
	if (read_at(dirfd, file, buf, sizeof buf) < 0)
		return -1;
	return key_u64(buf, key, v);
}

/*
 * SIGKILL every process listed in dirfd's cgroup.procs, reading it again
 * until it is empty.  The list is parsed as it streams in, so a cgroup with
 * many processes needs no large buffer.  A process forked between the read
 * and the kill is found in the next round.  0 when empty, -1 if processes
 * remained after KILL_ROUNDS.
 */
static int kill_all_in(int dirfd)
{
	/* The broker is never in a call's cgroup; if a bug ever put it there,
	   cleaning up a call must not end the broker. */
	const pid_t self = getpid();
	for (int round = 0; round < KILL_ROUNDS; round++) {
		int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return errno == ENOENT ? 0 : -1;
		char buf[4096];
		unsigned found = 0;
		long pid = 0;
		bool digits = false;
		ssize_t r;
		while ((r = read(fd, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR)) {
			for (ssize_t i = 0; i < r; i++) {
				char ch = buf[i];
				if (ch >= '0' && ch <= '9' && pid < INT_MAX / 10) {
					pid = pid * 10 + (ch - '0');
					digits = true;
				} else {
					if (digits && pid > 0 && pid != self) {
						kill((pid_t)pid, SIGKILL);
						found++;
					}
					pid = 0;
					digits = false;
				}
			}
		}
		if (digits && pid > 0 && pid != self) {
			kill((pid_t)pid, SIGKILL);
			found++;
		}
		close(fd);
		if (found == 0)
			return 0;
		sleep_ms(1);
	}
	return -1;
}

/* rmdir dirfd/name, retrying while the kernel still counts an exiting process. */
static int rmdir_at(int dirfd, const char *name)
{
	for (int i = 0;; i++) {
		if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || i == RMDIR_RETRIES)
			return -1;
		sleep_ms(1);
	}
}

/* "call-<pid>-<n>": the broker pid that made it, or 0 for another name. */
static pid_t call_owner(const char *name)
{
	if (strncmp(name, "call-", 5) != 0)
		return 0;
	const char *p = name + 5;
	long pid = 0;
	if (*p < '1' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (pid > INT_MAX / 10)
			return 0;
		pid = pid * 10 + (*p - '0');
	}
	if (*p++ != '-' || *p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p ? 0 : (pid_t)pid;
}

/* ---- init: finding the broker's cgroups ---- */

/* A reason for the degraded mode: filled once, by the first problem found. */
struct why {
	char msg[TG_ERROR_MAX];
	bool oom;           /* out of memory: the one real failure */
};

static int unusable(struct why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int unusable(struct why *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->msg, sizeof w->msg, fmt, ap);
	va_end(ap);
	return -1;
}

static int out_of_memory(struct why *w)
{
	w->oom = true;
	return -1;
}

/* The broker's membership, from /proc/self/cgroup: one path per hierarchy. */
struct self_cgroups {
	char *buf;                          /* the file; the paths point into it */
	const char *v2;                     /* the "0::" line */
	const char *v1[CGROUP_HIER_MAX];
	bool cpuacct_with_cpu;
};

static bool has_token(const char *list, const char *tok, char sep)
{
	size_t tl = strlen(tok);
	const char *p = list;
	while (*p) {
		const char *e = strchr(p, sep);
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l > 0 && p[l - 1] == '\n')
			l--;
		if (l == tl && strncmp(p, tok, tl) == 0)
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

/* A path the broker can use: absolute, and not outside its cgroup namespace
   (where the kernel shows it as "/.."). */
static bool path_ok(const char *path)
{
	if (path[0] != '/' || strlen(path) >= PATH_MAX / 2)
		return false;
	for (const char *p = path; (p = strstr(p, "/..")) != NULL; p += 3)
		if (p[3] == '/' || p[3] == '\0')
			return false;
	return true;
}

static int read_self_cgroups(const char *file, struct self_cgroups *s, struct why *w)
{
	memset(s, 0, sizeof *s);
	s->buf = malloc(SELF_CGROUP_MAX);
	if (!s->buf)
		return out_of_memory(w);
	if (read_at(AT_FDCWD, file, s->buf, SELF_CGROUP_MAX) < 0)
		return unusable(w, "cannot read %s: %s", file, strerror(errno));

	/* "hierarchy-id:controller,list:path" a line; the path runs to the end
	   of the line (it may itself contain ':'). */
	char *line = s->buf;
	while (*line) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2) {
			*c2 = '\0';
			const char *ctls = c1 + 1, *path = c2 + 1;
			if (strcmp(line, "0:") == 0 && *ctls == '\0') {
				s->v2 = path;
			} else {
				for (int i = 0; i < CGROUP_HIER_MAX; i++)
					if (has_token(ctls, v1_names[i], ','))
						s->v1[i] = path;
				if (has_token(ctls, "cpu", ',') && has_token(ctls, "cpuacct", ','))
					s->cpuacct_with_cpu = true;
			}
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	return 0;
}

/* root + path, without a doubled or trailing '/' for the root cgroup "/". */
static char *join_path(const char *root, const char *ctl, const char *path, const char *leaf)
{
	char *out = NULL;
	if (strcmp(path, "/") == 0)
		path = "";
	if (asprintf(&out, "%s%s%s%s%s%s", root, *ctl ? "/" : "", ctl, path,
	             leaf ? "/" : "", leaf ? leaf : "") < 0)
		return NULL;
	return out;
}

/* "memory, pids and cpu" from the ones missing, for a reason sentence. */
static void missing_list(char *buf, size_t cap, const char *const *names, const bool *miss, int n)
{
	int total = 0, done = 0;
	for (int i = 0; i < n; i++)
		total += miss[i];
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (!miss[i])
			continue;
		size_t l = strlen(buf);
		snprintf(buf + l, cap - l, "%s%s", done == 0 ? "" : done == total - 1 ? " and " : ", ",
		         names[i]);
		done++;
	}
}

static const char *const v2_names[3] = { "memory", "pids", "cpu" };

/* Which of memory, pids, cpu dirfd/file (a space-separated list) lacks. */
static int v2_missing(int dirfd, const char *file, bool miss[3], int *nmiss)
{
	char buf[1024];
	if (read_at(dirfd, file, buf, sizeof buf) < 0)
		return -1;
	*nmiss = 0;
	for (int i = 0; i < 3; i++) {
		miss[i] = !has_token(buf, v2_names[i], ' ');
		*nmiss += miss[i];
	}
	return 0;
}

/* Move the broker (all its threads) into bdir/supervisor, so that bdir holds
   no process and may hand controllers down (no-internal-processes rule). */
static int move_to_supervisor(int bfd, const char *bpath, struct why *w)
{
	if (mkdirat(bfd, SUPERVISOR_NAME, 0755) < 0 && errno != EEXIST)
		return unusable(w, "cannot create %s/" SUPERVISOR_NAME ": %s", bpath, strerror(errno));
	int sfd = openat(bfd, SUPERVISOR_NAME, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return unusable(w, "cannot open %s/" SUPERVISOR_NAME ": %s", bpath, strerror(errno));
	char pid[24];
	size_t n = fmt_u64(pid, (uint64_t)getpid());
	int rc = write_at(sfd, "cgroup.procs", pid, n);
	int saved = errno;
	close(sfd);
	if (rc < 0)
		return unusable(w, "cannot move the broker into %s/" SUPERVISOR_NAME ": %s", bpath,
		                strerror(saved));
	return 0;
}

static int v2_setup(struct cgroup_tree *t, const char *root, const struct self_cgroups *s,
                    const char *self_file, struct why *w)
{
	if (!s->v2)
		return unusable(w, "%s names no cgroup v2 membership (no \"0::\" line)", self_file);
	if (!path_ok(s->v2))
		return unusable(w, "the broker's cgroup \"%s\" (%s) is not usable", s->v2, self_file);

	/* A broker restarted in place finds itself in the leaf it moved into:
	   its subtree belongs beside that leaf, not inside it. */
	char *own = strdup(s->v2);
	if (!own)
		return out_of_memory(w);
	size_t ol = strlen(own);
	const size_t sl = sizeof("/" SUPERVISOR_NAME) - 1;
	bool in_supervisor = ol > sl && strcmp(own + ol - sl, "/" SUPERVISOR_NAME) == 0;
	if (in_supervisor)
		own[ol - sl] = '\0';
	bool at_root = strcmp(own, "/") == 0 || own[0] == '\0';

	char *bpath = join_path(root, "", at_root ? "/" : own, NULL);
	free(own);
	if (!bpath)
		return out_of_memory(w);
	int rc = -1, bfd = -1, tfd = -1;
	bool miss[3];
	int nmiss;
	char list[64];

	bfd = open(bpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0) {
		unusable(w, "cannot open %s: %s", bpath, strerror(errno));
		goto out;
	}
	if (v2_missing(bfd, "cgroup.controllers", miss, &nmiss) < 0) {
		unusable(w, "cannot read %s/cgroup.controllers: %s", bpath, strerror(errno));
		goto out;
	}
	if (nmiss) {
		missing_list(list, sizeof list, v2_names, miss, 3);
		unusable(w, "%s/cgroup.controllers lacks %s", bpath, list);
		goto out;
	}
	if (v2_missing(bfd, "cgroup.subtree_control", miss, &nmiss) < 0) {
		unusable(w, "cannot read %s/cgroup.subtree_control: %s", bpath, strerror(errno));
		goto out;
	}
	if (nmiss) {
		bool moved = in_supervisor;
		if (!at_root && !moved) {
			if (move_to_supervisor(bfd, bpath, w) < 0)
				goto out;
			moved = true;
		}
		int wr = write_at(bfd, "cgroup.subtree_control", CONTROLLERS_WANTED,
		                  sizeof CONTROLLERS_WANTED - 1);
		/* The root of a cgroup namespace looks like "/" but is an ordinary
		   cgroup, bound by the rule like any other. */
		if (wr < 0 && errno == EBUSY && !moved) {
			if (move_to_supervisor(bfd, bpath, w) < 0)
				goto out;
			wr = write_at(bfd, "cgroup.subtree_control", CONTROLLERS_WANTED,
			              sizeof CONTROLLERS_WANTED - 1);
		}
		if (wr < 0) {
			unusable(w, "cannot enable memory, pids and cpu in %s/cgroup.subtree_control: %s%s",
			         bpath, strerror(errno),
			         errno == EBUSY ? " (other processes share the broker's cgroup)" : "");
			goto out;
		}
	}

	if (mkdirat(bfd, SUBTREE_NAME, 0755) < 0 && errno != EEXIST) {
		unusable(w, "cannot create %s/" SUBTREE_NAME ": %s", bpath, strerror(errno));
		goto out;
	}
	tfd = openat(bfd, SUBTREE_NAME, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0) {
		unusable(w, "cannot open %s/" SUBTREE_NAME ": %s", bpath, strerror(errno));
		goto out;
	}
	if (v2_missing(tfd, "cgroup.subtree_control", miss, &nmiss) < 0) {
		unusable(w, "cannot read %s/" SUBTREE_NAME "/cgroup.subtree_control: %s", bpath,
		         strerror(errno));
		goto out;
	}
	if (nmiss && write_at(tfd, "cgroup.subtree_control", CONTROLLERS_WANTED,
	                      sizeof CONTROLLERS_WANTED - 1) < 0) {
		unusable(w, "cannot enable memory, pids and cpu in %s/" SUBTREE_NAME
		         "/cgroup.subtree_control: %s", bpath, strerror(errno));
		goto out;
	}

	t->h[0].path = join_path(bpath, "", "/", SUBTREE_NAME);
	if (!t->h[0].path) {
		out_of_memory(w);
		goto out;
	}
	t->h[0].fd = tfd;
	tfd = -1;
	t->nh = 1;
	t->swap_max = faccessat(t->h[0].fd, "memory.swap.max", F_OK, 0) == 0;
	t->peak = faccessat(t->h[0].fd, "memory.peak", F_OK, 0) == 0;
	t->kill_file = faccessat(t->h[0].fd, "cgroup.kill", F_OK, 0) == 0;
	t->kind = CGROUP_V2;
	rc = 0;
out:
	if (tfd >= 0)
		close(tfd);
	if (bfd >= 0)
		close(bfd);
	free(bpath);
	return rc;
}

/* toolgate in one v1 hierarchy.  *created tells whether this init made it,
   so that a failed init can take it away again. */
static int v1_one(struct cgroup_tree *t, int i, const char *root, const struct self_cgroups *s,
                  const char *self_file, bool *created, struct why *w)
{
	*created = false;
	if (!s->v1[i])
		return unusable(w, "no cgroup v2 at %s (no cgroup.controllers) and %s names no cgroup v1 %s hierarchy",
		                root, self_file, v1_names[i]);
	if (!path_ok(s->v1[i]))
		return unusable(w, "the broker's %s cgroup \"%s\" (%s) is not usable", v1_names[i], s->v1[i],
		                self_file);
	char *bpath = join_path(root, v1_names[i], s->v1[i], NULL);
	if (!bpath)
		return out_of_memory(w);
	int rc = -1;
	int bfd = open(bpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0) {
		unusable(w, "cannot open %s: %s", bpath, strerror(errno));
		goto out;
	}
	if (mkdirat(bfd, SUBTREE_NAME, 0755) == 0)
		*created = true;
	else if (errno != EEXIST) {
		unusable(w, "cannot create %s/" SUBTREE_NAME ": %s", bpath, strerror(errno));
		goto out;
	}
	int tfd = openat(bfd, SUBTREE_NAME, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0) {
		unusable(w, "cannot open %s/" SUBTREE_NAME ": %s", bpath, strerror(errno));
		goto undo;
	}
	if (faccessat(tfd, v1_markers[i], F_OK, 0) < 0) {
		close(tfd);
		unusable(w, "%s is not a cgroup v1 %s hierarchy (%s/" SUBTREE_NAME " has no %s)",
		         bpath, v1_names[i], bpath, v1_markers[i]);
		goto undo;
	}
	t->h[i].path = join_path(bpath, "", "/", SUBTREE_NAME);
	if (!t->h[i].path) {
		close(tfd);
		out_of_memory(w);
		goto undo;
	}
	t->h[i].fd = tfd;
	rc = 0;
	goto out;
undo:
	if (*created)
		unlinkat(bfd, SUBTREE_NAME, AT_REMOVEDIR);
	*created = false;
out:
	if (bfd >= 0)
		close(bfd);
	free(bpath);
	return rc;
}

static void forget_hier(struct cgroup_tree *t, int i)
{
	if (t->h[i].fd >= 0)
		close(t->h[i].fd);
	t->h[i].fd = -1;
	free(t->h[i].path);
	t->h[i].path = NULL;
}

static int v1_setup(struct cgroup_tree *t, const char *root, const struct self_cgroups *s,
                    const char *self_file, struct why *w)
{
	bool created[CGROUP_HIER_MAX] = { false };
	for (int i = H_MEMORY; i <= H_CPU; i++) {
		if (v1_one(t, i, root, s, self_file, &created[i], w) < 0) {
			/* All or nothing: take back what this init made. */
			for (int j = H_MEMORY; j < i; j++) {
				if (created[j])
					rmdir(t->h[j].path);
				forget_hier(t, j);
			}
			return -1;
		}
	}
	t->nh = 3;
	/* CPU time comes free when cpuacct shares the cpu hierarchy.  On its
	   own it would cost one more mkdir, attach and rmdir per call, the
	   attach on the call's path (measured: about 85 us of kernel time a
	   call), for a number the broker already has from the tool's rusage:
	   then the stats say 0. */
	t->cpuacct_in_cpu = s->cpuacct_with_cpu;
	t->memsw = faccessat(t->h[H_MEMORY].fd, "memory.memsw.limit_in_bytes", F_OK, 0) == 0;
	t->kind = CGROUP_V1;
	return 0;
}

/* At init (own_too false): empty and remove the call cgroups of broker
   instances that are gone (a crash, a kill -9).  Calls of a live instance
   sharing this cgroup, and names that are not ours, are left alone.  At free
   (own_too true): remove this instance's own calls that were not destroyed. */
static void sweep_leftovers(struct cgroup_tree *t, bool own_too)
{
	for (unsigned i = 0; i < t->nh; i++) {
		int dfd = dup(t->h[i].fd);
		if (dfd < 0)
			continue;
		DIR *d = fdopendir(dfd);
		if (!d) {
			close(dfd);
			continue;
		}
		/* Removing entries while reading the directory is allowed but may
		   skip some; the names are collected first. */
		char (*names)[CGROUP_NAME_MAX] = NULL;
		size_t n = 0, cap = 0;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			pid_t owner = call_owner(e->d_name);
			if (owner <= 0 || strlen(e->d_name) >= CGROUP_NAME_MAX)
				continue;
			bool mine = owner == t->pid;
			if (own_too ? !mine : mine || kill(owner, 0) == 0 || errno != ESRCH)
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 16;
				void *p = realloc(names, nc * sizeof *names);
				if (!p)
					break;
				names = p;
				cap = nc;
			}
			memcpy(names[n++], e->d_name, strlen(e->d_name) + 1);
		}
		closedir(d);
		for (size_t k = 0; k < n; k++) {
			int cfd = openat(t->h[i].fd, names[k], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (cfd >= 0) {
				if (!own_too)
					kill_all_in(cfd);
				close(cfd);
			}
			rmdir_at(t->h[i].fd, names[k]);
		}
		free(names);
	}
}

static int make_description(struct cgroup_tree *t, const char *reason)
{
	char *d = NULL;
	int r;
	switch (t->kind) {
	case CGROUP_V2:
		r = asprintf(&d, "cgroup v2 (memory.max, pids.max, cpu.max) under %s", t->h[0].path);
		break;
	case CGROUP_V1:
		r = asprintf(&d, "cgroup v1 (memory, pids, cpu controllers) under %s, %s, %s",
		             t->h[H_MEMORY].path, t->h[H_PIDS].path, t->h[H_CPU].path);
		break;
	default:
		r = asprintf(&d, "rlimits only: %s", reason);
		break;
	}
	if (r < 0)
		return -1;
	t->describe = d;
	return 0;
}

int cgroup_tree_init_at(struct cgroup_tree **out, const char *fs_root, const char *self_cgroup_file,
                        struct tg_error *err)
{
	*out = NULL;
	struct cgroup_tree *t = calloc(1, sizeof *t);
	if (!t)
		return tg_err(err, "cgroup: out of memory");
	for (int i = 0; i < CGROUP_HIER_MAX; i++)
		t->h[i].fd = -1;
	t->pid = getpid();

	struct why w = { .oom = false };
	struct self_cgroups s = { .buf = NULL };
	char *root = strdup(fs_root);
	if (!root) {
		out_of_memory(&w);
		goto done;
	}
	/* "/sys/fs/cgroup/" and "/sys/fs/cgroup" name the same place; messages
	   should not show "//". */
	for (size_t l = strlen(root); l > 1 && root[l - 1] == '/'; l--)
		root[l - 1] = '\0';

	if (read_self_cgroups(self_cgroup_file, &s, &w) < 0)
		goto done;
	struct stat st;
	if (stat(root, &st) < 0) {
		unusable(&w, "cannot open %s: %s", root, strerror(errno));
		goto done;
	}
	/* Only a cgroup2 mount has cgroup.controllers at its top; a hybrid or v1
	   host has a tmpfs of per-controller mounts there. */
	char *probe = join_path(root, "", "/", "cgroup.controllers");
	if (!probe) {
		out_of_memory(&w);
		goto done;
	}
	bool v2 = access(probe, F_OK) == 0;
	free(probe);
	if (v2)
		v2_setup(t, root, &s, self_cgroup_file, &w);
	else
		v1_setup(t, root, &s, self_cgroup_file, &w);
done:
	free(root);
	free(s.buf);
	if (!w.oom && t->kind != CGROUP_NONE)
		sweep_leftovers(t, false);
	if (!w.oom && make_description(t, w.msg) < 0)
		w.oom = true;
	if (w.oom) {
		cgroup_tree_free(t);
		return tg_err(err, "cgroup: out of memory while setting up the broker's cgroup");
	}
	*out = t;
	return 0;
}

int cgroup_tree_init(struct cgroup_tree **out, const char *fs_root, struct tg_error *err)
{
	return cgroup_tree_init_at(out, fs_root, "/proc/self/cgroup", err);
}

enum cgroup_kind cgroup_tree_kind(const struct cgroup_tree *t)
{
	return t ? t->kind : CGROUP_NONE;
}

const char *cgroup_tree_describe(const struct cgroup_tree *t)
{
	return t && t->describe ? t->describe : "rlimits only: no cgroup set up";
}

void cgroup_tree_free(struct cgroup_tree *t)
{
	if (!t)
		return;
	if (t->kind != CGROUP_NONE)
		sweep_leftovers(t, true);
	for (int i = 0; i < CGROUP_HIER_MAX; i++)
		forget_hier(t, i);
	free(t->describe);
	free(t);
}

/* ---- one call: the hot path ---- */

/* The error for file in the call's cgroup in hierarchy i (cold: only on failure). */
static int call_err(const struct cgroup_call *c, unsigned i, const char *what, const char *file,
                    struct tg_error *err)
{
	return tg_err_errno(err, "cgroup: %s %s/%s%s%s", what, c->tree->h[i].path, c->name,
	                    file ? "/" : "", file ? file : "");
}

static int put_u64(const struct cgroup_call *c, unsigned i, const char *file, uint64_t v,
                   struct tg_error *err)
{
	char buf[24];
	size_t n = fmt_u64(buf, v);
	if (write_at(c->dir_fd[i], file, buf, n) < 0) {
		int saved = errno;
		call_err(c, i, "cannot write", file, err);
		errno = saved;
		return -1;
	}
	return 0;
}

static int write_limits_v1(const struct cgroup_call *c, const struct cgroup_limits *l,
                           struct tg_error *err)
{
	const struct cgroup_tree *t = c->tree;
	/* memsw is memory plus swap, and may never be below the memory limit:
	   memory first, then memsw to the same value, so swap adds nothing. */
	if (l->memory_bytes) {
		if (put_u64(c, H_MEMORY, "memory.limit_in_bytes", l->memory_bytes, err) < 0)
			return -1;
		if (t->memsw && put_u64(c, H_MEMORY, "memory.memsw.limit_in_bytes", l->memory_bytes, err) < 0)
			return -1;
	}
	if (l->pids && put_u64(c, H_PIDS, "pids.max", l->pids, err) < 0)
		return -1;
	if (l->cpu_percent) {
		if (put_u64(c, H_CPU, "cpu.cfs_period_us", CPU_PERIOD_US, err) < 0)
			return -1;
		uint64_t quota = (uint64_t)l->cpu_percent * (CPU_PERIOD_US / 100);
		if (put_u64(c, H_CPU, "cpu.cfs_quota_us", quota, err) < 0)
			return -1;
	}
	return 0;
}

static int write_limits_v2(const struct cgroup_call *c, const struct cgroup_limits *l,
                           struct tg_error *err)
{
	/* A new cgroup starts at "max" everywhere: only set limits are written. */
	if (l->memory_bytes && put_u64(c, 0, "memory.max", l->memory_bytes, err) < 0)
		return -1;
	if (c->tree->swap_max && put_u64(c, 0, "memory.swap.max", 0, err) < 0)
		return -1;
	if (l->pids && put_u64(c, 0, "pids.max", l->pids, err) < 0)
		return -1;
	if (l->cpu_percent) {
		char buf[48];
		uint64_t quota = (uint64_t)l->cpu_percent * (CPU_PERIOD_US / 100);
		size_t n = fmt_u64(buf, quota);
		static const char period[] = " 100000";
		_Static_assert(CPU_PERIOD_US == 100000, "period text");
		memcpy(buf + n, period, sizeof period);
		n += sizeof period - 1;
		if (write_at(c->dir_fd[0], "cpu.max", buf, n) < 0)
			return call_err(c, 0, "cannot write", "cpu.max", err);
	}
	return 0;
}

int cgroup_call_create(struct cgroup_tree *t, const struct cgroup_limits *l, struct cgroup_call *c,
                       struct tg_error *err)
{
	c->tree = t;
	c->n = 0;
	c->name[0] = '\0';
	for (int i = 0; i < CGROUP_HIER_MAX; i++)
		c->dir_fd[i] = c->procs_fd[i] = -1;
	if (!t || t->kind == CGROUP_NONE)
		return 0;
	static const struct cgroup_limits unlimited = { 0, 0, 0 };
	if (!l)
		l = &unlimited;

	/* The broker's pid in the name keeps instances that share a cgroup
	   apart, and tells a later start whose leftovers these are. */
	memcpy(c->name, "call-", 5);
	size_t n = 5 + fmt_u64(c->name + 5, (uint64_t)t->pid);
	c->name[n++] = '-';
	fmt_u64(c->name + n, ++t->seq);

	for (unsigned i = 0; i < t->nh; i++) {
		if (mkdirat(t->h[i].fd, c->name, 0755) < 0) {
			call_err(c, i, "cannot create", NULL, err);
			goto fail;
		}
		c->n = i + 1;
		c->dir_fd[i] = openat(t->h[i].fd, c->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (c->dir_fd[i] < 0) {
			call_err(c, i, "cannot open", NULL, err);
			goto fail;
		}
		c->procs_fd[i] = openat(c->dir_fd[i], "cgroup.procs", O_WRONLY | O_CLOEXEC);
		if (c->procs_fd[i] < 0) {
			call_err(c, i, "cannot open", "cgroup.procs", err);
			goto fail;
		}
	}
	if (cgroup_call_set_limits(c, l, err) < 0)
		goto fail;
	return 0;
fail:;
	int saved = errno;
	cgroup_call_destroy(c);
	c->tree = t;
	errno = saved;
	return -1;
}

int cgroup_call_set_limits(const struct cgroup_call *c, const struct cgroup_limits *l,
                           struct tg_error *err)
{
	if (c->n == 0 || !l)
		return 0;
	return (c->tree->kind == CGROUP_V1 ? write_limits_v1 : write_limits_v2)(c, l, err);
}

int cgroup_call_enter_self(const struct cgroup_call *c)
{
	if (c->n == 0 || c->tree->kind != CGROUP_V1)
		return 0;
	for (unsigned i = 0; i < c->n; i++) {
		ssize_t w = write(c->procs_fd[i], "0", 1);
		if (w != 1) {
			if (w >= 0)
				errno = EIO;
			return -1;
		}
	}
	return 0;
}

/* ---- the pool: creation and removal off the calls' path ---- */

void cgroup_pool_init(struct cgroup_pool *p, struct cgroup_tree *t, unsigned target)
{
	memset(p, 0, sizeof *p);
	p->tree = t;
	p->target = target > CGROUP_POOL_MAX ? CGROUP_POOL_MAX : target;
	if (!t || t->kind == CGROUP_NONE)
		p->target = 0;
}

int cgroup_pool_take(struct cgroup_pool *p, const struct cgroup_limits *l, struct cgroup_call *c,
                     struct tg_error *err)
{
	if (p->nready == 0) {
		p->missed++;
		return cgroup_call_create(p->tree, l, c, err);
	}
	*c = p->ready[--p->nready];
	p->taken++;
	if (cgroup_call_set_limits(c, l, err) < 0) {
		int saved = errno;
		cgroup_call_destroy(c);
		errno = saved;
		return -1;
	}
	return 0;
}

void cgroup_pool_retire(struct cgroup_pool *p, struct cgroup_call *c)
{
	if (c->n == 0)
		return;
	/* The call's pid 1 is reaped, so its pid namespace is empty already;
	   the kill that makes sure comes with the rmdir, off the call's path. */
	if (p->nspent < CGROUP_SPENT_MAX) {
		p->spent[p->nspent++] = *c;
		c->n = 0;
		return;
	}
	cgroup_call_kill(c);
	cgroup_call_destroy(c);
}

bool cgroup_pool_has_work(const struct cgroup_pool *p)
{
	return p->nspent > 0 || p->nready < p->target;
}

int cgroup_pool_work_one(struct cgroup_pool *p, struct tg_error *err)
{
	if (p->nspent > 0) {
		struct cgroup_call *c = &p->spent[--p->nspent];
		cgroup_call_kill(c);
		cgroup_call_destroy(c);
		return 0;
	}
	if (p->nready >= p->target)
		return 0;
	if (cgroup_call_create(p->tree, NULL, &p->ready[p->nready], err) < 0) {
		p->target = 0;   /* stop trying; calls make their own */
		return -1;
	}
	p->nready++;
	p->made++;
	return 0;
}

void cgroup_pool_fini(struct cgroup_pool *p)
{
	while (p->nspent > 0) {
		cgroup_call_kill(&p->spent[p->nspent - 1]);
		cgroup_call_destroy(&p->spent[--p->nspent]);
	}
	while (p->nready > 0)
		cgroup_call_destroy(&p->ready[--p->nready]);
}

int cgroup_call_clone_fd(const struct cgroup_call *c)
{
	if (c->n == 0 || c->tree->kind != CGROUP_V2)
		return -1;
	return c->dir_fd[0];
}

int cgroup_call_attach(const struct cgroup_call *c, pid_t pid, struct tg_error *err)
{
	if (c->n == 0 || c->tree->kind != CGROUP_V1)
		return 0;
	if (pid < 0)
		return tg_err(err, "cgroup: cannot attach pid %d to %s: not a process", (int)pid, c->name);
	char buf[24];
	size_t n = fmt_u64(buf, (uint64_t)pid);
	for (unsigned i = 0; i < c->n; i++) {
		ssize_t w = write(c->procs_fd[i], buf, n);
		if (w != (ssize_t)n) {
			if (w >= 0)
				errno = EIO;
			return tg_err_errno(err, "cgroup: cannot move pid %d into %s/%s", (int)pid,
			                    c->tree->h[i].path, c->name);
		}
	}
	return 0;
}

int cgroup_call_stats(const struct cgroup_call *c, struct cgroup_stats *s)
{
	memset(s, 0, sizeof *s);
	if (c->n == 0)
		return 0;
	const struct cgroup_tree *t = c->tree;
	int rc = 0;
	if (t->kind == CGROUP_V2) {
		int d = c->dir_fd[0];
		rc |= file_key_u64(d, "memory.events", "oom_kill", &s->oom_kills);
		rc |= file_key_u64(d, "pids.events", "max", &s->pids_max_hits);
		if (t->peak)
			rc |= file_u64(d, "memory.peak", &s->memory_peak_bytes);
		rc |= file_key_u64(d, "cpu.stat", "usage_usec", &s->cpu_usage_us);
	} else {
		rc |= file_key_u64(c->dir_fd[H_MEMORY], "memory.oom_control", "oom_kill", &s->oom_kills);
		rc |= file_key_u64(c->dir_fd[H_PIDS], "pids.events", "max", &s->pids_max_hits);
		rc |= file_u64(c->dir_fd[H_MEMORY], "memory.max_usage_in_bytes", &s->memory_peak_bytes);
		int acct = t->cpuacct_in_cpu ? c->dir_fd[H_CPU] : c->n > H_CPUACCT ? c->dir_fd[H_CPUACCT] : -1;
		if (acct >= 0) {
			uint64_t ns = 0;
			rc |= file_u64(acct, "cpuacct.usage", &ns);
			s->cpu_usage_us = ns / 1000;
		}
	}
	return rc ? -1 : 0;
}

int cgroup_call_kill(const struct cgroup_call *c)
{
	if (c->n == 0)
		return 0;
	/* cgroup.kill reaches every process at once, even one that is forking;
	   the loop below then only confirms that the cgroup is empty. */
	if (c->tree->kind == CGROUP_V2 && c->tree->kill_file)
		write_at(c->dir_fd[0], "cgroup.kill", "1", 1);
	/* Every process of the call is in every hierarchy: one is enough. */
	return kill_all_in(c->dir_fd[0]);
}

int cgroup_call_destroy(struct cgroup_call *c)
{
	int rc = 0;
	for (unsigned i = 0; i < c->n; i++) {
		if (c->procs_fd[i] >= 0)
			close(c->procs_fd[i]);
		if (c->dir_fd[i] >= 0)
			close(c->dir_fd[i]);
		c->procs_fd[i] = c->dir_fd[i] = -1;
		if (rmdir_at(c->tree->h[i].fd, c->name) < 0)
			rc = -1;
	}
	c->n = 0;
	return rc;
}
