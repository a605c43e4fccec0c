/* scratch_fill LIMIT_MB: fill its scratch directory (a tmpfs: host memory that
   RLIMIT_AS does not count) with 512 KiB files until the kernel refuses.
   Escaped: it stored more than LIMIT_MB.  Stops by itself at 1 GiB. */
#include "hostile.h"
#include <stdlib.h>

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	if (argc < 2)
		return report(false, "usage: scratch_fill LIMIT_MB");
	long limit = atol(argv[1]);
	static char chunk[1 << 19];
	memset(chunk, 'F', sizeof chunk);
	long kib = 0;
	int err = 0;
	for (int i = 0; kib < (1L << 20) && !err; i++) {
		char path[64];
		snprintf(path, sizeof path, "/tmp/fill-%d", i);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0) {
			err = errno;
			break;
		}
		size_t off = 0;
		while (off < sizeof chunk) {
			ssize_t w = write(fd, chunk + off, sizeof chunk - off);
			if (w < 0) {
				err = errno;
				break;
			}
			off += (size_t)w;
		}
		kib += (long)(off / 1024);
		close(fd);
	}
	note(&d, "stored %ld MiB in /tmp, then: %s; limit %ld MiB", kib / 1024,
	     err ? strerror(err) : "stopped at 1 GiB", limit);
	return report(kib / 1024 > limit, d.buf);
}
