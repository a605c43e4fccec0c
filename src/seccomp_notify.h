/*
 * seccomp_notify.h: the seccomp module's notify route, shared by its two
 * files (seccomp_profile.c compiles, seccomp_notify.c composes and decides)
 * and by nothing else; the public API is seccomp_profile.h.
 */
#ifndef TOOLGATE_SECCOMP_NOTIFY_H
#define TOOLGATE_SECCOMP_NOTIFY_H

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include "error.h"

/* The baseline refusal the composed filter leaves to the kernel: clone3's
   ENOSYS, which glibc probes on every thread and process it makes. */
#define BASELINE_QUIET_REFUSAL (SECCOMP_RET_ERRNO | ENOSYS)

/* libseccomp's output must return only constant actions, never USER_NOTIF
   itself: the composition rewrites every RET.  0, or -1 with err. */
int seccomp_check_returns(const char *where, struct tg_error *err, const struct sock_filter *insns,
                          size_t n, const char *what);

/* Write the composed program (nb + np instructions) to out. */
void seccomp_compose(const struct sock_filter *b, size_t nb, const struct sock_filter *p, size_t np,
                     struct sock_filter *out);

/* The composed filter must allow read, write and execve (or execveat). */
int seccomp_check_startup_calls(const char *where, struct tg_error *err, const struct sock_fprog *f);

#endif
