/* read_file PATH: read a file the tool must not read (/etc/shadow, /proc/kcore,
   host init's environment, ...).  Escaped: a read returned bytes. */
#include "hostile.h"
#include <fcntl.h>

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	if (argc < 2)
		return report(false, "usage: read_file PATH");
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		note(&d, "open %s: %s", argv[1], strerror(errno));
		return report(false, d.buf);
	}
	char buf[64];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0)
		note(&d, "read %s: %s", argv[1], strerror(errno));
	else
		note(&d, "read %s: got %zd bytes", argv[1], n);
	close(fd);
	return report(n > 0, d.buf);
}
