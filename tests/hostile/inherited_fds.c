/* inherited_fds: look for any open descriptor above 2 (a broker socket, the
   audit log, another call's pipe).  Escaped: one is open. */
#include "hostile.h"

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	int found = 0;
	for (int fd = 3; fd < 4096; fd++) {
		if (fcntl(fd, F_GETFD) < 0)
			continue;
		char path[64], target[256];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(path, target, sizeof target - 1);
		target[n > 0 ? n : 0] = 0;
		note(&d, "fd %d is open (%s)", fd, n > 0 ? target : "?");
		found++;
	}
	if (!found)
		note(&d, "no descriptor above 2");
	return report(found > 0, d.buf);
}
