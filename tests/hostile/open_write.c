/* open_write PATH: open an existing host control file for writing
   (/proc/sys/kernel/core_pattern, a cgroup's release_agent, ...).  Opening is
   the escape: nothing is ever written, so even a success changes nothing. */
#include "hostile.h"
#include <fcntl.h>

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	if (argc < 2)
		return report(false, "usage: open_write PATH");
	int fd = open(argv[1], O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		note(&d, "open %s for writing: %s", argv[1], strerror(errno));
	else
		note(&d, "open %s for writing: succeeded", argv[1]);
	if (fd >= 0)
		close(fd);
	return report(fd >= 0, d.buf);
}
