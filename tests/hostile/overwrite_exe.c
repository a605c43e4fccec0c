/* overwrite_exe: open its own executable for writing (the tool's file is
   what the next call runs, for every caller).  Escaped: the open worked. */
#include "hostile.h"

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	int fd = open("/proc/self/exe", O_WRONLY | O_CLOEXEC);
	note_rc(&d, "open /proc/self/exe for writing", fd);
	return report(fd >= 0, d.buf);
}
