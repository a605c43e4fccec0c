/* sigterm_ignore MARKER: ignore every catchable termination signal and sleep.
   Only the broker's timeout (SIGKILL) can end it.  Escaped: it was still
   alive after 30 s (then it says so and exits). */
#include "hostile.h"
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>

int main(int argc, char **argv)
{
	hostile_begin();
	if (argc > 1)
		prctl(PR_SET_NAME, (unsigned long)argv[1], 0, 0, 0);
	int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM,
	               SIGXCPU, SIGXFSZ };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], SIG_IGN);
	time_t start = time(NULL);
	while (time(NULL) - start < 30)
		sleep(1);
	return report(true, "ignored its signals and slept 30 s without being stopped");
}
