/*
 * seccomp_profile.h: OCI runtime-spec seccomp profiles compiled to BPF.
 *
 * A profile (sandbox/NAME.json, the format Docker and Podman use) is compiled
 * with libseccomp once, when the configuration loads; the child process only
 * installs the finished program, which allocates nothing and cannot fail for
 * reasons of syntax.
 */
#ifndef TOOLGATE_SECCOMP_PROFILE_H
#define TOOLGATE_SECCOMP_PROFILE_H

#include <jansson.h>
#include <linux/filter.h>
#include "error.h"

struct seccomp_program {
	struct sock_fprog prog;   /* filter points into this allocation */
	char *name;               /* profile name, e.g. "default" */
};

/* Compile the OCI profile in doc; `where` (e.g. "sandbox/default.json") prefixes errors. */
struct seccomp_program *seccomp_profile_compile(json_t *doc, const char *name,
                                                const char *where, struct tg_error *err);

/* Read and compile a profile file (size-limited read, strict JSON). */
struct seccomp_program *seccomp_profile_load(const char *path, const char *name,
                                             struct tg_error *err);

/*
 * Install in the calling process (the sandboxed child, after no_new_privs).
 * Async-signal-safe: no allocation.  Returns 0, or -1 with errno set.
 */
int seccomp_program_install(const struct seccomp_program *p);

void seccomp_program_free(struct seccomp_program *p);

#endif
