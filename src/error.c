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
		char old[TG_ERROR_MAX];
		va_list ap;
		memcpy(old, err->msg, sizeof old);
		va_start(ap, fmt);
		int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		/* The prefix is ours and short; the old message gets what is left. */
		if (n >= 0 && (size_t)n + 2 < sizeof err->msg) {
			memcpy(err->msg + n, ": ", 2);
			size_t room = sizeof err->msg - (size_t)n - 2;
			size_t ol = strnlen(old, sizeof old);
			size_t k = ol < room - 1 ? ol : room - 1;
			/* Never cut a UTF-8 sequence: the message may go into JSON. */
			while (k < ol && k > 0 && ((unsigned char)old[k] & 0xC0) == 0x80)
				k--;
			memcpy(err->msg + n + 2, old, k);
			err->msg[n + 2 + k] = '\0';
		}
	}
	return -1;
}

void tg_autofree_ptr(void *pp)
{
	free(*(void **)pp);
}
