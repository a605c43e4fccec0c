/*
 * echo-args: a test tool that copies stdin (the call's arguments JSON, as the
 * broker sent it) to stdout byte for byte and exits 0.  Integration tests use
 * it to see exactly what a tool receives.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char buf[65536];
	for (;;) {
		ssize_t r = read(STDIN_FILENO, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "echo-args: read stdin: %s\n", strerror(errno));
			return 1;
		}
		if (r == 0)
			return 0;
		for (ssize_t off = 0; off < r;) {
			ssize_t w = write(STDOUT_FILENO, buf + off, (size_t)(r - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				fprintf(stderr, "echo-args: write stdout: %s\n", strerror(errno));
				return 1;
			}
			off += w;
		}
	}
}
