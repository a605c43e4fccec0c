/* cpu_spin: burn CPU forever.  cpu_seconds (RLIMIT_CPU) or the call's timeout
   must kill it.  Escaped: it was still alive after 30 s of wall time (then it
   says so and exits). */
#include "hostile.h"
#include <time.h>

int main(void)
{
	hostile_begin();
	time_t start = time(NULL);
	volatile unsigned long x = 0;
	while (time(NULL) - start < 30)
		for (int i = 0; i < 1000000; i++)
			x += (unsigned long)i;
	return report(true, "spun for 30 s without being stopped");
}
