/* userfaultfd: the page-fault handler that turns kernel races into reliable
   exploits.  Escaped: the call returned a descriptor. */
#include "hostile.h"
#include <fcntl.h>
#include <sys/syscall.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	note_rc(&d, "userfaultfd", fd);
	return report(fd >= 0, d.buf);
}
