/* daemon MARKER PATH: the classic double fork: a grandchild in its own session,
   its stdio on /dev/null, named MARKER, sleeps 2 s and then creates PATH.  The
   tool itself exits at once.  Nothing of a call may outlive it, so the host
   must never see PATH nor a process named MARKER; the program cannot see
   that itself and always reports escaped false: the runner decides. */
#include "hostile.h"
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

int main(int argc, char **argv)
{
	hostile_begin();
	if (argc < 3)
		return report(false, "usage: daemon MARKER PATH");
	int p[2];
	if (pipe(p) != 0)
		return report(false, "pipe failed");
	fflush(stdout);
	pid_t c = fork();
	if (c < 0)
		return report(false, "fork failed");
	if (c == 0) {
		setsid();
		pid_t g = fork();
		if (g != 0)
			_exit(0);
		prctl(PR_SET_NAME, (unsigned long)argv[1], 0, 0, 0);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		(void)!write(p[1], "r", 1);
		close(p[1]);
		struct timespec ts = { 2, 0 };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd >= 0) {
			(void)!write(fd, "daemon survived\n", 16);
			close(fd);
		}
		/* Stay around, too: a survivor is also visible as a process. */
		sleep(30);
		_exit(0);
	}
	close(p[1]);
	char r;
	ssize_t n = read(p[0], &r, 1);
	waitpid(c, NULL, 0);
	return report(false, n == 1 ? "daemon detached; the host decides whether it survived"
	                            : "the daemon did not start");
}
