/*
 * log.h: the broker's log: one event a line on stderr,
 *   2026-11-24T10:00:00.123Z toolgated[123] info conn: closed connection ...
 * Only the daemon's top layers log; library modules report through tg_error.
 */
#ifndef TOOLGATE_LOG_H
#define TOOLGATE_LOG_H

#define TOOLGATE_VERSION "0.1.0"

void log_info(const char *area, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_warn(const char *area, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_error(const char *area, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
