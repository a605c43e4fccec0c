/* oom_adj: make itself unkillable by the OOM killer (oom_score_adj -1000),
   so that a memory hog takes the host's processes instead.  Escaped: the
   write succeeded. */
#include "hostile.h"

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	ssize_t n = -1;
	if (fd < 0) {
		note(&d, "open /proc/self/oom_score_adj: %s", strerror(errno));
	} else {
		n = write(fd, "-1000", 5);
		note_rc(&d, "write -1000 to oom_score_adj", n);
		close(fd);
	}
	return report(n == 5, d.buf);
}
