/* stdout_flood MB: write its result line, then MB MiB of 'A' to stdout, and
   exit 0.  The broker must keep only output_bytes of it (and not its memory's
   worth).  It cannot see the cut itself: the runner checks the result. */
#include "hostile.h"
#include <stdlib.h>

int main(int argc, char **argv)
{
	hostile_begin();
	long mb = argc > 1 ? atol(argv[1]) : 64;
	char detail[64];
	snprintf(detail, sizeof detail, "flooding %ld MiB", mb);
	report(false, detail);
	static char buf[1 << 16];
	memset(buf, 'A', sizeof buf);
	for (long i = 0; i < mb * 16; i++) {
		size_t off = 0;
		while (off < sizeof buf) {
			ssize_t w = write(STDOUT_FILENO, buf + off, sizeof buf - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return 1;
			off += (size_t)w;
		}
	}
	return 0;
}
