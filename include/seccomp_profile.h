/*
 * seccomp_profile.h: OCI runtime-spec seccomp profiles compiled to BPF.
 *
 * A profile (sandbox/NAME.json, the format Docker and Podman use) is compiled
 * with libseccomp once, when the configuration loads; the child process only
 * installs the finished program, which allocates nothing and cannot fail for
 * reasons of syntax.
 *
 * Each compiled profile carries three programs: the profile's own filter and
 * the fixed baseline filter (both with their real actions), and one composed
 * filter that allows exactly what the two allow together but sends every
 * refusal to a seccomp notify listener, so that the broker can name the
 * system call it refused (seccomp_program_decide) in the tool's result and
 * in the audit record.
 */
#ifndef TOOLGATE_SECCOMP_PROFILE_H
#define TOOLGATE_SECCOMP_PROFILE_H

#include <jansson.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include "error.h"

/* The kernel clamps SECCOMP_RET_ERRNO data to MAX_ERRNO. */
#define SECCOMP_ERRNO_MAX 4095

struct seccomp_program {
	struct sock_fprog prog;       /* the profile's own filter, as libseccomp compiled it */
	struct sock_fprog baseline;   /* the contract's floor under every profile, as compiled */
	struct sock_fprog composed;   /* baseline then profile, refusals -> SECCOMP_RET_USER_NOTIF */
	char *name;                   /* profile name, e.g. "default" */
	/* every filter points into this allocation */
};

/*
 * Compile the OCI profile in doc; `where` (e.g. "sandbox/default.json")
 * prefixes errors.  A profile that does not allow read, write and execve
 * (or execveat), which the broker needs to start any tool, is refused.
 */
struct seccomp_program *seccomp_profile_compile(json_t *doc, const char *name,
                                                const char *where, struct tg_error *err);

/* Read and compile a profile file (size-limited read, strict JSON). */
struct seccomp_program *seccomp_profile_load(const char *path, const char *name,
                                             struct tg_error *err);

/*
 * Install in the calling process (the sandboxed child, after no_new_privs)
 * the two filters with their native actions: no listener, refusals are
 * done by the kernel and invisible to the broker.
 * Async-signal-safe: no allocation.  Returns 0, or -1 with errno set.
 */
int seccomp_program_install(const struct seccomp_program *p);

/*
 * Install the composed filter with a new notify listener (plus the
 * profile's own filter flags) and return the listener's descriptor
 * (close-on-exec, as the kernel makes it), or -1 with errno set.
 * Async-signal-safe: no allocation.
 *
 * From here until someone answers on the listener, every call the filter
 * refuses blocks: the child must hand over the descriptor using only calls
 * every profile allows (write its number to the status pipe; the broker
 * takes it with pidfd_getfd), then wait for the gate (read) so that the
 * listener is still open when the broker takes it.
 */
int seccomp_program_install_listener(const struct seccomp_program *p);

enum seccomp_verdict_kind {
	SECCOMP_VERDICT_ERRNO,        /* fail the call with errnum */
	SECCOMP_VERDICT_KILL,         /* SIGKILL the whole tool: a listener cannot kill, and
	                                 for KILL_THREAD that is stricter than the kernel */
};

struct seccomp_verdict {
	enum seccomp_verdict_kind kind;
	int errnum;                   /* for SECCOMP_VERDICT_ERRNO */
	bool baseline;                /* the broker's baseline decided (else the profile) */
	char syscall[48];             /* "keyctl", or "x32 syscall 0x40000065",
	                                 "i386 syscall 199", "syscall 451" when unknown */
};

/* seccomp_program_decide's return values besides 0 */
#define SECCOMP_DECIDE_INCONSISTENT 1  /* the originals allow d: v says ERRNO EPERM */
#define SECCOMP_DECIDE_BROKEN (-1)     /* an original could not be evaluated: v says KILL */

/*
 * What the kernel would have done to the call in d (a notification's data)
 * under the two original filters: the strictest action wins, ties go to
 * the profile.  Fills v and returns 0; never says "let it through": when
 * the originals allow the call, which the composed filter never notifies,
 * it returns SECCOMP_DECIDE_INCONSISTENT with an ERRNO EPERM verdict.
 * Allocates (libseccomp names the call); for the broker, not the child.
 */
int seccomp_program_decide(const struct seccomp_program *p, const struct seccomp_data *d,
                           struct seccomp_verdict *v);

void seccomp_program_free(struct seccomp_program *p);

#endif
