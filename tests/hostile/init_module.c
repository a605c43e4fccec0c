/* init_module: load a kernel module (from /dev/null, and from an empty
   image).  Escaped: either call got past the filter and the capability
   check (any errno but EPERM). */
#include "hostile.h"
#include <sys/syscall.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	long a = syscall(SYS_finit_module, fd, "", 0);
	int ea = errno;
	note_rc(&d, "finit_module(/dev/null)", a);
	long b = syscall(SYS_init_module, NULL, 0UL, "");
	int eb = errno;
	note_rc(&d, "init_module(empty)", b);
	return report(a == 0 || b == 0 || ea != EPERM || eb != EPERM, d.buf);
}
