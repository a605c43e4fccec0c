/* x32: getuid through the x32 ABI (nr | 0x40000000), which a filter written for
   x86_64 numbers alone would not recognise.  The broker refuses foreign ABIs
   by killing the process (SIGSYS), so this must die before it reports.
   Escaped: the call returned at all. */
#include "hostile.h"
#include <sys/syscall.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	long rc = syscall(__NR_getuid | 0x40000000L);
	note(&d, "x32 getuid returned %ld (%s)", rc, rc < 0 ? strerror(errno) : "ok");
	return report(true, d.buf);
}
