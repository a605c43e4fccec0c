/* tioclinux: TIOCLINUX (console selection paste, the other way to type into a
   terminal) on its stdin.  Escaped: the ioctl got past the filter (any errno
   but EPERM). */
#include "hostile.h"
#include <sys/ioctl.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	char sub = 3; /* TIOCL_PASTESEL */
	long rc = ioctl(0, TIOCLINUX, &sub);
	int e = errno;
	note_rc(&d, "ioctl(0, TIOCLINUX)", rc);
	return report(rc == 0 || e != EPERM, d.buf);
}
