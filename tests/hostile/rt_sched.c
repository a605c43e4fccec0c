/* rt_sched: take the CPU from the host: SCHED_FIFO at priority 99, and nice
   -20.  Escaped: either succeeded. */
#include "hostile.h"
#include <sched.h>
#include <sys/resource.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	struct sched_param p = { .sched_priority = 99 };
	long a = sched_setscheduler(0, SCHED_FIFO, &p);
	note_rc(&d, "sched_setscheduler(SCHED_FIFO, 99)", a);
	long b = setpriority(PRIO_PROCESS, 0, -20);
	note_rc(&d, "setpriority(-20)", b);
	return report(a == 0 || b == 0, d.buf);
}
