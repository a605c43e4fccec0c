/* pidfd_getfd: steal a descriptor out of another process (its own child's
   stdin).  Escaped: pidfd_getfd returned a descriptor. */
#include "hostile.h"
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	pid_t c = fork();
	if (c < 0) {
		note(&d, "fork: %s", strerror(errno));
		return report(false, d.buf);
	}
	if (c == 0) {
		for (;;)
			pause();
	}
	long pfd = syscall(SYS_pidfd_open, c, 0);
	long fd = -1;
	if (pfd < 0) {
		note_rc(&d, "pidfd_open(child)", pfd);
	} else {
		fd = syscall(SYS_pidfd_getfd, (int)pfd, 0, 0);
		note_rc(&d, "pidfd_getfd(child, 0)", fd);
	}
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	return report(fd >= 0, d.buf);
}
