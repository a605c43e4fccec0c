/* fork_bomb LIMIT MARKER [HOLD_SECONDS]: fork until the kernel says no.  The
   processes limit (RLIMIT_NPROC) must stop it near LIMIT, and the children
   (which keep MARKER in their command line) must all die with the call.
   With HOLD_SECONDS it keeps them that long before it reports, so that a
   test can see what its processes do to other calls meanwhile.  Escaped:
   more than LIMIT processes existed at once.  Stops by itself at 4096 so
   that an unconfined run does not take the host down. */
#include "hostile.h"
#include <stdlib.h>

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	if (argc < 3)
		return report(false, "usage: fork_bomb LIMIT MARKER");
	long limit = atol(argv[1]);
	long n = 0;
	int err = 0;
	while (n < 4096) {
		pid_t c = fork();
		if (c < 0) {
			err = errno;
			break;
		}
		if (c == 0) {
			for (;;)
				pause();
		}
		n++;
	}
	if (err)
		note(&d, "fork failed (%s) after %ld children; limit %ld", strerror(err), n, limit);
	else
		note(&d, "forked %ld children without a refusal; limit %ld", n, limit);
	if (argc > 3)
		sleep((unsigned)atoi(argv[3]));
	/* The children are left running: when this process (pid 1 of the tool's
	   pid namespace) exits, the kernel must kill them all. */
	return report(n + 1 > limit, d.buf);
}
