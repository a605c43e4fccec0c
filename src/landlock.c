/*
 * landlock.c: the sandbox's Landlock layer (see landlock.h).
 *
 * landlock_apply runs in the confined child between pivot_root and seccomp,
 * in a process cloned from a multi-threaded broker: it must not allocate,
 * lock or print, only make system calls.  Errors therefore come back as
 * errno plus a static name, and the child's caller turns them into text.
 *
 * Debian 12's <linux/landlock.h> stops at ABI 2, so the newer parts of the
 * kernel ABI are declared here, each with the ABI that brought it.  The
 * ruleset attribute is our own struct because the system header's one lacks
 * the fields of ABI 4 and 6.
 */
#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)            /* ABI 2 */
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)         /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)        /* ABI 5 */
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)         /* ABI 4 */
#endif
#ifndef LANDLOCK_ACCESS_NET_CONNECT_TCP
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)      /* ABI 4 */
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)  /* ABI 6 */
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)                /* ABI 6 */
#endif
#ifndef LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON
#define LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON (1U << 1) /* ABI 7 */
#endif

/* The kernel's struct landlock_ruleset_attr as of ABI 6. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;    /* ABI 1 */
	uint64_t handled_access_net;   /* ABI 4 */
	uint64_t scoped;               /* ABI 6 */
};

/* The ABI 1 rights: execute, write, read, read_dir, remove and make of every kind. */
#define LL_FS_ABI1 ((LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1)

/* Rights that make sense on a file; the kernel refuses the others (EINVAL) on non-directories. */
#define LL_FS_FILE (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
		    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
		    LANDLOCK_ACCESS_FS_IOCTL_DEV)

#define LL_FS_READ (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | \
		    LANDLOCK_ACCESS_FS_READ_DIR)

/* Read and write the device's data; no ioctl, which is where devices keep their dangerous verbs. */
#define LL_FS_DEVICE (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE)

int landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return v > 0 ? (int)v : 0;
}

void landlock_describe(int abi, char *buf, size_t n)
{
	if (n == 0)
		return;
	if (abi > 0) {
		snprintf(buf, n, "Landlock ABI %d (filesystem%s%s%s)", abi,
			 abi >= 4 ? ", TCP" : "", abi >= 6 ? ", scoping" : "",
			 abi >= 7 ? ", audit" : "");
		return;
	}
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	const char *why;
	if (v > 0)
		why = "not detected at broker start";
	else if (errno == ENOSYS)
		why = "the kernel was built without it (CONFIG_SECURITY_LANDLOCK)";
	else if (errno == EOPNOTSUPP)
		why = "it is disabled at boot (landlock is not in the lsm= kernel parameter)";
	else
		why = strerror(errno);
	snprintf(buf, n, "Landlock unavailable: %s", why);
}

/* Every filesystem right that this ABI can enforce. */
static uint64_t handled_fs(int abi)
{
	uint64_t fs = LL_FS_ABI1;
	if (abi >= 2)
		fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return fs;
}

/* Add one rule per path of list; 0, or -1 with errno and *failed set. */
static int add_rules(int ruleset, const char *const *list, uint64_t access,
		     uint64_t handled, const char **failed)
{
	for (; list && *list; list++) {
		int fd = open(*list, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			/* The view may legitimately lack a configured path (e.g.
			   /lib64 on some systems); nothing there means nothing to allow. */
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			*failed = *list;
			return -1;
		}
		struct stat st;
		if (fstat(fd, &st) != 0) {
			int e = errno;
			close(fd);
			*failed = *list;
			errno = e;
			return -1;
		}
		struct landlock_path_beneath_attr pb = {
			.allowed_access = access & handled,
			.parent_fd = fd,
		};
		if (!S_ISDIR(st.st_mode))
			pb.allowed_access &= LL_FS_FILE;
		long r = 0;
		if (pb.allowed_access != 0)
			r = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
		int e = errno;
		close(fd);
		if (r != 0) {
			*failed = *list;
			errno = e;
			return -1;
		}
	}
	return 0;
}

int landlock_apply(int abi, const struct landlock_spec *s, const char **failed_path)
{
	const char *unused;
	const char **failed = failed_path ? failed_path : &unused;
	if (abi <= 0)
		return 0;
	if (abi > LANDLOCK_ABI_KNOWN)
		abi = LANDLOCK_ABI_KNOWN;

	struct ll_ruleset_attr attr = { .handled_access_fs = handled_fs(abi) };
	/* Old kernels reject a struct longer than theirs unless the tail is
	   zero; passing only the fields this ABI has keeps the call exact. */
	size_t attr_size = sizeof attr.handled_access_fs;
	if (abi >= 4) {
		attr_size = offsetof(struct ll_ruleset_attr, scoped);
		if (s->deny_tcp)
			attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP |
						  LANDLOCK_ACCESS_NET_CONNECT_TCP;
	}
	if (abi >= 6) {
		attr_size = sizeof attr;
		if (s->scope)
			attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
	}

	int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (ruleset < 0) {
		*failed = "landlock_create_ruleset";
		return -1;
	}
	uint64_t fs = attr.handled_access_fs;
	if (add_rules(ruleset, s->read, LL_FS_READ, fs, failed) != 0 ||
	    add_rules(ruleset, s->list, LANDLOCK_ACCESS_FS_READ_DIR, fs, failed) != 0 ||
	    add_rules(ruleset, s->write, fs, fs, failed) != 0 ||
	    add_rules(ruleset, s->devices, LL_FS_DEVICE, fs, failed) != 0) {
		int e = errno;
		close(ruleset);
		errno = e;
		return -1;
	}

	/* By default the kernel logs a domain's denials only until the next
	   execve, i.e. those of our own setup; the tool's come after it. */
	unsigned flags = abi >= 7 ? LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON : 0;
	long r = syscall(SYS_landlock_restrict_self, ruleset, flags);
	int e = errno;
	close(ruleset);
	if (r != 0) {
		*failed = "landlock_restrict_self";
		errno = e;
		return -1;
	}
	return 0;
}
