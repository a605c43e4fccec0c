/* ctty_open: get hold of a terminal: its controlling terminal (/dev/tty; it
   has none after setsid), the console and the first virtual terminal.
   Escaped: one opened. */
#include "hostile.h"

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	const char *ttys[] = { "/dev/tty", "/dev/console", "/dev/tty1" };
	bool e = false;
	for (size_t i = 0; i < sizeof ttys / sizeof ttys[0]; i++) {
		int fd = open(ttys[i], O_RDWR | O_NOCTTY | O_CLOEXEC);
		note(&d, "%s: %s", ttys[i], fd >= 0 ? "opened" : strerror(errno));
		if (fd >= 0) {
			e = true;
			close(fd);
		}
	}
	return report(e, d.buf);
}
