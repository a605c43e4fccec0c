/*
 * landlock.h: Landlock, the sandbox's second and independent filesystem
 * layer.
 *
 * The mount namespace (fsview) decides what a tool can see; Landlock decides,
 * in the kernel's LSM hooks, what it may do with what it sees.  Both enforce
 * the same read_paths and write_paths, so a mistake in one is not an escape.
 * The broker detects the best ABI once at start (landlock_abi) and shows it
 * in `toolgate status` (landlock_describe); the confined child then calls
 * landlock_apply after pivot_root and no_new_privs, before seccomp.
 *
 * landlock_apply runs in a child cloned from the broker: it allocates
 * nothing and uses only system calls, so it is async-signal-safe.
 */
#ifndef TOOLGATE_LANDLOCK_H
#define TOOLGATE_LANDLOCK_H

#include <stdbool.h>
#include <stddef.h>

/* The newest ABI whose rights this file knows; a newer kernel is used at this level. */
#define LANDLOCK_ABI_KNOWN 7

/* Best ABI of the running kernel, 0 when Landlock is absent or disabled. */
int landlock_abi(void);

/*
 * One line for `toolgate status`: "Landlock ABI 7 (filesystem, TCP, scoping,
 * audit)", or for abi 0 "Landlock unavailable: <why>" (the kernel is asked
 * again for the reason).  Always NUL-terminates when n > 0.
 */
void landlock_describe(int abi, char *buf, size_t n);

/*
 * Paths are as the child sees them (after pivot_root).  Everything the tool
 * touches needs a rule, /proc and the scratch directory included.  A tool
 * executable opened before pivot_root is named by "/proc/self/fd/N": the
 * rule then covers that file even though the new root does not show it.
 */
struct landlock_spec {
	const char *const *read;     /* NULL-terminated (or NULL): read files, list dirs, execute */
	const char *const *list;     /* NULL-terminated (or NULL): list directories only */
	const char *const *write;    /* NULL-terminated (or NULL): every filesystem right */
	const char *const *devices;  /* NULL-terminated (or NULL): character devices: read and write the file (no ioctl) */
	bool deny_tcp;               /* ABI >= 4: no TCP bind or connect at all (ignored below 4) */
	bool scope;                  /* ABI >= 6: abstract unix sockets and signals stay inside the domain (ignored below 6) */
};

/*
 * Confine the calling process (and everything it later starts) to s.
 * Handles every filesystem right that abi knows, adds one path-beneath rule
 * per existing path (a path that does not exist is skipped; a non-directory
 * gets only the rights that apply to files), and restricts the process;
 * from ABI 7 on, denials after exec are logged too, so a tool's refusals
 * reach the kernel's audit log (see kaudit.h).  The caller must have set
 * no_new_privs (or hold CAP_SYS_ADMIN).  abi 0 does nothing and returns 0:
 * whether that is acceptable is the caller's decision.
 *
 * 0, or -1 with errno set and *failed_path (if failed_path is not NULL)
 * naming the path or the step ("landlock_create_ruleset",
 * "landlock_restrict_self") that failed.
 */
int landlock_apply(int abi, const struct landlock_spec *s, const char **failed_path);

#endif
