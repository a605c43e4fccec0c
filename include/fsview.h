/*
 * fsview.h: the filesystem a tool sees.
 *
 * A tool's root is a fresh tmpfs that holds only what its definition names:
 * read_paths bound read-only, write_paths bound read-write, its own
 * executable, /proc of its own pid namespace, a minimal /dev (null, zero,
 * full, random, urandom) and a private scratch tmpfs at /tmp.  Nothing else
 * of the host is reachable: the old root is detached before the tool runs.
 *
 * The plan is made once, when the configuration loads (fsview_plan: paths
 * checked, symbolic links found, mounts sorted so that a parent is mounted
 * before anything inside it); each call's child only carries it out
 * (fsview_enter), with system calls and no allocation.
 *
 * Symlink safety: a path whose last component is a symbolic link is
 * recreated as the same link in the tool's root (so /lib -> usr/lib keeps
 * working); a symbolic link in any other component is a configuration
 * error, and the child opens every bind source with RESOLVE_NO_SYMLINKS
 * beneath the old root, so a link planted after the load makes the call
 * fail instead of exposing what the link points to.
 */
#ifndef TOOLGATE_FSVIEW_H
#define TOOLGATE_FSVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "error.h"

enum fsview_kind {
	FSVIEW_READ,      /* bind the host path read-only */
	FSVIEW_WRITE,     /* bind the host path read-write */
	FSVIEW_SYMLINK,   /* recreate the host's symbolic link */
};

struct fsview_entry {
	enum fsview_kind kind;
	char *path;       /* absolute, normalised; the same in the host and the view */
	char *target;     /* FSVIEW_SYMLINK: the link's text */
	bool optional;    /* skip it if it has gone missing (the default set) */
};

struct fsview {
	struct fsview_entry *v;
	size_t n;
	/* The same view for Landlock (landlock.h), as the child sees it:
	   NULL-terminated lists pointing into v and to constants. */
	const char **ll_read;    /* read paths, links' targets, the executable, /proc, /dev */
	const char **ll_write;   /* write paths and the scratch */
	const char **ll_list;    /* directories the tool may list but not read below: / */
};

/* At most this many entries in ll_read (read_paths, write_paths and the
   executable are each bounded by the configuration's limit of 256). */
#define FSVIEW_LL_MAX 1024

/* The devices the view's /dev holds (read and write, no ioctl). */
extern const char *const fsview_devices[];

/*
 * Plan the view of one tool.  read and write are NULL-terminated lists of
 * absolute normalised paths (write may be empty); read_is_default says the
 * read list is the contract's default set (entries missing at run time are
 * skipped then).  exe is the tool's absolute executable: it is bound
 * read-only unless a read or write path already covers it or it lies in the
 * scratch area (an ELF file is exec'd through a descriptor opened before
 * the view is built, so it needs no bind there).  where prefixes errors
 * ("tools.d/kb.json: sandbox").
 */
int fsview_plan(struct fsview *fv, const char *const *read, const char *const *write,
                bool read_is_default, const char *exe, bool script, const char *where,
                struct tg_error *err);

void fsview_free(struct fsview *fv);

/*
 * In the sandboxed child, as root in fresh mount and pid namespaces with
 * every mount already private: build the root, pivot into it, mount /proc,
 * /dev and the scratch tmpfs (scratch_mb, owned by uid:gid), detach the old
 * root, make the root read-only and chdir to the scratch.  No allocation.
 * in_userns: the caller is root only in its own user namespace (rootless
 * mode), where mknod is refused: the devices are bound from the host.
 * 0, or -1 with errno set and *step naming what failed (a path or a step).
 */
int fsview_enter(const struct fsview *fv, uid_t uid, gid_t gid, unsigned scratch_mb,
                 bool in_userns, const char **step);

/* Where the view puts the scratch directory (cwd, TMPDIR, HOME). */
#define FSVIEW_SCRATCH "/tmp"

#endif
