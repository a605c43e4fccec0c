/*
 * flood: a test tool for the broker's output limits.  Input {"bytes": N}
 * (N >= 0; found by a simple scan, not a JSON parser -- the broker has
 * validated the arguments).  It first writes exactly 10 bytes to stderr
 * ("flood-err\n"), then N bytes of 'A' and one '\n' to stdout, and exits 0.
 * When the broker stops reading at its cap, the write fails (SIGPIPE or
 * EPIPE) and the tool dies or exits 1: the test is about what the broker
 * does, not about this process's exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(void)
{
	static char in[65536];
	size_t len = 0;
	ssize_t r;
	while (len < sizeof in - 1 && (r = read(STDIN_FILENO, in + len, sizeof in - 1 - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		len += (size_t)r;
	}
	in[len] = '\0';

	const char *p = strstr(in, "\"bytes\"");
	unsigned long long n = 0;
	if (p) {
		p += strlen("\"bytes\"");
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ':')
			p++;
	}
	if (!p || *p < '0' || *p > '9') {
		fprintf(stderr, "flood: expected {\"bytes\": N} with N >= 0\n");
		return 2;
	}
	char *end;
	errno = 0;
	n = strtoull(p, &end, 10);
	if (errno) {
		fprintf(stderr, "flood: \"bytes\" is out of range\n");
		return 2;
	}

	if (write_all(STDERR_FILENO, "flood-err\n", 10) < 0)
		return 1;
	static char chunk[65536];
	memset(chunk, 'A', sizeof chunk);
	while (n > 0) {
		size_t k = n < sizeof chunk ? (size_t)n : sizeof chunk;
		if (write_all(STDOUT_FILENO, chunk, k) < 0)
			return 1;
		n -= k;
	}
	return write_all(STDOUT_FILENO, "\n", 1) < 0 ? 1 : 0;
}
