/* perf_event_open: open a software perf counter on itself (perf is a rich
   source of kernel bugs and of side channels).  Escaped: a descriptor. */
#include "hostile.h"
#include <linux/perf_event.h>
#include <sys/syscall.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	struct perf_event_attr a;
	memset(&a, 0, sizeof a);
	a.type = PERF_TYPE_SOFTWARE;
	a.size = sizeof a;
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	a.disabled = 1;
	a.exclude_kernel = 1;
	long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	note_rc(&d, "perf_event_open", fd);
	return report(fd >= 0, d.buf);
}
