/*
 * fail: a test tool that fails.  It reads its arguments to EOF (so the test
 * is about the exit status, not about a closed pipe), then writes "partial\n"
 * to stdout and "boom\n" to stderr and exits 3.  Integration tests check that
 * the broker reports isError, keeps the exit code and the partial output.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char buf[4096];
	ssize_t r;
	while ((r = read(STDIN_FILENO, buf, sizeof buf)) != 0)
		if (r < 0 && errno != EINTR)
			break;
	fputs("partial\n", stdout);
	fflush(stdout);
	fputs("boom\n", stderr);
	return 3;
}
