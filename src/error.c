/*
 * error.c: formatting of struct tg_error (see error.h for the convention).
 */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tg_err(struct tg_error *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int tg_err_errno(struct tg_error *err, const char *fmt, ...)
{
	int saved = errno;
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < sizeof err->msg)
			snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(saved));
	}
	errno = saved;
	return -1;
}

int tg_err_prefix(struct tg_error *err, const char *fmt, ...)
{
	if (err) {
		char prefix[TG_ERROR_MAX];
		char old[TG_ERROR_MAX];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(prefix, sizeof prefix, fmt, ap);
		va_end(ap);
		memcpy(old, err->msg, sizeof old);
		snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
	}
	return -1;
}

void tg_autofree_ptr(void *pp)
{
	free(*(void **)pp);
}
