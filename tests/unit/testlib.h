/*
 * testlib.h: the tiny unit-test harness every tests/unit/test_*.c uses.
 *
 *   TEST(name_that_states_the_behaviour) { CHECK(x == 1); CHECK_STREQ(a, b); }
 *   int main(void) { RUN(name_that_states_the_behaviour); return TEST_SUMMARY(); }
 *
 * Each test prints "ok   <name>" or "FAIL <name>" with the failing checks;
 * TEST_SUMMARY prints "N passed, N failed" and returns the exit status.
 */
#ifndef TOOLGATE_TESTLIB_H
#define TOOLGATE_TESTLIB_H

#include <stdio.h>
#include <string.h>

static int tl_passed, tl_failed, tl_cur_failed;

#define TEST(name) static void name(void)

#define CHECK(cond) do { \
	if (!(cond)) { \
		tl_cur_failed = 1; \
		fprintf(stderr, "    %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
	} } while (0)

#define CHECK_STREQ(a, b) do { \
	const char *tl_a = (a), *tl_b = (b); \
	if (!tl_a || !tl_b || strcmp(tl_a, tl_b) != 0) { \
		tl_cur_failed = 1; \
		fprintf(stderr, "    %s:%d: expected \"%s\"\n    %*s      got \"%s\"\n", __FILE__, __LINE__, \
			tl_b ? tl_b : "(null)", 0, "", tl_a ? tl_a : "(null)"); \
	} } while (0)

#define CHECK_CONTAINS(hay, needle) do { \
	const char *tl_h = (hay), *tl_n = (needle); \
	if (!tl_h || !strstr(tl_h, tl_n)) { \
		tl_cur_failed = 1; \
		fprintf(stderr, "    %s:%d: expected to contain \"%s\"\n      got \"%s\"\n", __FILE__, __LINE__, \
			tl_n, tl_h ? tl_h : "(null)"); \
	} } while (0)

#define RUN(name) do { \
	tl_cur_failed = 0; \
	name(); \
	if (tl_cur_failed) { tl_failed++; printf("FAIL %s\n", #name); } \
	else { tl_passed++; printf("ok   %s\n", #name); } \
	fflush(stdout); \
} while (0)

#define TEST_SUMMARY() (printf("%d passed, %d failed\n", tl_passed, tl_failed), tl_failed ? 1 : 0)

#endif
