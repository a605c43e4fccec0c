/*
 * trivial.c: the tool every benchmark row runs, so that the rows differ
 * only in how the tool is started and confined, never in what it does.
 *
 * It behaves like a well-mannered toolgate tool that has nothing to do: it
 * drains its arguments from stdin (a tool that exits without reading makes
 * the broker's write fail with EPIPE, which would measure an error path) and
 * writes the JSON object {} to stdout.  bench/run.sh links it statically so
 * that the dynamic loader's work, which is the same in every row, does not
 * blur the differences between them.
 */
#include <errno.h>
#include <unistd.h>

int main(void)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR)
			return 1;
	}
	static const char out[] = "{}";
	size_t off = 0;
	while (off < sizeof out - 1) {
		ssize_t n = write(STDOUT_FILENO, out + off, sizeof out - 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 1;
		off += (size_t)n;
	}
	return 0;
}
