/*
 * log.c: one event a line on stderr (see log.h).  Newlines in messages are
 * replaced so that a hostile string can never forge a second log line.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static void emit(const char *level, const char *area, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ toolgated[%d] %s %s: %s\n",
	        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	        ts.tv_nsec / 1000000, (int)getpid(), level, area, msg);
}

#define DEFINE_LOG(name, level) \
	void name(const char *area, const char *fmt, ...) \
	{ va_list ap; va_start(ap, fmt); emit(level, area, fmt, ap); va_end(ap); }

DEFINE_LOG(log_info, "info")
DEFINE_LOG(log_warn, "warn")
DEFINE_LOG(log_error, "error")
