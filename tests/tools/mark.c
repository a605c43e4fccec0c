/*
 * mark DIR MS: a test tool that proves it ran.  It reads its arguments
 * ({"id": "..."}) from stdin, creates DIR/<id> (the id: 1 to 64 of
 * [A-Za-z0-9_-]), then sleeps MS milliseconds and prints "ok".  The crash
 * test compares the files that exist with the start records in the log.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char in[4096];
	size_t n = 0;
	ssize_t r;
	if (argc != 3)
		return 2;
	while (n < sizeof in - 1 && (r = read(0, in + n, sizeof in - 1 - n)) > 0)
		n += (size_t)r;
	in[n] = '\0';
	const char *p = strstr(in, "\"id\"");
	if (!p || !(p = strchr(p + 4, '"')))
		return 3;
	p++;
	char id[65];
	size_t k = 0;
	while (k < 64 && p[k] && p[k] != '"') {
		char ch = p[k];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '-'))
			return 3;
		id[k] = ch;
		k++;
	}
	id[k] = '\0';
	if (k == 0)
		return 3;
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", argv[1], id);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	close(fd);
	long ms = atol(argv[2]);
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
	puts("ok");
	return 0;
}
