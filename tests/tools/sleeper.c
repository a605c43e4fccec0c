/*
 * sleeper [MARKER]: a test tool that never finishes on its own.  It reads its
 * arguments to EOF, forks a child (the tool's grandchild from the broker's
 * point of view), prints "<own pid> <child pid>\n" (pids as seen in the
 * tool's pid namespace) and flushes, then both processes sleep 1000 s.
 *
 * Timeout and cancellation tests use it to show that the broker kills the
 * whole process tree, not just the process it started.  MARKER (a unique
 * string per test) becomes both processes' name via PR_SET_NAME (the kernel
 * keeps the first 15 bytes) and stays in their /proc/PID/cmdline, so a test
 * can look for survivors on the host by uid and marker.  Neither process
 * asks for PR_SET_PDEATHSIG: the grandchild must not die merely because its
 * parent did, or the test would prove nothing about the broker.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

static void set_name(const char *marker)
{
	if (marker && prctl(PR_SET_NAME, (unsigned long)marker, 0, 0, 0) < 0)
		fprintf(stderr, "sleeper: prctl(PR_SET_NAME): %s\n", strerror(errno));
}

int main(int argc, char **argv)
{
	const char *marker = argc > 1 ? argv[1] : NULL;
	char buf[4096];
	ssize_t r;

	set_name(marker);
	while ((r = read(STDIN_FILENO, buf, sizeof buf)) != 0)
		if (r < 0 && errno != EINTR)
			break;

	fflush(NULL);
	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, "sleeper: fork: %s\n", strerror(errno));
		return 1;
	}
	if (child == 0) {
		set_name(marker);
		sleep(1000);
		return 0;
	}
	printf("%d %d\n", (int)getpid(), (int)child);
	fflush(stdout);
	sleep(1000);
	return 0;
}
