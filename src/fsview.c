/*
 * fsview.c: the filesystem a tool sees (see fsview.h).
 *
 * fsview_plan runs in the broker when the configuration loads: it checks
 * each path against the host and writes down what the child must do.
 * fsview_enter runs in the child, between clone and the uid switch: it
 * builds a tmpfs root from that plan and pivots into it.
 *
 * The old root stays reachable in the child only while the binds are being
 * made, as /.toolgate-oldroot, and is detached before anything of the tool
 * runs.  Binds are made with the new mount API (open_tree, mount_setattr,
 * move_mount) from a descriptor opened with openat2 RESOLVE_NO_SYMLINKS
 * beneath the old root, so a symbolic link cannot redirect a bind to some
 * other host path, and read-only applies to every mount below the bound
 * path too (AT_RECURSIVE), not only to its top.
 */
#include "fsview.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define OLDROOT "/.toolgate-oldroot"

/* ---- planning (broker, at configuration load) ---------------------------- */

/* Is path equal to dir or below it (on a component boundary)? */
static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 1 && dir[0] == '/')
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The parts of the view the broker makes itself; a configured path there
   would be hidden by them (or would hide them). */
static const char *reserved_area(const char *path)
{
	static const char *const areas[] = { "/proc", "/dev", FSVIEW_SCRATCH, OLDROOT, NULL };
	for (const char *const *a = areas; *a; a++)
		if (under(path, *a))
			return *a;
	return NULL;
}

/*
 * Walk path's components on the host.  A symbolic link before the last
 * component is refused (*link_at names it); the last one's type is
 * reported.  0 (and *st of the last component, via lstat), or -1 with errno
 * (ENOENT: missing; ELOOP: a link on the way, in link_at).
 */
static int walk(const char *path, struct stat *st, char *link_at, size_t link_at_size)
{
	char prefix[PATH_MAX];
	size_t len = strlen(path);
	if (len >= sizeof prefix) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		memcpy(prefix, path, i);
		prefix[i] = '\0';
		if (lstat(prefix, st) != 0)
			return -1;
		if (path[i] == '/' && S_ISLNK(st->st_mode)) {
			snprintf(link_at, link_at_size, "%s", prefix);
			errno = ELOOP;
			return -1;
		}
	}
	return 0;
}

static int push(struct fsview *fv, enum fsview_kind kind, const char *path, const char *target,
                bool optional, struct tg_error *err)
{
	for (size_t i = 0; i < fv->n; i++)
		if (strcmp(fv->v[i].path, path) == 0)
			return 0;  /* a repeat of a path already planned */
	struct fsview_entry *nv = realloc(fv->v, (fv->n + 1) * sizeof *nv);
	if (!nv)
		return tg_err(err, "out of memory");
	fv->v = nv;
	struct fsview_entry *e = &fv->v[fv->n];
	e->kind = kind;
	e->optional = optional;
	e->path = strdup(path);
	e->target = target ? strdup(target) : NULL;
	if (!e->path || (target && !e->target)) {
		free(e->path);
		free(e->target);
		return tg_err(err, "out of memory");
	}
	fv->n++;
	return 0;
}

static int plan_path(struct fsview *fv, const char *path, bool write, bool optional,
                     const char *where, const char *field, size_t idx, struct tg_error *err)
{
	const char *area = reserved_area(path);
	if (strcmp(path, "/") == 0)
		return tg_err(err, "%s.%s[%zu]: \"/\" would show the tool the whole host; name the "
		              "directories it needs", where, field, idx);
	if (area)
		return tg_err(err, "%s.%s[%zu]: %s is inside %s, which the sandbox gives each tool "
		              "on its own", where, field, idx, path, area);
	struct stat st;
	char link_at[PATH_MAX] = "";
	if (walk(path, &st, link_at, sizeof link_at) != 0) {
		if (errno == ENOENT && optional)
			return 0;
		if (errno == ELOOP)
			return tg_err(err, "%s.%s[%zu]: %s passes through the symbolic link %s; name "
			              "the real path", where, field, idx, path, link_at);
		return tg_err_errno(err, "%s.%s[%zu]: %s", where, field, idx, path);
	}
	if (S_ISLNK(st.st_mode)) {
		if (write)
			return tg_err(err, "%s.%s[%zu]: %s is a symbolic link; a write path must be the "
			              "real directory or file", where, field, idx, path);
		char target[PATH_MAX];
		ssize_t n = readlink(path, target, sizeof target - 1);
		if (n < 0)
			return tg_err_errno(err, "%s.%s[%zu]: readlink %s", where, field, idx, path);
		target[n] = '\0';
		return push(fv, FSVIEW_SYMLINK, path, target, optional, err) < 0
		       ? tg_err_prefix(err, "%s", where) : 0;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return tg_err(err, "%s.%s[%zu]: %s is neither a directory nor a regular file", where,
		              field, idx, path);
	if (push(fv, write ? FSVIEW_WRITE : FSVIEW_READ, path, NULL, optional, err) < 0)
		return tg_err_prefix(err, "%s", where);
	return 0;
}

const char *const fsview_devices[] = {
	"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", NULL,
};

/* The Landlock lists of the finished plan (see fsview.h). */
static int landlock_lists(struct fsview *fv, struct tg_error *err)
{
	static const char *const root_list[] = { "/", NULL };
	fv->ll_read = calloc(fv->n + 3, sizeof *fv->ll_read);
	fv->ll_write = calloc(fv->n + 2, sizeof *fv->ll_write);
	fv->ll_list = calloc(2, sizeof *fv->ll_list);
	if (!fv->ll_read || !fv->ll_write || !fv->ll_list)
		return tg_err(err, "out of memory");
	size_t r = 0, w = 0;
	for (size_t i = 0; i < fv->n; i++) {
		/* A link needs no rule of its own: what it leads to has one, or
		   is not in the view. */
		if (fv->v[i].kind == FSVIEW_READ)
			fv->ll_read[r++] = fv->v[i].path;
		else if (fv->v[i].kind == FSVIEW_WRITE)
			fv->ll_write[w++] = fv->v[i].path;
	}
	fv->ll_read[r++] = "/proc";
	fv->ll_read[r++] = "/dev";     /* listing it and reading the devices; writing: fsview_devices */
	fv->ll_write[w++] = FSVIEW_SCRATCH;
	fv->ll_list[0] = root_list[0];
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct fsview_entry *)a)->path, ((const struct fsview_entry *)b)->path);
}

int fsview_plan(struct fsview *fv, const char *const *read, const char *const *write,
                bool read_is_default, const char *exe, bool script, const char *where,
                struct tg_error *err)
{
	memset(fv, 0, sizeof *fv);
	for (size_t i = 0; write && write[i]; i++)
		for (size_t j = 0; read && read[j]; j++)
			if (strcmp(write[i], read[j]) == 0) {
				tg_err(err, "%s.write_paths[%zu]: %s is also in read_paths; list it once",
				       where, i, write[i]);
				goto fail;
			}
	for (size_t i = 0; write && write[i]; i++)
		if (plan_path(fv, write[i], true, false, where, "write_paths", i, err) < 0)
			goto fail;
	for (size_t i = 0; read && read[i]; i++)
		if (plan_path(fv, read[i], false, read_is_default, where, "read_paths", i, err) < 0)
			goto fail;

	/* Its own executable, unless the view already shows it.  One under the
	   scratch area is exec'd through a descriptor held from before the view
	   was built; a script cannot be (its interpreter reopens it by name). */
	bool covered = false;
	for (size_t i = 0; i < fv->n && !covered; i++)
		covered = under(exe, fv->v[i].path);
	if (!covered) {
		const char *area = reserved_area(exe);
		struct stat st;
		char link_at[PATH_MAX] = "";
		if (area && script) {
			tg_err(err, "%s: command: the script %s is inside %s, which the sandbox gives each "
			       "tool on its own; install it elsewhere", where, exe, area);
			goto fail;
		}
		if (!area && walk(exe, &st, link_at, sizeof link_at) == 0 && S_ISREG(st.st_mode)) {
			if (push(fv, FSVIEW_READ, exe, NULL, false, err) < 0) {
				tg_err_prefix(err, "%s", where);
				goto fail;
			}
		} else if (!area && script) {
			tg_err(err, "%s: command: the script %s must be a regular file reached without "
			       "symbolic links, as the sandbox shows it to its interpreter by that path",
			       where, exe);
			goto fail;
		}
	}
	/* Parents before what lies inside them: a prefix sorts first. */
	if (fv->n > 1)
		qsort(fv->v, fv->n, sizeof fv->v[0], by_path);
	if (landlock_lists(fv, err) < 0) {
		tg_err_prefix(err, "%s", where);
		goto fail;
	}
	return 0;
fail:
	fsview_free(fv);
	return -1;
}

void fsview_free(struct fsview *fv)
{
	for (size_t i = 0; i < fv->n; i++) {
		free(fv->v[i].path);
		free(fv->v[i].target);
	}
	free(fv->v);
	free(fv->ll_read);
	free(fv->ll_write);
	free(fv->ll_list);
	fv->v = NULL;
	fv->ll_read = fv->ll_write = fv->ll_list = NULL;
	fv->n = 0;
}

/* ---- carrying it out (the child; system calls only) ---------------------- */

/* mkdir every missing parent of path in the new root (path absolute). */
static int make_parents(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	if (len >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i < len; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		buf[i] = '/';
	}
	return 0;
}

/* Bind oldroot's path onto the same path in the new root, with attrs
   (MOUNT_ATTR_*) on it and everything below it. */
static int bind_path(int oldroot, const char *path, bool optional, uint64_t attrs)
{
	struct open_how how;
	memset(&how, 0, sizeof how);
	how.flags = O_PATH | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	int src = (int)syscall(SYS_openat2, oldroot, path + 1, &how, sizeof how);
	if (src < 0)
		return (errno == ENOENT && optional) ? 0 : -1;
	struct stat st;
	int rc = -1, tree = -1;
	if (fstat(src, &st) != 0 || make_parents(path) != 0)
		goto out;
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			goto out;
	} else if (mknod(path, S_IFREG | 0644, 0) != 0 && errno != EEXIST) {
		goto out;
	}
	tree = (int)syscall(SYS_open_tree, src, "",
	                    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0)
		goto out;
	struct mount_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.attr_set = attrs;
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
		goto out;
	if (syscall(SYS_move_mount, tree, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) != 0)
		goto out;
	rc = 0;
out:
	{
		int saved = errno;
		if (tree >= 0)
			close(tree);
		close(src);
		errno = saved;
	}
	return rc;
}

static int bind_one(int oldroot, const struct fsview_entry *e)
{
	return bind_path(oldroot, e->path, e->optional, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
	                 (e->kind == FSVIEW_READ ? MOUNT_ATTR_RDONLY : 0));
}

/* A minimal /dev: the five harmless character devices, the usual links to
   /proc/self/fd, and /dev/shm pointing at the scratch (POSIX shared memory
   then lives, and dies, with the call). */
static int make_dev(int oldroot, bool bind_devices, const char **step)
{
	static const struct { const char *name; unsigned minor; } nodes[] = {
		{ "/dev/null", 3 }, { "/dev/zero", 5 }, { "/dev/full", 7 },
		{ "/dev/random", 8 }, { "/dev/urandom", 9 },
	};
	static const struct { const char *name, *target; } links[] = {
		{ "/dev/fd", "/proc/self/fd" }, { "/dev/stdin", "/proc/self/fd/0" },
		{ "/dev/stdout", "/proc/self/fd/1" }, { "/dev/stderr", "/proc/self/fd/2" },
		{ "/dev/shm", FSVIEW_SCRATCH },
	};
	*step = "mounting /dev";
	if (mkdir("/dev", 0755) != 0 ||
	    mount("toolgate-dev", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
	          "mode=0755,size=16k,nr_inodes=32") != 0)
		return -1;
	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		*step = nodes[i].name;
		if (bind_devices) {
			/* The host's node, bound: devices stay usable (no nodev). */
			if (bind_path(oldroot, nodes[i].name, false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC) != 0)
				return -1;
		} else if (mknod(nodes[i].name, S_IFCHR | 0666, makedev(1, nodes[i].minor)) != 0) {
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		*step = links[i].name;
		if (symlink(links[i].target, links[i].name) != 0)
			return -1;
	}
	*step = "making /dev read-only";
	return mount(NULL, "/dev", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC,
	             NULL);
}

int fsview_enter(const struct fsview *fv, uid_t uid, gid_t gid, unsigned scratch_mb,
                 bool in_userns, const char **step)
{
	/* Modes below are meant exactly as written. */
	umask(0);

	/* The new root: a small tmpfs, staged over the host's /tmp (inside
	   this mount namespace only), then made the root.  After pivot_root the
	   host's / is at OLDROOT, with its /tmp uncovered again. */
	*step = "mounting the tool's root tmpfs";
	if (mount("toolgate-root", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
	          "mode=0755,size=1m,nr_inodes=4096") != 0)
		return -1;
	*step = "pivot_root into the tool's root";
	if (mkdir("/tmp" OLDROOT, 0700) != 0 ||
	    syscall(SYS_pivot_root, "/tmp", "/tmp" OLDROOT) != 0 || chdir("/") != 0)
		return -1;
	int oldroot = open(OLDROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (oldroot < 0)
		return -1;

	/* read_paths, write_paths, the executable: parents first (see plan). */
	for (size_t i = 0; i < fv->n; i++) {
		const struct fsview_entry *e = &fv->v[i];
		*step = e->path;
		if (e->kind == FSVIEW_SYMLINK) {
			if (make_parents(e->path) != 0 || symlink(e->target, e->path) != 0)
				goto fail;
		} else if (bind_one(oldroot, e) != 0) {
			goto fail;
		}
	}
	/* /proc of its own pid namespace: the host's would show every process
	   on the machine, the broker among them.  (In a user namespace the
	   kernel allows it only while a full /proc is visible: the old root's,
	   still attached here.) */
	*step = "mounting /proc for its pid namespace";
	if (mkdir("/proc", 0555) != 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		goto fail;
	if (make_dev(oldroot, in_userns, step) != 0)
		goto fail;
	close(oldroot);
	oldroot = -1;

	/* The scratch: a fresh tmpfs owned by the tool's uid, gone with the
	   mount namespace when the call ends. */
	char opts[128];
	snprintf(opts, sizeof opts, "size=%um,nr_inodes=16384,mode=0700,uid=%u,gid=%u",
	         scratch_mb, (unsigned)uid, (unsigned)gid);
	*step = "mounting the scratch tmpfs";
	if (mkdir(FSVIEW_SCRATCH, 0700) != 0 ||
	    mount("toolgate-scratch", FSVIEW_SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
		return -1;

	/* Nothing of the host beyond what was bound: detach the old root. */
	*step = "detaching the host's root";
	if (umount2(OLDROOT, MNT_DETACH) != 0 || rmdir(OLDROOT) != 0)
		return -1;
	*step = "making the tool's root read-only";
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0)
		return -1;
	*step = "chdir to the scratch";
	if (chdir(FSVIEW_SCRATCH) != 0)
		return -1;
	umask(022);
	return 0;
fail:
	{
		int saved = errno;
		if (oldroot >= 0)
			close(oldroot);
		errno = saved;
	}
	return -1;
}
