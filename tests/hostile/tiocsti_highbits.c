/* tiocsti_highbits: TIOCSTI with bit 32 set in the request.  The kernel reads
   only the low 32 bits of an ioctl request, so a filter that compares all 64
   would let this through.  Escaped: the ioctl got past the filter (any errno
   but EPERM, e.g. ENOTTY on a pipe, means the kernel saw the request). */
#include "hostile.h"
#include <sys/ioctl.h>
#include <sys/syscall.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	char c = 'x';
	unsigned long req = (unsigned long)TIOCSTI | (1UL << 32);
	long rc = syscall(SYS_ioctl, 0, req, &c);
	int e = errno;
	note_rc(&d, "ioctl(0, TIOCSTI | 1 << 32)", rc);
	return report(rc == 0 || e != EPERM, d.buf);
}
