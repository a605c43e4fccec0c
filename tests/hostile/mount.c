/* mount: mount a tmpfs, and bind-mount / onto its scratch directory.  Escaped:
   either mount succeeded. */
#include "hostile.h"
#include <sys/mount.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	long a = mount("tg-hostile", "/tmp", "tmpfs", 0, NULL);
	note_rc(&d, "mount tmpfs on /tmp", a);
	long b = mount("/", "/tmp", NULL, MS_BIND, NULL);
	note_rc(&d, "bind mount / on /tmp", b);
	return report(a == 0 || b == 0, d.buf);
}
