/* find_broker: look for the broker (a process named toolgated) in /proc, the
   first step to its socket, its state dir and its config dir (all on its
   command line).  Escaped: it is visible. */
#include "hostile.h"

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	long pids[8];
	int n = proc_find_comm("toolgated", pids, 8);
	for (int i = 0; i < n; i++) {
		char path[64], buf[512];
		snprintf(path, sizeof path, "/proc/%ld/cmdline", pids[i]);
		ssize_t k = slurp(path, buf, sizeof buf);
		for (ssize_t j = 0; j < k; j++)
			if (!buf[j])
				buf[j] = ' ';
		note(&d, "toolgated is pid %ld: %s", pids[i], k > 0 ? buf : "(cmdline unreadable)");
	}
	if (!n)
		note(&d, "no toolgated process in /proc");
	return report(n > 0, d.buf);
}
