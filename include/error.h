/*
 * error.h: the one error style of toolgate.
 *
 * A function that can fail returns -1 (or NULL) and fills a caller-provided
 * struct tg_error with one human-readable sentence that names what failed:
 * the file and field, the request, or the system call and errno.  Callers
 * either pass the error up unchanged or prefix it with their own context
 * (tg_err_prefix).  Nothing below main() prints an error or exits.
 */
#ifndef TOOLGATE_ERROR_H
#define TOOLGATE_ERROR_H

#include <stddef.h>

#define TG_ERROR_MAX 512

struct tg_error {
	char msg[TG_ERROR_MAX];
};

/* Fill err (may be NULL) with a printf-style message; always returns -1. */
int tg_err(struct tg_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like tg_err, with ": <strerror(errno)>" appended; errno is preserved. */
int tg_err_errno(struct tg_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prepend "<prefix>: " to an existing message; always returns -1. */
int tg_err_prefix(struct tg_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Free-on-scope-exit helpers for the goto-less cleanup style. */
#define TG_AUTOFREE __attribute__((cleanup(tg_autofree_ptr)))
void tg_autofree_ptr(void *pp);

#endif
