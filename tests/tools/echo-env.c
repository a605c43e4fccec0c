/*
 * echo-env [--var NAME] [--pad N] [--count FILE] [--sleep-ms N] [--fail]:
 * a test tool that tries to leak what it was given.  It reads its
 * arguments (stdin) and writes, on stdout and again on stderr:
 *   ARGS=<the arguments as received>
 *   <every environment variable, K=V, one a line>
 *   REV(NAME)=<the value of $NAME reversed>   (--var: proves the tool had
 *                                              the exact value, which
 *                                              redaction cannot recognise)
 * With --pad N, stdout starts with N 'x' then $NAME directly (for the
 * output cap).  --count FILE appends one line to FILE first (counts runs,
 * in a write path); --sleep-ms N sleeps before writing; --fail exits 3.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void dump(FILE *f, const char *args, const char *var)
{
	fprintf(f, "ARGS=%s\n", args);
	for (char **e = environ; *e; e++)
		fprintf(f, "%s\n", *e);
	const char *v = var ? getenv(var) : NULL;
	if (v) {
		fprintf(f, "REV(%s)=", var);
		for (size_t i = strlen(v); i > 0; i--)
			fputc(v[i - 1], f);
		fputc('\n', f);
	}
	fflush(f);
}

int main(int argc, char **argv)
{
	const char *var = NULL, *count = NULL;
	long pad = -1, sleep_ms = 0;
	int fail = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--var") == 0 && i + 1 < argc)
			var = argv[++i];
		else if (strcmp(argv[i], "--pad") == 0 && i + 1 < argc)
			pad = atol(argv[++i]);
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = argv[++i];
		else if (strcmp(argv[i], "--sleep-ms") == 0 && i + 1 < argc)
			sleep_ms = atol(argv[++i]);
		else if (strcmp(argv[i], "--fail") == 0)
			fail = 1;
		else
			return 2;
	}
	static char in[65536];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof in - 1 && (r = read(0, in + n, sizeof in - 1 - n)) > 0)
		n += (size_t)r;
	in[n] = '\0';
	if (count) {
		int fd = open(count, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
		if (fd < 0 || write(fd, "run\n", 4) != 4) {
			perror(count);
			return 1;
		}
		close(fd);
	}
	if (sleep_ms > 0) {
		struct timespec ts = { sleep_ms / 1000, (sleep_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (pad >= 0) {
		for (long i = 0; i < pad; i++)
			putchar('x');
		fputs(var && getenv(var) ? getenv(var) : "", stdout);
		putchar('\n');
	}
	dump(stdout, in, var);
	dump(stderr, in, var);
	return fail ? 3 : 0;
}
