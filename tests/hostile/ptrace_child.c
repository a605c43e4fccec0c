/* ptrace_child: attach with ptrace to another process of the same uid (its own
   child, the one target the kernel's own checks would allow).  Escaped: the
   attach succeeded, so ptrace is reachable at all from the sandbox. */
#include "hostile.h"
#include <signal.h>
#include <sys/ptrace.h>
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
	long rc = ptrace(PTRACE_SEIZE, c, NULL, NULL);
	note_rc(&d, "ptrace(PTRACE_SEIZE, child)", rc);
	long rc2 = ptrace(PTRACE_ATTACH, c, NULL, NULL);
	note_rc(&d, "ptrace(PTRACE_ATTACH, child)", rc2);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	return report(rc == 0 || rc2 == 0, d.buf);
}
