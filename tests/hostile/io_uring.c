/* io_uring: set up an io_uring (system calls that no seccomp filter sees, and
   much kernel attack surface).  Escaped: the call returned a descriptor. */
#include "hostile.h"
#include <linux/io_uring.h>
#include <sys/syscall.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	long fd = syscall(SYS_io_uring_setup, 4, &p);
	note_rc(&d, "io_uring_setup", fd);
	return report(fd >= 0, d.buf);
}
