/*
 * bench.h: what the bench programs share (header-only: the Makefile builds
 * every bench/X.c into its own program).  Each program defines BENCH_PROG,
 * its name in messages, before including this.
 *
 * The project's error convention (return -1, fill one sentence that names
 * what failed) is kept here rather than taken from the library: the bench
 * must not depend on the code it measures.
 */
#ifndef TOOLGATE_BENCH_H
#define TOOLGATE_BENCH_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#ifndef BENCH_PROG
#error "define BENCH_PROG before including bench.h"
#endif

#define MAX_REPORTED_ERRORS 5

struct bench_error {
	char msg[512];
};

__attribute__((format(printf, 2, 3), unused))
static int bench_err(struct bench_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

__attribute__((format(printf, 2, 3), unused))
static int bench_err_errno(struct bench_error *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof err->msg)
		snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned reported_errors;

/* The first few errors in full; after that they are only counted. */
__attribute__((unused))
static void report_error(const struct bench_error *err)
{
	pthread_mutex_lock(&report_lock);
	if (reported_errors < MAX_REPORTED_ERRORS)
		fprintf(stderr, BENCH_PROG ": error: %s\n", err->msg);
	else if (reported_errors == MAX_REPORTED_ERRORS)
		fprintf(stderr, BENCH_PROG ": (further errors counted, not printed)\n");
	reported_errors++;
	pthread_mutex_unlock(&report_lock);
}

__attribute__((unused))
static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((unused))
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

__attribute__((unused))
static double percentile_us(const uint64_t *sorted, size_t n, unsigned per_mille)
{
	size_t rank = (n * per_mille + 999) / 1000;
	if (rank < 1)
		rank = 1;
	return (double)sorted[rank - 1] / 1000.0;
}

#endif
