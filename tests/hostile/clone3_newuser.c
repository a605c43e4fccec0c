/* clone3_newuser: clone3 with CLONE_NEWUSER.  clone3's flags live in memory,
   where no seccomp filter can check them, so clone3 must be refused whole.
   Escaped: a child was created. */
#include "hostile.h"
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	struct clone_args ca;
	memset(&ca, 0, sizeof ca);
	ca.flags = CLONE_NEWUSER;
	ca.exit_signal = SIGCHLD;
	long pid = syscall(SYS_clone3, &ca, sizeof ca);
	if (pid == 0)
		_exit(0);
	note_rc(&d, "clone3(CLONE_NEWUSER)", pid);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return report(pid > 0, d.buf);
}
