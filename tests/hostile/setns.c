/* setns: join another namespace: host init's mount namespace when it can
   open it, else its own (proving the call itself is refused).  Escaped:
   setns succeeded. */
#include "hostile.h"
#include <sched.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	int fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		note(&d, "open /proc/1/ns/mnt: %s", strerror(errno));
		fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			note(&d, "open /proc/self/ns/mnt: %s", strerror(errno));
			return report(false, d.buf);
		}
	}
	long rc = setns(fd, 0);
	note_rc(&d, "setns", rc);
	return report(rc == 0, d.buf);
}
