/* tiocsti: push a command into a terminal's input queue with TIOCSTI (the
   classic sandbox-to-shell escape), on its stdin and on /dev/tty.  Escaped:
   an ioctl succeeded, or the one on stdin got past the filter (its stdin is
   a pipe, so the kernel itself would say ENOTTY: only EPERM is the filter). */
#include "hostile.h"
#include <fcntl.h>
#include <sys/ioctl.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	char c = 'x';
	long rc = ioctl(0, TIOCSTI, &c);
	int e = errno;
	note_rc(&d, "ioctl(0, TIOCSTI)", rc);
	bool escaped = rc == 0 || e != EPERM; /* any other errno: the kernel saw it */
	int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (tty < 0) {
		note(&d, "open /dev/tty: %s", strerror(errno));
	} else {
		long rc2 = ioctl(tty, TIOCSTI, &c);
		note_rc(&d, "ioctl(/dev/tty, TIOCSTI)", rc2);
		escaped = escaped || rc2 == 0;
		close(tty);
	}
	return report(escaped, d.buf);
}
