/* write_file PATH: create a new file outside the tool's scratch directory
   (/var/tmp, /dev/shm, /root, /etc, ...), where it would outlive the call or
   change the host.  Escaped: the file was created (it is left in place, for
   the runner's host-side check to see and remove). */
#include "hostile.h"
#include <fcntl.h>

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	if (argc < 2)
		return report(false, "usage: write_file PATH");
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		note(&d, "create %s: %s", argv[1], strerror(errno));
		return report(false, d.buf);
	}
	ssize_t n = write(fd, "PWNED\n", 6);
	note(&d, "created %s (write: %zd)", argv[1], n);
	close(fd);
	return report(true, d.buf);
}
